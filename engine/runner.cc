#include "engine/runner.h"

#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/str_cat.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define RS_CPU_RELAX() _mm_pause()
#else
#define RS_CPU_RELAX() ((void)0)
#endif

namespace ringstack::engine {

ThreadedRunner::ThreadedRunner(std::vector<StageThread> stages, PollMode mode, const Clock& clock,
                               std::vector<rings::PacketPool*> pools)
    : stages_(std::move(stages)),
      mode_(mode),
      clock_(clock),
      pools_(std::move(pools)),
      tids_(std::make_unique<std::atomic<int>[]>(stages_.size())) {
  cpu_set_t set;
  online_cpus_ = sched_getaffinity(0, sizeof(set), &set) == 0 ? static_cast<std::size_t>(CPU_COUNT(&set)) : 1;
}

ThreadedRunner::~ThreadedRunner() { Stop(); }

absl::Status ThreadedRunner::Start() {
  for (std::size_t i = 0; i < stages_.size(); ++i) {
    const StageThread& st = stages_[i];
    threads_.emplace_back([this, st, i] {
      tids_[i].store(static_cast<int>(gettid()), std::memory_order_release);
      Loop(st);
    });
    const std::string name = absl::StrCat("rs-", std::string(st.stage->name())).substr(0, 15);
    pthread_setname_np(threads_.back().native_handle(), name.c_str());
    if (st.cpu >= 0) {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(st.cpu, &set);
      const int rc = pthread_setaffinity_np(threads_.back().native_handle(), sizeof(set), &set);
      if (rc != 0) {
        Stop();
        return absl::InvalidArgumentError(absl::StrCat("--pin: cannot pin ", std::string(st.stage->name()), " to CPU ",
                                                       st.cpu, ": ", std::strerror(rc)));
      }
    }
  }
  while (ready_.load(std::memory_order_acquire) < stages_.size()) std::this_thread::yield();
  return absl::OkStatus();
}

void ThreadedRunner::Stop() {
  stop_.store(true, std::memory_order_release);
  for (const StageThread& st : stages_) st.stage->doorbell().Kick();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

std::vector<ThreadInfo> ThreadedRunner::threads() const {
  std::vector<ThreadInfo> out;
  for (std::size_t i = 0; i < stages_.size(); ++i) {
    out.push_back(ThreadInfo{std::string(stages_[i].stage->name()), tids_[i].load(std::memory_order_acquire),
                             stages_[i].cpu});
  }
  return out;
}

void ThreadedRunner::Loop(StageThread st) {
  std::vector<std::unique_ptr<rings::PacketPool::ThreadCacheScope>> caches;
  for (rings::PacketPool* pool : pools_) caches.push_back(pool->BindThreadCache());
  ready_.fetch_add(1, std::memory_order_release);
  Stage& stage = *st.stage;
  // Adaptive spins only while every stage thread can have a CPU of its own;
  // on an oversubscribed machine a spinning thread takes the CPU the stage it
  // waits for needs, so it parks at once (bench/README.md, e2e figures).
  const int spins = mode_ == PollMode::kAdaptive && stages_.size() <= online_cpus_ ? 2000 : 0;
  int idle = 0;
  while (!stop_.load(std::memory_order_acquire)) {
    if (stage.Poll(st.budget) != 0) {
      idle = 0;
      continue;
    }
    if (mode_ == PollMode::kBusy || ++idle < spins) {
      RS_CPU_RELAX();
      continue;
    }
    // Announce sleep, look once more (a producer may have pushed between the
    // Poll above and the announcement), then sleep.
    stage.doorbell().PrepareToSleep();
    if (stop_.load(std::memory_order_acquire) || stage.Poll(st.budget) != 0) {
      stage.doorbell().CancelSleep();
      idle = 0;
      continue;
    }
    stage.doorbell().Wait(stage.WaitFd(), stage.WaitEvents(), stage.WakeDeadline(), clock_);
    idle = 0;
  }
}

SimRunner::SimRunner(std::vector<Stage*> stages, VirtualClock& clock, std::vector<rings::PacketPool*> pools,
                     std::size_t budget)
    : stages_(std::move(stages)), clock_(clock), budget_(budget) {
  for (rings::PacketPool* pool : pools) caches_.push_back(pool->BindThreadCache());
}

SimRunner::~SimRunner() = default;

bool SimRunner::Round() {
  bool any = false;
  for (Stage* s : stages_) any |= s->Poll(budget_) != 0;
  return any;
}

void SimRunner::Settle() {
  while (Round()) {
  }
}

void SimRunner::RunUntil(Instant until) {
  for (;;) {
    Settle();
    Instant next = Instant::Never();
    for (Stage* s : stages_) next = std::min(next, s->NextDeadline());
    if (next > until) {
      clock_.AdvanceTo(until);
      Settle();
      return;
    }
    // A deadline at or before now that produced no work would loop forever;
    // step at least 1 us.
    clock_.AdvanceTo(std::max(next, clock_.Now() + Duration::Micros(1)));
  }
}

bool SimRunner::RunUntil(const std::function<bool()>& pred, Duration limit) {
  const Instant end = clock_.Now() + limit;
  for (;;) {
    Settle();
    if (pred()) return true;
    if (clock_.Now() >= end) return false;
    Instant next = Instant::Never();
    for (Stage* s : stages_) next = std::min(next, s->NextDeadline());
    clock_.AdvanceTo(std::min(end, std::max(next, clock_.Now() + Duration::Micros(1))));
  }
}

}  // namespace ringstack::engine
