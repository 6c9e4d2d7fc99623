// RFC 3168 ECN for TcpConnection (tcp_connection.h): the handshake's
// negotiation (6.1.1), the receiver's ECE echo of a CE mark until the
// sender's CWR (6.1.3), and the sender's one reduction a window for an ECE
// with CWR on its next new data (6.1.2). ECT(0) goes on new data segments
// only — never on SYNs, pure ACKs, retransmissions or window probes (6.1.4,
// 6.1.5, 6.1.6); SendNewData marks them. Accurate ECN's side of each step
// is in tcp_accecn.cc.
#include <algorithm>

#include "protocols/tcp/tcp_connection.h"

namespace ringstack::proto::tcp {

std::string_view EcnModeName(EcnMode m) {
  switch (m) {
    case EcnMode::kOff:
      return "off";
    case EcnMode::kPassive:
      return "passive";
    case EcnMode::kOn:
      return "on";
    case EcnMode::kAccEcn:
      return "accecn";
  }
  return "?";
}

std::optional<EcnMode> ParseEcnMode(std::string_view name) {
  if (name == "off") return EcnMode::kOff;
  if (name == "passive") return EcnMode::kPassive;
  if (name == "on") return EcnMode::kOn;
  if (name == "accecn") return EcnMode::kAccEcn;
  return std::nullopt;
}

// 6.1.1: an "ECN-setup SYN" carries ECE and CWR; only the first SYN asks
// (a retransmission goes without them, as Linux's tcp_ecn_fallback does: a
// middlebox may drop SYNs that carry them).
std::uint8_t TcpConnection::SynFlags() const {
  const auto* s = std::get_if<SynSent>(&state_);
  return s != nullptr && s->ecn ? kSyn | kEce | kCwr : kSyn;
}

// An "ECN-setup SYN-ACK" carries ECE and not CWR.
std::uint8_t TcpConnection::SynAckFlags() const { return ecn_ok_ ? kSyn | kAck | kEce : kSyn | kAck; }

// For a segment that passed the acceptability, RST, SYN and ACK checks: its
// CWR ends our echo (the sender reduced), then a CE mark on it starts it
// again; the first ACK of an echo goes at once, so the sender hears soon.
void TcpConnection::OnEcnMarks(const TcpRepr& seg, IpEcn ecn, Instant now) {
  if (!ecn_ok_) return;
  if (accecn_) {
    OnAccEcnMarks(seg, ecn, now);
    return;
  }
  if (seg.cwr()) ece_pending_ = false;
  if (ecn != IpEcn::kCe) return;
  ++stats_.ecn_ce_received;
  if (!ece_pending_) ScheduleAck(now, /*quick=*/true);
  ece_pending_ = true;
}

// What an ACK that newly delivered `delivered` bytes says of congestion:
// RFC 3168's ECE, or AccECN's counts.
void TcpConnection::OnEcnFeedback(const TcpRepr& seg, std::uint32_t delivered, Instant now) {
  if (!ecn_ok_) return;
  if (accecn_) {
    OnAccEcnFeedback(seg, delivered, now);
  } else if (seg.ece()) {
    OnEce(now);
  }
}

// 6.1.2: an ACK with ECE asks for the response to a loss, once a window of
// data: ssthresh as for a loss, cwnd down to it, CWR on the next new data
// segment. The peer echoes until it sees that CWR, so the ECEs before it
// and those acknowledging data sent before it are the same congestion:
// ignored. Not while recovering from a loss either (that reduction stands
// for it), and never undone (a mark is no spurious loss).
void TcpConnection::OnEce(Instant now) {
  if (!cwr_pending_) ReduceForEcn(now);
}

// Once a window, for RFC 3168's ECE and AccECN's counts alike.
void TcpConnection::ReduceForEcn(Instant now) {
  if (ecn_window_ && snd_.una.Before(ecn_recover_)) return;
  ecn_window_ = false;
  if (phase_ != Phase::kOpen || in_flight() == 0) return;
  ++stats_.ecn_reductions;
  cc_->OnCongestionEvent(in_flight(), now);
  cc_->SetCwnd(std::max(cc_->ssthresh(), EffectiveMss()));
  undo_armed_ = false;
  EcnOnLossReduction();
}

// AccECN has no CWR (its bit is part of ACE): the window the reduction
// stands for is what is in flight now.
void TcpConnection::EcnOnLossReduction() {
  if (!ecn_ok_) return;
  ecn_window_ = true;
  if (accecn_) {
    ecn_recover_ = snd_.nxt;
    return;
  }
  cwr_pending_ = true;
}

}  // namespace ringstack::proto::tcp
