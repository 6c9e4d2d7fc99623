#include "protocols/tcp/congestion.h"

#include <algorithm>
#include <cmath>

#include "protocols/tcp/bbr.h"

namespace ringstack::proto::tcp {

// RFC 9406 4.2: on each ACK in slow start (or CSS).
HyStartPlusPlus::Verdict HyStartPlusPlus::OnAck(const AckInfo& a) {
  if (!started_) {
    started_ = true;
    window_end_ = a.snd_nxt;
  } else if (a.snd_una.AfterOrAt(window_end_)) {
    // A round ended: its minimum becomes the baseline for the next.
    last_round_min_ = current_round_min_;
    current_round_min_ = Duration::Infinite();
    samples_ = 0;
    window_end_ = a.snd_nxt;
    if (in_css_ && ++css_rounds_ >= kCssRounds) return Verdict::kExit;
  }
  if (a.rtt > Duration()) {
    current_round_min_ = std::min(current_round_min_, a.rtt);
    ++samples_;
  }
  if (!in_css_) {
    if (samples_ >= kNRttSample && current_round_min_ != Duration::Infinite() &&
        last_round_min_ != Duration::Infinite()) {
      const Duration thresh =
          std::clamp(Duration::Nanos(last_round_min_.nanos() / 8), Duration::Millis(4), Duration::Millis(16));
      if (current_round_min_ >= last_round_min_ + thresh) {
        in_css_ = true;
        css_baseline_ = current_round_min_;
        css_rounds_ = 0;
      }
    }
  } else if (samples_ >= kNRttSample && current_round_min_ < css_baseline_) {
    in_css_ = false;  // the rise was spurious: back to slow start
  }
  return in_css_ ? Verdict::kConservative : Verdict::kSlowStart;
}

// RFC 5681 3.1 as updated by RFC 6928: IW = min(10*SMSS, max(2*SMSS, 14600)).
CongestionControl::CongestionControl(std::uint32_t smss, bool hystart)
    : smss_(smss), cwnd_(std::min(10 * smss, std::max(2 * smss, 14600u))), hystart_on_(hystart) {}

std::uint32_t CongestionControl::initial_window() const { return std::min(10 * smss_, std::max(2 * smss_, 14600u)); }

void CongestionControl::OnAck(const AckInfo& a) {
  if (a.acked == 0 || !GrowsOnAck()) return;
  if (cwnd_ < ssthresh_) {
    // Slow start with ABC (RFC 3465 2.2): at most L octets per ACK.
    std::uint32_t inc = std::min(a.acked, (after_rto_ ? 1u : 2u) * smss_);
    if (hystart_on_) {
      const HyStartPlusPlus::Verdict v = hystart_.OnAck(a);
      if (v == HyStartPlusPlus::Verdict::kExit) {
        ssthresh_ = cwnd_;  // RFC 9406 4.2: CSS_ROUNDS done, on to congestion avoidance
        hystart_.Reset();
        return;
      }
      if (v == HyStartPlusPlus::Verdict::kConservative) inc /= HyStartPlusPlus::kCssGrowthDivisor;
    }
    cwnd_ += inc;
    if (cwnd_ >= ssthresh_) after_rto_ = false;
    return;
  }
  after_rto_ = false;
  Avoid(a);
}

void CongestionControl::OnCongestionEvent(std::uint32_t flight, Instant now) {
  prior_cwnd_ = cwnd_;
  prior_ssthresh_ = ssthresh_;
  SaveState();
  can_undo_ = true;
  ssthresh_ = EventSsthresh(flight, now);
  hystart_.Reset();  // RFC 9406 4.2: a loss ends slow start and CSS alike
}

void CongestionControl::OnRetransmitTimeout(std::uint32_t flight, Instant now, bool first) {
  if (first) OnCongestionEvent(flight, now);
  cwnd_ = smss_;  // RFC 5681 3.1: LW = 1 SMSS
  after_rto_ = true;
}

void CongestionControl::OnNonValidatedPeriodEnd() {
  ssthresh_ = std::max(ssthresh_ == 0xffffffffu ? 0u : ssthresh_, cwnd_ / 4 * 3);
  cwnd_ = std::max(cwnd_ / 2, initial_window());
}

std::uint64_t CongestionControl::PacingRate(Duration srtt) const {
  if (srtt <= Duration()) return 0;
  const double per_second = static_cast<double>(cwnd_) * 1e9 / static_cast<double>(srtt.nanos());
  return static_cast<std::uint64_t>(per_second * (cwnd_ < ssthresh_ ? 2.0 : 1.2));
}

void CongestionControl::Undo() {
  if (!can_undo_) return;
  cwnd_ = std::max(cwnd_, prior_cwnd_);
  ssthresh_ = std::max(ssthresh_, prior_ssthresh_);
  RestoreState();
  after_rto_ = false;
  can_undo_ = false;
}

// NewReno: one SMSS per cwnd of data acknowledged (RFC 5681 3.1's
// byte-counting variant, RFC 3465 2.1).
void NewReno::Avoid(const AckInfo& a) {
  bytes_acked_ += a.acked;
  if (bytes_acked_ >= cwnd_) {
    bytes_acked_ -= cwnd_;
    cwnd_ += smss_;
  }
}

// RFC 5681 eq. (4): ssthresh = max(FlightSize / 2, 2*SMSS).
std::uint32_t NewReno::EventSsthresh(std::uint32_t flight, Instant /*now*/) {
  bytes_acked_ = 0;
  return std::max(flight / 2, 2 * smss_);
}

// RFC 9438 eq. 2: K = cubic_root((W_max - cwnd_epoch) / C).
double Cubic::K(double w_max, double cwnd_epoch) { return std::cbrt(std::max(0.0, w_max - cwnd_epoch) / kC); }

// RFC 9438 eq. 1: W_cubic(t) = C * (t - K)^3 + W_max.
double Cubic::WCubic(double t, double k, double w_max) {
  const double d = t - k;
  return kC * d * d * d + w_max;
}

// RFC 9438 4.6 (multiplicative decrease) with 4.7 (fast convergence).
std::uint32_t Cubic::EventSsthresh(std::uint32_t /*flight*/, Instant /*now*/) {
  const double cwnd = static_cast<double>(cwnd_) / smss_;
  st_.w_max = cwnd < st_.w_max ? cwnd * (1.0 + kBeta) / 2.0 : cwnd;
  st_.epoch_valid = false;
  pending_ = 0;
  return std::max(static_cast<std::uint32_t>(cwnd_ * kBeta), 2 * smss_);
}

// RFC 9438 4.2-4.5, per ACK in congestion avoidance.
void Cubic::Avoid(const AckInfo& a) {
  const double cwnd = static_cast<double>(cwnd_) / smss_;
  if (!st_.epoch_valid) {
    // The first ACK of congestion avoidance starts the epoch (4.2).
    st_.epoch_valid = true;
    st_.epoch_start = a.now;
    st_.cwnd_epoch = cwnd;
    st_.w_est = cwnd;
    if (st_.w_max < cwnd) st_.w_max = cwnd;  // no loss yet, or grown past it: the plateau is here
    st_.k = K(st_.w_max, st_.cwnd_epoch);
  }
  const double t = static_cast<double>((a.now - st_.epoch_start).nanos()) / 1e9;
  const double rtt = static_cast<double>(a.srtt.nanos()) / 1e9;
  // 4.3: the target one RTT ahead, kept within [cwnd, 1.5 cwnd].
  const double target = std::clamp(WCubic(t + rtt, st_.k, st_.w_max), cwnd, 1.5 * cwnd);
  // 4.3 Reno-friendly estimate: alpha = 3(1 - beta)/(1 + beta) below W_max, 1 past it.
  const double alpha = st_.w_est >= st_.w_max ? 1.0 : 3.0 * (1.0 - kBeta) / (1.0 + kBeta);
  const double acked_segments = static_cast<double>(a.acked) / smss_;
  st_.w_est += alpha * acked_segments / cwnd;
  if (WCubic(t, st_.k, st_.w_max) < st_.w_est) {
    // 4.3: the Reno-friendly region.
    if (st_.w_est > cwnd) cwnd_ = static_cast<std::uint32_t>(st_.w_est * smss_);
    return;
  }
  // 4.4 / 4.5: concave and convex regions, (target - cwnd) / cwnd per segment.
  pending_ += (target - cwnd) / cwnd * a.acked;
  if (pending_ >= 1.0) {
    const auto inc = static_cast<std::uint32_t>(pending_);
    cwnd_ += inc;
    pending_ -= inc;
  }
}

void Cubic::SaveState() { saved_ = st_; }

// RFC 9438 4.9: a spurious event restores W_max and the epoch.
void Cubic::RestoreState() { st_ = saved_; }

std::unique_ptr<CongestionControl> MakeCongestionControl(std::string_view name, std::uint32_t smss, bool hystart) {
  if (name == "cubic") return std::make_unique<Cubic>(smss, hystart);
  if (name == "newreno" || name == "reno") return std::make_unique<NewReno>(smss, hystart);
  if (name == "bbr") return std::make_unique<Bbr>(smss);
  return nullptr;
}

bool KnownCongestionControl(std::string_view name) {
  return name == "cubic" || name == "newreno" || name == "reno" || name == "bbr";
}

}  // namespace ringstack::proto::tcp
