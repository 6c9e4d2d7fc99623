// The ECN field of an IP header (RFC 3168 5): the two low bits of the IPv4
// TOS octet and of the IPv6 Traffic Class. Pure values.
#ifndef RINGSTACK_PROTOCOLS_COMMON_ECN_H_
#define RINGSTACK_PROTOCOLS_COMMON_ECN_H_

#include <cstdint>

namespace ringstack::proto {

enum class IpEcn : std::uint8_t {
  kNotEct = 0b00,  // not ECN-capable
  kEct1 = 0b01,    // ECN-capable transport, ECT(1)
  kEct0 = 0b10,    // ECT(0): what RFC 3168 TCP sends
  kCe = 0b11,      // congestion experienced, marked on the way
};

// The ECN field of a TOS / Traffic Class octet, and that octet with it set.
constexpr IpEcn EcnOf(std::uint8_t tos) { return static_cast<IpEcn>(tos & 0b11); }
constexpr std::uint8_t WithEcn(std::uint8_t tos, IpEcn ecn) {
  return static_cast<std::uint8_t>((tos & ~0b11) | static_cast<std::uint8_t>(ecn));
}

}  // namespace ringstack::proto

#endif  // RINGSTACK_PROTOCOLS_COMMON_ECN_H_
