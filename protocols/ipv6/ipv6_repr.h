// IPv6 header (RFC 8200 3) with Parse and Emit.
//
//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |Version| Traffic Class |           Flow Label                  |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |         Payload Length        |  Next Header  |   Hop Limit   |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                    Source Address (128 bits)                  |
// |                 Destination Address (128 bits)                |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Parse: integrity (40 bytes, version 6, payload length within the data;
// link padding past it is not payload), then sanity (source not multicast,
// RFC 4291 2.7). Emit writes the 40 bytes; never allocates.
#ifndef RINGSTACK_PROTOCOLS_IPV6_IPV6_REPR_H_
#define RINGSTACK_PROTOCOLS_IPV6_IPV6_REPR_H_

#include <cstdint>

#include "protocols/common/address.h"
#include "protocols/common/bytes.h"
#include "protocols/common/parse_error.h"

namespace ringstack::proto::ipv6 {

inline constexpr std::size_t kHeaderLen = 40;
inline constexpr std::uint8_t kDefaultHopLimit = 64;
inline constexpr std::size_t kMinMtu = 1280;  // RFC 8200 5

// Next Header values (IANA protocol numbers).
inline constexpr std::uint8_t kHopByHop = 0;
inline constexpr std::uint8_t kTcp = 6;
inline constexpr std::uint8_t kUdp = 17;
inline constexpr std::uint8_t kRouting = 43;
inline constexpr std::uint8_t kFragment = 44;
inline constexpr std::uint8_t kIcmpv6 = 58;
inline constexpr std::uint8_t kNoNextHeader = 59;
inline constexpr std::uint8_t kDestinationOptions = 60;

struct Ipv6Repr {
  Ipv6Address src;
  Ipv6Address dst;
  std::uint8_t next_header = kNoNextHeader;
  std::uint8_t hop_limit = kDefaultHopLimit;
  std::uint8_t traffic_class = 0;
  std::uint32_t flow_label = 0;
  std::uint16_t payload_len = 0;

  static Parsed<Ipv6Repr> Parse(Bytes packet);
  static constexpr std::size_t header_len() { return kHeaderLen; }
  // out.size() must be >= 40.
  void Emit(MutableBytes out) const;
  bool operator==(const Ipv6Repr&) const = default;
};

}  // namespace ringstack::proto::ipv6

#endif  // RINGSTACK_PROTOCOLS_IPV6_IPV6_REPR_H_
