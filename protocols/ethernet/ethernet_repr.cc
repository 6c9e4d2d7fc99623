#include "protocols/ethernet/ethernet_repr.h"

namespace ringstack::proto::ethernet {

Parsed<EthernetRepr> EthernetRepr::Parse(Bytes frame) {
  const auto h = EthernetHeader::Checked(frame);
  if (!h) return ParseError::kTruncated;
  // Integrity done; sanity: only Ethernet II (EtherType >= 0x0600) is spoken,
  // and a frame never comes from a group address (IEEE 802 source rule).
  if (h->ethertype() < kMinEtherType) return ParseError::kUnsupportedType;
  if (h->src().IsMulticast()) return ParseError::kBadSourceAddress;
  return EthernetRepr{h->dst(), h->src(), h->ethertype()};
}

void EthernetRepr::Emit(MutableBytes out) const {
  dst.CopyTo(out.data() + field::kDst);
  src.CopyTo(out.data() + field::kSrc);
  StoreBe16(out.data() + field::kEtherType, ethertype);
}

}  // namespace ringstack::proto::ethernet
