// TCP Fast Open (RFC 7413) in the connection: the SYN's option and data on
// an active open, the SYN's data taken on a passive one. The cookies, the
// cache and the listener's decision are the owner's (tcp_fastopen.h,
// tcp_listener.h).
#include <algorithm>

#include "protocols/tcp/tcp_connection.h"

namespace ringstack::proto::tcp {

namespace {
// The room a SYN leaves for data: the server's MSS less the most options
// a SYN may carry (as Linux sizes it), so the SYN is never fragmented.
constexpr std::uint32_t kSynOptionRoom = kMaxOptionsLen;
}  // namespace

void TcpConnection::StartFastOpen(const FastOpenConnect& fo) {
  fo_.active = true;
  fo_.cookie = fo.cookie;
  snd_.queued = fo.queued;
  if (!fo.cookie) return;  // our SYN asks for a cookie; the data waits for the handshake
  // RFC 7413 4.2.1: as much data as the server's MSS allows, which the
  // cache remembers with the cookie (RFC 9293 3.7.1's default without).
  const std::uint32_t peer = fo.mss != 0 ? fo.mss : (ends_.local.is_v6() ? 1220u : 536u);
  const std::uint32_t mss = std::min<std::uint32_t>(peer, path_mss_);
  fo_.syn_data = std::min(fo.queued, mss > kSynOptionRoom ? mss - kSynOptionRoom : 0u);
}

void TcpConnection::FastOpenSynOptions(TcpRepr& h, std::uint8_t flags) const {
  if ((flags & kAck) != 0) {
    // Our SYN-ACK: the cookie the listener made for a request or a bad one.
    if (!fo_.active && fo_.cookie) h.options.fastopen = fo_.cookie;
    return;
  }
  // RFC 7413 4.2.1: the cookie, or an empty option asking for one; a SYN
  // sent again goes plain (a path that drops options or data still opens).
  if (fo_.active && !fo_.syn_resent) h.options.fastopen = fo_.cookie.value_or(FastOpenCookie{});
}

void TcpConnection::TakeSynData(const TcpRepr& syn) {
  fo_.passive = true;
  const auto len = static_cast<std::uint32_t>(std::min<std::size_t>(syn.payload.size(), config_.rcv_buf));
  if (len == 0) return;
  out_->Place(0, syn.payload.first(len));
  out_->Commit(len);
  rcv_.nxt += len;
  rcv_.adv = rcv_.nxt;
  rcv_.unread += len;
}

void TcpConnection::OnFastOpenSynAck(const TcpRepr& seg) {
  if (seg.options.fastopen && seg.options.fastopen->len != 0) fo_.received = seg.options.fastopen;
  if (fo_.syn_data == 0) return;
  // What the SYN-ACK acknowledged of our SYN's data is done; the rest is
  // unsent again and goes after the handshake as any new data (4.2.2).
  const auto acked = std::min(static_cast<std::uint32_t>(seg.ack - (snd_.iss + 1)), fo_.syn_data);
  if (acked != 0) {
    snd_.buf_seq += acked;
    snd_.queued -= acked;
    snd_.pushed = SeqNum::Max(snd_.pushed, snd_.buf_seq);
    out_->Release(acked);
  }
  snd_.nxt = snd_.iss + 1 + acked;
  fo_.data_acked = acked == fo_.syn_data;
  ++(fo_.data_acked ? stats_.fastopen_active : stats_.fastopen_active_fail);
}

// A Fast Open SYN too large for the path (RFC 1191 / 8201 report about it):
// the path's size is taken and the SYN goes again at once, plain, so the
// open does not wait for a timeout; the data follows the handshake.
PmtuVerdict TcpConnection::FastOpenSynTooBig(std::uint32_t mtu, Instant now) {
  const std::uint32_t mss = mtu > HeaderOverhead() + 64 ? mtu - HeaderOverhead() : 64;
  if (mss < path_mss_) path_mss_ = static_cast<std::uint16_t>(mss);
  ResendSynPlain(now);
  ++stats_.pmtu_lowered;
  return PmtuVerdict::kLowered;
}

bool TcpConnection::OnFastOpenUnreachable(SeqNum seq, Instant now, TcpOutcome& out) {
  const Call call(*this, out);
  if (!Is<SynSent>(state_) || seq != snd_.iss || fo_.syn_data == 0 || fo_.syn_resent) return false;
  ResendSynPlain(now);
  ++stats_.fastopen_syn_icmp;
  return true;
}

void TcpConnection::ResendSynPlain(Instant now) {
  fo_.syn_resent = true;
  timing_ = false;  // Karn
  SendSegment(SynFlags(), snd_.iss, 0, now, /*syn_options=*/true);
  ++stats_.retransmits;
}

// SND.NXT stays past the first SYN's data: that SYN may yet arrive, and its
// SYN-ACK acknowledge the data.
void TcpConnection::OnFastOpenSynTimeout() { fo_.syn_resent = true; }

}  // namespace ringstack::proto::tcp
