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
// below the family's minimum (536 octets for IPv4, 1220 for IPv6). With
// probing on, a search then finds how large the path really takes (RFC
// 4821 7.2): one segment at a time, halfway between the size that works and
// the smallest known lost, of real data; an acknowledged probe raises the
// size, a lost one lowers the ceiling and costs no congestion reduction
// (7.6.2). Once the two are within 8 octets the search rests for ten
// minutes, then starts again from the connection's full size.
#include <algorithm>

#include "protocols/tcp/tcp_connection.h"

namespace ringstack::proto::tcp {

namespace {

constexpr std::uint32_t kBaseMss = 1024;      // RFC 4821 7.2's 1024-octet start, Linux's tcp_base_mss
constexpr int kBlackholeTimeouts = 2;         // timeouts in a row that suspect the path
constexpr std::uint16_t kSearchDone = 8;      // Linux's tcp_probe_threshold
constexpr Duration kSearchAgain = Duration::Seconds(600);  // RFC 4821 7.7, Linux's tcp_probe_interval

}  // namespace

std::string_view MtuProbingName(MtuProbing m) {
  switch (m) {
    case MtuProbing::kOff:
      return "off";
    case MtuProbing::kBlackhole:
      return "blackhole";
    case MtuProbing::kOn:
      return "on";
  }
  return "?";
}

std::optional<MtuProbing> ParseMtuProbing(std::string_view name) {
  if (name == "off") return MtuProbing::kOff;
  if (name == "blackhole") return MtuProbing::kBlackhole;
  if (name == "on") return MtuProbing::kOn;
  return std::nullopt;
}

void TcpConnection::UpdateSndMss() {
  snd_mss_ = std::min(peer_mss_, path_mss_);
  if (snd_mss_ < 64) snd_mss_ = 64;  // a floor against tiny-MSS resource attacks
}

PmtuVerdict TcpConnection::OnPathMtu(std::uint32_t mtu, SeqNum seq, Instant now, TcpOutcome& out) {
  const Call call(*this, out);
  const bool in_flight = !seq.Before(snd_.una) && seq.Before(snd_.nxt);
  if (Is<SynSent>(state_) && seq == snd_.iss && fo_.syn_data != 0 && !fo_.syn_resent) {
    return FastOpenSynTooBig(mtu, now);
  }
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
  search_ = MtuSearch{};  // the path said how large it is: nothing to search
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

void TcpConnection::DetectBlackhole(Instant now) {
  if (config_.mtu_probing == MtuProbing::kOff || rto_count_ < kBlackholeTimeouts || sb_.empty()) return;
  const std::uint32_t floor = ends_.local.is_v6() ? 1220 : 536;
  const std::uint32_t next = std::max(snd_mss_ > kBaseMss ? kBaseMss : snd_mss_ / 2u, floor);
  // The segment that keeps timing out must be one the smaller size cuts.
  if (next >= snd_mss_ || sb_.at(0).data_len() <= next - (ts_ok_ ? 12u : 0u)) return;
  const std::uint16_t lost = snd_mss_;
  path_mss_ = static_cast<std::uint16_t>(next);
  UpdateSndMss();
  ++stats_.mtu_blackholes;
  cc_->SetSmss(EffectiveMss());
  if (config_.mtu_probing == MtuProbing::kOn) {
    search_ = MtuSearch{.low = snd_mss_, .high = static_cast<std::uint16_t>(lost - 1), .next = now};
  }
}

bool TcpConnection::SendProbe(std::uint32_t queued, std::uint32_t usable, Instant now) {
  if (search_.out || phase_ != Phase::kOpen || now < search_.next) return false;
  if (search_.high < search_.low + kSearchDone) return false;
  const auto size = static_cast<std::uint16_t>((search_.low + search_.high + 1) / 2);
  if (size <= snd_mss_) return false;
  const std::uint32_t len = SegmentRoom() + (size - snd_mss_);
  if (queued < len || usable < len) return false;  // a probe carries real data, within the windows
  search_.out = true;
  search_.start = snd_.nxt;
  search_.end = snd_.nxt + len;
  search_.size = size;
  ++stats_.mtu_probes;
  SendNewData(len == queued ? kAck | kPsh : kAck, len, /*fin_now=*/false, now);
  return true;
}

void TcpConnection::OnProbeAcked(Instant now) {
  if (!search_.out || snd_.una.Before(search_.end)) return;
  path_mss_ = std::max(path_mss_, search_.size);
  UpdateSndMss();
  cc_->SetSmss(EffectiveMss());
  search_.low = snd_mss_;
  EndProbe(now);
}

bool TcpConnection::ProbeLost(Instant now) {
  if (!search_.out) return false;
  const std::size_t i = sb_.FirstLostToSend();
  if (i == Scoreboard::kNone || sb_.at(i).start.Before(search_.start) || !sb_.at(i).start.Before(search_.end)) {
    return false;
  }
  FailProbe(now);
  return true;
}

void TcpConnection::FailProbe(Instant now) {
  if (!search_.out) return;
  ++stats_.mtu_probes_lost;
  search_.high = static_cast<std::uint16_t>(search_.size - 1);
  EndProbe(now);
}

void TcpConnection::EndProbe(Instant now) {
  search_.out = false;
  search_.next = now;
  if (search_.high < search_.low + kSearchDone) {
    // Found, as near as it is worth: rest, then try the full size again.
    search_.next = now + kSearchAgain;
    search_.high = std::min(peer_mss_, static_cast<std::uint16_t>(config_.mss));
  }
}

}  // namespace ringstack::proto::tcp
