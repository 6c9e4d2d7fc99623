#include "engine/engine.h"

#include <string>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "engine/link/impair.h"
#include "engine/console/observed_link.h"
#include "engine/link/tap.h"

namespace ringstack::engine {

absl::StatusOr<std::unique_ptr<Engine>> Engine::Create(const Config& config) {
  auto clock = std::make_unique<SteadyClock>();
  std::unique_ptr<Engine> engine(new Engine(config, *clock));
  engine->owned_clock_ = std::move(clock);
  engine->counters_.SetScope("link");
  std::vector<std::unique_ptr<Link>> queues;
  for (int q = 0; q < config.tap_queues; ++q) {
    auto tap = TapLink::Open(config.tap, config.tap_offload, &engine->counters_, config.tap_queues > 1);
    if (!tap.ok()) return tap.status();
    queues.push_back(std::move(*tap));
  }
  if (absl::Status s = engine->Build(std::move(queues)); !s.ok()) return s;
  return engine;
}

absl::StatusOr<std::unique_ptr<Engine>> Engine::CreateWithLink(const Config& config, std::unique_ptr<Link> link,
                                                               const Clock& clock) {
  std::vector<std::unique_ptr<Link>> links;
  links.push_back(std::move(link));
  return CreateWithLinks(config, std::move(links), clock);
}

absl::StatusOr<std::unique_ptr<Engine>> Engine::CreateWithLinks(const Config& config,
                                                                std::vector<std::unique_ptr<Link>> links,
                                                                const Clock& clock) {
  std::unique_ptr<Engine> engine(new Engine(config, clock));
  if (absl::Status s = engine->Build(std::move(links)); !s.ok()) return s;
  return engine;
}

Engine::~Engine() {
  Stop();
  // Stages and rings go before the pool: every buffer they hold returns to it.
  tx_.reset();
  timer_.reset();
  workers_.clear();
  fabric_.reset();  // mail may hold buffers
  rx_.clear();
  tx_rings_.clear();
  rx_rings_.clear();
  rx_links_.clear();
  more_links_.clear();
  link_.reset();
}

absl::Status Engine::Build(std::vector<std::unique_ptr<Link>> links) {
  if (links.empty()) return absl::InvalidArgumentError("no link");
  if (links.size() > 1 && config_.impair.enabled()) {
    return absl::InvalidArgumentError("--impair works on one TAP queue: use --tap-queues 1");
  }
  if (absl::Status s = BuildPool(*links[0], links.size()); !s.ok()) return s;
  AttachLinks(std::move(links));
  BuildStages();
  counters_.SetScope("");
  if (!config_.pcap.empty()) {
    if (absl::Status s = capture_->Start(config_.pcap, config_.pcap_size, config_.pcap_files); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--pcap: ", s.message()));
    }
  }
  return absl::OkStatus();
}

absl::Status Engine::BuildPool(const Link& link, std::size_t queues) {
  rings::PoolConfig pool_config;
  pool_config.standard_count = config_.pool_buffers;
  // A link with offload reads every frame into a large buffer (moving the
  // small ones on) and TCP builds its super-segments in them.
  if (link.rx_needs_large() || link.offload()) pool_config.large_count = 512 * queues;
  auto pool = rings::PacketPool::Create(pool_config);
  if (!pool.ok()) return pool.status();
  pool_ = std::move(*pool);
  return absl::OkStatus();
}

// The capture and the packet trace see frames as they cross the link
// (below the impairment stage, as tcpdump on the TAP would).
void Engine::AttachLinks(std::vector<std::unique_ptr<Link>> links) {
  counters_.SetScope("link");
  capture_ = std::make_unique<Capture>(counters_);
  link_ = std::make_unique<ObservedLink>(std::move(links[0]), *capture_, logger_);
  if (config_.impair.enabled()) {
    link_ = std::make_unique<ImpairedLink>(std::move(link_), config_.impair, *pool_, clock_, counters_);
  }
  rx_links_.push_back(link_.get());
  for (std::size_t q = 1; q < links.size(); ++q) {
    more_links_.push_back(std::make_unique<ObservedLink>(std::move(links[q]), *capture_, logger_));
    rx_links_.push_back(more_links_.back().get());
  }
}

void Engine::BuildStages() {
  const int n = config_.workers;
  drop_at_stop_ = &counters_.Add("engine_drop_at_stop");
  const int queues = static_cast<int>(rx_links_.size());
  std::vector<rings::SpscRing<rings::Packet>*> tx_rings;
  std::vector<Link*> tx_links;
  for (int q = 0; q < queues; ++q) {
    for (int k = 0; k < n; ++k) {
      rx_rings_.push_back(std::make_unique<rings::SpscRing<rings::Packet>>(config_.ring_size));
    }
  }
  for (int k = 0; k < n; ++k) {
    tx_rings_.push_back(std::make_unique<rings::SpscRing<rings::Packet>>(config_.ring_size));
    tx_rings.push_back(tx_rings_.back().get());
    tx_links.push_back(rx_links_[k % queues]);
  }
  // --tx-inline: a worker writes its own frame when none of its frames waits
  // for the TX stage, on links that take sends from several threads.
  const bool inline_tx = config_.tx_inline && link_->concurrent_send();
  std::vector<std::atomic<std::uint32_t>*> outstanding(n, nullptr);
  if (inline_tx) {
    tx_outstanding_ = std::make_unique<std::atomic<std::uint32_t>[]>(n);
    for (int k = 0; k < n; ++k) outstanding[k] = &tx_outstanding_[k];
  }
  // The TX and timer stages come first: workers hold their doorbells.
  counters_.SetScope("tx");
  tx_ = std::make_unique<TxStage>(tx_links, tx_rings, counters_, outstanding);
  timer_ = std::make_unique<TimerStage>(clock_);
  fabric_ = std::make_unique<ShardFabric>(n);
  for (int k = 0; k < n; ++k) {
    counters_.SetScope(absl::StrCat("w", k));
    std::vector<rings::SpscRing<rings::Packet>*> rx;
    for (int q = 0; q < queues; ++q) rx.push_back(rx_rings_[q * n + k].get());
    workers_.push_back(std::make_unique<Worker>(k, config_, clock_, *pool_, std::move(rx), *tx_rings_[k],
                                                tx_->doorbell(), timer_->doorbell(), counters_, *fabric_, logger_));
    fabric_->SetDoorbell(k, &workers_.back()->doorbell());
    workers_.back()->SetLinkOffload(link_->offload());
    if (inline_tx) workers_.back()->SetInlineTx(tx_links[k], outstanding[k]);
    timer_->AddWorker(workers_.back().get());
  }
  for (int q = 0; q < queues; ++q) {
    const std::string name = q == 0 ? "rx" : absl::StrCat("rx", q);
    counters_.SetScope(name);
    std::vector<ShardInbox> inboxes;
    for (int k = 0; k < n; ++k) {
      inboxes.push_back(ShardInbox{rx_rings_[q * n + k].get(), &workers_[k]->doorbell(),
                                   &counters_.Add(absl::StrCat("rx_drop_ring", k, "_full"))});
    }
    rx_.push_back(std::make_unique<RxStage>(*rx_links_[q], *pool_, std::move(inboxes), counters_, name));
  }
}

std::string Engine::link_failure() const {
  for (const Link* l : rx_links_) {
    if (std::string why = l->failure(); !why.empty()) return why;
  }
  return "";
}

std::vector<Stage*> Engine::stages() {
  std::vector<Stage*> out;
  for (auto& r : rx_) out.push_back(r.get());
  for (auto& w : workers_) out.push_back(w.get());
  out.push_back(timer_.get());
  out.push_back(tx_.get());
  return out;
}

absl::Status Engine::Start() {
  // --fuse: thread k runs worker k and the RX stages of queues q with
  // q mod workers == k; thread 0 also the timer stage. Each is pinned as its
  // worker is (--pin wK), thread 0 else as RX (--pin rx). The TX stage keeps
  // a thread of its own: workers write their own frames (--tx-inline), and
  // what it writes is what may run beside them (a read's window update,
  // TcpLayer::Carry) or must wait for the fd.
  const auto worker_cpu = [this](int k) { return config_.pin.workers.empty() ? -1 : config_.pin.workers[k]; };
  std::vector<StageThread> threads;
  if (config_.fuse) {
    for (int k = 0; k < config_.workers; ++k) {
      int cpu = worker_cpu(k);
      if (cpu < 0 && k == 0) cpu = config_.pin.rx;
      for (std::size_t q = 0; q < rx_.size(); ++q) {
        if (static_cast<int>(q) % config_.workers == k) threads.push_back({rx_[q].get(), cpu, config_.rx_batch, k});
      }
      threads.push_back({workers_[k].get(), cpu, 64, k});
      if (k == 0) threads.push_back({timer_.get(), cpu, 64, 0});
    }
    threads.push_back({tx_.get(), config_.pin.tx});
  } else {
    for (auto& r : rx_) threads.push_back({r.get(), config_.pin.rx, config_.rx_batch});
    for (int k = 0; k < config_.workers; ++k) threads.push_back({workers_[k].get(), worker_cpu(k)});
    threads.push_back({timer_.get(), config_.pin.timer});
    threads.push_back({tx_.get(), config_.pin.tx});
  }
  auto runner = std::make_unique<ThreadedRunner>(std::move(threads), config_.poll, clock_,
                                                std::vector<rings::PacketPool*>{pool_.get()});
  if (absl::Status s = runner->Start(); !s.ok()) return s;
  std::lock_guard lock(runner_mu_);
  runner_ = std::move(runner);
  return absl::OkStatus();
}

void Engine::Stop() {
  // runner_ stays set while its threads stop, so OnShard from another thread
  // asks the (stopping) workers and times out instead of touching them.
  ThreadedRunner* runner = nullptr;
  {
    std::lock_guard lock(runner_mu_);
    runner = runner_.get();
  }
  if (runner != nullptr) runner->Stop();
  {
    std::lock_guard lock(runner_mu_);
    runner_.reset();
  }
  for (const auto& w : workers_) w->DropHeld();
  for (Link* l : rx_links_) l->DropHeld();
  DropInFlight();
  // After the threads: every frame they counted is in the capture.
  if (capture_) capture_->Stop();
}

// What the stopped threads left between them (frames on the RX and TX
// rings, messages in the shards' mail) goes back to the pool now, so the
// counts at exit find every buffer home.
void Engine::DropInFlight() {
  if (drop_at_stop_ == nullptr || fabric_ == nullptr) return;  // never built
  std::uint64_t n = 0;
  rings::Packet p;
  for (auto* rings : {&rx_rings_, &tx_rings_}) {
    for (auto& r : *rings) {
      while (r->TryPop(p)) {
        p = rings::Packet();
        ++n;
      }
    }
  }
  ShardMessage m;
  for (int k = 0; k < fabric_->shards(); ++k) {
    while (fabric_->TryTake(k, m)) {
      m = ShardMessage();
      ++n;
    }
  }
  drop_at_stop_->Inc(n);
}

std::vector<ThreadInfo> Engine::threads() const {
  std::lock_guard lock(runner_mu_);
  return runner_ ? runner_->threads() : std::vector<ThreadInfo>{};
}

std::vector<Engine::RingInfo> Engine::rings() const {
  std::vector<RingInfo> out;
  const std::size_t n = tx_rings_.size();
  for (std::size_t i = 0; i < rx_rings_.size(); ++i) {
    const std::size_t q = i / n, k = i % n;
    const std::string stage = q == 0 ? "rx" : absl::StrCat("rx", q);
    std::uint64_t drops = 0;
    counters_.ForEachScoped([&](std::string_view name, std::string_view scope, std::uint64_t v) {
      if (name == absl::StrCat("rx_drop_ring", k, "_full") && scope == stage) drops += v;
    });
    out.push_back(RingInfo{absl::StrCat(stage, "->w", k), rx_rings_[i]->SizeApprox(), rx_rings_[i]->capacity(),
                           drops});
  }
  for (std::size_t k = 0; k < tx_rings_.size(); ++k) {
    std::uint64_t drops = 0;
    counters_.ForEachScoped([&](std::string_view name, std::string_view scope, std::uint64_t v) {
      if (name == "tx_drop_ring_full" && scope == absl::StrCat("w", k)) drops += v;
    });
    out.push_back(RingInfo{absl::StrCat("w", k, "->tx"), tx_rings_[k]->SizeApprox(), tx_rings_[k]->capacity(),
                           drops});
  }
  return out;
}

std::vector<std::string> Engine::TcpSessionReport(std::chrono::milliseconds wait) {
  std::vector<std::string> out;
  for (int k = 0; k < workers(); ++k) {
    const auto lines =
        OnShard<std::vector<std::string>>(k, [](const Worker& w) { return w.TcpSessionLines(); }, wait);
    if (!lines) {  // said, so a reader never takes a busy shard for one without sessions
      out.push_back(absl::StrCat("tcp_session_unanswered w", k));
      continue;
    }
    for (const std::string& l : *lines) out.push_back(absl::StrCat("tcp_session w", k, " ", l));
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
