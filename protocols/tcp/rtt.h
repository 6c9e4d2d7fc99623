// The retransmission timer's value, RFC 6298: SRTT and RTTVAR from RTT
// samples (2.2, 2.3 with alpha 1/8, beta 1/4, K 4, clock granularity G),
// RTO bounded below by a minimum (2.4: 1 s; configurable, Linux uses 200 ms)
// and above by a maximum (2.5: at least 60 s), the initial RTO (2.1: 1 s),
// and exponential backoff on expiry (5.5) undone by the next sample.
// Karn's rule (samples only from segments not retransmitted, 3) is the
// caller's: it passes only such samples (or timestamp echoes, RFC 7323 4).
// Pure; never allocates.
#ifndef RINGSTACK_PROTOCOLS_TCP_RTT_H_
#define RINGSTACK_PROTOCOLS_TCP_RTT_H_

#include "protocols/common/time.h"

namespace ringstack::proto::tcp {

struct RtoConfig {
  Duration initial = Duration::Seconds(1);
  Duration min = Duration::Seconds(1);
  Duration max = Duration::Seconds(60);
  Duration granularity = Duration::Millis(1);
};

class RttEstimator {
 public:
  explicit RttEstimator(const RtoConfig& config = {}) : config_(config), rto_(config.initial) {}

  // A round-trip measurement (RFC 6298 2.2 for the first, 2.3 after).
  void OnSample(Duration rtt);
  // The timer expired: RTO doubles, up to the maximum (5.5).
  void Backoff();

  Duration rto() const;  // with any backoff applied
  Duration srtt() const { return srtt_; }
  Duration rttvar() const { return rttvar_; }
  bool has_sample() const { return has_sample_; }
  int backoffs() const { return backoffs_; }

 private:
  RtoConfig config_;
  Duration srtt_;
  Duration rttvar_;
  Duration rto_;  // before backoff
  bool has_sample_ = false;
  int backoffs_ = 0;
};

}  // namespace ringstack::proto::tcp

#endif  // RINGSTACK_PROTOCOLS_TCP_RTT_H_
