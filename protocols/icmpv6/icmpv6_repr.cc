#include "protocols/icmpv6/icmpv6_repr.h"

#include "protocols/common/checksum.h"

namespace ringstack::proto::icmpv6 {
namespace {
constexpr std::uint8_t kNextHeaderIcmpv6 = 58;
}  // namespace

Parsed<Icmpv6Repr> Icmpv6Repr::Parse(Bytes m, const Ipv6Address& src, const Ipv6Address& dst) {
  if (m.size() < kHeaderLen) return ParseError::kTruncated;
  Checksum c;
  AddPseudoHeader(c, src, dst, kNextHeaderIcmpv6, static_cast<std::uint32_t>(m.size()));
  c.Add(m);
  if (!Verifies(c)) return ParseError::kBadChecksum;
  Icmpv6Repr r;
  r.type = Load8(m.data());
  r.code = Load8(m.data() + 1);
  r.body = m.subspan(kHeaderLen);
  return r;
}

void Icmpv6Repr::EmitHeader(MutableBytes m, const Ipv6Address& src, const Ipv6Address& dst) const {
  Store8(m.data(), type);
  Store8(m.data() + 1, code);
  StoreBe16(m.data() + 2, 0);
  Checksum c;
  AddPseudoHeader(c, src, dst, kNextHeaderIcmpv6, static_cast<std::uint32_t>(m.size()));
  c.Add(m);
  StoreBe16(m.data() + 2, c.Finish());
}

}  // namespace ringstack::proto::icmpv6
