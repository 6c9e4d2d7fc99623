// EthernetRepr: the validated value of an Ethernet II header, with Parse and
// Emit. Parse refuses short frames and 802.3 length-field frames; Emit writes
// exactly kHeaderLen bytes and never allocates.
#ifndef RINGSTACK_PROTOCOLS_ETHERNET_ETHERNET_REPR_H_
#define RINGSTACK_PROTOCOLS_ETHERNET_ETHERNET_REPR_H_

#include "protocols/common/parse_error.h"
#include "protocols/ethernet/ethernet_header.h"

namespace ringstack::proto::ethernet {

struct EthernetRepr {
  MacAddress dst;
  MacAddress src;
  std::uint16_t ethertype = 0;

  static Parsed<EthernetRepr> Parse(Bytes frame);
  static constexpr std::size_t header_len() { return kHeaderLen; }
  // out.size() must be >= kHeaderLen.
  void Emit(MutableBytes out) const;
  bool operator==(const EthernetRepr&) const = default;
};

}  // namespace ringstack::proto::ethernet

#endif  // RINGSTACK_PROTOCOLS_ETHERNET_ETHERNET_REPR_H_
