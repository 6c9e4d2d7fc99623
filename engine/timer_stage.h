// TimerStage: owns the clock for the threaded engine. Each worker publishes
// its next timer deadline (Worker::published_deadline) after every Poll; the
// TimerStage sleeps until the earliest one and rings that worker's doorbell,
// so idle workers block with no timeout and wake exactly when a timer is due.
// A worker that publishes an earlier deadline rings the TimerStage.
#ifndef RINGSTACK_ENGINE_TIMER_STAGE_H_
#define RINGSTACK_ENGINE_TIMER_STAGE_H_

#include <vector>

#include "engine/stage.h"
#include "engine/worker.h"

namespace ringstack::engine {

class TimerStage final : public Stage {
 public:
  explicit TimerStage(const Clock& clock) : clock_(clock) {}
  // Before the runner starts.
  void AddWorker(Worker* worker) {
    workers_.push_back(worker);
    rung_for_.push_back(Instant::Never());
  }
  std::string_view name() const override { return "timer"; }
  std::size_t Poll(std::size_t budget) override;
  Instant NextDeadline() const override;

 private:
  const Clock& clock_;
  std::vector<Worker*> workers_;
  std::vector<Instant> rung_for_;  // deadline each worker was last woken for
};

}  // namespace ringstack::engine

#endif  // RINGSTACK_ENGINE_TIMER_STAGE_H_
