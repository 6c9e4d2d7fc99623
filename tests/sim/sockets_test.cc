// The socket API (sockets/api.h) over an in-process engine: UDP over IPv4 and
// IPv6, every errno path this slice has, blocking and non-blocking receive,
// ICMP port unreachable as ECONNREFUSED, and a blocked receiver woken by a
// datagram or by close from another thread.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "engine/engine.h"
#include "engine/link/sim.h"
#include "engine/runner.h"
#include "gtest/gtest.h"
#include "protocols/common/checksum.h"
#include "protocols/ethernet/ethernet_repr.h"
#include "protocols/icmpv4/icmpv4_repr.h"
#include "protocols/ipv4/ipv4_repr.h"
#include "protocols/udp/udp_repr.h"
#include "sockets/api.h"
#include "sockets/c_api.h"
#include "tests/vectors/vectors.h"

namespace ringstack::sockets {
namespace {

using Frame = std::vector<std::byte>;
namespace proto = ringstack::proto;

template <std::size_t N>
Frame Vec(const unsigned char (&a)[N]) {
  Frame v(N);
  std::memcpy(v.data(), a, N);
  return v;
}

Endpoint Ep(const char* addr, std::uint16_t port) { return Endpoint{*proto::IpAddress::Parse(addr), port}; }
std::span<const std::byte> Bytes(const std::string& s) { return std::as_bytes(std::span(s)); }

const proto::MacAddress kOurMac = *proto::MacAddress::Parse("02:00:00:00:00:01");
const proto::MacAddress kPeerMac = *proto::MacAddress::Parse("52:54:00:12:34:56");

engine::Config TestConfig() {
  engine::RawFlags f;
  f.tap = "sim0";
  f.mac = "02:00:00:00:00:01";
  f.ip4 = "192.0.2.2/24";
  f.acd = "off";
  f.ipv6 = "off";
  return *engine::ParseConfig(f, 1);
}

// A UDP/IPv4 frame from the peer (192.0.2.1) to us.
Frame UdpFrame(std::uint16_t sport, std::uint16_t dport, const std::string& payload) {
  const proto::Ipv4Address src(0xc0000201), dst(0xc0000202);
  Frame f(14 + 20 + 8 + payload.size());
  proto::ethernet::EthernetRepr{kOurMac, kPeerMac, proto::ethernet::kEtherTypeIpv4}.Emit(std::span(f).first(14));
  proto::ipv4::Ipv4Repr ip;
  ip.src = src;
  ip.dst = dst;
  ip.protocol = proto::ipv4::kProtoUdp;
  ip.payload_len = static_cast<std::uint16_t>(8 + payload.size());
  ip.Emit(std::span(f).subspan(14, 20));
  std::memcpy(f.data() + 42, payload.data(), payload.size());
  proto::udp::UdpRepr{sport, dport, {}}.EmitHeader(std::span(f).subspan(34), src, dst);
  return f;
}

class SimStack {
 public:
  SimStack() {
    auto [peer, mine] = engine::SimLink::Pair(clock_);
    peer_ = std::move(peer);
    engine_ = std::move(*engine::Engine::CreateWithLink(TestConfig(), std::move(mine), clock_));
    runner_ = std::make_unique<engine::SimRunner>(engine_->stages(), clock_,
                                                  std::vector<rings::PacketPool*>{&engine_->pool()});
    stack_ = std::make_unique<Stack>(*engine_, [this] { runner_->Settle(); });
    peer_->SendBytes(Vec(vectors::kArpRequest));  // the engine learns the peer
    Run();
  }
  ~SimStack() {
    stack_.reset();
    runner_.reset();
    engine_.reset();
  }
  Stack& api() { return *stack_; }
  void Send(const Frame& f) { peer_->SendBytes(f); }
  std::vector<Frame> Run() {
    runner_->Settle();
    std::vector<Frame> out;
    while (auto f = peer_->ReceiveBytes()) out.push_back(std::move(*f));
    return out;
  }
  std::uint64_t Count(std::string_view name) const { return engine_->counter(name); }

 private:
  engine::VirtualClock clock_;
  std::unique_ptr<engine::SimLink> peer_;
  std::unique_ptr<engine::Engine> engine_;
  std::unique_ptr<engine::SimRunner> runner_;
  std::unique_ptr<Stack> stack_;
};

// A started engine on real threads (--poll block) with the test as its peer.
struct ThreadedEngine {
  ThreadedEngine() {
    auto [p, mine] = engine::SimLink::Pair(clock);
    peer = std::move(p);
    engine::Config c = TestConfig();
    c.poll = engine::PollMode::kBlock;
    engine = std::move(*engine::Engine::CreateWithLink(c, std::move(mine), clock));
    EXPECT_TRUE(engine->Start().ok());
  }
  engine::SteadyClock clock;
  std::unique_ptr<engine::SimLink> peer;
  std::unique_ptr<engine::Engine> engine;
};

TEST(Sockets, BindErrors) {
  SimStack sim;
  Stack& api = sim.api();
  EXPECT_EQ(api.Socket(AF_UNIX, SOCK_DGRAM), -1);
  EXPECT_EQ(errno, EAFNOSUPPORT);
  EXPECT_EQ(api.Socket(AF_INET, SOCK_RAW), -1);
  EXPECT_EQ(errno, EPROTONOSUPPORT);
  const int a = api.Socket(AF_INET, SOCK_DGRAM);
  const int b = api.Socket(AF_INET, SOCK_DGRAM);
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  EXPECT_EQ(api.Bind(a, Ep("192.0.2.2", 7)), 0);
  EXPECT_EQ(api.Bind(a, Ep("192.0.2.2", 8)), -1);
  EXPECT_EQ(errno, EINVAL);  // already bound
  EXPECT_EQ(api.Bind(b, Ep("0.0.0.0", 7)), -1);
  EXPECT_EQ(errno, EADDRINUSE);
  EXPECT_EQ(api.Bind(b, Ep("192.0.2.9", 9)), -1);
  EXPECT_EQ(errno, EADDRNOTAVAIL);  // not our address
  EXPECT_EQ(api.Bind(b, Ep("2001:db8::2", 9)), -1);
  EXPECT_EQ(errno, EAFNOSUPPORT);
  Endpoint name;
  ASSERT_EQ(api.GetSockName(a, &name), 0);
  EXPECT_EQ(name, Ep("192.0.2.2", 7));
  EXPECT_EQ(api.GetPeerName(a, &name), -1);
  EXPECT_EQ(errno, ENOTCONN);
  EXPECT_EQ(api.Send(a, Bytes("x")), -1);
  EXPECT_EQ(errno, EDESTADDRREQ);
  EXPECT_EQ(api.Close(a), 0);
  EXPECT_EQ(api.Close(a), -1);
  EXPECT_EQ(errno, EBADF);
  EXPECT_EQ(api.Bind(b, Ep("0.0.0.0", 7)), 0);  // free after close
}

TEST(Sockets, ReceiveFromThePeerAndAnswerIt) {
  SimStack sim;
  Stack& api = sim.api();
  const int s = api.Socket(AF_INET, SOCK_DGRAM);
  ASSERT_EQ(api.Bind(s, Ep("0.0.0.0", 7)), 0);
  std::byte buf[64];
  Endpoint from;
  EXPECT_EQ(api.RecvFrom(s, buf, &from, /*dontwait=*/true), -1);
  EXPECT_EQ(errno, EAGAIN);
  sim.Send(UdpFrame(5000, 7, "hello, ringstack"));
  sim.Run();
  const ssize_t n = api.RecvFrom(s, buf, &from);
  ASSERT_EQ(n, 16);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(buf), 16), "hello, ringstack");
  EXPECT_EQ(from, Ep("192.0.2.1", 5000));
  // Echo it back: a UDP datagram from port 7 to 5000 with a valid checksum.
  ASSERT_EQ(api.SendTo(s, std::span<const std::byte>(buf, 16), &from), 16);
  const auto out = sim.Run();
  ASSERT_EQ(out.size(), 1u);
  const Frame& f = out[0];
  const auto ip = proto::ipv4::Ipv4Repr::Parse(std::span(f).subspan(14));
  ASSERT_TRUE(ip.ok());
  EXPECT_EQ(ip->dst.ToString(), "192.0.2.1");
  const auto udp = proto::udp::UdpRepr::Parse(std::span(f).subspan(34, ip->payload_len), ip->src, ip->dst);
  ASSERT_TRUE(udp.ok());
  EXPECT_EQ(udp->src_port, 7);
  EXPECT_EQ(udp->dst_port, 5000);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(udp->payload.data()), udp->payload.size()),
            "hello, ringstack");
  EXPECT_EQ(sim.Count("udp_rx_delivered"), 1u);
  EXPECT_EQ(sim.Count("udp_tx"), 1u);
}

TEST(Sockets, TruncationAndImplicitBind) {
  SimStack sim;
  Stack& api = sim.api();
  const int s = api.Socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK);
  // sendto on an unbound socket binds it to an ephemeral port.
  const Endpoint peer = Ep("192.0.2.1", 9999);
  ASSERT_EQ(api.SendTo(s, Bytes("ping"), &peer), 4);
  Endpoint name;
  ASSERT_EQ(api.GetSockName(s, &name), 0);
  EXPECT_GE(name.port, 49152);
  sim.Run();
  sim.Send(UdpFrame(9999, name.port, "a longer answer"));
  sim.Run();
  std::byte small[4];
  EXPECT_EQ(api.RecvFrom(s, small, nullptr), 4);  // the rest of the datagram is gone
  EXPECT_EQ(api.RecvFrom(s, small, nullptr), -1);
  EXPECT_EQ(errno, EAGAIN);
}

TEST(Sockets, PortUnreachableIsConnRefusedOnAConnectedSocket) {
  SimStack sim;
  Stack& api = sim.api();
  const int s = api.Socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK);
  ASSERT_EQ(api.Connect(s, Ep("192.0.2.1", 9)), 0);
  ASSERT_EQ(api.Send(s, Bytes("anyone?")), 7);
  const auto out = sim.Run();
  ASSERT_EQ(out.size(), 1u);
  // The peer answers with ICMP port unreachable quoting our datagram.
  const Frame& sent = out[0];
  Frame icmp(14 + 20 + 8 + 28);
  proto::ethernet::EthernetRepr{kOurMac, kPeerMac, proto::ethernet::kEtherTypeIpv4}.Emit(std::span(icmp).first(14));
  proto::ipv4::Ipv4Repr ip;
  ip.src = proto::Ipv4Address(0xc0000201);
  ip.dst = proto::Ipv4Address(0xc0000202);
  ip.protocol = proto::ipv4::kProtoIcmp;
  ip.payload_len = 8 + 28;
  ip.Emit(std::span(icmp).subspan(14, 20));
  std::memcpy(icmp.data() + 42, sent.data() + 14, 28);
  proto::icmpv4::Icmpv4Repr err;
  err.type = 3;
  err.code = 3;
  err.data = std::span(icmp).subspan(42);
  err.EmitHeader(std::span(icmp).subspan(34));
  sim.Send(icmp);
  sim.Run();
  std::byte buf[16];
  EXPECT_EQ(api.RecvFrom(s, buf, nullptr), -1);
  EXPECT_EQ(errno, ECONNREFUSED);
  EXPECT_EQ(api.RecvFrom(s, buf, nullptr), -1);
  EXPECT_EQ(errno, EAGAIN);  // reported once
}

TEST(Sockets, NoSocketMeansPortUnreachableAndAConnectedSocketFilters) {
  SimStack sim;
  Stack& api = sim.api();
  sim.Send(UdpFrame(5000, 4444, "nobody"));
  auto out = sim.Run();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(static_cast<unsigned>(out[0][34]), 3u);  // ICMP destination unreachable
  const int s = api.Socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK);
  ASSERT_EQ(api.Bind(s, Ep("0.0.0.0", 4444)), 0);
  ASSERT_EQ(api.Connect(s, Ep("192.0.2.1", 6000)), 0);
  sim.Send(UdpFrame(5000, 4444, "not from the peer"));  // other source port
  out = sim.Run();
  std::byte buf[32];
  EXPECT_EQ(api.RecvFrom(s, buf, nullptr), -1);
  EXPECT_EQ(errno, EAGAIN);
  sim.Send(UdpFrame(6000, 4444, "from the peer"));
  sim.Run();
  EXPECT_EQ(api.RecvFrom(s, buf, nullptr), 13);
}

TEST(Sockets, IcmpEchoSocketPingsAndGetsItsReply) {
  SimStack sim;
  Stack& api = sim.api();
  const int s = api.Socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, IPPROTO_ICMP);
  ASSERT_GE(s, 0);
  Endpoint name;
  ASSERT_EQ(api.GetSockName(s, &name), 0);
  const std::uint16_t ident = name.port;
  EXPECT_EQ(api.Bind(s, Ep("0.0.0.0", 1)), -1);
  EXPECT_EQ(errno, EOPNOTSUPP);
  const Endpoint peer = Ep("192.0.2.1", 0);
  EXPECT_EQ(api.SendTo(s, Bytes("not an echo"), &peer), -1);
  EXPECT_EQ(errno, EINVAL);
  // An echo request: the engine fills in the identifier and the checksum.
  const unsigned char req[] = {8, 0, 0, 0, 0, 0, 0, 7, 'p', 'i', 'n', 'g'};
  ASSERT_EQ(api.SendTo(s, std::as_bytes(std::span(req)), &peer), 12);
  auto out = sim.Run();
  ASSERT_EQ(out.size(), 1u);
  Frame& f = out[0];
  EXPECT_EQ(static_cast<unsigned>(f[34]), 8u);
  EXPECT_EQ(proto::LoadBe16(f.data() + 38), ident);
  EXPECT_TRUE(proto::ChecksumOk(std::span(f).subspan(34)));
  // The peer's reply comes back to this socket; another identifier does not.
  Frame reply = f;
  std::swap_ranges(reply.begin(), reply.begin() + 6, reply.begin() + 6);
  std::swap_ranges(reply.begin() + 26, reply.begin() + 30, reply.begin() + 30);
  reply[34] = std::byte{0};
  proto::StoreBe16(reply.data() + 36, 0);
  proto::StoreBe16(reply.data() + 36, proto::InternetChecksum(std::span(reply).subspan(34)));
  proto::StoreBe16(reply.data() + 24, 0);
  proto::StoreBe16(reply.data() + 24, proto::InternetChecksum(std::span(reply).subspan(14, 20)));
  Frame other = reply;
  proto::StoreBe16(other.data() + 38, static_cast<std::uint16_t>(ident + 1));
  proto::StoreBe16(other.data() + 36, 0);
  proto::StoreBe16(other.data() + 36, proto::InternetChecksum(std::span(other).subspan(34)));
  sim.Send(other);
  sim.Send(reply);
  sim.Run();
  std::byte buf[64];
  Endpoint from;
  const ssize_t n = api.RecvFrom(s, buf, &from);
  ASSERT_EQ(n, 12);
  EXPECT_EQ(static_cast<unsigned>(buf[0]), 0u);  // echo reply
  EXPECT_EQ(proto::LoadBe16(buf + 6), 7u);      // our sequence number
  EXPECT_EQ(from.addr.ToString(), "192.0.2.1");
  EXPECT_EQ(api.RecvFrom(s, buf, &from), -1);  // the other identifier's reply was not ours
  EXPECT_EQ(errno, EAGAIN);
}

TEST(Sockets, PollReadinessEdges) {
  SimStack sim;
  Stack& api = sim.api();
  const int a = api.Socket(AF_INET, SOCK_DGRAM);
  const int b = api.Socket(AF_INET, SOCK_DGRAM);
  ASSERT_EQ(api.Bind(a, Ep("0.0.0.0", 7)), 0);
  ASSERT_EQ(api.Bind(b, Ep("0.0.0.0", 9)), 0);
  Stack::PollFd fds[] = {{a, POLLIN, 0}, {b, POLLIN | POLLOUT, 0}, {99, POLLIN, 0}};
  EXPECT_EQ(api.Poll(fds, 0), 2);  // b writable, 99 invalid
  EXPECT_EQ(fds[0].revents, 0);
  EXPECT_EQ(fds[1].revents, POLLOUT);
  EXPECT_EQ(fds[2].revents, POLLNVAL);
  sim.Send(UdpFrame(5000, 7, "for a"));
  sim.Run();
  Stack::PollFd in[] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
  EXPECT_EQ(api.Poll(in, 0), 1);
  EXPECT_EQ(in[0].revents, POLLIN);
  EXPECT_EQ(in[1].revents, 0);
  std::byte buf[16];
  ASSERT_EQ(api.RecvFrom(a, buf, nullptr), 5);
  EXPECT_EQ(api.Poll(in, 0), 0);  // drained: not readable any more
  EXPECT_GE(api.EventFd(a), 0);
  EXPECT_EQ(api.EventFd(99), -1);
}

// The C face: the same calls with sockaddr structures.
TEST(Sockets, CApiMirrorsPosix) {
  rs_attach(nullptr);
  EXPECT_EQ(rs_socket(AF_INET, SOCK_DGRAM, 0), -1);
  EXPECT_EQ(errno, ENETDOWN);  // no stack attached
  SimStack sim;
  rs_attach(&sim.api());
  const int fd = rs_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in any{};
  any.sin_family = AF_INET;
  any.sin_port = htons(7);
  ASSERT_EQ(rs_bind(fd, reinterpret_cast<sockaddr*>(&any), sizeof(any)), 0);
  sockaddr_in name{};
  socklen_t len = sizeof(name);
  ASSERT_EQ(rs_getsockname(fd, reinterpret_cast<sockaddr*>(&name), &len), 0);
  EXPECT_EQ(len, sizeof(sockaddr_in));
  EXPECT_EQ(ntohs(name.sin_port), 7);
  char buf[32];
  EXPECT_EQ(rs_recv(fd, buf, sizeof(buf), 0), -1);
  EXPECT_EQ(errno, EAGAIN);
  sim.Send(UdpFrame(5000, 7, "via C"));
  sim.Run();
  sockaddr_in from{};
  len = sizeof(from);
  ASSERT_EQ(rs_recvfrom(fd, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &len), 5);
  EXPECT_EQ(std::string(buf, 5), "via C");
  EXPECT_EQ(ntohs(from.sin_port), 5000);
  EXPECT_EQ(ntohl(from.sin_addr.s_addr), 0xc0000201u);
  ASSERT_EQ(rs_sendto(fd, buf, 5, 0, reinterpret_cast<sockaddr*>(&from), len), 5);
  EXPECT_EQ(sim.Run().size(), 1u);
  sockaddr bad{};
  bad.sa_family = AF_UNIX;
  EXPECT_EQ(rs_connect(fd, &bad, sizeof(bad)), -1);
  EXPECT_EQ(errno, EAFNOSUPPORT);
  EXPECT_EQ(rs_close(fd), 0);
  EXPECT_EQ(rs_close(fd), -1);
  EXPECT_EQ(errno, EBADF);
  rs_attach(nullptr);
}

// Threads: poll() sleeps until a datagram comes for one of its sockets.
TEST(Sockets, PollWakesOnData) {
  ThreadedEngine threaded;
  auto& peer = threaded.peer;
  auto& eng = threaded.engine;
  {
    Stack api(*eng);
    const int a = api.Socket(AF_INET, SOCK_DGRAM);
    const int b = api.Socket(AF_INET, SOCK_DGRAM);
    ASSERT_EQ(api.Bind(a, Ep("0.0.0.0", 7)), 0);
    ASSERT_EQ(api.Bind(b, Ep("0.0.0.0", 9)), 0);
    std::thread sender([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      peer->SendBytes(UdpFrame(5000, 9, "for b"));
    });
    Stack::PollFd fds[] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(api.Poll(fds, 5000), 1);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
    EXPECT_EQ(fds[1].revents, POLLIN);
    sender.join();
    api.Close(a);
    api.Close(b);
  }
  eng->Stop();
}

// Threads: a receiver blocked in RecvFrom is woken by a datagram, and
// another by close.
TEST(Sockets, BlockingReceiveWakesOnDataAndOnClose) {
  ThreadedEngine threaded;
  auto& peer = threaded.peer;
  auto& eng = threaded.engine;
  {
    Stack api(*eng);
    const int s = api.Socket(AF_INET, SOCK_DGRAM);
    ASSERT_EQ(api.Bind(s, Ep("0.0.0.0", 7)), 0);
    ssize_t got = 0;
    std::thread receiver([&] {
      std::byte buf[64];
      got = api.RecvFrom(s, buf, nullptr);
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    peer->SendBytes(UdpFrame(5000, 7, "wake up"));
    receiver.join();
    EXPECT_EQ(got, 7);
    int err = 0;
    std::thread blocked([&] {
      std::byte buf[64];
      if (api.RecvFrom(s, buf, nullptr) == -1) err = errno;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(api.Close(s), 0);
    blocked.join();
    EXPECT_EQ(err, EBADF);
  }
  eng->Stop();
}

// Eight application threads hammer sendto/recvfrom — six on sockets of their
// own, two sharing one — against a peer that reflects every UDP datagram;
// every datagram comes back or is counted as dropped, and nothing races (the
// TSan build runs this too).
TEST(Sockets, EightThreadsHammerSendAndReceive) {
  ThreadedEngine threaded;
  auto& peer = threaded.peer;
  auto& eng = threaded.engine;
  peer->SendBytes(Vec(vectors::kArpRequest));  // teaches the engine the peer's MAC
  std::atomic<bool> stop{false};
  std::thread reflector([&] {  // the peer: swap addresses and ports, send back
    while (!stop.load()) {
      auto f = peer->ReceiveBytes();
      if (!f) {
        std::this_thread::yield();
        continue;
      }
      Frame& b = *f;
      if (b.size() < 42 || proto::LoadBe16(b.data() + 12) != 0x0800 || static_cast<unsigned>(b[23]) != 17) continue;
      std::swap_ranges(b.begin(), b.begin() + 6, b.begin() + 6);
      std::swap_ranges(b.begin() + 26, b.begin() + 30, b.begin() + 30);
      std::swap_ranges(b.begin() + 34, b.begin() + 36, b.begin() + 36);  // checksums are sums: still valid
      peer->SendBytes(b);
    }
  });
  {
    Stack api(*eng);
    constexpr int kPerThread = 300;
    const int shared = api.Socket(AF_INET, SOCK_DGRAM);
    ASSERT_EQ(api.Bind(shared, Ep("0.0.0.0", 0)), 0);
    std::atomic<int> sent{0}, got{0}, failed{0}, senders_done{0};
    auto dropped = [&] {
      return eng->counter("udp_drop_rcvbuf_full") + eng->counter("rx_ring0_full_drop") +
             eng->counter("tx_ring_full_drop") + eng->counter("rx_no_buffer_drop");
    };
    // Done when every sender has finished and every datagram is accounted for.
    auto settled = [&] {
      return senders_done.load() == 8 &&
             static_cast<std::uint64_t>(got.load()) + dropped() >= static_cast<std::uint64_t>(sent.load());
    };
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    auto drain = [&](int s) {
      std::byte buf[64];
      while (!settled() && std::chrono::steady_clock::now() < deadline) {
        if (api.RecvFrom(s, buf, nullptr, /*dontwait=*/true) > 0) {
          got.fetch_add(1);
        } else {
          std::this_thread::sleep_for(std::chrono::microseconds(50));
        }
      }
    };
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&, t] {
        const bool share = t >= 6;
        const int s = share ? shared : api.Socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK);
        const Endpoint to = Ep("192.0.2.1", static_cast<std::uint16_t>(7000 + t));
        std::byte buf[64];
        for (int i = 0; i < kPerThread; ++i) {
          const std::string msg = "thread " + std::to_string(t) + " datagram " + std::to_string(i);
          if (api.SendTo(s, Bytes(msg), &to) == static_cast<ssize_t>(msg.size())) {
            sent.fetch_add(1);
          } else {
            failed.fetch_add(1);  // EAGAIN: the send ring is full (non-blocking)
          }
          if (!share && api.RecvFrom(s, buf, nullptr, /*dontwait=*/true) > 0) got.fetch_add(1);
        }
        senders_done.fetch_add(1);
        if (!share) {
          drain(s);
          api.Close(s);
        }
      });
    }
    api.SetNonBlocking(shared, true);
    drain(shared);  // the shared socket's echoes, read by this thread
    for (auto& t : threads) t.join();
    api.Close(shared);
    // Every datagram sent came back or was counted as dropped on the way.
    EXPECT_EQ(static_cast<std::uint64_t>(got.load()) + dropped(), static_cast<std::uint64_t>(sent.load()));
    EXPECT_EQ(sent.load() + failed.load(), 8 * kPerThread);
    EXPECT_GT(got.load(), 8 * kPerThread / 2);

  }
  stop.store(true);
  reflector.join();
  eng->Stop();
}

}  // namespace
}  // namespace ringstack::sockets
