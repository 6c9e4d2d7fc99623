// Endpoint: a transport address, an IP address and a port, as a UDP or TCP
// socket is bound or connected to (for an ICMP echo socket the port is the
// echo identifier). The unspecified address is the wildcard.
#ifndef RINGSTACK_PROTOCOLS_COMMON_ENDPOINT_H_
#define RINGSTACK_PROTOCOLS_COMMON_ENDPOINT_H_

#include <cstdint>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "protocols/common/address.h"

namespace ringstack::proto {

struct Endpoint {
  IpAddress addr;
  std::uint16_t port = 0;

  // The unspecified address of the family (a wildcard bind), and `port`.
  static Endpoint Wildcard(bool v6, std::uint16_t port = 0) {
    return Endpoint{v6 ? IpAddress(Ipv6Address()) : IpAddress(Ipv4Address()), port};
  }

  bool operator==(const Endpoint&) const = default;
  // "192.0.2.1:7", "[2001:db8::1]:7" (RFC 5952 6).
  std::string ToString() const {
    return addr.is_v6() ? absl::StrCat("[", addr.ToString(), "]:", port) : absl::StrCat(addr.ToString(), ":", port);
  }
  template <typename H>
  friend H AbslHashValue(H h, const Endpoint& e) {
    return H::combine(std::move(h), e.addr, e.port);
  }
};

}  // namespace ringstack::proto

#endif  // RINGSTACK_PROTOCOLS_COMMON_ENDPOINT_H_
