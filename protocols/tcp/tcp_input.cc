// Segment arrival, RFC 9293 3.10.7, one function per step of its text.
#include <algorithm>
#include <variant>

#include "protocols/tcp/tcp_connection.h"

namespace ringstack::proto::tcp {

void TcpConnection::OnSegment(const TcpRepr& seg, Instant now, TcpOutcome& out, IpEcn ecn) {
  const Call call(*this, out);
  last_heard_ = now;
  keepalive_probes_ = 0;
  if (Is<Closed>(state_)) return;  // the owner answers segments for no connection (ResetFor)
  if (Is<SynSent>(state_)) {
    OnSegmentInSynSent(seg, now, ecn);
    return;
  }
  // A retransmission of the SYN we answered: our SYN-ACK was lost; send it again.
  if (Is<SynReceived>(state_) && seg.syn() && !seg.has_ack() && seg.seq == rcv_.irs) {
    SendSegment(SynAckFlags(), snd_.iss, 0, now, /*syn_options=*/true);
    return;
  }
  if (!CheckSequence(seg, now)) return;  // first
  if (!CheckRst(seg, now)) return;       // second (third, security, does not apply)
  if (!CheckSyn(seg, now)) return;       // fourth
  // Fifth: "if the ACK bit is off, drop the segment and return".
  if (!seg.has_ack()) {
    ++stats_.no_ack_dropped;
    return;
  }
  if (!CheckAck(seg, now)) {
    // Dropped here, but what it acknowledged may let more go (CLOSING and
    // LAST-ACK still send what a timeout rewound).
    if (Sending()) Output(now);
    return;
  }
  OnEcnMarks(seg, ecn, now);
  // Sixth, the URG bit: urgent data is delivered in line, as RFC 6093 advises.
  ProcessText(seg, now);  // seventh
  if (Is<Closed>(state_)) return;
  ProcessFin(seg, now);   // eighth
  Output(now);
}

// RFC 9293 3.10.7.3, SYN-SENT.
void TcpConnection::OnSegmentInSynSent(const TcpRepr& seg, Instant now, IpEcn ecn) {
  // First, the ACK bit: it must acknowledge our SYN and nothing past it.
  if (seg.has_ack() && (seg.ack.BeforeOrAt(snd_.iss) || seg.ack.After(snd_.nxt))) {
    if (!seg.rst()) SendRst(seg.ack, now);
    return;
  }
  const bool ack_ok = seg.has_ack();
  // Second, the RST bit (RFC 5961 3.2: only with an acceptable ACK).
  if (seg.rst()) {
    if (ack_ok) EnterClosed(TcpEvent::kRefused);
    return;
  }
  // Fourth, the SYN bit (fifth: neither SYN nor RST, drop).
  if (!seg.syn()) return;
  // RFC 3168 6.1.1: ECN is agreed by an ECN-setup SYN-ACK (ECE, not CWR) to
  // an ECN-setup SYN; a SYN-ACK with both is not one (a reflecting middlebox).
  // An AccECN SYN's answer says which of them, if any (RFC 9768 3.1.1).
  if (std::get<SynSent>(state_).accecn && ack_ok) {
    OnAccEcnSynAck(seg, ecn);
  } else {
    ecn_ok_ = std::get<SynSent>(state_).ecn && ack_ok && seg.ece() && !seg.cwr();
  }
  rcv_.irs = seg.seq;
  rcv_.nxt = seg.seq + 1;
  rcv_.adv = rcv_.nxt;
  TakeOptions(seg.options, /*syn=*/true);
  // RFC 7323 4.3: TS.Recent starts as the SYN's TSval (no comparison: the
  // peer's clock may be anywhere in the 32-bit space).
  if (ts_ok_) {
    ts_recent_ = seg.options.timestamps->tsval;
    ts_recent_at_ = now;
  }
  if (ack_ok) {
    snd_.una = seg.ack;
    // The SYN's RTT: by the echoed timestamp, or timed when the SYN was not
    // retransmitted (Karn).
    if (const Duration ts = TsSample(seg, now); ts > Duration()) {
      rtt_.OnSample(ts);
    } else if (timing_ && !ts_ok_) {
      rtt_.OnSample(now - timed_at_);
    }
    timing_ = false;
    rto_count_ = 0;
    rto_at_ = Instant::Never();
    if (fo_.active) OnFastOpenSynAck(seg);
  }
  // The window in a SYN is never scaled (RFC 7323 2.2).
  snd_.wnd = seg.window;
  snd_.max_wnd = std::max(snd_.max_wnd, snd_.wnd);
  snd_.wl1 = seg.seq;
  snd_.wl2 = seg.ack;
  if (snd_.una.After(snd_.iss)) {
    // "If SND.UNA > ISS (our SYN has been ACKed), change the connection
    // state to ESTABLISHED, form an ACK segment ... and send it."
    state_ = Established{};
    if (ecn_ok_) ++stats_.ecn_established;
    if (accecn_) ++stats_.accecn_established;
    out_->Event(TcpEvent::kEstablished);
    if (!seg.payload.empty() || seg.fin()) {
      ProcessText(seg, now);  // "continue processing at the sixth step"
      ProcessFin(seg, now);
    }
    SendAck(now);
    Output(now);
    return;
  }
  // Simultaneous open: "enter SYN-RECEIVED, form a SYN,ACK segment".
  state_ = SynReceived{};
  SendSegment(kSyn | kAck, snd_.iss, 0, now, /*syn_options=*/true);
  ArmRetransmit(now);
}

// RFC 9293 3.3 / 3.10.7.4 "first": the acceptability test, against the
// window we last advertised.
bool TcpConnection::SegmentAcceptable(const TcpRepr& seg) const {
  const std::uint32_t wnd = static_cast<std::uint32_t>(rcv_.adv - rcv_.nxt);
  const std::uint32_t len = seg.seg_len();
  if (len == 0) return wnd == 0 ? seg.seq == rcv_.nxt : seg.seq.InWindow(rcv_.nxt, wnd);
  if (wnd == 0) return false;
  return seg.seq.InWindow(rcv_.nxt, wnd) || (seg.seq + (len - 1)).InWindow(rcv_.nxt, wnd);
}

// "first, check sequence number": an unacceptable segment is answered with
// an ACK (unless it is a RST) and dropped. A zero window still takes ACKs
// and RSTs ("special allowance"), which a zero-length segment at RCV.NXT is.
bool TcpConnection::CheckSequence(const TcpRepr& seg, Instant now) {
  if (PawsReject(seg, now)) return false;
  if (SegmentAcceptable(seg)) return true;  // its timestamp is taken once its ACK passes (CheckAck)
  // Data wholly below RCV.NXT is a duplicate: report it in a D-SACK (RFC 2883 4).
  const auto len = static_cast<std::uint32_t>(seg.payload.size());
  if (sack_ok_ && len != 0 && !seg.rst() && (seg.seq + len).BeforeOrAt(rcv_.nxt) &&
      (seg.seq + len).After(rcv_.nxt - (1u << 30))) {
    dsack_ = SackBlock{seg.seq, seg.seq + len};
    dsack_pending_ = true;
  }
  // A zero window with data at RCV.NXT: its ACK and window still count.
  if (rcv_.adv == rcv_.nxt && seg.seq == rcv_.nxt && !seg.rst() && seg.has_ack() && !seg.syn()) {
    if (CheckAck(seg, now)) Output(now);
    SendAck(now);
    return false;
  }
  // TIME-WAIT: a retransmitted FIN restarts the 2 MSL wait (3.10.7.4 fifth).
  if (Is<TimeWait>(state_) && seg.fin() && !seg.rst()) EnterTimeWait(now);
  if (!seg.rst()) SendAck(now);
  return false;
}

// "second, check the RST bit" with RFC 5961 3.2: only a RST exactly at
// RCV.NXT resets; one elsewhere in the window gets a challenge ACK.
bool TcpConnection::CheckRst(const TcpRepr& seg, Instant now) {
  if (!seg.rst()) return true;
  if (seg.seq != rcv_.nxt) {
    SendChallengeAck(now);
    return false;
  }
  const TcpEvent why = std::visit(
      Overloaded{
          // Passive open: back to LISTEN, i.e. this embryo goes (the
          // listener stays); active (simultaneous) open: refused.
          [](const SynReceived& r) { return r.passive ? TcpEvent::kClosed : TcpEvent::kRefused; },
          [](const OneOf<Established, FinWait1, FinWait2, CloseWait> auto&) { return TcpEvent::kReset; },
          [](const OneOf<Closing, LastAck, TimeWait> auto&) { return TcpEvent::kClosed; },
          // Not here: OnSegment ends with these before the steps.
          [](const OneOf<Closed, SynSent> auto&) { return TcpEvent::kClosed; },
      },
      state_);
  EnterClosed(why);
  return false;
}

// "fourth, check the SYN bit": in a synchronized state a SYN, in window or
// not, gets a challenge ACK (RFC 5961 4.2); in SYN-RECEIVED from a passive
// open, the embryo goes back to LISTEN.
bool TcpConnection::CheckSyn(const TcpRepr& seg, Instant now) {
  if (!seg.syn()) return true;
  if (const auto* r = std::get_if<SynReceived>(&state_); r != nullptr && r->passive) {
    EnterClosed(TcpEvent::kClosed);
    return false;
  }
  SendChallengeAck(now);
  return false;
}

// "fifth, check the ACK field".
bool TcpConnection::CheckAck(const TcpRepr& seg, Instant now) {
  if (Is<SynReceived>(state_)) {
    if (!(snd_.una.Before(seg.ack) && seg.ack.BeforeOrAt(snd_.nxt))) {
      SendRst(seg.ack, now);  // <SEQ=SEG.ACK><CTL=RST>
      return false;
    }
    // A close while in SYN-RECEIVED queued the FIN "for processing after
    // entering ESTABLISHED" (3.10.4): it goes with what follows, from
    // FIN-WAIT-1.
    if (snd_.fin_queued) {
      state_ = FinWait1{};
    } else {
      state_ = Established{};
    }
    snd_.wnd = WindowSize::FromField(seg.window, snd_scale_).bytes();
    snd_.max_wnd = std::max(snd_.max_wnd, snd_.wnd);
    snd_.wl1 = seg.seq;
    snd_.wl2 = seg.ack;
    if (ecn_ok_) ++stats_.ecn_established;
    if (accecn_) {
      ++stats_.accecn_established;
      ReadHandshakeAck(seg);
    }
    out_->Event(TcpEvent::kEstablished);
  }
  // RFC 5961 5.2: an ACK for data not yet sent, or older than the largest
  // window the peer offered, is answered with an ACK and dropped.
  if (seg.ack.After(snd_.nxt) || seg.ack.Before(snd_.una - snd_.max_wnd)) {
    SendChallengeAck(now);
    return false;
  }
  // Only now TS.Recent: a segment dropped above (an in-window forgery with
  // a far-future TSval and a bad ACK) must not move it, or PAWS would drop
  // every later segment of the peer's (RFC 7323 4.3 and 5.3 R3 take the
  // timestamp of a segment that is processed; Linux, in tcp_ack, likewise).
  TakeTimestamp(seg);
  ProcessAckOfData(seg, now);
  if (Is<Closed>(state_)) return false;
  const bool fin_acked = snd_.fin_sent && snd_.una.After(snd_.fin_seq);
  // What the ACK of our FIN does, by state; true: go on to the text.
  return std::visit(
      Overloaded{
          [&](const FinWait1&) {
            if (fin_acked) state_ = FinWait2{};
            return true;
          },
          [&](const Closing&) {
            if (fin_acked) EnterTimeWait(now);
            return false;  // "otherwise ignore the segment"
          },
          [&](const LastAck&) {
            if (fin_acked) EnterClosed(TcpEvent::kClosed);
            return false;
          },
          [&](const TimeWait&) {
            // Only a retransmission of the peer's FIN can come: ACK it,
            // restart 2 MSL.
            if (seg.fin()) {
              SendAck(now);
              EnterTimeWait(now);
            }
            return false;
          },
          [](const OneOf<Established, FinWait2, CloseWait> auto&) { return true; },
          // Not here: SYN-SENT has its own path, SYN-RECEIVED moved on
          // above, CLOSED returned.
          [](const OneOf<Closed, SynSent, SynReceived> auto&) { return false; },
      },
      state_);
}

void TcpConnection::TakeTimestamp(const TcpRepr& seg) {
  // RFC 7323 4.3: TS.Recent follows the segment that (would have) advanced
  // the left window edge.
  if (!ts_ok_ || !seg.options.timestamps) return;
  const std::uint32_t tsval = seg.options.timestamps->tsval;
  if (static_cast<std::int32_t>(tsval - ts_recent_) >= 0 && seg.seq.BeforeOrAt(rcv_.nxt)) {
    ts_recent_ = tsval;
    ts_recent_at_ = last_heard_;
  }
}

// RFC 7323 5.3 R1 (PAWS): a segment whose TSval is older than TS.Recent is
// an old duplicate: dropped, answered with an ACK (not a RST, which carries
// no timestamp obligation). TS.Recent older than 24 days is stale (5.5) and
// the check passes. And 3.2: once timestamps are agreed, a segment without
// one (but a RST) is dropped.
bool TcpConnection::PawsReject(const TcpRepr& seg, Instant now) {
  if (!ts_ok_ || seg.rst()) return false;
  if (!seg.options.timestamps) {
    ++stats_.ts_missing_dropped;
    return true;
  }
  const std::uint32_t tsval = seg.options.timestamps->tsval;
  if (static_cast<std::int32_t>(tsval - ts_recent_) >= 0) return false;
  if (now - ts_recent_at_ > Duration::Seconds(24 * 24 * 3600)) {
    ts_recent_ = tsval;
    ts_recent_at_ = now;
    return false;
  }
  ++stats_.paws_dropped;
  SendChallengeAck(now);
  return true;
}

// RFC 5961 3.2, 4.2, 5.2: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, within the
// shared limit (7).
void TcpConnection::SendChallengeAck(Instant now) {
  if (config_.challenge_limiter != nullptr && !config_.challenge_limiter->Allow(now)) {
    ++stats_.challenge_limited;
    return;
  }
  ++stats_.challenge_acks;
  SendAck(now);
}

// RFC 7323 4.1: the RTT an echoed timestamp gives; zero for none. An echo
// within the millisecond it was sent is one millisecond (as Linux's
// tcp_rtt_tsopt_us): a sub-millisecond path still gets samples, and its
// first one sets the RTO (else the initial 1 s stands).
Duration TcpConnection::TsSample(const TcpRepr& seg, Instant now) const {
  if (!ts_ok_ || !seg.options.timestamps || seg.options.timestamps->tsecr == 0) return Duration();
  const auto ticks = static_cast<std::int32_t>(TsVal(now) - seg.options.timestamps->tsecr);
  return ticks >= 0 ? Duration::Millis(std::max(ticks, 1)) : Duration();
}

void TcpConnection::TakeOptions(const TcpOptions& o, bool syn) {
  if (!syn) return;
  // RFC 9293 3.7.1: without the option the peer takes 536 (IPv4) or 1220 (IPv6).
  const std::uint16_t default_mss = ends_.remote.is_v6() ? 1220 : 536;
  peer_mss_ = std::min<std::uint16_t>(o.mss.value_or(default_mss), config_.mss);
  UpdateSndMss();
  ws_ok_ = config_.window_scale && o.window_scale.has_value();
  if (ws_ok_) {
    snd_scale_ = WindowScale(*o.window_scale);
  } else {
    snd_scale_ = WindowScale(0);
    rcv_scale_ = WindowScale(0);
  }
  sack_ok_ = config_.sack && o.sack_permitted;
  ts_ok_ = config_.timestamps && o.timestamps.has_value();
  recovery_ = MakeLossRecovery(config_.recovery, sack_ok_, *this);
  cc_ = MakeCongestionControl(config_.congestion, EffectiveMss(), config_.hystart);
  if (!cc_) cc_ = std::make_unique<Cubic>(EffectiveMss(), config_.hystart);
}

// The rest of "fifth" for the synchronized states: SACK blocks onto the
// scoreboard, SND.UNA, the send window, RTT, then loss detection and
// recovery (the LossRecovery strategy) and congestion control.
void TcpConnection::ProcessAckOfData(const TcpRepr& seg, Instant now) {
  const std::uint32_t old_wnd = snd_.wnd;
  std::uint32_t delivered = 0;
  rs_ = PendingSample{};
  ack_rtt_ = Duration();
  const bool dsack = OnSackBlocks(seg, delivered, now);
  const bool sacked = delivered != 0;
  const std::uint32_t acked = snd_.una.Before(seg.ack) ? OnNewAck(seg, delivered, now) : 0;
  UpdateSendWindow(seg);
  // A duplicate ACK (RFC 5681 2): nothing new acknowledged, no data, no
  // SYN/FIN, the same window, data outstanding.
  const bool dup_ack = acked == 0 && seg.payload.empty() && !seg.syn() && !seg.fin() && snd_.wnd == old_wnd &&
                       in_flight() != 0;
  if (phase_ == Phase::kRto && frto_) {
    Frto(AckFacts{acked, delivered, dsack, dup_ack, false, sacked}, orig_delivered_, now);
  }
  orig_delivered_ = false;
  bool exiting = false;
  if (phase_ != Phase::kOpen && snd_.una.AfterOrAt(recover_)) {
    ExitRecovery();
    exiting = true;
  }
  recovery_->OnAck(AckFacts{acked, delivered, dsack, dup_ack, exiting, sacked}, now);
  TakeRateSample(delivered, now);
  OnEcnFeedback(seg, delivered, now);
  if (snd_.wnd != 0) {
    persist_at_ = Instant::Never();
    persist_backoff_ = 0;
  }
}

// SACK blocks (RFC 2018), the first possibly a D-SACK (RFC 2883 4): the
// bytes they newly deliver added to `delivered`; true for a D-SACK.
bool TcpConnection::OnSackBlocks(const TcpRepr& seg, std::uint32_t& delivered, Instant now) {
  if (!sack_ok_ || seg.options.sack_count == 0) return false;
  auto on_delivered = [&](const SentSegment& s) {
    recovery_->OnDelivered(s, now);
    OnRateDelivered(s, now);
    if (!s.ever_retrans && s.end.BeforeOrAt(recover_)) orig_delivered_ = true;
  };
  bool dsack = false;
  for (std::uint8_t k = 0; k < seg.options.sack_count; ++k) {
    const SackBlock& b = seg.options.sack[k];
    if (k == 0 && IsDsack(seg)) {
      dsack = true;
      OnDsack(b);
      continue;
    }
    if (recovery_->UsesSack()) delivered += sb_.OnSackBlock(b.left, b.right, on_delivered);
  }
  return dsack;
}

// SND.UNA < SEG.ACK: SND.UNA moves, the send buffer releases the bytes
// acknowledged, the RTT is sampled, the retransmission timer restarted and
// congestion control told (outside fast recovery). The bytes acknowledged.
std::uint32_t TcpConnection::OnNewAck(const TcpRepr& seg, std::uint32_t& delivered, Instant now) {
  auto on_delivered = [&](const SentSegment& s) {
    recovery_->OnDelivered(s, now);
    OnRateDelivered(s, now);
    if (!s.ever_retrans && s.end.BeforeOrAt(recover_)) orig_delivered_ = true;
  };
  const auto acked = static_cast<std::uint32_t>(seg.ack - snd_.una);
  delivered += sb_.OnAck(seg.ack, on_delivered);
  snd_.una = seg.ack;
  OnProbeAcked(now);
  // Bytes of the send buffer now acknowledged (not the SYN or FIN).
  const SeqNum data_end = snd_.buf_seq + snd_.queued;
  const SeqNum released_to = SeqNum::Min(snd_.una, data_end);
  if (snd_.buf_seq.Before(released_to)) {
    const auto n = static_cast<std::uint32_t>(released_to - snd_.buf_seq);
    snd_.buf_seq = released_to;
    snd_.queued -= n;
    out_->Release(n);
  }
  // RTT: the echoed timestamp (RFC 7323 4.1), else the timed segment (Karn).
  Duration sample = TsSample(seg, now);
  if (sample == Duration() && timing_ && timed_seq_.BeforeOrAt(snd_.una)) {
    sample = now - timed_at_;
    timing_ = false;
  }
  ack_rtt_ = sample;
  if (sample > Duration()) {
    rtt_.OnSample(sample);
    recovery_->OnRttSample(sample);
  }
  rto_count_ = 0;
  // RFC 6298 5.2/5.3: off when everything sent is acknowledged, else restarted.
  rto_at_ = snd_.una != snd_.nxt ? now + rtt_.rto() : Instant::Never();
  TrackRound(acked, now);
  if (phase_ != Phase::kFast && Validated(now)) {
    AckInfo a;
    a.acked = acked;
    a.now = now;
    a.rtt = sample;
    a.srtt = rtt_.srtt();
    a.snd_una = snd_.una;
    a.snd_nxt = snd_.nxt;
    cc_->OnAck(a);
  }
  return acked;
}

// RFC 9293 3.10.7.4 fifth: "If SND.UNA =< SEG.ACK =< SND.NXT, the send
// window should be updated. If (SND.WL1 < SEG.SEQ or (SND.WL1 = SEG.SEQ and
// SND.WL2 =< SEG.ACK)), set SND.WND <- SEG.WND, SND.WL1 <- SEG.SEQ, and
// SND.WL2 <- SEG.ACK."
void TcpConnection::UpdateSendWindow(const TcpRepr& seg) {
  if (!(snd_.una.BeforeOrAt(seg.ack) && seg.ack.BeforeOrAt(snd_.nxt))) return;
  if (snd_.wl1.Before(seg.seq) || (snd_.wl1 == seg.seq && snd_.wl2.BeforeOrAt(seg.ack))) {
    snd_.wnd = WindowSize::FromField(seg.window, snd_scale_).bytes();
    snd_.max_wnd = std::max(snd_.max_wnd, snd_.wnd);
    snd_.wl1 = seg.seq;
    snd_.wl2 = seg.ack;
  }
}

// "seventh, process the segment text" (ESTABLISHED, FIN-WAIT-1, FIN-WAIT-2):
// in-order bytes are placed and committed, later ones held for reassembly;
// what lies past the advertised window is trimmed. Out-of-order arrival, or
// a segment that fills a hole, is ACKed at once (RFC 5681 4.2), in-order
// data by the delayed-ACK rule.
void TcpConnection::ProcessText(const TcpRepr& seg, Instant now) {
  if (seg.payload.empty()) return;
  // "ESTABLISHED, FIN-WAIT-1, FIN-WAIT-2 STATE: ... deliver the segment
  // text"; in the others a FIN came before it, or none of it can.
  const bool takes_text = std::visit(
      Overloaded{
          [](const OneOf<Established, FinWait1, FinWait2> auto&) { return true; },
          [](const OneOf<Closed, SynSent, SynReceived, CloseWait, Closing, LastAck, TimeWait> auto&) {
            return false;
          },
      },
      state_);
  if (!takes_text) return;
  if (closed_by_app_) {
    // Nobody will read it: reset (RFC 9293 3.10.4 lets a closed side do so;
    // Linux does, RFC 2525 2.17).
    SendRst(snd_.nxt, now);
    EnterClosed(TcpEvent::kClosed);
    return;
  }
  // The part of [SEG.SEQ, SEG.SEQ + len) inside [RCV.NXT, RCV.NXT + RCV.WND).
  SeqNum start = seg.seq;
  Bytes data = seg.payload;
  if (start.Before(rcv_.nxt)) {
    const auto skip = static_cast<std::uint32_t>(rcv_.nxt - start);
    if (skip >= data.size()) {
      // All old: a duplicate. ACK it at once, reporting it in a D-SACK
      // (RFC 2883 4) so the sender can tell its retransmission was needless.
      dsack_ = SackBlock{seg.seq, seg.seq + static_cast<std::uint32_t>(seg.payload.size())};
      dsack_pending_ = sack_ok_;
      ScheduleAck(now, /*quick=*/true);
      return;
    }
    data = data.subspan(skip);
    start = rcv_.nxt;
  }
  const auto room = static_cast<std::uint32_t>(rcv_.adv - start);
  if (SeqNum(start).AfterOrAt(rcv_.adv)) {
    ScheduleAck(now, true);
    return;
  }
  if (data.size() > room) data = data.first(room);
  const auto offset = static_cast<std::uint32_t>(start - rcv_.nxt);
  const bool had_holes = !ooo_.empty();
  if (offset != 0) {
    // Out of order: hold it (unless the assembler is full: drop, the peer resends).
    if (ooo_.Add(rcv_.nxt, start, start + static_cast<std::uint32_t>(data.size()))) out_->Place(offset, data);
    if (seg.fin() && start + static_cast<std::uint32_t>(data.size()) == seg.seq + static_cast<std::uint32_t>(seg.payload.size())) {
      rcv_.ooo_fin = seg.seq + static_cast<std::uint32_t>(seg.payload.size());
      rcv_.has_ooo_fin = true;
    }
    ScheduleAck(now, true);
    return;
  }
  out_->Place(0, data);
  const SeqNum before = rcv_.nxt;
  rcv_.nxt = ooo_.Advance(rcv_.nxt + static_cast<std::uint32_t>(data.size()));
  const auto n = static_cast<std::uint32_t>(rcv_.nxt - before);
  rcv_.unread += n;
  out_->Commit(n);
  // RFC 5681 4.2 / RFC 1122 4.2.3.2: an ACK at least every second full
  // segment. A super-frame (a link that takes offload hands over up to 64
  // KiB) counts the full segments it carries: a lone frame of ten is
  // acknowledged at once, not when the delayed-ACK timer fires.
  unacked_segments_ += static_cast<int>(data.size() / std::max(EffectiveMss(), 1u));
  ScheduleAck(now, had_holes || unacked_segments_ >= 2);
}

// "eighth, check the FIN bit": only once every byte before it is in.
void TcpConnection::ProcessFin(const TcpRepr& seg, Instant now) {
  bool fin = seg.fin() && seg.seq + static_cast<std::uint32_t>(seg.payload.size()) == rcv_.nxt;
  if (!fin && rcv_.has_ooo_fin && rcv_.ooo_fin == rcv_.nxt) fin = true;  // held with out-of-order data
  if (!fin || rcv_.fin) {
    if (fin && Is<TimeWait>(state_)) EnterTimeWait(now);
    if (fin) SendAck(now);
    return;
  }
  rcv_.fin = true;
  rcv_.has_ooo_fin = false;
  rcv_.nxt = rcv_.nxt + 1;  // the FIN takes a sequence number
  out_->Event(TcpEvent::kPeerClosed);
  std::visit(Overloaded{
                 [&](const OneOf<SynReceived, Established> auto&) { state_ = CloseWait{}; },
                 // Our FIN not acknowledged (CheckAck moved us to FIN-WAIT-2
                 // if it was).
                 [&](const FinWait1&) { state_ = Closing{}; },
                 [&](const FinWait2&) { EnterTimeWait(now); },
                 // The peer's FIN is in already (or none can come).
                 [](const OneOf<Closed, SynSent, CloseWait, Closing, LastAck, TimeWait> auto&) {},
             },
             state_);
  SendAck(now);
}

}  // namespace ringstack::proto::tcp
