// IPv6 extension headers on receive (RFC 8200 4): walks the chain from the
// IPv6 header to the upper-layer header and says what to do.
//
//   hop-by-hop (only first), destination options: Pad1, PadN, Router Alert
//     (hop-by-hop); unknown options by their two high bits: 00 skip, 01
//     discard, 10 discard + Parameter Problem code 2, 11 the same unless the
//     destination is multicast (4.2).
//   routing: Segments Left 0 is ignored; otherwise (type 0 included, RFC
//     5095) discard + Parameter Problem code 0 at the Routing Type (4.4).
//   fragment: stops the walk (the caller reassembles and walks the rest);
//     an atomic fragment (offset 0, M 0; RFC 6946) is taken as is and the
//     walk goes on.
//   No Next Header: nothing to deliver. Unknown next header: Parameter
//     Problem code 1 at the field that names it (4; RFC 4443 3.4).
// Pointers count from the start of the IPv6 header. A header that runs past
// the data is malformed (discarded, counted as kTruncated / kBadOption).
#ifndef RINGSTACK_PROTOCOLS_IPV6_IPV6_EXT_H_
#define RINGSTACK_PROTOCOLS_IPV6_IPV6_EXT_H_

#include <cstdint>
#include <vector>

#include "protocols/common/bytes.h"
#include "protocols/common/parse_error.h"
#include "protocols/ipv6/ipv6_repr.h"

namespace ringstack::proto::ipv6 {

struct Fragment {
  std::uint32_t ident = 0;
  std::uint16_t offset = 0;  // bytes
  bool more = false;
  std::uint8_t next_header = 0;  // of the fragmentable part
  std::size_t data_at = 0;       // where the fragment's data starts in the payload
};

struct ExtOutcome {
  enum class Kind {
    kUpper,          // deliver `protocol` at `offset` in the payload
    kFragment,       // reassemble `fragment`
    kNothing,        // No Next Header
    kDiscard,        // silently (counted by `error`, or by an option's action)
    kParamProblem,   // discard and send Parameter Problem `code` at `pointer`
  };
  Kind kind = Kind::kDiscard;
  std::uint8_t protocol = 0;
  std::size_t offset = 0;
  Fragment fragment;
  std::uint8_t code = 0;
  std::uint32_t pointer = 0;
  ParseError error = ParseError::kCount;  // kDiscard of a malformed header
  bool router_alert = false;              // hop-by-hop carried Router Alert (MLD needs it)
};

inline constexpr std::uint8_t kParamProblemErroneousField = 0;
inline constexpr std::uint8_t kParamProblemUnknownNextHeader = 1;
inline constexpr std::uint8_t kParamProblemUnknownOption = 2;

// `payload` is what follows the 40-byte header (ip.payload_len bytes);
// `first` the header's Next Header. `base` is the offset of `payload` from
// the start of the IPv6 header (40; more when walking a reassembled rest).
ExtOutcome WalkExtensionHeaders(std::uint8_t first, Bytes payload, bool dst_multicast,
                                std::size_t base = kHeaderLen, bool hop_by_hop_allowed = true);

// The hop-by-hop header with a Router Alert option (RFC 2711) that MLD
// messages carry (RFC 3810 5): 8 bytes, `next` after it.
inline constexpr std::size_t kRouterAlertHeaderLen = 8;
void EmitRouterAlertHeader(std::uint8_t next, MutableBytes out);

}  // namespace ringstack::proto::ipv6

#endif  // RINGSTACK_PROTOCOLS_IPV6_IPV6_EXT_H_
