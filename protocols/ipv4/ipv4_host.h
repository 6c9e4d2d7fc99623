// Ipv4Host: the IPv4 addresses of one interface and the routing table they
// imply (RFC 1122 3.3.1), a plain state class owned by the control shard.
//
// Each address has its own prefix and an optional gateway. An address is
// usable only once Address Conflict Detection has claimed it (kPreferred);
// while tentative (probing) or after a conflict it is neither accepted as a
// destination nor used as a source, and adds no routes. The table holds:
//   - a connected route per usable address (its network, on-link),
//   - static routes NET/LEN via GW (--route4), whose gateway must be on-link,
//   - a default route per usable address with a gateway.
// Lookup is longest-prefix match; among equal prefixes the lower metric
// (connected 0, static 10, defaults 100 + the address's position) wins.
// Source address selection: the address that owns the route's network or
// the gateway's network (RFC 1122 3.3.4.3: an address of the interface the
// datagram leaves by; with one link, the one on the next hop's network).
#ifndef RINGSTACK_PROTOCOLS_IPV4_IPV4_HOST_H_
#define RINGSTACK_PROTOCOLS_IPV4_IPV4_HOST_H_

#include <optional>
#include <string>
#include <vector>

#include "protocols/common/address.h"

namespace ringstack::proto::ipv4 {

enum class AddressState {
  kTentative,  // ACD probing: not ours yet (RFC 5227 2.1)
  kPreferred,  // claimed: accepted as a destination, used as a source
  kConflict,   // another host has it: not used
};
const char* AddressStateName(AddressState s);

struct HostAddress {
  Ipv4Interface itf;
  std::optional<Ipv4Address> gateway;
  AddressState state = AddressState::kPreferred;
};

struct Route {
  Ipv4Interface net;  // destination network (address part is the network)
  std::optional<Ipv4Address> gateway;  // none: on-link
  Ipv4Address src;
  int metric = 0;
  std::string ToString() const;
};

struct NextHop {
  Ipv4Address next_hop;  // the destination itself, or a gateway
  Ipv4Address src;
};

class Ipv4Host {
 public:
  // False when the address is already present.
  bool AddAddress(const HostAddress& a);
  bool RemoveAddress(Ipv4Address a);
  // False when the address is not present.
  bool SetState(Ipv4Address a, AddressState state);
  // A static route; used while its gateway is on a usable address's network.
  void AddStaticRoute(Ipv4Interface net, Ipv4Address gateway);

  // A preferred address of ours.
  bool IsLocal(Ipv4Address a) const;
  // Present in any state (tentative addresses are "ours" for ACD purposes).
  const HostAddress* Find(Ipv4Address a) const;
  // 255.255.255.255 or the directed broadcast of a usable address's network
  // (prefixes up to /30).
  bool IsBroadcast(Ipv4Address a) const;
  // Longest-prefix match; nullopt when no route (or no usable address).
  std::optional<NextHop> Lookup(Ipv4Address dst) const;
  // The source for a datagram to `dst`: the route's, else the first usable
  // address, else 0.0.0.0.
  Ipv4Address SourceFor(Ipv4Address dst) const;

  const std::vector<HostAddress>& addresses() const { return addresses_; }
  // Best match first.
  const std::vector<Route>& routes() const { return routes_; }

 private:
  void Rebuild();

  struct StaticRoute {
    Ipv4Interface net;
    Ipv4Address gateway;
  };
  std::vector<HostAddress> addresses_;
  std::vector<StaticRoute> static_routes_;
  std::vector<Route> routes_;
};

}  // namespace ringstack::proto::ipv4

#endif  // RINGSTACK_PROTOCOLS_IPV4_IPV4_HOST_H_
