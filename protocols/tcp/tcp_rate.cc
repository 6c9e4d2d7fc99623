// Delivery rate estimation (draft-cheng-iccrg-delivery-rate-estimation) and
// pacing. Each segment carries, from its latest transmission, the
// connection's delivered count and times (RateMark); an ACK's sample is
// taken from the newest segment it delivered: the octets delivered since
// that segment went, over the longer of its send interval and its ACK
// interval. Pacing spaces segments by their length over the pacing rate
// (congestion control's), letting a burst of at most a millisecond's worth
// (and two segments) go at once, as Linux's pacing with TSO autosizing.
#include <algorithm>

#include "protocols/tcp/tcp_connection.h"

namespace ringstack::proto::tcp {

RateMark TcpConnection::MarkForSend(Instant now) {
  // 3.2: a send after an idle spell starts the intervals afresh.
  if (in_flight() == 0) rate_.first_sent_at = rate_.delivered_at = now;
  return RateMark{rate_.delivered, rate_.delivered_at, rate_.first_sent_at, rate_.app_limited != 0};
}

void TcpConnection::OnRateDelivered(const SentSegment& s, Instant now) {
  rate_.delivered += s.data_len();
  rate_.delivered_at = now;
  // 3.3: the sample follows the most recently sent segment delivered.
  if (rs_.valid && s.rate.delivered < rs_.prior_delivered) return;
  rs_.valid = true;
  rs_.prior_delivered = s.rate.delivered;
  rs_.prior_at = s.rate.delivered_at;
  rs_.send_elapsed = s.xmit - s.rate.first_sent_at;
  rs_.app_limited = s.rate.app_limited;
  // Its RTT from its transmit time (a retransmitted one's is ambiguous):
  // finer than the timestamps' milliseconds, which a fast path needs.
  rs_.rtt = s.ever_retrans ? Duration() : now - s.xmit;
  rate_.first_sent_at = s.xmit;
}

void TcpConnection::TakeRateSample(std::uint32_t delivered, Instant now) {
  if (rate_.app_limited != 0 && rate_.delivered > rate_.app_limited) rate_.app_limited = 0;
  if (!rs_.valid || delivered == 0) return;
  RateSample r;
  r.delivered = rate_.delivered - rs_.prior_delivered;
  r.interval = std::max(rs_.send_elapsed, rate_.delivered_at - rs_.prior_at);
  if (rs_.rtt > Duration() && (rate_.min_rtt == Duration() || rs_.rtt < rate_.min_rtt)) rate_.min_rtt = rs_.rtt;
  // An interval shorter than the path's RTT says nothing of its rate
  // (3.3: ACK compression); the sample still counts rounds.
  if (r.interval < rate_.min_rtt) r.interval = Duration();
  r.app_limited = rs_.app_limited;
  r.prior_delivered = rs_.prior_delivered;
  r.total_delivered = rate_.delivered;
  r.acked = delivered;
  r.inflight = pipe();
  r.rtt = rs_.rtt > Duration() ? rs_.rtt : ack_rtt_;
  r.now = now;
  r.in_recovery = phase_ == Phase::kFast;
  cc_->OnRateSample(r);
}

void TcpConnection::MarkAppLimited() {
  if (unsent() == 0 && pipe() < cc_->cwnd() && sb_.lost_bytes() <= sb_.retrans_out_bytes()) {
    rate_.app_limited = std::max<std::uint64_t>(rate_.delivered + pipe(), 1);
  }
}

std::uint64_t TcpConnection::PacingRate() const {
  if (!config_.pacing && !cc_->NeedsPacing()) return 0;
  return cc_->PacingRate(rtt_.srtt());
}

bool TcpConnection::PacingHolds(Instant now) {
  if (pace_at_ <= now || PacingRate() == 0) return false;
  pace_wait_ = true;
  return true;
}

void TcpConnection::Paced(std::uint32_t len, Instant now) {
  const std::uint64_t rate = PacingRate();
  if (rate == 0) return;
  const auto gap = Duration::Nanos(static_cast<std::int64_t>(static_cast<double>(len) * 1e9 / static_cast<double>(rate)));
  // The burst an idle sender may send at once: a millisecond's worth, and
  // at least two segments.
  const Duration burst = std::max(Duration::Millis(1), gap * 2);
  pace_at_ = std::max(pace_at_, now + Duration::Nanos(-burst.nanos())) + gap;
}

}  // namespace ringstack::proto::tcp
