#include "protocols/udp/udp_repr.h"

#include "protocols/common/checksum.h"
#include "protocols/ipv4/ipv4_header.h"

namespace ringstack::proto::udp {
namespace {

template <typename Addr>
Parsed<UdpRepr> ParseWith(Bytes datagram, const Addr& src, const Addr& dst, bool zero_checksum_ok,
                          bool verify_checksum) {
  if (datagram.size() < kHeaderLen) return ParseError::kTruncated;
  const std::uint16_t length = LoadBe16(datagram.data() + 4);
  if (length < kHeaderLen || length > datagram.size()) return ParseError::kBadTotalLength;
  const Bytes covered = datagram.first(length);
  const std::uint16_t checksum = LoadBe16(datagram.data() + 6);
  if (checksum == 0 && !zero_checksum_ok) return ParseError::kBadChecksum;
  if (checksum != 0 && verify_checksum) {
    Checksum c;
    AddPseudoHeader(c, src, dst, ipv4::kProtoUdp, length);
    c.Add(covered);
    if (!Verifies(c)) return ParseError::kBadChecksum;
  }
  UdpRepr r;
  r.src_port = LoadBe16(datagram.data());
  r.dst_port = LoadBe16(datagram.data() + 2);
  r.payload = covered.subspan(kHeaderLen);
  return r;
}

template <typename Addr>
void EmitWith(const UdpRepr& r, MutableBytes datagram, const Addr& src, const Addr& dst) {
  const auto length = static_cast<std::uint16_t>(datagram.size());
  StoreBe16(datagram.data(), r.src_port);
  StoreBe16(datagram.data() + 2, r.dst_port);
  StoreBe16(datagram.data() + 4, length);
  StoreBe16(datagram.data() + 6, 0);
  Checksum c;
  AddPseudoHeader(c, src, dst, ipv4::kProtoUdp, length);
  c.Add(datagram);
  std::uint16_t sum = c.Finish();
  if (sum == 0) sum = 0xffff;  // RFC 768: a computed zero is sent as all ones
  StoreBe16(datagram.data() + 6, sum);
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
