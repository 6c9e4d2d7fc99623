// Deadline: one timer on a shard's wheel that follows the deadline its owner
// reports (a protocols/ object's NextDeadline()). Follow(at) arms, moves or
// cancels the timer and does nothing when `at` is what is already armed (the
// common case: no wheel work per packet); Fired() says the wheel has fired
// it. Not thread-safe: the shard's thread only.
#ifndef RINGSTACK_ENGINE_DEADLINE_H_
#define RINGSTACK_ENGINE_DEADLINE_H_

#include <cstdint>

#include "engine/clock.h"
#include "engine/timer_wheel.h"

namespace ringstack::engine {

class Deadline {
 public:
  // `cookie` is what the wheel hands back when the timer fires.
  Deadline(TimerWheel& wheel, std::uint64_t cookie) : wheel_(wheel), cookie_(cookie) {}
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;

  // The timer fires at `at` (Never: not at all).
  void Follow(Instant at) {
    if (at == at_) return;
    wheel_.Cancel(id_);
    at_ = at;
    if (!at.IsNever()) id_ = wheel_.Arm(at, cookie_);
  }
  // The wheel fired it: nothing is armed until the next Follow.
  void Fired() { at_ = Instant::Never(); }
  Instant at() const { return at_; }

 private:
  TimerWheel& wheel_;
  const std::uint64_t cookie_;
  TimerWheel::TimerId id_;
  Instant at_ = Instant::Never();
};

}  // namespace ringstack::engine

#endif  // RINGSTACK_ENGINE_DEADLINE_H_
