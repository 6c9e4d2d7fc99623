#include "protocols/ipv4/ipv4_repr.h"

#include "protocols/common/checksum.h"

namespace ringstack::proto::ipv4 {

Parsed<Ipv4Repr> Ipv4Repr::Parse(Bytes packet) {
  const auto h = Ipv4Header::Checked(packet);
  if (!h) return ParseError::kTruncated;
  // Integrity.
  if (h->version() != 4) return ParseError::kBadVersion;
  const std::size_t hlen = h->header_len();
  if (hlen < kMinHeaderLen || hlen > packet.size()) return ParseError::kBadHeaderLength;
  const std::size_t tlen = h->total_len();
  if (tlen < hlen || tlen > packet.size()) return ParseError::kBadTotalLength;
  if (!ChecksumOk(packet.first(hlen))) return ParseError::kBadChecksum;
  // Sanity (RFC 1122 3.2.1.3: a source is never a group or broadcast).
  if (h->src().IsMulticast() || h->src().IsLimitedBroadcast()) return ParseError::kBadSourceAddress;
  if (h->ttl() == 0) return ParseError::kBadTtl;
  Ipv4Repr r;
  r.src = h->src();
  r.dst = h->dst();
  r.protocol = h->protocol();
  r.ttl = h->ttl();
  r.dscp = h->dscp();
  r.ecn = h->ecn();
  r.ident = h->ident();
  r.df = h->df();
  r.mf = h->mf();
  r.frag_offset = h->frag_offset();
  r.payload_len = static_cast<std::uint16_t>(tlen - hlen);
  r.parsed_header_len = static_cast<std::uint8_t>(hlen);
  return r;
}

void Ipv4Repr::Emit(MutableBytes out) const {
  std::byte* p = out.data();
  Store8(p + field::kVerIhl, 0x45);
  Store8(p + field::kDscpEcn, static_cast<std::uint8_t>((dscp << 2) | (ecn & 3)));
  StoreBe16(p + field::kTotalLen, static_cast<std::uint16_t>(kMinHeaderLen + payload_len));
  StoreBe16(p + field::kIdent, ident);
  StoreBe16(p + field::kFlagsFrag,
            static_cast<std::uint16_t>((df ? kFlagDf : 0) | (mf ? kFlagMf : 0) |
                                       ((frag_offset / 8) & kFragOffsetMask)));
  Store8(p + field::kTtl, ttl);
  Store8(p + field::kProtocol, protocol);
  StoreBe16(p + field::kChecksum, 0);
  src.CopyTo(p + field::kSrc);
  dst.CopyTo(p + field::kDst);
  StoreBe16(p + field::kChecksum, InternetChecksum(out.first(kMinHeaderLen)));
}

}  // namespace ringstack::proto::ipv4
