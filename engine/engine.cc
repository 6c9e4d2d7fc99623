#include "engine/engine.h"

#include <string>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "engine/link/impair.h"
#include "engine/link/tap.h"

namespace ringstack::engine {

absl::StatusOr<std::unique_ptr<Engine>> Engine::Create(const Config& config) {
  auto clock = std::make_unique<SteadyClock>();
  std::unique_ptr<Engine> engine(new Engine(config, *clock));
  engine->owned_clock_ = std::move(clock);
  auto tap = TapLink::Open(config.tap);
  if (!tap.ok()) return tap.status();
  if (absl::Status s = engine->Build(std::move(*tap)); !s.ok()) return s;
  return engine;
}

absl::StatusOr<std::unique_ptr<Engine>> Engine::CreateWithLink(const Config& config, std::unique_ptr<Link> link,
                                                               const Clock& clock) {
  std::unique_ptr<Engine> engine(new Engine(config, clock));
  if (absl::Status s = engine->Build(std::move(link)); !s.ok()) return s;
  return engine;
}

Engine::~Engine() {
  Stop();
  // Stages and rings go before the pool: every buffer they hold returns to it.
  tx_.reset();
  timer_.reset();
  workers_.clear();
  fabric_.reset();  // mail may hold buffers
  rx_.reset();
  tx_rings_.clear();
  rx_rings_.clear();
  link_.reset();
}

absl::Status Engine::Build(std::unique_ptr<Link> link) {
  rings::PoolConfig pool_config;
  pool_config.standard_count = config_.pool_buffers;
  auto pool = rings::PacketPool::Create(pool_config);
  if (!pool.ok()) return pool.status();
  pool_ = std::move(*pool);

  link_ = std::move(link);
  if (config_.impair.enabled()) {
    link_ = std::make_unique<ImpairedLink>(std::move(link_), config_.impair, *pool_, clock_, counters_);
  }

  const int n = config_.workers;
  std::vector<ShardInbox> inboxes;
  std::vector<rings::SpscRing<rings::Packet>*> tx_rings;
  for (int k = 0; k < n; ++k) {
    rx_rings_.push_back(std::make_unique<rings::SpscRing<rings::Packet>>(config_.ring_size));
    tx_rings_.push_back(std::make_unique<rings::SpscRing<rings::Packet>>(config_.ring_size));
    tx_rings.push_back(tx_rings_.back().get());
  }
  // The TX and timer stages come first: workers hold their doorbells.
  tx_ = std::make_unique<TxStage>(*link_, tx_rings, counters_);
  timer_ = std::make_unique<TimerStage>(clock_);
  fabric_ = std::make_unique<ShardFabric>(n);
  for (int k = 0; k < n; ++k) {
    workers_.push_back(std::make_unique<Worker>(k, config_, clock_, *pool_, *rx_rings_[k], *tx_rings_[k],
                                                tx_->doorbell(), timer_->doorbell(), counters_, *fabric_));
    fabric_->SetDoorbell(k, &workers_.back()->doorbell());
    timer_->AddWorker(workers_.back().get());
    inboxes.push_back(ShardInbox{rx_rings_[k].get(), &workers_.back()->doorbell(),
                                 &counters_.Add(absl::StrCat("rx_ring", k, "_full_drop"))});
  }
  rx_ = std::make_unique<RxStage>(*link_, *pool_, std::move(inboxes), counters_);
  return absl::OkStatus();
}

std::vector<Stage*> Engine::stages() {
  std::vector<Stage*> out{rx_.get()};
  for (auto& w : workers_) out.push_back(w.get());
  out.push_back(timer_.get());
  out.push_back(tx_.get());
  return out;
}

absl::Status Engine::Start() {
  std::vector<StageThread> threads{{rx_.get(), config_.pin.rx, config_.rx_batch}};
  for (int k = 0; k < config_.workers; ++k) {
    const int cpu = config_.pin.workers.empty() ? -1 : config_.pin.workers[k];
    threads.push_back({workers_[k].get(), cpu});
  }
  threads.push_back({timer_.get(), config_.pin.timer});
  threads.push_back({tx_.get(), config_.pin.tx});
  runner_ = std::make_unique<ThreadedRunner>(std::move(threads), config_.poll, clock_,
                                             std::vector<rings::PacketPool*>{pool_.get()});
  return runner_->Start();
}

void Engine::Stop() {
  if (runner_) runner_->Stop();
  runner_.reset();
  for (const auto& w : workers_) w->DropHeld();
}

std::vector<std::string> Engine::TcpSessionReport(std::chrono::milliseconds wait) {
  std::vector<std::string> out;
  auto add = [&](int shard, const std::vector<std::string>& lines) {
    for (const std::string& l : lines) out.push_back(absl::StrCat("tcp_session w", shard, " ", l));
  };
  if (!runner_) {  // no threads: read directly
    for (const auto& w : workers_) add(w->shard(), w->TcpSessionLines());
    return out;
  }
  for (const auto& w : workers_) {
    (void)w->TakeTcpReport();  // a stale one from an earlier, timed-out request
    w->RequestTcpReport();
  }
  const auto until = std::chrono::steady_clock::now() + wait;
  std::vector<bool> got(workers_.size(), false);
  for (std::size_t done = 0; done < workers_.size() && std::chrono::steady_clock::now() < until;) {
    for (std::size_t k = 0; k < workers_.size(); ++k) {
      if (got[k]) continue;
      if (auto lines = workers_[k]->TakeTcpReport()) {
        add(static_cast<int>(k), *lines);
        got[k] = true;
        ++done;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return out;
}

void Engine::PrintCounters(std::FILE* out, bool all) const {
  // Sum same-named counters over shards, keeping first-seen order.
  std::vector<std::string> order;
  absl::flat_hash_map<std::string, std::uint64_t> sums;
  counters_.ForEach([&](std::string_view name, std::uint64_t v) {
    auto [it, inserted] = sums.try_emplace(std::string(name), 0);
    if (inserted) order.emplace_back(name);
    it->second += v;
  });
  for (const std::string& name : order) {
    if (all || sums[name] != 0) std::fprintf(out, "%s %llu\n", name.c_str(), static_cast<unsigned long long>(sums[name]));
  }
  const rings::PoolStats s = pool_->stats();
  std::fprintf(out, "pool_standard_total %zu\npool_standard_in_use %zu\npool_standard_high_water %zu\n"
               "pool_standard_exhausted %llu\npool_large_in_use %zu\n",
               s.cls[0].total, s.cls[0].in_use, s.cls[0].high_water,
               static_cast<unsigned long long>(s.cls[0].exhaustion_events), s.cls[1].in_use);
}

}  // namespace ringstack::engine
