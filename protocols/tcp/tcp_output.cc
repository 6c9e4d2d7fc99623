// Opening, output, timers and application calls (RFC 9293 3.10.1-3.10.5,
// 3.8; RFC 6298; RFC 1122 4.2.3).
#include <algorithm>
#include <variant>

#include "protocols/tcp/tcp_connection.h"

namespace ringstack::proto::tcp {

namespace {
// RFC 7323 2.3: the smallest shift that lets the window field cover `buf`.
WindowScale ScaleFor(std::uint32_t buf) {
  std::uint8_t s = 0;
  while (s < WindowScale::kMax && (buf >> s) > 0xffffu) ++s;
  return WindowScale(s);
}
}  // namespace

TcpConnection::TcpConnection(const TcpConfig& config, const Endpoints& ends, SeqNum iss, Instant now)
    : config_(config),
      ends_(ends),
      state_(Closed{}),
      cc_(std::make_unique<Cubic>(536, config.hystart)),
      rtt_(config.rto),
      snd_{.iss = iss, .una = iss, .nxt = iss, .buf_seq = iss + 1, .pushed = iss + 1},
      rcv_scale_(config.window_scale ? ScaleFor(config.rcv_buf) : WindowScale(0)),
      ts_offset_(static_cast<std::int64_t>(iss.value())),  // RFC 7323 5.4: a per-connection offset
      recovery_(MakeLossRecovery(config.recovery, /*sack_ok=*/false, *this)),
      recover_(iss),
      round_end_(iss),
      ts_recent_at_(now),
      last_heard_(now) {
  // The path's MTU as known at open bounds the segments from the first.
  const std::uint32_t link_mss = config.mss;
  const std::uint32_t path = config.path_mtu > HeaderOverhead() ? config.path_mtu - HeaderOverhead() : link_mss;
  path_mss_ = static_cast<std::uint16_t>(std::clamp<std::uint32_t>(std::min(path, link_mss), 64, 65495));
}

std::unique_ptr<TcpConnection> TcpConnection::Connect(const TcpConfig& config, const Endpoints& ends, SeqNum iss,
                                                      Instant now, TcpOutcome& out,
                                                      const FastOpenConnect* fastopen) {
  std::unique_ptr<TcpConnection> c(new TcpConnection(config, ends, iss, now));
  const Call call(*c, out);
  c->state_ = SynSent{.ecn = config.ecn == EcnMode::kOn || config.ecn == EcnMode::kAccEcn,
                      .accecn = config.ecn == EcnMode::kAccEcn};
  if (fastopen != nullptr) c->StartFastOpen(*fastopen);
  c->SendSyn(c->SynFlags(), now);
  return c;
}

// Our SYN (or SYN-ACK) at ISS, timed for the first RTT sample, under the
// retransmission timer. A Fast Open SYN carries data after it.
void TcpConnection::SendSyn(std::uint8_t flags, Instant now) {
  const std::uint32_t data = (flags & kAck) == 0 && !fo_.syn_resent ? fo_.syn_data : 0;
  SendSegment(flags, snd_.iss, data, now, /*syn_options=*/true);
  snd_.nxt = snd_.iss + 1 + data;
  timing_ = true;
  timed_seq_ = snd_.iss + 1;
  timed_at_ = now;
  ArmRetransmit(now);
}

std::unique_ptr<TcpConnection> TcpConnection::Accept(const TcpConfig& config, const Endpoints& ends,
                                                     const TcpRepr& syn, SeqNum iss, Instant now, TcpOutcome& out,
                                                     const FastOpenAccept& fastopen, IpEcn syn_ecn) {
  std::unique_ptr<TcpConnection> c(new TcpConnection(config, ends, iss, now));
  const Call call(*c, out);
  c->rcv_.irs = syn.seq;
  c->rcv_.nxt = syn.seq + 1;
  c->rcv_.adv = c->rcv_.nxt;
  c->TakeOptions(syn.options, /*syn=*/true);
  if (c->ts_ok_) {
    c->ts_recent_ = syn.options.timestamps->tsval;
    c->ts_recent_at_ = now;
  }
  c->snd_.wnd = syn.window;  // unscaled in a SYN
  c->snd_.max_wnd = c->snd_.wnd;
  c->snd_.wl1 = syn.seq;
  c->snd_.wl2 = iss;
  // RFC 3168 6.1.1: an ECN-setup SYN (ECE and CWR) from a peer we answer;
  // RFC 9768 3.1.2: any other ACE but none asks for AccECN.
  if (config.ecn == EcnMode::kAccEcn && accecn::SynAsksAccEcn(syn.ace())) {
    c->AcceptAccEcn(syn_ecn);
  } else {
    c->ecn_ok_ = config.ecn != EcnMode::kOff && syn.ece() && syn.cwr();
  }
  c->state_ = SynReceived{.passive = true};
  c->fo_.cookie = fastopen.cookie;
  if (fastopen.take_data) c->TakeSynData(syn);
  c->SendSyn(c->SynAckFlags(), now);
  return c;
}

TcpRepr TcpConnection::CookieSynAck(const TcpConfig& config, const TcpRepr& syn, SeqNum cookie,
                                    const CookieOptions& o, Instant now) {
  TcpRepr h;
  h.src_port = syn.dst_port;
  h.dst_port = syn.src_port;
  h.seq = cookie;
  h.ack = syn.seq + 1;
  h.flags = kSyn | kAck;
  h.window = static_cast<std::uint16_t>(std::min<std::uint32_t>(config.rcv_buf, 0xffff));
  h.options.mss = config.mss;
  if (o.timestamps) {
    // The connection's timestamp clock starts from its ISS (RFC 7323 5.4),
    // so this TSval is what it would send now, its low bits the options.
    const auto tsval = static_cast<std::uint32_t>(now.nanos() / 1'000'000 + cookie.value());
    h.options.timestamps = Timestamps{SynCookies::EncodeTsval(tsval, o), syn.options.timestamps->tsval};
    if (config.window_scale && o.window_scale) h.options.window_scale = ScaleFor(config.rcv_buf).shift();
    h.options.sack_permitted = config.sack && o.sack;
  }
  return h;
}

std::unique_ptr<TcpConnection> TcpConnection::FromCookie(const TcpConfig& config, const Endpoints& ends,
                                                         const TcpRepr& ack, const CookieOptions& o, Instant now,
                                                         TcpOutcome& out) {
  const SeqNum iss = ack.ack - 1;
  std::unique_ptr<TcpConnection> c(new TcpConnection(config, ends, iss, now));
  const Call call(*c, out);
  c->rcv_.irs = ack.seq - 1;
  c->rcv_.nxt = ack.seq;
  c->rcv_.adv = c->rcv_.nxt + std::min<std::uint32_t>(config.rcv_buf, 0xffff);
  TcpOptions syn;
  syn.mss = o.mss;
  if (o.timestamps) {
    syn.window_scale = o.window_scale;
    syn.sack_permitted = o.sack;
    if (ack.options.timestamps) syn.timestamps = ack.options.timestamps;
  }
  c->TakeOptions(syn, /*syn=*/true);
  if (c->ts_ok_) c->ts_recent_ = ack.options.timestamps->tsval;
  c->snd_.una = c->snd_.nxt = iss + 1;
  c->snd_.wnd = WindowSize::FromField(ack.window, c->snd_scale_).bytes();
  c->snd_.max_wnd = c->snd_.wnd;
  c->snd_.wl1 = ack.seq;
  c->snd_.wl2 = ack.ack;
  c->state_ = Established{};
  out.Event(TcpEvent::kEstablished);
  if (!ack.payload.empty() || ack.fin()) c->OnSegment(ack, now, out);
  return c;
}

std::optional<TcpRepr> TcpConnection::ResetFor(const TcpRepr& seg) {
  // RFC 9293 3.10.7.1: "An incoming segment containing a RST is discarded.
  // An incoming segment not containing a RST causes a RST to be sent".
  if (seg.rst()) return std::nullopt;
  TcpRepr r;
  r.src_port = seg.dst_port;
  r.dst_port = seg.src_port;
  if (seg.has_ack()) {
    r.seq = seg.ack;  // <SEQ=SEG.ACK><CTL=RST>
    r.flags = kRst;
  } else {
    r.ack = seg.seq + seg.seg_len();  // <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>
    r.flags = kRst | kAck;
  }
  return r;
}

std::uint32_t TcpConnection::TsVal(Instant now) const {
  return static_cast<std::uint32_t>(now.nanos() / 1'000'000 + ts_offset_);
}

std::uint32_t TcpConnection::rcv_wnd() const {
  return rcv_.adv.After(rcv_.nxt) ? static_cast<std::uint32_t>(rcv_.adv - rcv_.nxt) : 0;
}

std::uint32_t TcpConnection::SegmentRoom() const {
  TcpOptions o;
  if (ts_ok_) o.timestamps = Timestamps{};
  o.sack_count = SackOptions(o.sack);
  if (AccEcnOptionDue(1)) o.accecn = accecn::MakeOption(accecn_->rcvd, o.AccEcnRoom());
  const std::uint32_t options = static_cast<std::uint32_t>(o.EmitLen());
  return snd_mss_ > options + 64 ? snd_mss_ - options : 64;
}

std::uint8_t TcpConnection::SackOptions(std::span<SackBlock, TcpOptions::kMaxSackBlocks> out) const {
  if (!sack_ok_) return 0;
  std::size_t n = 0;
  if (dsack_pending_) out[n++] = dsack_;  // RFC 2883 4: the D-SACK goes first
  n += ooo_.SackBlocks(std::span<SackBlock>(out).subspan(n));
  return static_cast<std::uint8_t>(n);
}

std::uint32_t TcpConnection::unsent() const {
  const SeqNum data_end = snd_.buf_seq + snd_.queued;
  return snd_.nxt.Before(data_end) ? static_cast<std::uint32_t>(data_end - snd_.nxt) : 0;
}

std::uint32_t TcpConnection::in_flight() const { return static_cast<std::uint32_t>(snd_.nxt - snd_.una); }


// RFC 9293 3.8.6.2.2, receiver SWS avoidance: the right edge moves only by
// at least min(RCV.BUFF / 2, Eff.snd.MSS), and never to the left.
std::uint16_t TcpConnection::AdvertisedWindowField() {
  if (rcv_.adv.Before(rcv_.nxt)) rcv_.adv = rcv_.nxt;  // a FIN past a full window
  const std::uint32_t cap = 0xffffu << rcv_scale_.shift();
  const std::uint32_t free = std::min(config_.rcv_buf > rcv_.unread ? config_.rcv_buf - rcv_.unread : 0, cap);
  const std::uint32_t wnd = rcv_wnd();
  if (free > wnd && free - wnd >= std::min(config_.rcv_buf / 2, EffectiveMss())) rcv_.adv = rcv_.nxt + free;
  return WindowSize(rcv_wnd()).ToField(rcv_scale_);
}

void TcpConnection::SendSegment(std::uint8_t flags, SeqNum seq, std::uint32_t len, Instant now, bool syn_options,
                                IpEcn ecn) {
  TcpRepr h;
  h.src_port = ends_.local_port;
  h.dst_port = ends_.remote_port;
  h.seq = seq;
  // RFC 3168 6.1.3: every ACK but a SYN-ACK echoes a CE mark until CWR.
  if (ece_pending_ && (flags & kAck) && !(flags & kSyn)) flags |= kEce;
  h.flags = flags;
  if (flags & kAck) h.ack = rcv_.nxt;
  if (syn_options) {
    // The window in a SYN is never scaled (RFC 7323 2.2).
    const std::uint32_t free = std::min<std::uint32_t>(config_.rcv_buf - std::min(rcv_.unread, config_.rcv_buf), 0xffff);
    h.window = static_cast<std::uint16_t>(free);
    if (flags & kAck) rcv_.adv = SeqNum::Max(rcv_.adv, rcv_.nxt + free);
    const bool active = (flags & kAck) == 0;  // our SYN offers; a SYN-ACK answers
    h.options.mss = config_.mss;
    if (config_.window_scale && (active || ws_ok_)) h.options.window_scale = rcv_scale_.shift();
    h.options.sack_permitted = config_.sack && (active || sack_ok_);
    if (config_.timestamps && (active || ts_ok_)) h.options.timestamps = Timestamps{TsVal(now), ts_recent_};
    FastOpenSynOptions(h, flags);
  } else {
    h.window = AdvertisedWindowField();
    if (ts_ok_) h.options.timestamps = Timestamps{TsVal(now), ts_recent_};
    h.options.sack_count = SackOptions(h.options.sack);
  }
  if (ecn_ok_ || (flags & kSyn)) AccEcnHeader(h, len);
  if (flags & kAck) {
    ack_at_ = Instant::Never();  // this one carries the ACK
    unacked_segments_ = 0;
    dsack_pending_ = false;
  }
  // A SYN's data (Fast Open) follows the SYN's own sequence number.
  const SeqNum first = (flags & kSyn) != 0 ? seq + 1 : seq;
  const std::uint32_t offset = len != 0 ? static_cast<std::uint32_t>(first - snd_.buf_seq) : 0;
  if (len != 0) Paced(len, now);
  out_->Transmit(h, offset, len, ecn);
}

void TcpConnection::SendRst(SeqNum seq, Instant /*now*/) {
  TcpRepr h;
  h.src_port = ends_.local_port;
  h.dst_port = ends_.remote_port;
  h.seq = seq;
  h.flags = kRst;
  out_->Transmit(h, 0, 0);
}

void TcpConnection::ScheduleAck(Instant now, bool quick) {
  // RFC 1122 4.2.3.2 / RFC 5681 4.2: at least every second full segment,
  // at most `delayed_ack` late; at once for out-of-order data.
  if (quick) {
    ack_at_ = now;
  } else if (ack_at_.IsNever()) {
    ack_at_ = now + config_.delayed_ack;
  }
}

void TcpConnection::ArmRetransmit(Instant now) {
  if (rto_at_.IsNever()) rto_at_ = now + rtt_.rto();
}

void TcpConnection::Output(Instant now) {
  if (Sending()) SendData(now);
  if (ack_at_ <= now) SendAck(now);
}

// What may go now (RFC 6675 4 NextSeg): first what is deemed lost, then
// new data by the peer's window, cwnd less pipe, Nagle and sender SWS
// avoidance (RFC 9293 3.8.6.2.1, RFC 1122 4.2.3.4): a full segment; or all
// that is queued when nothing is in flight (or TCP_NODELAY); or at least half
// the largest window the peer offered. The FIN rides on the last segment.
// In NewReno's fast recovery the hole goes at once and new data by cwnd less
// the flight (RFC 6582, cwnd inflated).
bool TcpConnection::SendData(Instant now, bool probe) {
  bool sent = false;
  bool new_data = false;
  CheckNonValidated(now);
  const bool classic = recovery_->WindowInflated();
  pace_wait_ = false;
  for (;;) {
    if (!probe && PacingHolds(now)) break;
    const std::uint32_t cwnd = cc_->cwnd() + recovery_->LimitedTransmitWindow();
    const std::uint32_t out = classic ? in_flight() : pipe();
    std::uint32_t budget = cwnd > out ? cwnd - out : 0;
    if (!probe) {
      // F-RTO's new data goes in place of the records deemed lost.
      const std::size_t lost = frto_new_ || FrtoHolding() ? Scoreboard::kNone : sb_.FirstLostToSend();
      if (lost != Scoreboard::kNone) {
        const std::uint32_t need = std::min(sb_.at(lost).len(), SegmentRoom());
        if (!classic && budget < need) {
          limited_at_ = now;
          break;
        }
        RetransmitRecord(lost, now);
        sent = true;
        continue;
      }
    } else {
      budget = 0xffffffffu;  // RFC 8985 7.3: the probe goes past cwnd
    }
    const std::uint32_t queued = unsent();
    const SeqNum edge = snd_.una + snd_.wnd;
    const std::uint32_t rwnd = edge.After(snd_.nxt) ? static_cast<std::uint32_t>(edge - snd_.nxt) : 0;
    const std::uint32_t usable = std::min(rwnd, budget);
    if (!probe && config_.mtu_probing == MtuProbing::kOn && SendProbe(queued, usable, now)) {
      sent = new_data = true;
      continue;
    }
    const std::uint32_t room = SegmentRoom();
    const std::uint32_t len = std::min({queued, usable, room});
    const bool fin_now = snd_.fin_queued && !snd_.fin_sent && len == queued;
    if (queued != 0 && budget < std::min(queued, room) && budget < rwnd) limited_at_ = now;
    if (len == 0 && !fin_now) break;
    if (len < room && !fin_now && !force_send_ && !probe) {
      const bool all = len == queued && (config_.nodelay || in_flight() == 0);
      const bool half = snd_.max_wnd != 0 && len >= snd_.max_wnd / 2;
      if (!all && !half) break;
    }
    const auto flags = static_cast<std::uint8_t>(PushFlags(len, queued, usable, room, probe) | (fin_now ? kFin : 0));
    SendNewData(flags, len, fin_now, now);
    sent = new_data = true;
    force_send_ = false;
    if (fin_now || probe) break;
  }
  // Data waiting and nothing in flight to bring an ACK: a zero window
  // (3.8.6.1: probe it) or one too small for SWS avoidance (3.8.6.2.1: the
  // override timeout sends what fits). Either way a timer, so a lost window
  // update cannot stall the connection.
  if (unsent() != 0 && in_flight() == 0 && persist_at_.IsNever()) {
    persist_at_ = now + std::max(rtt_.rto(), Duration::Millis(200));
  }
  // The sender is using its window when at least half of cwnd is out
  // (RFC 7661's validated threshold, on the flight itself).
  if (pipe() * 2 >= cc_->cwnd()) limited_at_ = now;
  MarkAppLimited();
  if (sent && !probe) recovery_->AfterSend(now, new_data);  // a probe waits for its ACK or the RTO
  return sent;
}

// The flags of a new data segment of `len` bytes: ACK, and PSH on the last
// byte queued, at least every half window (as Linux), and on the last
// segment the windows let out now while they are small (recovering, or
// cwnd under 4 segments): a receiver that delays the ACK of a lone segment
// (Linux: 40 ms) ACKs a pushed one once its application has read it, so a
// sender short of window does not stall on the delayed ACK. (On every burst
// it would cost a fifth of lossless throughput in ACKs.)
std::uint8_t TcpConnection::PushFlags(std::uint32_t len, std::uint32_t queued, std::uint32_t usable,
                                      std::uint32_t room, bool probe) {
  if (len == 0) return kAck;
  const bool small = phase_ != Phase::kOpen || cc_->cwnd() < 4 * EffectiveMss();
  const bool last_now = small && (usable - len) < std::min(queued - len, room);
  const bool half_window =
      snd_.max_wnd != 0 && (snd_.nxt + len) - snd_.pushed >= static_cast<std::int32_t>(snd_.max_wnd / 2);
  if (len != queued && !last_now && !half_window && !probe) return kAck;
  snd_.pushed = snd_.nxt + len;
  return kAck | kPsh;
}

// `len` new bytes (and the FIN) from SND.NXT, which moves past them; timed
// for the RTT without timestamps (RFC 6298), on the scoreboard, under the
// retransmission timer.
void TcpConnection::SendNewData(std::uint8_t flags, std::uint32_t len, bool fin_now, Instant now) {
  if (!timing_ && !ts_ok_ && len != 0) {
    timing_ = true;
    timed_seq_ = snd_.nxt + len;
    timed_at_ = now;
  }
  // RFC 3168 6.1.2 and 6.1.5: new data is ECN-capable; the first after a
  // reduction says so with CWR.
  IpEcn ecn = IpEcn::kNotEct;
  if (ecn_ok_ && len != 0 && !accecn_no_ect()) {
    ecn = IpEcn::kEct0;
    if (cwr_pending_) {
      flags |= kCwr;
      cwr_pending_ = false;
      ecn_recover_ = snd_.nxt + len;  // ECEs count again once this is acknowledged
    }
  }
  const RateMark mark = MarkForSend(now);
  SendSegment(flags, snd_.nxt, len, now, /*syn_options=*/false, ecn);
  const SeqNum start = snd_.nxt;
  snd_.nxt += len;
  if (fin_now) {
    snd_.fin_sent = true;
    snd_.fin_seq = snd_.nxt;
    snd_.nxt += 1;
  }
  sb_.OnSend(start, snd_.nxt, fin_now, now, mark);
  recovery_->OnSent(static_cast<std::uint32_t>(snd_.nxt - start));
  ArmRetransmit(now);
}

void TcpConnection::Retransmit(Instant now) {
  if (auto* s = std::get_if<SynSent>(&state_)) {
    if (++s->retries > config_.syn_retries) {
      EnterClosed(TcpEvent::kTimedOut);
      return;
    }
    rtt_.Backoff();
    timing_ = false;  // Karn
    s->ecn = false;
    s->accecn = false;
    if (fo_.active) OnFastOpenSynTimeout();
    SendSegment(SynFlags(), snd_.iss, 0, now, true);
    ++stats_.retransmits;
    rto_at_ = now + rtt_.rto();
    return;
  }
  if (auto* s = std::get_if<SynReceived>(&state_)) {
    if (++s->retries > config_.syn_retries) {
      EnterClosed(s->passive ? TcpEvent::kClosed : TcpEvent::kTimedOut);
      return;
    }
    rtt_.Backoff();
    timing_ = false;
    SendSegment(SynAckFlags(), snd_.iss, 0, now, true);
    ++stats_.retransmits;
    rto_at_ = now + rtt_.rto();
    return;
  }
  if (sb_.empty()) return;  // nothing outstanding
  if (++rto_count_ > config_.data_retries) {
    EnterClosed(TcpEvent::kTimedOut);
    return;
  }
  // RFC 6298 5.4-5.6 and RFC 5681 3.1: back off, cwnd to one segment;
  // everything outstanding is deemed lost (RFC 6675 5.1, RFC 8985 6.3) and
  // goes again, oldest first, as slow start lets it.
  ++stats_.timeouts;
  const bool first = phase_ != Phase::kRto;
  if (first) ArmUndo();
  cc_->OnRetransmitTimeout(in_flight(), now, first);
  EcnOnLossReduction();
  phase_ = Phase::kRto;
  recover_ = snd_.nxt;
  timing_ = false;
  FailProbe(now);
  DetectBlackhole(now);
  // RFC 5682 3.1 step 1: SND.UNA goes again; the ACKs that follow tell
  // whether the timeout was spurious (for recurring timeouts too, as
  // Linux). With SACK only: without it the duplicate ACKs that new data
  // brings take nothing out of the pipe, so the records it displaced
  // would wait for the next timeout (measured: 10% loss, NewReno, 2 MB in
  // 84 s with F-RTO against 38 s without).
  frto_ = config_.frto && recovery_->UsesSack();
  recovery_->OnRto();
  rtt_.Backoff();
  sb_.MarkAllLost();
  SendData(now);
  rto_at_ = now + rtt_.rto();
}

void TcpConnection::OnTimer(Instant now, TcpOutcome& out) {
  const Call call(*this, out);
  if (const auto* t = std::get_if<TimeWait>(&state_)) {
    if (t->until <= now) EnterClosed(TcpEvent::kClosed);
    return;
  }
  if (Is<Closed>(state_)) return;
  if (rto_at_ <= now) {
    rto_at_ = Instant::Never();
    Retransmit(now);
    if (Is<Closed>(state_)) return;
  }
  if (recovery_->NextDeadline() <= now) recovery_->OnTimer(now);
  if (persist_at_ <= now) {
    persist_at_ = Instant::Never();
    if (snd_.wnd > in_flight() && unsent() != 0) {
      // The SWS override: send what the window takes, small or not.
      force_send_ = true;
      SendData(now);
      force_send_ = false;
    } else if (unsent() != 0) {
      // A zero-window probe: an old sequence number, which the peer answers
      // with an ACK carrying its current window (as Linux probes).
      SendSegment(kAck, snd_.una - 1, 0, now);
      persist_backoff_ = std::min(persist_backoff_ + 1, 10);
      const Duration wait = std::min(rtt_.rto() * (std::int64_t{1} << persist_backoff_), Duration::Seconds(60));
      persist_at_ = now + wait;
    }
  }
  if (KeepaliveDue() <= now) {
    if (keepalive_probes_ >= config_.keepalive_count) {
      EnterClosed(TcpEvent::kTimedOut);
      return;
    }
    ++keepalive_probes_;
    SendSegment(kAck, snd_.una - 1, 0, now);  // <SEQ=SND.UNA-1><ACK=RCV.NXT>, RFC 1122 4.2.3.6
  }
  if (pace_wait_ && pace_at_ <= now) Output(now);  // the pacing gap ended
  if (ack_at_ <= now) SendAck(now);
}

Instant TcpConnection::KeepaliveDue() const {
  // RFC 1122 4.2.3.6: probing an idle connection the application may
  // still send on.
  const bool idle_probed = std::visit(
      Overloaded{
          [](const OneOf<Established, CloseWait> auto&) { return true; },
          [](const OneOf<Closed, SynSent, SynReceived, FinWait1, FinWait2, Closing, LastAck, TimeWait> auto&) {
            return false;
          },
      },
      state_);
  if (!config_.keepalive || !idle_probed) return Instant::Never();
  return last_heard_ + config_.keepalive_idle + config_.keepalive_interval * keepalive_probes_;
}

Instant TcpConnection::NextDeadline() const {
  if (const auto* t = std::get_if<TimeWait>(&state_)) return t->until;
  if (Is<Closed>(state_)) return Instant::Never();
  return std::min({rto_at_, ack_at_, persist_at_, KeepaliveDue(), recovery_->NextDeadline(),
                   pace_wait_ ? pace_at_ : Instant::Never()});
}

void TcpConnection::EnterTimeWait(Instant now) {
  state_ = TimeWait{now + config_.msl * 2};
  rto_at_ = persist_at_ = ack_at_ = Instant::Never();
  recovery_->CancelTimers();
}

void TcpConnection::EnterClosed(TcpEvent why) {
  state_ = Closed{};
  rto_at_ = persist_at_ = ack_at_ = Instant::Never();
  recovery_->CancelTimers();
  if (why != TcpEvent::kClosed) out_->Event(why);
  out_->Event(TcpEvent::kClosed);
}

void TcpConnection::OnAppSend(std::uint32_t n, Instant now, TcpOutcome& out) {
  const Call call(*this, out);
  snd_.queued += n;
  if (synchronized()) Output(now);
}

void TcpConnection::OnAppRead(std::uint32_t n, Instant now, TcpOutcome& out) {
  const Call call(*this, out);
  rcv_.unread -= std::min(n, rcv_.unread);
  if (!synchronized() || rcv_.fin) return;
  // A window update once the right edge can move by the SWS threshold and
  // the window offered would at least double (as Linux's tcp_cleanup_rbuf):
  // while the peer still has half the buffer to send into, the ACKs its
  // data brings carry the new edge anyway, and an update per read would
  // double the ACKs of a bulk transfer.
  const std::uint32_t free = config_.rcv_buf > rcv_.unread ? config_.rcv_buf - rcv_.unread : 0;
  const std::uint32_t wnd = rcv_wnd();
  if (free > wnd && free - wnd >= std::min(config_.rcv_buf / 2, EffectiveMss()) && free >= 2 * wnd) SendAck(now);
}

void TcpConnection::Shutdown(Instant now, TcpOutcome& out) {
  const Call call(*this, out);
  // RFC 9293 3.10.4 CLOSE.
  if (Is<SynSent>(state_)) {
    EnterClosed(TcpEvent::kClosed);
    return;
  }
  if (snd_.fin_queued) return;
  std::visit(Overloaded{
                 // "queue for processing after entering ESTABLISHED" (CheckAck).
                 [&](const SynReceived&) { snd_.fin_queued = true; },
                 [&](const Established&) {
                   snd_.fin_queued = true;
                   state_ = FinWait1{};
                 },
                 [&](const CloseWait&) {
                   snd_.fin_queued = true;
                   state_ = LastAck{};
                 },
                 // Closed or closing already (SYN-SENT ended above).
                 [](const OneOf<Closed, SynSent, FinWait1, FinWait2, Closing, LastAck, TimeWait> auto&) {},
             },
             state_);
  Output(now);
}

void TcpConnection::Close(Instant now, TcpOutcome& out) {
  const Call call(*this, out);
  closed_by_app_ = true;
  // Received data nobody will read: reset, so the peer knows (RFC 2525 2.17).
  if (rcv_.unread != 0) {
    Abort(now, out);
    return;
  }
  Shutdown(now, out);
}

bool TcpConnection::SetCongestion(std::string_view name) {
  auto next = MakeCongestionControl(name, EffectiveMss(), config_.hystart);
  if (!next) return false;
  next->AdoptWindow(*cc_);
  cc_ = std::move(next);
  config_.congestion = cc_->name();
  return true;
}

void TcpConnection::Abort(Instant now, TcpOutcome& out) {
  const Call call(*this, out);
  // RFC 9293 3.10.5: <SEQ=SND.NXT><CTL=RST> when synchronized.
  if (Sending()) SendRst(snd_.nxt, now);
  if (!Is<Closed>(state_)) EnterClosed(TcpEvent::kClosed);
}

void TcpConnection::AbortQuietly(TcpOutcome& out) {
  const Call call(*this, out);
  if (!Is<Closed>(state_)) EnterClosed(TcpEvent::kAborted);
}

bool TcpConnection::synchronized() const {
  return std::visit(
      Overloaded{
          [](const OneOf<Closed, SynSent, SynReceived> auto&) { return false; },
          [](const OneOf<Established, FinWait1, FinWait2, CloseWait, Closing, LastAck, TimeWait> auto&) {
            return true;
          },
      },
      state_);
}

bool TcpConnection::Sending() const {
  return synchronized() && !Is<TimeWait>(state_);
}

std::string_view TcpConnection::StateName() const {
  static constexpr std::string_view kNames[] = {"CLOSED",     "SYN-SENT",   "SYN-RECEIVED", "ESTABLISHED",
                                                "FIN-WAIT-1", "FIN-WAIT-2", "CLOSE-WAIT",   "CLOSING",
                                                "LAST-ACK",   "TIME-WAIT"};
  return kNames[state_.index()];
}

}  // namespace ringstack::proto::tcp
