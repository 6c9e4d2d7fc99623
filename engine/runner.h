// Runners drive stages.
//
// ThreadedRunner: one thread per stage (named rs-<stage>), optionally pinned
// to a CPU, idling per PollMode: busy spins; block sleeps on the stage's
// doorbell (and its fd and wake deadline) as soon as a Poll finds nothing;
// adaptive first polls 2000 more times when there is a CPU per thread (tens
// of microseconds of ring checks; about a millisecond where a poll is a
// system call, as an RX stage's read of the TAP), and acts as block when
// there is not. Idle threads in block/adaptive use no CPU.
//
// Stages may share a thread (StageThread::group, --fuse): the thread polls
// them in turn and sleeps only when a whole round found nothing, on all
// their doorbells and fds at once, until the earliest of their deadlines.
// A hand-off between stages of one thread then costs no wake-up.
//
// SimRunner: every stage in the calling thread, round-robin, with a
// VirtualClock that jumps to the next deadline whenever all stages are idle,
// so timed behaviour runs as fast as the CPU allows and the same way each time.
#ifndef RINGSTACK_ENGINE_RUNNER_H_
#define RINGSTACK_ENGINE_RUNNER_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "engine/clock.h"
#include "engine/config.h"
#include "engine/stage.h"
#include "rings/packet_pool.h"

namespace ringstack::engine {

struct StageThread {
  Stage* stage;
  int cpu = -1;
  std::size_t budget = 64;  // items per Poll
  // Stages with the same group >= 0 share one thread (pinned to the first
  // one's cpu); -1: a thread of its own.
  int group = -1;
};

// A stage thread as the console shows it.
struct ThreadInfo {
  std::string stage;
  std::string thread;  // its name: rs-<stage>, or rs-fused<group> for a group's
  int tid = 0;   // 0 until the thread runs
  int cpu = -1;  // pinned to; -1: the scheduler's choice
};

class ThreadedRunner {
 public:
  ThreadedRunner(std::vector<StageThread> stages, PollMode mode, const Clock& clock,
                 std::vector<rings::PacketPool*> pools);
  ~ThreadedRunner();
  // Starts every thread and returns once all are in their loops; an error
  // (pinning refused) stops those started.
  absl::Status Start();
  // Stops and joins every thread. Idempotent.
  void Stop();
  std::vector<ThreadInfo> threads() const;
  PollMode mode() const { return mode_; }

 private:
  // One thread's stages (one, or a group's in order).
  void Loop(const std::vector<StageThread>& sts);

  std::vector<StageThread> stages_;
  std::vector<std::vector<std::size_t>> plan_;  // per thread: indexes into stages_
  std::vector<std::size_t> thread_of_;          // per stage: its thread
  std::vector<std::string> names_;              // per thread
  PollMode mode_;
  const Clock& clock_;
  std::vector<rings::PacketPool*> pools_;
  std::size_t online_cpus_ = 1;
  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> ready_{0};
  std::vector<std::thread> threads_;
  std::unique_ptr<std::atomic<int>[]> tids_;  // per thread
};

class SimRunner {
 public:
  SimRunner(std::vector<Stage*> stages, VirtualClock& clock, std::vector<rings::PacketPool*> pools,
            std::size_t budget = 64);
  ~SimRunner();
  // Runs until virtual time reaches `until` (stages stay idle past it).
  void RunUntil(Instant until);
  void RunFor(Duration d) { RunUntil(clock_.Now() + d); }
  // Runs until pred() holds or `limit` of virtual time passes; returns pred().
  bool RunUntil(const std::function<bool()>& pred, Duration limit);
  // Polls every stage until a whole round does no work (no time passes).
  void Settle();

 private:
  bool Round();
  std::vector<Stage*> stages_;
  VirtualClock& clock_;
  std::size_t budget_;
  std::vector<std::unique_ptr<rings::PacketPool::ThreadCacheScope>> caches_;
};

}  // namespace ringstack::engine

#endif  // RINGSTACK_ENGINE_RUNNER_H_
