// Path MTU in TcpConnection as state-table rows: an ICMP report believed
// only about a segment in flight (RFC 5927 4.1.3), never raising the size
// (RFC 1191 6.3), lowering it and resending at once what no longer fits
// without a congestion reduction (RFC 1191 6.4, RFC 8201 5.2), IPv6's
// larger header, the path MTU known at open, and RFC 4821 black-hole
// detection by timeouts in a row.
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "protocols/tcp/tcp_connection.h"
#include "tests/unit/tcp_fixture.h"

namespace ringstack::proto::tcp {
namespace {

using namespace fixture;  // NOLINT: the fixture is this file's vocabulary

TcpConfig PmtuConfig(MtuProbing probing = MtuProbing::kOff) {
  TcpConfig c = Config();
  c.nodelay = true;
  c.congestion = "newreno";
  c.hystart = false;
  c.mss = 1460;
  c.mtu_probing = probing;
  return c;
}

Endpoints Ends6() {
  return Endpoints{IpAddress(*Ipv6Address::Parse("2001:db8::2")), 7, IpAddress(*Ipv6Address::Parse("2001:db8::1")),
                   40000};
}

// Established by an active open; the peer offers MSS `peer_mss` and SACK.
std::unique_ptr<Fixture> Open(const TcpConfig& config, std::uint16_t peer_mss, const Endpoints& ends = Ends()) {
  auto f = std::make_unique<Fixture>();
  f->c = TcpConnection::Connect(config, ends, SeqNum(kIss), f->now, f->rec.out);
  f->rec.Absorb();
  f->now = f->now + Duration::Millis(10);
  TcpRepr synack = Seg(kSyn | kAck, kIrs, kIss + 1);
  synack.options.mss = peer_mss;
  synack.options.sack_permitted = true;
  f->In(synack);
  f->rec.Take();
  return f;
}

PmtuVerdict Report(Fixture& f, std::uint32_t mtu, std::uint32_t seq) {
  const PmtuVerdict v = f.c->OnPathMtu(mtu, SeqNum(seq), f.now, f.rec.out);
  f.rec.Absorb();
  return v;
}

std::uint32_t Largest(const std::vector<Recorder::Sent>& sent) {
  std::uint32_t n = 0;
  for (const auto& s : sent) n = std::max(n, s.len);
  return n;
}

TEST(TcpPmtu, ProbingNamesRoundTrip) {
  for (const MtuProbing m : {MtuProbing::kOff, MtuProbing::kBlackhole, MtuProbing::kOn}) {
    EXPECT_EQ(ParseMtuProbing(MtuProbingName(m)), m);
  }
  EXPECT_EQ(ParseMtuProbing("always"), std::nullopt);
}

// RFC 5927 4.1.3: a report whose quoted sequence number is not in flight
// (at SND.NXT, or already acknowledged) is forged or stale: ignored.
TEST(TcpPmtu, AReportAboutNoSegmentInFlightIsIgnored) {
  auto f = Open(PmtuConfig(), 1000);
  f->AppSend(5000);
  f->rec.Take();
  f->In(Seg(kAck, f->PeerSeq(), kIss + 1 + 1000));
  f->rec.Take();
  EXPECT_EQ(Report(*f, 576, kIss + 1 + 5000), PmtuVerdict::kIgnored);  // SND.NXT: never sent
  EXPECT_EQ(Report(*f, 576, kIss + 1), PmtuVerdict::kIgnored);         // acknowledged
  EXPECT_EQ(Report(*f, 576, kIss + 1 + 900), PmtuVerdict::kIgnored);   // inside an acknowledged segment
  EXPECT_EQ(f->c->snd_mss(), 1000);
  EXPECT_EQ(f->c->stats().pmtu_ignored, 3u);
  EXPECT_EQ(f->rec.Take(), "none");
}

// RFC 1191 6.4 / RFC 8201 5.2: the size falls at once and every segment in
// flight larger than it goes again in pieces; the window is not reduced.
TEST(TcpPmtu, AReportLowersTheSizeAndResendsWhatNoLongerFits) {
  auto f = Open(PmtuConfig(), 1000);
  f->AppSend(5000);
  ASSERT_EQ(f->rec.sent.size(), 5u);
  f->rec.Take();
  const std::uint32_t cwnd = f->c->cwnd();
  const std::uint32_t ssthresh = f->c->ssthresh();
  EXPECT_EQ(Report(*f, 576, kIss + 1 + 2000), PmtuVerdict::kLowered);
  EXPECT_EQ(f->c->snd_mss(), 536);
  EXPECT_EQ(f->c->path_mtu(), 576u);
  // All five, each as 536 + 464, oldest first.
  ASSERT_EQ(f->rec.sent.size(), 10u);
  std::uint32_t seq = kIss + 1;
  for (const auto& s : f->rec.sent) {
    EXPECT_EQ(s.h.seq.value(), seq);
    EXPECT_LE(s.len, 536u);
    seq += s.len;
  }
  EXPECT_EQ(seq, kIss + 1 + 5000);
  f->rec.Take();
  EXPECT_EQ(f->c->cwnd(), cwnd);
  EXPECT_EQ(f->c->ssthresh(), ssthresh);
  EXPECT_EQ(f->c->stats().pmtu_lowered, 1u);
  EXPECT_EQ(f->c->stats().timeouts, 0u);
  EXPECT_FALSE(f->c->in_recovery());
  // The peer had the first two and gets the rest: all acknowledged, and
  // new data goes at the new size.
  f->In(Seg(kAck, f->PeerSeq(), kIss + 1 + 5000));
  EXPECT_FALSE(f->c->in_recovery());
  EXPECT_GE(f->c->cwnd(), cwnd);
  f->rec.Take();
  f->AppSend(3000);
  ASSERT_FALSE(f->rec.sent.empty());
  EXPECT_EQ(Largest(f->rec.sent), 536u);
}

// RFC 1191 6.3: a report never raises the size; one between the path's and
// the peer's smaller MSS changes nothing sent.
TEST(TcpPmtu, AReportNoSmallerChangesNothing) {
  auto f = Open(PmtuConfig(), 1000);
  f->AppSend(3000);
  f->rec.Take();
  EXPECT_EQ(Report(*f, 1500, kIss + 1), PmtuVerdict::kUnchanged);
  EXPECT_EQ(Report(*f, 1100, kIss + 1), PmtuVerdict::kUnchanged);  // 1060 > the peer's 1000
  EXPECT_EQ(f->c->snd_mss(), 1000);
  EXPECT_EQ(f->c->stats().pmtu_lowered, 0u);
  EXPECT_EQ(f->rec.Take(), "none");
}

// IPv6's header is 40 octets: a Packet Too Big of 1280 leaves 1220.
TEST(TcpPmtu, Ipv6TakesItsLargerHeader) {
  auto f = Open(PmtuConfig(), 1440, Ends6());
  f->AppSend(4000);
  f->rec.Take();
  EXPECT_EQ(Report(*f, 1280, kIss + 1), PmtuVerdict::kLowered);
  EXPECT_EQ(f->c->snd_mss(), 1220);
  EXPECT_EQ(f->c->path_mtu(), 1280u);
  EXPECT_EQ(Largest(f->rec.sent), 1220u);
}

// A path MTU the IP layer already knows bounds a new connection's segments.
TEST(TcpPmtu, ThePathMtuKnownAtOpenBoundsTheFirstSegments) {
  TcpConfig config = PmtuConfig();
  config.path_mtu = 1000;
  auto f = Open(config, 1460);
  EXPECT_EQ(f->c->snd_mss(), 960);
  f->AppSend(3000);
  EXPECT_EQ(Largest(f->rec.sent), 960u);
}

// RFC 4821: with black-hole detection, the second timeout in a row of a
// large segment lowers the size to 1024, the next halves it to IPv4's
// floor of 536; without it the size stays, however many time out.
struct BlackholeRow {
  std::string name;
  MtuProbing probing;
  std::uint32_t queued;                 // bytes the application sends
  std::vector<std::uint32_t> largest;   // the largest segment resent at each timeout
  std::uint64_t blackholes;
};

TEST(TcpPmtu, BlackholeDetectionByTimeouts) {
  const std::vector<BlackholeRow> rows = {
      {"blackhole", MtuProbing::kBlackhole, 6000, {1460, 1024, 536, 536}, 2},
      {"off", MtuProbing::kOff, 6000, {1460, 1460, 1460, 1460}, 0},
      {"blackhole, a small segment lost", MtuProbing::kBlackhole, 300, {300, 300, 300, 300}, 0},
  };
  for (const BlackholeRow& r : rows) {
    auto f = Open(PmtuConfig(r.probing), 1460);
    f->AppSend(r.queued);
    f->rec.Take();
    for (std::size_t i = 0; i < r.largest.size(); ++i) {
      // The tail probe may come first; the timeout after it resends.
      const std::uint64_t timeouts = f->c->stats().timeouts;
      while (f->c->stats().timeouts == timeouts) {
        f->rec.Take();
        f->now = f->c->NextDeadline();
        f->Timer();
      }
      ASSERT_FALSE(f->rec.sent.empty()) << r.name;
      EXPECT_EQ(Largest(f->rec.sent), r.largest[i]) << r.name << " timeout " << i + 1;
    }
    EXPECT_EQ(f->c->stats().mtu_blackholes, r.blackholes) << r.name;
    // What got through is acknowledged: the transfer goes on at the size found.
    f->In(Seg(kAck, f->PeerSeq(), f->OurNxt()));
    EXPECT_EQ(f->c->snd_una(), f->c->snd_nxt()) << r.name;
  }
}

// The peer's ACK of everything up to `ack`, SACKing `blocks` above it.
TcpRepr AckSack(Fixture& f, std::uint32_t ack, std::vector<std::pair<std::uint32_t, std::uint32_t>> blocks = {}) {
  TcpRepr s = Seg(kAck, f.PeerSeq(), ack);
  for (auto [l, r] : blocks) s.options.sack[s.options.sack_count++] = SackBlock{SeqNum(l), SeqNum(r)};
  return s;
}

// A black hole at 1460 lowered the size to 1024; probing on, the data sent
// after it.
std::unique_ptr<Fixture> AfterBlackhole() {
  TcpConfig c = PmtuConfig(MtuProbing::kOn);
  c.recovery = Recovery::kSack;  // losses by DupThresh: no reordering timer in these rows
  auto f = Open(c, 1460);
  f->AppSend(6000);
  while (f->c->stats().mtu_blackholes == 0) {
    f->rec.Take();
    f->now = f->c->NextDeadline();
    f->Timer();
  }
  // The peer has it all (the pieces of 1024 got through): recovery ends.
  while (f->c->snd_nxt() != SeqNum(kIss + 1 + 6000)) {
    f->now = f->c->NextDeadline();
    f->Timer();
  }
  f->In(Seg(kAck, f->PeerSeq(), kIss + 1 + 6000));
  f->rec.Take();
  return f;
}

// RFC 4821 7.2: after the black hole, the next data goes with one segment
// halfway between 1024 (works) and 1459 (below the size lost): 1242. Its
// ACK raises the size; the next probe tries halfway to the ceiling.
TEST(TcpPmtu, ProbingSearchesBackUpWithSegmentsOfData) {
  auto f = AfterBlackhole();
  ASSERT_EQ(f->c->snd_mss(), 1024);
  EXPECT_FALSE(f->c->in_recovery());
  f->AppSend(30000);
  ASSERT_FALSE(f->rec.sent.empty());
  EXPECT_EQ(f->rec.sent[0].len, 1242u);  // the probe, then segments of the size that works
  for (std::size_t i = 1; i < f->rec.sent.size(); ++i) EXPECT_EQ(f->rec.sent[i].len, 1024u) << i;
  EXPECT_EQ(f->c->stats().mtu_probes, 1u);
  const std::uint32_t probe_end = f->rec.sent[0].h.seq.value() + 1242;
  f->rec.Take();
  f->In(AckSack(*f, probe_end));
  EXPECT_EQ(f->c->snd_mss(), 1242);
  ASSERT_FALSE(f->rec.sent.empty());
  EXPECT_EQ(f->rec.sent[0].len, 1351u);  // (1242 + 1459 + 1) / 2
  EXPECT_EQ(f->c->stats().mtu_probes, 2u);
}

// RFC 4821 7.6.2: a lost probe is no congestion signal: its data goes
// again at the size that works, cwnd and ssthresh stay, the ceiling falls
// below it and the search goes on under it.
TEST(TcpPmtu, ALostProbeLowersTheCeilingNotTheWindow) {
  auto f = AfterBlackhole();
  f->AppSend(30000);
  ASSERT_EQ(f->rec.sent[0].len, 1242u);
  const std::uint32_t probe_start = f->rec.sent[0].h.seq.value();
  const std::uint32_t probe_end = probe_start + 1242;
  const std::uint32_t cwnd = f->c->cwnd();
  f->rec.Take();
  // Three segments after the probe arrive (SACKed; each SACK lets the next
  // go); the probe did not.
  for (std::uint32_t k = 1; k <= 2; ++k) f->In(AckSack(*f, probe_start, {{probe_end, probe_end + k * 1024}}));
  EXPECT_EQ(f->c->stats().mtu_probes_lost, 0u);
  f->rec.Take();
  f->In(AckSack(*f, probe_start, {{probe_end, probe_end + 3 * 1024}}));  // DupThresh
  EXPECT_EQ(f->c->stats().mtu_probes_lost, 1u);
  EXPECT_EQ(f->c->stats().fast_recoveries, 1u);
  EXPECT_GE(f->c->ssthresh(), cwnd);  // recovery runs toward the window as it was
  ASSERT_FALSE(f->rec.sent.empty());
  EXPECT_EQ(f->rec.sent[0].h.seq.value(), probe_start);  // resent in pieces of the size that works
  EXPECT_EQ(f->rec.sent[0].len, 1024u);
  EXPECT_EQ(f->c->snd_mss(), 1024);
  // Everything arrives: the window is whole, and the next probe tries
  // under the new ceiling (1241).
  f->rec.Take();
  f->In(AckSack(*f, f->OurNxt()));
  EXPECT_FALSE(f->c->in_recovery());
  EXPECT_GE(f->c->cwnd(), cwnd);
  ASSERT_FALSE(f->rec.sent.empty());
  EXPECT_EQ(f->rec.sent[0].len, 1133u);  // (1024 + 1241 + 1) / 2
}

}  // namespace
}  // namespace ringstack::proto::tcp
