// Ipv4Repr: a validated IPv4 header with Parse and Emit.
// Parse, in PyTCP's order: integrity (span holds 20 bytes, version 4,
// 20 <= IHL*4 <= total length <= span, header checksum), then sanity (source
// not multicast/broadcast, TTL not 0). Options are walked and length-checked
// (kBadOption when one runs past the header), then skipped: a host acts on
// none of them.
// The payload is [header_len, total_len): link padding past total_len is not
// payload. Emit writes exactly header_len() bytes (no options) with the
// checksum, and never allocates.
#ifndef RINGSTACK_PROTOCOLS_IPV4_IPV4_REPR_H_
#define RINGSTACK_PROTOCOLS_IPV4_IPV4_REPR_H_

#include "protocols/common/parse_error.h"
#include "protocols/ipv4/ipv4_header.h"

namespace ringstack::proto::ipv4 {

struct Ipv4Repr {
  Ipv4Address src;
  Ipv4Address dst;
  std::uint8_t protocol = 0;
  std::uint8_t ttl = kDefaultTtl;
  std::uint8_t dscp = 0;
  std::uint8_t ecn = 0;
  std::uint16_t ident = 0;
  bool df = false;
  bool mf = false;
  std::uint32_t frag_offset = 0;  // bytes
  std::uint16_t payload_len = 0;
  // Set by Parse only: the received header's length (with options).
  std::uint8_t parsed_header_len = kMinHeaderLen;

  static Parsed<Ipv4Repr> Parse(Bytes packet);
  bool is_fragment() const { return mf || frag_offset != 0; }
  // What Emit writes: a 20-byte header.
  static constexpr std::size_t header_len() { return kMinHeaderLen; }
  // out.size() must be >= header_len(); total length = 20 + payload_len.
  void Emit(MutableBytes out) const;
  bool operator==(const Ipv4Repr&) const = default;
};

}  // namespace ringstack::proto::ipv4

#endif  // RINGSTACK_PROTOCOLS_IPV4_IPV4_REPR_H_
