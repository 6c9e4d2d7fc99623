// UdpRepr: a validated UDP header (RFC 768; udp_header.h) with Parse and
// Emit, for the engine's UDP sockets and the DHCPv4 client.
//
// Parse checks the length field against the data (padding past it is not
// payload) and the checksum over the pseudo-header. Over IPv4 a zero checksum
// means "not computed" (RFC 768) and is accepted; over IPv6 it is mandatory
// (RFC 8200 8.1) and zero is rejected (kBadChecksum). Emit writes the header
// in front of a payload already in place and the checksum over both (a
// computed zero goes out as all ones); never allocates.
#ifndef RINGSTACK_PROTOCOLS_UDP_UDP_REPR_H_
#define RINGSTACK_PROTOCOLS_UDP_UDP_REPR_H_

#include <cstdint>

#include "protocols/common/address.h"
#include "protocols/common/bytes.h"
#include "protocols/common/parse_error.h"
#include "protocols/udp/udp_header.h"

namespace ringstack::proto::udp {

struct UdpRepr {
  std::uint16_t src_port = 0;
  std::uint16_t dst_port = 0;
  Bytes payload;  // Parse: a view into the datagram

  // verify_checksum false: a link with offload vouched for it (the field may
  // hold only the pseudo-header's sum); the rest is checked as ever.
  static Parsed<UdpRepr> Parse(Bytes datagram, Ipv4Address src, Ipv4Address dst, bool verify_checksum = true);
  static Parsed<UdpRepr> Parse(Bytes datagram, const Ipv6Address& src, const Ipv6Address& dst,
                               bool verify_checksum = true);
  // datagram = [8-byte header][payload bytes already in place].
  void EmitHeader(MutableBytes datagram, Ipv4Address src, Ipv4Address dst) const;
  void EmitHeader(MutableBytes datagram, const Ipv6Address& src, const Ipv6Address& dst) const;
};

}  // namespace ringstack::proto::udp

#endif  // RINGSTACK_PROTOCOLS_UDP_UDP_REPR_H_
