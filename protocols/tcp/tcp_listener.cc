#include "protocols/tcp/tcp_listener.h"

#include <algorithm>

namespace ringstack::proto::tcp {

std::string_view ListenReasonName(ListenReason r) {
  switch (r) {
    case ListenReason::kNone: return "none";
    case ListenReason::kSessionLimit: return "session_limit";
    case ListenReason::kBacklogFull: return "backlog_full";
    case ListenReason::kHalfOpenLimit: return "half_open_limit";
    case ListenReason::kAcceptQueueFull: return "accept_queue_full";
    case ListenReason::kCookieInvalid: return "cookie_invalid";
    case ListenReason::kRst: return "rst";
    case ListenReason::kNoSynNoAck: return "no_syn_no_ack";
    case ListenReason::kAck: return "ack";
  }
  return "unknown";
}

namespace {

ListenOutcome Drop(ListenReason why) { return ListenOutcome{.action = ListenAction::kDrop, .reason = why}; }

// RFC 9293 3.10.7.2: "<SEQ=SEG.ACK><CTL=RST>" for an ACK in LISTEN.
ListenOutcome Reset(const TcpRepr& seg, ListenReason why) {
  ListenOutcome out{.action = ListenAction::kReset, .reason = why};
  if (const auto rst = TcpConnection::ResetFor(seg)) out.reply = *rst;
  return out;
}

}  // namespace

ListenOutcome TcpListener::OnSegment(const TcpRepr& seg, const Endpoints& ends, const ListenerLoad& load,
                                     const TcpConfig& config, Instant now) {
  // RFC 9293 3.10.7.2, first: "An incoming RST segment could not be valid
  // ... ignore it."
  if (seg.rst()) return Drop(ListenReason::kRst);
  // Second: "Any acknowledgment is bad if it arrives on a connection still
  // in the LISTEN state" -- unless it returns one of our SYN cookies.
  if (seg.has_ack()) {
    if (seg.syn()) return Reset(seg, ListenReason::kAck);
    return OnAck(seg, ends, load, now);
  }
  // Third: check for a SYN.
  if (seg.syn()) return OnSyn(seg, ends, load, config, now);
  // Fourth: "Any other control or text-bearing segment (not containing SYN)
  // must have an ACK and thus would be discarded".
  return Drop(ListenReason::kNoSynNoAck);
}

ListenOutcome TcpListener::OnSyn(const TcpRepr& syn, const Endpoints& ends, const ListenerLoad& load,
                                 const TcpConfig& config, Instant now) {
  // A full session table takes no one, not even by cookie: its ACK would
  // need a session too. The peer retransmits its SYN.
  if (load.sessions >= load.session_limit) return Drop(ListenReason::kSessionLimit);
  const bool backlog_full = load.accept_queued + load.embryonic >= std::max<std::size_t>(load.backlog, 1);
  const bool half_open_full = load.half_open >= load.half_open_limit;
  if (!backlog_full && !half_open_full) {
    ListenOutcome out{.action = ListenAction::kAcceptNew};
    FastOpen(syn, ends, load, now, out);
    return out;
  }
  const ListenReason why = backlog_full ? ListenReason::kBacklogFull : ListenReason::kHalfOpenLimit;
  // RFC 4987 3.6: full, a SYN cookie keeps no state; without one the peer
  // retransmits its SYN.
  if (!syncookies_) return Drop(why);
  CookieOptions o;
  o.mss = std::min<std::uint16_t>(syn.options.mss.value_or(DefaultPeerMss(ends.remote.is_v6())), config.mss);
  o.timestamps = config.timestamps && syn.options.timestamps.has_value();
  o.window_scale = syn.options.window_scale;
  o.sack = syn.options.sack_permitted;
  const SeqNum iss = cookies_.Make(ends.local, ends.local_port, ends.remote, ends.remote_port, syn.seq, o.mss, now);
  cookie_sent_at_ = now;
  return ListenOutcome{.action = ListenAction::kSendCookie,
                       .reason = why,
                       .reply = TcpConnection::CookieSynAck(config, syn, iss, o, now)};
}

void TcpListener::FastOpen(const TcpRepr& syn, const Endpoints& ends, const ListenerLoad& load, Instant now,
                           ListenOutcome& out) const {
  if (!fastopen_ || load.fastopen_max == 0 || !syn.options.fastopen) return;
  const FastOpenCookie& c = *syn.options.fastopen;
  if (c.len != 0 && fastopen_->Check(ends.remote, c, now)) {
    if (load.fastopen_queued >= load.fastopen_max) {
      out.fastopen = FastOpenVerdict::kQueueFull;
      return;
    }
    out.fastopen = FastOpenVerdict::kAccepted;
    out.fastopen_accept.take_data = true;
    return;
  }
  out.fastopen = c.len == 0 ? FastOpenVerdict::kRequested : FastOpenVerdict::kBadCookie;
  out.fastopen_accept.cookie = fastopen_->Make(ends.remote, now);
}

// The ACK completing a cookie's handshake: a connection, straight into the
// accept queue if it has room.
ListenOutcome TcpListener::OnAck(const TcpRepr& ack, const Endpoints& ends, const ListenerLoad& load, Instant now) {
  if (!CookiesOut(now)) return Reset(ack, ListenReason::kAck);
  const auto mss = cookies_.Check(ends.local, ends.local_port, ends.remote, ends.remote_port, ack.seq, ack.ack, now);
  if (!mss) return Reset(ack, ListenReason::kCookieInvalid);
  if (load.accept_queued >= std::max<std::size_t>(load.backlog, 1)) return Drop(ListenReason::kAcceptQueueFull);
  if (load.sessions >= load.session_limit) return Drop(ListenReason::kSessionLimit);
  ListenOutcome out{.action = ListenAction::kCookieAccepted};
  out.cookie.mss = *mss;
  if (ack.options.timestamps) SynCookies::DecodeTsecr(ack.options.timestamps->tsecr, out.cookie);
  return out;
}

// Only while a cookie we sent can still come back is an ACK worth checking.
bool TcpListener::CookiesOut(Instant now) const {
  return syncookies_ && !cookie_sent_at_.IsNever() &&
         now - cookie_sent_at_ < SynCookies::kTick * SynCookies::kMaxAge;
}

bool TcpListener::SynReusesTimeWait(const TcpRepr& syn, SeqNum rcv_nxt, std::optional<std::uint32_t> ts_recent) {
  if (!syn.syn() || syn.has_ack() || syn.rst()) return false;
  // RFC 6191 2: when the old incarnation used timestamps and the SYN has
  // one, a greater TSval is newer, a smaller one older, an equal one leaves
  // it to the sequence number ...
  if (ts_recent && syn.options.timestamps) {
    const auto d = static_cast<std::int32_t>(syn.options.timestamps->tsval - *ts_recent);
    if (d != 0) return d > 0;
  }
  // ... which must lie past the old incarnation's RCV.NXT (RFC 9293 3.6.1).
  return syn.seq.After(rcv_nxt);
}

}  // namespace ringstack::proto::tcp
