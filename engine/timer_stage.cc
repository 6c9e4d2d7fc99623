#include "engine/timer_stage.h"

namespace ringstack::engine {

std::size_t TimerStage::Poll(std::size_t /*budget*/) {
  const Instant now = clock_.Now();
  std::size_t woken = 0;
  for (std::size_t i = 0; i < workers_.size(); ++i) {
    const Instant due = workers_[i]->published_deadline();
    // Ring once per deadline: until the worker runs and publishes a new one,
    // ringing again would only spin.
    if (due <= now && due != rung_for_[i]) {
      rung_for_[i] = due;
      workers_[i]->doorbell().Kick();
      ++woken;
    }
  }
  return woken;
}

Instant TimerStage::NextDeadline() const {
  Instant next = Instant::Never();
  for (std::size_t i = 0; i < workers_.size(); ++i) {
    const Instant due = workers_[i]->published_deadline();
    if (due != rung_for_[i] && due < next) next = due;
  }
  return next;
}

}  // namespace ringstack::engine
