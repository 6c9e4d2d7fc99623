#include "protocols/ipv6/ipv6_repr.h"

namespace ringstack::proto::ipv6 {

Parsed<Ipv6Repr> Ipv6Repr::Parse(Bytes p) {
  if (p.size() < kHeaderLen) return ParseError::kTruncated;
  const std::uint32_t first = LoadBe32(p.data());
  if ((first >> 28) != 6) return ParseError::kBadVersion;
  const std::uint16_t plen = LoadBe16(p.data() + 4);
  if (kHeaderLen + plen > p.size()) return ParseError::kBadTotalLength;
  Ipv6Repr r;
  r.traffic_class = static_cast<std::uint8_t>(first >> 20);
  r.flow_label = first & 0xfffff;
  r.payload_len = plen;
  r.next_header = Load8(p.data() + 6);
  r.hop_limit = Load8(p.data() + 7);
  r.src = Ipv6Address::FromBytes(p.data() + 8);
  r.dst = Ipv6Address::FromBytes(p.data() + 24);
  if (r.src.IsMulticast()) return ParseError::kBadSourceAddress;
  return r;
}

void Ipv6Repr::Emit(MutableBytes out) const {
  std::byte* p = out.data();
  StoreBe32(p, (6u << 28) | (std::uint32_t{traffic_class} << 20) | (flow_label & 0xfffff));
  StoreBe16(p + 4, payload_len);
  Store8(p + 6, next_header);
  Store8(p + 7, hop_limit);
  src.CopyTo(p + 8);
  dst.CopyTo(p + 24);
}

}  // namespace ringstack::proto::ipv6
