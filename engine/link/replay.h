// ReplayLink: a link for measurement and allocation checks. Receive hands out
// the `prime` frames once, then `frame` up to `count` times; Send counts and
// discards. No kernel, no copies beyond the one into the pool buffer, and no
// allocation after construction, so it isolates the engine's own cost.
// Thread-safe for one receiving and one sending thread.
#ifndef RINGSTACK_ENGINE_LINK_REPLAY_H_
#define RINGSTACK_ENGINE_LINK_REPLAY_H_

#include <atomic>
#include <cstdint>
#include <span>
#include <vector>

#include "engine/link/link.h"

namespace ringstack::engine {

class ReplayLink final : public Link {
 public:
  ReplayLink(std::vector<std::vector<std::byte>> prime, std::vector<std::byte> frame, std::uint64_t count)
      : prime_(std::move(prime)), frame_(std::move(frame)), count_(count) {}

  bool Receive(rings::Packet& into, bool& oversize) override;
  SendResult Send(const rings::Packet& frame) override;
  std::string Describe() const override { return "replay"; }

  // Frames handed to the engine so far (prime included).
  std::uint64_t received() const { return received_.load(std::memory_order_acquire); }
  std::uint64_t sent() const { return sent_.load(std::memory_order_acquire); }
  // Allows `more` further replays of `frame` and wakes the receiver.
  void Extend(std::uint64_t more);
  void SetRxDoorbell(Doorbell* doorbell) override { doorbell_.store(doorbell, std::memory_order_release); }

 private:
  std::vector<std::vector<std::byte>> prime_;
  std::vector<std::byte> frame_;
  std::atomic<std::uint64_t> count_;
  std::size_t next_prime_ = 0;
  std::uint64_t replayed_ = 0;
  std::atomic<std::uint64_t> received_{0};
  std::atomic<std::uint64_t> sent_{0};
  std::atomic<Doorbell*> doorbell_{nullptr};
};

}  // namespace ringstack::engine

#endif  // RINGSTACK_ENGINE_LINK_REPLAY_H_
