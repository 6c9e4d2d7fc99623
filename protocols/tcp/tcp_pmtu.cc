// Path MTU for TcpConnection (tcp_connection.h). The segment size is the
// smaller of the peer's MSS and the path's MTU less the headers (RFC 9293
// 3.7.1). An ICMP Fragmentation Needed (RFC 1191) or Packet Too Big (RFC
// 8201) lowers the path's part, believed only when it quotes a segment in
// flight (RFC 5927 4.1.3), and what no longer fits goes again at once in
// pieces (RFC 1191 6.4) without a congestion reduction, as Linux's
// tcp_simple_retransmit. A path that drops large segments and says
// nothing (RFC 4821 2, a black hole) shows as timeouts in a row of a large
// segment: with black-hole detection on, the second lowers the segment
// size to Linux's tcp_base_mss (1024) and each later one halves it, never
// below the family's minimum (536 octets for IPv4, 1220 for IPv6).
#include <algorithm>

#include "protocols/tcp/tcp_connection.h"

namespace ringstack::proto::tcp {

namespace {

constexpr std::uint32_t kBaseMss = 1024;      // RFC 4821 7.2's 1024-octet start, Linux's tcp_base_mss
constexpr int kBlackholeTimeouts = 2;         // timeouts in a row that suspect the path

}  // namespace

std::string_view MtuProbingName(MtuProbing m) {
  switch (m) {
    case MtuProbing::kOff:
      return "off";
    case MtuProbing::kBlackhole:
      return "blackhole";
  }
  return "?";
}

std::optional<MtuProbing> ParseMtuProbing(std::string_view name) {
  if (name == "off") return MtuProbing::kOff;
  if (name == "blackhole") return MtuProbing::kBlackhole;
  return std::nullopt;
}

void TcpConnection::UpdateSndMss() {
  snd_mss_ = std::min(peer_mss_, path_mss_);
  if (snd_mss_ < 64) snd_mss_ = 64;  // a floor against tiny-MSS resource attacks
}

PmtuVerdict TcpConnection::OnPathMtu(std::uint32_t mtu, SeqNum seq, Instant now, TcpOutcome& out) {
  const Call call(*this, out);
  const bool in_flight = !seq.Before(snd_.una) && seq.Before(snd_.nxt);
  if (!Sending() || !in_flight) {
    ++stats_.pmtu_ignored;
    return PmtuVerdict::kIgnored;
  }
  const std::uint32_t mss = mtu > HeaderOverhead() + 64 ? mtu - HeaderOverhead() : 64;
  if (mss >= path_mss_) return PmtuVerdict::kUnchanged;  // RFC 1191 6.3: never raised by a report
  const std::uint16_t before = snd_mss_;
  path_mss_ = static_cast<std::uint16_t>(mss);
  UpdateSndMss();
  if (snd_mss_ == before) return PmtuVerdict::kUnchanged;  // the peer's MSS was smaller still
  ++stats_.pmtu_lowered;
  cc_->SetSmss(EffectiveMss());
  ResendTooLarge(now);
  return PmtuVerdict::kLowered;
}

void TcpConnection::ResendTooLarge(Instant now) {
  const std::uint32_t room = EffectiveMss();
  bool any = false;
  for (std::size_t i = 0; i < sb_.size(); ++i) {
    const SentSegment& s = sb_.at(i);
    if (s.sacked || s.data_len() <= room) continue;
    sb_.MarkLost(i);  // a retransmission of it in flight was as large: it goes once more
    any = true;
  }
  if (!any) return;
  timing_ = false;  // Karn: the timed segment may be among them
  Output(now);
}

void TcpConnection::DetectBlackhole() {
  if (config_.mtu_probing == MtuProbing::kOff || rto_count_ < kBlackholeTimeouts || sb_.empty()) return;
  const std::uint32_t floor = ends_.local.is_v6() ? 1220 : 536;
  const std::uint32_t next = std::max(snd_mss_ > kBaseMss ? kBaseMss : snd_mss_ / 2u, floor);
  // The segment that keeps timing out must be one the smaller size cuts.
  if (next >= snd_mss_ || sb_.at(0).data_len() <= next - (ts_ok_ ? 12u : 0u)) return;
  path_mss_ = static_cast<std::uint16_t>(next);
  UpdateSndMss();
  ++stats_.mtu_blackholes;
  cc_->SetSmss(EffectiveMss());
}

}  // namespace ringstack::proto::tcp
