// Congestion control behind one interface (CongestionControl): how cwnd
// grows on ACKs and where ssthresh goes on a congestion event. Recovery
// itself is the connection's (RFC 6675 / PRR / RACK-TLP, or RFC 6582's
// NewReno recovery): during it the connection sets cwnd (PRR) and at its end
// returns to ssthresh. Algorithms:
//   - NewReno (RFC 5681 / 6582): ssthresh = max(FlightSize / 2, 2*SMSS),
//     congestion avoidance by byte counting.
//   - CUBIC (RFC 9438), the default: W_cubic(t) = C(t - K)^3 + W_max with
//     C = 0.4, beta = 0.7, fast convergence and the Reno-friendly region.
// Both slow-start with Appropriate Byte Counting (RFC 3465, L = 2*SMSS; 1
// after a timeout) and may leave slow start early by HyStart++ (RFC 9406).
//   - BBR (v1, draft-cardwell-iccrg-bbr-congestion-control; bbr.h): a model
//     of the path (bottleneck bandwidth, round-trip propagation time) from
//     delivery rate samples sets the pacing rate and cwnd.
// Pacing: a model-based algorithm gives its pacing rate; the others, when
// the connection paces (TcpConfig::pacing), pace at cwnd / SRTT times 2 in
// slow start and 1.2 after (Linux's tcp_pacing_ss_ratio and ca_ratio).
// Pure; never allocates after construction.
#ifndef RINGSTACK_PROTOCOLS_TCP_CONGESTION_H_
#define RINGSTACK_PROTOCOLS_TCP_CONGESTION_H_

#include <cstdint>
#include <memory>
#include <string_view>

#include "protocols/common/time.h"
#include "protocols/tcp/seq_num.h"

namespace ringstack::proto::tcp {

// What an ACK tells the algorithm.
struct AckInfo {
  std::uint32_t acked = 0;  // octets newly delivered (cumulatively or SACKed)
  Instant now;
  Duration rtt;   // an RTT sample from this ACK; zero when none
  Duration srtt;  // smoothed, zero before the first sample
  SeqNum snd_una;  // after the ACK (rounds for HyStart++)
  SeqNum snd_nxt;
};

// A delivery rate sample (draft-cheng-iccrg-delivery-rate-estimation 3.3),
// taken on every ACK that delivered data: `delivered` octets reached the
// peer over `interval`, the longer of the time the segments took to send
// and to be acknowledged.
struct RateSample {
  std::uint64_t delivered = 0;
  Duration interval;                  // zero: no sample
  bool app_limited = false;           // the sender ran out of data: a low rate says nothing of the path
  std::uint64_t prior_delivered = 0;  // the total delivered when the newest segment acknowledged went out
  std::uint64_t total_delivered = 0;  // the total delivered now
  std::uint32_t acked = 0;            // octets this ACK newly delivered
  std::uint32_t inflight = 0;         // RFC 6675 pipe after it
  Duration rtt;                       // an RTT sample from it; zero when none
  Instant now;
  bool in_recovery = false;           // the connection sets cwnd meanwhile (PRR)
  // Octets per second (0 without an interval).
  std::uint64_t Rate() const {
    return interval > Duration() ? static_cast<std::uint64_t>(static_cast<double>(delivered) * 1e9 /
                                                               static_cast<double>(interval.nanos()))
                                 : 0;
  }
};

// HyStart++ (RFC 9406): leaves slow start for Conservative Slow Start when a
// round's minimum RTT rises by max(4 ms, min(16 ms, lastMinRTT / 8)), and
// for congestion avoidance after 5 CSS rounds.
class HyStartPlusPlus {
 public:
  static constexpr int kNRttSample = 8;
  static constexpr int kCssGrowthDivisor = 4;
  static constexpr int kCssRounds = 5;
  enum class Verdict { kSlowStart, kConservative, kExit };
  Verdict OnAck(const AckInfo& a);
  bool in_css() const { return in_css_; }
  void Reset() { *this = HyStartPlusPlus(); }

 private:
  bool started_ = false;
  SeqNum window_end_;
  Duration last_round_min_ = Duration::Infinite();
  Duration current_round_min_ = Duration::Infinite();
  int samples_ = 0;
  bool in_css_ = false;
  int css_rounds_ = 0;
  Duration css_baseline_ = Duration::Infinite();
};

class CongestionControl {
 public:
  CongestionControl(std::uint32_t smss, bool hystart);
  virtual ~CongestionControl() = default;
  virtual std::string_view name() const = 0;

  std::uint32_t cwnd() const { return cwnd_; }
  std::uint32_t ssthresh() const { return ssthresh_; }
  std::uint32_t smss() const { return smss_; }
  bool in_slow_start() const { return cwnd_ < ssthresh_; }
  bool in_css() const { return hystart_on_ && hystart_.in_css(); }
  // RFC 6928's initial window for this SMSS.
  std::uint32_t initial_window() const;

  // Growth: new data delivered outside fast recovery, while the sender was
  // using its window (RFC 7661: no growth when application-limited).
  void OnAck(const AckInfo& a);
  // Loss detected (fast retransmit, RACK, a repaired tail probe): ssthresh
  // drops; cwnd follows through the connection's recovery (PRR).
  void OnCongestionEvent(std::uint32_t flight, Instant now);
  // The retransmission timer expired: ssthresh as for loss (the first time
  // in a row only, RFC 5681 3.1), cwnd to one segment.
  void OnRetransmitTimeout(std::uint32_t flight, Instant now, bool first);
  // Switching algorithms (TCP_CONGESTION on a live connection): the window
  // carries over.
  void AdoptWindow(const CongestionControl& o) {
    cwnd_ = o.cwnd_;
    ssthresh_ = o.ssthresh_;
  }
  // The segment size changed (path MTU): growth and the floors follow it;
  // cwnd and ssthresh keep their octets.
  void SetSmss(std::uint32_t smss) { smss_ = smss; }
  // A loss that is no congestion signal (a path MTU probe's, RFC 4821
  // 7.6.2): recovery runs, but toward the window as it is.
  void HoldWindow() { ssthresh_ = cwnd_ > 2 * smss_ ? cwnd_ : 2 * smss_; }
  // Recovery sets cwnd (PRR) and ends it at ssthresh.
  void SetCwnd(std::uint32_t cwnd) { cwnd_ = cwnd < smss_ ? smss_ : cwnd; }
  // RFC 7661 4.4: the non-validated period ran out: ssthresh keeps 3/4 of
  // cwnd, cwnd halves (not below the initial window).
  virtual void OnNonValidatedPeriodEnd();
  // Every ACK that delivered data, in recovery too (model-based algorithms).
  virtual void OnRateSample(const RateSample& /*rs*/) {}
  // The rate to pace at, octets per second (0: unpaced): see the top.
  virtual std::uint64_t PacingRate(Duration srtt) const;
  // True when the algorithm needs pacing whatever the connection says.
  virtual bool NeedsPacing() const { return false; }
  // The reduction was spurious (D-SACK showed every retransmission arrived
  // twice): back to the state before the last event.
  void Undo();

 protected:
  // Congestion avoidance for `a.acked` octets.
  virtual void Avoid(const AckInfo& a) = 0;
  // ssthresh for a congestion event with `flight` outstanding; may update
  // the algorithm's own state (saved for Undo by SaveState).
  virtual std::uint32_t EventSsthresh(std::uint32_t flight, Instant now) = 0;
  virtual void SaveState() {}
  virtual void RestoreState() {}
  // False for a model-based algorithm: OnAck's slow start and Avoid are
  // not its own (it sets cwnd from OnRateSample).
  virtual bool GrowsOnAck() const { return true; }

  std::uint32_t smss_;
  std::uint32_t cwnd_;
  std::uint32_t ssthresh_ = 0xffffffffu;  // RFC 5681 3.1: arbitrarily high at first

 private:
  bool hystart_on_;
  HyStartPlusPlus hystart_;
  bool after_rto_ = false;  // RFC 3465 2.3: L = 1 SMSS in the slow start after a timeout
  std::uint32_t prior_cwnd_ = 0;
  std::uint32_t prior_ssthresh_ = 0;
  bool can_undo_ = false;
};

class NewReno final : public CongestionControl {
 public:
  explicit NewReno(std::uint32_t smss, bool hystart = false) : CongestionControl(smss, hystart) {}
  std::string_view name() const override { return "newreno"; }

 private:
  void Avoid(const AckInfo& a) override;
  std::uint32_t EventSsthresh(std::uint32_t flight, Instant now) override;
  std::uint32_t bytes_acked_ = 0;  // RFC 3465 2.1 byte counting
};

class Cubic final : public CongestionControl {
 public:
  static constexpr double kC = 0.4;
  static constexpr double kBeta = 0.7;
  explicit Cubic(std::uint32_t smss, bool hystart = true) : CongestionControl(smss, hystart) {}
  std::string_view name() const override { return "cubic"; }

  // RFC 9438 eq. 1 and 2, in segments and seconds, for tests.
  static double K(double w_max, double cwnd_epoch) ;
  static double WCubic(double t, double k, double w_max) ;
  double w_max_segments() const { return st_.w_max; }
  double k_seconds() const { return st_.k; }

 private:
  void Avoid(const AckInfo& a) override;
  std::uint32_t EventSsthresh(std::uint32_t flight, Instant now) override;
  void SaveState() override;
  void RestoreState() override;

  struct State {
    double w_max = 0;   // segments
    double k = 0;       // seconds
    double w_est = 0;   // segments
    double cwnd_epoch = 0;
    bool epoch_valid = false;
    Instant epoch_start;
  };
  State st_;
  State saved_;         // before the last congestion event (RFC 9438 4.9)
  double pending_ = 0;  // fractional octets of growth not yet in cwnd
};

// The algorithm named `name` ("cubic", "newreno", "reno" or "bbr"), or null.
std::unique_ptr<CongestionControl> MakeCongestionControl(std::string_view name, std::uint32_t smss,
                                                         bool hystart = true);
// True when `name` is an algorithm MakeCongestionControl knows.
bool KnownCongestionControl(std::string_view name);

}  // namespace ringstack::proto::tcp

#endif  // RINGSTACK_PROTOCOLS_TCP_CONGESTION_H_
