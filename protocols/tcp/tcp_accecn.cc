// Accurate ECN (RFC 9768) for TcpConnection (tcp_connection.h), when
// `TcpConfig::ecn` is kAccEcn. The handshake (3.1): our SYN asks with AE,
// CWR and ECE; the SYN-ACK's ACE feeds back the SYN's IP-ECN field and the
// handshake's last ACK the SYN-ACK's; a SYN-ACK of RFC 3168 or none, or a
// broken one, gives the fallbacks Table 2 and 3.1.3 list. Then every ACK
// carries the receiver's count of CE-marked packets in ACE (plus 5, modulo
// 8) and, where the other options leave room, the AccECN option's byte
// counts (3.2.3.3: SACK blocks come first; on data segments only when the
// counts changed since the last option, so a bulk sender's segments do not
// all lose the option's 12 octets); an ACK goes at once when a data
// packet's IP-ECN field differs from the last one's or two CE marks await
// one (3.2.2.5). The sender reads the CE packets an ACK newly reports, with
// the safety rule for a field that may have wrapped (Appendix A.2), and
// reduces once a window for them. The mangling tests (3.2.2.3: an IP-ECN
// field changed on the handshake, ACE zeroed on its last ACK) stop our
// ECT, a zeroed first option (3.2.3.2.4) our reading of options; the
// feedback goes on either way. A SYN-ACK sent again goes without the
// option, from its second resend without ACE either (3.2.3.2.2).
#include <algorithm>

#include "protocols/tcp/tcp_connection.h"

namespace ringstack::proto::tcp {

void TcpConnection::AcceptAccEcn(IpEcn syn_ecn) {
  accecn_ = std::make_unique<AccEcnState>();
  accecn_->handshake_ecn = syn_ecn;
  accecn_->last_ecn = syn_ecn;
  ecn_ok_ = true;
}

void TcpConnection::OnAccEcnSynAck(const TcpRepr& seg, IpEcn ecn) {
  switch (accecn::ReadSynAck(seg.ace())) {
    case accecn::SynAckAnswer::kNoEcn:
      ecn_ok_ = false;
      ++stats_.accecn_fallback;
      return;
    case accecn::SynAckAnswer::kClassic:
      ecn_ok_ = true;
      ++stats_.accecn_fallback;
      return;
    case accecn::SynAckAnswer::kAccEcn:
      break;
  }
  ecn_ok_ = true;
  accecn_ = std::make_unique<AccEcnState>();
  AccEcnState& a = *accecn_;
  a.handshake_ecn = ecn;
  a.last_ecn = ecn;
  a.echo_handshake = true;
  // Our SYN went Not-ECT: reported any other way, the path changes the field.
  if (const auto fed = accecn::HandshakeEcn(seg.ace()); fed && accecn::Mangled(IpEcn::kNotEct, *fed)) {
    a.no_ect = true;
    ++stats_.accecn_mangled;
  } else if (ecn == IpEcn::kCe) {
    a.rcvd.cep = 1;  // a CE-marked SYN-ACK counts (its sender sent it ECT)
  }
  if (seg.options.accecn) TakeAccEcnOption(*seg.options.accecn);
}

std::optional<std::uint32_t> TcpConnection::TakeAccEcnOption(const AccEcnOption& o) {
  AccEcnState& a = *accecn_;
  const bool was_bad = a.fb.option_bad;
  const std::optional<std::uint32_t> d_ceb = accecn::TakeOption(a.fb, o);
  if (a.fb.option_bad && !was_bad) ++stats_.accecn_option_bad;
  if (d_ceb) stats_.accecn_ce_bytes += *d_ceb;
  return d_ceb;
}

void TcpConnection::AccEcnHeader(TcpRepr& h, std::uint32_t len) {
  if (h.syn() && !h.has_ack()) {
    const auto* s = std::get_if<SynSent>(&state_);
    h.ae = s != nullptr && s->accecn;
    return;
  }
  if (!accecn_ || !h.has_ack()) return;
  AccEcnState& a = *accecn_;
  if (h.syn()) {
    const auto* s = std::get_if<SynReceived>(&state_);
    const int resends = s != nullptr ? s->retries : 0;
    h.set_ace(resends >= 2 ? 0 : accecn::HandshakeAce(a.handshake_ecn));
    if (resends == 0) h.options.accecn = accecn::MakeOption(a.rcvd, h.options.AccEcnRoom());
    return;
  }
  if (len != 0) a.echo_handshake = false;  // data counts from the first
  h.set_ace(a.echo_handshake ? accecn::HandshakeAce(a.handshake_ecn) : accecn::Ace(a.rcvd));
  if (AccEcnOptionDue(len)) {
    h.options.accecn = accecn::MakeOption(a.rcvd, h.options.AccEcnRoom());
    a.optioned = a.rcvd;
    a.optioned_once = true;
  }
  a.ce_unacked = 0;
}

void TcpConnection::OnAccEcnMarks(const TcpRepr& seg, IpEcn ecn, Instant now) {
  AccEcnState& a = *accecn_;
  a.echo_handshake = false;  // the peer's first segment after the handshake came
  const auto len = static_cast<std::uint32_t>(seg.payload.size());
  // A super-frame the peer's offload coalesced stands for its segments.
  const std::uint32_t mss = std::max<std::uint32_t>(config_.mss, 1);
  const std::uint32_t segments = len == 0 ? 1 : (len + mss - 1) / mss;
  accecn::Count(a.rcvd, ecn, len, segments);
  if (ecn == IpEcn::kCe) {
    stats_.ecn_ce_received += segments;
    a.ce_unacked += segments;
  }
  if (len == 0) return;
  const bool changed = ecn != a.last_ecn;
  a.last_ecn = ecn;
  if (changed || a.ce_unacked >= 2) ScheduleAck(now, /*quick=*/true);
}

void TcpConnection::ReadHandshakeAck(const TcpRepr& seg) {
  AccEcnState& a = *accecn_;
  if (a.handshake_read) return;
  a.handshake_read = true;
  if (!seg.payload.empty()) return;  // data: its ACE is already a count
  const std::uint8_t ace = seg.ace();
  const auto fed = accecn::HandshakeEcn(ace);
  // Our SYN-ACK went Not-ECT; ACE 000 is a zeroed field (001, 101 and 111
  // are unused codes, left alone).
  if (ace == 0 || (fed && accecn::Mangled(IpEcn::kNotEct, *fed))) {
    a.no_ect = true;
    ++stats_.accecn_mangled;
  }
}

void TcpConnection::OnAccEcnFeedback(const TcpRepr& seg, std::uint32_t delivered, Instant now) {
  AccEcnState& a = *accecn_;
  std::optional<std::uint32_t> d_ceb;
  if (seg.options.accecn) d_ceb = TakeAccEcnOption(*seg.options.accecn);
  // Only an ACK that delivers something is read: a reordered one could run
  // the field backwards (what it reported comes with the next).
  if (delivered == 0) return;
  const std::uint32_t mss = EffectiveMss();
  const std::uint32_t pkts = (delivered + mss - 1) / mss;
  const std::uint32_t delta = accecn::CeDelta(a.fb.seen.cep, seg.ace(), pkts, d_ceb, mss);
  if (delta == 0) return;
  a.fb.seen.cep += delta;
  stats_.accecn_ce_delivered += delta;
  ReduceForEcn(now);
}

}  // namespace ringstack::proto::tcp
