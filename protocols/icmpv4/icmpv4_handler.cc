#include "protocols/icmpv4/icmpv4_handler.h"

#include <algorithm>

namespace ringstack::proto::icmpv4 {

std::optional<Icmpv4Repr> EchoReplyFor(const Icmpv4Repr& in, bool to_group_address) {
  if (in.type != kTypeEchoRequest || to_group_address) return std::nullopt;
  Icmpv4Repr reply = in;
  reply.type = kTypeEchoReply;
  reply.code = 0;
  return reply;
}

bool ErrorAllowed(const ipv4::Ipv4Repr& ip, Bytes payload, bool to_group_address) {
  if (to_group_address || ip.dst.IsMulticast() || ip.dst.IsLimitedBroadcast()) return false;
  if (ip.frag_offset != 0) return false;
  if (ip.src.IsUnspecified() || ip.src.IsMulticast() || ip.src.IsLimitedBroadcast() || ip.src.IsLoopback()) {
    return false;
  }
  if (ip.protocol == ipv4::kProtoIcmp) {
    // Errors about errors never; queries (echo, timestamp...) are fine.
    if (payload.empty()) return false;
    switch (static_cast<std::uint8_t>(payload[0])) {
      case kTypeEchoReply:
      case kTypeEchoRequest:
      case 13:  // timestamp
      case 14:  // timestamp reply
        return true;
      default:
        return false;
    }
  }
  return true;
}

Icmpv4Repr DestUnreachable(std::uint8_t code, Bytes quote) {
  Icmpv4Repr r;
  r.type = kTypeDestUnreachable;
  r.code = code;
  r.rest = 0;
  r.data = quote;
  return r;
}

Icmpv4Repr TimeExceeded(std::uint8_t code, Bytes quote) {
  Icmpv4Repr r;
  r.type = kTypeTimeExceeded;
  r.code = code;
  r.rest = 0;
  r.data = quote;
  return r;
}

bool IsError(std::uint8_t type) {
  return type == kTypeDestUnreachable || type == kTypeTimeExceeded || type == kTypeParameterProblem;
}

Parsed<ErrorReport> ParseErrorReport(const Icmpv4Repr& msg) {
  const Bytes q = msg.data;
  if (q.size() < ipv4::kMinHeaderLen) return ParseError::kTruncated;
  const auto vihl = static_cast<unsigned>(q[0]);
  if ((vihl >> 4) != 4) return ParseError::kBadVersion;
  const std::size_t ihl = (vihl & 0xf) * 4u;
  if (ihl < ipv4::kMinHeaderLen) return ParseError::kBadHeaderLength;
  if (q.size() < ihl + 8) return ParseError::kTruncated;
  ErrorReport r;
  r.type = msg.type;
  r.code = msg.code;
  r.pointer = static_cast<std::uint8_t>(msg.rest >> 24);
  r.protocol = static_cast<std::uint8_t>(q[ipv4::field::kProtocol]);
  r.src = Ipv4Address(LoadBe32(q.data() + ipv4::field::kSrc));
  r.dst = Ipv4Address(LoadBe32(q.data() + ipv4::field::kDst));
  r.src_port = LoadBe16(q.data() + ihl);
  r.dst_port = LoadBe16(q.data() + ihl + 2);
  r.tcp_seq = LoadBe32(q.data() + ihl + 4);
  r.total_len = LoadBe16(q.data() + ipv4::field::kTotalLen);
  r.next_hop_mtu = static_cast<std::uint16_t>(msg.rest & 0xffff);
  return r;
}

std::uint32_t ReportedPathMtu(const ErrorReport& r) {
  if (r.next_hop_mtu != 0 && r.next_hop_mtu < r.total_len) return std::max<std::uint32_t>(r.next_hop_mtu, 68);
  static constexpr std::uint32_t kPlateaus[] = {32000, 17914, 8166, 4352, 2002, 1492, 1006, 508, 296};
  for (const std::uint32_t p : kPlateaus) {
    if (p < r.total_len) return p;
  }
  return 68;
}

bool ErrorRateLimiter::Allow(Instant now) {
  if (started_) {
    const double elapsed = static_cast<double>((now - last_).nanos()) / 1e9;
    if (elapsed > 0) tokens_ = std::min(burst_, tokens_ + elapsed * rate_);
  }
  started_ = true;
  last_ = now;
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

}  // namespace ringstack::proto::icmpv4
