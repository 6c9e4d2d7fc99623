// Loss recovery and congestion control: the SACK scoreboard as a
// table against RFC 6675's definitions, CUBIC's window function against RFC
// 9438's equations at known points, HyStart++, then a connection at a time:
// PRR's pacing, RACK's reordering window and its timer, the tail loss
// probe, D-SACK undo, PAWS, the challenge-ACK limit, RFC 7661.
#include <cmath>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "protocols/tcp/congestion.h"
#include "protocols/tcp/scoreboard.h"
#include "protocols/tcp/syn_cookie.h"
#include "protocols/tcp/tcp_connection.h"
#include "tests/unit/tcp_fixture.h"

namespace ringstack::proto::tcp {
namespace {

using namespace fixture;  // NOLINT: the fixture is this file's vocabulary

const Instant kT = Instant::FromNanos(1'000'000'000);
auto kNoVisit = [](const SentSegment&) {};

// Ten records of 1000 from 1000.
Scoreboard Ten() {
  Scoreboard sb;
  for (std::uint32_t i = 0; i < 10; ++i) sb.OnSend(SeqNum(1000 + i * 1000), SeqNum(2000 + i * 1000), false, kT);
  return sb;
}

TEST(Scoreboard, SackedOctetsPipeAndIsLostFollowRfc6675) {
  Scoreboard sb = Ten();
  EXPECT_EQ(sb.Pipe(10000), 10000u);
  // Records 2 and 3 SACKed: 2000 octets above records 0 and 1, which is not
  // more than (DupThresh - 1) * SMSS: not lost yet.
  EXPECT_EQ(sb.OnSackBlock(SeqNum(3000), SeqNum(5000), kNoVisit), 2000u);
  EXPECT_EQ(sb.sacked_bytes(), 2000u);
  EXPECT_EQ(sb.MarkLostByDupThresh(1000), 0);
  EXPECT_EQ(sb.Holes(), 1);
  // A third SACKed record (6): records 0, 1 have three above them, record 4
  // and 5 only one: lost are 0 and 1.
  sb.OnSackBlock(SeqNum(7000), SeqNum(8000), kNoVisit);
  EXPECT_EQ(sb.MarkLostByDupThresh(1000), 2);
  EXPECT_TRUE(sb.at(0).lost && sb.at(1).lost);
  EXPECT_FALSE(sb.at(4).lost || sb.at(5).lost);
  EXPECT_EQ(sb.Holes(), 2);
  EXPECT_EQ(sb.HighSacked(SeqNum(1000)), SeqNum(8000));
  // pipe = flight - SACKed - lost + retransmitted.
  EXPECT_EQ(sb.Pipe(10000), 10000u - 3000 - 2000);
  // NextSeg rule 1: the first lost, then (after it is resent) the next.
  ASSERT_EQ(sb.FirstLostToSend(), 0u);
  sb.OnRetransmit(0, kT);
  EXPECT_EQ(sb.Pipe(10000), 10000u - 3000 - 2000 + 1000);
  ASSERT_EQ(sb.FirstLostToSend(), 1u);
  sb.OnRetransmit(1, kT);
  EXPECT_EQ(sb.FirstLostToSend(), Scoreboard::kNone);
  // A lost retransmission is lost again: it may go once more.
  sb.MarkLost(0);
  EXPECT_EQ(sb.FirstLostToSend(), 0u);
  EXPECT_EQ(sb.Pipe(10000), 10000u - 3000 - 2000 + 1000);
}

// A segment counts as SACKed only whole (RFC 8985 RACK.segment, RFC 6675
// IsLost): a block that covers part of a record leaves it as it is; only a
// FIN is split off the data a block covers.
TEST(Scoreboard, BlocksSackWholeRecordsAndAcksTrimThem) {
  Scoreboard sb = Ten();
  std::vector<std::uint32_t> seen;
  auto record = [&](const SentSegment& s) { seen.push_back(s.start.value()); };
  // One byte at the end of record 2 (3000-4000), then a block inside it.
  EXPECT_EQ(sb.OnSackBlock(SeqNum(3999), SeqNum(4000), record), 0u);
  EXPECT_EQ(sb.OnSackBlock(SeqNum(3200), SeqNum(3700), record), 0u);
  EXPECT_TRUE(seen.empty());
  EXPECT_EQ(sb.size(), 10u);
  EXPECT_EQ(sb.sacked_bytes(), 0u);
  // A block from inside record 2 to inside record 5: records 3 and 4 only.
  EXPECT_EQ(sb.OnSackBlock(SeqNum(3500), SeqNum(6500), record), 2000u);
  EXPECT_EQ(seen, (std::vector<std::uint32_t>{4000, 5000}));
  EXPECT_EQ(sb.size(), 10u);
  EXPECT_FALSE(sb.at(2).sacked || sb.at(5).sacked);
  EXPECT_TRUE(sb.at(3).sacked && sb.at(4).sacked);
  // The same block again delivers nothing new.
  EXPECT_EQ(sb.OnSackBlock(SeqNum(3500), SeqNum(6500), kNoVisit), 0u);
  // A cumulative ACK inside record 0 trims it; one past the SACKed part
  // delivers only what was not SACKed.
  EXPECT_EQ(sb.OnAck(SeqNum(1500), kNoVisit), 500u);
  EXPECT_EQ(sb.at(0).start, SeqNum(1500));
  EXPECT_EQ(sb.OnAck(SeqNum(6000), kNoVisit), 4500u - 2000);
  EXPECT_EQ(sb.sacked_bytes(), 0u);
  EXPECT_EQ(sb.at(0).start, SeqNum(6000));
  // A timeout: SACK information goes (RFC 2018 8), everything is lost.
  sb.OnSackBlock(SeqNum(7000), SeqNum(8000), kNoVisit);
  EXPECT_EQ(sb.sacked_bytes(), 1000u);
  sb.MarkAllLost();
  EXPECT_EQ(sb.sacked_bytes(), 0u);
  EXPECT_EQ(sb.Pipe(5000), 0u);
  EXPECT_EQ(sb.FirstLostToSend(), 0u);
}

TEST(Scoreboard, ABlockOfTheDataBeforeAFinSplitsOffTheFin) {
  Scoreboard sb;
  sb.OnSend(SeqNum(1000), SeqNum(2000), false, kT);
  sb.OnSend(SeqNum(2000), SeqNum(3001), true, kT);  // 1000 bytes and the FIN
  EXPECT_EQ(sb.OnSackBlock(SeqNum(2000), SeqNum(3000), kNoVisit), 1000u);
  ASSERT_EQ(sb.size(), 3u);
  EXPECT_TRUE(sb.at(1).sacked);
  EXPECT_FALSE(sb.at(1).fin);
  EXPECT_TRUE(sb.at(2).fin && !sb.at(2).sacked);
  EXPECT_EQ(sb.at(2).len(), 1u);
  // Part of that data only: nothing.
  Scoreboard sb2;
  sb2.OnSend(SeqNum(2000), SeqNum(3001), true, kT);
  EXPECT_EQ(sb2.OnSackBlock(SeqNum(2500), SeqNum(3000), kNoVisit), 0u);
  EXPECT_EQ(sb2.size(), 1u);
}

TEST(Cubic, WindowFunctionMatchesRfc9438AtKnownPoints) {
  // W_max = 100 segments, reduced to cwnd_epoch = 70 (beta 0.7):
  // K = cbrt((100 - 70) / 0.4) = cbrt(75).
  const double k = Cubic::K(100, 70);
  EXPECT_NEAR(k, 4.2172, 1e-4);
  EXPECT_NEAR(Cubic::WCubic(0, k, 100), 70, 1e-9);     // starts at cwnd_epoch
  EXPECT_NEAR(Cubic::WCubic(k, k, 100), 100, 1e-9);    // the plateau at K
  EXPECT_NEAR(Cubic::WCubic(2 * k, k, 100), 130, 1e-9);  // convex: symmetric past it
  EXPECT_NEAR(Cubic::WCubic(k + 1, k, 100), 100.4, 1e-9);
}

TEST(Cubic, DecreaseFastConvergenceAndGrowthBackToWmaxNearK) {
  Cubic c(1000, /*hystart=*/false);
  c.SetCwnd(100'000);
  c.OnCongestionEvent(100'000, kT);
  EXPECT_EQ(c.ssthresh(), 70'000u);  // beta = 0.7
  EXPECT_NEAR(c.w_max_segments(), 100, 1e-9);
  // A second loss below W_max: fast convergence, W_max = cwnd (1 + beta) / 2.
  c.SetCwnd(80'000);
  c.OnCongestionEvent(80'000, kT);
  EXPECT_NEAR(c.w_max_segments(), 68, 1e-9);
  // From a loss at 100 segments, ACKs for a window every 100 ms RTT: cwnd
  // is back near W_max after K seconds, and grows on past it.
  Cubic d(1000, false);
  d.SetCwnd(100'000);
  d.OnCongestionEvent(100'000, kT);
  d.SetCwnd(d.ssthresh());
  Instant now = kT;
  const double k = Cubic::K(100, 70);
  std::uint32_t at_k = 0;
  for (int ms = 0; ms <= 8000; ms += 10) {
    now = kT + Duration::Millis(ms);
    AckInfo a;
    a.now = now;
    a.srtt = Duration::Millis(100);
    a.acked = d.cwnd() / 10;  // one window per 100 ms
    d.OnAck(a);
    if (at_k == 0 && ms >= static_cast<int>(k * 1000)) at_k = d.cwnd();
  }
  EXPECT_NEAR(at_k / 1000.0, 100.0, 3.0);
  EXPECT_GT(d.cwnd(), 115'000u);  // W_cubic(8.1 s) = 121.6 segments
  // Spurious: Undo restores cwnd and ssthresh from before the event.
  Cubic u(1000, false);
  u.SetCwnd(50'000);
  u.OnCongestionEvent(50'000, kT);
  u.SetCwnd(u.ssthresh());
  u.Undo();
  EXPECT_EQ(u.cwnd(), 50'000u);
  EXPECT_EQ(u.ssthresh(), 0xffffffffu);
}

TEST(NewReno, HalvesTheFlightAndGrowsOneSegmentPerWindow) {
  NewReno r(1000);
  r.SetCwnd(20'000);
  r.OnCongestionEvent(20'000, kT);
  EXPECT_EQ(r.ssthresh(), 10'000u);
  r.SetCwnd(10'000);
  AckInfo a;
  a.now = kT;
  a.acked = 1000;
  for (int i = 0; i < 10; ++i) r.OnAck(a);
  EXPECT_EQ(r.cwnd(), 11'000u);
}

TEST(HyStartPlusPlus, RisingRoundRttEntersConservativeSlowStartThenLeaves) {
  NewReno r(1000, /*hystart=*/true);
  std::uint32_t una = 0;
  auto round = [&](Duration rtt) {
    // One round: the window's worth of ACKs, each with an RTT sample.
    const std::uint32_t end = una + r.cwnd();
    while (una < end) {
      una += 1000;
      AckInfo a;
      a.acked = 1000;
      a.now = kT;
      a.rtt = rtt;
      a.snd_una = SeqNum(una);
      a.snd_nxt = SeqNum(end + r.cwnd());
      r.OnAck(a);
    }
  };
  round(Duration::Millis(50));
  round(Duration::Millis(50));
  EXPECT_FALSE(r.in_css());
  const std::uint32_t before = r.cwnd();
  round(Duration::Millis(60));  // +10 ms > max(4, min(16, 50/8)) ms
  EXPECT_TRUE(r.in_css());
  // CSS grows by a quarter of slow start.
  EXPECT_LT(r.cwnd() - before, before);
  for (int i = 0; i < 6 && r.in_slow_start(); ++i) round(Duration::Millis(60));
  EXPECT_FALSE(r.in_slow_start());  // after CSS_ROUNDS: ssthresh = cwnd
  EXPECT_EQ(r.ssthresh(), r.cwnd());
}

// A connection with a SACK-capable peer (MSS 1000, no timestamps), 10
// segments in flight.
std::unique_ptr<Fixture> Flight(Recovery recovery, std::string_view cc = "newreno", std::uint32_t bytes = 10'000) {
  TcpConfig c = Config();
  c.nodelay = true;
  c.recovery = recovery;
  c.congestion = cc;
  c.hystart = false;
  auto f = EstablishedWith(c, /*peer_sack=*/true, 65535, Duration::Millis(100));
  f->AppSend(bytes);
  f->rec.Take();
  return f;
}

TcpRepr SackAck(std::uint32_t peer_seq, std::uint32_t ack, std::vector<std::pair<std::uint32_t, std::uint32_t>> blocks) {
  TcpRepr s = Seg(kAck, peer_seq, ack);
  for (auto [l, r] : blocks) s.options.sack[s.options.sack_count++] = SackBlock{SeqNum(l), SeqNum(r)};
  return s;
}

TEST(TcpRecovery, SackRecoveryRetransmitsTheHoleAndPrrPacesTheRest) {
  auto f = Flight(Recovery::kSack, "newreno");  // 10 in flight
  const std::uint32_t una = kIss + 1;
  ASSERT_EQ(f->c->in_flight(), 10'000u);
  // Segment 0 lost; the peer SACKs 1, 2, 3 one by one.
  f->In(SackAck(f->PeerSeq(), una, {{una + 1000, una + 2000}}));
  f->In(SackAck(f->PeerSeq(), una, {{una + 1000, una + 3000}}));
  EXPECT_EQ(f->rec.Take(), "none");
  EXPECT_FALSE(f->c->in_recovery());
  f->In(SackAck(f->PeerSeq(), una, {{una + 1000, una + 4000}}));
  // IsLost(segment 0): three SACKed above it. Retransmitted at once.
  ASSERT_TRUE(f->c->in_recovery());
  ASSERT_EQ(f->rec.sent.size(), 1u);
  EXPECT_EQ(f->rec.sent[0].h.seq, SeqNum(una));
  EXPECT_EQ(f->c->ssthresh(), 5000u);
  f->rec.Take();
  f->AppSend(20'000);  // more to send while recovering
  EXPECT_EQ(f->rec.Take(), "none");  // pipe (7000) is over cwnd
  // Each further SACK delivers 1000; PRR lets out ssthresh / RecoverFS = 1/2
  // of what is delivered while pipe > ssthresh.
  std::uint32_t delivered = 1000;  // the SACK that started recovery
  std::uint32_t out = 1000;        // the retransmission
  // Once pipe is down to ssthresh, the slow-start reduction bound holds it
  // there (PRR-SSRB).
  for (std::uint32_t k = 4; k < 10; ++k) {
    const bool proportional = f->c->pipe() > f->c->ssthresh();
    f->In(SackAck(f->PeerSeq(), una, {{una + 1000, una + (k + 1) * 1000}}));
    delivered += 1000;
    for (const auto& s : f->rec.sent) out += s.len;
    f->rec.sent.clear();
    if (proportional) {
      const std::uint32_t allowed = (delivered * 5000 + 9999) / 10'000;
      EXPECT_LE(out, std::max(allowed, 1000u) + 1000) << "after SACK of segment " << k;
      EXPECT_GE(out + 1000, allowed) << "after SACK of segment " << k;
    } else {
      EXPECT_LE(f->c->pipe(), f->c->ssthresh()) << "after SACK of segment " << k;
      EXPECT_GE(f->c->pipe() + 1000, f->c->ssthresh()) << "after SACK of segment " << k;
    }
  }
  // The hole is filled: recovery ends with cwnd = ssthresh (RFC 6937).
  f->In(SackAck(f->PeerSeq(), una + 10'000, {}));
  EXPECT_FALSE(f->c->in_recovery());
  EXPECT_EQ(f->c->cwnd(), 5000u);
  EXPECT_EQ(f->c->stats().fast_recoveries, 1u);
  EXPECT_EQ(f->c->stats().dupthresh_marked, 1u);
}

// The strategy a connection gets: the configured one with a SACK peer,
// NewReno without (RFC 6675 and RACK work on SACK blocks).
TEST(TcpRecovery, StrategyFollowsTheConfigAndThePeer) {
  struct Row {
    Recovery config;
    bool peer_sack;
    Recovery kind;
    bool uses_sack;
  };
  const Row rows[] = {
      {Recovery::kRack, true, Recovery::kRack, true},       {Recovery::kRack, false, Recovery::kNewReno, false},
      {Recovery::kSack, true, Recovery::kSack, true},       {Recovery::kSack, false, Recovery::kNewReno, false},
      {Recovery::kNewReno, true, Recovery::kNewReno, false},
  };
  for (const Row& r : rows) {
    TcpConfig c = Config();
    c.recovery = r.config;
    auto f = EstablishedWith(c, r.peer_sack);
    const LossRecovery& got = f->c->recovery();
    const std::string row = std::string(RecoveryName(r.config)) + (r.peer_sack ? ", SACK peer" : ", no SACK");
    EXPECT_EQ(RecoveryName(got.kind()), RecoveryName(r.kind)) << row;
    EXPECT_EQ(got.UsesSack(), r.uses_sack) << row;
    EXPECT_EQ(got.rack() != nullptr, r.kind == Recovery::kRack) << row;
  }
}

// NewReno's recovery (RFC 5681 3.2, RFC 6582 3.2) step by step, a peer
// without SACK, 10 segments of 1000 in flight, cwnd 10 segments.
TEST(TcpRecovery, NewRenoInflatesOnDuplicatesAndDeflatesOnPartialAcks) {
  TcpConfig c = Config();
  c.nodelay = true;
  c.congestion = "newreno";
  c.hystart = false;
  auto f = EstablishedWith(c, /*peer_sack=*/false, 65535, Duration::Millis(100));
  f->AppSend(10'000);
  f->rec.Take();
  const std::uint32_t una = kIss + 1;
  ASSERT_EQ(f->c->in_flight(), 10'000u);
  // Two duplicates: nothing yet.
  f->In(Seg(kAck, f->PeerSeq(), una));
  f->In(Seg(kAck, f->PeerSeq(), una));
  EXPECT_EQ(f->rec.Take(), "none");
  EXPECT_FALSE(f->c->in_recovery());
  // The third: segment 0 again, ssthresh half the flight, cwnd ssthresh + 3 SMSS.
  f->In(Seg(kAck, f->PeerSeq(), una));
  ASSERT_TRUE(f->c->in_recovery());
  ASSERT_EQ(f->rec.sent.size(), 1u);
  EXPECT_EQ(f->rec.sent[0].h.seq, SeqNum(una));
  EXPECT_EQ(f->c->ssthresh(), 5000u);
  EXPECT_EQ(f->c->cwnd(), 8000u);
  f->rec.Take();
  // A fourth inflates cwnd by one SMSS.
  f->In(Seg(kAck, f->PeerSeq(), una));
  EXPECT_EQ(f->c->cwnd(), 9000u);
  // A partial ACK (segments 0-2): the next hole goes at once; cwnd deflates
  // by the 3000 acknowledged and grows by one SMSS.
  f->In(Seg(kAck, f->PeerSeq(), una + 3000));
  ASSERT_TRUE(f->c->in_recovery());
  ASSERT_FALSE(f->rec.sent.empty());
  EXPECT_EQ(f->rec.sent[0].h.seq, SeqNum(una + 3000));
  EXPECT_EQ(f->c->cwnd(), 7000u);
  f->rec.Take();
  // The full ACK ends it: cwnd min(ssthresh, max(FlightSize, SMSS) + SMSS).
  f->In(Seg(kAck, f->PeerSeq(), una + 10'000));
  EXPECT_FALSE(f->c->in_recovery());
  EXPECT_EQ(f->c->cwnd(), 2000u);
  EXPECT_EQ(f->c->stats().fast_recoveries, 1u);
  EXPECT_EQ(f->c->stats().dupthresh_marked, 0u);
}

// RFC 3042 Limited Transmit (RFC 5681 3.2) with a peer without SACK: the
// first two duplicate ACKs each let one new segment go (the flight within
// cwnd + 2 SMSS, cwnd unchanged), so the third comes and the loss is
// repaired by fast retransmit, not the RTO; ssthresh halves the flight
// without those two segments.
TEST(TcpRecovery, LimitedTransmitSendsANewSegmentOnEachOfTwoDuplicates) {
  TcpConfig c = Config();
  c.nodelay = true;
  c.congestion = "newreno";
  c.hystart = false;
  auto f = EstablishedWith(c, /*peer_sack=*/false, 65535, Duration::Millis(100));
  f->AppSend(13'000);
  f->rec.Take();
  const std::uint32_t una = kIss + 1;
  ASSERT_EQ(f->c->in_flight(), 10'000u);  // cwnd: 10 segments
  f->In(Seg(kAck, f->PeerSeq(), una));
  ASSERT_EQ(f->rec.sent.size(), 1u);
  EXPECT_EQ(f->rec.sent[0].h.seq, SeqNum(una + 10'000));
  EXPECT_EQ(f->rec.sent[0].len, 1000u);
  f->rec.Take();
  f->In(Seg(kAck, f->PeerSeq(), una));
  ASSERT_EQ(f->rec.sent.size(), 1u);
  EXPECT_EQ(f->rec.sent[0].h.seq, SeqNum(una + 11'000));
  f->rec.Take();
  EXPECT_EQ(f->c->cwnd(), 10'000u);
  EXPECT_FALSE(f->c->in_recovery());
  // The third: the fast retransmit; ssthresh is half of 10 segments, not 12.
  f->In(Seg(kAck, f->PeerSeq(), una));
  ASSERT_TRUE(f->c->in_recovery());
  ASSERT_EQ(f->rec.sent.size(), 1u);
  EXPECT_EQ(f->rec.sent[0].h.seq, SeqNum(una));
  EXPECT_EQ(f->c->ssthresh(), 5'000u);
  EXPECT_EQ(f->c->stats().timeouts, 0u);
}

// RFC 5682 F-RTO: after a timeout SND.UNA goes again, alone; when its ACK
// comes, new data goes in place of the records deemed lost. An ACK of data
// sent before the timeout and never resent then shows the timeout spurious
// (its reduction undone, nothing else resent); one that SACKs the new data
// instead shows the loss real (the lost records go again).
TEST(TcpRecovery, FrtoUndoesASpuriousTimeoutAndKeepsARealOne) {
  for (const bool spurious : {true, false}) {
    const std::string row = spurious ? "spurious" : "real";
    auto f = Flight(Recovery::kSack, "newreno");  // 10 segments of 1000 out, cwnd 10 segments
    f->AppSend(5'000);                            // queued behind them
    f->rec.Take();
    const std::uint32_t una = kIss + 1;
    const std::uint32_t cwnd_before = f->c->cwnd();
    f->now = f->c->NextDeadline();  // the RTO
    f->Timer();
    ASSERT_EQ(f->rec.sent.size(), 1u) << row;
    EXPECT_EQ(f->rec.sent[0].h.seq, SeqNum(una)) << row;
    ASSERT_TRUE(f->c->in_recovery()) << row;
    EXPECT_EQ(f->c->stats().timeouts, 1u) << row;
    f->rec.Take();
    // The retransmission's ACK: two new segments (slow start's cwnd), not
    // segments 1 and 2 again.
    f->In(Seg(kAck, f->PeerSeq(), una + 1000));
    ASSERT_EQ(f->rec.sent.size(), 2u) << row;
    EXPECT_EQ(f->rec.sent[0].h.seq, SeqNum(una + 10'000)) << row;
    EXPECT_EQ(f->rec.sent[1].h.seq, SeqNum(una + 11'000)) << row;
    f->rec.Take();
    if (spurious) {
      // Segments 1-3, sent once before the timeout, are acknowledged.
      f->In(Seg(kAck, f->PeerSeq(), una + 4000));
      EXPECT_FALSE(f->c->in_recovery());
      EXPECT_EQ(f->c->stats().frto_spurious, 1u);
      EXPECT_EQ(f->c->stats().undos, 1u);
      EXPECT_GE(f->c->cwnd(), cwnd_before);
      for (const auto& s : f->rec.sent) EXPECT_TRUE(s.h.seq.AfterOrAt(SeqNum(una + 12'000))) << "resent " << s.h.seq.value();
    } else {
      // A duplicate ACK that SACKs the new data: segment 1 goes again.
      f->In(SackAck(f->PeerSeq(), una + 1000, {{una + 10'000, una + 11'000}}));
      EXPECT_TRUE(f->c->in_recovery());
      EXPECT_EQ(f->c->stats().frto_spurious, 0u);
      ASSERT_FALSE(f->rec.sent.empty());
      EXPECT_EQ(f->rec.sent[0].h.seq, SeqNum(una + 1000));
    }
  }
}

// RACK with an RTT sample of 100 ms (segment 0 ACKed), then segment 2
// SACKed 1 ms later while 1 is missing.
std::unique_ptr<Fixture> RackWithAHole() {
  auto f = Flight(Recovery::kRack);
  const std::uint32_t una = kIss + 1;
  f->now = f->now + Duration::Millis(100);
  f->In(SackAck(f->PeerSeq(), una + 1000, {}));
  f->now = f->now + Duration::Millis(1);
  f->In(SackAck(f->PeerSeq(), una + 1000, {{una + 2000, una + 3000}}));
  return f;
}

// PSH (as Linux sets it): on what the windows let out while they are small,
// so a receiver that delays a lone segment's ACK answers once it is read;
// not on every segment of a full-window burst.
TEST(TcpRecovery, SmallWindowsPushTheirLastSegment) {
  auto f = Flight(Recovery::kSack, "newreno", 30'000);  // 10 out (cwnd 10 segments), 20 queued
  const std::uint32_t una = kIss + 1;
  f->In(SackAck(f->PeerSeq(), una, {{una + 1000, una + 4000}}));  // recovery: segment 0 resent
  ASSERT_TRUE(f->c->in_recovery());
  f->rec.Take();
  int pushed = 0, data = 0;
  for (std::uint32_t k = 4; k < 10; ++k) {
    f->In(SackAck(f->PeerSeq(), una, {{una + 1000, una + (k + 1) * 1000}}));
    for (const auto& x : f->rec.sent) {
      if (x.len == 0) continue;
      ++data;
      pushed += (x.h.flags & kPsh) != 0 ? 1 : 0;
    }
    f->rec.sent.clear();
  }
  ASSERT_GT(data, 0);
  EXPECT_EQ(pushed, data);  // PRR lets one out at a time: each is the last
  // A full-window burst in the open state: PSH only at the half window and the end.
  auto g = Flight(Recovery::kRack, "newreno", 0);
  g->AppSend(100'000);
  int g_pushed = 0, g_data = 0;
  for (const auto& x : g->rec.sent) {
    g_data += x.len != 0 ? 1 : 0;
    g_pushed += (x.h.flags & kPsh) != 0 ? 1 : 0;
  }
  EXPECT_EQ(g_data, 10);
  EXPECT_LE(g_pushed, 2);
}

TEST(TcpRecovery, RackWaitsOutReorderingWithinItsWindow) {
  // Segment 2 arrives before 1: within min_RTT / 4 RACK does not call 1 lost.
  auto f = RackWithAHole();
  const std::uint32_t una = kIss + 1;
  EXPECT_EQ(f->rec.Take(), "none");
  EXPECT_FALSE(f->c->in_recovery());
  ASSERT_NE(f->c->recovery().rack(), nullptr);
  EXPECT_EQ(f->c->recovery().rack()->reo_wnd(), Duration::Millis(25));  // min_RTT / 4
  EXPECT_LE(f->c->NextDeadline(), f->now + Duration::Millis(25));  // the reorder timer
  // ... and 1 comes: no retransmission, reordering noted.
  f->now = f->now + Duration::Millis(5);
  f->In(SackAck(f->PeerSeq(), una + 3000, {}));
  f->now = f->now + Duration::Millis(30);
  f->Timer();
  EXPECT_EQ(f->c->retransmits(), 0u);
  EXPECT_TRUE(f->c->recovery().rack()->reordering_seen());
}

TEST(TcpRecovery, RackTimerDeclaresTheLossWhenTheWindowPasses) {
  auto f = RackWithAHole();
  const std::uint32_t una = kIss + 1;
  EXPECT_EQ(f->rec.Take(), "none");
  const Instant timer = f->c->NextDeadline();
  EXPECT_LT(timer, f->now + Duration::Millis(200));  // well before the RTO
  f->now = timer;
  f->Timer();
  ASSERT_FALSE(f->rec.sent.empty());
  EXPECT_EQ(f->rec.sent[0].h.seq, SeqNum(una + 1000));
  EXPECT_TRUE(f->c->in_recovery());
  EXPECT_EQ(f->c->stats().rack_marked, 1u);
  EXPECT_EQ(f->c->stats().timeouts, 0u);
}

TEST(TcpRecovery, TailLossProbeRepairsATailDropBeforeTheRto) {
  auto f = Flight(Recovery::kRack);
  const std::uint32_t una = kIss + 1;
  f->now = f->now + Duration::Millis(100);
  f->In(SackAck(f->PeerSeq(), una + 8000, {}));  // the last two are lost
  f->rec.Take();
  // PTO = 2 SRTT (100 ms) after the ACK; RTO would be later.
  const Instant pto = f->c->NextDeadline();
  EXPECT_EQ(pto, f->now + Duration::Millis(200));
  f->now = pto;
  f->Timer();
  ASSERT_EQ(f->rec.sent.size(), 1u);  // the probe: the last segment again
  EXPECT_EQ(f->rec.sent[0].h.seq, SeqNum(una + 9000));
  f->rec.Take();
  EXPECT_EQ(f->c->stats().tlp_probes, 1u);
  // The probe's SACK shows segment 8 missing: RACK marks it, recovery resends it.
  f->now = f->now + Duration::Millis(100);
  f->In(SackAck(f->PeerSeq(), una + 8000, {{una + 9000, una + 10'000}}));
  ASSERT_FALSE(f->rec.sent.empty());
  EXPECT_EQ(f->rec.sent[0].h.seq, SeqNum(una + 8000));
  f->In(SackAck(f->PeerSeq(), una + 10'000, {}));
  EXPECT_EQ(f->c->stats().timeouts, 0u);
  EXPECT_EQ(f->c->in_flight(), 0u);
}

// RFC 8985 7.2: sending new data restarts the probe timer (here the FIN
// after a shutdown, 50 ms after the data: the probe is due 2 SRTT after it,
// not after the data).
TEST(TcpRecovery, NewDataRestartsTheTailLossProbe) {
  auto f = Flight(Recovery::kRack, "newreno", 5'000);
  const Instant data_sent = f->now;
  EXPECT_EQ(f->c->NextDeadline(), data_sent + Duration::Millis(200));
  f->now = f->now + Duration::Millis(50);
  f->Shutdown();
  EXPECT_EQ(f->rec.Take(), "F.");
  EXPECT_EQ(f->c->NextDeadline(), f->now + Duration::Millis(200));
  f->now = data_sent + Duration::Millis(200);
  f->Timer();
  EXPECT_EQ(f->rec.Take(), "none");
  EXPECT_EQ(f->c->stats().tlp_probes, 0u);
  f->now = f->c->NextDeadline();
  f->Timer();
  EXPECT_EQ(f->c->stats().tlp_probes, 1u);
}

// A SACK block covering one byte of a segment delivers no segment: RACK
// takes nothing from it (its RACK.segment is a segment delivered whole), so
// the segments sent before are not deemed lost after a reordering window;
// the tail probe comes, as with no SACK at all.
TEST(TcpRecovery, ASackOfPartOfASegmentDeliversNothing) {
  auto f = Flight(Recovery::kRack);
  const std::uint32_t una = kIss + 1;
  f->now = f->now + Duration::Millis(100);
  f->In(SackAck(f->PeerSeq(), una, {{una + 3999, una + 4000}}));
  EXPECT_EQ(f->rec.Take(), "none");
  // The probe armed 2 SRTT after the data went; no reorder timer (+25 ms).
  const Instant next = f->c->NextDeadline();
  EXPECT_EQ(next, f->now + Duration::Millis(100));
  f->now = next;
  f->Timer();
  ASSERT_EQ(f->rec.sent.size(), 1u);
  EXPECT_EQ(f->rec.sent[0].h.seq, SeqNum(una + 9000));  // the probe: the last segment
  EXPECT_EQ(f->c->stats().rack_marked, 0u);
  EXPECT_EQ(f->c->stats().tlp_probes, 1u);
}

TEST(TcpRecovery, DsackOfEveryRetransmissionUndoesTheReduction) {
  auto f = Flight(Recovery::kSack);
  const std::uint32_t una = kIss + 1;
  const std::uint32_t cwnd = f->c->cwnd();
  f->In(SackAck(f->PeerSeq(), una, {{una + 1000, una + 4000}}));  // reordered, not lost
  ASSERT_TRUE(f->c->in_recovery());
  EXPECT_LT(f->c->ssthresh(), cwnd);
  // Segment 0 arrives after all, then our retransmission of it: the peer
  // reports the duplicate in a D-SACK below its cumulative ACK.
  f->In(SackAck(f->PeerSeq(), una + 4000, {{una, una + 1000}}));
  EXPECT_EQ(f->c->stats().dsacks, 1u);
  EXPECT_EQ(f->c->stats().undos, 1u);
  EXPECT_FALSE(f->c->in_recovery());
  EXPECT_GE(f->c->cwnd(), cwnd);  // restored (and the same ACK's growth on top)
  EXPECT_EQ(f->c->ssthresh(), 0xffffffffu);
}

TEST(TcpRecovery, ReceiverReportsDuplicatesInADsack) {
  TcpConfig c = Config();
  auto f = EstablishedWith(c, /*peer_sack=*/true);
  const std::uint32_t seq = f->PeerSeq();
  f->In(f->Data(seq, std::string(100, 'a')));
  f->rec.Take();
  f->In(f->Data(seq, std::string(100, 'a')));  // again
  ASSERT_EQ(f->rec.sent.size(), 1u);
  const TcpRepr& ack = f->rec.sent[0].h;
  ASSERT_EQ(ack.options.sack_count, 1);
  EXPECT_EQ(ack.options.sack[0], (SackBlock{SeqNum(seq), SeqNum(seq + 100)}));
  EXPECT_EQ(ack.ack, SeqNum(seq + 100));
}

// A connection with timestamps agreed: the peer's TSval starts at 500.
std::unique_ptr<Fixture> WithTimestamps(ChallengeAckLimiter* limiter = nullptr) {
  TcpConfig c = Config();
  c.timestamps = true;
  c.challenge_limiter = limiter;
  auto f = std::make_unique<Fixture>();
  f->c = TcpConnection::Connect(c, Ends(), SeqNum(kIss), f->now, f->rec.out);
  f->rec.Absorb();
  TcpRepr synack = Seg(kSyn | kAck, kIrs, kIss + 1);
  synack.options.mss = 1000;
  synack.options.timestamps = Timestamps{500, f->rec.sent[0].h.options.timestamps->tsval};
  f->In(synack);
  f->rec.Take();
  return f;
}

TEST(TcpHardening, PawsDropsSegmentsWithOldTimestamps) {
  auto f = WithTimestamps();
  TcpRepr fresh = f->Data(f->PeerSeq(), "new");
  fresh.options.timestamps = Timestamps{600, 0};
  f->In(fresh);
  EXPECT_EQ(f->rec.committed, 3u);
  f->rec.Take();
  // An old duplicate from a previous incarnation: in window, older TSval.
  TcpRepr old = f->Data(f->PeerSeq(), "old");
  old.options.timestamps = Timestamps{550, 0};
  f->In(old);
  EXPECT_EQ(f->rec.committed, 3u);
  EXPECT_EQ(f->c->stats().paws_dropped, 1u);
  EXPECT_EQ(f->rec.Take(), ".");  // answered with an ACK
  // Without a timestamp at all (RFC 7323 3.2): dropped silently.
  f->In(f->Data(f->PeerSeq(), "bare"));
  EXPECT_EQ(f->rec.committed, 3u);
  EXPECT_EQ(f->c->stats().ts_missing_dropped, 1u);
  EXPECT_EQ(f->rec.Take(), "none");
  // A RST needs no timestamp.
  TcpRepr rst = Seg(kRst, f->PeerSeq());
  f->In(rst);
  EXPECT_EQ(f->State(), "CLOSED");
}

// RFC 9293 3.10.7.4 fifth step with RFC 7323 4.3 and 5.3: a segment whose
// ACK is for data not yet sent is answered with an ACK and dropped before
// its timestamp counts. A forged in-window segment with a far-future TSval
// and a bad ACK must not move TS.Recent, or PAWS would drop the peer's real
// segments from then on (a blind stall).
TEST(TcpHardening, AnAckOfUnsentDataLeavesTsRecentAlone) {
  auto f = WithTimestamps();
  TcpRepr forged = f->Data(f->PeerSeq(), "evil");
  forged.ack = SeqNum(f->OurNxt() + 100'000);
  forged.options.timestamps = Timestamps{500 + 0x40000000u, 0};
  f->In(forged);
  EXPECT_EQ(f->rec.committed, 0u);
  ASSERT_EQ(f->rec.sent.size(), 1u);
  EXPECT_EQ(f->rec.sent[0].h.FlagString(), ".");
  EXPECT_EQ(f->rec.sent[0].h.ack, SeqNum(f->PeerSeq()));      // nothing taken
  EXPECT_EQ(f->rec.sent[0].h.options.timestamps->tsecr, 500u);  // TS.Recent as it was
  f->rec.Take();
  // The peer's own next segment still passes PAWS and is taken.
  TcpRepr real = f->Data(f->PeerSeq(), "real");
  real.options.timestamps = Timestamps{501, 0};
  f->In(real);
  EXPECT_EQ(f->rec.committed, 4u);
  EXPECT_EQ(f->c->stats().paws_dropped, 0u);
  f->rec.Take();
  // An acceptable segment takes its TSval: the next ACK echoes it.
  f->c->OnAppSend(1, f->now, f->rec.out);
  f->rec.Absorb();
  ASSERT_FALSE(f->rec.sent.empty());
  EXPECT_EQ(f->rec.sent.back().h.options.timestamps->tsecr, 501u);
}

TEST(TcpHardening, ChallengeAcksAreRateLimited) {
  ChallengeAckLimiter limiter(4, /*seed=*/99);
  auto f = WithTimestamps(&limiter);
  for (int i = 0; i < 10; ++i) f->In(Seg(kRst, f->PeerSeq() + 10 + i));  // in window, not RCV.NXT
  EXPECT_EQ(f->State(), "ESTABLISHED");
  // This second's budget, drawn from [2, 6): that many answered, the rest held back.
  const int budget = limiter.budget();
  EXPECT_GE(budget, 2);
  EXPECT_LT(budget, 6);
  EXPECT_EQ(f->c->stats().challenge_acks, static_cast<std::uint64_t>(budget));
  EXPECT_EQ(f->c->stats().challenge_limited, static_cast<std::uint64_t>(10 - budget));
  f->rec.Take();
  // A second later there is a new budget.
  f->now = f->now + Duration::Seconds(1);
  f->In(Seg(kRst, f->PeerSeq() + 20));
  EXPECT_EQ(f->rec.Take(), ".");
  // The budget varies from second to second (an attacker cannot count on it).
  std::set<int> budgets;
  for (int sec = 2; sec < 40; ++sec) {
    limiter.Allow(f->now + Duration::Seconds(sec));
    budgets.insert(limiter.budget());
  }
  EXPECT_GE(budgets.size(), 3u);
}

TEST(TcpCongestion, ApplicationLimitedSenderDoesNotGrowCwnd) {
  TcpConfig c = Config();
  c.nodelay = true;
  c.non_validated_period = Duration::Seconds(1);
  auto f = EstablishedWith(c, /*peer_sack=*/true);
  const std::uint32_t iw = f->c->cwnd();
  // One small write per round trip: cwnd is never used, so never grows.
  for (int i = 0; i < 50; ++i) {
    f->AppSend(100);
    f->now = f->now + Duration::Millis(10);
    f->In(Seg(kAck, f->PeerSeq(), f->OurNxt()));
  }
  EXPECT_EQ(f->c->cwnd(), iw);
  // A bulk transfer fills it and grows it (slow start: an ACK per segment).
  for (int i = 0; i < 3; ++i) {
    f->AppSend(f->c->cwnd());
    const std::uint32_t una = f->c->snd_una().value();
    const std::uint32_t nxt = f->OurNxt();
    f->now = f->now + Duration::Millis(10);
    for (std::uint32_t a = una + 1000; a - una <= nxt - una; a += 1000) f->In(Seg(kAck, f->PeerSeq(), a));
    f->In(Seg(kAck, f->PeerSeq(), nxt));
  }
  const std::uint32_t grown = f->c->cwnd();
  EXPECT_GT(grown, 2 * iw);
  // Idle past the non-validated period: cwnd halves (not below IW).
  f->now = f->now + Duration::Millis(2500);
  f->AppSend(100);
  EXPECT_LE(f->c->cwnd(), grown / 2);
  EXPECT_GE(f->c->cwnd(), iw);
}

// The scoreboard's bookkeeping against a recount, under random ACKs, SACK
// and D-SACK blocks (in any order, overlapping, past SND.NXT), timers and
// writes, for each recovery: records cover [SND.UNA, SND.NXT) exactly, the
// counters equal a walk over the records, pipe follows from them, cwnd
// never drops below a segment. A failing seed is printed.
TEST(TcpRecovery, ScoreboardInvariantsUnderRandomFeedback) {
  int with_sacks = 0, with_losses = 0;
  std::uint64_t retransmits = 0, undos = 0;
  for (Recovery r : {Recovery::kRack, Recovery::kSack, Recovery::kNewReno}) {
    for (std::uint32_t seed = 1; seed <= 30; ++seed) {
      std::mt19937 rng(seed);
      auto f = Flight(r, seed % 2 ? "cubic" : "newreno", 60'000);
      auto rnd = [&](std::uint32_t n) { return n == 0 ? 0u : static_cast<std::uint32_t>(rng() % n); };
      for (int step = 0; step < 400; ++step) {
        const std::uint32_t una = f->c->snd_una().value(), nxt = f->c->snd_nxt().value();
        const std::uint32_t flight = nxt - una;
        switch (rnd(6)) {
          case 0:
          case 1:
          case 2: {  // an ACK, maybe with SACK blocks (and a D-SACK)
            const std::uint32_t ack = una + (rnd(4) == 0 ? rnd(flight + 1) : 0);
            std::vector<std::pair<std::uint32_t, std::uint32_t>> blocks;
            if (rnd(3) == 0 && ack > kIss + 2) blocks.push_back({ack - 1 - rnd(ack - kIss - 1), ack});  // D-SACK
            for (std::uint32_t b = rnd(4); b > 0; --b) {
              const std::uint32_t left = ack + rnd(flight + 3000);
              blocks.push_back({left, left + 1 + rnd(5000)});
            }
            if (blocks.size() > TcpOptions::kMaxSackBlocks) blocks.resize(TcpOptions::kMaxSackBlocks);
            f->In(SackAck(f->PeerSeq(), ack, blocks));
            break;
          }
          case 3:
            f->now = f->now + Duration::Millis(rnd(300));
            f->Timer();
            break;
          case 4:
            f->now = f->now + Duration::Millis(1 + rnd(20));
            f->Timer();
            break;
          case 5:
            f->AppSend(rnd(20'000));
            break;
        }
        f->rec.sent.clear();
        ASSERT_EQ(f->State(), "ESTABLISHED") << "seed " << seed;
        const Scoreboard& sb = f->c->scoreboard();
        std::uint32_t sacked = 0, lost = 0, rout = 0;
        std::size_t sacked_records = 0;
        SeqNum at = f->c->snd_una();
        for (std::size_t i = 0; i < sb.size(); ++i) {
          const SentSegment& x = sb.at(i);
          ASSERT_EQ(x.start, at) << "seed " << seed << " step " << step << " record " << i;
          ASSERT_TRUE(x.start.Before(x.end)) << "seed " << seed;
          at = x.end;
          if (x.sacked) {
            sacked += x.len();
            ++sacked_records;
          } else {
            lost += x.lost ? x.len() : 0;
            rout += x.retrans_out ? x.len() : 0;
          }
        }
        ASSERT_EQ(at, f->c->snd_nxt()) << "seed " << seed << " step " << step;
        ASSERT_EQ(sb.sacked_bytes(), sacked) << "seed " << seed << " step " << step;
        ASSERT_EQ(sb.sacked_records(), sacked_records) << "seed " << seed << " step " << step;
        ASSERT_EQ(sb.lost_bytes(), lost) << "seed " << seed << " step " << step;
        ASSERT_EQ(sb.retrans_out_bytes(), rout) << "seed " << seed << " step " << step;
        const std::uint32_t fl = f->c->in_flight();
        ASSERT_EQ(f->c->pipe(), (fl > sacked + lost ? fl - sacked - lost : 0) + rout);
        ASSERT_GE(f->c->cwnd(), 1000u);
        if (sacked != 0) ++with_sacks;
        if (lost != 0) ++with_losses;
      }
      retransmits += f->c->stats().retransmits;
      undos += f->c->stats().undos;
    }
  }
  // The feedback did drive recovery: SACKed and lost segments, resends, undos.
  EXPECT_GT(with_sacks, 1000);
  EXPECT_GT(with_losses, 500);
  EXPECT_GT(retransmits, 500u);
  EXPECT_GT(undos, 0u);
}

TEST(SynCookies, RoundTripStaleAndForgedCookies) {
  std::array<std::byte, 16> secret{};
  secret[0] = std::byte{7};
  const SynCookies cookies(secret);
  const IpAddress local(Ipv4Address(0xc0000202)), remote(Ipv4Address(0xc0000201));
  const SeqNum peer_isn(123456);
  const SeqNum iss = cookies.Make(local, 80, remote, 40000, peer_isn, 1460, kT);
  // The ACK: SEQ = peer ISN + 1, ACK = cookie + 1.
  EXPECT_EQ(cookies.Check(local, 80, remote, 40000, peer_isn + 1, iss + 1, kT), std::optional<std::uint16_t>(1460));
  // An MSS between table values rounds down.
  const SeqNum iss2 = cookies.Make(local, 80, remote, 40000, peer_isn, 1450, kT);
  EXPECT_EQ(cookies.Check(local, 80, remote, 40000, peer_isn + 1, iss2 + 1, kT), std::optional<std::uint16_t>(1440));
  // Good for the next tick, not two later.
  EXPECT_TRUE(cookies.Check(local, 80, remote, 40000, peer_isn + 1, iss + 1, kT + SynCookies::kTick));
  EXPECT_FALSE(cookies.Check(local, 80, remote, 40000, peer_isn + 1, iss + 1, kT + SynCookies::kTick * 2));
  // Another 4-tuple, or a guessed cookie: no.
  EXPECT_FALSE(cookies.Check(local, 80, remote, 40001, peer_isn + 1, iss + 1, kT));
  EXPECT_FALSE(cookies.Check(IpAddress(Ipv4Address(0xc0000203)), 80, remote, 40000, peer_isn + 1, iss + 1, kT));
  int accepted = 0;
  for (std::uint32_t guess = 0; guess < 2000; ++guess) {
    accepted += cookies.Check(local, 80, remote, 40000, peer_isn + 1, SeqNum(guess * 2654435761u), kT) ? 1 : 0;
  }
  EXPECT_LE(accepted, 1);  // a 2^-21-ish chance each (3 index bits of 24 valid)
  // Options through the timestamp.
  CookieOptions o;
  o.window_scale = 7;
  o.sack = true;
  CookieOptions back;
  SynCookies::DecodeTsecr(SynCookies::EncodeTsval(0x12345678, o), back);
  EXPECT_EQ(back.window_scale, std::optional<std::uint8_t>(7));
  EXPECT_TRUE(back.sack && back.timestamps);
  // Never ahead of the clock it was made from.
  for (std::uint32_t clock : {0x12345600u, 0x12345601u, 0x1234563fu, 0xffffffc0u}) {
    const std::uint32_t v = SynCookies::EncodeTsval(clock, o);
    EXPECT_LE(static_cast<std::int32_t>(v - clock), 0) << clock;
    EXPECT_GT(static_cast<std::int32_t>(v - clock), -128) << clock;
  }
  CookieOptions none;
  SynCookies::DecodeTsecr(SynCookies::EncodeTsval(0x12345678, none), back);
  EXPECT_FALSE(back.window_scale.has_value());
  EXPECT_FALSE(back.sack);
}

TEST(SynCookies, TheReturningAckMakesAnEstablishedConnection) {
  TcpConfig config = Config();
  config.timestamps = true;
  config.rcv_buf = 256 * 1024;
  TcpRepr syn = Seg(kSyn, kIrs);
  syn.dst_port = 7;
  syn.options.mss = 1460;
  syn.options.window_scale = 9;
  syn.options.sack_permitted = true;
  syn.options.timestamps = Timestamps{777, 0};
  CookieOptions o;
  o.mss = 1460;
  o.window_scale = 9;
  o.sack = true;
  o.timestamps = true;
  const SeqNum cookie(0xabcdef01);
  const TcpRepr synack = TcpConnection::CookieSynAck(config, syn, cookie, o, kT);
  EXPECT_EQ(synack.FlagString(), "S.");
  EXPECT_EQ(synack.seq, cookie);
  EXPECT_EQ(synack.ack, SeqNum(kIrs + 1));
  ASSERT_TRUE(synack.options.timestamps && synack.options.window_scale);
  EXPECT_EQ(*synack.options.window_scale, 3);  // 256 KiB needs a shift of 3
  EXPECT_TRUE(synack.options.sack_permitted);
  // The peer's ACK echoes the TSval; decoding gives the options back.
  TcpRepr ack = Seg(kAck | kPsh, kIrs + 1, cookie.value() + 1, 100);
  ack.options.timestamps = Timestamps{778, synack.options.timestamps->tsecr == 777 ? synack.options.timestamps->tsval : 0};
  const std::string hello = "hello";
  ack.payload = std::as_bytes(std::span(hello));
  CookieOptions from_ack;
  from_ack.mss = 1460;
  SynCookies::DecodeTsecr(ack.options.timestamps->tsecr, from_ack);
  Recorder rec;
  auto c = TcpConnection::FromCookie(config, Ends(), ack, from_ack, kT + Duration::Millis(1), rec.out);
  rec.Absorb();
  EXPECT_EQ(c->StateName(), "ESTABLISHED");
  EXPECT_TRUE(rec.Saw(TcpEvent::kEstablished));
  EXPECT_TRUE(c->sack_ok() && c->ts_ok());
  EXPECT_EQ(c->snd_scale().shift(), 9);
  EXPECT_EQ(c->snd_wnd(), 100u << 9);
  EXPECT_EQ(rec.rx.substr(0, rec.committed), "hello");  // the ACK's own data
  rec.Take();
  c->OnAppSend(10, kT + Duration::Millis(2), rec.out);
  rec.Absorb();
  ASSERT_FALSE(rec.sent.empty());
  EXPECT_EQ(rec.sent.back().h.seq, cookie + 1);
  // Its timestamps run on from the SYN-ACK's.
  EXPECT_GE(rec.sent.back().h.options.timestamps->tsval, synack.options.timestamps->tsval);
}

}  // namespace
}  // namespace ringstack::proto::tcp
