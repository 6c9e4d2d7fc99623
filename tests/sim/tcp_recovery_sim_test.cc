// Loss recovery compared (issue #7): one-way transfers between two engines
// over a simulated bottleneck (100 Mbit/s, 10 ms each way, a 256 KiB
// drop-tail queue) under random loss, bursty loss, reordering and tail
// drops, with each recovery: NewReno (RFC 6582, SACK unused), SACK + PRR
// (RFC 6675 + 6937) and RACK-TLP (RFC 8985, with PRR), all under CUBIC.
// Every transfer must arrive sha256-exact; RACK must not take reordering
// within its window for loss. Prints a table (virtual completion time,
// goodput, retransmissions, timeouts, ...).
//
// RS_RECOVERY_MB (default 8) sets the size; RS_RECOVERY_TABLE=FILE also
// writes the table as Markdown; RS_RECOVERY_TRACE=DIR writes per-connection
// CSV traces (--tcp-trace) under DIR/<scenario>/<mode>/ for bench plots;
// RS_RECOVERY_CC=newreno runs them under NewReno instead of CUBIC;
// RS_RECOVERY_ONLY=NAME runs only the scenario NAME (bench/tcp_recovery.sh
// uses all of these); RS_RECOVERY_LINK=SPEC replaces the bottleneck (an
// --impair spec, e.g. "rate=10gbit,delay=50us,queue=1M" for a LAN).
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tests/sim/tcp_sim_harness.h"

namespace ringstack::sockets {
namespace {

using namespace harness;  // NOLINT: the harness is this file's vocabulary

struct Scenario {
  const char* name;  // also a directory name
  engine::ImpairConfig impair;
};

struct Mode {
  const char* name;
  proto::tcp::Recovery recovery;
};

struct Result {
  double seconds = 0;
  std::uint64_t retransmits = 0, timeouts = 0, fast_recoveries = 0, tlp = 0, dsacks = 0, undos = 0,
                tail_drops = 0;
  bool ok = false;
};

// The bottleneck every scenario starts from; RS_RECOVERY_LINK (an --impair
// spec, e.g. "rate=10gbit,delay=50us,queue=1M") replaces it.
engine::ImpairConfig Link() {
  if (const char* spec = std::getenv("RS_RECOVERY_LINK")) {
    auto c = engine::ImpairConfig::Parse(spec);
    EXPECT_TRUE(c.ok()) << c.status();
    if (c.ok()) return *c;
  }
  engine::ImpairConfig c;
  c.rate = 100'000'000;
  c.delay = engine::Duration::Millis(10);
  c.queue = 256 * 1024;
  return c;
}

std::vector<Scenario> Scenarios() {
  std::vector<Scenario> s;
  for (double loss : {0.01, 0.05, 0.10}) {
    Scenario x{loss == 0.01 ? "loss-1pct" : loss == 0.05 ? "loss-5pct" : "loss-10pct", Link()};
    x.impair.loss = loss;
    s.push_back(x);
  }
  Scenario bursty{"bursty-2pct-x4", Link()};
  bursty.impair.loss = 0.02;
  bursty.impair.burst = 4;
  s.push_back(bursty);
  Scenario reorder{"reorder-5pct-3ms", Link()};
  reorder.impair.reorder = 0.05;
  reorder.impair.reorder_delay = engine::Duration::Millis(3);
  s.push_back(reorder);
  Scenario tail{"tail-drops-32k-queue", Link()};
  tail.impair.queue = 32 * 1024;
  s.push_back(tail);
  return s;
}

const Mode kModes[] = {{"newreno", proto::tcp::Recovery::kNewReno},
                       {"sack-prr", proto::tcp::Recovery::kSack},
                       {"rack-tlp", proto::tcp::Recovery::kRack}};

Result Transfer(const Scenario& sc, const Mode& m, const std::string& data, std::uint64_t seed) {
  engine::ImpairConfig imp = sc.impair;
  imp.seed = seed;
  std::string trace;
  if (const char* dir = std::getenv("RS_RECOVERY_TRACE")) {
    trace = absl::StrCat(dir, "/", sc.name, "/", m.name);
    std::filesystem::create_directories(trace);
  }
  const char* cc = std::getenv("RS_RECOVERY_CC");
  TwoEngines t(imp, 1, [&](engine::Config& c) {
    c.tcp_recovery = m.recovery;
    c.tcp_trace_dir = trace;
    if (cc != nullptr) c.tcp_cc = cc;
  });
  auto [c, s] = Connect(t, "192.0.2.2", 5001);
  Result r;
  if (s < 0) return r;
  const engine::Instant start = t.Now();
  std::string at_b, at_a;
  // A generous bound in virtual time: 2 minutes per MB (10% loss under
  // NewReno runs at well under 1 Mbit/s).
  const auto limit = engine::Duration::Seconds(120 * static_cast<std::int64_t>(1 + (data.size() >> 20)));
  r.ok = Exchange(t, c, s, data, "", at_b, at_a, limit) && Sha(at_b) == Sha(data);
  r.seconds = static_cast<double>((t.Now() - start).nanos()) / 1e9;
  engine::Engine& a = t.engine_a();
  r.retransmits = a.counter("tcp_retransmits");
  r.timeouts = a.counter("tcp_timeouts");
  r.fast_recoveries = a.counter("tcp_fast_recoveries");
  r.tlp = a.counter("tcp_tlp_probes");
  r.dsacks = a.counter("tcp_dsacks");
  r.undos = a.counter("tcp_undos");
  r.tail_drops = t.tail_dropped_a();
  return r;
}

TEST(TcpRecoverySim, CompareRecoveriesOverABottleneck) {
  const char* mb_env = std::getenv("RS_RECOVERY_MB");
  const std::size_t mb = mb_env != nullptr ? std::strtoul(mb_env, nullptr, 10) : 8;
  const std::string data = Pattern(mb << 20, 42);
  std::string table = absl::StrFormat(
      "| scenario | recovery | time (s) | goodput (Mbit/s) | retransmits | timeouts | recoveries | TLPs | "
      "D-SACKs | undos | tail drops |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
  std::uint64_t seed = 1;
  const char* only = std::getenv("RS_RECOVERY_ONLY");
  for (const Scenario& sc : Scenarios()) {
    if (only != nullptr && std::string(only) != sc.name) {
      ++seed;
      continue;
    }
    Result by_mode[3];
    for (int i = 0; i < 3; ++i) {
      const Mode& m = kModes[i];
      const Result r = Transfer(sc, m, data, seed);
      by_mode[i] = r;
      EXPECT_TRUE(r.ok) << sc.name << " / " << m.name << ": the transfer did not arrive whole";
      table += absl::StrFormat("| %s | %s | %.2f | %.1f | %u | %u | %u | %u | %u | %u | %u |\n", sc.name, m.name,
                               r.seconds, r.seconds > 0 ? static_cast<double>(data.size()) * 8 / r.seconds / 1e6 : 0,
                               r.retransmits, r.timeouts, r.fast_recoveries, r.tlp, r.dsacks, r.undos, r.tail_drops);
    }
    if (std::string(sc.name).starts_with("reorder")) {
      // Reordering by 3 ms is within RACK's window (min_RTT / 4 = 5 ms). Until
      // it has seen reordering, RACK (like DupThresh) takes three SACKed
      // segments past a hole for loss (RFC 8985 6.2 step 4): one episode.
      // After its D-SACKs, never again — while DupThresh goes on misfiring.
      EXPECT_LE(by_mode[2].fast_recoveries, 1u) << "RACK misfired on reordering within its window";
      EXPECT_LE(by_mode[2].retransmits * 10, by_mode[1].retransmits);
    }
    ++seed;
  }
  std::printf("%s", table.c_str());
  if (const char* out = std::getenv("RS_RECOVERY_TABLE")) {
    if (std::FILE* f = std::fopen(out, "w")) {
      std::fputs(table.c_str(), f);
      std::fclose(f);
    }
  }
}

// F-RTO (RFC 5682) against a delay spike: the ACK path of a bulk transfer
// stalls for a second (a queue that fills, then drains at line rate, so
// nothing is reordered), far past the RTO. The timeout it fires is
// spurious: every original arrived. With F-RTO the ACKs after it show that
// and the reduction is undone (tcp_frto_spurious); without, it stands.
TEST(TcpRecoverySim, FrtoUndoesTheTimeoutOfADelaySpike) {
  const std::string data = Pattern(8 << 20, 9);
  for (const bool frto : {true, false}) {
    engine::ImpairConfig imp = Link();
    imp.seed = 3;
    TwoEngines t(imp, 1, [&](engine::Config& c) { c.tcp_frto = frto; });
    const auto ends = Connect(t, "192.0.2.2", 5001);
    const int c = ends.first, s = ends.second;  // named copies: the lambda below captures them
    ASSERT_GE(s, 0);
    // The spike begins once 2 MB are through (RTT measured, RTO at its floor).
    engine::Instant spike = engine::Instant::Never();
    const engine::Duration height = engine::Duration::Millis(1000);
    std::size_t sent = 0;
    std::string got;
    std::vector<std::byte> buf(65536);
    const bool done = t.RunUntil(
        [&] {
          const engine::Instant now = t.Now();
          if (spike.IsNever() && got.size() >= (2u << 20)) spike = now;
          engine::Duration extra;
          if (!spike.IsNever()) {
            // Held for 100 ms, then draining: the delay falls by 1 ms a ms.
            const engine::Duration since = now - spike;
            const engine::Duration drained = since > engine::Duration::Millis(100)
                                                 ? since - engine::Duration::Millis(100)
                                                 : engine::Duration();
            if (drained < height) extra = height - drained;
          }
          t.link_b()->SetExtraDelay(extra);
          while (sent < data.size()) {
            const ssize_t n = t.a().Send(c, std::as_bytes(std::span(data).subspan(sent)));
            if (n <= 0) break;
            sent += static_cast<std::size_t>(n);
          }
          for (;;) {
            const ssize_t n = t.b().Recv(s, buf, /*dontwait=*/true);
            if (n <= 0) break;
            got.append(reinterpret_cast<const char*>(buf.data()), static_cast<std::size_t>(n));
          }
          return got.size() == data.size();
        },
        engine::Duration::Seconds(60));
    ASSERT_TRUE(done) << "frto " << frto;
    ASSERT_FALSE(spike.IsNever());
    EXPECT_EQ(Sha(got), Sha(data));
    const engine::Engine& a = t.engine_a();
    std::printf("(virtual %.3f s after the spike began) ", static_cast<double>((t.Now() - spike).nanos()) / 1e9);
    std::printf("delay spike, F-RTO %s: %llu timeouts, %llu shown spurious by F-RTO, %llu undos, %llu retransmits\n",
                frto ? "on" : "off", static_cast<unsigned long long>(a.counter("tcp_timeouts")),
                static_cast<unsigned long long>(a.counter("tcp_frto_spurious")),
                static_cast<unsigned long long>(a.counter("tcp_undos")),
                static_cast<unsigned long long>(a.counter("tcp_retransmits")));
    EXPECT_GE(a.counter("tcp_timeouts"), 1u) << "the spike fired no timeout";
    if (frto) {
      EXPECT_GE(a.counter("tcp_frto_spurious"), 1u);
      EXPECT_GE(a.counter("tcp_undos"), a.counter("tcp_frto_spurious"));
    } else {
      EXPECT_EQ(a.counter("tcp_frto_spurious"), 0u);
    }
  }
}

}  // namespace
}  // namespace ringstack::sockets
