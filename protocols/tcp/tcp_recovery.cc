// Loss detection and recovery: the SACK scoreboard with RFC 6675's rules or
// RACK-TLP (RFC 8985), Proportional Rate Reduction (RFC 6937), NewReno's
// recovery without SACK (RFC 6582), D-SACK undo (RFC 2883), the tail loss
// probe, and RFC 7661's cwnd validation.
#include <algorithm>

#include "protocols/tcp/tcp_connection.h"

namespace ringstack::proto::tcp {

std::string_view RecoveryName(Recovery r) {
  switch (r) {
    case Recovery::kRack:
      return "rack";
    case Recovery::kSack:
      return "sack";
    case Recovery::kNewReno:
      return "newreno";
  }
  return "?";
}

std::optional<Recovery> ParseRecovery(std::string_view name) {
  if (name == "rack") return Recovery::kRack;
  if (name == "sack") return Recovery::kSack;
  if (name == "newreno") return Recovery::kNewReno;
  return std::nullopt;
}

bool ChallengeAckLimiter::Allow(Instant now) {
  if (!started_ || now - window_start_ >= Duration::Seconds(1)) {
    started_ = true;
    window_start_ = now;
    sent_ = 0;
    // xorshift64: this second's budget in [per_second / 2, 3 * per_second / 2).
    rng_ ^= rng_ << 13;
    rng_ ^= rng_ >> 7;
    rng_ ^= rng_ << 17;
    budget_ = per_second_ / 2 + static_cast<int>(rng_ % static_cast<std::uint64_t>(std::max(per_second_, 1)));
  }
  if (sent_ >= budget_) return false;  // counted by the connection (challenge_limited)
  ++sent_;
  return true;
}

std::string_view TcpConnection::RecoveryPhase() const {
  switch (phase_) {
    case Phase::kOpen:
      return "open";
    case Phase::kFast:
      return "recovery";
    case Phase::kRto:
      return "loss";
  }
  return "?";
}

// RFC 2883 4: the first block is a D-SACK when it lies below the cumulative
// ACK, or inside the second block.
bool TcpConnection::IsDsack(const TcpRepr& seg) const {
  const SackBlock& b = seg.options.sack[0];
  if (!b.left.Before(b.right)) return false;
  if (b.right.BeforeOrAt(seg.ack)) return true;
  if (seg.options.sack_count < 2) return false;
  const SackBlock& c = seg.options.sack[1];
  return c.left.BeforeOrAt(b.left) && b.right.BeforeOrAt(c.right);
}

// A D-SACK: something arrived twice. If it is one of the retransmissions of
// the latest reduction, that retransmission was needless; when all were,
// the reduction is undone. A probe reported twice repaired nothing.
void TcpConnection::OnDsack(const SackBlock& b, Instant /*now*/) {
  ++stats_.dsacks;
  if (tlp_out_ && tlp_retrans_ && b.right == tlp_end_) tlp_out_ = false;
  if (!undo_armed_ || b.left.Before(undo_marker_) || b.right.After(snd_nxt_)) return;
  const std::uint32_t mss = std::max(EffectiveMss(), 1u);
  const auto len = static_cast<std::uint32_t>(b.right - b.left);
  undo_retrans_ -= static_cast<int>(std::max(1u, (len + mss - 1) / mss));
  if (undo_retrans_ <= 0) Undo();
}

void TcpConnection::ArmUndo() {
  undo_armed_ = true;
  undo_marker_ = snd_una_;
  undo_retrans_ = 0;
}

void TcpConnection::Undo() {
  undo_armed_ = false;
  cc_->Undo();
  ++stats_.undos;
  // PRR would set cwnd again on the next ACK: recovery is over. What was
  // deemed lost and not yet resent is not any more (as after a spurious
  // timeout every "lost" original arrived); real losses are found again.
  phase_ = Phase::kOpen;
  sb_.UnmarkUnsentLost();
}

// The loss detector of the configured recovery, after an ACK.
void TcpConnection::DetectLosses(bool dsack, bool exiting, Instant now) {
  if (config_.recovery == Recovery::kRack) {
    const int sacked_segments = static_cast<int>(std::min<std::size_t>(sb_.sacked_records(), Scoreboard::kDupThresh));
    rack_.UpdateReoWnd(dsack, snd_una_, snd_nxt_, phase_ != Phase::kOpen, exiting, sacked_segments, rtt_.srtt());
    int marked = 0;
    const Duration wait = rack_.DetectLoss(sb_, now, marked);
    stats_.rack_marked += static_cast<std::uint64_t>(marked);
    rack_at_ = wait > Duration() ? now + wait : Instant::Never();
    return;
  }
  stats_.dupthresh_marked += static_cast<std::uint64_t>(sb_.MarkLostByDupThresh(EffectiveMss()));
}

// RACK's reorder timer: what was waiting out the reordering window is lost now.
void TcpConnection::OnReorderTimer(Instant now) {
  rack_at_ = Instant::Never();
  int marked = 0;
  const Duration wait = rack_.DetectLoss(sb_, now, marked);
  stats_.rack_marked += static_cast<std::uint64_t>(marked);
  if (wait > Duration()) rack_at_ = now + wait;
  if (marked == 0) return;
  if (phase_ == Phase::kOpen) EnterRecovery(now);
  if (phase_ == Phase::kFast) PrrOnAck(0);
  SendData(now);
}

// Without SACK (RFC 5681 3.2, RFC 6582 3.2): the third duplicate ACK
// retransmits and starts recovery (unless SND.UNA has not passed the last
// recovery's point: those duplicates are from it); later ones inflate cwnd.
void TcpConnection::OnDupAck(Instant now) {
  ++dup_acks_;
  if (phase_ == Phase::kFast) {
    cc_->SetCwnd(cc_->cwnd() + EffectiveMss());
    return;
  }
  if (phase_ != Phase::kOpen || dup_acks_ != 3 || !snd_una_.After(recover_ - 1) || sb_.empty()) return;
  sb_.MarkLost(0);
  EnterRecovery(now);
}

void TcpConnection::EnterRecovery(Instant now) {
  phase_ = Phase::kFast;
  recover_ = snd_nxt_;
  ++stats_.fast_recoveries;
  ArmUndo();
  const std::uint32_t flight = in_flight();
  cc_->OnCongestionEvent(flight, now);
  timing_ = false;
  tlp_out_ = false;
  tlp_at_ = Instant::Never();
  if (!UseSack()) {
    cc_->SetCwnd(cc_->ssthresh() + 3 * EffectiveMss());  // RFC 6582 3.2 step 3
    return;
  }
  prr_delivered_ = 0;
  prr_out_ = 0;
  recover_fs_ = std::max(flight, 1u);
}

void TcpConnection::ExitRecovery() {
  if (phase_ == Phase::kFast) {
    if (UseSack()) {
      cc_->SetCwnd(cc_->ssthresh());  // RFC 6937 3: cwnd = ssthresh at the end
    } else {
      // RFC 6582 3.2 step 5 (full ACK): min(ssthresh, max(FlightSize, SMSS) + SMSS).
      cc_->SetCwnd(std::min(cc_->ssthresh(), std::max(in_flight(), EffectiveMss()) + EffectiveMss()));
    }
  }
  phase_ = Phase::kOpen;
  dup_acks_ = 0;
}

// RFC 6937 3 with PRR-SSRB: cwnd = pipe + sndcnt on each ACK in recovery.
void TcpConnection::PrrOnAck(std::uint32_t delivered) {
  prr_delivered_ += delivered;
  const std::uint32_t p = pipe();
  const std::uint32_t ssthresh = cc_->ssthresh();
  const std::uint32_t mss = EffectiveMss();
  std::int64_t sndcnt;
  if (p > ssthresh) {
    // Proportional: ceil(prr_delivered * ssthresh / RecoverFS) - prr_out.
    const std::uint64_t num = static_cast<std::uint64_t>(prr_delivered_) * ssthresh;
    sndcnt = static_cast<std::int64_t>((num + recover_fs_ - 1) / recover_fs_) - prr_out_;
  } else {
    // Slow-start reduction bound.
    const std::int64_t limit =
        std::max<std::int64_t>(static_cast<std::int64_t>(prr_delivered_) - prr_out_, delivered) + mss;
    sndcnt = std::min<std::int64_t>(static_cast<std::int64_t>(ssthresh) - p, limit);
  }
  sndcnt = std::max<std::int64_t>(sndcnt, 0);
  if (prr_out_ == 0 && sndcnt < mss) sndcnt = mss;  // the fast retransmit itself goes at once
  cc_->SetCwnd(p + static_cast<std::uint32_t>(sndcnt));
}

void TcpConnection::RetransmitRecord(std::size_t i, Instant now) {
  const std::uint32_t room = SegmentRoom();
  if (sb_.at(i).data_len() > room) sb_.Split(i, room);
  const SentSegment& s = sb_.at(i);
  std::uint8_t flags = kAck;
  if (s.fin) flags |= kFin;
  if (s.data_len() != 0 && s.start + s.data_len() == buf_seq_ + queued_) flags |= kPsh;
  SendSegment(flags, s.start, s.data_len(), now);
  sb_.OnRetransmit(i, now);
  prr_out_ += s.len();
  ++stats_.retransmits;
  if (undo_armed_) ++undo_retrans_;
  timing_ = false;  // Karn: no sample across a retransmission
  ArmRetransmit(now);
}

// RFC 8985 7.2: a probe timeout of two SRTTs (plus the peer's delayed-ACK
// allowance when one segment is out), if it comes before the RTO.
void TcpConnection::ArmTlp(Instant now) {
  tlp_at_ = Instant::Never();
  if (config_.recovery != Recovery::kRack || !sack_ok_ || phase_ != Phase::kOpen || tlp_out_ || sb_.empty()) {
    return;
  }
  Duration pto = rtt_.has_sample() ? rtt_.srtt() * 2 : Duration::Seconds(1);
  if (in_flight() <= EffectiveMss()) pto = pto + config_.max_ack_delay;
  pto = std::max(pto, Duration::Millis(10));
  if (now + pto < rto_at_) tlp_at_ = now + pto;
}

// RFC 8985 7.3: new data if the peer's window allows, else the last
// segment again; then the RTO.
void TcpConnection::SendTlp(Instant now) {
  tlp_at_ = Instant::Never();
  if (phase_ != Phase::kOpen || sb_.empty()) return;
  ++stats_.tlp_probes;
  const SeqNum edge = snd_una_ + snd_wnd_;
  const std::uint32_t rwnd = edge.After(snd_nxt_) ? static_cast<std::uint32_t>(edge - snd_nxt_) : 0;
  const std::uint32_t queued = unsent();
  if (queued != 0 && rwnd >= std::min(queued, SegmentRoom()) && SendData(now, /*probe=*/true)) {
    tlp_retrans_ = false;
  } else {
    std::size_t i = sb_.size() - 1;
    const std::uint32_t room = SegmentRoom();
    if (sb_.at(i).data_len() > room) {
      sb_.Split(i, sb_.at(i).len() - room);
      ++i;
    }
    RetransmitRecord(i, now);
    tlp_retrans_ = true;
  }
  tlp_out_ = true;
  tlp_end_ = snd_nxt_;
  rto_at_ = now + rtt_.rto();
}

// RFC 7661: rounds of one flight; pipeACK is what the last one delivered.
void TcpConnection::TrackRound(std::uint32_t delivered, Instant now) {
  round_acked_ += delivered;
  if (snd_una_.Before(round_end_)) return;
  pipe_ack_ = round_acked_;
  pipe_ack_at_ = now;
  round_acked_ = 0;
  round_end_ = snd_nxt_;
  CheckNonValidated(now);
}

// RFC 7661 4.2: samples count for max(3 SRTT, 1 s).
Duration TcpConnection::SamplePeriod() const { return std::max(rtt_.srtt() * 3, Duration::Seconds(1)); }

// RFC 7661 4.1: validated while the sender recently used its whole cwnd or
// saw pipeACK >= cwnd / 2.
bool TcpConnection::Validated(Instant now) const {
  const Duration period = SamplePeriod();
  if (!limited_at_.IsNever() && now - limited_at_ < period) return true;
  return !pipe_ack_at_.IsNever() && now - pipe_ack_at_ < period && pipe_ack_ * 2 >= cc_->cwnd();
}

// RFC 7661 4.3/4.4: cwnd is kept through a non-validated period (an idle or
// application-limited spell); when it outlasts `non_validated_period`, cwnd
// is halved (ssthresh keeping 3/4 of it) and the period starts over.
void TcpConnection::CheckNonValidated(Instant now) {
  if (Validated(now)) {
    nvp_since_ = Instant::Never();
    return;
  }
  if (nvp_since_.IsNever()) {
    // It began when the last evidence of use lapsed.
    Instant last = limited_at_;
    if (!pipe_ack_at_.IsNever() && (last.IsNever() || pipe_ack_at_ > last)) last = pipe_ack_at_;
    nvp_since_ = last.IsNever() ? now : std::min(now, last + SamplePeriod());
  }
  while (now - nvp_since_ >= config_.non_validated_period) {
    const std::uint32_t before = cc_->cwnd();
    cc_->OnNonValidatedPeriodEnd();
    nvp_since_ = nvp_since_ + config_.non_validated_period;
    if (cc_->cwnd() == before) break;
  }
}

}  // namespace ringstack::proto::tcp
