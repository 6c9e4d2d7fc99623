// Doorbell: how a producer wakes a consumer stage that went to sleep.
//
// The consumer announces PrepareToSleep(), checks its inputs once more, then
// waits (WaitAny) on its eventfd, with any others its thread consumes for,
// fds such as the TAP, and a deadline.
// A producer calls Ring() after publishing work; it costs one fence and a load
// unless the consumer is asleep, and then one eventfd write. The fence pair
// (consumer: store flag, fence, read ring; producer: write ring, fence, read
// flag) means a wake-up cannot be lost. Ring/Kick are thread-safe; the other
// calls belong to the consumer thread.
#ifndef RINGSTACK_ENGINE_DOORBELL_H_
#define RINGSTACK_ENGINE_DOORBELL_H_

#include <atomic>
#include <cstdint>
#include <span>

#include "absl/status/status.h"
#include "engine/clock.h"

namespace ringstack::engine {

class Doorbell {
 public:
  Doorbell();
  ~Doorbell();
  Doorbell(const Doorbell&) = delete;
  Doorbell& operator=(const Doorbell&) = delete;

  // Producer: wakes the consumer if it is asleep or about to be.
  void Ring() {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (sleeping_.load(std::memory_order_relaxed) && sleeping_.exchange(false)) Signal();
  }
  // Wakes the consumer unconditionally (stop requests).
  void Kick() { Signal(); }

  // Consumer.
  void PrepareToSleep() {
    sleeping_.store(true, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_seq_cst);
  }
  void CancelSleep() { sleeping_.store(false, std::memory_order_relaxed); }
  // Blocks until any of `bells` rings, any `fds[i]` is ready for
  // `events[i]` (fds of -1 are skipped; the TAP for RX), or `deadline` on
  // `clock` passes; then clears each bell's ring and sleeping flag. A
  // runner thread waits so on the bells of all its stages (one, or a
  // group's); every bell must have had PrepareToSleep.
  static void WaitAny(std::span<Doorbell* const> bells, std::span<const int> fds, std::span<const short> events,
                      Instant deadline, const Clock& clock);

  std::uint64_t wakeups() const { return wakeups_.load(std::memory_order_relaxed); }

 private:
  void Signal();
  // After a wait: the flag down, the eventfd drained if `readable`.
  void Woke(bool readable);
  int fd_ = -1;
  std::atomic<bool> sleeping_{false};
  std::atomic<std::uint64_t> wakeups_{0};
};

}  // namespace ringstack::engine

#endif  // RINGSTACK_ENGINE_DOORBELL_H_
