// The loss recovery strategies (loss_recovery.h): NewReno without SACK,
// RFC 6675 on the SACK scoreboard, RACK-TLP; PRR paces the SACK-based two.
#include "protocols/tcp/loss_recovery.h"

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

using Phase = TcpConnection::Phase;

// RFC 5681 3.2 and RFC 6582 3.2, for a peer without SACK (or by choice).
class NewRenoRecovery final : public LossRecovery {
 public:
  using LossRecovery::LossRecovery;
  Recovery kind() const override { return Recovery::kNewReno; }
  bool UsesSack() const override { return false; }
  void OnAck(const AckFacts& a, Instant now) override;
  void OnEnter(std::uint32_t flight) override;
  void OnExit(bool fast) override;
  bool WindowInflated() const override { return c_.phase_ == Phase::kFast; }
  std::uint32_t LimitedTransmitWindow() const override;
  void OnSent(std::uint32_t bytes) override {
    if (LimitedTransmitWindow() != 0) limited_sent_ += bytes;
  }
  void OnRto() override { dup_acks_ = 0; }

 private:
  void OnDupAck(Instant now);
  int dup_acks_ = 0;
  std::uint32_t limited_sent_ = 0;  // sent by Limited Transmit since the last new ACK
};

// RFC 3042 2: on each of the first two duplicate ACKs one new segment may
// go, as long as the flight stays within cwnd + 2 SMSS; cwnd itself is not
// changed. (With SACK, RFC 6675's pipe does the same: SACKed octets leave it.)
std::uint32_t NewRenoRecovery::LimitedTransmitWindow() const {
  if (c_.phase_ != Phase::kOpen || dup_acks_ <= 0 || dup_acks_ >= 3) return 0;
  return static_cast<std::uint32_t>(dup_acks_) * c_.EffectiveMss();
}

void NewRenoRecovery::OnAck(const AckFacts& a, Instant now) {
  if (a.acked != 0) {
    dup_acks_ = 0;
    limited_sent_ = 0;
  }
  if (a.dup_ack) {
    OnDupAck(now);
  } else if (a.acked != 0 && c_.phase_ == Phase::kFast) {
    // RFC 6582 3.2 step 5, a partial ACK: the next hole goes at once, cwnd
    // deflates by what was acknowledged and grows by one SMSS if that was one.
    c_.sb_.MarkLost(0);
    const std::uint32_t smss = c_.EffectiveMss();
    std::uint32_t cwnd = c_.cc_->cwnd() > a.acked ? c_.cc_->cwnd() - a.acked : 0;
    if (a.acked >= smss) cwnd += smss;
    c_.cc_->SetCwnd(cwnd);
  }
}

// The third duplicate ACK retransmits and starts recovery (unless SND.UNA
// has not passed the last recovery's point: those duplicates are from it);
// later ones inflate cwnd.
void NewRenoRecovery::OnDupAck(Instant now) {
  ++dup_acks_;
  if (c_.phase_ == Phase::kFast) {
    c_.cc_->SetCwnd(c_.cc_->cwnd() + c_.EffectiveMss());
    return;
  }
  if (c_.phase_ != Phase::kOpen || dup_acks_ != 3 || !c_.snd_.una.After(c_.recover_ - 1) || c_.sb_.empty()) return;
  c_.sb_.MarkLost(0);
  // RFC 5681 3.2 step 2: what Limited Transmit sent is not in the FlightSize
  // that ssthresh halves.
  c_.EnterRecovery(now, limited_sent_);
  limited_sent_ = 0;
}

void NewRenoRecovery::OnEnter(std::uint32_t /*flight*/) {
  c_.cc_->SetCwnd(c_.cc_->ssthresh() + 3 * c_.EffectiveMss());  // RFC 6582 3.2 step 3
}

void NewRenoRecovery::OnExit(bool fast) {
  dup_acks_ = 0;
  limited_sent_ = 0;
  if (!fast) return;
  // RFC 6582 3.2 step 5 (full ACK): min(ssthresh, max(FlightSize, SMSS) + SMSS).
  const std::uint32_t mss = c_.EffectiveMss();
  c_.cc_->SetCwnd(std::min(c_.cc_->ssthresh(), std::max(c_.in_flight(), mss) + mss));
}

// RFC 6675 on the scoreboard, with PRR (RFC 6937) in recovery.
class SackRecovery : public LossRecovery {
 public:
  using LossRecovery::LossRecovery;
  Recovery kind() const override { return Recovery::kSack; }
  bool UsesSack() const override { return true; }
  void OnAck(const AckFacts& a, Instant now) override;
  void OnEnter(std::uint32_t flight) override;
  void OnExit(bool fast) override;
  void OnSent(std::uint32_t bytes) override { prr_out_ += bytes; }

 protected:
  // Marks what this ACK shows lost.
  virtual void DetectLosses(const AckFacts& a, Instant now);
  void PrrOnAck(std::uint32_t delivered);

 private:
  std::uint32_t prr_delivered_ = 0;
  std::uint32_t prr_out_ = 0;
  std::uint32_t recover_fs_ = 0;
};

void SackRecovery::OnAck(const AckFacts& a, Instant now) {
  DetectLosses(a, now);
  if (c_.phase_ == Phase::kOpen && c_.sb_.lost_bytes() != 0) c_.EnterRecovery(now);
  if (c_.phase_ == Phase::kFast) PrrOnAck(a.delivered);
}

// RFC 6675 4 IsLost: DupThresh segments SACKed above.
void SackRecovery::DetectLosses(const AckFacts& /*a*/, Instant /*now*/) {
  c_.stats_.dupthresh_marked += static_cast<std::uint64_t>(c_.sb_.MarkLostByDupThresh(c_.EffectiveMss()));
}

void SackRecovery::OnEnter(std::uint32_t flight) {
  prr_delivered_ = 0;
  prr_out_ = 0;
  recover_fs_ = std::max(flight, 1u);
}

void SackRecovery::OnExit(bool fast) {
  if (fast) c_.cc_->SetCwnd(c_.cc_->ssthresh());  // RFC 6937 3: cwnd = ssthresh at the end
}

// RFC 6937 3 with PRR-SSRB: cwnd = pipe + sndcnt on each ACK in recovery.
void SackRecovery::PrrOnAck(std::uint32_t delivered) {
  prr_delivered_ += delivered;
  const std::uint32_t p = c_.pipe();
  const std::uint32_t ssthresh = c_.cc_->ssthresh();
  const std::uint32_t mss = c_.EffectiveMss();
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
  c_.cc_->SetCwnd(p + static_cast<std::uint32_t>(sndcnt));
}

// RFC 8985: RACK's time-based detection instead of DupThresh, and the tail
// loss probe.
class RackRecovery final : public SackRecovery {
 public:
  using SackRecovery::SackRecovery;
  Recovery kind() const override { return Recovery::kRack; }
  void OnAck(const AckFacts& a, Instant now) override;
  void OnEnter(std::uint32_t flight) override;
  void OnDelivered(const SentSegment& s, Instant now) override { rack_.OnDelivered(s, now); }
  void OnRttSample(Duration rtt) override { rack_.OnRttSample(rtt); }
  void OnDsack(const SackBlock& b) override;
  void AfterSend(Instant now, bool new_data) override;
  void OnRto() override;
  void CancelTimers() override { tlp_at_ = rack_at_ = Instant::Never(); }
  Instant NextDeadline() const override { return std::min(tlp_at_, rack_at_); }
  void OnTimer(Instant now) override;
  const Rack* rack() const override { return &rack_; }

 private:
  void DetectLosses(const AckFacts& a, Instant now) override;
  void OnReorderTimer(Instant now);
  void OnTlpOutcome(bool dsack, Instant now);
  void ArmTlp(Instant now);
  void SendTlp(Instant now);

  Rack rack_;
  Instant rack_at_ = Instant::Never();  // the reorder timer
  Instant tlp_at_ = Instant::Never();   // the probe timeout
  bool tlp_out_ = false;                // a probe awaits its ACK ...
  bool tlp_retrans_ = false;            // ... it was a retransmission ...
  SeqNum tlp_end_;                      // ... and SND.NXT when it went
};

void RackRecovery::OnAck(const AckFacts& a, Instant now) {
  OnTlpOutcome(a.dsack, now);
  SackRecovery::OnAck(a, now);
  if (a.acked != 0 || a.delivered != 0) ArmTlp(now);
}

void RackRecovery::DetectLosses(const AckFacts& a, Instant now) {
  const int sacked_segments =
      static_cast<int>(std::min<std::size_t>(c_.sb_.sacked_records(), Scoreboard::kDupThresh));
  rack_.UpdateReoWnd(a.dsack, c_.snd_.una, c_.snd_.nxt, c_.phase_ != Phase::kOpen, a.exiting, sacked_segments,
                     c_.rtt_.srtt());
  int marked = 0;
  const Duration wait = rack_.DetectLoss(c_.sb_, now, marked);
  c_.stats_.rack_marked += static_cast<std::uint64_t>(marked);
  rack_at_ = wait > Duration() ? now + wait : Instant::Never();
}

void RackRecovery::OnEnter(std::uint32_t flight) {
  SackRecovery::OnEnter(flight);
  tlp_out_ = false;
  tlp_at_ = Instant::Never();
}

// A probe reported twice repaired nothing.
void RackRecovery::OnDsack(const SackBlock& b) {
  if (tlp_out_ && tlp_retrans_ && b.right == tlp_end_) tlp_out_ = false;
}

// RFC 8985 7.2: the probe timer starts, or restarts, after new data is sent
// (a FIN after the last data included); a repair only starts one not running.
void RackRecovery::AfterSend(Instant now, bool new_data) {
  if (new_data || tlp_at_.IsNever()) ArmTlp(now);
}

void RackRecovery::OnRto() {
  tlp_out_ = false;
  tlp_at_ = rack_at_ = Instant::Never();
}

void RackRecovery::OnTimer(Instant now) {
  if (rack_at_ <= now) OnReorderTimer(now);
  if (tlp_at_ <= now) SendTlp(now);
}

// RACK's reorder timer: what was waiting out the reordering window is lost now.
void RackRecovery::OnReorderTimer(Instant now) {
  rack_at_ = Instant::Never();
  int marked = 0;
  const Duration wait = rack_.DetectLoss(c_.sb_, now, marked);
  c_.stats_.rack_marked += static_cast<std::uint64_t>(marked);
  if (wait > Duration()) rack_at_ = now + wait;
  if (marked == 0) return;
  if (c_.phase_ == Phase::kOpen) c_.EnterRecovery(now);
  if (c_.phase_ == Phase::kFast) PrrOnAck(0);
  c_.SendData(now);
}

// RFC 8985 7.4: a tail probe's outcome. A retransmitted probe that comes
// back without a D-SACK repaired a real loss: that is congestion.
void RackRecovery::OnTlpOutcome(bool dsack, Instant now) {
  if (!tlp_out_ || !c_.snd_.una.AfterOrAt(tlp_end_)) return;
  tlp_out_ = false;
  if (tlp_retrans_ && !dsack && c_.phase_ == Phase::kOpen) {
    c_.ArmUndo();
    c_.undo_retrans_ = 1;  // the probe: a late D-SACK for it undoes this
    c_.cc_->OnCongestionEvent(c_.in_flight(), now);
    c_.cc_->SetCwnd(c_.cc_->ssthresh());
    c_.EcnOnLossReduction();
    ++c_.stats_.tlp_recoveries;
  }
}

// RFC 8985 7.2: a probe timeout of two SRTTs (plus the peer's delayed-ACK
// allowance when one segment is out), if it comes before the RTO.
void RackRecovery::ArmTlp(Instant now) {
  tlp_at_ = Instant::Never();
  if (c_.phase_ != Phase::kOpen || tlp_out_ || c_.sb_.empty()) return;
  Duration pto = c_.rtt_.has_sample() ? c_.rtt_.srtt() * 2 : Duration::Seconds(1);
  if (c_.in_flight() <= c_.EffectiveMss()) pto = pto + c_.config_.max_ack_delay;
  pto = std::max(pto, Duration::Millis(10));
  if (now + pto < c_.rto_at_) tlp_at_ = now + pto;
}

// RFC 8985 7.3: new data if the peer's window allows, else the last
// segment again; then the RTO.
void RackRecovery::SendTlp(Instant now) {
  tlp_at_ = Instant::Never();
  if (c_.phase_ != Phase::kOpen || c_.sb_.empty()) return;
  ++c_.stats_.tlp_probes;
  const SeqNum edge = c_.snd_.una + c_.snd_.wnd;
  const std::uint32_t rwnd = edge.After(c_.snd_.nxt) ? static_cast<std::uint32_t>(edge - c_.snd_.nxt) : 0;
  const std::uint32_t queued = c_.unsent();
  if (queued != 0 && rwnd >= std::min(queued, c_.SegmentRoom()) && c_.SendData(now, /*probe=*/true)) {
    tlp_retrans_ = false;
  } else {
    std::size_t i = c_.sb_.size() - 1;
    const std::uint32_t room = c_.SegmentRoom();
    if (c_.sb_.at(i).data_len() > room) {
      c_.sb_.Split(i, c_.sb_.at(i).len() - room);
      ++i;
    }
    c_.RetransmitRecord(i, now);
    tlp_retrans_ = true;
  }
  tlp_out_ = true;
  tlp_end_ = c_.snd_.nxt;
  c_.rto_at_ = now + c_.rtt_.rto();
}

std::unique_ptr<LossRecovery> MakeLossRecovery(Recovery kind, bool sack_ok, TcpConnection& c) {
  if (!sack_ok || kind == Recovery::kNewReno) return std::make_unique<NewRenoRecovery>(c);
  if (kind == Recovery::kSack) return std::make_unique<SackRecovery>(c);
  return std::make_unique<RackRecovery>(c);
}

}  // namespace ringstack::proto::tcp
