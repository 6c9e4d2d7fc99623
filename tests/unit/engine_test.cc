// engine/: configuration parsing and its errors, the timing wheel, flow
// steering, the impairment decisions and the threaded runner.
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cstdint>
#include <map>
#include <random>
#include <thread>
#include <vector>

#include "engine/config.h"
#include "engine/runner.h"
#include "rings/spsc_ring.h"
#include "engine/link/impair.h"
#include "engine/steering.h"
#include "engine/timer_wheel.h"
#include "gtest/gtest.h"
#include "protocols/common/bytes.h"
#include "protocols/common/checksum.h"

namespace ringstack::engine {
namespace {

RawFlags Good() {
  RawFlags f;
  f.tap = "tap0";
  f.ip4 = "192.0.2.2/24";
  return f;
}

TEST(Config, GoodFlagsParse) {
  RawFlags f = Good();
  f.mac = "02:00:00:77:77:77";
  f.ip4 = "192.0.2.2/24,198.51.100.2/24";
  f.gw4 = "192.0.2.1";
  f.ip6 = "2001:db8:0:1::2/64";
  f.workers = 2;
  f.pin = "rx=0,tx=1,timer=1,w0=0,w1=1";
  f.poll = "block";
  f.impair = "loss=0.05,dup=0.01,reorder=0.05,seed=9,delay=2ms";
  auto c = ParseConfig(f, 2);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->mac.ToString(), "02:00:00:77:77:77");
  ASSERT_EQ(c->ip4.size(), 2u);
  EXPECT_EQ(c->ip4[1].itf.ToString(), "198.51.100.2/24");
  EXPECT_EQ(c->ip4[0].gateway->ToString(), "192.0.2.1");  // --gw4 joins the address it is on-link with
  EXPECT_FALSE(c->ip4[1].gateway);
  EXPECT_TRUE(c->acd);
  EXPECT_EQ(c->reassembly_bytes, 4u << 20);
  EXPECT_EQ(c->pin.workers, (std::vector<int>{0, 1}));
  EXPECT_EQ(c->poll, PollMode::kBlock);
  EXPECT_DOUBLE_EQ(c->impair.loss, 0.05);
  EXPECT_EQ(c->impair.seed, 9u);
  EXPECT_EQ(c->impair.delay, Duration::Millis(2));
}

TEST(Config, PerAddressGatewaysStaticRoutesAcdAndReassemblyMemory) {
  RawFlags f = Good();
  f.ip4 = "192.0.2.2/24@192.0.2.1,198.51.100.2/24@198.51.100.1";
  f.route4 = "203.0.113.0/24@198.51.100.254,0.0.0.0/0@192.0.2.254";
  f.acd = "off";
  f.reassembly_mem = "512K";
  auto c = ParseConfig(f, 1);
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->ip4.size(), 2u);
  EXPECT_EQ(c->ip4[1].gateway->ToString(), "198.51.100.1");
  ASSERT_EQ(c->routes4.size(), 2u);
  EXPECT_EQ(c->routes4[0].net.ToString(), "203.0.113.0/24");
  EXPECT_EQ(c->routes4[0].gateway.ToString(), "198.51.100.254");
  EXPECT_EQ(c->routes4[1].net.prefix_len, 0);
  EXPECT_FALSE(c->acd);
  EXPECT_TRUE(c->tap_offload);  // the default
  EXPECT_TRUE(c->tx_inline);
  // --fuse auto: fused when a thread per stage (1 queue, 1 worker, timer,
  // TX: 4) would outnumber the CPUs.
  EXPECT_TRUE(c->fuse);
  EXPECT_TRUE(ParseConfig(f, 3)->fuse);
  EXPECT_FALSE(ParseConfig(f, 4)->fuse);
  f.workers = 2;
  EXPECT_TRUE(ParseConfig(f, 4)->fuse);
  f.workers = 1;
  f.fuse = "off";
  EXPECT_FALSE(ParseConfig(f, 1)->fuse);
  f.fuse = "on";
  EXPECT_TRUE(ParseConfig(f, 8)->fuse);
  f.fuse = "auto";
  f.tap_offload = "off";
  EXPECT_FALSE(ParseConfig(f, 1)->tap_offload);
  f.tap_offload = "on";
  EXPECT_EQ(c->reassembly_bytes, 512u << 10);
  EXPECT_EQ(c->reassembly6_bytes, 4u << 20);  // its own default
  // Resource limits (issue #10): defaults, then values.
  EXPECT_EQ(c->tcp_max_sessions, 16384u);
  EXPECT_EQ(c->tcp_max_half_open, 1024u);
  EXPECT_EQ(c->neighbour_cache, 1024u);
  EXPECT_EQ(c->neighbour_pending, 48u);
  EXPECT_EQ(c->socket_buffer_max, 16u << 20);
  f.reassembly_mem6 = "16M";
  f.tcp_max_sessions = 100;
  f.tcp_max_half_open = 10;
  f.neighbour_cache = 64;
  f.neighbour_pending = 4;
  c = ParseConfig(f, 1);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->reassembly6_bytes, 16u << 20);
  EXPECT_EQ(c->tcp_max_sessions, 100u);
  EXPECT_EQ(c->tcp_max_half_open, 10u);
  EXPECT_EQ(c->neighbour_cache, 64u);
  EXPECT_EQ(c->neighbour_pending, 4u);
}

TEST(Config, ConsoleCaptureLogLevelsAndTrace) {
  RawFlags f = Good();
  auto c = ParseConfig(f, 1);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->console, "/run/ringstack/" + f.tap + ".sock");  // auto
  EXPECT_FALSE(c->console_explicit);
  EXPECT_EQ(c->trace, 0u);
  EXPECT_EQ(c->pcap_size, 64u << 20);
  f.console = "off";
  f.log_level = "warn,tcp=debug";
  f.trace = "ip6,tcp";
  f.pcap = "/tmp/x.pcap";
  f.pcap_size = "2M";
  f.pcap_files = 9;
  c = ParseConfig(f, 1);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->console.empty());
  EXPECT_EQ(c->log_level, LogLevel::kWarn);
  ASSERT_EQ(c->log_levels.overrides.size(), 1u);
  EXPECT_EQ(c->log_levels.overrides[0], std::make_pair(Subsystem::kTcp, LogLevel::kDebug));
  EXPECT_EQ(c->trace, kTraceIp6 | kTraceTcp);
  EXPECT_EQ(c->pcap, "/tmp/x.pcap");
  EXPECT_EQ(c->pcap_size, 2u << 20);
  EXPECT_EQ(c->pcap_files, 9);
  f.console = "/tmp/rs.sock";
  c = ParseConfig(f, 1);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->console, "/tmp/rs.sock");
  EXPECT_TRUE(c->console_explicit);
}

TEST(Config, RandomMacIsLocalUnicast) {
  auto c = ParseConfig(Good(), 1);
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->mac.IsUnicast());
  EXPECT_EQ(c->mac.bytes()[0], std::byte{0x02});
}

// Each bad flag gives an error that names the flag.
TEST(Config, BadFlagsNameTheFlag) {
  struct Row {
    void (*mutate)(RawFlags&);
    const char* expect;
  };
  const Row rows[] = {
      {[](RawFlags& f) { f.tap = ""; }, "--tap"},
      {[](RawFlags& f) { f.tap = "a-name-much-too-long"; }, "--tap"},
      {[](RawFlags& f) { f.mac = "01:00:5e:00:00:01"; }, "--mac"},
      {[](RawFlags& f) { f.mac = "zz"; }, "--mac"},
      {[](RawFlags& f) { f.ip4 = "192.0.2.300/24"; }, "--ip4"},
      {[](RawFlags& f) { f.ip4 = "192.0.2.2"; }, "--ip4"},
      {[](RawFlags& f) { f.ip4 = "192.0.2.0/24"; }, "--ip4"},
      {[](RawFlags& f) { f.ip4 = "224.0.0.1/24"; }, "--ip4"},
      {[](RawFlags& f) { f.ip4 = "192.0.2.2/24,192.0.2.2/24"; }, "--ip4"},
      {[](RawFlags& f) { f.gw4 = "198.51.100.1"; }, "--gw4"},
      {[](RawFlags& f) { f.ip4 = "192.0.2.2/24@198.51.100.1"; }, "--ip4"},
      {[](RawFlags& f) { f.ip4 = "192.0.2.2/24@192.0.2.2"; }, "--ip4"},
      {[](RawFlags& f) { f.ip4 = "192.0.2.2/24@gw"; }, "--ip4"},
      {[](RawFlags& f) { f.ip4 = "192.0.2.2/24@192.0.2.1"; f.gw4 = "192.0.2.9"; }, "--gw4"},
      {[](RawFlags& f) { f.route4 = "198.51.100.0/24"; }, "--route4"},
      {[](RawFlags& f) { f.route4 = "198.51.100.1/24@192.0.2.1"; }, "--route4"},
      {[](RawFlags& f) { f.route4 = "198.51.100.0/24@203.0.113.1"; }, "--route4"},
      {[](RawFlags& f) { f.acd = "maybe"; }, "--acd"},
      {[](RawFlags& f) { f.tap_offload = "yes"; }, "--tap-offload: 'yes' is not on or off"},
      {[](RawFlags& f) { f.tap_queues = 0; }, "--tap-queues: 0 is not 1 to 16"},
      {[](RawFlags& f) { f.tx_inline = "maybe"; }, "--tx-inline: 'maybe' is not on or off"},
      {[](RawFlags& f) { f.tap_queues = 17; }, "--tap-queues"},
      {[](RawFlags& f) { f.fuse = "yes"; }, "--fuse: 'yes' is not auto, on or off"},
      {[](RawFlags& f) { f.tap_queues = 2; f.impair = "loss=0.1"; }, "--impair: works on one TAP queue"},
      {[](RawFlags& f) { f.ping = "ff02::1"; }, "--ping"},
      {[](RawFlags& f) { f.ping = "192.0.2"; }, "--ping"},
      {[](RawFlags& f) { f.ping_count = 0; }, "--ping-count"},
      {[](RawFlags& f) { f.dhcp4_previous = "192.0.2.50"; }, "--dhcp4-previous: needs --dhcp4"},
      {[](RawFlags& f) { f.dhcp4 = true; f.dhcp4_previous = "224.0.0.1"; }, "--dhcp4-previous"},
      {[](RawFlags& f) { f.reassembly_mem = "1K"; }, "--reassembly-mem"},
      {[](RawFlags& f) { f.reassembly_mem = "lots"; }, "--reassembly-mem"},
      {[](RawFlags& f) { f.reassembly_mem6 = "2G"; }, "--reassembly-mem6"},
      {[](RawFlags& f) { f.tcp_max_sessions = 0; }, "--tcp-max-sessions"},
      {[](RawFlags& f) { f.tcp_max_half_open = 0; }, "--tcp-max-half-open"},
      {[](RawFlags& f) { f.neighbour_cache = 8; }, "--neighbour-cache"},
      {[](RawFlags& f) { f.neighbour_pending = 49; }, "--neighbour-pending"},
      {[](RawFlags& f) { f.socket_buffer_max = "1K"; }, "--socket-buffer-max"},
      {[](RawFlags& f) { f.ip6 = "2001:db8::/129"; }, "--ip6"},
      {[](RawFlags& f) { f.ip6 = "ff02::1/64"; }, "--ip6"},
      {[](RawFlags& f) { f.gw6 = "nope"; }, "--gw6"},
      {[](RawFlags& f) { f.ipv6 = "off"; f.ip6 = "2001:db8::2/64"; }, "--ipv6: off, but --ip6/--gw6/--ip6-stable"},
      {[](RawFlags& f) { f.ipv6 = "off"; f.gw6 = "fe80::1"; }, "--ipv6: off, but --ip6/--gw6/--ip6-stable"},
      {[](RawFlags& f) { f.ipv6 = "maybe"; }, "--ipv6: 'maybe' is not on or off"},
      {[](RawFlags& f) { f.services = "telnet"; }, "--services"},
      {[](RawFlags& f) { f.workers = 0; }, "--workers"},
      {[](RawFlags& f) { f.pin = "rx=7"; }, "--pin"},
      {[](RawFlags& f) { f.pin = "w3=0"; }, "--pin"},
      {[](RawFlags& f) { f.pin = "rx"; }, "--pin"},
      {[](RawFlags& f) { f.poll = "sometimes"; }, "--poll"},
      {[](RawFlags& f) { f.log_level = "loud"; }, "--log-level"},
      {[](RawFlags& f) { f.log_level = "info,tpc=debug"; }, "--log-level: 'tpc' is not a subsystem"},
      {[](RawFlags& f) { f.trace = "ip4,ipx"; }, "--trace: 'ipx' is not a layer"},
      {[](RawFlags& f) { f.pcap_size = "1K"; }, "--pcap-size"},
      {[](RawFlags& f) { f.pcap_size = "big"; }, "--pcap-size"},
      {[](RawFlags& f) { f.pcap_files = 0; }, "--pcap-files"},
      {[](RawFlags& f) { f.console = std::string(120, 'x'); }, "--console: a Unix socket path must be shorter"},
      {[](RawFlags& f) { f.ring_size = 1000; }, "--ring-size"},
      {[](RawFlags& f) { f.pool_buffers = 1; }, "--pool-buffers"},
      {[](RawFlags& f) { f.rx_batch = 0; }, "--rx-batch"},
      {[](RawFlags& f) { f.impair = "loss=2"; }, "--impair"},
      {[](RawFlags& f) { f.impair = "jitter=1"; }, "--impair"},
      {[](RawFlags& f) { f.impair = "delay=fast"; }, "--impair"},
      {[](RawFlags& f) { f.impair = "ce=1.5"; }, "--impair: ce wants a probability"},
      {[](RawFlags& f) { f.impair = "ce=0.1,ce_dir=up"; }, "--impair: ce_dir wants rx"},
      {[](RawFlags& f) { f.tcp_ecn = "always"; }, "--tcp-ecn: 'always' is not one of off, passive, on, accecn"},
      {[](RawFlags& f) { f.tcp_frto = "maybe"; }, "--tcp-frto: 'maybe' is not on or off"},
      {[](RawFlags& f) { f.tcp_pacing = "fast"; }, "--tcp-pacing: 'fast' is not on or off"},
      {[](RawFlags& f) { f.tcp_cc = "vegas"; }, "--tcp-cc: 'vegas' is not a congestion control (cubic, newreno, bbr)"},
      {[](RawFlags& f) { f.tcp_mtu_probing = "always"; }, "--tcp-mtu-probing: 'always' is not one of off, blackhole, on"},
      {[](RawFlags& f) { f.tcp_fastopen = "1"; }, "--tcp-fastopen: '1' is not one of off, client, server, both"},
  };
  for (const Row& row : rows) {
    RawFlags f = Good();
    row.mutate(f);
    auto c = ParseConfig(f, 2);
    ASSERT_FALSE(c.ok()) << row.expect;
    EXPECT_NE(std::string(c.status().message()).find(row.expect), std::string::npos)
        << c.status().message();
  }
}

TEST(TimerWheel, FiresAtOrAfterDeadlineNeverBefore) {
  const Instant t0 = Instant::FromNanos(0);
  TimerWheel wheel(t0);
  std::mt19937_64 rng(42);
  std::map<std::uint64_t, Instant> deadlines;
  for (std::uint64_t i = 0; i < 2000; ++i) {
    // Spread over all four levels: up to ~80 minutes.
    const auto ms = static_cast<std::int64_t>(rng() % (i % 4 == 0 ? 5'000'000 : 5000));
    const Instant d = t0 + Duration::Millis(ms) + Duration::Micros(static_cast<std::int64_t>(rng() % 1000));
    wheel.Arm(d, i);
    deadlines[i] = d;
  }
  std::size_t fired = 0;
  Instant now = t0;
  std::size_t late = 0;
  std::size_t early = 0;
  while (fired < deadlines.size()) {
    const Instant next = wheel.NextExpiry();
    ASSERT_FALSE(next.IsNever());
    ASSERT_GT(next, now);
    now = next;
    wheel.Advance(now, [&](std::uint64_t cookie) {
      const Instant d = deadlines[cookie];
      if (now < d) ++early;
      if (now - d > Duration::Millis(1)) ++late;
      ++fired;
    });
  }
  EXPECT_EQ(early, 0u);
  EXPECT_EQ(late, 0u);
  EXPECT_EQ(wheel.size(), 0u);
  EXPECT_TRUE(wheel.NextExpiry().IsNever());
}

TEST(TimerWheel, CancelIsO1AndStaleIdsAreHarmless) {
  TimerWheel wheel(Instant::FromNanos(0));
  auto a = wheel.Arm(Instant::FromNanos(0) + Duration::Millis(10), 1);
  auto b = wheel.Arm(Instant::FromNanos(0) + Duration::Seconds(100), 2);
  EXPECT_TRUE(wheel.Cancel(a));
  EXPECT_FALSE(wheel.Cancel(a));
  std::vector<std::uint64_t> fired;
  wheel.Advance(Instant::FromNanos(0) + Duration::Seconds(200), [&](std::uint64_t c) { fired.push_back(c); });
  EXPECT_EQ(fired, (std::vector<std::uint64_t>{2}));
  EXPECT_FALSE(wheel.Cancel(b));  // already fired
  // A past deadline fires on the next advance, not never.
  wheel.Arm(Instant::FromNanos(0), 3);
  wheel.Advance(Instant::FromNanos(0) + Duration::Seconds(201), [&](std::uint64_t c) { fired.push_back(c); });
  EXPECT_EQ(fired.back(), 3u);
}

TEST(TimerWheel, RearmFromCallback) {
  TimerWheel wheel(Instant::FromNanos(0));
  int count = 0;
  Instant now = Instant::FromNanos(0);
  wheel.Arm(now + Duration::Millis(5), 7);
  for (int i = 0; i < 10; ++i) {
    now = wheel.NextExpiry();
    wheel.Advance(now, [&](std::uint64_t) {
      ++count;
      wheel.Arm(now + Duration::Millis(5), 7);
    });
  }
  EXPECT_EQ(count, 10);
  EXPECT_EQ(wheel.size(), 1u);
}

std::vector<std::byte> TcpFrame(std::uint32_t src, std::uint32_t dst, std::uint16_t sport, std::uint16_t dport,
                                std::uint8_t proto = 6) {
  std::vector<std::byte> f(14 + 20 + 20);
  proto::StoreBe16(f.data() + 12, 0x0800);
  f[14] = std::byte{0x45};
  f[14 + 9] = std::byte{proto};
  proto::StoreBe32(f.data() + 14 + 12, src);
  proto::StoreBe32(f.data() + 14 + 16, dst);
  proto::StoreBe16(f.data() + 34, sport);
  proto::StoreBe16(f.data() + 36, dport);
  return f;
}

TEST(Steering, TcpIsSymmetricAndSpreads) {
  std::vector<int> per_shard(4, 0);
  for (std::uint16_t port = 1000; port < 1400; ++port) {
    const auto ab = TcpFrame(0xc0000201, 0xc0000202, port, 5201);
    const auto ba = TcpFrame(0xc0000202, 0xc0000201, 5201, port);
    const int k = ShardFor(ab, 4);
    EXPECT_EQ(k, ShardFor(ba, 4));
    ++per_shard[k];
  }
  for (int n : per_shard) EXPECT_GT(n, 50);  // roughly even: 100 each
}

TEST(Steering, ControlTrafficAndFragmentsGoToShardZero) {
  auto udp = TcpFrame(1, 2, 1234, 7, 17);
  const int udp_shard = ShardFor(udp, 4);
  auto udp_other_src = TcpFrame(9, 2, 999, 7, 17);
  EXPECT_EQ(ShardFor(udp_other_src, 4), udp_shard);  // by local port only
  auto icmp = TcpFrame(1, 2, 0, 0, 1);
  EXPECT_EQ(ShardFor(icmp, 4), 0);
  auto frag = TcpFrame(1, 2, 1234, 80);
  proto::StoreBe16(frag.data() + 14 + 6, 0x2000);  // MF
  EXPECT_EQ(ShardFor(frag, 4), 0);
  std::vector<std::byte> arp(42);
  proto::StoreBe16(arp.data() + 12, 0x0806);
  EXPECT_EQ(ShardFor(arp, 4), 0);
  EXPECT_EQ(ShardFor(std::vector<std::byte>(10), 4), 0);  // truncated
  auto bad_ihl = TcpFrame(1, 2, 1234, 80);
  bad_ihl[14] = std::byte{0x4f};                           // IHL past the frame
  EXPECT_EQ(ShardFor(bad_ihl, 4), 0);
}

// RFC 3168 5: ECT(0) and ECT(1) packets become CE, the IPv4 header
// checksum still verifying; Not-ECT, CE already, ARP and runts are left
// alone. The frames' headers are written here byte by byte.
TEST(Impairer, MarkCeSetsTheEcnFieldOfEcnCapablePacketsOnly) {
  auto v4 = [](std::uint8_t tos) {
    std::vector<std::byte> f = TcpFrame(0xc0000201, 0xc0000202, 40000, 80);
    f[14 + 1] = std::byte{tos};
    proto::StoreBe16(f.data() + 14 + 2, 40);
    f[14 + 8] = std::byte{64};
    proto::StoreBe16(f.data() + 14 + 10, proto::InternetChecksum(proto::Bytes(f.data() + 14, 20)));
    return f;
  };
  for (const std::uint8_t tos : {0x02, 0x01, 0xb8 | 0x02}) {  // ECT(0), ECT(1), DSCP EF with ECT(0)
    auto f = v4(tos);
    ASSERT_TRUE(IsEct(f));
    ASSERT_TRUE(MarkCe(f));
    EXPECT_EQ(std::to_integer<unsigned>(f[14 + 1]), (tos & 0xfcu) | 3u);
    EXPECT_TRUE(proto::ChecksumOk(proto::Bytes(f.data() + 14, 20))) << int{tos};
  }
  for (const std::uint8_t tos : {0x00, 0x03}) {  // Not-ECT, CE
    auto f = v4(tos);
    const auto before = f;
    EXPECT_FALSE(MarkCe(f));
    EXPECT_EQ(f, before);
  }
  // IPv6: the Traffic Class's ECN bits are bits 4-5 of the second octet.
  std::vector<std::byte> v6(14 + 40);
  proto::StoreBe16(v6.data() + 12, 0x86dd);
  v6[14] = std::byte{0x60};
  v6[15] = std::byte{0x20};  // traffic class 0x02: ECT(0)
  ASSERT_TRUE(MarkCe(v6));
  EXPECT_EQ(std::to_integer<unsigned>(v6[15]), 0x30u);
  EXPECT_FALSE(MarkCe(v6));  // CE now
  std::vector<std::byte> arp(42);
  proto::StoreBe16(arp.data() + 12, 0x0806);
  EXPECT_FALSE(MarkCe(arp));
  std::vector<std::byte> runt(20);
  proto::StoreBe16(runt.data() + 12, 0x0800);
  EXPECT_FALSE(MarkCe(runt));
}

// Marks come at their rate beside the other impairments; a spec without
// `ce` draws no mark at all.
TEST(Impairer, CeMarksAtTheirRateAndOnlyWhenAsked) {
  ImpairConfig plain;
  plain.loss = 0.1;
  plain.seed = 99;
  ImpairConfig marking = plain;
  marking.ce = 0.2;
  Impairer a(plain), b(marking);
  int marks = 0;
  for (int i = 0; i < 20000; ++i) {
    const auto da = a.Next(100);
    const auto db = b.Next(100);
    EXPECT_FALSE(da.ce);
    marks += db.ce;
  }
  EXPECT_NEAR(marks / 20000.0, 0.2, 0.015);
  EXPECT_NEAR(b.dropped() / 20000.0, 0.1, 0.01);
  auto spec = ImpairConfig::Parse("ce=0.05,ce_dir=tx");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_TRUE(spec->ce_tx());
  EXPECT_FALSE(spec->ce_rx());
  EXPECT_TRUE(spec->enabled());
  EXPECT_TRUE(ImpairConfig::Parse("ce=0.05")->ce_rx());
  EXPECT_TRUE(ImpairConfig::Parse("ce=0.05,ce_dir=both")->ce_tx());
}

TEST(Impairer, SameSeedSameDecisionsAndRatesRoughlyRight) {
  ImpairConfig c;
  c.loss = 0.1;
  c.dup = 0.05;
  c.seed = 1234;
  Impairer a(c), b(c);
  int drops = 0;
  for (int i = 0; i < 20000; ++i) {
    const auto da = a.Next(100);
    const auto db = b.Next(100);
    ASSERT_EQ(da.drop, db.drop);
    ASSERT_EQ(da.duplicate, db.duplicate);
    drops += da.drop;
  }
  EXPECT_NEAR(drops / 20000.0, 0.1, 0.01);
  EXPECT_NEAR(a.duplicated() / 18000.0, 0.05, 0.01);
}

// A stage that drains a ring and checks the order it sees.
class DrainStage final : public Stage {
 public:
  explicit DrainStage(rings::SpscRing<std::uint64_t>& ring) : ring_(ring) {}
  std::string_view name() const override { return "drain"; }
  std::size_t Poll(std::size_t budget) override {
    std::size_t n = 0;
    std::uint64_t v;
    while (n < budget && ring_.TryPop(v)) {
      if (v != next_) out_of_order_.fetch_add(1);
      next_ = v + 1;
      ++n;
    }
    seen_.store(next_, std::memory_order_release);
    return n;
  }
  std::uint64_t seen() const { return seen_.load(std::memory_order_acquire); }
  std::uint64_t out_of_order() const { return out_of_order_.load(); }

 private:
  rings::SpscRing<std::uint64_t>& ring_;
  std::uint64_t next_ = 0;
  std::atomic<std::uint64_t> seen_{0};
  std::atomic<std::uint64_t> out_of_order_{0};
};

// Every idle mode wakes for every push: a producer with pauses (so the stage
// really goes idle, spins, and parks) loses nothing, in order.
TEST(ThreadedRunner, NoLostWakeupsInAnyMode) {
  for (PollMode mode : {PollMode::kBusy, PollMode::kAdaptive, PollMode::kBlock}) {
    SteadyClock clock;
    rings::SpscRing<std::uint64_t> ring(256);
    DrainStage stage(ring);
    ThreadedRunner runner({{&stage, -1, 64}}, mode, clock, {});
    ASSERT_TRUE(runner.Start().ok());
    constexpr std::uint64_t kItems = 200'000;
    for (std::uint64_t i = 0; i < kItems;) {
      if (ring.TryPush(std::uint64_t{i})) {
        stage.doorbell().Ring();
        ++i;
        if (i % 20'000 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
    }
    const auto deadline = clock.Now() + Duration::Seconds(10);
    while (stage.seen() < kItems && clock.Now() < deadline) std::this_thread::yield();
    runner.Stop();
    EXPECT_EQ(stage.seen(), kItems) << PollModeName(mode);
    EXPECT_EQ(stage.out_of_order(), 0u) << PollModeName(mode);
    if (mode == PollMode::kBlock) {
      EXPECT_GT(stage.doorbell().wakeups(), 0u);  // it did sleep
    }
  }
}

// Moves items from one ring to the next and rings the next stage, noting the
// thread it ran on.
class RelayStage final : public Stage {
 public:
  RelayStage(rings::SpscRing<std::uint64_t>& in, rings::SpscRing<std::uint64_t>& out, Stage& next)
      : in_(in), out_(out), next_(next) {}
  std::string_view name() const override { return "relay"; }
  std::size_t Poll(std::size_t budget) override {
    tid_.store(static_cast<int>(gettid()), std::memory_order_relaxed);
    std::size_t n = 0;
    while (n < budget) {
      if (!held_ && !in_.TryPop(value_)) break;
      held_ = true;
      if (!out_.TryPush(std::uint64_t{value_})) break;  // full: kept for the next round
      held_ = false;
      ++n;
    }
    if (n != 0) next_.doorbell().Ring();
    return n;
  }
  int tid() const { return tid_.load(std::memory_order_relaxed); }

 private:
  rings::SpscRing<std::uint64_t>& in_;
  rings::SpscRing<std::uint64_t>& out_;
  Stage& next_;
  std::uint64_t value_ = 0;
  bool held_ = false;
  std::atomic<int> tid_{0};
};

// Counts what arrives on an fd (a pipe): woken by the fd alone.
class FdStage final : public Stage {
 public:
  explicit FdStage(int fd) : fd_(fd) {}
  std::string_view name() const override { return "fd"; }
  std::size_t Poll(std::size_t) override {
    char buf[64];
    const ssize_t n = read(fd_, buf, sizeof(buf));
    if (n <= 0) return 0;
    bytes_.fetch_add(static_cast<std::uint64_t>(n));
    return 1;
  }
  int WaitFd() const override { return fd_; }
  short WaitEvents() const override { return POLLIN; }
  std::uint64_t bytes() const { return bytes_.load(); }

 private:
  int fd_;
  std::atomic<std::uint64_t> bytes_{0};
};

// Does one item of work at a set time: woken by its deadline alone.
class DeadlineStage final : public Stage {
 public:
  DeadlineStage(const Clock& clock, Instant at) : clock_(clock), at_(at) {}
  std::string_view name() const override { return "deadline"; }
  std::size_t Poll(std::size_t) override {
    if (fired_.load() || clock_.Now() < at_) return 0;
    fired_.store(true);
    return 1;
  }
  Instant NextDeadline() const override { return fired_.load() ? Instant::Never() : at_; }
  bool fired() const { return fired_.load(); }

 private:
  const Clock& clock_;
  Instant at_;
  std::atomic<bool> fired_{false};
};

// --fuse: stages of one group share a thread that sleeps on all their
// doorbells, fds and deadlines at once. A hand-off inside the group (relay ->
// drain) loses nothing and runs on the group's thread; a pipe wakes the fd
// stage, a deadline the deadline stage, each with the rest asleep; a stage
// outside the group has a thread of its own.
TEST(ThreadedRunner, GroupsShareAThreadAndWakeForEachStage) {
  for (PollMode mode : {PollMode::kBusy, PollMode::kAdaptive, PollMode::kBlock}) {
    SCOPED_TRACE(PollModeName(mode));
    SteadyClock clock;
    rings::SpscRing<std::uint64_t> in(256), mid(64);
    DrainStage drain(mid);
    RelayStage relay(in, mid, drain);
    int pipe_fds[2];
    ASSERT_EQ(pipe2(pipe_fds, O_NONBLOCK | O_CLOEXEC), 0);
    FdStage fd_stage(pipe_fds[0]);
    DeadlineStage deadline(clock, clock.Now() + Duration::Millis(200));
    rings::SpscRing<std::uint64_t> lone_ring(16);
    DrainStage lone(lone_ring);
    ThreadedRunner runner({{&relay, -1, 64, 0}, {&drain, -1, 64, 0}, {&fd_stage, -1, 64, 0},
                           {&deadline, -1, 64, 0}, {&lone, -1, 64, -1}},
                          mode, clock, {});
    ASSERT_TRUE(runner.Start().ok());
    const std::vector<ThreadInfo> threads = runner.threads();
    ASSERT_EQ(threads.size(), 5u);
    for (int i = 1; i < 4; ++i) EXPECT_EQ(threads[i].tid, threads[0].tid) << threads[i].stage;
    EXPECT_NE(threads[4].tid, threads[0].tid);
    constexpr std::uint64_t kItems = 100'000;
    for (std::uint64_t i = 0; i < kItems;) {
      if (in.TryPush(std::uint64_t{i})) {
        relay.doorbell().Ring();
        ++i;
        if (i % 20'000 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
    }
    const Instant end = clock.Now() + Duration::Seconds(10);
    while (drain.seen() < kItems && clock.Now() < end) std::this_thread::yield();
    EXPECT_EQ(drain.seen(), kItems);
    EXPECT_EQ(drain.out_of_order(), 0u);
    EXPECT_EQ(relay.tid(), threads[0].tid);
    // Nothing rung at all: the deadline wakes the group.
    while (!deadline.fired() && clock.Now() < end) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    EXPECT_TRUE(deadline.fired());
    // The group asleep (block) with no deadline left, only the pipe written:
    // the fd stage reads it.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ASSERT_EQ(write(pipe_fds[1], "hello", 5), 5);
    while (fd_stage.bytes() < 5 && clock.Now() < end) std::this_thread::yield();
    EXPECT_EQ(fd_stage.bytes(), 5u);
    ASSERT_TRUE(lone_ring.TryPush(std::uint64_t{0}));
    lone.doorbell().Ring();
    while (lone.seen() < 1 && clock.Now() < end) std::this_thread::yield();
    EXPECT_EQ(lone.seen(), 1u);
    runner.Stop();
    if (mode == PollMode::kBlock) {
      EXPECT_GT(relay.doorbell().wakeups(), 0u);  // the group did sleep
    }
    close(pipe_fds[0]);
    close(pipe_fds[1]);
  }
}

}  // namespace
}  // namespace ringstack::engine
