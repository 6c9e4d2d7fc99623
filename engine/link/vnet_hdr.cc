#include "engine/link/vnet_hdr.h"

#include <algorithm>
#include <optional>

#include "protocols/common/bytes.h"
#include "protocols/common/checksum.h"
#include "protocols/ethernet/ethernet_header.h"
#include "protocols/ipv4/ipv4_header.h"
#include "protocols/ipv6/ipv6_header.h"
#include "protocols/tcp/tcp_header.h"

namespace ringstack::engine::vnet {
namespace {

std::uint16_t LoadLe16(const std::byte* p) {
  return static_cast<std::uint16_t>(static_cast<unsigned>(p[0]) | (static_cast<unsigned>(p[1]) << 8));
}
void StoreLe16(std::byte* p, std::uint16_t v) {
  p[0] = static_cast<std::byte>(v & 0xff);
  p[1] = static_cast<std::byte>(v >> 8);
}

using proto::ethernet::kEtherTypeIpv4;
using proto::ethernet::kEtherTypeIpv6;
constexpr std::size_t kEthLen = proto::ethernet::kHeaderLen;

// The TCP header's length at `at`, 0 when it is not all in the frame.
std::size_t TcpHeaderLen(std::span<const std::byte> frame, std::size_t at) {
  if (at > frame.size()) return 0;
  const auto tcp = proto::tcp::TcpHeader::Checked(frame.subspan(at));
  if (!tcp) return 0;
  const std::size_t len = tcp->header_len();
  return len >= proto::tcp::kMinHeaderLen && at + len <= frame.size() ? len : 0;
}

// A super-segment's headers, checked: Ethernet, IPv4 (its header exactly up
// to csum_start) or IPv6 (no extension headers), TCP; and the fields each
// segment cut from it derives its own from.
struct SuperSegment {
  bool v6 = false;
  std::size_t l4 = 0;       // where TCP starts
  std::size_t headers = 0;  // where the payload starts
  std::uint32_t seq = 0;
  std::uint8_t flags = 0;
  std::uint16_t ident = 0;    // IPv4's
  std::uint16_t partial = 0;  // the sender's pseudo-header sum, for the whole length
};

std::optional<SuperSegment> CheckSuperSegment(std::span<const std::byte> frame, const rings::PacketOffload& offload) {
  const auto eth = proto::ethernet::EthernetHeader::Checked(frame);
  if (!eth) return std::nullopt;
  SuperSegment s;
  s.v6 = eth->ethertype() == kEtherTypeIpv6;
  s.l4 = offload.csum_start;
  if (s.v6) {
    if (s.l4 != kEthLen + proto::ipv6::kHeaderLen) return std::nullopt;
  } else {
    const auto ip = proto::ipv4::Ipv4Header::Checked(eth->payload());
    if (eth->ethertype() != kEtherTypeIpv4 || !ip) return std::nullopt;
    if (s.l4 < kEthLen + proto::ipv4::kMinHeaderLen || s.l4 >= frame.size() || ip->header_len() != s.l4 - kEthLen) {
      return std::nullopt;
    }
    s.ident = ip->ident();
  }
  const std::size_t tcp_len = TcpHeaderLen(frame, s.l4);
  if (tcp_len == 0) return std::nullopt;
  const auto tcp = proto::tcp::TcpHeader::Checked(frame.subspan(s.l4));
  s.headers = s.l4 + tcp_len;
  s.seq = tcp->seq();
  s.flags = tcp->flags();
  s.partial = tcp->checksum();
  return s;
}

// Segment `i` of `s` in `f` (its headers copied from the super-segment and
// `n` payload bytes from `off`): its IP length (and IPv4 identification and
// checksum), sequence number, flags and checksum.
void FixSegmentHeaders(std::span<std::byte> f, const SuperSegment& s, std::size_t whole_len, std::size_t i,
                       std::size_t off, std::size_t n, bool last) {
  const std::size_t l4_len = s.headers - s.l4 + n;
  const std::span<std::byte> l3 = f.subspan(kEthLen);
  if (s.v6) {
    proto::ipv6::Ipv6HeaderMut::Checked(l3)->set_payload_len(static_cast<std::uint16_t>(l4_len));
  } else {
    auto ip = proto::ipv4::Ipv4HeaderMut::Checked(l3);
    ip->set_total_len(static_cast<std::uint16_t>(s.l4 - kEthLen + l4_len));
    ip->set_ident(static_cast<std::uint16_t>(s.ident + i));
    ip->set_checksum(0);
    ip->set_checksum(proto::InternetChecksum(l3.first(s.l4 - kEthLen)));
  }
  auto tcp = proto::tcp::TcpHeaderMut::Checked(f.subspan(s.l4));
  tcp->set_seq(s.seq + static_cast<std::uint32_t>(off));
  std::uint8_t flags = s.flags;
  if (!last) flags &= static_cast<std::uint8_t>(~(proto::tcp::kFin | proto::tcp::kPsh));
  if (i != 0) flags &= static_cast<std::uint8_t>(~proto::tcp::kCwr);
  tcp->set_flags(flags);
  // As tcp_gso_segment: the sender's partial sum (its pseudo-header with
  // the whole length) with the length changed to this segment's, then the
  // sum over the segment. A wrong partial sum gives wrong checksums.
  tcp->set_checksum(proto::ChecksumAdjust(static_cast<std::uint16_t>(~s.partial), static_cast<std::uint16_t>(whole_len),
                                          static_cast<std::uint16_t>(l4_len)) ^
                    0xffff);
  CompleteChecksum(f, s.l4, proto::tcp::field::kChecksum);
}

}  // namespace

Header Header::Parse(std::span<const std::byte, kHeaderLen> b) {
  Header h;
  h.flags = static_cast<std::uint8_t>(b[0]);
  h.gso_type = static_cast<std::uint8_t>(b[1]);
  h.hdr_len = LoadLe16(&b[2]);
  h.gso_size = LoadLe16(&b[4]);
  h.csum_start = LoadLe16(&b[6]);
  h.csum_offset = LoadLe16(&b[8]);
  return h;
}

void Header::Emit(std::span<std::byte, kHeaderLen> b) const {
  b[0] = static_cast<std::byte>(flags);
  b[1] = static_cast<std::byte>(gso_type);
  StoreLe16(&b[2], hdr_len);
  StoreLe16(&b[4], gso_size);
  StoreLe16(&b[6], csum_start);
  StoreLe16(&b[8], csum_offset);
}

const char* RxVerdictName(RxVerdict v) {
  switch (v) {
    case RxVerdict::kOk: return "ok";
    case RxVerdict::kBadChecksumOffsets: return "bad_csum_offsets";
    case RxVerdict::kUnsupportedGso: return "unsupported_gso";
    case RxVerdict::kBadGso: return "bad_gso";
  }
  return "?";
}

RxVerdict ToOffload(const Header& h, std::span<const std::byte> frame, rings::PacketOffload& out) {
  out = rings::PacketOffload{};
  if ((h.flags & kFlagNeedsCsum) != 0) {
    if (std::size_t{h.csum_start} + h.csum_offset + 2 > frame.size()) return RxVerdict::kBadChecksumOffsets;
    out.csum_trusted = true;
  }
  if ((h.flags & kFlagDataValid) != 0) out.csum_trusted = true;
  switch (h.gso_type & ~kGsoEcn) {
    case kGsoNone:
      return RxVerdict::kOk;
    case kGsoTcpV4:
    case kGsoTcpV6:
      if (h.gso_size == 0) return RxVerdict::kBadGso;
      out.gso_size = h.gso_size;
      return RxVerdict::kOk;
    default:
      return RxVerdict::kUnsupportedGso;
  }
}

Header FromOffload(std::span<const std::byte> frame, const rings::PacketOffload& offload) {
  Header h;
  if (offload.csum_start != 0) {
    h.flags = kFlagNeedsCsum;
    h.csum_start = offload.csum_start;
    h.csum_offset = offload.csum_offset;
  }
  const auto eth = proto::ethernet::EthernetHeader::Checked(frame);
  if (offload.gso_size != 0 && eth) {
    h.gso_type = eth->ethertype() == kEtherTypeIpv6 ? kGsoTcpV6 : kGsoTcpV4;
    h.gso_size = offload.gso_size;
    h.hdr_len = static_cast<std::uint16_t>(offload.csum_start + TcpHeaderLen(frame, offload.csum_start));
  }
  return h;
}

bool CompleteChecksum(std::span<std::byte> frame, std::size_t csum_start, std::size_t csum_offset) {
  if (csum_start + csum_offset + 2 > frame.size()) return false;
  proto::Checksum c;
  c.Add(frame.subspan(csum_start));
  proto::StoreBe16(&frame[csum_start + csum_offset], c.Finish());
  return true;
}

std::vector<std::vector<std::byte>> Segment(std::span<const std::byte> frame,
                                            const rings::PacketOffload& offload) {
  std::vector<std::vector<std::byte>> out;
  std::vector<std::byte> scratch;
  ForEachSegment(frame, offload, scratch, [&](std::span<const std::byte> f) { out.emplace_back(f.begin(), f.end()); });
  return out;
}

bool ForEachSegment(std::span<const std::byte> frame, const rings::PacketOffload& offload,
                    std::vector<std::byte>& scratch,
                    absl::FunctionRef<void(std::span<const std::byte>)> emit) {
  if (offload.gso_size == 0) {
    scratch.assign(frame.begin(), frame.end());
    if (offload.csum_start != 0 && !CompleteChecksum(scratch, offload.csum_start, offload.csum_offset)) return false;
    emit(scratch);
    return true;
  }
  const auto s = CheckSuperSegment(frame, offload);
  if (!s) return false;
  const std::span<const std::byte> payload = frame.subspan(s->headers);
  const std::size_t mss = offload.gso_size;
  const std::size_t whole_len = frame.size() - s->l4;
  for (std::size_t off = 0, i = 0; off < payload.size() || (off == 0 && payload.empty()); off += mss, ++i) {
    const std::size_t n = std::min(mss, payload.size() - off);
    std::vector<std::byte>& f = scratch;
    f.resize(s->headers + n);
    std::copy(frame.begin(), frame.begin() + static_cast<std::ptrdiff_t>(s->headers), f.begin());
    std::copy(payload.begin() + static_cast<std::ptrdiff_t>(off),
              payload.begin() + static_cast<std::ptrdiff_t>(off + n),
              f.begin() + static_cast<std::ptrdiff_t>(s->headers));
    FixSegmentHeaders(f, *s, whole_len, i, off, n, /*last=*/off + n >= payload.size());
    emit(f);
    if (payload.empty()) break;
  }
  return true;
}

}  // namespace ringstack::engine::vnet
