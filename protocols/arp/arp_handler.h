// ARP receive decisions (RFC 826 "Packet Reception"): is the packet for us,
// and what do we answer. Pure: the caller updates its ArpCache with `for_me`
// and sends `reply` if there is one.
#ifndef RINGSTACK_PROTOCOLS_ARP_ARP_HANDLER_H_
#define RINGSTACK_PROTOCOLS_ARP_ARP_HANDLER_H_

#include <optional>
#include <span>

#include "absl/functional/function_ref.h"

#include "protocols/arp/arp_repr.h"

namespace ringstack::proto::arp {

struct ArpOutcome {
  bool for_me = false;             // target protocol address is one of ours
  std::optional<ArpRepr> reply;    // a request for one of our addresses
};

ArpOutcome ArpReceive(const ArpRepr& in, MacAddress my_mac, std::span<const Ipv4Interface> mine);
// The same, with "is this one of our (usable) addresses" asked of the caller.
ArpOutcome ArpReceive(const ArpRepr& in, MacAddress my_mac, absl::FunctionRef<bool(Ipv4Address)> is_mine);

// A request from us asking who has `target`.
ArpRepr ArpRequest(MacAddress my_mac, Ipv4Address my_ip, Ipv4Address target);

}  // namespace ringstack::proto::arp

#endif  // RINGSTACK_PROTOCOLS_ARP_ARP_HANDLER_H_
