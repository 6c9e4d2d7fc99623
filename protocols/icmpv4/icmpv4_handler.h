// ICMPv4 receive decisions. Pure: a parsed message in, what to send out.
#ifndef RINGSTACK_PROTOCOLS_ICMPV4_ICMPV4_HANDLER_H_
#define RINGSTACK_PROTOCOLS_ICMPV4_ICMPV4_HANDLER_H_

#include <optional>

#include "protocols/common/time.h"
#include "protocols/icmpv4/icmpv4_repr.h"
#include "protocols/ipv4/ipv4_repr.h"

namespace ringstack::proto::icmpv4 {

// RFC 792 / RFC 1122 3.2.2.6: an Echo Request gets an Echo Reply with the same
// identifier, sequence number and data. Requests sent to a broadcast or
// multicast address are not answered (RFC 1122 allows either; Linux's
// default, icmp_echo_ignore_broadcasts=1, is to stay silent).
std::optional<Icmpv4Repr> EchoReplyFor(const Icmpv4Repr& in, bool to_group_address);

inline constexpr std::uint8_t kCodeProtocolUnreachable = 2;
inline constexpr std::uint8_t kCodePortUnreachable = 3;

// RFC 1122 3.2.2: an ICMP error is never sent about a datagram that was sent
// to a broadcast or multicast address (IP or link layer), that is a non-first
// fragment, whose source is not a single host, or that is itself an ICMP
// error. `payload` is the datagram's payload (for the ICMP type).
bool ErrorAllowed(const ipv4::Ipv4Repr& ip, Bytes payload, bool to_group_address);

// Bytes of the offending datagram an error quotes: its IP header (with
// options) and the first 8 bytes of its payload (RFC 792).
inline std::size_t QuoteLen(std::size_t header_len, std::size_t payload_len) {
  return header_len + (payload_len < 8 ? payload_len : 8);
}

// A Destination Unreachable about a datagram quoted by `quote`.
Icmpv4Repr DestUnreachable(std::uint8_t code, Bytes quote);

// Token bucket for generated errors (RFC 1812 4.3.2.8; Linux's
// icmp_msgs_per_sec/icmp_msgs_burst): `rate` per second, `burst` at once.
class ErrorRateLimiter {
 public:
  ErrorRateLimiter(double rate_per_second = 1000, double burst = 50) : rate_(rate_per_second), burst_(burst), tokens_(burst) {}
  // True (and one token spent) when an error may go out now.
  bool Allow(Instant now);

 private:
  double rate_;
  double burst_;
  double tokens_;
  Instant last_;
  bool started_ = false;
};

}  // namespace ringstack::proto::icmpv4

#endif  // RINGSTACK_PROTOCOLS_ICMPV4_ICMPV4_HANDLER_H_
