// TCP wire format (protocols/tcp): sequence-number arithmetic across the
// wrap, window scaling, and segments against scapy vectors both ways
// (deconstruct, construct, parse, emit), with one malformed row per way a
// segment is refused.
#include <cstring>
#include <functional>
#include <vector>

#include "gtest/gtest.h"
#include "protocols/common/checksum.h"
#include "protocols/tcp/assembler.h"
#include "protocols/tcp/rtt.h"
#include "protocols/tcp/seq_num.h"
#include "protocols/tcp/tcp_isn.h"
#include "protocols/tcp/tcp_repr.h"
#include "tests/vectors/vectors.h"

namespace ringstack::proto::tcp {
namespace {

template <std::size_t N>
std::vector<std::byte> Vec(const unsigned char (&a)[N]) {
  std::vector<std::byte> v(N);
  std::memcpy(v.data(), a, N);
  return v;
}

constexpr std::size_t kL4 = 14 + 20;      // TCP after Ethernet + IPv4
constexpr std::size_t kL4v6 = 14 + 40;    // after Ethernet + IPv6
const Ipv4Address kPeer(0xc0000201), kUs(0xc0000202);
Ipv6Address A6(const char* s) { return *Ipv6Address::Parse(s); }

TEST(SeqNum, ComparesModulo2To32) {
  const SeqNum a(0xfffffff0u), b(0x10);  // b is 0x20 after a, across the wrap
  EXPECT_TRUE(a.Before(b));
  EXPECT_TRUE(b.After(a));
  EXPECT_FALSE(b.Before(a));
  EXPECT_EQ(b - a, 0x20);
  EXPECT_EQ(a - b, -0x20);
  EXPECT_EQ(a + 0x20, b);
  EXPECT_TRUE(a.BeforeOrAt(a));
  EXPECT_TRUE(a.AfterOrAt(a));
  EXPECT_TRUE(SeqNum(5).InWindow(a, 0x20));   // a <= 5 < a + 0x20
  EXPECT_FALSE(b.InWindow(a, 0x20));          // the window's end is outside it
  EXPECT_FALSE(a.InWindow(a, 0));             // an empty window holds nothing
  EXPECT_EQ(SeqNum::Max(a, b), b);
  EXPECT_EQ(SeqNum::Min(a, b), a);
  // Half the space ahead is still "after"; more wraps to "before".
  EXPECT_TRUE((a + 0x7fffffffu).After(a));
  EXPECT_TRUE((a + 0x80000001u).Before(a));
}

TEST(Window, ScalesAndCaps) {
  EXPECT_EQ(WindowScale(20).shift(), 14);  // RFC 7323 2.3: used as 14
  EXPECT_EQ(WindowSize::FromField(501, WindowScale(7)).bytes(), 501u << 7);
  EXPECT_EQ(WindowSize(1000).ToField(WindowScale(3)), 125);   // 1000 >> 3
  EXPECT_EQ(WindowSize(1001).ToField(WindowScale(3)), 125);   // rounded down, never more than there is
  EXPECT_EQ(WindowSize(1 << 20).ToField(WindowScale(0)), 0xffff);
  EXPECT_EQ(WindowSize(0xffffffffu).bytes(), WindowSize::kMax);
}

TEST(Tcp, ParsesLinuxsSyn) {
  const auto f = Vec(vectors::kTcpSyn);
  const auto r = TcpRepr::Parse(std::span(f).subspan(kL4), kPeer, kUs);
  ASSERT_TRUE(r.ok()) << ParseErrorName(r.error());
  EXPECT_EQ(r->src_port, 40000);
  EXPECT_EQ(r->dst_port, 7);
  EXPECT_EQ(r->seq, SeqNum(0x11223344));
  EXPECT_EQ(r->flags, kSyn);
  EXPECT_EQ(r->FlagString(), "S");
  EXPECT_EQ(r->window, 64240);
  EXPECT_EQ(r->options.mss, 1460);
  EXPECT_TRUE(r->options.sack_permitted);
  ASSERT_TRUE(r->options.timestamps.has_value());
  EXPECT_EQ(r->options.timestamps->tsval, 12345u);
  EXPECT_EQ(r->options.timestamps->tsecr, 0u);
  EXPECT_EQ(r->options.window_scale, 7);
  EXPECT_TRUE(r->payload.empty());
  EXPECT_EQ(r->seg_len(), 1u);  // the SYN takes a sequence number
  EXPECT_EQ(r->header_len(), 40u);
}

TEST(Tcp, EmitsTheSynAckByteForByte) {
  const auto want = Vec(vectors::kTcpSynAck);
  TcpRepr r;
  r.src_port = 7;
  r.dst_port = 40000;
  r.seq = SeqNum(0x55667788);
  r.ack = SeqNum(0x11223345);
  r.flags = kSyn | kAck;
  r.window = 65535;
  r.options.mss = 1460;
  r.options.sack_permitted = true;
  r.options.timestamps = Timestamps{1000, 12345};
  r.options.window_scale = 7;
  std::vector<std::byte> out(r.header_len());
  r.EmitHeader(out, kUs, kPeer);
  ASSERT_EQ(out.size(), want.size() - kL4);
  EXPECT_EQ(0, std::memcmp(out.data(), want.data() + kL4, out.size()));
  // And it parses back to the same values.
  const auto back = TcpRepr::Parse(out, kUs, kPeer);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->options, r.options);
  EXPECT_EQ(back->ack, r.ack);
  EXPECT_EQ(back->FlagString(), "S.");
}

TEST(Tcp, DataWithSackBlocksOverIpv6BothWays) {
  const auto f = Vec(vectors::kTcpDataSack6);
  const Ipv6Address src = A6("2001:db8:0:1::1"), dst = A6("2001:db8:0:1::2");
  const auto r = TcpRepr::Parse(std::span(f).subspan(kL4v6), src, dst);
  ASSERT_TRUE(r.ok()) << ParseErrorName(r.error());
  EXPECT_EQ(r->FlagString(), "P.");
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(r->payload.data()), r->payload.size()), "hello, tcp");
  ASSERT_EQ(r->options.sack_count, 2);
  EXPECT_EQ(r->options.sack[0], (SackBlock{SeqNum(0x55667790), SeqNum(0x556677a0)}));
  EXPECT_EQ(r->options.sack[1], (SackBlock{SeqNum(0x556677b0), SeqNum(0x556677c0)}));
  EXPECT_EQ(r->options.timestamps, (Timestamps{12400, 1000}));
  EXPECT_EQ(r->seg_len(), 10u);
  // Emitting the same values gives scapy's bytes (payload in place first).
  TcpRepr e = *r;
  std::vector<std::byte> out(e.header_len() + 10);
  std::memcpy(out.data() + e.header_len(), "hello, tcp", 10);
  e.EmitHeader(out, src, dst);
  ASSERT_EQ(out.size(), f.size() - kL4v6);
  EXPECT_EQ(0, std::memcmp(out.data(), f.data() + kL4v6, out.size()));
}

TEST(Tcp, EmitsARst) {
  const auto want = Vec(vectors::kTcpRst);
  TcpRepr r;
  r.src_port = 7;
  r.dst_port = 40001;
  r.ack = SeqNum(0x11223345);
  r.flags = kRst | kAck;
  std::vector<std::byte> out(r.header_len());
  r.EmitHeader(out, kUs, kPeer);
  ASSERT_EQ(out.size(), want.size() - kL4);
  EXPECT_EQ(0, std::memcmp(out.data(), want.data() + kL4, out.size()));
}

TEST(Tcp, SackBlocksThatDoNotFitAreLeftOut) {
  TcpOptions o;
  o.timestamps = Timestamps{1, 2};
  o.sack_count = 4;
  for (std::uint32_t k = 0; k < 4; ++k) o.sack[k] = SackBlock{SeqNum(100 * k), SeqNum(100 * k + 50)};
  EXPECT_EQ(o.EmitLen(), 40u);  // 12 for timestamps + 4 + 3 blocks
  std::vector<std::byte> out(o.EmitLen());
  o.Emit(out);
  const auto back = TcpOptions::Parse(out);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->sack_count, 3);
  o.timestamps.reset();
  EXPECT_EQ(o.EmitLen(), 36u);  // all four without timestamps
}

TEST(Tcp, UnknownOptionsAreSkipped) {
  // Kind 30 (MPTCP), 4 bytes, then MSS: the MSS is still read.
  const unsigned char raw[] = {30, 4, 0xaa, 0xbb, 2, 4, 0x05, 0xb4, 0, 0, 0, 0};
  const auto o = TcpOptions::Parse(std::as_bytes(std::span(raw)));
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->mss, 1460);
}

// One row per way a segment is refused; each starts from the SYN vector,
// changes it and fixes the checksum (but for the checksum row).
TEST(Tcp, MalformedRows) {
  struct Row {
    const char* name;
    std::function<void(std::vector<std::byte>&)> mutate;  // on the TCP bytes
    bool fix_checksum;
    ParseError want;
  };
  auto opt = [](std::size_t at, std::initializer_list<int> list) {
    return [at, bytes = std::vector<int>(list)](std::vector<std::byte>& t) {
      std::size_t i = kMinHeaderLen + at;
      for (int b : bytes) t[i++] = static_cast<std::byte>(b);
    };
  };
  const Row rows[] = {
      {"shorter than the fixed header", [](auto& t) { t.resize(19); }, false, ParseError::kTruncated},
      {"data offset below 5", [](auto& t) { t[12] = std::byte{0x40}; }, true, ParseError::kBadHeaderLength},
      {"data offset past the segment", [](auto& t) { t[12] = std::byte{0xf0}; }, true, ParseError::kBadHeaderLength},
      {"bad checksum", [](auto& t) { t[4] ^= std::byte{1}; }, false, ParseError::kBadChecksum},
      {"option length 0", opt(0, {2, 0}), true, ParseError::kBadOption},
      {"option length 1", opt(0, {30, 1}), true, ParseError::kBadOption},
      {"option past the header", opt(16, {30, 8}), true, ParseError::kBadOption},
      {"MSS length 3", opt(0, {2, 3, 5}), true, ParseError::kBadOption},
      {"window scale length 4", opt(17, {3, 4}), true, ParseError::kBadOption},
      {"SACK-permitted length 3", opt(4, {4, 3}), true, ParseError::kBadOption},
      {"timestamps length 8", opt(6, {8, 8}), true, ParseError::kBadOption},
      {"SACK with half a block", opt(4, {5, 6, 0, 0, 0, 0}), true, ParseError::kBadOption},
      {"kind with no length byte", opt(17, {1, 1, 30}), true, ParseError::kBadOption},
      {"source port 0", [](auto& t) { t[0] = t[1] = std::byte{0}; }, true, ParseError::kBadPort},
      {"destination port 0", [](auto& t) { t[2] = t[3] = std::byte{0}; }, true, ParseError::kBadPort},
      {"SYN+FIN", [](auto& t) { t[13] = std::byte{kSyn | kFin}; }, true, ParseError::kBadFlags},
      {"SYN+RST", [](auto& t) { t[13] = std::byte{kSyn | kRst}; }, true, ParseError::kBadFlags},
  };
  const auto f = Vec(vectors::kTcpSyn);
  for (const Row& row : rows) {
    std::vector<std::byte> t(f.begin() + kL4, f.end());
    row.mutate(t);
    if (row.fix_checksum && t.size() >= kMinHeaderLen) {
      t[16] = t[17] = std::byte{0};
      Checksum c;
      AddPseudoHeader(c, kPeer, kUs, 6, static_cast<std::uint32_t>(t.size()));
      c.Add(t);
      StoreBe16(t.data() + 16, c.Finish());
    }
    const auto r = TcpRepr::Parse(t, kPeer, kUs);
    ASSERT_FALSE(r.ok()) << row.name;
    EXPECT_EQ(r.error(), row.want) << row.name << ": got " << ParseErrorName(r.error());
  }
}

// RFC 6528: F differs per connection and per secret; M moves the ISN on by
// one every 4 microseconds.
TEST(Isn, KeyedHashPlusA4MicrosecondClock) {
  std::array<std::byte, 16> secret{};
  secret[0] = std::byte{1};
  const IsnGenerator gen(secret);
  const IpAddress a = IpAddress(Ipv4Address(0xc0000202)), b = IpAddress(Ipv4Address(0xc0000201));
  const Instant t0 = Instant::FromNanos(1'000'000'000);
  const SeqNum isn = gen.Isn(a, 7, b, 40000, t0);
  EXPECT_EQ(gen.Isn(a, 7, b, 40000, t0 + Duration::Micros(40)), isn + 10);
  EXPECT_NE(gen.Hash(a, 7, b, 40001), gen.Hash(a, 7, b, 40000));  // another port
  EXPECT_NE(gen.Hash(b, 7, a, 40000), gen.Hash(a, 7, b, 40000));  // the other direction
  const IpAddress v6 = IpAddress(*Ipv6Address::Parse("2001:db8::2"));
  EXPECT_NE(gen.Hash(v6, 7, b, 40000), gen.Hash(a, 7, b, 40000));
  std::array<std::byte, 16> other = secret;
  other[15] = std::byte{9};
  EXPECT_NE(IsnGenerator(other).Hash(a, 7, b, 40000), gen.Hash(a, 7, b, 40000));  // another secret
}

// RFC 6298 at known points: first sample, a second one, the bounds, backoff.
TEST(Rtt, Rfc6298AtKnownPoints) {
  RttEstimator e(RtoConfig{Duration::Seconds(1), Duration::Millis(200), Duration::Seconds(60), Duration::Millis(1)});
  EXPECT_EQ(e.rto(), Duration::Seconds(1));  // 2.1: before any sample
  e.OnSample(Duration::Millis(100));
  EXPECT_EQ(e.srtt(), Duration::Millis(100));   // SRTT = R
  EXPECT_EQ(e.rttvar(), Duration::Millis(50));  // RTTVAR = R/2
  EXPECT_EQ(e.rto(), Duration::Millis(300));    // SRTT + 4 RTTVAR
  e.OnSample(Duration::Millis(200));
  // RTTVAR = 3/4 * 50 + 1/4 * |100 - 200| = 62.5; SRTT = 7/8 * 100 + 1/8 * 200 = 112.5
  EXPECT_EQ(e.rttvar(), Duration::Micros(62500));
  EXPECT_EQ(e.srtt(), Duration::Micros(112500));
  EXPECT_EQ(e.rto(), Duration::Micros(362500));
  e.Backoff();
  EXPECT_EQ(e.rto(), Duration::Micros(725000));  // 5.5: doubled
  for (int i = 0; i < 20; ++i) e.Backoff();
  EXPECT_EQ(e.rto(), Duration::Seconds(60));  // 2.5: the maximum
  e.OnSample(Duration::Millis(1));
  EXPECT_EQ(e.backoffs(), 0);  // a new sample undoes the backoff
  EXPECT_GE(e.rto(), Duration::Millis(200));  // 2.4: the minimum
}

TEST(Assembler, MergesAdvancesAndReportsSackBlocks) {
  Assembler a;
  const SeqNum nxt(0xfffffff0u);  // across the wrap
  ASSERT_TRUE(a.Add(nxt, nxt + 100, nxt + 200));
  ASSERT_TRUE(a.Add(nxt, nxt + 300, nxt + 400));
  ASSERT_TRUE(a.Add(nxt, nxt + 500, nxt + 600));
  EXPECT_EQ(a.ranges(), 3u);
  EXPECT_EQ(a.held(), 300u);
  // RFC 2018 4: the block the latest segment went into comes first.
  ASSERT_TRUE(a.Add(nxt, nxt + 200, nxt + 250));  // extends the first range
  SackBlock blocks[4];
  ASSERT_EQ(a.SackBlocks(blocks), 3u);
  EXPECT_EQ(blocks[0], (SackBlock{nxt + 100, nxt + 250}));
  EXPECT_EQ(blocks[1], (SackBlock{nxt + 500, nxt + 600}));
  EXPECT_EQ(blocks[2], (SackBlock{nxt + 300, nxt + 400}));
  // A segment bridging two ranges merges them.
  ASSERT_TRUE(a.Add(nxt, nxt + 240, nxt + 310));
  EXPECT_EQ(a.ranges(), 2u);
  // The hole at RCV.NXT fills: RCV.NXT runs over the first range only.
  EXPECT_EQ(a.Advance(nxt + 100), nxt + 400);
  EXPECT_EQ(a.ranges(), 1u);
  EXPECT_EQ(a.Advance(nxt + 450), nxt + 450);  // a gap before 500 remains
  EXPECT_EQ(a.Advance(nxt + 550), nxt + 600);  // covers part of it: over the rest
  EXPECT_TRUE(a.empty());
}

TEST(Assembler, BoundedNumberOfRanges) {
  Assembler a;
  const SeqNum nxt(1000);
  for (std::uint32_t i = 0; i < Assembler::kMaxRanges; ++i) {
    ASSERT_TRUE(a.Add(nxt, nxt + 10 + 20 * i, nxt + 20 + 20 * i)) << i;
  }
  EXPECT_FALSE(a.Add(nxt, nxt + 5000, nxt + 5010));  // one range too many: refused
  EXPECT_TRUE(a.Add(nxt, nxt + 20, nxt + 30));        // one that merges still fits
  EXPECT_EQ(a.ranges(), Assembler::kMaxRanges - 1);
}

}  // namespace
}  // namespace ringstack::proto::tcp
