#include "protocols/ipv4/ipv4_repr.h"

#include "protocols/common/checksum.h"

namespace ringstack::proto::ipv4 {
namespace {

// RFC 791 3.1: options are End of List (0), No Operation (1), or
// type-length-value with the length counting the type and length octets.
// Each must lie within the header; a few have a length fixed by their RFC.
bool OptionsOk(Bytes options) {
  std::size_t i = 0;
  while (i < options.size()) {
    const std::uint8_t type = Load8(options.data() + i);
    if (type == 0) return true;  // end of list: the rest is padding
    if (type == 1) {
      ++i;
      continue;
    }
    if (i + 2 > options.size()) return false;
    const std::size_t len = Load8(options.data() + i + 1);
    if (len < 2 || i + len > options.size()) return false;
    switch (type) {
      case 148:  // Router Alert (RFC 2113)
        if (len != 4) return false;
        break;
      case 7:    // Record Route
      case 131:  // Loose Source Route
      case 137:  // Strict Source Route
        if (len < 3) return false;
        break;
      case 68:   // Timestamp
        if (len < 4) return false;
        break;
      default:
        break;
    }
    i += len;
  }
  return true;
}

}  // namespace

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
  if (hlen > kMinHeaderLen && !OptionsOk(packet.subspan(kMinHeaderLen, hlen - kMinHeaderLen))) {
    return ParseError::kBadOption;
  }
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
