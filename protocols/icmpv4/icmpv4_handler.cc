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
