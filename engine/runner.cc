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
    : stages_(std::move(stages)), mode_(mode), clock_(clock), pools_(std::move(pools)) {
  // A thread per stage, or per group (in the order groups first appear).
  std::vector<std::pair<int, std::size_t>> group_thread;
  for (std::size_t i = 0; i < stages_.size(); ++i) {
    const int g = stages_[i].group;
    std::size_t t = plan_.size();
    for (const auto& [group, thread] : group_thread) {
      if (g >= 0 && group == g) t = thread;
    }
    if (t == plan_.size()) {
      plan_.emplace_back();
      if (g >= 0) group_thread.emplace_back(g, t);
    }
    plan_[t].push_back(i);
    thread_of_.push_back(t);
  }
  tids_ = std::make_unique<std::atomic<int>[]>(plan_.size());
  // "rs-rx", "rs-w0", ...; a group's thread "rs-fused<g>" (at most 15 chars).
  for (const auto& p : plan_) {
    const StageThread& first = stages_[p.front()];
    names_.push_back((p.size() == 1 && first.group < 0 ? absl::StrCat("rs-", std::string(first.stage->name()))
                                                        : absl::StrCat("rs-fused", first.group))
                         .substr(0, 15));
  }
  cpu_set_t set;
  online_cpus_ = sched_getaffinity(0, sizeof(set), &set) == 0 ? static_cast<std::size_t>(CPU_COUNT(&set)) : 1;
}

ThreadedRunner::~ThreadedRunner() { Stop(); }

absl::Status ThreadedRunner::Start() {
  for (std::size_t t = 0; t < plan_.size(); ++t) {
    std::vector<StageThread> sts;
    for (std::size_t i : plan_[t]) sts.push_back(stages_[i]);
    const StageThread& first = sts.front();
    threads_.emplace_back([this, sts, t] {
      tids_[t].store(static_cast<int>(gettid()), std::memory_order_release);
      Loop(sts);
    });
    pthread_setname_np(threads_.back().native_handle(), names_[t].c_str());
    if (first.cpu >= 0) {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(first.cpu, &set);
      const int rc = pthread_setaffinity_np(threads_.back().native_handle(), sizeof(set), &set);
      if (rc != 0) {
        Stop();
        return absl::InvalidArgumentError(absl::StrCat("--pin: cannot pin ", std::string(first.stage->name()),
                                                       " to CPU ", first.cpu, ": ", std::strerror(rc)));
      }
    }
  }
  while (ready_.load(std::memory_order_acquire) < plan_.size()) std::this_thread::yield();
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
    const std::size_t t = thread_of_[i];
    out.push_back(ThreadInfo{std::string(stages_[i].stage->name()), names_[t],
                             tids_[t].load(std::memory_order_acquire), stages_[plan_[t].front()].cpu});
  }
  return out;
}

void ThreadedRunner::Loop(const std::vector<StageThread>& sts) {
  std::vector<std::unique_ptr<rings::PacketPool::ThreadCacheScope>> caches;
  for (rings::PacketPool* pool : pools_) caches.push_back(pool->BindThreadCache());
  // What this thread sleeps on: every stage's doorbell and fd (the fds
  // are read again at each sleep: a TX stage waits on its link only while a
  // frame is pending).
  std::vector<Doorbell*> bells;
  for (const StageThread& st : sts) bells.push_back(&st.stage->doorbell());
  std::vector<int> fds(sts.size(), -1);
  std::vector<short> events(sts.size(), 0);
  ready_.fetch_add(1, std::memory_order_release);
  // One round: every stage polled once; the work done.
  auto round = [&sts] {
    std::size_t work = 0;
    for (const StageThread& st : sts) work += st.stage->Poll(st.budget);
    return work;
  };
  // Adaptive spins only while every thread can have a CPU of its own; on an
  // oversubscribed machine a spinning thread takes the CPU the stage it
  // waits for needs, so it parks at once (bench/README.md, e2e figures).
  const int spins = mode_ == PollMode::kAdaptive && plan_.size() <= online_cpus_ ? 2000 : 0;
  int idle = 0;
  while (!stop_.load(std::memory_order_acquire)) {
    if (round() != 0) {
      idle = 0;
      continue;
    }
    if (mode_ == PollMode::kBusy || ++idle < spins) {
      RS_CPU_RELAX();
      continue;
    }
    // Announce sleep, look once more (a producer may have pushed between the
    // round above and the announcement), then sleep.
    for (Doorbell* b : bells) b->PrepareToSleep();
    if (stop_.load(std::memory_order_acquire) || round() != 0) {
      for (Doorbell* b : bells) b->CancelSleep();
      idle = 0;
      continue;
    }
    Instant deadline = Instant::Never();
    for (std::size_t i = 0; i < sts.size(); ++i) {
      fds[i] = sts[i].stage->WaitFd();
      events[i] = sts[i].stage->WaitEvents();
      deadline = std::min(deadline, sts[i].stage->WakeDeadline());
    }
    Doorbell::WaitAny(bells, fds, events, deadline, clock_);
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
