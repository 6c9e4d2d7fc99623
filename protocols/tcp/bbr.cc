#include "protocols/tcp/bbr.h"

#include <algorithm>

namespace ringstack::proto::tcp {

Bbr::Bbr(std::uint32_t smss) : CongestionControl(smss, /*hystart=*/false) {}

std::string_view Bbr::ModeName() const {
  switch (mode_) {
    case Mode::kStartup: return "startup";
    case Mode::kDrain: return "drain";
    case Mode::kProbeBw: return "probe_bw";
    case Mode::kProbeRtt: return "probe_rtt";
  }
  return "?";
}

std::uint64_t Bbr::btl_bw() const {
  std::uint64_t best = 0;
  for (std::size_t i = 0; i < kBwRounds; ++i) {
    if (bw_round_[i] + kBwRounds > round_count_) best = std::max(best, bw_[i]);
  }
  return best;
}

std::uint32_t Bbr::Inflight(double gain) const {
  const std::uint64_t bw = btl_bw();
  if (rtprop_ == Duration::Infinite() || bw == 0) return initial_window();
  const double bdp = static_cast<double>(bw) * static_cast<double>(rtprop_.nanos()) / 1e9;
  return static_cast<std::uint32_t>(std::min(gain * bdp, 1e9));
}

// The rate BBR paces at: pacing_gain x BtlBw less a 1% margin (Linux's);
// before the first sample, the high gain over the initial window per SRTT.
std::uint64_t Bbr::PacingRate(Duration srtt) const {
  const std::uint64_t bw = btl_bw();
  if (bw == 0) {
    if (srtt <= Duration()) return 0;
    return static_cast<std::uint64_t>(kHighGain * static_cast<double>(cwnd_) * 1e9 / static_cast<double>(srtt.nanos()));
  }
  return static_cast<std::uint64_t>(pacing_gain_ * static_cast<double>(bw) * 0.99);
}

void Bbr::OnRateSample(const RateSample& rs) {
  UpdateRound(rs);
  UpdateBtlBw(rs);
  UpdateAckAggregation(rs);
  AdvanceCycle(rs);
  CheckFullPipe(rs);
  CheckDrain(rs);
  UpdateRtprop(rs);
  CheckProbeRtt(rs);
  SetCwnd(rs);
}

// The octets this epoch of ACKs delivered beyond BtlBw x its length; an
// epoch ends when the ACKs fall back to the rate (or after 1 MB).
void Bbr::UpdateAckAggregation(const RateSample& rs) {
  const std::uint64_t bw = btl_bw();
  if (bw == 0 || rs.acked == 0) return;
  if (ack_epoch_start_.IsNever()) ack_epoch_start_ = rs.now;
  const auto expected = static_cast<std::uint64_t>(static_cast<double>(bw) *
                                                   static_cast<double>((rs.now - ack_epoch_start_).nanos()) / 1e9);
  if (ack_epoch_acked_ <= expected || ack_epoch_acked_ + rs.acked >= (1u << 20)) {
    ack_epoch_start_ = rs.now;
    ack_epoch_acked_ = 0;
  }
  ack_epoch_acked_ += rs.acked;
  const std::uint64_t now_expected = ack_epoch_start_ == rs.now ? 0 : expected;
  const std::uint64_t extra = ack_epoch_acked_ > now_expected ? ack_epoch_acked_ - now_expected : 0;
  const auto capped = static_cast<std::uint32_t>(std::min<std::uint64_t>(extra, cwnd_));
  const std::size_t slot = round_count_ % kBwRounds;
  if (extra_round_[slot] != round_count_) {
    extra_round_[slot] = round_count_;
    extra_acked_[slot] = 0;
  }
  extra_acked_[slot] = std::max(extra_acked_[slot], capped);
}

std::uint32_t Bbr::ExtraAcked() const {
  std::uint32_t best = 0;
  for (std::size_t i = 0; i < kBwRounds; ++i) {
    if (extra_round_[i] + kBwRounds > round_count_) best = std::max(best, extra_acked_[i]);
  }
  // At most 100 ms at BtlBw (Linux's bound).
  return static_cast<std::uint32_t>(std::min<std::uint64_t>(best, btl_bw() / 10));
}

// A round ends when a segment sent after the last round's end is delivered.
void Bbr::UpdateRound(const RateSample& rs) {
  round_start_ = false;
  if (rs.prior_delivered >= next_round_delivered_) {
    next_round_delivered_ = rs.total_delivered;
    ++round_count_;
    round_start_ = true;
  }
}

// 4.5.2.2: an app-limited sample counts only when it beats the estimate.
void Bbr::UpdateBtlBw(const RateSample& rs) {
  const std::uint64_t rate = rs.Rate();
  if (rate == 0 || (rs.app_limited && rate < btl_bw())) return;
  const std::size_t slot = round_count_ % kBwRounds;
  if (bw_round_[slot] != round_count_) {
    bw_round_[slot] = round_count_;
    bw_[slot] = 0;
  }
  bw_[slot] = std::max(bw_[slot], rate);
}

void Bbr::UpdateRtprop(const RateSample& rs) {
  rtprop_expired_ = rtprop_ != Duration::Infinite() && rs.now > rtprop_stamp_ + kRtpropWindow;
  if (rs.rtt > Duration() && (rs.rtt <= rtprop_ || rtprop_expired_)) {
    rtprop_ = rs.rtt;
    rtprop_stamp_ = rs.now;
  }
}

// 4.3.2.2: the pipe is full when three rounds in a row (not app-limited)
// raised BtlBw by less than a quarter.
void Bbr::CheckFullPipe(const RateSample& rs) {
  if (filled_pipe_ || !round_start_ || rs.app_limited) return;
  const std::uint64_t bw = btl_bw();
  if (static_cast<double>(bw) >= static_cast<double>(full_bw_) * 1.25) {
    full_bw_ = bw;
    full_bw_count_ = 0;
    return;
  }
  if (++full_bw_count_ >= 3) filled_pipe_ = true;
}

void Bbr::CheckDrain(const RateSample& rs) {
  if (mode_ == Mode::kStartup && filled_pipe_) {
    mode_ = Mode::kDrain;
    pacing_gain_ = kDrainGain;
    cwnd_gain_ = kHighGain;
  }
  if (mode_ == Mode::kDrain && rs.inflight <= Inflight(1.0)) EnterProbeBw(rs.now);
}

// ProbeBW starts anywhere in the cycle but the draining 3/4 phase (as
// Linux's random start; here by the round count, so runs repeat).
void Bbr::EnterProbeBw(Instant now) {
  mode_ = Mode::kProbeBw;
  cwnd_gain_ = kCwndGain;
  cycle_index_ = (2 + round_count_ % 7) % kPacingGains.size();
  pacing_gain_ = kPacingGains[cycle_index_];
  cycle_stamp_ = now;
}

// 4.3.4.3: each phase lasts an RTprop; the probing one until the flight
// reached its gain's BDP, the draining one ends early once down to one BDP.
void Bbr::AdvanceCycle(const RateSample& rs) {
  if (mode_ != Mode::kProbeBw) return;
  const bool full_length = rs.now - cycle_stamp_ > rtprop_;
  bool next = full_length;
  if (pacing_gain_ > 1.0) next = full_length && rs.inflight >= Inflight(pacing_gain_);
  if (pacing_gain_ < 1.0) next = full_length || rs.inflight <= Inflight(1.0);
  if (!next) return;
  cycle_index_ = (cycle_index_ + 1) % kPacingGains.size();
  pacing_gain_ = kPacingGains[cycle_index_];
  cycle_stamp_ = rs.now;
}

// 4.3.5: RTprop not renewed for 10 s: 4 segments in flight for 200 ms and
// a round, to see the path's empty-queue RTT; then back.
void Bbr::CheckProbeRtt(const RateSample& rs) {
  if (mode_ != Mode::kProbeRtt && rtprop_expired_) {
    mode_ = Mode::kProbeRtt;
    pacing_gain_ = 1.0;
    cwnd_gain_ = 1.0;
    prior_cwnd_ = cwnd_;
    probe_rtt_done_ = Instant::Never();
  }
  if (mode_ != Mode::kProbeRtt) return;
  if (probe_rtt_done_.IsNever()) {
    if (rs.inflight <= 4 * smss_) {
      probe_rtt_done_ = rs.now + kProbeRttTime;
      probe_rtt_round_done_ = false;
      next_round_delivered_ = rs.total_delivered;
    }
    return;
  }
  if (round_start_) probe_rtt_round_done_ = true;
  if (!probe_rtt_round_done_ || rs.now < probe_rtt_done_) return;
  rtprop_stamp_ = rs.now;
  cwnd_ = std::max(cwnd_, prior_cwnd_);
  if (filled_pipe_) {
    EnterProbeBw(rs.now);
  } else {
    mode_ = Mode::kStartup;
    pacing_gain_ = cwnd_gain_ = kHighGain;
  }
}

// 4.2.3: toward cwnd_gain x BDP (plus three segments for delayed and
// stretched ACKs), growing by what was delivered; at least 4 segments, at
// most 4 in ProbeRTT. The first round of a fast recovery conserves packets
// (at least what is in flight plus what this ACK delivered, over the
// connection's PRR); after it the model's window applies again (Linux's
// bbr_set_cwnd_to_recover_or_restore), and the recovery's end restores the
// window from before it (ssthresh, EventSsthresh).
void Bbr::SetCwnd(const RateSample& rs) {
  if (rs.in_recovery && !in_recovery_) {
    conservation_ = true;
    conservation_end_ = rs.total_delivered;
  }
  in_recovery_ = rs.in_recovery;
  if (!rs.in_recovery || rs.prior_delivered >= conservation_end_) conservation_ = false;
  if (conservation_) {
    cwnd_ = std::max(cwnd_, rs.inflight + rs.acked);
    return;
  }
  const std::uint32_t target = Inflight(cwnd_gain_) + 3 * smss_ + (filled_pipe_ ? ExtraAcked() : 0);
  if (filled_pipe_) {
    cwnd_ = std::min(cwnd_ + rs.acked, target);
  } else if (cwnd_ < target || rs.total_delivered < initial_window()) {
    cwnd_ += rs.acked;
  }
  cwnd_ = std::max(cwnd_, 4 * smss_);
  if (mode_ == Mode::kProbeRtt) cwnd_ = std::min(cwnd_, 4 * smss_);
}

// A loss: recovery conserves packets toward the window BBR had (Linux's
// bbr_save_cwnd and packet conservation), no multiplicative decrease.
std::uint32_t Bbr::EventSsthresh(std::uint32_t /*flight*/, Instant /*now*/) {
  prior_cwnd_ = cwnd_;
  return std::max(cwnd_, 2 * smss_);
}

}  // namespace ringstack::proto::tcp
