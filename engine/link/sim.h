// SimLink: an in-memory Ethernet wire between two endpoints (two engines, or
// an engine and a test), with a seeded Impairer per direction.
//
// Frames are copied into the wire on Send and become receivable on the other
// end at send time + delay (reordered frames later); with a rate, each
// direction is a bottleneck that serialises frames at that rate behind a
// drop-tail queue (ImpairConfig::rate, ::queue). Time is the Clock's, so
// under a VirtualClock a delayed frame costs no real time. Thread-safe: a
// mutex guards each direction, so the ThreadedRunner can drive it too.
// Test-only plumbing: it allocates per frame.
#ifndef RINGSTACK_ENGINE_LINK_SIM_H_
#define RINGSTACK_ENGINE_LINK_SIM_H_

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "engine/link/impair.h"
#include "engine/link/link.h"

namespace ringstack::engine {

class SimWire;

class SimLink final : public Link {
 public:
  // Two connected endpoints; frames sent on one arrive on the other.
  static std::pair<std::unique_ptr<SimLink>, std::unique_ptr<SimLink>> Pair(
      const Clock& clock, const ImpairConfig& a_to_b = {}, const ImpairConfig& b_to_a = {});
  ~SimLink() override;

  bool Receive(rings::Packet& into, bool& oversize) override;
  SendResult Send(const rings::Packet& frame) override;
  void SetRxDoorbell(Doorbell* doorbell) override;
  Instant NextDeadline() const override;
  std::string Describe() const override;

  // This end takes offload (Link::offload): frames sent with partial
  // checksums or as TCP super-segments are completed and cut as a TAP's
  // kernel would (vnet::Segment) before they go on the wire.
  void SetOffload(bool on) { offload_ = on; }
  bool offload() const override { return offload_; }
  bool concurrent_send() const override { return true; }  // the wire locks; scratch_ under send_mu_

  // For tests driving one end by hand.
  void SendBytes(std::span<const std::byte> frame);
  std::optional<std::vector<std::byte>> ReceiveBytes();
  std::size_t sent() const;
  // Frames this side sent that the bottleneck's full queue dropped.
  std::uint64_t tail_dropped() const;
  // How long the frames this side sent waited in the bottleneck's queue
  // behind others, on average (the queueing delay a sender causes).
  Duration mean_queue_wait() const;
  // Frames this side sent that the wire marked CE (ImpairConfig::ce).
  std::uint64_t ce_marked() const;
  // Frames this side sends from now on take `extra` longer (a delay spike;
  // Duration() ends it). Frames already on the wire keep their time.
  void SetExtraDelay(Duration extra);

 private:
  SimLink(std::shared_ptr<SimWire> wire, int side) : wire_(std::move(wire)), side_(side) {}
  std::shared_ptr<SimWire> wire_;
  int side_;
  bool offload_ = false;
  std::mutex send_mu_;
  std::vector<std::byte> scratch_;  // the segment being cut (under send_mu_)
};

}  // namespace ringstack::engine

#endif  // RINGSTACK_ENGINE_LINK_SIM_H_
