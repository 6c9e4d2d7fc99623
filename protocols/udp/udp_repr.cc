#include "protocols/udp/udp_repr.h"

#include "protocols/common/checksum.h"
#include "protocols/ipv4/ipv4_header.h"

namespace ringstack::proto::udp {
namespace {

template <typename Addr>
Parsed<UdpRepr> ParseWith(Bytes datagram, const Addr& src, const Addr& dst, bool zero_checksum_ok,
                          bool verify_checksum) {
  const auto h = UdpHeader::Checked(datagram);
  if (!h) return ParseError::kTruncated;
  const std::uint16_t length = h->length();
  if (length < kHeaderLen || length > datagram.size()) return ParseError::kBadTotalLength;
  const Bytes covered = datagram.first(length);
  const std::uint16_t checksum = h->checksum();
  if (checksum == 0 && !zero_checksum_ok) return ParseError::kBadChecksum;
  if (checksum != 0 && verify_checksum) {
    Checksum c;
    AddPseudoHeader(c, src, dst, ipv4::kProtoUdp, length);
    c.Add(covered);
    if (!Verifies(c)) return ParseError::kBadChecksum;
  }
  UdpRepr r;
  r.src_port = h->src_port();
  r.dst_port = h->dst_port();
  r.payload = covered.subspan(kHeaderLen);
  return r;
}

template <typename Addr>
void EmitWith(const UdpRepr& r, MutableBytes datagram, const Addr& src, const Addr& dst) {
  const auto length = static_cast<std::uint16_t>(datagram.size());
  auto h = UdpHeaderMut::Checked(datagram);
  if (!h) return;  // no room for the header: the caller's mistake, nothing written
  h->set_src_port(r.src_port);
  h->set_dst_port(r.dst_port);
  h->set_length(length);
  h->set_checksum(0);
  Checksum c;
  AddPseudoHeader(c, src, dst, ipv4::kProtoUdp, length);
  c.Add(datagram);
  std::uint16_t sum = c.Finish();
  if (sum == 0) sum = 0xffff;  // RFC 768: a computed zero is sent as all ones
  h->set_checksum(sum);
}

}  // namespace

Parsed<UdpRepr> UdpRepr::Parse(Bytes datagram, Ipv4Address src, Ipv4Address dst, bool verify_checksum) {
  return ParseWith(datagram, src, dst, /*zero_checksum_ok=*/true, verify_checksum);
}

Parsed<UdpRepr> UdpRepr::Parse(Bytes datagram, const Ipv6Address& src, const Ipv6Address& dst,
                               bool verify_checksum) {
  return ParseWith(datagram, src, dst, /*zero_checksum_ok=*/false, verify_checksum);
}

void UdpRepr::EmitHeader(MutableBytes datagram, Ipv4Address src, Ipv4Address dst) const {
  EmitWith(*this, datagram, src, dst);
}

void UdpRepr::EmitHeader(MutableBytes datagram, const Ipv6Address& src, const Ipv6Address& dst) const {
  EmitWith(*this, datagram, src, dst);
}

}  // namespace ringstack::proto::udp
