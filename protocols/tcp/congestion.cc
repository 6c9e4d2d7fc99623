#include "protocols/tcp/congestion.h"

#include <algorithm>

namespace ringstack::proto::tcp {

// RFC 5681 3.1 as updated by RFC 6928: IW = min(10*SMSS, max(2*SMSS, 14600)).
NewReno::NewReno(std::uint32_t smss)
    : smss_(smss), cwnd_(std::min(10 * smss, std::max(2 * smss, 14600u))) {}

void NewReno::OnAck(std::uint32_t acked) {
  if (cwnd_ < ssthresh_) {
    // RFC 5681 3.1 slow start: cwnd += min(N, SMSS) per ACK.
    cwnd_ += std::min(acked, smss_);
    return;
  }
  // Congestion avoidance: one SMSS per cwnd of data acknowledged (RFC 5681
  // 3.1's byte-counting variant, RFC 3465 2.1).
  bytes_acked_ += acked;
  if (bytes_acked_ >= cwnd_) {
    bytes_acked_ -= cwnd_;
    cwnd_ += smss_;
  }
}

void NewReno::HalveTo(std::uint32_t flight) {
  // RFC 5681 eq. (4): ssthresh = max(FlightSize / 2, 2*SMSS).
  ssthresh_ = std::max(flight / 2, 2 * smss_);
  bytes_acked_ = 0;
}

void NewReno::OnEnterRecovery(std::uint32_t flight) {
  HalveTo(flight);
  cwnd_ = ssthresh_ + 3 * smss_;  // RFC 5681 3.2 step 3 / RFC 6582 3.2 step 3
}

void NewReno::OnDupAckInRecovery() { cwnd_ += smss_; }  // step 4: inflate

void NewReno::OnPartialAck(std::uint32_t acked) {
  // RFC 6582 3.2 step 5 (partial): deflate by the amount acknowledged, add
  // back SMSS if that was at least SMSS.
  cwnd_ = cwnd_ > acked ? cwnd_ - acked : 0;
  if (acked >= smss_) cwnd_ += smss_;
  cwnd_ = std::max(cwnd_, smss_);
}

void NewReno::OnExitRecovery(std::uint32_t flight) {
  // RFC 6582 3.2 step 5 (full): cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS).
  cwnd_ = std::min(ssthresh_, std::max(flight, smss_) + smss_);
}

void NewReno::OnRetransmitTimeout(std::uint32_t flight) {
  HalveTo(flight);
  cwnd_ = smss_;  // RFC 5681 3.1: LW = 1 SMSS
}

std::unique_ptr<CongestionControl> MakeCongestionControl(std::string_view name, std::uint32_t smss) {
  if (name == "newreno" || name == "reno") return std::make_unique<NewReno>(smss);
  return nullptr;
}

}  // namespace ringstack::proto::tcp
