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
inline constexpr std::uint8_t kCodeFragmentationNeeded = 4;  // RFC 792; RFC 1191 4's next-hop MTU

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

inline constexpr std::uint8_t kCodeFragmentReassemblyTimeExceeded = 1;
// A Time Exceeded about a datagram quoted by `quote` (RFC 792; code 1 when
// reassembly timed out, RFC 1122 3.3.2).
Icmpv4Repr TimeExceeded(std::uint8_t code, Bytes quote);

// What a received ICMP error (destination unreachable, time exceeded,
// parameter problem) is about: the quoted datagram's addresses, protocol and
// first 8 payload bytes (ports for UDP/TCP), for the transport that sent it
// (RFC 1122 3.2.2: "MUST be passed to the transport layer").
struct ErrorReport {
  std::uint8_t type = 0;
  std::uint8_t code = 0;
  std::uint8_t pointer = 0;  // parameter problem: offset of the bad octet
  Ipv4Address src;           // the quoted datagram's source (one of ours)
  Ipv4Address dst;
  std::uint8_t protocol = 0;
  std::uint16_t src_port = 0;  // first 4 quoted payload bytes, for UDP and TCP
  std::uint16_t dst_port = 0;
  std::uint32_t tcp_seq = 0;   // the next 4: TCP's sequence number
  std::uint16_t total_len = 0;      // the quoted datagram's total length
  std::uint16_t next_hop_mtu = 0;   // Fragmentation Needed (RFC 1191 4): the low half of the unused word
};
// RFC 1191: the path MTU a Fragmentation Needed reports: its next-hop MTU
// when that is below the quoted datagram's length; from a router older than
// RFC 1191 (a zero field; or a value no smaller, which cannot be true), the
// largest plateau of RFC 1191 7 below that length. 68 (RFC 791's minimum)
// at least.
std::uint32_t ReportedPathMtu(const ErrorReport& r);
bool IsError(std::uint8_t type);
// kTruncated when the quote is shorter than an IPv4 header + 8 bytes,
// kBadVersion/kBadHeaderLength when it is not an IPv4 header. The quoted
// header's checksum is not checked: routers quote it as they saw it.
Parsed<ErrorReport> ParseErrorReport(const Icmpv4Repr& msg);

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
