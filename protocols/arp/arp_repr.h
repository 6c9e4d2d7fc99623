// ArpRepr: a validated Ethernet/IPv4 ARP packet with Parse and Emit.
// Parse: integrity (length), then the fixed fields (htype, ptype, hlen, plen,
// oper), then sanity (the sender hardware address is a unicast). Emit writes
// exactly kPacketLen bytes and never allocates.
#ifndef RINGSTACK_PROTOCOLS_ARP_ARP_REPR_H_
#define RINGSTACK_PROTOCOLS_ARP_ARP_REPR_H_

#include "protocols/arp/arp_header.h"
#include "protocols/common/parse_error.h"

namespace ringstack::proto::arp {

struct ArpRepr {
  std::uint16_t oper = kOpRequest;
  MacAddress sha;
  Ipv4Address spa;
  MacAddress tha;
  Ipv4Address tpa;

  static Parsed<ArpRepr> Parse(Bytes packet);
  static constexpr std::size_t header_len() { return kPacketLen; }
  // out.size() must be >= kPacketLen.
  void Emit(MutableBytes out) const;
  bool operator==(const ArpRepr&) const = default;
};

}  // namespace ringstack::proto::arp

#endif  // RINGSTACK_PROTOCOLS_ARP_ARP_REPR_H_
