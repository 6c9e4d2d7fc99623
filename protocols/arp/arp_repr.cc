#include "protocols/arp/arp_repr.h"

namespace ringstack::proto::arp {

Parsed<ArpRepr> ArpRepr::Parse(Bytes packet) {
  const auto h = ArpHeader::Checked(packet);
  if (!h) return ParseError::kTruncated;
  if (h->htype() != kHardwareEthernet || h->hlen() != 6) return ParseError::kBadHardwareType;
  if (h->ptype() != kProtocolIpv4 || h->plen() != 4) return ParseError::kBadProtocolType;
  if (h->oper() != kOpRequest && h->oper() != kOpReply) return ParseError::kBadOperation;
  // Sanity: a sender is one station, never a group or nobody.
  if (h->sha().IsMulticast() || h->sha().IsZero()) return ParseError::kBadSourceAddress;
  if (h->spa().IsMulticast() || h->spa().IsLimitedBroadcast()) return ParseError::kBadSourceAddress;
  return ArpRepr{h->oper(), h->sha(), h->spa(), h->tha(), h->tpa()};
}

void ArpRepr::Emit(MutableBytes out) const {
  std::byte* p = out.data();
  StoreBe16(p + field::kHtype, kHardwareEthernet);
  StoreBe16(p + field::kPtype, kProtocolIpv4);
  Store8(p + field::kHlen, 6);
  Store8(p + field::kPlen, 4);
  StoreBe16(p + field::kOper, oper);
  sha.CopyTo(p + field::kSha);
  spa.CopyTo(p + field::kSpa);
  tha.CopyTo(p + field::kTha);
  tpa.CopyTo(p + field::kTpa);
}

}  // namespace ringstack::proto::arp
