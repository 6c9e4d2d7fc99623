// Neighbor Discovery messages (RFC 4861 4) and their options (4.6), parsed
// from and emitted into ICMPv6 message bodies (what follows type, code and
// checksum), with the validity checks of 6.1 and 7.1 that need only the
// message and its IPv6 header.
//
//   RS  | reserved(4)                        | options (SLLA)
//   RA  | hop limit | M O | router lifetime | reachable(4) | retrans(4) | options
//   NS  | reserved(4) | target(16)           | options (SLLA)
//   NA  | R S O reserved(4) | target(16)     | options (TLLA)
//   Redirect | reserved(4) | target(16) | destination(16) | options
//
// Options: type, length in 8-byte units (0 is invalid: the message is
// dropped), value. Source/Target Link-Layer Address (1, 2), Prefix
// Information (3), MTU (5), RDNSS (25, RFC 8106). Unknown options are skipped.
#ifndef RINGSTACK_PROTOCOLS_ICMPV6_ND_ND_REPR_H_
#define RINGSTACK_PROTOCOLS_ICMPV6_ND_ND_REPR_H_

#include <array>
#include <cstdint>
#include <optional>

#include "protocols/common/address.h"
#include "protocols/common/bytes.h"
#include "protocols/common/parse_error.h"

namespace ringstack::proto::nd {

inline constexpr std::uint8_t kHopLimit = 255;  // every ND message (RFC 4861 6.1, 7.1)

struct PrefixInfo {
  Ipv6Address prefix;
  std::uint8_t prefix_len = 0;
  bool on_link = false;     // L
  bool autonomous = false;  // A
  std::uint32_t valid_lifetime = 0;
  std::uint32_t preferred_lifetime = 0;
  bool operator==(const PrefixInfo&) const = default;
};

struct Options {
  std::optional<MacAddress> source_ll;
  std::optional<MacAddress> target_ll;
  std::optional<std::uint32_t> mtu;
  std::array<PrefixInfo, 4> prefixes{};  // the first four
  std::uint8_t prefix_count = 0;
  std::uint32_t rdnss_lifetime = 0;
  std::array<Ipv6Address, 3> rdnss{};
  std::uint8_t rdnss_count = 0;
  bool operator==(const Options&) const = default;

  std::size_t emitted_len() const;
  void Emit(MutableBytes out) const;  // out.size() == emitted_len()
};
Parsed<Options> ParseOptions(Bytes b);

struct RouterSolicitation {
  Options options;
  static Parsed<RouterSolicitation> Parse(Bytes body);
  std::size_t body_len() const { return 4 + options.emitted_len(); }
  void Emit(MutableBytes body) const;
};

struct RouterAdvertisement {
  std::uint8_t cur_hop_limit = 0;
  bool managed = false;
  bool other = false;
  std::uint16_t router_lifetime = 0;  // seconds
  std::uint32_t reachable_time = 0;   // ms
  std::uint32_t retrans_timer = 0;    // ms
  Options options;
  static Parsed<RouterAdvertisement> Parse(Bytes body);
  std::size_t body_len() const { return 12 + options.emitted_len(); }
  void Emit(MutableBytes body) const;
};

struct NeighborSolicitation {
  Ipv6Address target;
  Options options;
  static Parsed<NeighborSolicitation> Parse(Bytes body);
  std::size_t body_len() const { return 20 + options.emitted_len(); }
  void Emit(MutableBytes body) const;
};

struct NeighborAdvertisement {
  bool router = false;
  bool solicited = false;
  bool override_flag = false;
  Ipv6Address target;
  Options options;
  static Parsed<NeighborAdvertisement> Parse(Bytes body);
  std::size_t body_len() const { return 20 + options.emitted_len(); }
  void Emit(MutableBytes body) const;
};

struct Redirect {
  Ipv6Address target;
  Ipv6Address destination;
  Options options;
  static Parsed<Redirect> Parse(Bytes body);
};

}  // namespace ringstack::proto::nd

#endif  // RINGSTACK_PROTOCOLS_ICMPV6_ND_ND_REPR_H_
