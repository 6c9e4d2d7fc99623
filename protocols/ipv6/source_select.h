// Source address selection (RFC 6724 5) and what it rests on: an address's
// scope (3.1), the default policy table's precedence and label (2.1), and
// the common prefix of two addresses. Pure: candidates and a destination
// in, the chosen source out. Ipv6Host::SourceFor calls it with its usable
// addresses.
//
// Rules applied, in order, between two candidates SA and SB for
// destination D: 1 the same address as D; 2 the appropriate scope (the
// smallest scope not below D's); 3 not deprecated; 6 a label that matches
// D's; 7 a temporary address (RFC 8981); 8 the longest common prefix with
// D, counted up to the candidate's prefix length. Rules 4, 5 and 5.5 (home
// addresses, the outgoing interface, the next hop's choice) have nothing to
// choose between on one interface without Mobile IPv6. Among equals the
// earlier candidate stays.
#ifndef RINGSTACK_PROTOCOLS_IPV6_SOURCE_SELECT_H_
#define RINGSTACK_PROTOCOLS_IPV6_SOURCE_SELECT_H_

#include <optional>
#include <span>

#include "protocols/common/address.h"

namespace ringstack::proto::ipv6 {

// 3.1: multicast scope is the address's own field; unicast: loopback and
// link-local are 0x2, site-local (fec0::/10) 0x5, the rest global 0xe.
int Scope(const Ipv6Address& a);

// 2.1's default policy table: precedence and label of the longest prefix
// that matches.
struct Policy {
  int precedence;
  int label;
};
Policy PolicyFor(const Ipv6Address& a);

// The number of leading bits `a` and `b` share.
int CommonPrefixLen(const Ipv6Address& a, const Ipv6Address& b);

struct SourceCandidate {
  Ipv6Address address;
  int prefix_len = 64;     // its on-link prefix (rule 8 looks no further)
  bool deprecated = false;  // past its preferred lifetime (RFC 4862 5.5.4)
  bool temporary = false;   // an RFC 8981 temporary address
};

// `a` is the better source for `dst` than `b` by the rules (false for equals).
bool BetterSource(const SourceCandidate& a, const SourceCandidate& b, const Ipv6Address& dst);

// The candidate RFC 6724 5 picks for `dst`; nullopt for none.
std::optional<SourceCandidate> SelectSource(std::span<const SourceCandidate> candidates, const Ipv6Address& dst);

}  // namespace ringstack::proto::ipv6

#endif  // RINGSTACK_PROTOCOLS_IPV6_SOURCE_SELECT_H_
