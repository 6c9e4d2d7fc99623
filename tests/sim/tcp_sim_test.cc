// TCP end to end between two whole engines over SimLink with a virtual
// clock (issue #6): the socket API on both sides, handshake, transfers both
// ways with sha-equal data under seeded loss, duplication, reordering and
// corruption from the link, half-close, RST cases, TIME-WAIT, and sessions
// on a second shard. A failing seed is printed (SEED=N starts the seeded
// test there).
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "engine/engine.h"
#include "engine/link/sim.h"
#include "engine/runner.h"
#include "protocols/icmpv6/icmpv6_repr.h"
#include "gtest/gtest.h"
#include "protocols/common/sha256.h"
#include "protocols/ethernet/ethernet_repr.h"
#include "protocols/ipv4/ipv4_repr.h"
#include "protocols/tcp/tcp_repr.h"
#include "sockets/api.h"
#include "tests/sim/tcp_sim_harness.h"

namespace ringstack::sockets {
namespace {

using namespace harness;  // NOLINT: the harness is this file's vocabulary


TEST(TcpSim, HandshakeEchoAndOrderlyClose) {
  TwoEngines t;
  auto [c, s] = Connect(t, "192.0.2.2", 7);
  ASSERT_GE(s, 0);
  Endpoint peer, name;
  ASSERT_EQ(t.a().GetPeerName(c, &peer), 0);
  EXPECT_EQ(peer, Ep("192.0.2.2", 7));
  ASSERT_EQ(t.a().GetSockName(c, &name), 0);
  EXPECT_EQ(name.addr, *proto::IpAddress::Parse("192.0.2.1"));
  EXPECT_GE(name.port, 32768);
  std::string at_b, at_a;
  ASSERT_TRUE(Exchange(t, c, s, "hello, ringstack", "hello back", at_b, at_a, engine::Duration::Seconds(10)));
  EXPECT_EQ(at_b, "hello, ringstack");
  EXPECT_EQ(at_a, "hello back");
  EXPECT_EQ(t.a().Close(c), 0);
  EXPECT_EQ(t.b().Close(s), 0);
  // Both sessions end: one side after TIME-WAIT's 2 MSL (60 s).
  t.RunFor(engine::Duration::Seconds(61));
  EXPECT_EQ(t.engine_a().counter("tcp_closed") + t.engine_b().counter("tcp_closed"), 2u);
  EXPECT_EQ(t.engine_a().counter("tcp_established"), 1u);
  EXPECT_EQ(t.engine_b().counter("tcp_established"), 1u);
  EXPECT_EQ(t.engine_a().counter("tcp_tx_rst") + t.engine_b().counter("tcp_tx_rst"), 0u);
}

// TCP_INFO alike: what the connection's worker knows of it, in the socket
// API's own type; EOPNOTSUPP on a datagram socket, ENOTCONN without a
// connection.
TEST(TcpSim, TcpInfoDescribesTheConnection) {
  TwoEngines t;
  const auto [c, s] = Connect(t, "192.0.2.2", 7);
  ASSERT_GE(s, 0);
  const int server = s;  // a lambda may not capture a structured binding (clang)
  const std::string hello = "hello";
  ASSERT_EQ(t.a().Send(c, std::as_bytes(std::span(hello))), 5);
  std::array<std::byte, 16> got{};
  ssize_t n_got = -1;
  ASSERT_TRUE(t.RunUntil(
      [&] {
        n_got = t.b().Recv(server, got, /*dontwait=*/true);
        return n_got > 0;
      },
      engine::Duration::Seconds(10)));
  EXPECT_EQ(n_got, 5);
  t.RunFor(engine::Duration::Millis(500));  // the ACK back
  Stack::TcpInfo info;
  ASSERT_EQ(t.a().GetTcpInfo(c, &info), 0);
  Endpoint name;
  ASSERT_EQ(t.a().GetSockName(c, &name), 0);
  EXPECT_EQ(info.local, name);
  EXPECT_EQ(info.remote, Ep("192.0.2.2", 7));
  EXPECT_EQ(info.state, "ESTABLISHED");
  EXPECT_GT(info.mss, 1000u);
  EXPECT_LE(info.mss, 1460u);  // a 1500-byte MTU
  EXPECT_EQ(info.congestion, "cubic");
  EXPECT_GE(info.cwnd, info.mss);
  EXPECT_EQ(info.unsent, 0u);
  EXPECT_EQ(info.in_flight, 0u);  // the five bytes were acknowledged
  EXPECT_EQ(info.retransmits, 0u);
  const int u = t.a().Socket(AF_INET, SOCK_DGRAM);
  EXPECT_EQ(t.a().GetTcpInfo(u, &info), -1);
  EXPECT_EQ(errno, EOPNOTSUPP);
  const int n = t.a().Socket(AF_INET, SOCK_STREAM);
  EXPECT_EQ(t.a().GetTcpInfo(n, &info), -1);
  EXPECT_EQ(errno, ENOTCONN);
}

TEST(TcpSim, RefusedWhenNobodyListens) {
  TwoEngines t;
  const int c = t.a().Socket(AF_INET, SOCK_STREAM);
  EXPECT_EQ(t.a().Connect(c, Ep("192.0.2.2", 4444)), -1);
  EXPECT_EQ(errno, ECONNREFUSED);
  EXPECT_EQ(t.engine_b().counter("tcp_rx_no_socket"), 1u);
  EXPECT_EQ(t.engine_b().counter("tcp_tx_rst"), 1u);
}

TEST(TcpSim, TransfersOverIpv6AndOnASecondShard) {
  for (const char* to : {"2001:db8::2", "192.0.2.2"}) {
    TwoEngines t({}, /*b_workers=*/2);
    auto [c, s] = Connect(t, to, 9, std::string(to).find(':') != std::string::npos ? AF_INET6 : AF_INET);
    ASSERT_GE(s, 0) << to;
    const std::string ab = Pattern(300000, 1), ba = Pattern(100000, 2);
    std::string at_b, at_a;
    ASSERT_TRUE(Exchange(t, c, s, ab, ba, at_b, at_a, engine::Duration::Seconds(60))) << to;
    EXPECT_EQ(Sha(at_b), Sha(ab)) << to;
    EXPECT_EQ(Sha(at_a), Sha(ba)) << to;
  }
}

// Seeded impairment on the wire, both directions: every transfer arrives
// whole (sha-equal).
TEST(TcpSim, TransfersUnderSeededImpairment) {
  const std::size_t sizes[] = {1000, 10000, 100000, 1000000};
  const std::uint64_t first = getenv("SEED") ? std::strtoull(getenv("SEED"), nullptr, 10) : 1;
  for (std::uint64_t seed = first; seed < first + 500; ++seed) {
    engine::ImpairConfig imp;
    imp.loss = 0.02 * static_cast<double>(seed % 6);  // 0..10%
    imp.dup = 0.01;
    imp.reorder = 0.02;
    imp.corrupt = 0.005;
    imp.seed = seed;
    TwoEngines t(imp);
    auto [c, s] = Connect(t, "192.0.2.2", 7);
    ASSERT_GE(s, 0) << "seed " << seed;
    const std::size_t n = sizes[seed % 4];
    const std::string ab = Pattern(n, static_cast<unsigned>(seed)), ba = Pattern(n / 3, static_cast<unsigned>(seed + 99));
    std::string at_b, at_a;
    const bool ok = Exchange(t, c, s, ab, ba, at_b, at_a, engine::Duration::Seconds(600));
    if (!ok) {
      t.engine_a().PrintCounters(stderr);
      fprintf(stderr, "----\n");
      t.engine_b().PrintCounters(stderr);
      for (auto* e : {&t.engine_a(), &t.engine_b()}) {
        for (const auto& line : e->worker(0).TcpSessionLines()) fprintf(stderr, "%s\n", line.c_str());
      }
    }
    ASSERT_TRUE(ok)
        << "seed " << seed << ": B got " << at_b.size() << "/" << ab.size() << ", A got " << at_a.size() << "/"
        << ba.size();
    EXPECT_EQ(Sha(at_b), Sha(ab)) << "seed " << seed;
    EXPECT_EQ(Sha(at_a), Sha(ba)) << "seed " << seed;
  }
}

// RFC 9293 3.5 simultaneous open: both sides connect, their SYNs cross, both
// pass SYN-RECEIVED and reach ESTABLISHED; data flows both ways.
// A link with offload (a TAP with --tap-offload; here the simulated wire
// cutting super-segments as the kernel would): both engines build TCP
// super-segments with partial checksums; 8 MB each way over IPv4 and IPv6
// arrive sha-exact, checksums right on the wire, and most data left in
// super-segments. Then under loss and reordering, where retransmissions
// (single segments, and super-segments again after recovery) must fill
// every hole.
TEST(TcpSim, SuperSegmentsOnALinkWithOffload) {
  for (const bool v6 : {false, true}) {
    SCOPED_TRACE(v6 ? "IPv6" : "IPv4");
    TwoEngines t({}, 1, {}, /*offload=*/true);
    auto [c, s] = Connect(t, v6 ? "2001:db8::2" : "192.0.2.2", 9, v6 ? AF_INET6 : AF_INET);
    ASSERT_GE(s, 0);
    const std::string ab = Pattern(8u << 20, 11), ba = Pattern(8u << 20, 12);
    std::string at_b, at_a;
    ASSERT_TRUE(Exchange(t, c, s, ab, ba, at_b, at_a, engine::Duration::Seconds(120)));
    EXPECT_EQ(Sha(at_b), Sha(ab));
    EXPECT_EQ(Sha(at_a), Sha(ba));
    for (engine::Engine* e : {&t.engine_a(), &t.engine_b()}) {
      EXPECT_EQ(e->counter("tcp_drop_bad_checksum"), 0u);
      // 8 MB in ~1448-byte segments is ~5800; most go in super-segments.
      EXPECT_GT(e->counter("tcp_tx_tso"), 100u);
      EXPECT_LT(e->counter("tcp_tx_tso") * 4, e->counter("tcp_tx"));
    }
  }
}

// A read's window update goes through the TX stage (TcpLayer::Carry), not
// from the worker itself as its other frames do (--tx-inline, the default):
// on a TAP the kernel runs its TCP sender inside the write of that ACK, and
// the TX thread's write runs beside the worker. The data still arrives whole
// and in order, the frames of each engine in the order they were sent.
TEST(TcpSim, WindowUpdatesGoThroughTheTxStage) {
  for (const bool offload : {false, true}) {
    SCOPED_TRACE(offload ? "offload" : "no offload");
    TwoEngines t({}, 1, {}, offload);
    auto [c, s] = Connect(t, "192.0.2.2", 9, AF_INET);
    ASSERT_GE(s, 0);
    const std::string ab = Pattern(4u << 20, 21);
    std::string at_b, at_a;
    ASSERT_TRUE(Exchange(t, c, s, ab, "", at_b, at_a, engine::Duration::Seconds(120)));
    EXPECT_EQ(Sha(at_b), Sha(ab));
    engine::Engine& b = t.engine_b();
    std::uint64_t by_worker = 0, by_tx = 0;
    b.counters().ForEachScoped([&](std::string_view name, std::string_view scope, std::uint64_t v) {
      if (name == "tx_frames") (scope == "tx" ? by_tx : by_worker) += v;
    });
    const std::uint64_t updates = b.counter("tcp_tx_window_update");
    // B's reads opened the window (a 256 KiB buffer, 4 MiB through it).
    EXPECT_GT(updates, 4u);
    // Each update went through the TX stage; the data's ACKs mostly not.
    EXPECT_GE(by_tx, updates);
    EXPECT_GT(by_worker, by_tx);
  }
}

// A Packet Too Big (1280) for the path to B: A's segments no longer fit, and
// a super-segment would be cut by the segment size, not the path's MTU, so
// they go alone, fragmented (RFC 8200 4.5), and arrive whole.
TEST(TcpSim, SuperSegmentsYieldToASmallerPathMtu) {
  TwoEngines t({}, 1, {}, /*offload=*/true);
  auto [c, s] = Connect(t, "2001:db8::2", 9, AF_INET6);
  ASSERT_GE(s, 0);
  const auto a = *proto::Ipv6Address::Parse("2001:db8::1"), b = *proto::Ipv6Address::Parse("2001:db8::2");
  std::vector<std::byte> ptb(14 + 40 + 8 + 48);
  const unsigned char eth[] = {2, 0, 0, 0, 0, 0x0a, 2, 0, 0, 0, 0, 0x0b, 0x86, 0xdd};
  std::memcpy(ptb.data(), eth, sizeof eth);
  proto::ipv6::Ipv6Repr ip;
  ip.src = b;
  ip.dst = a;
  ip.next_header = proto::ipv6::kIcmpv6;
  ip.hop_limit = 255;
  ip.payload_len = 8 + 48;
  ip.Emit(std::span(ptb).subspan(14, 40));
  proto::StoreBe32(ptb.data() + 54 + 4, 1280);
  proto::ipv6::Ipv6Repr quoted;  // what A sent: a full-sized TCP segment to B
  quoted.src = a;
  quoted.dst = b;
  quoted.next_header = proto::ipv4::kProtoTcp;
  quoted.payload_len = 1460;
  quoted.Emit(std::span(ptb).subspan(62, 40));
  proto::icmpv6::Icmpv6Repr{2, 0, {}}.EmitHeader(std::span(ptb).subspan(54), b, a);
  t.link_b()->SendBytes(ptb);
  t.RunFor(engine::Duration::Millis(10));
  ASSERT_EQ(t.engine_a().counter("icmp6_rx_packet_too_big"), 1u);
  const std::string ab = Pattern(1u << 20, 15);
  std::string at_b, at_a;
  ASSERT_TRUE(Exchange(t, c, s, ab, "", at_b, at_a, engine::Duration::Seconds(60)));
  EXPECT_EQ(Sha(at_b), Sha(ab));
  EXPECT_GT(t.engine_a().counter("ipv6_tx_fragment"), 700u);  // ~1 MB in 1232-byte pieces
  EXPECT_GT(t.engine_b().counter("ipv6_rx_reassembled"), 300u);
}

TEST(TcpSim, SuperSegmentsUnderLossAndReordering) {
  engine::ImpairConfig imp;
  imp.loss = 0.01;
  imp.reorder = 0.01;
  imp.seed = 7;
  TwoEngines t(imp, 1, {}, /*offload=*/true);
  auto [c, s] = Connect(t, "192.0.2.2", 9);
  ASSERT_GE(s, 0);
  const std::string ab = Pattern(8u << 20, 13), ba = Pattern(2u << 20, 14);
  std::string at_b, at_a;
  ASSERT_TRUE(Exchange(t, c, s, ab, ba, at_b, at_a, engine::Duration::Seconds(600)));
  EXPECT_EQ(Sha(at_b), Sha(ab));
  EXPECT_EQ(Sha(at_a), Sha(ba));
  EXPECT_GT(t.engine_a().counter("tcp_retransmits"), 0u);
  EXPECT_GT(t.engine_a().counter("tcp_tx_tso"), 0u);
  EXPECT_EQ(t.engine_b().counter("tcp_drop_bad_checksum"), 0u);
}

TEST(TcpSim, SimultaneousOpen) {
  engine::ImpairConfig slow;
  slow.delay = engine::Duration::Millis(5);  // both SYNs leave before either arrives
  TwoEngines t(slow);
  const int a = t.a().Socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK);
  const int b = t.b().Socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK);
  ASSERT_EQ(t.a().Bind(a, Ep("192.0.2.1", 5000)), 0);
  ASSERT_EQ(t.b().Bind(b, Ep("192.0.2.2", 6000)), 0);
  ASSERT_EQ(t.a().Connect(a, Ep("192.0.2.2", 6000)), -1);
  ASSERT_EQ(errno, EINPROGRESS);
  ASSERT_EQ(t.b().Connect(b, Ep("192.0.2.1", 5000)), -1);  // before A's SYN is delivered
  ASSERT_EQ(errno, EINPROGRESS);
  ASSERT_TRUE(t.RunUntil(
      [&] {
        Stack::PollFd pa{a, POLLOUT, 0}, pb{b, POLLOUT, 0};
        return t.a().Poll(std::span(&pa, 1), 0) == 1 && t.b().Poll(std::span(&pb, 1), 0) == 1;
      },
      engine::Duration::Seconds(10)));
  int err = -1;
  ASSERT_EQ(t.a().GetSockOpt(a, SOL_SOCKET, SO_ERROR, &err), 0);
  EXPECT_EQ(err, 0);
  std::string at_b, at_a;
  ASSERT_TRUE(Exchange(t, a, b, "from a", "from b", at_b, at_a, engine::Duration::Seconds(10)));
  EXPECT_EQ(at_b, "from a");
  EXPECT_EQ(at_a, "from b");
  EXPECT_EQ(t.engine_a().counter("tcp_opened_passive") + t.engine_b().counter("tcp_opened_passive"), 0u);
}

// RFC 9293 3.6.1 (and RFC 6191's rule): a new SYN for a connection in
// TIME-WAIT with a sequence number past the old one's starts a new
// incarnation instead of being refused.
TEST(TcpSim, TimeWaitIsReusedByANewerSyn) {
  TwoEngines t;
  const int l = t.b().Socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK);
  ASSERT_EQ(t.b().Bind(l, Ep("0.0.0.0", 7)), 0);
  ASSERT_EQ(t.b().Listen(l, 8), 0);
  for (int round = 0; round < 2; ++round) {
    const int c = t.a().Socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK);
    ASSERT_EQ(t.a().SetSockOpt(c, SOL_SOCKET, SO_REUSEADDR, 1), 0);
    ASSERT_EQ(t.a().Bind(c, Ep("192.0.2.1", 40404)), 0);  // the same 4-tuple both rounds
    ASSERT_EQ(t.a().Connect(c, Ep("192.0.2.2", 7)), -1);
    int s = -1;
    ASSERT_TRUE(t.RunUntil(
        [&] {
          if (s < 0) s = t.b().Accept(l, nullptr);
          return s >= 0;
        },
        engine::Duration::Seconds(10)))
        << "round " << round;
    // B closes first, so B's side holds TIME-WAIT.
    std::string at_b, at_a;
    t.b().Shutdown(s, SHUT_WR);
    ASSERT_TRUE(Exchange(t, c, s, "x", "", at_b, at_a, engine::Duration::Seconds(10))) << "round " << round;
    t.a().Close(c);
    t.b().Close(s);
    t.RunFor(engine::Duration::Seconds(1));
    if (round == 0) {
      const auto lines = t.engine_b().TcpSessionReport();
      ASSERT_EQ(lines.size(), 1u);
      EXPECT_NE(lines[0].find("TIME-WAIT"), std::string::npos) << lines[0];
    }
  }
  EXPECT_EQ(t.engine_b().counter("tcp_established"), 2u);
  EXPECT_EQ(t.engine_b().counter("tcp_tx_rst"), 0u);
}

// A hundred megabytes each way at 2% loss, with duplication, reordering and
// corruption.
TEST(TcpSim, HundredMegabytesEachWayAtTwoPercentLoss) {
  engine::ImpairConfig imp;
  imp.loss = 0.02;
  imp.reorder = 0.01;
  imp.dup = 0.005;
  imp.corrupt = 0.001;
  imp.seed = 42;
  TwoEngines t(imp);
  auto [c, s] = Connect(t, "192.0.2.2", 9);
  ASSERT_GE(s, 0);
  const std::string ab = Pattern(100u << 20, 5), ba = Pattern(100u << 20, 6);
  std::string at_b, at_a;
  ASSERT_TRUE(Exchange(t, c, s, ab, ba, at_b, at_a, engine::Duration::Seconds(3600)))
      << "B got " << at_b.size() << ", A got " << at_a.size();
  EXPECT_EQ(Sha(at_b), Sha(ab));
  EXPECT_EQ(Sha(at_a), Sha(ba));
  EXPECT_GT(t.engine_a().counter("tcp_retransmits"), 0u);
}

}  // namespace
}  // namespace ringstack::sockets

namespace ringstack::sockets {
namespace {

// Real threads: both engines started (--poll block), a blocking echo server
// thread on B, a writer and a reader thread on A moving 50 MB through it (5
// under TSan). A watchdog prints where the connections stand after 60 s.
void ThreadedEcho(bool v6) {
  engine::SteadyClock clock;
  auto [la, lb] = engine::SimLink::Pair(clock);
  engine::Config ca = Cfg("02:00:00:00:00:0a", "192.0.2.1/24", "2001:db8::1/64", 1);
  engine::Config cb = Cfg("02:00:00:00:00:0b", "192.0.2.2/24", "2001:db8::2/64", 2);
  ca.ipv6 = cb.ipv6 = v6;
  ca.poll = cb.poll = engine::PollMode::kBlock;
  auto a = std::move(*engine::Engine::CreateWithLink(ca, std::move(la), clock));
  auto b = std::move(*engine::Engine::CreateWithLink(cb, std::move(lb), clock));
  ASSERT_TRUE(a->Start().ok());
  ASSERT_TRUE(b->Start().ok());
  {
    Stack sa(*a), sb(*b);
    if (v6) std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // DAD
    const int family = v6 ? AF_INET6 : AF_INET;
    const int l = sb.Socket(family, SOCK_STREAM);
    ASSERT_EQ(sb.Bind(l, Ep(v6 ? "::" : "0.0.0.0", 7)), 0);
    ASSERT_EQ(sb.Listen(l, 8), 0);
    std::thread server([&] {
      const int s = sb.Accept(l, nullptr);
      ASSERT_GE(s, 0);
      std::vector<std::byte> buf(16384);
      for (;;) {
        const ssize_t n = sb.Recv(s, buf);
        if (n <= 0) break;
        ASSERT_EQ(sb.Send(s, std::span<const std::byte>(buf.data(), static_cast<std::size_t>(n))), n);
      }
      sb.Close(s);
    });
    const int c = sa.Socket(family, SOCK_STREAM);
    ASSERT_EQ(sa.Connect(c, Ep(v6 ? "2001:db8::2" : "192.0.2.2", 7)), 0);
#if defined(__SANITIZE_THREAD__)
    const std::string data = Pattern(5u << 20, 3);  // TSan runs ~10x slower
#else
    const std::string data = Pattern(50u << 20, 3);
#endif
    std::thread writer([&] {
      std::size_t sent = 0;
      while (sent < data.size()) {
        const ssize_t n = sa.Send(c, std::as_bytes(std::span(data).subspan(sent, std::min<std::size_t>(65536, data.size() - sent))));
        ASSERT_GT(n, 0);
        sent += static_cast<std::size_t>(n);
      }
      sa.Shutdown(c, SHUT_WR);
    });
    // A watchdog: if the transfer hangs, say where each connection stands.
    std::atomic<bool> done{false};
    std::thread watchdog([&] {
      for (int i = 0; i < 1200 && !done.load(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (done.load()) return;
      for (auto* e : {a.get(), b.get()}) {
        for (const std::string& line : e->TcpSessionReport()) fprintf(stderr, "%s\n", line.c_str());
      }
    });
    std::string back;
    std::vector<std::byte> buf(65536);
    for (;;) {
      const ssize_t n = sa.Recv(c, buf);
      if (n <= 0) break;
      back.append(reinterpret_cast<const char*>(buf.data()), static_cast<std::size_t>(n));
    }
    done.store(true);
    watchdog.join();
    writer.join();
    server.join();
    EXPECT_EQ(back.size(), data.size());
    EXPECT_EQ(Sha(back), Sha(data));
    if (back != data) {
      std::size_t at = 0;
      while (at < back.size() && at < data.size() && back[at] == data[at]) ++at;
      ADD_FAILURE() << "the echo first differs at byte " << at << " of " << data.size() << " (got " << back.size()
                    << ")";
      a->PrintCounters(stderr);
      fprintf(stderr, "----\n");
      b->PrintCounters(stderr);
    }
    sa.Close(c);
    sb.Close(l);
  }
  a->Stop();
  b->Stop();
}

TEST(TcpThreaded, EchoFiftyMegabytesWithBlockingCalls) { ThreadedEcho(false); }
TEST(TcpThreaded, EchoFiftyMegabytesOverIpv6) { ThreadedEcho(true); }

}  // namespace
}  // namespace ringstack::sockets


namespace ringstack::sockets {
namespace {

using namespace harness;  // NOLINT

// "key=value" from B's one session line.
std::uint32_t SessionField(engine::Engine& e, const std::string& key) {
  const auto lines = e.TcpSessionReport();
  EXPECT_EQ(lines.size(), 1u);
  if (lines.empty()) return 0;
  const std::string& l = lines[0];
  const auto at = l.find(" " + key + "=");
  EXPECT_NE(at, std::string::npos) << key << " in " << l;
  if (at == std::string::npos) return 0;
  return static_cast<std::uint32_t>(std::strtoul(l.c_str() + at + key.size() + 2, nullptr, 10));
}

// A segment "from A" (192.0.2.1, A's MAC) to B, as an attacker on the path
// that can spoof A's address but not see the connection would send it.
std::vector<std::byte> Forged(const proto::tcp::TcpRepr& h, const char* src = "192.0.2.1") {
  using namespace proto;
  const std::size_t tcp_len = h.header_len() + h.payload.size();
  std::vector<std::byte> f(ethernet::EthernetRepr::header_len() + ipv4::Ipv4Repr::header_len() + tcp_len);
  ethernet::EthernetRepr eth{*MacAddress::Parse("02:00:00:00:00:0b"), *MacAddress::Parse("02:00:00:00:00:0a"),
                             ethernet::kEtherTypeIpv4};
  eth.Emit(f);
  const Ipv4Address a = *Ipv4Address::Parse(src), b = *Ipv4Address::Parse("192.0.2.2");
  ipv4::Ipv4Repr ip;
  ip.src = a;
  ip.dst = b;
  ip.protocol = ipv4::kProtoTcp;
  ip.payload_len = static_cast<std::uint16_t>(tcp_len);
  auto rest = std::span(f).subspan(ethernet::EthernetRepr::header_len());
  ip.Emit(rest);
  auto seg = rest.subspan(ipv4::Ipv4Repr::header_len());
  std::copy(h.payload.begin(), h.payload.end(), seg.data() + h.header_len());
  h.EmitHeader(seg, a, b);
  return f;
}

// RFC 5961 and PAWS against blind injections, in process: RSTs and SYNs in
// the window, data with an ACK beyond what was sent, and an old timestamp
// are all refused (challenge ACKs, counted) while the connection carries on
// and no injected byte reaches the application.
TEST(TcpSim, BlindInjectionsAreChallengedAndDropped) {
  TwoEngines t;
  int c = -1, s = -1;  // not a structured binding: clang 14 cannot capture one in a lambda
  std::tie(c, s) = Connect(t, "192.0.2.2", 7);
  ASSERT_GE(s, 0);
  std::string at_b, at_a;
  auto exchange = [&](const std::string& text) {
    ASSERT_EQ(t.a().Send(c, std::as_bytes(std::span(text))), static_cast<ssize_t>(text.size()));
    std::vector<std::byte> buf(4096);
    ASSERT_TRUE(t.RunUntil(
        [&] {
          const ssize_t n = t.b().Recv(s, buf, true);
          if (n > 0) at_b.append(reinterpret_cast<const char*>(buf.data()), static_cast<std::size_t>(n));
          return at_b.size() >= text.size();
        },
        engine::Duration::Seconds(5)));
  };
  exchange("before ");
  Endpoint a_name;
  ASSERT_EQ(t.a().GetSockName(c, &a_name), 0);
  const std::uint32_t rcv_nxt = SessionField(t.engine_b(), "rcv_nxt");
  const std::uint32_t snd_nxt = SessionField(t.engine_b(), "snd_nxt");
  const std::uint32_t ts_recent = SessionField(t.engine_b(), "ts_recent");
  auto base = [&](std::uint8_t flags, std::uint32_t seq, std::uint32_t ack) {
    proto::tcp::TcpRepr h;
    h.src_port = a_name.port;
    h.dst_port = 7;
    h.flags = flags;
    h.seq = proto::tcp::SeqNum(seq);
    h.ack = proto::tcp::SeqNum(ack);
    h.window = 1000;
    h.options.timestamps = proto::tcp::Timestamps{ts_recent + 5, 0};
    return h;
  };
  const std::string evil = "INJECTED";
  auto inject = [&](proto::tcp::TcpRepr h, bool with_data) {
    if (with_data) h.payload = std::as_bytes(std::span(evil));
    t.link_a()->SendBytes(Forged(h));
    t.RunFor(engine::Duration::Millis(5));
  };
  inject(base(proto::tcp::kRst, rcv_nxt + 1000, 0), false);                       // in window, not RCV.NXT
  inject(base(proto::tcp::kSyn, rcv_nxt + 77, 0), false);                         // SYN on a live connection
  inject(base(proto::tcp::kAck | proto::tcp::kPsh, rcv_nxt, snd_nxt + 100'000), true);  // ACK past SND.MAX
  auto old = base(proto::tcp::kAck | proto::tcp::kPsh, rcv_nxt, snd_nxt);
  old.options.timestamps->tsval = ts_recent - 100;  // PAWS: older than TS.Recent
  inject(old, true);
  EXPECT_EQ(t.engine_b().counter("tcp_challenge_acks"), 4u);  // three RFC 5961 answers and PAWS's ACK
  EXPECT_EQ(t.engine_b().counter("tcp_paws_dropped"), 1u);
  // The connection lives on, and only A's own bytes arrived.
  exchange("after");
  EXPECT_EQ(at_b, "before after");
  EXPECT_EQ(t.engine_b().counter("tcp_tx_rst"), 0u);
  // A RST exactly at RCV.NXT does reset it (RFC 5961 3.2).
  inject(base(proto::tcp::kRst, SessionField(t.engine_b(), "rcv_nxt"), 0), false);
  std::vector<std::byte> buf(16);
  EXPECT_EQ(t.b().Recv(s, buf, true), -1);
  EXPECT_EQ(errno, ECONNRESET);
}

// --tcp-max-sessions (issue #10): past the limit a SYN is dropped and
// counted (the client keeps retrying), connect() says ENOBUFS; once
// sessions end, the waiting client gets in.
TEST(TcpSim, SessionLimitDropsSynsAndRefusesConnects) {
  TwoEngines t({}, 1, [](engine::Config& c) {
    if (c.ip4.at(0).itf.address.ToString() == "192.0.2.2") c.tcp_max_sessions = 3;  // B only
    c.tcp_msl = engine::Duration::Millis(500);  // TIME-WAIT ends soon
  });
  const int l = t.b().Socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK);
  ASSERT_EQ(t.b().Bind(l, Ep("0.0.0.0", 8080)), 0);
  ASSERT_EQ(t.b().Listen(l, 16), 0);
  std::vector<int> clients, accepted;
  for (int i = 0; i < 5; ++i) {
    clients.push_back(t.a().Socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK));
    EXPECT_EQ(t.a().Connect(clients.back(), Ep("192.0.2.2", 8080)), -1);
  }
  t.RunFor(engine::Duration::Seconds(2));
  for (int s; (s = t.b().Accept(l, nullptr)) >= 0;) accepted.push_back(s);
  EXPECT_EQ(accepted.size(), 3u);
  EXPECT_GE(t.engine_b().counter("tcp_drop_session_limit"), 2u);
  // B itself cannot open a fourth.
  const int own = t.b().Socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK);
  EXPECT_EQ(t.b().Connect(own, Ep("192.0.2.1", 9)), -1);
  EXPECT_EQ(errno, ENOBUFS);
  EXPECT_EQ(t.engine_b().counter("tcp_session_limit_refused"), 1u);
  t.b().Close(own);
  // Two connections end (both sides close); the clients still retrying get in.
  for (int i = 0; i < 2; ++i) {
    Endpoint peer;
    ASSERT_EQ(t.b().GetPeerName(accepted[i], &peer), 0);
    for (int& c : clients) {
      Endpoint mine;
      if (c >= 0 && t.a().GetSockName(c, &mine) == 0 && mine.port == peer.port) {
        t.a().Close(c);
        c = -1;
      }
    }
    t.b().Close(accepted[i]);
  }
  ASSERT_TRUE(t.RunUntil(
      [&] {
        for (int s; (s = t.b().Accept(l, nullptr)) >= 0;) accepted.push_back(s);
        return accepted.size() >= 5;
      },
      engine::Duration::Seconds(30)));
  EXPECT_EQ(accepted.size(), 5u);
  for (std::size_t i = 2; i < accepted.size(); ++i) t.b().Close(accepted[i]);
  for (int c : clients) {
    if (c >= 0) t.a().Close(c);
  }
  t.b().Close(l);
}

// --tcp-max-half-open (issue #10): handshakes in SYN-RECEIVED past the
// limit are answered with cookies (no state), so a real client still gets
// in while half-open ones from a silent source hold their places.
TEST(TcpSim, HalfOpenLimitAnswersWithCookies) {
  TwoEngines t({}, 1, [](engine::Config& c) { c.tcp_max_half_open = 4; });  // A never has a half-open one
  const int l = t.b().Socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK);
  ASSERT_EQ(t.b().Bind(l, Ep("0.0.0.0", 8080)), 0);
  ASSERT_EQ(t.b().Listen(l, 128), 0);
  // Ten SYNs from 192.0.2.77, which never answers (its SYN-ACKs wait on ARP).
  for (std::uint16_t port = 1000; port < 1010; ++port) {
    proto::tcp::TcpRepr syn;
    syn.src_port = port;
    syn.dst_port = 8080;
    syn.flags = proto::tcp::kSyn;
    syn.seq = proto::tcp::SeqNum(12345u * port);
    syn.window = 65535;
    t.link_a()->SendBytes(Forged(syn, "192.0.2.77"));
  }
  t.RunFor(engine::Duration::Millis(10));
  EXPECT_EQ(t.engine_b().counter("tcp_half_open_limit"), 6u);
  EXPECT_EQ(t.engine_b().counter("tcp_syncookies_sent"), 6u);
  // A real client: past the limit too, so by cookie; it connects and talks.
  const int c = t.a().Socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK);
  EXPECT_EQ(t.a().Connect(c, Ep("192.0.2.2", 8080)), -1);
  int s = -1;
  ASSERT_TRUE(t.RunUntil(
      [&] {
        if (s < 0) s = t.b().Accept(l, nullptr);
        return s >= 0;
      },
      engine::Duration::Seconds(10)));
  EXPECT_EQ(t.engine_b().counter("tcp_syncookies_ok"), 1u);
  std::string at_b, at_a;
  ASSERT_TRUE(Exchange(t, c, s, Pattern(100'000, 1), Pattern(100'000, 2), at_b, at_a, engine::Duration::Seconds(30)));
  EXPECT_EQ(Sha(at_b), Sha(Pattern(100'000, 1)));
  t.a().Close(c);
  t.b().Close(s);
  t.b().Close(l);
}

// A listener whose backlog is full answers with SYN cookies: the
// connection its ACK returns is made statelessly (once the accept queue has
// room), with the options the cookie carried, and carries data.
TEST(TcpSim, SynCookiesWhenTheBacklogIsFull) {
  TwoEngines t;
  const int l = t.b().Socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK);
  ASSERT_EQ(t.b().Bind(l, Ep("0.0.0.0", 8080)), 0);
  ASSERT_EQ(t.b().Listen(l, 1), 0);
  int c[2];
  for (int i = 0; i < 2; ++i) {
    c[i] = t.a().Socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK);
    EXPECT_EQ(t.a().Connect(c[i], Ep("192.0.2.2", 8080)), -1);
    ASSERT_TRUE(t.RunUntil(
        [&] {
          Stack::PollFd p{c[i], POLLOUT, 0};
          return t.a().Poll(std::span(&p, 1), 0) == 1;
        },
        engine::Duration::Seconds(10)));
  }
  // The second handshake went by cookie; its ACK found the queue full.
  EXPECT_EQ(t.engine_b().counter("tcp_syncookies_sent"), 1u);
  EXPECT_GE(t.engine_b().counter("tcp_accept_queue_full"), 1u);
  const std::string text = "through a cookie";
  ASSERT_EQ(t.a().Send(c[1], std::as_bytes(std::span(text))), static_cast<ssize_t>(text.size()));
  const int s0 = t.b().Accept(l, nullptr);
  ASSERT_GE(s0, 0);
  // A retransmits; now there is room: the cookie makes the connection.
  int s1 = -1;
  ASSERT_TRUE(t.RunUntil(
      [&] {
        if (s1 < 0) s1 = t.b().Accept(l, nullptr);
        return s1 >= 0;
      },
      engine::Duration::Seconds(10)));
  EXPECT_EQ(t.engine_b().counter("tcp_syncookies_ok"), 1u);
  std::string got;
  std::vector<std::byte> buf(4096);
  ASSERT_TRUE(t.RunUntil(
      [&] {
        const ssize_t n = t.b().Recv(s1, buf, true);
        if (n > 0) got.append(reinterpret_cast<const char*>(buf.data()), static_cast<std::size_t>(n));
        return got.size() >= text.size();
      },
      engine::Duration::Seconds(10)));
  EXPECT_EQ(got, text);
  // The options came through the cookie (timestamps, SACK, window scale).
  bool found = false;
  for (const std::string& line : t.engine_b().TcpSessionReport()) {
    if (line.find(":8080 ") == std::string::npos || line.find("ESTABLISHED") == std::string::npos) continue;
    EXPECT_NE(line.find(" ts=1 sack=1 wscale="), std::string::npos) << line;
    found = true;
  }
  EXPECT_TRUE(found);
  // And a big transfer over it goes both ways.
  std::string at_b, at_a;
  const std::string ab = Pattern(2'000'000, 5), ba = Pattern(500'000, 6);
  ASSERT_TRUE(Exchange(t, c[1], s1, ab, ba, at_b, at_a, engine::Duration::Seconds(60)));
  EXPECT_EQ(Sha(at_b), Sha(ab));
  EXPECT_EQ(Sha(at_a), Sha(ba));
}

}  // namespace
}  // namespace ringstack::sockets

namespace ringstack::sockets {
namespace {

using namespace harness;  // NOLINT

// TCP_CONGESTION: by name, per socket, inherited by accepted connections,
// switched on a live one; an unknown name is ENOENT, as on Linux.
TEST(TcpSim, CongestionControlChosenPerSocket) {
  TwoEngines t;
  const int probe = t.a().Socket(AF_INET, SOCK_STREAM);
  std::string name;
  ASSERT_EQ(t.a().GetCongestion(probe, name), 0);
  EXPECT_EQ(name, "cubic");  // the engine's --tcp-cc
  EXPECT_EQ(t.a().SetCongestion(probe, "vegas"), -1);
  EXPECT_EQ(errno, ENOENT);
  ASSERT_EQ(t.a().SetCongestion(probe, "newreno"), 0);
  ASSERT_EQ(t.a().GetCongestion(probe, name), 0);
  EXPECT_EQ(name, "newreno");
  t.a().Close(probe);
  // A listener's choice goes to what it accepts.
  const int l = t.b().Socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK);
  ASSERT_EQ(t.b().SetCongestion(l, "newreno"), 0);
  ASSERT_EQ(t.b().Bind(l, Ep("0.0.0.0", 7000)), 0);
  ASSERT_EQ(t.b().Listen(l, 4), 0);
  const int c = t.a().Socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK);
  t.a().Connect(c, Ep("192.0.2.2", 7000));
  int s = -1;
  ASSERT_TRUE(t.RunUntil(
      [&] {
        if (s < 0) s = t.b().Accept(l, nullptr);
        return s >= 0;
      },
      engine::Duration::Seconds(5)));
  ASSERT_EQ(t.b().GetCongestion(s, name), 0);
  EXPECT_EQ(name, "newreno");
  auto cc_of = [&](engine::Engine& e) {
    const auto lines = e.TcpSessionReport();
    return lines.size() == 1 && lines[0].find(" cc=newreno ") != std::string::npos ? "newreno"
           : lines.size() == 1 && lines[0].find(" cc=cubic ") != std::string::npos ? "cubic"
                                                                                  : "?";
  };
  EXPECT_STREQ(cc_of(t.engine_b()), "newreno");
  EXPECT_STREQ(cc_of(t.engine_a()), "cubic");
  // Switched on the live connection (A's side), keeping it working.
  ASSERT_EQ(t.a().SetCongestion(c, "newreno"), 0);
  t.RunFor(engine::Duration::Millis(5));
  EXPECT_STREQ(cc_of(t.engine_a()), "newreno");
  std::string at_b, at_a;
  const std::string ab = Pattern(300'000, 9);
  ASSERT_TRUE(Exchange(t, c, s, ab, "", at_b, at_a, engine::Duration::Seconds(30)));
  EXPECT_EQ(Sha(at_b), Sha(ab));
}

}  // namespace
}  // namespace ringstack::sockets
