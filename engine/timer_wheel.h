// TimerWheel: a per-worker hierarchical timing wheel with O(1) arm and cancel
// (after Varghese & Lauck; Seastar's timer-set).
//
// Four levels of 64 slots; level L slots are 64^L ticks wide, so with the
// default 1 ms tick a timer can lie up to ~4.6 hours ahead (further ones are
// parked in the last slot and re-filed when it comes round). A timer never
// fires before its deadline and fires within one tick after it once Advance()
// reaches it. Timers live in a slab that grows only when more are armed at once
// than ever before. Not thread-safe: one owner.
#ifndef RINGSTACK_ENGINE_TIMER_WHEEL_H_
#define RINGSTACK_ENGINE_TIMER_WHEEL_H_

#include <cstdint>
#include <vector>

#include "absl/functional/function_ref.h"
#include "engine/clock.h"

namespace ringstack::engine {

class TimerWheel {
 public:
  // Identifies an armed timer; stale ids (fired or cancelled) are harmless.
  struct TimerId {
    std::uint32_t index = UINT32_MAX;
    std::uint32_t generation = 0;
  };

  explicit TimerWheel(Instant start, Duration tick = Duration::Millis(1));

  // Arms a timer that passes `cookie` to Advance's callback at or after
  // `deadline` (a deadline in the past fires on the next tick).
  TimerId Arm(Instant deadline, std::uint64_t cookie);
  // False when the timer already fired or was cancelled.
  bool Cancel(TimerId id);
  // Fires every timer whose deadline is <= now, in deadline-tick order.
  void Advance(Instant now, absl::FunctionRef<void(std::uint64_t cookie)> fire);
  // A time at or before the earliest armed deadline (the start of its slot);
  // Never when nothing is armed.
  Instant NextExpiry() const;
  std::size_t size() const { return armed_; }

 private:
  static constexpr int kLevels = 4;
  static constexpr int kSlotBits = 6;
  static constexpr int kSlots = 1 << kSlotBits;
  static constexpr std::uint32_t kNil = UINT32_MAX;

  struct Node {
    std::uint64_t deadline_tick = 0;
    std::uint64_t cookie = 0;
    std::uint32_t prev = kNil;
    std::uint32_t next = kNil;
    std::uint32_t generation = 0;
    std::int16_t level = -1;  // -1: free
    std::int16_t slot = 0;
  };

  std::uint64_t TickOf(Instant t) const;  // rounds up
  void Insert(std::uint32_t index);
  void Unlink(std::uint32_t index);
  void CascadeLevel(int level);

  Instant start_;
  Duration tick_;
  std::uint64_t current_tick_ = 0;  // every tick <= this has been processed
  std::vector<Node> nodes_;
  std::uint32_t free_head_ = kNil;
  std::uint32_t heads_[kLevels][kSlots];
  std::uint32_t level_count_[kLevels] = {};
  std::size_t armed_ = 0;
};

}  // namespace ringstack::engine

#endif  // RINGSTACK_ENGINE_TIMER_WHEEL_H_
