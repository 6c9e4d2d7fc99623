// What the loss recovery strategies (loss_recovery.h) share: entering and
// leaving recovery, retransmitting a scoreboard record, D-SACKs and the undo
// of a needless reduction (RFC 2883); and RFC 7661's cwnd validation, and
// RFC 5961's challenge-ACK limiter.
#include <algorithm>

#include "protocols/tcp/tcp_connection.h"

namespace ringstack::proto::tcp {

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
void TcpConnection::OnDsack(const SackBlock& b) {
  ++stats_.dsacks;
  recovery_->OnDsack(b);
  if (!undo_armed_ || b.left.Before(undo_marker_) || b.right.After(snd_.nxt)) return;
  const std::uint32_t mss = std::max(EffectiveMss(), 1u);
  const auto len = static_cast<std::uint32_t>(b.right - b.left);
  undo_retrans_ -= static_cast<int>(std::max(1u, (len + mss - 1) / mss));
  if (undo_retrans_ <= 0) Undo();
}

void TcpConnection::ArmUndo() {
  undo_armed_ = true;
  undo_marker_ = snd_.una;
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

// RFC 5682 3.1, the SACK-enhanced F-RTO (every resent record is marked, so
// "never retransmitted" is known exactly):
//   2.b  the first ACK to move SND.UNA below the recovery point sends new
//        data, as cwnd lets, in place of the records deemed lost (with none
//        to send, or no window for it, recovery goes on as usual). Data it
//        acknowledges beyond the retransmission proves nothing: the
//        retransmission may have filled a real hole below it;
//   3.b  an ACK after that which delivers data sent before the timeout and
//        never resent shows the timeout spurious: its reduction is undone;
//   3.a  one that is a duplicate or SACKs something shows the loss real:
//        recovery goes on as usual.
void TcpConnection::Frto(const AckFacts& a, bool orig, Instant now) {
  if (snd_.nxt.After(recover_)) {
    if (orig && undo_armed_) {
      frto_ = false;
      ++stats_.frto_spurious;
      Undo();
    } else if (a.dup_ack || a.sacked) {
      frto_ = false;
    }
    return;
  }
  if (a.acked == 0 || !snd_.una.Before(recover_)) return;
  const SeqNum edge = snd_.una + snd_.wnd;
  if (unsent() == 0 || !edge.After(snd_.nxt)) {
    frto_ = false;
    return;
  }
  frto_new_ = true;
  SendData(now);
  frto_new_ = false;
  if (!snd_.nxt.After(recover_)) frto_ = false;  // cwnd let nothing new go
}

void TcpConnection::EnterRecovery(Instant now, std::uint32_t not_counted) {
  phase_ = Phase::kFast;
  recover_ = snd_.nxt;
  ++stats_.fast_recoveries;
  ArmUndo();
  const std::uint32_t flight = in_flight() > not_counted ? in_flight() - not_counted : 0;
  if (ProbeLost(now)) {
    cc_->HoldWindow();  // RFC 4821 7.6.2: the path's size, not congestion
  } else {
    cc_->OnCongestionEvent(flight, now);
    EcnOnLossReduction();
  }
  timing_ = false;
  recovery_->OnEnter(flight);
}

void TcpConnection::ExitRecovery() {
  recovery_->OnExit(phase_ == Phase::kFast);
  phase_ = Phase::kOpen;
  frto_ = false;
}

void TcpConnection::RetransmitRecord(std::size_t i, Instant now) {
  if (search_.out && sb_.at(i).start.Before(search_.end) && search_.start.Before(sb_.at(i).end)) FailProbe(now);
  const std::uint32_t room = SegmentRoom();
  if (sb_.at(i).data_len() > room) sb_.Split(i, room);
  const SentSegment& s = sb_.at(i);
  std::uint8_t flags = kAck;
  if (s.fin) flags |= kFin;
  if (s.data_len() != 0 && s.start + s.data_len() == snd_.buf_seq + snd_.queued) flags |= kPsh;
  const RateMark mark = MarkForSend(now);
  SendSegment(flags, s.start, s.data_len(), now);
  sb_.OnRetransmit(i, now, mark);
  recovery_->OnSent(s.len());
  ++stats_.retransmits;
  if (undo_armed_) ++undo_retrans_;
  timing_ = false;  // Karn: no sample across a retransmission
  ArmRetransmit(now);
}

// RFC 7661: rounds of one flight; pipeACK is what the last one delivered.
void TcpConnection::TrackRound(std::uint32_t delivered, Instant now) {
  round_acked_ += delivered;
  if (snd_.una.Before(round_end_)) return;
  pipe_ack_ = round_acked_;
  pipe_ack_at_ = now;
  round_acked_ = 0;
  round_end_ = snd_.nxt;
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
