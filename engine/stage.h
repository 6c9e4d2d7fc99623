// Stage: the unit a runner drives. Poll(budget) does at most `budget` items of
// work without blocking and returns how many it did; 0 means idle. A runner
// calls Poll from exactly one thread at a time (ThreadedRunner: the stage's
// own thread; SimRunner: the test's thread).
#ifndef RINGSTACK_ENGINE_STAGE_H_
#define RINGSTACK_ENGINE_STAGE_H_

#include <cstddef>
#include <string_view>

#include "engine/clock.h"
#include "engine/doorbell.h"

namespace ringstack::engine {

class Stage {
 public:
  virtual ~Stage() = default;
  virtual std::string_view name() const = 0;
  virtual std::size_t Poll(std::size_t budget) = 0;

  // The earliest time this stage has timed work; SimRunner moves its virtual
  // clock to the smallest of these when every stage is idle.
  virtual Instant NextDeadline() const { return Instant::Never(); }
  // When an idle ThreadedRunner thread must wake by itself. Workers answer
  // Never: the TimerStage rings them.
  virtual Instant WakeDeadline() const { return NextDeadline(); }
  // An fd the runner also waits on while idle (the TAP for RX), or -1.
  virtual int WaitFd() const { return -1; }
  virtual short WaitEvents() const { return 0; }

  Doorbell& doorbell() { return doorbell_; }

 private:
  Doorbell doorbell_;
};

}  // namespace ringstack::engine

#endif  // RINGSTACK_ENGINE_STAGE_H_
