// TapLink: one queue of a Linux TAP device (IFF_TAP | IFF_NO_PI), opened
// non-blocking. Attaches to an existing TAP (made with `ip tuntap add`,
// single- or multi-queue) or creates one and brings it up. Open() errors name
// the cause and what to do about it.
//
// With offload (--tap-offload): IFF_VNET_HDR and TUNSETOFFLOAD(TUN_F_CSUM |
// TUN_F_TSO4 | TUN_F_TSO6). Every frame then comes and goes behind a
// virtio-net header (vnet_hdr.h): the kernel hands over TCP super-frames of
// up to 64 KiB (its own TSO, and GRO) and frames whose checksum it vouches
// for, which Receive marks in the packet's offload metadata; it takes
// super-segments from us and completes partial checksums, as Send's header
// says from the packet's metadata. Receive then needs a large buffer
// (rx_needs_large). A header we cannot take drops its frame, counted under
// rx_vnet_drop_<why>.
#ifndef RINGSTACK_ENGINE_LINK_TAP_H_
#define RINGSTACK_ENGINE_LINK_TAP_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "engine/counters.h"
#include "engine/link/link.h"

namespace ringstack::engine {

class TapLink final : public Link {
 public:
  // `counters`: where the offload counters go (registered here, under the
  // caller's scope); needed only with offload. `multi_queue`: attach as one
  // queue of a multi-queue TAP (created so if missing); otherwise a
  // single-queue TAP is wanted, and a multi-queue one is attached as one
  // of its queues.
  static absl::StatusOr<std::unique_ptr<TapLink>> Open(const std::string& name, bool offload = false,
                                                      CounterSet* counters = nullptr, bool multi_queue = false);
  ~TapLink() override;

  bool Receive(rings::Packet& into, bool& oversize) override;
  SendResult Send(const rings::Packet& frame) override;
  int rx_fd() const override { return fd_; }
  int tx_fd() const override { return fd_; }
  bool rx_needs_large() const override { return offload_; }
  bool offload() const override { return offload_; }
  bool concurrent_send() const override { return true; }  // a write per frame; its counters atomic
  std::string Describe() const override;

  bool multi_queue() const { return multi_queue_; }
  bool created() const { return created_; }
  int mtu() const { return mtu_; }

 private:
  struct OffloadCounters {
    Counter* rx_gso_frames = nullptr;     // super-frames the kernel handed over
    Counter* rx_csum_trusted = nullptr;   // frames whose checksum it vouched for
    Counter* rx_vnet_drop[4] = {};        // by vnet::RxVerdict (the kOk slot unused)
    Counter* tx_gso_frames = nullptr;     // super-segments written
    Counter* tx_csum_partial = nullptr;   // frames left for the kernel to checksum
  };
  TapLink(int fd, std::string name, bool multi_queue, bool created, int mtu, bool offload)
      : fd_(fd), name_(std::move(name)), multi_queue_(multi_queue), created_(created), mtu_(mtu), offload_(offload) {}
  // One read into `into` (the Receive of a TAP without offload).
  bool ReadFrame(rings::Packet& into, bool& oversize);
  bool ReceiveVnet(rings::Packet& into, bool& oversize);
  int fd_;
  std::string name_;
  bool multi_queue_;
  bool created_;
  int mtu_;
  bool offload_;
  OffloadCounters counters_;
};

}  // namespace ringstack::engine

#endif  // RINGSTACK_ENGINE_LINK_TAP_H_
