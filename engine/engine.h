// Engine: builds the pipeline from a Config and owns it — packet pool, link,
// RX stage, worker shards, timer stage, TX stage and the rings between them —
// then hands the stages to a runner (threads in production, SimRunner in
// tests). Counters from every stage are gathered in one CounterSet, each
// under its stage's or shard's scope. The link is wrapped so the pcap
// capture and the per-packet trace see every frame; the console reads
// worker-owned state through OnShard, on the worker's own thread.
#ifndef RINGSTACK_ENGINE_ENGINE_H_
#define RINGSTACK_ENGINE_ENGINE_H_

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/clock.h"
#include "engine/config.h"
#include "engine/console/capture.h"
#include "engine/counters.h"
#include "engine/log.h"
#include "engine/link/link.h"
#include "engine/runner.h"
#include "engine/rx_stage.h"
#include "engine/timer_stage.h"
#include "engine/tx_stage.h"
#include "engine/worker.h"
#include "rings/packet_pool.h"
#include "rings/spsc_ring.h"

namespace ringstack::engine {

class Engine {
 public:
  // Opens the TAP named in the config (wrapped in an ImpairedLink when
  // --impair is set) and builds the stages on a SteadyClock.
  static absl::StatusOr<std::unique_ptr<Engine>> Create(const Config& config);
  // Builds the stages over a given link and clock (SimLink + VirtualClock in
  // tests). The clock must outlive the engine.
  static absl::StatusOr<std::unique_ptr<Engine>> CreateWithLink(const Config& config, std::unique_ptr<Link> link,
                                                                const Clock& clock);
  // The same over several queues of one link (a multi-queue TAP's): an RX
  // stage each; worker k writes through queue k mod queues.
  static absl::StatusOr<std::unique_ptr<Engine>> CreateWithLinks(const Config& config,
                                                                 std::vector<std::unique_ptr<Link>> links,
                                                                 const Clock& clock);
  ~Engine();

  // Threads, one per stage, pinned and idling as the config says.
  absl::Status Start();
  void Stop();

  // For SimRunner: every stage, in pipeline order.
  std::vector<Stage*> stages();
  rings::PacketPool& pool() { return *pool_; }
  const CounterSet& counters() const { return counters_; }
  Logger& logger() { return logger_; }
  // pcap capture of what crosses the link (--pcap, or the console's capture start).
  Capture& capture() { return *capture_; }
  // The stage threads while running (empty otherwise).
  std::vector<ThreadInfo> threads() const;
  // Ring depths: RX -> worker k and worker k -> TX.
  struct RingInfo {
    std::string name;
    std::size_t depth = 0, capacity = 0;
    std::uint64_t drops = 0;
  };
  std::vector<RingInfo> rings() const;
  int workers() const { return static_cast<int>(workers_.size()); }
  const Clock& clock() const { return clock_; }

  // Runs fn on shard `shard`'s thread (directly when no threads run) and
  // returns its result, or nullopt when the shard did not get to it within
  // `wait`. Any thread; fn must not block.
  template <typename T>
  std::optional<T> OnShard(int shard, std::function<T(const Worker&)> fn,
                           std::chrono::milliseconds wait = std::chrono::milliseconds(500)) {
    Worker& w = *workers_[static_cast<std::size_t>(shard)];
    if (!running()) return fn(w);
    struct State {
      std::mutex mu;
      std::condition_variable cv;
      std::optional<T> result;
    };
    auto state = std::make_shared<State>();
    w.Inspect([state, fn = std::move(fn), &w] {
      T value = fn(w);
      std::lock_guard lock(state->mu);
      state->result = std::move(value);
      state->cv.notify_all();
    });
    std::unique_lock lock(state->mu);
    state->cv.wait_for(lock, wait, [&] { return state->result.has_value(); });
    return std::move(state->result);
  }
  bool running() const {
    std::lock_guard lock(runner_mu_);
    return runner_ != nullptr;
  }
  std::uint64_t counter(std::string_view name) const { return counters_.Get(name); }
  const Config& config() const { return config_; }
  const Link& link() const { return *link_; }
  // Why the link failed for good, or empty while it works.
  std::string link_failure() const;
  int queues() const { return static_cast<int>(rx_links_.size()); }
  Worker& worker(int shard) { return *workers_[shard]; }
  // Shard 0's published addresses, routes and neighbours, and the mail
  // between shards.
  ShardFabric& fabric() { return *fabric_; }

  // Writes "name value" lines (summed over shards, non-zero only unless
  // `all`), then pool figures.
  void PrintCounters(std::FILE* out, bool all = false) const;
  // "tcp_session <shard> <local> <remote> <state> ..." lines, one per TCP
  // session (from each worker's thread while running, waiting up to
  // `wait` for each; "tcp_session_unanswered <shard>" for one that did not
  // answer in time).
  std::vector<std::string> TcpSessionReport(std::chrono::milliseconds wait = std::chrono::milliseconds(300));

 private:
  Engine(const Config& config, const Clock& clock)
      : config_(config), clock_(clock), logger_(config.log_levels, config.trace) {}
  absl::Status Build(std::vector<std::unique_ptr<Link>> links);
  // The packet pool, sized for what the first link reads.
  absl::Status BuildPool(const Link& link, std::size_t queues);
  // The links as the stages see them: observed (capture, trace) and, with
  // --impair, impaired.
  void AttachLinks(std::vector<std::unique_ptr<Link>> links);
  // Rings, the TX and timer stages, the workers and an RX stage per link.
  void BuildStages();

  void DropInFlight();

  Config config_;
  const Clock& clock_;
  Logger logger_;
  std::unique_ptr<Capture> capture_;
  std::unique_ptr<SteadyClock> owned_clock_;
  CounterSet counters_;
  std::unique_ptr<rings::PacketPool> pool_;
  std::unique_ptr<ShardFabric> fabric_;
  std::unique_ptr<Link> link_;                     // queue 0 (wrapped: capture, impairment)
  std::vector<std::unique_ptr<Link>> more_links_;  // queues 1.. (wrapped for the capture)
  std::vector<Link*> rx_links_;                    // every queue, in order
  // From RX stage q to worker k: rx_rings_[q * workers + k].
  std::vector<std::unique_ptr<rings::SpscRing<rings::Packet>>> rx_rings_;
  std::vector<std::unique_ptr<rings::SpscRing<rings::Packet>>> tx_rings_;
  // Per worker: its frames on its TX ring not yet written (--tx-inline).
  std::unique_ptr<std::atomic<std::uint32_t>[]> tx_outstanding_;
  std::vector<std::unique_ptr<RxStage>> rx_;  // one per queue
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<TimerStage> timer_;
  std::unique_ptr<TxStage> tx_;
  mutable std::mutex runner_mu_;  // runner_ as other threads see it
  std::unique_ptr<ThreadedRunner> runner_;
  Counter* drop_at_stop_ = nullptr;  // frames and mail the stopped threads left
};

}  // namespace ringstack::engine

#endif  // RINGSTACK_ENGINE_ENGINE_H_
