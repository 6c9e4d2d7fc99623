// Ipv6Repr: the IPv6 header (RFC 8200 3; ipv6_header.h) as a value, with
// Parse and Emit.
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
#include "protocols/ipv6/ipv6_header.h"

namespace ringstack::proto::ipv6 {

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
