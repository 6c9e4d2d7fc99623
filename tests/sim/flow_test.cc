// Packet flows through a whole in-process engine: a frame in over a SimLink,
// the exact frames out and the exact counters (PyTCP packet_flows_rx_tx
// style). Virtual time, so ARP retries and timeouts take no real time.
#include <cstring>
#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "engine/engine.h"
#include "engine/link/sim.h"
#include "engine/runner.h"
#include "gtest/gtest.h"
#include "protocols/arp/arp_repr.h"
#include "protocols/common/checksum.h"
#include "protocols/dhcp4/dhcp4_repr.h"
#include "protocols/icmpv6/icmpv6_repr.h"
#include "protocols/ethernet/ethernet_repr.h"
#include "tests/vectors/vectors.h"

namespace ringstack::engine {
namespace {

using Frame = std::vector<std::byte>;

template <std::size_t N>
Frame Vec(const unsigned char (&a)[N]) {
  Frame v(N);
  std::memcpy(v.data(), a, N);
  return v;
}

Config SimConfig(int workers = 1, const char* ip4 = "192.0.2.2/24", const char* acd = "off",
                 const char* ipv6 = "off") {
  RawFlags f;
  f.tap = "sim0";
  f.mac = "02:00:00:00:00:01";  // MAC_A of tests/vectors
  f.ip4 = ip4;
  f.acd = acd;  // off: addresses usable at once; ACD has tests of its own
  f.ipv6 = ipv6;  // off for the IPv4 flows: no link-local DAD, RS or MLD frames among theirs
  f.workers = workers;
  auto c = ParseConfig(f, 1);
  EXPECT_TRUE(c.ok()) << c.status();
  return *c;
}

class Sim {
 public:
  explicit Sim(const Config& config, const ImpairConfig& to_engine = {}, const ImpairConfig& from_engine = {}) {
    auto [peer, mine] = SimLink::Pair(clock_, to_engine, from_engine);
    peer_ = std::move(peer);
    auto engine = Engine::CreateWithLink(config, std::move(mine), clock_);
    EXPECT_TRUE(engine.ok()) << engine.status();
    engine_ = std::move(*engine);
    runner_ = std::make_unique<SimRunner>(engine_->stages(), clock_,
                                          std::vector<rings::PacketPool*>{&engine_->pool()});
  }
  ~Sim() {
    runner_.reset();
    engine_.reset();
  }

  void Send(const Frame& f) { peer_->SendBytes(f); }
  // Runs for `d` of virtual time and returns every frame the engine sent.
  std::vector<Frame> Run(Duration d = Duration::Millis(1)) {
    runner_->RunFor(d);
    std::vector<Frame> out;
    while (auto f = peer_->ReceiveBytes()) out.push_back(std::move(*f));
    return out;
  }
  std::uint64_t Count(std::string_view name) const { return engine_->counter(name); }
  Engine& engine() { return *engine_; }
  VirtualClock& clock() { return clock_; }

 private:
  VirtualClock clock_;
  std::unique_ptr<SimLink> peer_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<SimRunner> runner_;
};

TEST(Flow, ArpRequestForUsGetsTheExactReply) {
  Sim sim(SimConfig());
  sim.Send(Vec(vectors::kArpRequest));
  auto out = sim.Run();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], Vec(vectors::kArpReply));
  EXPECT_EQ(sim.Count("arp_rx_request"), 1u);
  EXPECT_EQ(sim.Count("arp_tx_reply"), 1u);
}

TEST(Flow, ArpRequestForSomeoneElseIsSilent) {
  Sim sim(SimConfig());
  Frame f = Vec(vectors::kArpRequest);
  f[14 + 27] = std::byte{9};  // target 192.0.2.9
  sim.Send(f);
  EXPECT_TRUE(sim.Run().empty());
  EXPECT_EQ(sim.Count("arp_rx_request"), 1u);
  EXPECT_EQ(sim.Count("arp_tx_reply"), 0u);
}

TEST(Flow, PingAfterArpGetsTheExactEchoReply) {
  Sim sim(SimConfig());
  sim.Send(Vec(vectors::kArpRequest));  // teaches the engine our MAC
  sim.Run();
  sim.Send(Vec(vectors::kIcmpEchoRequest));
  auto out = sim.Run();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], Vec(vectors::kIcmpEchoReply));
  EXPECT_EQ(sim.Count("icmp4_rx_echo_request"), 1u);
  EXPECT_EQ(sim.Count("icmp4_tx_echo_reply"), 1u);
}

TEST(Flow, PingFromUnknownNeighbourResolvesItFirst) {
  Sim sim(SimConfig());
  sim.Send(Vec(vectors::kIcmpEchoRequest));
  auto out = sim.Run();
  // The reply waits while the engine asks who has 192.0.2.1.
  ASSERT_EQ(out.size(), 1u);
  const Frame want_request = [] {
    Frame f(42);
    const unsigned char hdr[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
                                 0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x02, 0x00,
                                 0x00, 0x00, 0x00, 0x01, 192,  0,    2,    2,    0,    0,    0,    0,
                                 0,    0,    192,  0,    2,    1};
    std::memcpy(f.data(), hdr, 42);
    return f;
  }();
  EXPECT_EQ(out[0], want_request);
  // Our answer (the scapy ARP reply with roles swapped: 192.0.2.1 is at MAC_B).
  Frame reply = Vec(vectors::kArpRequest);
  std::memcpy(reply.data(), "\x02\x00\x00\x00\x00\x01", 6);
  reply[14 + 7] = std::byte{2};                      // is-at
  std::memcpy(reply.data() + 14 + 18, "\x02\x00\x00\x00\x00\x01", 6);
  sim.Send(reply);
  out = sim.Run();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], Vec(vectors::kIcmpEchoReply));
  EXPECT_EQ(sim.Count("arp_tx_request"), 1u);
}

TEST(Flow, UnansweredArpIsRetriedThenGivenUp) {
  Sim sim(SimConfig());
  sim.Send(Vec(vectors::kIcmpEchoRequest));
  auto out = sim.Run(Duration::Seconds(10));
  EXPECT_EQ(out.size(), 3u);  // three ARP requests, one second apart
  EXPECT_EQ(sim.Count("arp_tx_request"), 3u);
  EXPECT_EQ(sim.Count("arp_resolve_failed"), 1u);
  EXPECT_EQ(sim.Count("ipv4_drop_neighbour_unreachable"), 1u);
  EXPECT_EQ(sim.engine().pool().stats().cls[0].in_use, 0u);  // the parked reply was freed
}

TEST(Flow, LinkPaddingIsNotEchoed) {
  Sim sim(SimConfig());
  sim.Send(Vec(vectors::kArpRequest));
  sim.Run();
  sim.Send(Vec(vectors::kIcmpEchoRequestPadded));
  auto out = sim.Run();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].size(), 14u + 20 + 8 + 2);
}

TEST(Flow, EchoWithIpOptionsIsAnswered) {
  Sim sim(SimConfig());
  sim.Send(Vec(vectors::kArpRequest));
  sim.Run();
  sim.Send(Vec(vectors::kIpv4WithOptions));
  auto out = sim.Run();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].size(), 14u + 20 + 8 + 2);  // reply carries no options
  EXPECT_EQ(static_cast<unsigned>(out[0][14 + 20]), 0u);  // echo reply
}

// One row per malformed input: it is dropped, counted under its reason, and
// nothing is sent; afterwards ping still works.
TEST(Flow, MalformedFramesAreDroppedAndCounted) {
  Sim sim(SimConfig());
  sim.Send(Vec(vectors::kArpRequest));
  sim.Run();
  const Frame echo = Vec(vectors::kIcmpEchoRequest);
  auto fix_ip_checksum = [](Frame& f) {
    proto::StoreBe16(f.data() + 24, 0);
    proto::StoreBe16(f.data() + 24, proto::InternetChecksum(std::span(f).subspan(14, 20)));
  };
  struct Row {
    const char* counter;
    Frame frame;
  };
  std::vector<Row> rows;
  rows.push_back({"eth_drop_truncated", Frame(echo.begin(), echo.begin() + 10)});
  {
    Frame f = echo;
    f[24] ^= std::byte{0xff};
    rows.push_back({"ipv4_drop_bad_checksum", f});
  }
  {
    Frame f = echo;
    f[14] = std::byte{0x44};  // IHL 4
    rows.push_back({"ipv4_drop_bad_header_length", f});
  }
  {
    Frame f = echo;
    proto::StoreBe16(f.data() + 16, 1500);  // total length past the frame
    fix_ip_checksum(f);
    rows.push_back({"ipv4_drop_bad_total_length", f});
  }
  {
    Frame f = Vec(vectors::kArpRequest);
    for (std::size_t i = 14; i < f.size(); ++i) f[i] = std::byte{static_cast<unsigned char>(i * 37)};
    rows.push_back({"arp_drop_bad_hardware_type", f});
  }
  {
    Frame f = Vec(vectors::kArpRequest);
    f.resize(14 + 27);
    rows.push_back({"arp_drop_truncated", f});
  }
  {
    Frame f = echo;
    f[40] ^= std::byte{0x55};  // ICMP data byte: checksum no longer verifies
    rows.push_back({"icmp4_drop_bad_checksum", f});
  }
  {
    Frame f = echo;
    f[0] = std::byte{0x02};
    f[5] = std::byte{0x99};  // another station's unicast MAC
    rows.push_back({"eth_drop_not_for_us", f});
  }
  for (const Row& row : rows) {
    const std::uint64_t before = sim.Count(row.counter);
    sim.Send(row.frame);
    EXPECT_TRUE(sim.Run().empty()) << row.counter;
    EXPECT_EQ(sim.Count(row.counter), before + 1) << row.counter;
  }
  sim.Send(echo);
  auto out = sim.Run();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], Vec(vectors::kIcmpEchoReply));
}

// A full RX ring drops and counts; every frame is either answered or counted.
TEST(Flow, FullRingDropsAreCountedNotLost) {
  Config c = SimConfig();
  c.ring_size = 16;
  Sim sim(c);
  sim.Send(Vec(vectors::kArpRequest));
  sim.Run();
  constexpr int kFrames = 500;
  for (int i = 0; i < kFrames; ++i) sim.Send(Vec(vectors::kIcmpEchoRequest));
  const auto out = sim.Run();
  const std::uint64_t dropped = sim.Count("rx_drop_ring0_full");
  EXPECT_GT(dropped, 0u);
  EXPECT_EQ(out.size() + dropped, static_cast<std::size_t>(kFrames));
}

// Under seeded loss, duplication and reordering in both directions, every
// request that arrives is answered once per copy, the same way per seed.
TEST(Flow, ImpairedLinkIsDeterministicPerSeed) {
  auto run = [](std::uint64_t seed) {
    ImpairConfig to, from;
    to.loss = 0.1;
    to.dup = 0.05;
    to.reorder = 0.1;
    to.seed = seed;
    from.loss = 0.1;
    from.seed = seed + 1;
    Sim sim(SimConfig(), to, from);
    Frame arp = Vec(vectors::kArpRequest);
    for (int i = 0; i < 5; ++i) sim.Send(arp);  // surely one arrives
    sim.Run();
    sim.Run();  // drain the replies
    std::vector<int> seqs;
    for (int i = 0; i < 400; ++i) {
      Frame f = Vec(vectors::kIcmpEchoRequest);
      proto::StoreBe16(f.data() + 40, static_cast<std::uint16_t>(i));  // seq
      proto::StoreBe16(f.data() + 36, 0);
      proto::StoreBe16(f.data() + 36, proto::InternetChecksum(std::span(f).subspan(34)));
      sim.Send(f);
      for (auto& r : sim.Run(Duration::Micros(100))) seqs.push_back(proto::LoadBe16(r.data() + 40));
    }
    for (auto& r : sim.Run(Duration::Millis(50))) seqs.push_back(proto::LoadBe16(r.data() + 40));
    EXPECT_EQ(sim.Count("icmp4_rx_echo_request"), sim.Count("icmp4_tx_echo_reply"));
    return seqs;
  };
  const auto a = run(7);
  const auto b = run(7);
  const auto c = run(8);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_GT(a.size(), 280u);  // ~400 * 0.9 * 1.05 * 0.9
  EXPECT_LT(a.size(), 400u);
  bool reordered = false;
  for (std::size_t i = 1; i < a.size(); ++i) reordered |= a[i] < a[i - 1];
  EXPECT_TRUE(reordered);
}

// An echo request of 4000 data bytes cut into fragments of `chunk` bytes.
std::vector<Frame> FragmentedEcho(std::size_t chunk, std::vector<std::byte>& icmp_out) {
  const Frame base = Vec(vectors::kIcmpEchoRequest);
  // ICMP message: header from the vector, 4000 bytes of data.
  icmp_out.assign(base.begin() + 34, base.begin() + 42);
  for (int i = 0; i < 4000; ++i) icmp_out.push_back(std::byte(i * 7 & 0xff));
  proto::StoreBe16(icmp_out.data() + 2, 0);
  proto::StoreBe16(icmp_out.data() + 2, proto::InternetChecksum(icmp_out));
  std::vector<Frame> frames;
  for (std::size_t off = 0; off < icmp_out.size(); off += chunk) {
    const std::size_t n = std::min(chunk, icmp_out.size() - off);
    Frame f(base.begin(), base.begin() + 34);
    f.insert(f.end(), icmp_out.begin() + static_cast<long>(off), icmp_out.begin() + static_cast<long>(off + n));
    proto::StoreBe16(f.data() + 16, static_cast<std::uint16_t>(20 + n));  // total length
    const bool mf = off + n < icmp_out.size();
    proto::StoreBe16(f.data() + 20, static_cast<std::uint16_t>((mf ? 0x2000 : 0) | (off / 8)));
    proto::StoreBe16(f.data() + 24, 0);
    proto::StoreBe16(f.data() + 24, proto::InternetChecksum(std::span(f).subspan(14, 20)));
    frames.push_back(f);
  }
  return frames;
}

// Reassembles the engine's reply fragments (checking offsets and MF) into the
// ICMP message they carry.
std::vector<std::byte> JoinReply(const std::vector<Frame>& out) {
  std::vector<std::byte> msg;
  for (const Frame& f : out) {
    const std::uint16_t flags = proto::LoadBe16(f.data() + 20);
    EXPECT_EQ((flags & 0x1fff) * 8u, msg.size());
    const std::uint16_t total = proto::LoadBe16(f.data() + 16);
    EXPECT_LE(total, 1500);
    msg.insert(msg.end(), f.begin() + 34, f.begin() + 14 + total);
    EXPECT_EQ((flags & 0x2000) != 0, &f != &out.back());
  }
  return msg;
}

TEST(Flow, FragmentedEchoInAnyOrderGetsAFragmentedReply) {
  for (const std::vector<int>& order : std::vector<std::vector<int>>{
           {0, 1, 2, 3, 4}, {4, 3, 2, 1, 0}, {2, 1, 0, 3, 4}, {1, 3, 0, 4, 2}}) {
    Sim sim(SimConfig());
    sim.Send(Vec(vectors::kArpRequest));
    sim.Run();
    std::vector<std::byte> request;
    const auto frags = FragmentedEcho(808, request);  // 4008 bytes -> 5 fragments
    ASSERT_EQ(frags.size(), 5u);
    for (int i : order) sim.Send(frags[i]);
    const auto out = sim.Run();
    ASSERT_EQ(out.size(), 3u);  // 4008 bytes in 1480-byte fragments
    const auto reply = JoinReply(out);
    ASSERT_EQ(reply.size(), request.size());
    EXPECT_EQ(static_cast<unsigned>(reply[0]), 0u);  // echo reply
    EXPECT_TRUE(proto::ChecksumOk(reply));
    EXPECT_TRUE(std::equal(reply.begin() + 4, reply.end(), request.begin() + 4));  // id, seq, data
    EXPECT_EQ(sim.Count("ipv4_rx_reassembled"), 1u);
    EXPECT_EQ(sim.Count("ipv4_tx_fragment"), 3u);
    EXPECT_EQ(sim.engine().pool().stats().cls[0].in_use, 0u);
  }
}

TEST(Flow, IncompleteDatagramWithoutFragmentZeroTimesOutSilently) {
  Sim sim(SimConfig());
  sim.Send(Vec(vectors::kArpRequest));
  sim.Run();
  std::vector<std::byte> request;
  const auto frags = FragmentedEcho(808, request);
  sim.Send(frags[1]);
  sim.Send(frags[3]);
  EXPECT_TRUE(sim.Run(Duration::Seconds(29)).empty());
  EXPECT_EQ(sim.Count("ipv4_reassembly_timeout"), 0u);
  EXPECT_TRUE(sim.Run(Duration::Seconds(2)).empty());  // RFC 1122 3.3.2: no fragment zero, no error
  EXPECT_EQ(sim.Count("ipv4_reassembly_timeout"), 1u);
  EXPECT_EQ(sim.Count("ipv4_rx_fragment"), 2u);
  EXPECT_EQ(sim.Count("icmp4_tx_time_exceeded"), 0u);
}

TEST(Flow, ReassemblyTimeoutWithFragmentZeroSendsTimeExceededCode1) {
  Sim sim(SimConfig());
  sim.Send(Vec(vectors::kArpRequest));
  sim.Run();
  std::vector<std::byte> request;
  const auto frags = FragmentedEcho(808, request);
  sim.Send(frags[0]);
  sim.Send(frags[2]);
  EXPECT_TRUE(sim.Run(Duration::Seconds(29)).empty());
  // The neighbour's entry went stale after 30 s: the error goes at once and
  // unicast ARP probes check the neighbour (RFC 1122 2.3.2.1).
  std::vector<Frame> ip_out;
  for (const Frame& f : sim.Run(Duration::Seconds(2))) {
    if (proto::LoadBe16(f.data() + 12) == 0x0806) {
      EXPECT_EQ(static_cast<unsigned>(f[0]), 0x52u);  // unicast to the cached MAC
    } else {
      ip_out.push_back(f);
    }
  }
  EXPECT_GE(sim.Count("arp_tx_probe"), 1u);
  ASSERT_EQ(ip_out.size(), 1u);
  const Frame& f = ip_out[0];
  ASSERT_EQ(f.size(), 14u + 20 + 8 + 20 + 8);
  EXPECT_EQ(proto::LoadBe32(f.data() + 14 + 16), 0xc0000201u);  // to the sender
  EXPECT_EQ(static_cast<unsigned>(f[34]), 11u);                // time exceeded
  EXPECT_EQ(static_cast<unsigned>(f[35]), 1u);                 // fragment reassembly time exceeded
  EXPECT_TRUE(proto::ChecksumOk(std::span(f).subspan(34)));
  // The quote is fragment zero's header (MF set, offset 0) and its first 8 bytes.
  EXPECT_TRUE(std::equal(f.begin() + 42, f.end(), frags[0].begin() + 14, frags[0].begin() + 14 + 28));
  EXPECT_EQ(sim.Count("ipv4_reassembly_timeout"), 1u);
  EXPECT_EQ(sim.Count("icmp4_tx_time_exceeded"), 1u);
}

TEST(Flow, OverlappingFragmentDropsTheDatagram) {
  Sim sim(SimConfig());
  sim.Send(Vec(vectors::kArpRequest));
  sim.Run();
  std::vector<std::byte> request;
  auto frags = FragmentedEcho(808, request);
  Frame evil = frags[1];
  evil[40] ^= std::byte{0xff};  // same offset, different bytes
  sim.Send(frags[1]);
  sim.Send(evil);
  for (int i : {0, 2, 3, 4}) sim.Send(frags[i]);
  EXPECT_TRUE(sim.Run().empty());
  EXPECT_EQ(sim.Count("ipv4_frag_drop_overlap"), 1u);
}

// An IPv4 datagram for protocol 99 (which nobody here speaks).
Frame UnknownProtocol(std::uint32_t dst = 0xc0000202) {
  Frame f = Vec(vectors::kIcmpEchoRequest);
  f[14 + 9] = std::byte{99};
  proto::StoreBe32(f.data() + 14 + 16, dst);
  proto::StoreBe16(f.data() + 24, 0);
  proto::StoreBe16(f.data() + 24, proto::InternetChecksum(std::span(f).subspan(14, 20)));
  return f;
}

TEST(Flow, UnknownProtocolGetsProtocolUnreachableQuotingIt) {
  Sim sim(SimConfig());
  sim.Send(Vec(vectors::kArpRequest));
  sim.Run();
  const Frame in = UnknownProtocol();
  sim.Send(in);
  const auto out = sim.Run();
  ASSERT_EQ(out.size(), 1u);
  const Frame& f = out[0];
  ASSERT_EQ(f.size(), 14u + 20 + 8 + 20 + 8);
  EXPECT_EQ(proto::LoadBe32(f.data() + 14 + 16), 0xc0000201u);  // back to the sender
  EXPECT_EQ(static_cast<unsigned>(f[34]), 3u);                 // destination unreachable
  EXPECT_EQ(static_cast<unsigned>(f[35]), 2u);                 // protocol unreachable
  EXPECT_TRUE(proto::ChecksumOk(std::span(f).subspan(34)));
  // The quote: the offending header and its first 8 payload bytes.
  EXPECT_TRUE(std::equal(f.begin() + 42, f.end(), in.begin() + 14, in.begin() + 14 + 28));
  EXPECT_EQ(sim.Count("icmp4_tx_dest_unreachable"), 1u);
}

TEST(Flow, UdpToAClosedPortGetsTheExactPortUnreachable) {
  Sim sim(SimConfig());
  sim.Send(Vec(vectors::kArpRequest));
  sim.Run();
  sim.Send(Vec(vectors::kUdpToClosedPort));
  const auto out = sim.Run();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], Vec(vectors::kIcmpPortUnreachable));
  EXPECT_EQ(sim.Count("udp_rx_no_socket"), 1u);
  EXPECT_EQ(sim.Count("icmp4_tx_dest_unreachable"), 1u);
}

// RFC 1122 3.2.1.3: a datagram from a broadcast source is discarded, not
// answered — here 192.0.2.255, our /24's directed broadcast (the parse
// already refuses 255.255.255.255 and multicast sources).
TEST(Flow, EchoFromTheSubnetBroadcastIsNotAnswered) {
  Sim sim(SimConfig());
  sim.Send(Vec(vectors::kArpRequest));
  sim.Run();
  Frame from_broadcast = Vec(vectors::kIcmpEchoRequest);
  from_broadcast[14 + 12 + 3] = std::byte{0xff};  // source 192.0.2.1 -> 192.0.2.255
  proto::StoreBe16(from_broadcast.data() + 24, 0);
  proto::StoreBe16(from_broadcast.data() + 24, proto::InternetChecksum(std::span(from_broadcast).subspan(14, 20)));
  sim.Send(from_broadcast);
  EXPECT_TRUE(sim.Run().empty());
  EXPECT_EQ(sim.Count("ipv4_drop_source_broadcast"), 1u);
  EXPECT_EQ(sim.Count("icmp4_rx_echo_request"), 0u);
  // The same request from 192.0.2.1 is answered.
  sim.Send(Vec(vectors::kIcmpEchoRequest));
  EXPECT_EQ(sim.Run().size(), 1u);
  EXPECT_EQ(sim.Count("icmp4_tx_echo_reply"), 1u);
  EXPECT_EQ(sim.Count("ipv4_drop_source_broadcast"), 1u);
}

TEST(Flow, NoErrorsAboutBroadcastsAndErrorsAreRateLimited) {
  Sim sim(SimConfig());
  sim.Send(Vec(vectors::kArpRequest));
  sim.Run();
  sim.Send(UnknownProtocol(0xc00002ff));  // subnet broadcast
  EXPECT_TRUE(sim.Run().empty());
  EXPECT_EQ(sim.Count("icmp4_error_suppressed"), 1u);
  for (int i = 0; i < 200; ++i) sim.Send(UnknownProtocol());
  const auto out = sim.Run(Duration::Micros(100));
  EXPECT_EQ(out.size(), 50u);  // the default burst
  EXPECT_EQ(sim.Count("icmp4_error_rate_limited"), 150u);
}

TEST(Flow, TwoWorkersKeepControlTrafficOnShardZero) {
  Sim sim(SimConfig(2));
  sim.Send(Vec(vectors::kArpRequest));
  EXPECT_EQ(sim.Run().size(), 1u);
  sim.Send(Vec(vectors::kIcmpEchoRequest));
  auto out = sim.Run();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], Vec(vectors::kIcmpEchoReply));
}

// --- routing -----------------------------------------------------------------

Frame WithIpv4Src(Frame f, std::uint32_t src) {
  proto::StoreBe32(f.data() + 14 + 12, src);
  proto::StoreBe16(f.data() + 24, 0);
  proto::StoreBe16(f.data() + 24, proto::InternetChecksum(std::span(f).subspan(14, 20)));
  return f;
}

TEST(Flow, FarHostIsAnsweredThroughItsGateway) {
  Sim sim(SimConfig(1, "192.0.2.2/24@192.0.2.1"));
  sim.Send(WithIpv4Src(Vec(vectors::kIcmpEchoRequest), 0xc6336407));  // from 198.51.100.7
  auto out = sim.Run();
  // The engine resolves the gateway, not the far host.
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(proto::LoadBe16(out[0].data() + 12), 0x0806u);
  EXPECT_EQ(proto::LoadBe32(out[0].data() + 14 + 24), 0xc0000201u);  // who has 192.0.2.1
  sim.Send(Vec(vectors::kArpRequest));  // 192.0.2.1 is at 52:54:00:12:34:56
  out = sim.Run();
  ASSERT_EQ(out.size(), 2u);  // the parked echo reply and our ARP reply
  const Frame& reply = proto::LoadBe16(out[0].data() + 12) == 0x0800 ? out[0] : out[1];
  EXPECT_EQ(std::memcmp(reply.data(), "\x52\x54\x00\x12\x34\x56", 6), 0);  // to the gateway's MAC
  EXPECT_EQ(proto::LoadBe32(reply.data() + 14 + 16), 0xc6336407u);           // for the far host
  EXPECT_EQ(proto::LoadBe32(reply.data() + 14 + 12), 0xc0000202u);           // from our address
  EXPECT_EQ(static_cast<unsigned>(reply[34]), 0u);                           // echo reply
}

TEST(Flow, NoRouteToAFarHostIsCounted) {
  Sim sim(SimConfig());  // no gateway
  sim.Send(Vec(vectors::kArpRequest));
  sim.Run();
  sim.Send(WithIpv4Src(Vec(vectors::kIcmpEchoRequest), 0xc6336407));
  EXPECT_TRUE(sim.Run().empty());
  EXPECT_EQ(sim.Count("ipv4_drop_no_route"), 1u);
}

TEST(Flow, StaticRouteBeatsTheDefault) {
  Config c = SimConfig(1, "192.0.2.2/24@192.0.2.1");
  c.routes4.push_back({*proto::Ipv4Interface::Parse("198.51.100.0/24"), *proto::Ipv4Address::Parse("192.0.2.254")});
  Sim sim(c);
  sim.Send(WithIpv4Src(Vec(vectors::kIcmpEchoRequest), 0xc6336407));
  const auto out = sim.Run();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(proto::LoadBe32(out[0].data() + 14 + 24), 0xc00002feu);  // who has 192.0.2.254
}

// --- Address Conflict Detection (RFC 5227) ------------------------------------

const proto::MacAddress kPeerMac = *proto::MacAddress::Parse("52:54:00:12:34:56");

Frame ArpFrame(std::uint16_t oper, proto::MacAddress sha, const char* spa, proto::MacAddress tha, const char* tpa,
               proto::MacAddress eth_dst) {
  Frame f(14 + proto::arp::kPacketLen);
  proto::ethernet::EthernetRepr{eth_dst, sha, proto::ethernet::kEtherTypeArp}.Emit(std::span(f).first(14));
  proto::arp::ArpRepr{oper, sha, *proto::Ipv4Address::Parse(spa), tha, *proto::Ipv4Address::Parse(tpa)}.Emit(
      std::span(f).subspan(14));
  return f;
}

const proto::MacAddress kOurMac = *proto::MacAddress::Parse("02:00:00:00:00:01");

// --neighbour-cache and --neighbour-pending (issue #10): a full ARP cache
// resolves nothing new (counted, the entries it has kept), and a neighbour
// being resolved holds at most N packets, the newest.
TEST(Flow, NeighbourCacheAndPendingLimits) {
  Config c = SimConfig();
  c.neighbour_cache = 16;
  c.neighbour_pending = 2;
  Sim sim(c);
  // Echo requests from 20 on-link hosts nobody has resolved: 16 ARP requests, 4 refused.
  std::size_t arp_requests = 0;
  for (std::uint32_t host = 100; host < 120; ++host) {
    sim.Send(WithIpv4Src(Vec(vectors::kIcmpEchoRequest), 0xc0000200u + host));
    for (const Frame& f : sim.Run()) arp_requests += proto::LoadBe16(f.data() + 12) == 0x0806 ? 1 : 0;
  }
  EXPECT_EQ(arp_requests, 16u);
  EXPECT_EQ(sim.Count("arp_drop_cache_full"), 4u);
  // Five more for 192.0.2.100, still unresolved: two held in all, the rest dropped.
  for (int i = 0; i < 5; ++i) {
    Frame f = WithIpv4Src(Vec(vectors::kIcmpEchoRequest), 0xc0000264u);
    f[14 + 20 + 7] = static_cast<std::byte>(100 + i);  // echo sequence (checksum fixed below)
    proto::StoreBe16(f.data() + 14 + 20 + 2, 0);
    proto::StoreBe16(f.data() + 14 + 20 + 2, proto::InternetChecksum(std::span(f).subspan(14 + 20)));
    sim.Send(f);
    sim.Run();
  }
  EXPECT_EQ(sim.Count("neighbour_drop_park_full"), 4u);  // 6 parked in turn, 2 kept
  sim.Send(ArpFrame(2, kPeerMac, "192.0.2.100", kOurMac, "192.0.2.2", kOurMac));
  const auto out = sim.Run();
  ASSERT_EQ(out.size(), 2u);  // the two newest echo replies
  EXPECT_EQ(static_cast<unsigned>(out[0][14 + 20 + 7]), 103u);
  EXPECT_EQ(static_cast<unsigned>(out[1][14 + 20 + 7]), 104u);
  // The 15 others never answer: their packets go when ARP gives up.
  sim.Run(Duration::Seconds(5));
  EXPECT_EQ(sim.Count("arp_resolve_failed"), 15u);
  EXPECT_EQ(sim.engine().pool().stats().cls[0].in_use, 0u);
}

Frame Probe(const char* ip) {
  return ArpFrame(1, kOurMac, "0.0.0.0", proto::MacAddress(), ip, proto::MacAddress::Broadcast());
}
Frame Announcement(const char* ip) {
  return ArpFrame(1, kOurMac, ip, proto::MacAddress(), ip, proto::MacAddress::Broadcast());
}

TEST(Flow, AcdFramesMatchScapy) {
  EXPECT_EQ(Probe("192.0.2.2"), Vec(vectors::kArpProbe));
  EXPECT_EQ(Announcement("192.0.2.2"), Vec(vectors::kArpAnnouncement));
}

TEST(Flow, AcdProbesThenAnnouncesThenAnswers) {
  Sim sim(SimConfig(1, "192.0.2.2/24", "on"));
  // While probing the address is not ours: a ping to it is not answered.
  sim.Send(Vec(vectors::kIcmpEchoRequest));
  const auto probing = sim.Run(Duration::Millis(10));
  for (const Frame& f : probing) EXPECT_EQ(f, Probe("192.0.2.2"));
  EXPECT_EQ(sim.Count("ipv4_drop_not_for_us"), 1u);
  auto out = sim.Run(Duration::Seconds(15));
  out.insert(out.begin(), probing.begin(), probing.end());
  ASSERT_EQ(out.size(), 5u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(out[i], Probe("192.0.2.2")) << i;
  for (int i = 3; i < 5; ++i) EXPECT_EQ(out[i], Announcement("192.0.2.2")) << i;
  EXPECT_EQ(sim.Count("arp_acd_probe"), 3u);
  EXPECT_EQ(sim.Count("arp_acd_announce"), 2u);
  EXPECT_EQ(sim.Count("arp_acd_claimed"), 1u);
  EXPECT_EQ(sim.Count("arp_acd_conflict"), 0u);
  // Claimed: ARP and ping work.
  sim.Send(Vec(vectors::kArpRequest));
  sim.Send(Vec(vectors::kIcmpEchoRequest));
  out = sim.Run();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0], Vec(vectors::kArpReply));
  EXPECT_EQ(out[1], Vec(vectors::kIcmpEchoReply));
}

TEST(Flow, AcdConflictLeavesTheAddressUnusedAndClaimsTheOthers) {
  Sim sim(SimConfig(1, "192.0.2.2/24,192.0.2.3/24", "on"));
  // Wait for the first probes, then the owner of 192.0.2.3 answers its probe.
  std::vector<Frame> out;
  while (sim.Count("arp_acd_probe") < 2) {
    const auto got = sim.Run(Duration::Millis(100));
    out.insert(out.end(), got.begin(), got.end());
  }
  sim.Send(ArpFrame(2, kPeerMac, "192.0.2.3", kOurMac, "0.0.0.0", kOurMac));
  const auto rest = sim.Run(Duration::Seconds(15));
  out.insert(out.end(), rest.begin(), rest.end());
  int probes3 = 0;
  int announcements2 = 0;
  for (const Frame& f : out) {
    EXPECT_NE(f, Announcement("192.0.2.3"));  // never claimed
    probes3 += f == Probe("192.0.2.3");
    announcements2 += f == Announcement("192.0.2.2");
  }
  EXPECT_LE(probes3, 2);
  EXPECT_EQ(announcements2, 2);
  EXPECT_EQ(sim.Count("arp_acd_conflict"), 1u);
  EXPECT_EQ(sim.Count("arp_acd_claimed"), 1u);
  // 192.0.2.3 is not ours: no ARP reply, no echo reply. 192.0.2.2 works.
  Frame ask3 = ArpFrame(1, kPeerMac, "192.0.2.1", proto::MacAddress(), "192.0.2.3", proto::MacAddress::Broadcast());
  sim.Send(ask3);
  EXPECT_TRUE(sim.Run().empty());
  sim.Send(Vec(vectors::kArpRequest));
  sim.Send(Vec(vectors::kIcmpEchoRequest));
  out = sim.Run();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1], Vec(vectors::kIcmpEchoReply));
}

TEST(Flow, AcdDefendsAClaimedAddress) {
  Sim sim(SimConfig(1, "192.0.2.2/24", "on"));
  sim.Run(Duration::Seconds(15));
  ASSERT_EQ(sim.Count("arp_acd_claimed"), 1u);
  // Another host announces our address: one announcement back in defence.
  sim.Send(ArpFrame(1, kPeerMac, "192.0.2.2", proto::MacAddress(), "192.0.2.2", proto::MacAddress::Broadcast()));
  auto out = sim.Run();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], Announcement("192.0.2.2"));
  EXPECT_EQ(sim.Count("arp_acd_defend"), 1u);
  // It insists within DEFEND_INTERVAL: the address is given up.
  sim.Run(Duration::Seconds(1));
  sim.Send(ArpFrame(1, kPeerMac, "192.0.2.2", proto::MacAddress(), "192.0.2.2", proto::MacAddress::Broadcast()));
  EXPECT_TRUE(sim.Run().empty());
  EXPECT_EQ(sim.Count("arp_acd_conflict"), 1u);
  sim.Send(Vec(vectors::kIcmpEchoRequest));
  EXPECT_TRUE(sim.Run().empty());
}

// --- DHCPv4 client -----------------------------------------------------------

constexpr std::size_t kDhcpAt = 14 + 20 + 8;  // the DHCP message in a frame

Config DhcpConfig(const char* acd = "on") {
  Config c = SimConfig(1, "", acd);
  c.dhcp4 = true;
  return c;
}

std::uint32_t XidOf(const Frame& f) { return proto::LoadBe32(f.data() + kDhcpAt + 4); }

// A scapy server frame answering transaction `xid` (UDP checksum zeroed:
// "not computed", RFC 768).
Frame ServerFrame(Frame f, std::uint32_t xid) {
  proto::StoreBe32(f.data() + kDhcpAt + 4, xid);
  proto::StoreBe16(f.data() + 40, 0);
  return f;
}

// Checks `f` is a DHCP client frame from `src` to `dst` whose message is
// `want` (a scapy vector made with xid 0x5eed0001) in transaction `xid`.
void ExpectClientFrame(const Frame& f, std::uint32_t src, std::uint32_t dst, Frame want, std::uint32_t xid) {
  ASSERT_EQ(f.size(), kDhcpAt + want.size());
  EXPECT_EQ(proto::LoadBe16(f.data() + 12), 0x0800u);
  EXPECT_EQ(static_cast<unsigned>(f[14 + 9]), 17u);  // UDP
  EXPECT_EQ(proto::LoadBe32(f.data() + 14 + 12), src);
  EXPECT_EQ(proto::LoadBe32(f.data() + 14 + 16), dst);
  EXPECT_EQ(proto::LoadBe16(f.data() + 34), 68u);
  EXPECT_EQ(proto::LoadBe16(f.data() + 36), 67u);
  proto::Checksum c;  // the UDP checksum verifies over the pseudo-header
  proto::AddPseudoHeader(c, proto::Ipv4Address(src), proto::Ipv4Address(dst), 17,
                         static_cast<std::uint32_t>(f.size() - 34));
  c.Add(std::span(f).subspan(34));
  EXPECT_EQ(c.Folded(), 0xffffu);
  proto::StoreBe32(want.data() + 4, xid);
  EXPECT_TRUE(std::equal(want.begin(), want.end(), f.begin() + kDhcpAt));
}

std::vector<Frame> OfType(const std::vector<Frame>& frames, std::uint16_t ethertype) {
  std::vector<Frame> out;
  for (const Frame& f : frames) {
    if (proto::LoadBe16(f.data() + 12) == ethertype) out.push_back(f);
  }
  return out;
}

TEST(Flow, DhcpFullExchangeProbesTheAddressThenBindsAndRenews) {
  Sim sim(DhcpConfig());
  auto out = sim.Run();
  ASSERT_EQ(out.size(), 1u);
  const std::uint32_t xid = XidOf(out[0]);
  EXPECT_EQ(std::memcmp(out[0].data(), "\xff\xff\xff\xff\xff\xff", 6), 0);  // broadcast
  ExpectClientFrame(out[0], 0, 0xffffffff, Vec(vectors::kDhcpDiscover), xid);

  sim.Send(ServerFrame(Vec(vectors::kDhcpOffer), xid));
  out = sim.Run();
  ASSERT_EQ(out.size(), 1u);
  ExpectClientFrame(out[0], 0, 0xffffffff, Vec(vectors::kDhcpRequestSelecting), xid);

  // The ACK: the address is probed (RFC 5227) before it is used.
  sim.Send(ServerFrame(Vec(vectors::kDhcpAck), xid));
  out = sim.Run(Duration::Seconds(10));
  ASSERT_EQ(out.size(), 5u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(out[i], Probe("192.0.2.50"));
  for (int i = 3; i < 5; ++i) EXPECT_EQ(out[i], Announcement("192.0.2.50"));
  EXPECT_EQ(sim.Count("dhcp4_bound"), 1u);
  const auto& host = sim.engine().worker(0).ipv4_host();
  EXPECT_TRUE(host.IsLocal(*proto::Ipv4Address::Parse("192.0.2.50")));
  EXPECT_EQ(host.Lookup(*proto::Ipv4Address::Parse("203.0.113.1"))->next_hop.ToString(), "192.0.2.1");  // router

  // In use: the server's ARP for it is answered.
  sim.Send(ArpFrame(1, kPeerMac, "192.0.2.1", proto::MacAddress(), "192.0.2.50", proto::MacAddress::Broadcast()));
  out = sim.Run();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], ArpFrame(2, kOurMac, "192.0.2.50", kPeerMac, "192.0.2.1", kPeerMac));

  // T1 (60 s after the REQUEST): a unicast REQUEST to the server, from the address.
  out = OfType(sim.Run(Duration::Seconds(51)), 0x0800);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(std::memcmp(out[0].data(), "\x52\x54\x00\x12\x34\x56", 6), 0);  // to the server's MAC
  const std::uint32_t renew_xid = XidOf(out[0]);
  ExpectClientFrame(out[0], 0xc0000232, 0xc0000201, Vec(vectors::kDhcpRequestRenewing), renew_xid);
  sim.Send(ServerFrame(Vec(vectors::kDhcpAck), renew_xid));
  sim.Run();
  EXPECT_EQ(sim.Count("dhcp4_renewed"), 1u);
  EXPECT_TRUE(host.IsLocal(*proto::Ipv4Address::Parse("192.0.2.50")));
}

TEST(Flow, DhcpDeclinesAnAddressAnotherHostAnswersFor) {
  Sim sim(DhcpConfig());
  std::uint32_t xid = XidOf(sim.Run()[0]);
  sim.Send(ServerFrame(Vec(vectors::kDhcpOffer), xid));
  sim.Run();
  sim.Send(ServerFrame(Vec(vectors::kDhcpAck), xid));
  // Wait for the first probe, then the holder of 192.0.2.50 answers it.
  while (sim.Count("arp_acd_probe") == 0) sim.Run(Duration::Millis(50));
  sim.Send(ArpFrame(2, kPeerMac, "192.0.2.50", kOurMac, "0.0.0.0", kOurMac));
  auto out = OfType(sim.Run(), 0x0800);
  ASSERT_EQ(out.size(), 1u);
  ExpectClientFrame(out[0], 0, 0xffffffff, Vec(vectors::kDhcpDecline), xid);
  EXPECT_EQ(sim.Count("dhcp4_declined"), 1u);
  EXPECT_FALSE(sim.engine().worker(0).ipv4_host().Find(*proto::Ipv4Address::Parse("192.0.2.50")));
  // Ten seconds later it starts over.
  EXPECT_TRUE(OfType(sim.Run(Duration::Seconds(9)), 0x0800).empty());
  out = OfType(sim.Run(Duration::Seconds(2)), 0x0800);
  ASSERT_EQ(out.size(), 1u);
  ExpectClientFrame(out[0], 0, 0xffffffff, Vec(vectors::kDhcpDiscover), XidOf(out[0]));
}

TEST(Flow, DhcpLeaseExpiryTakesTheAddressAway) {
  Sim sim(DhcpConfig("off"));  // no address check: bound on the ACK
  std::uint32_t xid = XidOf(sim.Run()[0]);
  sim.Send(ServerFrame(Vec(vectors::kDhcpOffer), xid));
  sim.Run();
  sim.Send(ServerFrame(Vec(vectors::kDhcpAck), xid));
  sim.Run();
  const auto ours = *proto::Ipv4Address::Parse("192.0.2.50");
  ASSERT_TRUE(sim.engine().worker(0).ipv4_host().IsLocal(ours));
  // Nobody answers the renewals: at 120 s the lease is gone.
  sim.Run(Duration::Seconds(119));
  EXPECT_TRUE(sim.engine().worker(0).ipv4_host().IsLocal(ours));
  sim.Run(Duration::Seconds(2));
  EXPECT_FALSE(sim.engine().worker(0).ipv4_host().IsLocal(ours));
  EXPECT_EQ(sim.Count("dhcp4_lost"), 1u);
}

TEST(Flow, DhcpInitRebootAsksForThePreviousAddress) {
  Config c = DhcpConfig("off");
  c.dhcp4_previous = *proto::Ipv4Address::Parse("192.0.2.50");
  Sim sim(c);
  const auto out = sim.Run();
  ASSERT_EQ(out.size(), 1u);
  const std::uint32_t xid = XidOf(out[0]);
  // RFC 2131 4.3.2: a broadcast REQUEST with the address and no server id.
  const auto m = proto::dhcp4::Dhcp4Repr::Parse(std::span(out[0]).subspan(kDhcpAt));
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->type, proto::dhcp4::MessageType::kRequest);
  EXPECT_EQ(m->requested_ip->ToString(), "192.0.2.50");
  EXPECT_FALSE(m->server_id);
  EXPECT_TRUE(m->ciaddr.IsUnspecified());
  sim.Send(ServerFrame(Vec(vectors::kDhcpAck), xid));
  sim.Run();
  EXPECT_EQ(sim.Count("dhcp4_bound"), 1u);
  EXPECT_TRUE(sim.engine().worker(0).ipv4_host().IsLocal(*proto::Ipv4Address::Parse("192.0.2.50")));
}

TEST(Flow, DhcpLeaseOfAStaticAddressLeavesItConfigured) {
  Config c = SimConfig(1, "192.0.2.50/24", "on");
  c.dhcp4 = true;
  Sim sim(c);
  sim.Run(Duration::Seconds(10));  // the static address is claimed; DISCOVERs go out
  std::uint32_t xid = 0;
  for (const Frame& f : OfType(sim.Run(Duration::Seconds(10)), 0x0800)) xid = XidOf(f);
  ASSERT_NE(xid, 0u);
  sim.Send(ServerFrame(Vec(vectors::kDhcpOffer), xid));
  sim.Run();
  sim.Send(ServerFrame(Vec(vectors::kDhcpAck), xid));
  sim.Run();
  EXPECT_EQ(sim.Count("dhcp4_bound"), 1u);
  // Expiry (nobody renews) must not take the configured address away.
  sim.Run(Duration::Seconds(130));
  EXPECT_EQ(sim.Count("dhcp4_lost"), 1u);
  EXPECT_TRUE(sim.engine().worker(0).ipv4_host().IsLocal(*proto::Ipv4Address::Parse("192.0.2.50")));
}

TEST(Flow, DhcpIgnoresOtherTransactionsAndMalformedMessages) {
  Sim sim(DhcpConfig());
  const std::uint32_t xid = XidOf(sim.Run()[0]);
  sim.Send(ServerFrame(Vec(vectors::kDhcpOffer), xid + 1));
  EXPECT_TRUE(sim.Run().empty());
  EXPECT_EQ(sim.Count("dhcp4_rx_ignored"), 1u);
  Frame bad = ServerFrame(Vec(vectors::kDhcpOffer), xid);
  bad[kDhcpAt + 236] = std::byte{0};  // magic cookie
  sim.Send(bad);
  EXPECT_TRUE(sim.Run().empty());
  EXPECT_EQ(sim.Count("dhcp4_drop_unsupported_type"), 1u);
  Frame bad_sum = Vec(vectors::kDhcpOffer);
  bad_sum[kDhcpAt + 4] ^= std::byte{1};  // xid changed, checksum kept: wrong
  sim.Send(bad_sum);
  EXPECT_TRUE(sim.Run().empty());
  EXPECT_EQ(sim.Count("udp_drop_bad_checksum"), 1u);
}

// --- IPv6: DAD, ND, router discovery, SLAAC, MLDv2 ------------------------------

Config Ipv6Config(const char* ip6) {
  Config c = SimConfig(1, "192.0.2.2/24", "off", "on");
  if (*ip6 != 0) c.ip6.push_back(*proto::Ipv6Interface::Parse(ip6));
  return c;
}

std::vector<Frame> OfIcmpv6Type(const std::vector<Frame>& frames, unsigned type) {
  std::vector<Frame> out;
  for (const Frame& f : frames) {
    if (proto::LoadBe16(f.data() + 12) != 0x86dd) continue;
    // Skip one hop-by-hop header (MLD reports carry one).
    const std::size_t at = static_cast<unsigned>(f[14 + 6]) == 0 ? 14 + 40 + 8 : 14 + 40;
    if (static_cast<unsigned>(f[at]) == type) out.push_back(f);
  }
  return out;
}

// The seed's sequence: link-local DAD, a static address refused because
// another host answers for it, RS -> RA -> SLAAC address with DAD, and MLDv2
// reports for the solicited-node groups.
TEST(Flow, Ipv6LinkLocalDadStaticRefusedRsRaSlaac) {
  Sim sim(Ipv6Config("2001:db8:0:1::2/64"));
  auto out = sim.Run(Duration::Millis(10));
  // Joining ff02::1:ff00:1 and ff02::1:ff00:2 is reported at once (from ::,
  // nothing being usable yet), before any DAD probe.
  const auto reports = OfIcmpv6Type(out, 143);
  ASSERT_EQ(reports.size(), 2u);
  EXPECT_EQ(reports[0], Vec(vectors::kMldv2ReportJoinFromUnspecified));  // exactly as scapy builds it
  // The owner of 2001:db8:0:1::2 says so: the static address is refused.
  sim.Send(Vec(vectors::kNdNaDefendsStatic));
  out = sim.Run(Duration::Seconds(3));
  const auto dad = OfIcmpv6Type(out, 135);
  ASSERT_GE(dad.size(), 1u);
  EXPECT_NE(std::find(dad.begin(), dad.end(), Vec(vectors::kNdDadProbe)), dad.end());  // exact DAD NS for the link-local
  EXPECT_EQ(sim.Count("nd_dad_duplicate"), 1u);
  const auto& host = sim.engine().worker(0);
  EXPECT_EQ(host.ipv6_host().Find(*proto::Ipv6Address::Parse("2001:db8:0:1::2"))->state,
            proto::ipv6::AddrState::kDuplicate);
  EXPECT_TRUE(host.ipv6_host().IsLocal(*proto::Ipv6Address::Parse("fe80::ff:fe00:1")));
  // Then a router solicitation, exactly as scapy builds it.
  const auto rs = OfIcmpv6Type(out, 133);
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0], Vec(vectors::kNdRs));
  // The RA: a SLAAC address from its /64, probed before use.
  sim.Send(Vec(vectors::kNdRa));
  out = sim.Run(Duration::Seconds(3));
  const auto slaac = *proto::Ipv6Address::Parse("2001:db8:0:1:0:ff:fe00:1");
  const auto slaac_dad = OfIcmpv6Type(out, 135);
  ASSERT_EQ(slaac_dad.size(), 1u);
  EXPECT_EQ(slaac_dad[0], Vec(vectors::kNdDadProbeSlaac));  // its DAD NS, exactly
  EXPECT_EQ(sim.Count("nd_dad_ns"), 2u);  // link-local and SLAAC: the static one was refused before its turn
  EXPECT_EQ(sim.Count("nd_rx_ra"), 1u);
  EXPECT_TRUE(host.ipv6_host().IsLocal(slaac));
  EXPECT_EQ(host.ipv6_host().routers().size(), 1u);
  EXPECT_TRUE(OfIcmpv6Type(sim.Run(Duration::Seconds(30)), 133).empty());  // no more RS after the RA
  // A general query gets one report listing every group.
  sim.Send(Vec(vectors::kMldv2GeneralQuery));
  const auto answer = OfIcmpv6Type(sim.Run(Duration::Seconds(11)), 143);
  ASSERT_EQ(answer.size(), 1u);
  EXPECT_EQ(proto::LoadBe16(answer[0].data() + 14 + 40 + 8 + 6), 1u);  // ff02::1:ff00:1 (ff02::1:ff00:2 was left)
  EXPECT_EQ(sim.Count("mld_rx_query"), 1u);
}

TEST(Flow, Ipv6NeighborSolicitationGetsTheExactAdvertisement) {
  Sim sim(Ipv6Config(""));
  sim.Run(Duration::Seconds(3));  // link-local DAD done
  sim.Send(Vec(vectors::kNdNsFromPeer));
  const auto na = OfIcmpv6Type(sim.Run(), 136);
  ASSERT_EQ(na.size(), 1u);
  EXPECT_EQ(na[0], Vec(vectors::kNdNaSolicited));
}

TEST(Flow, MulticastFramesForGroupsNotJoinedAreFilteredBelowIp) {
  Sim sim(Ipv6Config(""));
  sim.Run(Duration::Seconds(3));
  Frame other_group = Vec(vectors::kNdNsFromPeer);
  other_group[5] = std::byte{0x09};  // 33:33:ff:00:00:09, not a group of ours
  sim.Send(other_group);
  Frame ipv4_group = Vec(vectors::kArpRequest);
  std::memcpy(ipv4_group.data(), "\x01\x00\x5e\x00\x00\xfb", 6);  // 224.0.0.251's MAC
  sim.Send(ipv4_group);
  EXPECT_TRUE(sim.Run().empty());
  EXPECT_EQ(sim.Count("eth_drop_multicast_filtered"), 2u);
  sim.Send(Vec(vectors::kNdNsFromPeer));  // to our solicited-node group: taken
  EXPECT_EQ(OfIcmpv6Type(sim.Run(), 136).size(), 1u);
}

TEST(Flow, Ipv6EchoResolvesTheNeighbourThenRepliesExactly) {
  Sim sim(Ipv6Config("2001:db8:0:1::2/64"));
  sim.Run(Duration::Seconds(3));
  sim.Send(Vec(vectors::kIpv6EchoRequest));
  auto out = sim.Run();
  // The reply waits on an NS for 2001:db8:0:1::1.
  const auto ns = OfIcmpv6Type(out, 135);
  ASSERT_EQ(ns.size(), 1u);
  EXPECT_EQ(proto::Ipv6Address::FromBytes(ns[0].data() + 14 + 40 + 8).ToString(), "2001:db8:0:1::1");
  sim.Send(Vec(vectors::kNdNaFromPeerGlobal));
  out = OfIcmpv6Type(sim.Run(), 129);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], Vec(vectors::kIpv6EchoReply));
  EXPECT_EQ(sim.Count("icmp6_tx_echo_reply"), 1u);
}

// RFC 4291 2.7: a multicast address is never a source; such a packet is
// dropped at the parse, counted, and not answered (its ICMPv6 checksum is
// right for the multicast source: only the source is wrong).
TEST(Flow, Ipv6EchoFromAMulticastSourceIsNotAnswered) {
  Sim sim(Ipv6Config("2001:db8:0:1::2/64"));
  sim.Run(Duration::Seconds(3));
  Frame f = Vec(vectors::kIpv6EchoRequest);
  const auto group = *proto::Ipv6Address::Parse("ff02::1");
  group.CopyTo(f.data() + 14 + 8);
  const auto dst = proto::Ipv6Address::FromBytes(f.data() + 14 + 24);
  std::vector<std::byte> icmp(f.begin() + 54, f.end());
  proto::icmpv6::Icmpv6Repr{128, 0, {}}.EmitHeader(icmp, group, dst);
  std::copy(icmp.begin(), icmp.end(), f.begin() + 54);
  sim.Send(f);
  EXPECT_TRUE(sim.Run().empty());
  EXPECT_EQ(sim.Count("ipv6_drop_bad_source_address"), 1u);
  EXPECT_EQ(sim.Count("icmp6_rx_echo_request"), 0u);
  // From 2001:db8:0:1::1 it is answered (once the neighbour is resolved).
  sim.Send(Vec(vectors::kIpv6EchoRequest));
  EXPECT_EQ(OfIcmpv6Type(sim.Run(), 135).size(), 1u);
  sim.Send(Vec(vectors::kNdNaFromPeerGlobal));
  EXPECT_EQ(OfIcmpv6Type(sim.Run(), 129).size(), 1u);
}

TEST(Flow, Ipv6UnknownOptionGetsParameterProblem) {
  Sim sim(Ipv6Config("2001:db8:0:1::2/64"));
  sim.Run(Duration::Seconds(3));
  sim.Send(Vec(vectors::kNdNaFromPeerGlobal));  // no entry yet: ignored (7.2.5)
  sim.Send(Vec(vectors::kIpv6UnknownOption));
  auto out = sim.Run();
  // Resolution first (a multicast NS), then the error once the NA comes.
  sim.Send(Vec(vectors::kNdNaFromPeerGlobal));
  out = OfIcmpv6Type(sim.Run(), 4);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(static_cast<unsigned>(out[0][14 + 40 + 1]), 2u);                  // code 2: unrecognised option
  EXPECT_EQ(proto::LoadBe32(out[0].data() + 14 + 40 + 4), 42u);                // pointer to the option type
  EXPECT_EQ(out[0], Vec(vectors::kIcmpv6ParamProblem));                       // exactly as scapy builds it
  EXPECT_EQ(sim.Count("icmp6_tx_param_problem"), 1u);
}

// An ICMPv6 echo request of 4000 data bytes from 2001:db8:0:1::1, cut into
// fragments of `chunk` bytes (each with a Fragment header, ident 0x77).
// A fragment (identification 0x77) of the ICMPv6 message `icmp` from the
// kIpv6EchoRequest vector's sender: bytes [off, off + n).
Frame Fragment6Of(const std::vector<std::byte>& icmp, std::size_t off, std::size_t n) {
  const Frame base = Vec(vectors::kIpv6EchoRequest);
  Frame f(base.begin(), base.begin() + 54);
  f.resize(54 + 8);
  f[14 + 6] = std::byte{44};  // next header: fragment
  proto::StoreBe16(f.data() + 14 + 4, static_cast<std::uint16_t>(8 + n));
  f[54] = std::byte{58};
  proto::StoreBe16(f.data() + 56, static_cast<std::uint16_t>(off | (off + n < icmp.size() ? 1 : 0)));
  proto::StoreBe32(f.data() + 58, 0x77);
  f.insert(f.end(), icmp.begin() + static_cast<long>(off), icmp.begin() + static_cast<long>(off + n));
  return f;
}

std::vector<Frame> FragmentedEcho6(std::size_t chunk, std::vector<std::byte>& icmp_out) {
  const Frame base = Vec(vectors::kIpv6EchoRequest);
  const auto src = proto::Ipv6Address::FromBytes(base.data() + 14 + 8);
  const auto dst = proto::Ipv6Address::FromBytes(base.data() + 14 + 24);
  icmp_out.assign(base.begin() + 54, base.begin() + 62);
  for (int i = 0; i < 4000; ++i) icmp_out.push_back(std::byte(i * 11 & 0xff));
  proto::icmpv6::Icmpv6Repr{128, 0, {}}.EmitHeader(icmp_out, src, dst);
  std::vector<Frame> frames;
  for (std::size_t off = 0; off < icmp_out.size(); off += chunk) {
    frames.push_back(Fragment6Of(icmp_out, off, std::min(chunk, icmp_out.size() - off)));
  }
  return frames;
}

// RFC 5722 with erratum 3089: a fragment that overlaps another — even with
// the very bytes the datagram has there — discards the whole datagram and
// every later fragment of it, silently (no Time Exceeded when its time is
// up); an exact duplicate of a fragment is only ignored.
TEST(Flow, Ipv6OverlapWithTheSameBytesDiscardsTheDatagram) {
  Sim sim(Ipv6Config("2001:db8:0:1::2/64"));
  sim.Run(Duration::Seconds(3));
  std::vector<std::byte> request;
  const auto frags = FragmentedEcho6(808, request);  // 5 fragments
  sim.Send(frags[0]);
  sim.Send(Fragment6Of(request, 400, 808));  // bytes 400..1207: half of 0, half of 1, unchanged
  for (int i : {1, 2, 3, 4}) sim.Send(frags[i]);
  sim.Run();
  EXPECT_EQ(sim.Count("ipv6_frag_drop_overlap"), 1u);
  EXPECT_EQ(sim.Count("ipv6_frag_drop_discarded"), 4u);
  EXPECT_EQ(sim.Count("ipv6_rx_reassembled"), 0u);
  EXPECT_EQ(sim.Count("icmp6_tx_echo_reply"), 0u);
  EXPECT_TRUE(OfIcmpv6Type(sim.Run(Duration::Seconds(62)), 3).empty());
  EXPECT_EQ(sim.Count("ipv6_reassembly_timeout"), 0u);
  // Its time is up: the same identification may start a datagram again,
  // and an exact duplicate in it is only ignored.
  for (int i : {0, 1, 1, 2, 3, 4}) sim.Send(frags[i]);
  sim.Run();
  EXPECT_EQ(sim.Count("ipv6_frag_duplicate"), 1u);
  EXPECT_EQ(sim.Count("ipv6_rx_reassembled"), 1u);
  EXPECT_EQ(sim.Count("icmp6_tx_echo_reply"), 1u);
}

TEST(Flow, Ipv6UdpToAClosedPortGetsTheExactPortUnreachable) {
  Sim sim(Ipv6Config("2001:db8:0:1::2/64"));
  sim.Run(Duration::Seconds(3));
  sim.Send(Vec(vectors::kUdp6ToClosedPort));
  sim.Run();
  sim.Send(Vec(vectors::kNdNaFromPeerGlobal));
  const auto out = OfIcmpv6Type(sim.Run(), 1);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], Vec(vectors::kIcmpv6PortUnreachable));
  // A zero UDP checksum is not allowed over IPv6 (RFC 8200 8.1): dropped and
  // counted, no error sent.
  Frame zero = Vec(vectors::kUdp6ToClosedPort);
  proto::StoreBe16(zero.data() + 54 + 6, 0);
  sim.Send(zero);
  EXPECT_TRUE(OfIcmpv6Type(sim.Run(), 1).empty());
  EXPECT_EQ(sim.Count("udp_drop_bad_checksum"), 1u);
}

TEST(Flow, Ipv6FragmentedEchoInAnyOrderGetsAFragmentedReply) {
  for (const std::vector<int>& order : std::vector<std::vector<int>>{{0, 1, 2, 3, 4}, {4, 3, 2, 1, 0}, {2, 1, 0, 3, 4}}) {
    Sim sim(Ipv6Config("2001:db8:0:1::2/64"));
    sim.Run(Duration::Seconds(3));
    std::vector<std::byte> request;
    const auto frags = FragmentedEcho6(808, request);  // 4008 bytes -> 5 fragments
    ASSERT_EQ(frags.size(), 5u);
    for (int i : order) sim.Send(frags[i]);
    sim.Run();
    sim.Send(Vec(vectors::kNdNaFromPeerGlobal));  // resolution of 2001:db8:0:1::1
    const auto out = OfType(sim.Run(), 0x86dd);
    // 4008 bytes in fragments of 1448 (1500 - 40 - 8, rounded down to 8).
    ASSERT_EQ(out.size(), 3u);
    std::vector<std::byte> reply;
    for (const Frame& f : out) {
      ASSERT_EQ(static_cast<unsigned>(f[14 + 6]), 44u);
      const std::uint16_t word = proto::LoadBe16(f.data() + 56);
      EXPECT_EQ(word & 0xfff8u, reply.size());
      EXPECT_EQ((word & 1) != 0, &f != &out.back());
      EXPECT_LE(f.size(), 14u + 1500);
      reply.insert(reply.end(), f.begin() + 62, f.end());
    }
    ASSERT_EQ(reply.size(), request.size());
    EXPECT_EQ(static_cast<unsigned>(reply[0]), 129u);
    EXPECT_TRUE(std::equal(reply.begin() + 4, reply.end(), request.begin() + 4));
    EXPECT_EQ(sim.Count("ipv6_rx_reassembled"), 1u);
    EXPECT_EQ(sim.Count("ipv6_tx_fragment"), 3u);
  }
}

TEST(Flow, Ipv6ReassemblyTimeoutSendsTimeExceededAndOverlapsDrop) {
  Sim sim(Ipv6Config("2001:db8:0:1::2/64"));
  sim.Run(Duration::Seconds(3));
  std::vector<std::byte> request;
  auto frags = FragmentedEcho6(808, request);
  sim.Send(frags[0]);
  sim.Send(frags[2]);
  EXPECT_TRUE(OfIcmpv6Type(sim.Run(Duration::Seconds(59)), 3).empty());
  sim.Run(Duration::Seconds(2));  // RFC 8200: 60 s; the error waits on resolving the sender
  sim.Send(Vec(vectors::kNdNaFromPeerGlobal));
  const auto te = OfIcmpv6Type(sim.Run(), 3);
  ASSERT_EQ(te.size(), 1u);
  EXPECT_EQ(static_cast<unsigned>(te[0][14 + 40 + 1]), 1u);  // fragment reassembly time exceeded
  // The quote is fragment zero: header, Fragment header, data.
  EXPECT_TRUE(std::equal(te[0].begin() + 14 + 48, te[0].begin() + 14 + 48 + 40 + 8 + 32, frags[0].begin() + 14));
  EXPECT_EQ(sim.Count("ipv6_reassembly_timeout"), 1u);
  // Overlap with different bytes drops the datagram (RFC 5722).
  Frame evil = frags[1];
  evil[70] ^= std::byte{0xff};
  for (int i : {1}) sim.Send(frags[i]);
  sim.Send(evil);
  for (int i : {0, 2, 3, 4}) sim.Send(frags[i]);
  EXPECT_TRUE(OfIcmpv6Type(sim.Run(), 129).empty());
  EXPECT_EQ(sim.Count("ipv6_frag_drop_overlap"), 1u);
}

TEST(Flow, Ipv6PacketTooBigLowersThePathMtu) {
  Sim sim(Ipv6Config("2001:db8:0:1::2/64"));
  sim.Run(Duration::Seconds(3));
  sim.Send(Vec(vectors::kNdNaFromPeerGlobal));
  // A PTB (mtu 1280) about a packet we sent to 2001:db8:0:1::1, from a router.
  const Frame echo = Vec(vectors::kIpv6EchoRequest);
  Frame ptb(echo.begin(), echo.begin() + 54);
  proto::Ipv6Address::FromBytes(echo.data() + 14 + 24).CopyTo(ptb.data() + 14 + 8);  // from "a router": ::2's peer
  const unsigned char ptb_hdr[] = {2, 0, 0, 0, 0, 0, 0x05, 0x00};  // type 2, mtu 1280
  ptb.insert(ptb.end(), reinterpret_cast<const std::byte*>(ptb_hdr), reinterpret_cast<const std::byte*>(ptb_hdr) + 8);
  Frame quoted(echo.begin() + 14, echo.begin() + 54);  // our packet: ::2 -> ::1
  proto::Ipv6Address::FromBytes(echo.data() + 14 + 24).CopyTo(quoted.data() + 8);
  proto::Ipv6Address::FromBytes(echo.data() + 14 + 8).CopyTo(quoted.data() + 24);
  ptb.insert(ptb.end(), quoted.begin(), quoted.end());
  proto::Ipv6Address::FromBytes(echo.data() + 14 + 8).CopyTo(ptb.data() + 14 + 8);   // src ::1
  proto::Ipv6Address::FromBytes(echo.data() + 14 + 24).CopyTo(ptb.data() + 14 + 24); // dst ::2
  proto::StoreBe16(ptb.data() + 14 + 4, static_cast<std::uint16_t>(ptb.size() - 54));
  const auto src = proto::Ipv6Address::FromBytes(ptb.data() + 14 + 8);
  const auto dst = proto::Ipv6Address::FromBytes(ptb.data() + 14 + 24);
  proto::icmpv6::Icmpv6Repr{2, 0, {}}.EmitHeader(std::span(ptb).subspan(54), src, dst);
  sim.Send(ptb);
  sim.Run();
  EXPECT_EQ(sim.Count("icmp6_rx_packet_too_big"), 1u);
  // A 1400-byte echo now comes back in 1280-byte fragments.
  std::vector<std::byte> request;
  auto frags = FragmentedEcho6(1400, request);  // 4008 bytes as 1400+1400+1208
  for (const Frame& f : frags) sim.Send(f);
  sim.Run();
  sim.Send(Vec(vectors::kNdNaFromPeerGlobal));  // resolution of 2001:db8:0:1::1
  const auto out = OfType(sim.Run(), 0x86dd);
  ASSERT_FALSE(out.empty());
  for (const Frame& f : out) EXPECT_LE(f.size() - 14, 1280u);
  EXPECT_EQ(out.size(), 4u);  // 4008 / 1232
}

// A threaded engine (real clock, blocking idle) on a simulated wire, started;
// the test is the host at `peer`'s end. Members in this order, so the engine
// stops before its wire and clock go.
struct ThreadedSim {
  SteadyClock clock;
  std::unique_ptr<SimLink> peer;
  std::unique_ptr<Engine> engine;
};
std::unique_ptr<ThreadedSim> StartThreaded(Config c) {
  auto t = std::make_unique<ThreadedSim>();
  auto [peer, mine] = SimLink::Pair(t->clock);
  t->peer = std::move(peer);
  c.poll = PollMode::kBlock;
  auto engine = Engine::CreateWithLink(c, std::move(mine), t->clock);
  if (!engine.ok()) {
    ADD_FAILURE() << engine.status();
    return nullptr;
  }
  t->engine = std::move(*engine);
  if (absl::Status st = t->engine->Start(); !st.ok()) {
    ADD_FAILURE() << st;
    return nullptr;
  }
  return t;
}

// The threaded runner, real clock, blocking idle: every request answered,
// with a thread per stage and fused (--fuse: thread k runs worker k, thread
// 0 also RX and the timer; TX its own). (This is also the test the TSan
// build runs.)
TEST(Threaded, BlockModePipelineAnswersEveryPing) {
  for (const bool fuse : {false, true}) {
    for (int workers : {1, 2}) {
      SCOPED_TRACE(fuse ? "--fuse on" : "--fuse off");
      Config c = SimConfig(workers);
      c.fuse = fuse;
      const auto t = StartThreaded(c);
      ASSERT_NE(t, nullptr);
      const auto& clock = t->clock;
      SimLink* peer = t->peer.get();
      Engine* engine = t->engine.get();
      // Fused: one thread per worker, RX and the timer on worker 0's, TX its own.
      std::map<std::string, int> tid;
      for (const ThreadInfo& t : engine->threads()) tid[t.stage] = t.tid;
      ASSERT_EQ(tid.size(), static_cast<std::size_t>(workers) + 3);
      EXPECT_NE(tid["tx"], tid["w0"]);
      if (fuse) {
        EXPECT_EQ(tid["rx"], tid["w0"]);
        EXPECT_EQ(tid["timer"], tid["w0"]);
        if (workers == 2) {
          EXPECT_NE(tid["w1"], tid["w0"]);
        }
      } else {
        EXPECT_NE(tid["rx"], tid["w0"]);
        EXPECT_NE(tid["timer"], tid["w0"]);
      }
      peer->SendBytes(Vec(vectors::kArpRequest));
      // At most 32 requests in flight, so the rings never fill: any loss here
      // would be a lost wake-up, not a counted drop.
      constexpr int kPings = 2000;
      int sent = 0;
      int got = 0;
      const auto deadline = clock.Now() + Duration::Seconds(20);
      while (got < kPings + 1 && clock.Now() < deadline) {
        if (sent < kPings && sent - (got - 1) < 32) {
          peer->SendBytes(Vec(vectors::kIcmpEchoRequest));
          ++sent;
        }
        while (peer->ReceiveBytes()) ++got;
      }
      engine->Stop();
      EXPECT_EQ(got, kPings + 1) << workers << " workers";  // + the ARP reply
      EXPECT_EQ(engine->counter("icmp4_tx_echo_reply"), static_cast<std::uint64_t>(kPings));
    }
  }
}

// --tx-inline (the default): a worker writes its own frames when none of its
// frames waits for the TX thread, so with one ping at a time the workers
// write every reply; off, the TX thread writes them all. Either way every
// reply comes, in order of the requests' sequence numbers.
TEST(Threaded, InlineTxWritesFromTheWorkerAndKeepsOrder) {
  for (const bool fuse : {false, true}) {
    for (const bool inline_tx : {true, false}) {
      SCOPED_TRACE(inline_tx ? "--tx-inline on" : "--tx-inline off");
      SCOPED_TRACE(fuse ? "--fuse on" : "--fuse off");
      Config c = SimConfig(1);
      c.tx_inline = inline_tx;
      c.fuse = fuse;
      const auto t = StartThreaded(c);
      ASSERT_NE(t, nullptr);
      const auto& clock = t->clock;
      SimLink* peer = t->peer.get();
      Engine* engine = t->engine.get();
      peer->SendBytes(Vec(vectors::kArpRequest));
      // A burst of 200 requests, numbered; the replies must come back in order.
      Frame request = Vec(vectors::kIcmpEchoRequest);
      for (int i = 0; i < 200; ++i) {
        Frame r = request;
        proto::StoreBe16(r.data() + 14 + 20 + 6, static_cast<std::uint16_t>(i));  // the sequence number
        proto::StoreBe16(r.data() + 14 + 20 + 2, 0);
        proto::StoreBe16(r.data() + 14 + 20 + 2,
                         proto::InternetChecksum(std::span<const std::byte>(r).subspan(14 + 20)));
        peer->SendBytes(r);
      }
      std::vector<int> seqs;
      const auto deadline = clock.Now() + Duration::Seconds(20);
      while (seqs.size() < 200 && clock.Now() < deadline) {
        while (auto f = peer->ReceiveBytes()) {
          if (proto::LoadBe16(f->data() + 12) == 0x0800) seqs.push_back(proto::LoadBe16(f->data() + 14 + 20 + 6));
        }
      }
      engine->Stop();
      ASSERT_EQ(seqs.size(), 200u);
      for (int i = 0; i < 200; ++i) EXPECT_EQ(seqs[static_cast<std::size_t>(i)], i);
      std::uint64_t by_worker = 0, by_tx = 0;
      engine->counters().ForEachScoped([&](std::string_view name, std::string_view scope, std::uint64_t v) {
        if (name != "tx_frames") return;
        (scope == "tx" ? by_tx : by_worker) += v;
      });
      EXPECT_EQ(by_worker + by_tx, 201u);  // the replies and the ARP reply
      if (inline_tx) {
        EXPECT_GT(by_worker, 0u);
      } else {
        EXPECT_EQ(by_worker, 0u);
      }
    }
  }
}

// Timers on an idle threaded engine: ARP retries must go out on time with no
// traffic to wake the worker (the timer stage alone wakes it).
TEST(Threaded, TimersFireOnAnIdleEngine) {
  for (const bool fuse : {false, true}) {
    SCOPED_TRACE(fuse ? "--fuse on" : "--fuse off");
    Config c = SimConfig(1);
    c.fuse = fuse;
    const auto t = StartThreaded(c);
    ASSERT_NE(t, nullptr);
    const auto& clock = t->clock;
    SimLink* peer = t->peer.get();
    Engine* engine = t->engine.get();
    peer->SendBytes(Vec(vectors::kIcmpEchoRequest));  // from a neighbour we do not know
    int requests = 0;
    const auto deadline = clock.Now() + Duration::Seconds(6);
    while (engine->counter("arp_resolve_failed") == 0 && clock.Now() < deadline) {
      while (peer->ReceiveBytes()) ++requests;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    while (peer->ReceiveBytes()) ++requests;
    engine->Stop();
    EXPECT_EQ(requests, 3);  // at 0, 1 and 2 s
    EXPECT_EQ(engine->counter("arp_resolve_failed"), 1u);  // at 3 s
  }
}

}  // namespace
}  // namespace ringstack::engine
