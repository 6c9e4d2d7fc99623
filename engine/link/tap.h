// TapLink: one queue of a Linux TAP device (IFF_TAP | IFF_NO_PI), opened
// non-blocking. Attaches to an existing TAP (made with `ip tuntap add`,
// single- or multi-queue) or creates one and brings it up. Open() errors name
// the cause and what to do about it.
#ifndef RINGSTACK_ENGINE_LINK_TAP_H_
#define RINGSTACK_ENGINE_LINK_TAP_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "engine/link/link.h"

namespace ringstack::engine {

class TapLink final : public Link {
 public:
  static absl::StatusOr<std::unique_ptr<TapLink>> Open(const std::string& name);
  ~TapLink() override;

  bool Receive(rings::Packet& into, bool& oversize) override;
  SendResult Send(const rings::Packet& frame) override;
  int rx_fd() const override { return fd_; }
  int tx_fd() const override { return fd_; }
  std::string Describe() const override;

  bool multi_queue() const { return multi_queue_; }
  bool created() const { return created_; }
  int mtu() const { return mtu_; }

 private:
  TapLink(int fd, std::string name, bool multi_queue, bool created, int mtu)
      : fd_(fd), name_(std::move(name)), multi_queue_(multi_queue), created_(created), mtu_(mtu) {}
  int fd_;
  std::string name_;
  bool multi_queue_;
  bool created_;
  int mtu_;
};

}  // namespace ringstack::engine

#endif  // RINGSTACK_ENGINE_LINK_TAP_H_
