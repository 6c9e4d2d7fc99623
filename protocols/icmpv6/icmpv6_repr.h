// ICMPv6 message (RFC 4443 2.1) with Parse and EmitHeader.
//
//  0                   1                   2                   3
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |     Type      |     Code      |          Checksum             |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                         Message Body                          |
//
// Parse checks the length (4 bytes at least) and the checksum over the IPv6
// pseudo-header (RFC 4443 2.3; never optional in IPv6). `body` is a view of
// everything after the checksum. EmitHeader writes type, code and checksum in
// front of a body already in place; never allocates.
#ifndef RINGSTACK_PROTOCOLS_ICMPV6_ICMPV6_REPR_H_
#define RINGSTACK_PROTOCOLS_ICMPV6_ICMPV6_REPR_H_

#include <cstdint>

#include "protocols/common/address.h"
#include "protocols/common/bytes.h"
#include "protocols/common/parse_error.h"

namespace ringstack::proto::icmpv6 {

inline constexpr std::size_t kHeaderLen = 4;

inline constexpr std::uint8_t kDestUnreachable = 1;
inline constexpr std::uint8_t kPacketTooBig = 2;
inline constexpr std::uint8_t kTimeExceeded = 3;
inline constexpr std::uint8_t kParameterProblem = 4;
inline constexpr std::uint8_t kEchoRequest = 128;
inline constexpr std::uint8_t kEchoReply = 129;
inline constexpr std::uint8_t kMldQuery = 130;
inline constexpr std::uint8_t kMldV1Report = 131;
inline constexpr std::uint8_t kMldV1Done = 132;
inline constexpr std::uint8_t kRouterSolicitation = 133;
inline constexpr std::uint8_t kRouterAdvertisement = 134;
inline constexpr std::uint8_t kNeighborSolicitation = 135;
inline constexpr std::uint8_t kNeighborAdvertisement = 136;
inline constexpr std::uint8_t kRedirect = 137;
inline constexpr std::uint8_t kMldV2Report = 143;

// Destination Unreachable codes (RFC 4443 3.1).
inline constexpr std::uint8_t kCodeNoRoute = 0;
inline constexpr std::uint8_t kCodeAddressUnreachable = 3;
inline constexpr std::uint8_t kCodePortUnreachable = 4;
// Time Exceeded codes (3.3).
inline constexpr std::uint8_t kCodeReassemblyTimeExceeded = 1;

struct Icmpv6Repr {
  std::uint8_t type = kEchoRequest;
  std::uint8_t code = 0;
  Bytes body;

  static Parsed<Icmpv6Repr> Parse(Bytes message, const Ipv6Address& src, const Ipv6Address& dst);
  bool is_error() const { return type < 128; }
  // message = [4-byte header][body already in place]; writes type, code and
  // the checksum over the pseudo-header and the whole message.
  void EmitHeader(MutableBytes message, const Ipv6Address& src, const Ipv6Address& dst) const;
};

}  // namespace ringstack::proto::icmpv6

#endif  // RINGSTACK_PROTOCOLS_ICMPV6_ICMPV6_REPR_H_
