// BBR v1 (protocols/tcp/bbr.h) driven by rate samples as a table of
// steps: Startup until the bandwidth stops growing, Drain to one BDP,
// ProbeBW's gain cycle, ProbeRTT after 10 s without a lower RTT and the
// way back, ACK aggregation widening cwnd, the windowed bandwidth filter, app-limited samples, and a loss
// that is no multiplicative decrease. Then pacing in the connection: the
// first flight of a paced connection goes in bursts of a millisecond's
// worth, the rest when the pacing deadline comes.
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "protocols/tcp/bbr.h"
#include "tests/unit/tcp_fixture.h"

namespace ringstack::proto::tcp {
namespace {

using namespace fixture;  // NOLINT: the fixture is this file's vocabulary

constexpr std::uint32_t kMss = 1000;
constexpr std::uint64_t kBw = 10'000'000;  // octets per second on the sample path
const Duration kRtt = Duration::Millis(20);

// Feeds rate samples as a path of `bw` would give them: each round ten
// ACKs a tenth of the round apart, each for a tenth of the round's data.
struct Path {
  Bbr bbr{kMss};
  Instant now = kT0;
  std::uint64_t delivered = 0;
  std::uint32_t inflight = 0;

  void Round(std::uint64_t bw, Duration rtt = kRtt, bool app_limited = false, int acks = 10) {
    const auto bytes = static_cast<std::uint64_t>(static_cast<double>(bw) * static_cast<double>(rtt.nanos()) / 1e9);
    const std::uint64_t round_start = delivered;
    for (int k = 0; k < acks; ++k) {
      RateSample rs;
      rs.prior_delivered = round_start;  // the segment went as the last round's data came in
      delivered += bytes / acks;
      rs.total_delivered = delivered;
      rs.delivered = bytes;
      rs.interval = rtt;
      rs.app_limited = app_limited;
      rs.acked = static_cast<std::uint32_t>(bytes / acks);
      rs.inflight = inflight;
      rs.rtt = rtt;
      now = now + Duration::Nanos(rtt.nanos() / acks);
      rs.now = now;
      bbr.OnRateSample(rs);
    }
  }
};

// Startup to the path's rate, the pipe full, drained: ProbeBW.
void ToProbeBw(Path& p) {
  for (std::uint64_t bw = kBw / 8; bw < kBw; bw *= 2) p.Round(bw);
  p.inflight = 600'000;
  for (int i = 0; i < 4; ++i) p.Round(kBw);
  p.inflight = 200'000;
  p.Round(kBw);
  ASSERT_EQ(p.bbr.mode(), Bbr::Mode::kProbeBw);
}

TEST(TcpBbr, StartupFillsThePipeThenDrainsToProbeBw) {
  Path p;
  EXPECT_EQ(p.bbr.mode(), Bbr::Mode::kStartup);
  EXPECT_DOUBLE_EQ(p.bbr.pacing_gain(), Bbr::kHighGain);
  // The bandwidth grows while the window does ...
  for (std::uint64_t bw = kBw / 8; bw < kBw; bw *= 2) p.Round(bw);
  EXPECT_EQ(p.bbr.mode(), Bbr::Mode::kStartup);
  EXPECT_FALSE(p.bbr.filled_pipe());
  // ... to the path's rate (a last growth), then three rounds without 25%
  // more: the pipe is full; Drain.
  p.inflight = 3 * 200'000;  // Startup left a queue: 3 BDPs in flight
  p.Round(kBw);
  for (int i = 0; i < 2; ++i) p.Round(kBw);
  EXPECT_FALSE(p.bbr.filled_pipe());
  p.Round(kBw);
  EXPECT_TRUE(p.bbr.filled_pipe());
  EXPECT_EQ(p.bbr.mode(), Bbr::Mode::kDrain);
  EXPECT_DOUBLE_EQ(p.bbr.pacing_gain(), Bbr::kDrainGain);
  EXPECT_EQ(p.bbr.btl_bw(), kBw);
  EXPECT_EQ(p.bbr.rtprop(), kRtt);
  // Down to one BDP (200 KB): ProbeBW, at a gain of the cycle but 3/4.
  p.inflight = 200'000;
  p.Round(kBw);
  EXPECT_EQ(p.bbr.mode(), Bbr::Mode::kProbeBw);
  EXPECT_NE(p.bbr.pacing_gain(), 0.75);
  EXPECT_EQ(p.bbr.PacingRate(kRtt), static_cast<std::uint64_t>(p.bbr.pacing_gain() * kBw * 0.99));
  // cwnd: 2 BDPs, three segments and what ACKs brought beyond BtlBw
  // (here ACKs are even: about one ACK's worth).
  EXPECT_LE(p.bbr.extra_acked(), 2 * 20'000u);
  EXPECT_EQ(p.bbr.cwnd(), 2 * 200'000 + 3 * kMss + p.bbr.extra_acked());
}

TEST(TcpBbr, ProbeBwCyclesItsGains) {
  Path p;
  ToProbeBw(p);
  // Each phase lasts about an RTprop; the 5/4 phase waits for the flight
  // to reach 5/4 of the BDP. Over 16 rounds every gain comes.
  bool probed = false, drained = false;
  for (int i = 0; i < 16; ++i) {
    p.inflight = p.bbr.pacing_gain() > 1 ? 250'000 : 200'000;
    p.Round(kBw, kRtt + Duration::Millis(1));
    probed |= p.bbr.pacing_gain() == 1.25;
    drained |= p.bbr.pacing_gain() == 0.75;
  }
  EXPECT_TRUE(probed);
  EXPECT_TRUE(drained);
}

// The filter keeps the highest of the last 10 rounds; an app-limited
// sample counts only when it is higher.
TEST(TcpBbr, BandwidthFilterWindowAndAppLimitedSamples) {
  Path p;
  p.Round(kBw);
  for (int i = 0; i < 5; ++i) p.Round(kBw / 2);
  EXPECT_EQ(p.bbr.btl_bw(), kBw);  // still within 10 rounds
  for (int i = 0; i < 6; ++i) p.Round(kBw / 2);
  EXPECT_EQ(p.bbr.btl_bw(), kBw / 2);  // aged out
  p.Round(kBw / 10, kRtt, /*app_limited=*/true);
  EXPECT_EQ(p.bbr.btl_bw(), kBw / 2);
  p.Round(kBw * 2, kRtt, /*app_limited=*/true);
  EXPECT_EQ(p.bbr.btl_bw(), kBw * 2);
}

// 10 s without a lower RTT: ProbeRTT holds 4 segments for 200 ms and a
// round, then goes back with the window it had.
TEST(TcpBbr, ProbeRttAfterTenSecondsAndBack) {
  Path p;
  ToProbeBw(p);
  const std::uint32_t before = p.bbr.cwnd();
  // Rounds with a higher RTT (a queue) for over 10 s.
  while (p.now < kT0 + Duration::Seconds(11) && p.bbr.mode() != Bbr::Mode::kProbeRtt) {
    p.Round(kBw, kRtt + Duration::Millis(5));
  }
  ASSERT_EQ(p.bbr.mode(), Bbr::Mode::kProbeRtt);
  EXPECT_EQ(p.bbr.cwnd(), 4 * kMss);
  // The flight drains to 4 segments; 200 ms and a round later: back.
  p.inflight = 4 * kMss;
  for (int i = 0; i < 12 && p.bbr.mode() == Bbr::Mode::kProbeRtt; ++i) p.Round(kBw, kRtt);
  EXPECT_EQ(p.bbr.mode(), Bbr::Mode::kProbeBw);
  EXPECT_EQ(p.bbr.rtprop(), kRtt);
  EXPECT_GE(p.bbr.cwnd(), 2 * 200'000u);  // the window from before (within the model's target)
  EXPECT_GT(before, 2 * 200'000u);
}

// ACKs in bursts (one ACK for a whole round's data): the excess over
// BtlBw x time is added to cwnd, so the sender keeps the link busy
// between the bursts.
TEST(TcpBbr, AggregatedAcksWidenTheWindow) {
  Path even, bursty;
  ToProbeBw(even);
  ToProbeBw(bursty);
  for (int i = 0; i < 5; ++i) {
    even.inflight = bursty.inflight = 200'000;
    even.Round(kBw);
    bursty.Round(kBw, kRtt, false, /*acks=*/1);
  }
  EXPECT_GE(bursty.bbr.extra_acked(), 150'000u);
  EXPECT_GT(bursty.bbr.cwnd(), even.bbr.cwnd() + 100'000);
}

// Loss is no congestion signal of its own: ssthresh stays at cwnd, so
// recovery ends where it began.
TEST(TcpBbr, ALossKeepsTheWindow) {
  Path p;
  for (int i = 0; i < 5; ++i) p.Round(kBw);
  const std::uint32_t cwnd = p.bbr.cwnd();
  p.bbr.OnCongestionEvent(cwnd, p.now);
  EXPECT_EQ(p.bbr.ssthresh(), cwnd);
  EXPECT_EQ(p.bbr.cwnd(), cwnd);
  EXPECT_EQ(MakeCongestionControl("bbr", kMss)->name(), "bbr");
  EXPECT_TRUE(KnownCongestionControl("bbr"));
}

// Pacing in the connection: with an SRTT of 10 ms and the initial window
// of 10 segments, slow start paces at 2 x cwnd / SRTT = 2 MB/s: a
// millisecond's worth goes at once, the rest as the deadlines come; without
// pacing the whole window goes at once.
TEST(TcpBbr, APacedConnectionSpacesItsSegments) {
  for (const bool pacing : {false, true}) {
    SCOPED_TRACE(pacing ? "paced" : "unpaced");
    TcpConfig config = Config();
    config.nodelay = true;
    config.pacing = pacing;
    auto f = EstablishedWith(config, /*peer_sack=*/true, 65535, Duration::Millis(10));
    f->AppSend(10 * kMss);
    std::uint32_t first = 0;
    for (const auto& s : f->rec.sent) first += s.len;
    if (!pacing) {
      EXPECT_EQ(first, 10 * kMss);
      EXPECT_EQ(f->c->pacing_rate(), 0u);
      continue;
    }
    EXPECT_EQ(f->c->pacing_rate(), 2'000'000u);
    EXPECT_LT(first, 10 * kMss);
    EXPECT_GE(first, 2 * kMss);
    const Instant due = f->c->NextDeadline();
    EXPECT_GT(due, f->now);
    EXPECT_LE(due, f->now + Duration::Millis(1));
    std::uint32_t total = first;
    for (int i = 0; i < 20 && total < 10 * kMss; ++i) {
      f->rec.sent.clear();
      f->now = f->c->NextDeadline();
      f->Timer();
      for (const auto& s : f->rec.sent) total += s.len;
    }
    EXPECT_EQ(total, 10 * kMss);
    // Ten segments at 2 MB/s: about 5 ms, less the first burst.
    EXPECT_GE(f->now - (kT0 + Duration::Millis(10)), Duration::Millis(3));
  }
}

}  // namespace
}  // namespace ringstack::proto::tcp
