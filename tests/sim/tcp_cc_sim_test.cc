// Congestion control over the same seeded paths: CUBIC, NewReno and BBR
// send 8 MB through a 100 Mbit/s bottleneck with 20 ms of round trip, its
// drop-tail buffer half a BDP and five BDPs, with no loss and with 1%
// random loss. The table (printed; bench/README.md keeps it) has each
// one's goodput, the mean time its frames waited in the bottleneck's queue
// and its retransmissions. What must hold: every transfer arrives
// sha256-exact; BBR keeps the deep buffer's queue short where the
// loss-based algorithms fill it; under random loss BBR, whose model does
// not take loss for congestion, moves data faster than CUBIC.
#include <cstdio>
#include <map>
#include <string>

#include "tests/sim/tcp_sim_harness.h"

namespace ringstack::sockets {
namespace {

using namespace harness;  // NOLINT: the harness is this file's vocabulary

constexpr std::uint64_t kRate = 100'000'000;                    // bits/s
constexpr std::uint64_t kBdp = kRate / 8 * 20 / 1000;            // 250,000 octets at 20 ms
constexpr std::size_t kBytes = 8u << 20;

std::span<const std::byte> B(const std::string& s) { return std::as_bytes(std::span(s)); }

struct CcRun {
  bool ok = false;
  double mbps = 0;
  double queue_ms = 0;
  std::uint64_t retransmits = 0;
};

CcRun Transfer(const std::string& cc, bool pacing, double buffer_bdps, double loss, const std::string& data) {
  engine::ImpairConfig imp;
  imp.rate = kRate;
  imp.delay = engine::Duration::Millis(10);
  imp.queue = static_cast<std::uint64_t>(buffer_bdps * kBdp);
  imp.loss = loss;
  imp.seed = 23;
  TwoEngines t(imp, 1, [&](engine::Config& c) {
    c.tcp_cc = cc;
    c.tcp_pacing = pacing;
  });
  CcRun r;
  // Buffers that hold several BDPs, so the receive window does not bound
  // the flight before the bottleneck's buffer does.
  const int l = t.b().Socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK);
  t.b().SetSockOpt(l, SOL_SOCKET, SO_RCVBUF, 4 << 20);
  t.b().Bind(l, Ep("0.0.0.0", 5201));
  t.b().Listen(l, 4);
  const int c = t.a().Socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK);
  t.a().SetSockOpt(c, SOL_SOCKET, SO_SNDBUF, 4 << 20);
  t.a().Connect(c, Ep("192.0.2.2", 5201));
  int s = -1;
  if (!WaitConnected(t, l, c, s, engine::Duration::Seconds(10))) return r;
  // A millisecond at a time: the sender's ring topped up, the receiver's
  // drained, until every byte is in.
  const engine::Instant start = t.Now();
  std::string at_b;
  std::size_t sent = 0;
  std::vector<std::byte> sink(1 << 16);
  for (int ms = 0; ms < 60'000 && at_b.size() < data.size(); ++ms) {
    for (ssize_t n; sent < data.size() && (n = t.a().Send(c, B(data).subspan(sent))) > 0;) sent += n;
    for (ssize_t n; (n = t.b().Recv(s, sink, true)) > 0;) at_b.append(reinterpret_cast<char*>(sink.data()), n);
    t.RunFor(engine::Duration::Millis(1));
  }
  const double seconds = static_cast<double>((t.Now() - start).nanos()) / 1e9;
  const bool done = at_b.size() == data.size();
  r.ok = done && Sha(at_b) == Sha(data);
  r.mbps = static_cast<double>(data.size()) * 8 / seconds / 1e6;
  r.queue_ms = static_cast<double>(t.link_a()->mean_queue_wait().nanos()) / 1e6;
  r.retransmits = t.engine_a().counter("tcp_retransmits");
  return r;
}

TEST(TcpCcSim, BbrKeepsTheQueueShortAndRidesOutRandomLoss) {
  const std::string data = Pattern(kBytes, 9);
  struct Algo {
    const char* label;
    const char* cc;
    bool pacing;
  };
  const Algo algos[] = {{"cubic", "cubic", false}, {"newreno", "newreno", false}, {"cubic+pacing", "cubic", true},
                        {"bbr", "bbr", false}};
  std::map<std::string, CcRun> runs;
  std::printf("%-13s %7s %5s %9s %11s %11s\n", "cc", "buffer", "loss", "Mbit/s", "queue_ms", "retransmits");
  for (const double buffer : {0.5, 5.0}) {
    for (const double loss : {0.0, 0.01}) {
      for (const Algo& a : algos) {
        const CcRun r = Transfer(a.cc, a.pacing, buffer, loss, data);
        std::printf("%-13s %6.1fx %4.0f%% %9.1f %11.2f %11llu\n", a.label, buffer, loss * 100, r.mbps, r.queue_ms,
                    static_cast<unsigned long long>(r.retransmits));
        EXPECT_TRUE(r.ok) << a.label << " buffer " << buffer << " loss " << loss;
        runs[std::string(a.label) + "/" + std::to_string(buffer) + "/" + std::to_string(loss)] = r;
      }
    }
  }
  auto at = [&](const char* cc, double buffer, double loss) {
    return runs[std::string(cc) + "/" + std::to_string(buffer) + "/" + std::to_string(loss)];
  };
  // The deep buffer without loss: CUBIC fills it; BBR's queue stays short.
  EXPECT_LT(at("bbr", 5.0, 0).queue_ms * 3, at("cubic", 5.0, 0).queue_ms);
  EXPECT_LT(at("bbr", 5.0, 0).queue_ms * 3, at("newreno", 5.0, 0).queue_ms);
  // 1% random loss: CUBIC halves its window again and again; BBR does not.
  EXPECT_GT(at("bbr", 5.0, 0.01).mbps, 2 * at("cubic", 5.0, 0.01).mbps);
  EXPECT_GT(at("bbr", 0.5, 0.01).mbps, 2 * at("cubic", 0.5, 0.01).mbps);
  // Without loss BBR fills the link as the others do.
  EXPECT_GT(at("bbr", 5.0, 0).mbps, 0.8 * at("cubic", 5.0, 0).mbps);
}

}  // namespace
}  // namespace ringstack::sockets
