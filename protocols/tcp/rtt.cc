#include "protocols/tcp/rtt.h"

#include <algorithm>

namespace ringstack::proto::tcp {

void RttEstimator::OnSample(Duration rtt) {
  if (rtt < Duration()) return;
  if (!has_sample_) {
    // RFC 6298 2.2: SRTT <- R, RTTVAR <- R/2.
    srtt_ = rtt;
    rttvar_ = Duration::Nanos(rtt.nanos() / 2);
    has_sample_ = true;
  } else {
    // RFC 6298 2.3: RTTVAR <- (1 - beta) * RTTVAR + beta * |SRTT - R'|,
    // then SRTT <- (1 - alpha) * SRTT + alpha * R' (RTTVAR first, with the old SRTT).
    const std::int64_t err = std::abs(srtt_.nanos() - rtt.nanos());
    rttvar_ = Duration::Nanos(rttvar_.nanos() - rttvar_.nanos() / 4 + err / 4);
    srtt_ = Duration::Nanos(srtt_.nanos() - srtt_.nanos() / 8 + rtt.nanos() / 8);
  }
  // RTO <- SRTT + max(G, K * RTTVAR), then the bounds (2.4, 2.5).
  rto_ = srtt_ + std::max(config_.granularity, rttvar_ * 4);
  rto_ = std::clamp(rto_, config_.min, config_.max);
  backoffs_ = 0;  // 5.7: a new sample after backing off recomputes RTO
}

void RttEstimator::Backoff() {
  if (rto() < config_.max) ++backoffs_;
}

Duration RttEstimator::rto() const {
  Duration r = rto_;
  for (int i = 0; i < backoffs_ && r < config_.max; ++i) r = r * 2;
  return std::min(r, config_.max);
}

}  // namespace ringstack::proto::tcp
