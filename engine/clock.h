// Clock: where the engine's `now` comes from. SteadyClock reads the monotonic
// clock; VirtualClock is set by SimRunner, so simulated time jumps straight to
// the next deadline. Thread-safe reads.
#ifndef RINGSTACK_ENGINE_CLOCK_H_
#define RINGSTACK_ENGINE_CLOCK_H_

#include <atomic>
#include <chrono>

#include "protocols/common/time.h"

namespace ringstack::engine {

using proto::Duration;
using proto::Instant;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Instant Now() const = 0;
  // True for a clock that only moves when a SimRunner moves it.
  virtual bool is_virtual() const { return false; }
};

class SteadyClock final : public Clock {
 public:
  Instant Now() const override {
    return Instant::FromNanos(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                  std::chrono::steady_clock::now().time_since_epoch())
                                  .count());
  }
};

class VirtualClock final : public Clock {
 public:
  explicit VirtualClock(Instant start = Instant::FromNanos(1'000'000'000)) : ns_(start.nanos()) {}
  Instant Now() const override { return Instant::FromNanos(ns_.load(std::memory_order_acquire)); }
  bool is_virtual() const override { return true; }
  void AdvanceTo(Instant t) {
    if (t.nanos() > ns_.load(std::memory_order_relaxed)) ns_.store(t.nanos(), std::memory_order_release);
  }
  void Advance(Duration d) { AdvanceTo(Now() + d); }

 private:
  std::atomic<std::int64_t> ns_;
};

}  // namespace ringstack::engine

#endif  // RINGSTACK_ENGINE_CLOCK_H_
