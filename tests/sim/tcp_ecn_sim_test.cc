// ECN (RFC 3168) between two engines over the simulated bottleneck (100
// Mbit/s, 10 ms each way), the wire marking CE on a share of the
// ECN-capable frames A sends (ImpairConfig::ce) and dropping none: A's
// sender must answer the marks B echoes by reducing its window, with no
// retransmission at all, and the data must arrive sha256-exact. With ECN
// off at A nothing is ECN-capable, so nothing is marked. With Accurate ECN
// (RFC 9768) at both ends every mark is counted both ways: B's count of CE
// packets and bytes received, and A's of those B's ACE field and AccECN
// option reported, equal the marks the wire made; against an RFC 3168 B,
// A falls back to classic ECN.
#include <cstdio>
#include <string>

#include "tests/sim/tcp_sim_harness.h"

namespace ringstack::sockets {
namespace {

using namespace harness;  // NOLINT: the harness is this file's vocabulary

struct EcnRun {
  bool ok = false;
  std::uint64_t a_established = 0, b_established = 0, ce_marked = 0, ce_received = 0, reductions = 0,
                retransmits = 0;
  std::uint64_t a_accecn = 0, b_accecn = 0, a_fallback = 0, ce_delivered = 0, ce_bytes = 0;
};

EcnRun Transfer(proto::tcp::EcnMode a_mode, double ce, const std::string& data,
                proto::tcp::EcnMode b_mode = proto::tcp::EcnMode::kPassive) {
  engine::ImpairConfig imp;
  imp.rate = 100'000'000;
  imp.delay = engine::Duration::Millis(10);
  imp.queue = 1024 * 1024;
  imp.ce = ce;
  imp.seed = 11;
  int configured = 0;
  TwoEngines t(imp, 1, [&](engine::Config& c) {
    // A is configured first: it asks (or not); B answers as Linux's default does.
    c.tcp_ecn = configured++ == 0 ? a_mode : b_mode;
  });
  EcnRun r;
  auto [c, s] = Connect(t, "192.0.2.2", 5001);
  if (s < 0) return r;
  std::string at_b, at_a;
  r.ok = Exchange(t, c, s, data, "", at_b, at_a, engine::Duration::Seconds(60)) && Sha(at_b) == Sha(data);
  engine::Engine& a = t.engine_a();
  engine::Engine& b = t.engine_b();
  r.a_established = a.counter("tcp_ecn_established");
  r.b_established = b.counter("tcp_ecn_established");
  r.ce_marked = t.link_a()->ce_marked();
  r.ce_received = b.counter("tcp_ecn_ce_received");
  r.reductions = a.counter("tcp_ecn_reductions");
  r.retransmits = a.counter("tcp_retransmits");
  r.a_accecn = a.counter("tcp_accecn_established");
  r.b_accecn = b.counter("tcp_accecn_established");
  r.a_fallback = a.counter("tcp_accecn_fallback");
  r.ce_delivered = a.counter("tcp_accecn_ce_delivered");
  r.ce_bytes = a.counter("tcp_accecn_ce_bytes");
  return r;
}

TEST(TcpEcnSim, MarksReduceTheSenderWithoutARetransmission) {
  const std::string data = Pattern(4 << 20, 5);
  const EcnRun r = Transfer(proto::tcp::EcnMode::kOn, 0.02, data);
  std::printf("4 MB at 2%% CE: %llu marked, %llu echoed, %llu reductions, %llu retransmissions\n",
              static_cast<unsigned long long>(r.ce_marked), static_cast<unsigned long long>(r.ce_received),
              static_cast<unsigned long long>(r.reductions), static_cast<unsigned long long>(r.retransmits));
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.a_established, 1u);
  EXPECT_EQ(r.b_established, 1u);
  EXPECT_GT(r.ce_marked, 20u);  // about 2% of ~2,900 data frames
  EXPECT_EQ(r.ce_received, r.ce_marked);
  EXPECT_GE(r.reductions, 3u);
  EXPECT_LE(r.reductions, r.ce_marked);  // at most one a window
  EXPECT_EQ(r.retransmits, 0u);
}

TEST(TcpEcnSim, WithoutEcnNothingIsMarked) {
  const std::string data = Pattern(1 << 20, 6);
  const EcnRun r = Transfer(proto::tcp::EcnMode::kOff, 0.02, data);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.a_established, 0u);
  EXPECT_EQ(r.b_established, 0u);
  EXPECT_EQ(r.ce_marked, 0u);
  EXPECT_EQ(r.reductions, 0u);
}

TEST(TcpEcnSim, AccurateEcnCountsEveryMark) {
  const std::string data = Pattern(4 << 20, 7);
  const EcnRun r = Transfer(proto::tcp::EcnMode::kAccEcn, 0.02, data, proto::tcp::EcnMode::kAccEcn);
  std::printf("4 MB at 2%% CE, AccECN: %llu marked, %llu received, %llu reported (%llu bytes), %llu reductions\n",
              static_cast<unsigned long long>(r.ce_marked), static_cast<unsigned long long>(r.ce_received),
              static_cast<unsigned long long>(r.ce_delivered), static_cast<unsigned long long>(r.ce_bytes),
              static_cast<unsigned long long>(r.reductions));
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.a_accecn, 1u);
  EXPECT_EQ(r.b_accecn, 1u);
  EXPECT_EQ(r.a_fallback, 0u);
  EXPECT_GT(r.ce_marked, 20u);
  EXPECT_EQ(r.ce_received, r.ce_marked);    // B counted each
  EXPECT_EQ(r.ce_delivered, r.ce_marked);   // and A heard of each by ACE
  EXPECT_GE(r.ce_bytes, r.ce_marked * 1000);  // and of their bytes by the option (full segments, most)
  EXPECT_LE(r.ce_bytes, r.ce_marked * 1460);
  EXPECT_GE(r.reductions, 3u);
  EXPECT_LE(r.reductions, r.ce_marked);
  EXPECT_EQ(r.retransmits, 0u);
}

TEST(TcpEcnSim, AccurateEcnFallsBackToClassicEcn) {
  const std::string data = Pattern(1 << 20, 8);
  const EcnRun r = Transfer(proto::tcp::EcnMode::kAccEcn, 0.02, data, proto::tcp::EcnMode::kPassive);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.a_accecn, 0u);
  EXPECT_EQ(r.a_fallback, 1u);
  EXPECT_EQ(r.a_established, 1u);  // RFC 3168 ECN instead
  EXPECT_EQ(r.b_established, 1u);
  EXPECT_GT(r.ce_marked, 0u);
  EXPECT_GE(r.reductions, 1u);
  EXPECT_EQ(r.ce_delivered, 0u);
}

// kTcpEcn: a socket asks for ECN where the engine (passive both ends) would
// not; the option reads the engine's mode until set, takes only Linux's
// tcp_ecn numbers, and only before connect.
TEST(TcpEcnSim, TheSocketOptionAsksForOneConnection) {
  TwoEngines t;
  const int l = t.b().Socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK);
  ASSERT_EQ(t.b().Bind(l, Ep("0.0.0.0", 5002)), 0);
  ASSERT_EQ(t.b().Listen(l, 4), 0);
  const int c = t.a().Socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK);
  int mode = -1;
  ASSERT_EQ(t.a().GetSockOpt(c, IPPROTO_TCP, kTcpEcn, &mode), 0);
  EXPECT_EQ(mode, 2);  // the engine's --tcp-ecn passive
  EXPECT_EQ(t.a().SetSockOpt(c, IPPROTO_TCP, kTcpEcn, 4), -1);  // Linux's 4 and 5 are not taken
  EXPECT_EQ(errno, EINVAL);
  ASSERT_EQ(t.a().SetSockOpt(c, IPPROTO_TCP, kTcpEcn, 1), 0);
  ASSERT_EQ(t.a().GetSockOpt(c, IPPROTO_TCP, kTcpEcn, &mode), 0);
  EXPECT_EQ(mode, 1);
  EXPECT_EQ(t.a().Connect(c, Ep("192.0.2.2", 5002)), -1);
  int s = -1;
  ASSERT_TRUE(WaitConnected(t, l, c, s, engine::Duration::Seconds(10)));
  EXPECT_EQ(t.a().SetSockOpt(c, IPPROTO_TCP, kTcpEcn, 0), -1);  // agreed already
  EXPECT_EQ(errno, EINVAL);
  EXPECT_EQ(t.engine_a().counter("tcp_ecn_established"), 1u);
  EXPECT_EQ(t.engine_b().counter("tcp_ecn_established"), 1u);
}

}  // namespace
}  // namespace ringstack::sockets
