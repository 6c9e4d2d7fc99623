// The socket API (sockets/api.h) over an in-process engine: UDP over IPv4 and
// IPv6, every errno path this slice has, blocking and non-blocking receive,
// ICMP port unreachable as ECONNREFUSED, and a blocked receiver woken by a
// datagram or by close from another thread.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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
#include "engine/steering.h"
#include "gtest/gtest.h"
#include "protocols/common/checksum.h"
#include "protocols/arp/arp_repr.h"
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

engine::Config TestConfig(int workers = 1) {
  engine::RawFlags f;
  f.tap = "sim0";
  f.mac = "02:00:00:00:00:01";
  f.ip4 = "192.0.2.2/24";
  f.acd = "off";
  f.ipv6 = "off";
  f.workers = workers;
  return *engine::ParseConfig(f, 1);
}

// The first port from `from` up that UDP steering gives to `shard` of `workers`.
std::uint16_t PortOnShard(int shard, int workers, std::uint16_t from = 7000) {
  std::uint16_t p = from;
  while (engine::ShardForUdpPort(p, workers) != shard) ++p;
  return p;
}

// A UDP/IPv4 frame from the peer (192.0.2.1) to us, or to `dst` (a
// broadcast or group address: the frame goes to its MAC).
Frame UdpFrame(std::uint16_t sport, std::uint16_t dport, const std::string& payload,
               proto::Ipv4Address dst = proto::Ipv4Address(0xc0000202)) {
  const proto::Ipv4Address src(0xc0000201);
  const proto::MacAddress to = dst == proto::Ipv4Address(0xc0000202) ? kOurMac
                               : dst.IsMulticast()                  ? proto::MulticastMac(dst)
                                                                    : proto::MacAddress::Broadcast();
  Frame f(14 + 20 + 8 + payload.size());
  proto::ethernet::EthernetRepr{to, kPeerMac, proto::ethernet::kEtherTypeIpv4}.Emit(std::span(f).first(14));
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

// The peer's ICMP port unreachable about `sent` (a frame we sent it).
Frame PortUnreachableFor(const Frame& sent) {
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
  return icmp;
}

// A UDP/IPv4 datagram from the peer to us in two fragments (the first
// carrying the UDP header and `split` payload bytes).
std::vector<Frame> FragmentedUdp(std::uint16_t sport, std::uint16_t dport, const std::string& payload,
                                 std::size_t split) {
  const proto::Ipv4Address src(0xc0000201), dst(0xc0000202);
  std::vector<std::byte> udp(8 + payload.size());
  std::memcpy(udp.data() + 8, payload.data(), payload.size());
  proto::udp::UdpRepr{sport, dport, {}}.EmitHeader(udp, src, dst);
  std::vector<Frame> frames;
  for (const auto& [off, len] : {std::pair<std::size_t, std::size_t>{0, 8 + split},
                                {8 + split, payload.size() - split}}) {
    Frame f(14 + 20 + len);
    proto::ethernet::EthernetRepr{kOurMac, kPeerMac, proto::ethernet::kEtherTypeIpv4}.Emit(std::span(f).first(14));
    proto::ipv4::Ipv4Repr ip;
    ip.src = src;
    ip.dst = dst;
    ip.protocol = proto::ipv4::kProtoUdp;
    ip.ident = 0x4242;
    ip.frag_offset = static_cast<std::uint32_t>(off);
    ip.mf = off == 0;
    ip.payload_len = static_cast<std::uint16_t>(len);
    ip.Emit(std::span(f).subspan(14, 20));
    std::memcpy(f.data() + 34, udp.data() + off, len);
    frames.push_back(std::move(f));
  }
  return frames;
}

// The peer's ARP reply to our request for 192.0.2.1.
Frame ArpReplyFromPeer() {
  Frame f(14 + 28);
  proto::ethernet::EthernetRepr{kOurMac, kPeerMac, proto::ethernet::kEtherTypeArp}.Emit(std::span(f).first(14));
  proto::arp::ArpRepr arp;
  arp.oper = 2;
  arp.sha = kPeerMac;
  arp.spa = proto::Ipv4Address(0xc0000201);
  arp.tha = kOurMac;
  arp.tpa = proto::Ipv4Address(0xc0000202);
  arp.Emit(std::span(f).subspan(14));
  return f;
}

std::string Text(std::span<const std::byte> b) { return std::string(reinterpret_cast<const char*>(b.data()), b.size()); }

class SimStack {
 public:
  // `introduce`: the peer's ARP request first, so the engine knows its MAC.
  explicit SimStack(int workers = 1, bool introduce = true) {
    auto [peer, mine] = engine::SimLink::Pair(clock_);
    peer_ = std::move(peer);
    engine_ = std::move(*engine::Engine::CreateWithLink(TestConfig(workers), std::move(mine), clock_));
    runner_ = std::make_unique<engine::SimRunner>(engine_->stages(), clock_,
                                                  std::vector<rings::PacketPool*>{&engine_->pool()});
    stack_ = std::make_unique<Stack>(*engine_, [this] { runner_->Settle(); });
    if (introduce) {
      peer_->SendBytes(Vec(vectors::kArpRequest));  // the engine learns the peer
      // Past the snapshot's publication gap, so every shard knows the peer.
      runner_->RunFor(engine::Duration::Millis(2));
      Run();
    }
  }
  // Runs `d` of virtual time (timers fire on the way).
  void RunFor(engine::Duration d) { runner_->RunFor(d); }
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
  explicit ThreadedEngine(int workers = 1, std::size_t ring_size = 0) {
    auto [p, mine] = engine::SimLink::Pair(clock);
    peer = std::move(p);
    engine::Config c = TestConfig(workers);
    c.poll = engine::PollMode::kBlock;
    if (ring_size != 0) c.ring_size = ring_size;
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
  sim.Send(PortUnreachableFor(out[0]));
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
  // MSG_TRUNC: the datagram's whole length, though only 3 bytes fit.
  sim.Send(UdpFrame(5000, 7, "twelve bytes"));
  sim.Run();
  EXPECT_EQ(rs_recv(fd, buf, 3, MSG_TRUNC), 12);
  EXPECT_EQ(std::string(buf, 3), "twe");
  pollfd pfd{fd, POLLIN | POLLOUT, 0};
  EXPECT_EQ(rs_poll(&pfd, 1, 0), 1);
  EXPECT_EQ(pfd.revents, POLLOUT);  // nothing to read: the rest of that datagram is gone
  int v = 0;
  socklen_t vlen = sizeof(v);
  ASSERT_EQ(rs_getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &vlen), 0);
  EXPECT_EQ(v, SOCK_DGRAM);
  EXPECT_NE(rs_fcntl(fd, F_GETFL, 0) & O_NONBLOCK, 0);
  ASSERT_EQ(rs_fcntl(fd, F_SETFL, 0), 0);
  EXPECT_EQ(rs_fcntl(fd, F_GETFL, 0) & O_NONBLOCK, 0);
  EXPECT_EQ(rs_shutdown(fd, SHUT_RD), -1);
  EXPECT_EQ(errno, ENOTCONN);
  sockaddr bad{};
  bad.sa_family = AF_UNIX;
  EXPECT_EQ(rs_connect(fd, &bad, sizeof(bad)), -1);
  EXPECT_EQ(errno, EAFNOSUPPORT);
  EXPECT_EQ(rs_close(fd), 0);
  EXPECT_EQ(rs_close(fd), -1);
  EXPECT_EQ(errno, EBADF);
  // TCP_CONGESTION takes and gives a name, as on Linux.
  const int tfd = rs_socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(tfd, 0);
  char algo[16] = {};
  socklen_t alen = sizeof(algo);
  ASSERT_EQ(rs_getsockopt(tfd, IPPROTO_TCP, TCP_CONGESTION, algo, &alen), 0);
  EXPECT_STREQ(algo, "cubic");
  ASSERT_EQ(rs_setsockopt(tfd, IPPROTO_TCP, TCP_CONGESTION, "newreno", 7), 0);
  alen = sizeof(algo);
  ASSERT_EQ(rs_getsockopt(tfd, IPPROTO_TCP, TCP_CONGESTION, algo, &alen), 0);
  EXPECT_STREQ(algo, "newreno");
  EXPECT_EQ(rs_setsockopt(tfd, IPPROTO_TCP, TCP_CONGESTION, "vegas", 5), -1);
  EXPECT_EQ(errno, ENOENT);
  EXPECT_EQ(rs_close(tfd), 0);
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
// with two workers the sockets spread over both shards. The rings and the
// receive buffers hold every datagram the test sends, so however the
// threads share the CPUs every one comes back, and nothing races (the TSan
// build runs this too).
void EightThreadsHammer(int workers) {
  ThreadedEngine threaded(workers, /*ring_size=*/4096);
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
    // The shared socket gets two threads' echoes: 240, within a socket's
    // 256-datagram receive ring (sockets/api.cc), so none can be dropped.
    constexpr int kPerThread = 120;
    // Room for every datagram of the test in each receive buffer.
    constexpr int kRcvBuf = 4 << 20;
    const int shared = api.Socket(AF_INET, SOCK_DGRAM);
    ASSERT_EQ(api.SetSockOpt(shared, SOL_SOCKET, SO_RCVBUF, kRcvBuf), 0);
    ASSERT_EQ(api.Bind(shared, Ep("0.0.0.0", 0)), 0);
    // The sockets, each with one datagram there and back first, so every
    // shard has the peer's address and nothing waits (or overflows) in a
    // neighbour queue.
    std::vector<int> own;
    for (int t = 0; t < 6; ++t) {
      own.push_back(api.Socket(AF_INET, SOCK_DGRAM));
      api.SetSockOpt(own.back(), SOL_SOCKET, SO_RCVBUF, kRcvBuf);
    }
    for (int s : own) ASSERT_EQ(api.Bind(s, Ep("0.0.0.0", 0)), 0);
    own.push_back(shared);
    for (int s : own) {
      const Endpoint to = Ep("192.0.2.1", 6999);
      ASSERT_EQ(api.SendTo(s, Bytes("hello"), &to), 5);
      std::byte buf[64];
      ASSERT_EQ(api.RecvFrom(s, buf, nullptr), 5);
    }
    own.pop_back();
    for (int s : own) api.SetNonBlocking(s, true);
    std::atomic<int> sent{0}, got{0}, failed{0}, senders_done{0};
    auto dropped = [&] {
      return eng->counter("udp_drop_rcvbuf_full") + eng->counter("rx_drop_ring0_full") +
             eng->counter("rx_drop_ring1_full") + eng->counter("tx_drop_ring_full") +
             eng->counter("rx_drop_no_buffer") + eng->counter("neighbour_drop_park_full") +
             eng->counter("shard_drop_mail_full");
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
        const int s = share ? shared : own[static_cast<std::size_t>(t)];
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
    // Every datagram sent came back: nothing dropped, counted or not.
    EXPECT_EQ(dropped(), 0u);
    EXPECT_EQ(got.load(), sent.load());
    EXPECT_EQ(sent.load() + failed.load(), 8 * kPerThread);
    EXPECT_GT(sent.load(), 0);
    if (::testing::Test::HasFailure()) eng->PrintCounters(stderr);
  }
  stop.store(true);
  reflector.join();
  eng->Stop();
}

TEST(Sockets, EightThreadsHammerSendAndReceive) { EightThreadsHammer(1); }
TEST(Sockets, EightThreadsHammerSendAndReceiveOnTwoShards) { EightThreadsHammer(2); }

// Two workers: sockets live on the shard their port is steered to, send
// through shard 0's published neighbours, and hear of ICMP errors (which
// come to shard 0) and of datagrams shard 0 reassembled.
TEST(Sockets, SocketsLiveOnTheirPortsShard) {
  SimStack sim(/*workers=*/2);
  Stack& api = sim.api();
  for (int shard : {0, 1}) {
    const std::uint16_t port = PortOnShard(shard, 2);
    const int s = api.Socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK);
    ASSERT_EQ(api.Bind(s, Ep("0.0.0.0", port)), 0) << "shard " << shard;
    sim.Send(UdpFrame(5000, port, "to shard " + std::to_string(shard)));
    sim.Run();
    std::byte buf[64];
    Endpoint from;
    const ssize_t n = api.RecvFrom(s, buf, &from);
    ASSERT_EQ(n, 10) << "shard " << shard;
    EXPECT_EQ(Text(std::span(buf, 10)), "to shard " + std::to_string(shard));
    ASSERT_EQ(api.SendTo(s, std::span<const std::byte>(buf, 10), &from), 10);
    const auto out = sim.Run();
    ASSERT_EQ(out.size(), 1u) << "shard " << shard;
    EXPECT_EQ(proto::LoadBe16(out[0].data() + 34), port);  // the reply from the socket's port
    ASSERT_EQ(api.Close(s), 0);
  }
  EXPECT_EQ(sim.Count("shard_resolve_request"), 0u);  // the snapshot knew the peer
  // Ephemeral ports come from both shards, each one steered to its own.
  std::vector<int> socks;
  int on_shard[2] = {0, 0};
  for (int i = 0; i < 8; ++i) {
    const int s = api.Socket(AF_INET, SOCK_DGRAM);
    ASSERT_EQ(api.Bind(s, Ep("0.0.0.0", 0)), 0);
    Endpoint name;
    ASSERT_EQ(api.GetSockName(s, &name), 0);
    ++on_shard[engine::ShardForUdpPort(name.port, 2)];
    socks.push_back(s);
  }
  EXPECT_EQ(on_shard[0], 4);
  EXPECT_EQ(on_shard[1], 4);
}

TEST(Sockets, PortUnreachableReachesASocketOnAnotherShard) {
  SimStack sim(/*workers=*/2);
  Stack& api = sim.api();
  const std::uint16_t port = PortOnShard(1, 2);
  const int s = api.Socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK);
  ASSERT_EQ(api.Bind(s, Ep("0.0.0.0", port)), 0);
  ASSERT_EQ(api.Connect(s, Ep("192.0.2.1", 9)), 0);
  ASSERT_EQ(api.Send(s, Bytes("anyone?")), 7);
  const auto out = sim.Run();
  ASSERT_EQ(out.size(), 1u);
  sim.Send(PortUnreachableFor(out[0]));  // ICMP: steered to shard 0, mailed to shard 1
  sim.Run();
  int error = -1;
  ASSERT_EQ(api.GetSockOpt(s, SOL_SOCKET, SO_ERROR, &error), 0);
  EXPECT_EQ(error, ECONNREFUSED);
  ASSERT_EQ(api.GetSockOpt(s, SOL_SOCKET, SO_ERROR, &error), 0);
  EXPECT_EQ(error, 0);  // read and cleared
  // No socket on shard 1's port: shard 1 itself answers port unreachable.
  sim.Send(UdpFrame(5000, PortOnShard(1, 2, port + 1), "nobody"));
  const auto unreachable = sim.Run();
  ASSERT_EQ(unreachable.size(), 1u);
  EXPECT_EQ(static_cast<unsigned>(unreachable[0][34]), 3u);
}

TEST(Sockets, ReassembledDatagramGoesToItsPortsShard) {
  SimStack sim(/*workers=*/2);
  Stack& api = sim.api();
  const std::uint16_t port = PortOnShard(1, 2);
  const int s = api.Socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK);
  ASSERT_EQ(api.Bind(s, Ep("192.0.2.2", port)), 0);
  std::string payload(3000, 'r');
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>('a' + i % 26);
  for (const Frame& f : FragmentedUdp(5000, port, payload, 1472)) sim.Send(f);
  sim.Run();
  std::vector<std::byte> buf(4000);
  const ssize_t n = api.RecvFrom(s, buf, nullptr);
  ASSERT_EQ(n, 3000);
  EXPECT_EQ(Text(std::span(buf).first(3000)), payload);
  EXPECT_EQ(sim.Count("ipv4_rx_reassembled"), 1u);
}

TEST(Sockets, AnotherShardAsksShard0ToResolveTheNeighbour) {
  SimStack sim(/*workers=*/2, /*introduce=*/false);
  Stack& api = sim.api();
  const std::uint16_t port = PortOnShard(1, 2);
  const int s = api.Socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK);
  ASSERT_EQ(api.Bind(s, Ep("0.0.0.0", port)), 0);
  const Endpoint peer = Ep("192.0.2.1", 5000);
  ASSERT_EQ(api.SendTo(s, Bytes("first"), &peer), 5);
  ASSERT_EQ(api.SendTo(s, Bytes("second"), &peer), 6);
  auto out = sim.Run();
  // Shard 1 parked both and asked once; shard 0 sent the ARP request.
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(proto::LoadBe16(out[0].data() + 12), proto::ethernet::kEtherTypeArp);
  EXPECT_EQ(sim.Count("shard_resolve_request"), 1u);
  sim.Send(ArpReplyFromPeer());
  out = sim.Run();
  ASSERT_EQ(out.size(), 2u);  // released in order once the snapshot has the peer
  EXPECT_EQ(Text(std::span(out[0]).subspan(42)), "first");
  EXPECT_EQ(Text(std::span(out[1]).subspan(42)), "second");
  EXPECT_EQ(proto::MacAddress::FromBytes(out[0].data()), kPeerMac);
  // A neighbour that never answers: shard 0 gives up after its ARP tries
  // and shard 1 drops what it parked, counted.
  const Endpoint silent = Ep("192.0.2.77", 5000);
  ASSERT_EQ(api.SendTo(s, Bytes("lost"), &silent), 4);
  sim.Run();
  sim.RunFor(engine::Duration::Seconds(6));
  EXPECT_EQ(sim.Count("ipv4_drop_neighbour_unreachable"), 1u);
  EXPECT_EQ(sim.Count("arp_resolve_failed"), 1u);
}

// Broadcast and multicast datagrams reach every socket bound for them: the
// wildcard-bound ones on the port (each its own copy), not one bound to a
// unicast address; nobody bound means no ICMP error (RFC 1122 3.2.2). On
// shard 1 of two, where the port is steered.
TEST(Sockets, BroadcastAndMulticastReachEverySocketBoundForThem) {
  SimStack sim(/*workers=*/2);
  Stack& api = sim.api();
  const std::uint16_t port = PortOnShard(1, 2);
  int socks[3];
  for (int i = 0; i < 3; ++i) {
    socks[i] = api.Socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK);
    ASSERT_EQ(api.SetSockOpt(socks[i], SOL_SOCKET, SO_REUSEADDR, 1), 0);
    ASSERT_EQ(api.Bind(socks[i], Ep(i < 2 ? "0.0.0.0" : "192.0.2.2", port)), 0) << i;
  }
  std::byte buf[64];
  for (const char* to : {"255.255.255.255", "192.0.2.255", "224.0.0.1"}) {
    sim.Send(UdpFrame(5000, port, to, proto::IpAddress::Parse(to)->v4()));
    EXPECT_TRUE(sim.Run().empty());
    for (int i = 0; i < 2; ++i) {
      const ssize_t n = api.Recv(socks[i], buf);
      ASSERT_GT(n, 0) << to << " socket " << i;
      EXPECT_EQ(Text(std::span(buf, static_cast<std::size_t>(n))), to);
    }
    EXPECT_EQ(api.Recv(socks[2], buf), -1) << to;  // bound to the unicast address
    EXPECT_EQ(errno, EAGAIN);
  }
  // Unicast: one socket, the most specific.
  sim.Send(UdpFrame(5000, port, "just one"));
  sim.Run();
  EXPECT_EQ(api.Recv(socks[2], buf), 8);
  EXPECT_EQ(api.Recv(socks[0], buf), -1);
  EXPECT_EQ(api.Recv(socks[1], buf), -1);
  // A broadcast to a port nobody has: dropped quietly.
  sim.Send(UdpFrame(5000, PortOnShard(1, 2, port + 1), "anyone?", proto::Ipv4Address(0xffffffffu)));
  EXPECT_TRUE(sim.Run().empty());
  EXPECT_EQ(sim.Count("icmp4_tx_dest_unreachable"), 0u);
}

TEST(Sockets, BufferSizesBroadcastAndShutdown) {
  SimStack sim;
  Stack& api = sim.api();
  const int s = api.Socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK);
  int v = 0;
  ASSERT_EQ(api.GetSockOpt(s, SOL_SOCKET, SO_RCVBUF, &v), 0);
  EXPECT_EQ(v, 212992);  // Linux's default
  ASSERT_EQ(api.SetSockOpt(s, SOL_SOCKET, SO_RCVBUF, 1500), 0);
  ASSERT_EQ(api.GetSockOpt(s, SOL_SOCKET, SO_RCVBUF, &v), 0);
  EXPECT_EQ(v, 3000);  // doubled, as Linux reports it
  // --socket-buffer-max (default 16M) caps what a socket may ask, UDP and TCP.
  ASSERT_EQ(api.SetSockOpt(s, SOL_SOCKET, SO_RCVBUF, 100 << 20), 0);
  ASSERT_EQ(api.GetSockOpt(s, SOL_SOCKET, SO_RCVBUF, &v), 0);
  EXPECT_EQ(v, 16 << 20);
  {
    const int t = api.Socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK);
    ASSERT_EQ(api.SetSockOpt(t, SOL_SOCKET, SO_SNDBUF, 100 << 20), 0);
    ASSERT_EQ(api.GetSockOpt(t, SOL_SOCKET, SO_SNDBUF, &v), 0);
    EXPECT_EQ(v, 16 << 20);
    api.Close(t);
  }
  ASSERT_EQ(api.SetSockOpt(s, SOL_SOCKET, SO_RCVBUF, 1500), 0);
  ASSERT_EQ(api.GetSockOpt(s, SOL_SOCKET, SO_TYPE, &v), 0);
  EXPECT_EQ(v, SOCK_DGRAM);
  EXPECT_EQ(api.GetSockOpt(s, SOL_SOCKET, SO_KEEPALIVE, &v), -1);
  EXPECT_EQ(errno, ENOPROTOOPT);
  // SO_RCVBUF: 1000-byte datagrams, 3000 bytes of room: three queue, the
  // rest are dropped and counted.
  ASSERT_EQ(api.Bind(s, Ep("0.0.0.0", 4000)), 0);
  for (int i = 0; i < 5; ++i) sim.Send(UdpFrame(5000, 4000, std::string(1000, static_cast<char>('0' + i))));
  sim.Run();
  std::byte buf[1500];
  for (int i = 0; i < 3; ++i) EXPECT_EQ(api.Recv(s, buf), 1000) << i;
  EXPECT_EQ(api.Recv(s, buf), -1);
  EXPECT_EQ(errno, EAGAIN);
  EXPECT_EQ(sim.Count("udp_drop_rcvbuf_full"), 2u);
  // SO_SNDBUF: a non-blocking sender hears EAGAIN while 2048 bytes wait
  // for the worker, and POLLOUT says when there is room again.
  ASSERT_EQ(api.SetSockOpt(s, SOL_SOCKET, SO_SNDBUF, 1), 0);
  ASSERT_EQ(api.GetSockOpt(s, SOL_SOCKET, SO_SNDBUF, &v), 0);
  EXPECT_EQ(v, 2048);  // the floor
  const Endpoint peer = Ep("192.0.2.1", 5000);
  const std::string kilo(1000, 'k');
  EXPECT_EQ(api.SendTo(s, Bytes(kilo), &peer), 1000);
  EXPECT_EQ(api.SendTo(s, Bytes(kilo), &peer), 1000);
  EXPECT_EQ(api.SendTo(s, Bytes(kilo), &peer), 1000);  // 2000 < 2048 queued: room for one more
  EXPECT_EQ(api.SendTo(s, Bytes(kilo), &peer), -1);
  EXPECT_EQ(errno, EAGAIN);
  Stack::PollFd pfd{s, POLLOUT, 0};
  EXPECT_EQ(api.Poll(std::span(&pfd, 1), 0), 0);
  EXPECT_EQ(sim.Run().size(), 3u);
  EXPECT_EQ(api.Poll(std::span(&pfd, 1), 0), 1);
  EXPECT_EQ(pfd.revents, POLLOUT);
  // Broadcast needs SO_BROADCAST.
  const Endpoint all = Ep("255.255.255.255", 5000), directed = Ep("192.0.2.255", 5000);
  EXPECT_EQ(api.SendTo(s, Bytes("hi all"), &all), -1);
  EXPECT_EQ(errno, EACCES);
  EXPECT_EQ(api.SendTo(s, Bytes("hi all"), &directed), -1);
  EXPECT_EQ(errno, EACCES);
  ASSERT_EQ(api.SetSockOpt(s, SOL_SOCKET, SO_BROADCAST, 1), 0);
  ASSERT_EQ(api.SendTo(s, Bytes("hi all"), &directed), 6);
  const auto out = sim.Run();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(proto::MacAddress::FromBytes(out[0].data()), proto::MacAddress::Broadcast());
  // shutdown: only a connected socket; then reads end and writes fail.
  EXPECT_EQ(api.Shutdown(s, SHUT_RD), -1);
  EXPECT_EQ(errno, ENOTCONN);
  ASSERT_EQ(api.Connect(s, peer), 0);
  EXPECT_EQ(api.Shutdown(s, 7), -1);
  EXPECT_EQ(errno, EINVAL);
  ASSERT_EQ(api.Shutdown(s, SHUT_RDWR), 0);
  EXPECT_EQ(api.Recv(s, buf), 0);
  EXPECT_EQ(api.Send(s, Bytes("x")), -1);
  EXPECT_EQ(errno, EPIPE);
  // Stream calls on a datagram socket.
  EXPECT_EQ(api.Listen(s, 5), -1);
  EXPECT_EQ(errno, EOPNOTSUPP);
  EXPECT_EQ(api.Accept(s, nullptr), -1);
  EXPECT_EQ(errno, EOPNOTSUPP);
  EXPECT_EQ(api.GetNonBlocking(s), 1);
  // IPV6_V6ONLY only before bind.
  const int s6 = api.Socket(AF_INET6, SOCK_DGRAM);
  ASSERT_EQ(api.SetSockOpt(s6, IPPROTO_IPV6, IPV6_V6ONLY, 1), 0);
  ASSERT_EQ(api.GetSockOpt(s6, IPPROTO_IPV6, IPV6_V6ONLY, &v), 0);
  EXPECT_EQ(v, 1);
}

// A blocking sender with a tiny SO_SNDBUF on real threads: every send
// waits for the worker to take the previous ones off and is woken by it
// (no polling loop); a poll for POLLOUT sleeps until the worker makes room.
TEST(Sockets, BlockedSenderAndPollOutWakeWhenTheWorkerDrains) {
  ThreadedEngine t;
  Stack api(*t.engine);
  const int s = api.Socket(AF_INET, SOCK_DGRAM);
  ASSERT_EQ(api.SetSockOpt(s, SOL_SOCKET, SO_SNDBUF, 1), 0);
  // The peer's ARP request teaches the engine its address; its reply says
  // the engine took it, so no send below waits (in a bounded queue) for it.
  t.peer->SendBytes(Vec(vectors::kArpRequest));
  auto receive = [&](int want, std::chrono::seconds within) {
    int got = 0;
    const auto until = std::chrono::steady_clock::now() + within;
    while (got < want && std::chrono::steady_clock::now() < until) {
      if (t.peer->ReceiveBytes()) {
        ++got;
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
    return got;
  };
  ASSERT_EQ(receive(1, std::chrono::seconds(10)), 1);  // the ARP reply
  const Endpoint peer = Ep("192.0.2.1", 5000);
  const std::string chunk(1400, 'w');
  constexpr int kSends = 400;
  for (int i = 0; i < kSends; ++i) ASSERT_EQ(api.SendTo(s, Bytes(chunk), &peer), 1400) << i;
  Stack::PollFd pfd{s, POLLOUT, 0};
  EXPECT_EQ(api.Poll(std::span(&pfd, 1), -1), 1);
  EXPECT_EQ(pfd.revents, POLLOUT);
  EXPECT_EQ(receive(kSends, std::chrono::seconds(10)), kSends);
  EXPECT_EQ(api.Close(s), 0);  // before the engine stops: close asks its worker
  t.engine->Stop();
}

}  // namespace
}  // namespace ringstack::sockets
