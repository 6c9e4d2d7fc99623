#include "engine/link/vnet_hdr.h"

#include <algorithm>

#include "protocols/common/bytes.h"
#include "protocols/common/checksum.h"
#include "protocols/ethernet/ethernet_header.h"
#include "protocols/ipv4/ipv4_header.h"
#include "protocols/ipv6/ipv6_repr.h"
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
constexpr std::size_t kTcpChecksum = proto::tcp::field::kChecksum;

// The TCP header's length at `at`, 0 when it is not all in the frame.
std::size_t TcpHeaderLen(std::span<const std::byte> frame, std::size_t at) {
  if (at + proto::tcp::kMinHeaderLen > frame.size()) return 0;
  const std::size_t len = (static_cast<unsigned>(frame[at + proto::tcp::field::kDataOffset]) >> 4) * 4u;
  return len >= proto::tcp::kMinHeaderLen && at + len <= frame.size() ? len : 0;
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
  if (offload.gso_size != 0 && frame.size() >= kEthLen) {
    const std::uint16_t type = proto::LoadBe16(&frame[proto::ethernet::field::kEtherType]);
    h.gso_type = type == kEtherTypeIpv6 ? kGsoTcpV6 : kGsoTcpV4;
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
  if (frame.size() < kEthLen) return false;
  const std::uint16_t type = proto::LoadBe16(&frame[proto::ethernet::field::kEtherType]);
  const bool v6 = type == kEtherTypeIpv6;
  if (!v6 && type != kEtherTypeIpv4) return false;
  const std::size_t l4 = offload.csum_start;
  if (v6 ? l4 != kEthLen + proto::ipv6::kHeaderLen
         : (l4 < kEthLen + proto::ipv4::kMinHeaderLen || l4 >= frame.size())) {
    return false;
  }
  if (!v6 && (static_cast<unsigned>(frame[kEthLen]) & 0x0f) * 4u != l4 - kEthLen) return false;
  const std::size_t tcp_len = TcpHeaderLen(frame, l4);
  if (tcp_len == 0) return false;
  const std::size_t headers = l4 + tcp_len;
  const std::span<const std::byte> payload = frame.subspan(headers);
  const std::size_t mss = offload.gso_size;
  const std::uint32_t seq0 = proto::LoadBe32(&frame[l4 + proto::tcp::field::kSeq]);
  const std::uint8_t flags0 = static_cast<std::uint8_t>(frame[l4 + proto::tcp::field::kFlags]);
  const std::uint16_t ident0 = v6 ? 0 : proto::LoadBe16(&frame[kEthLen + 4]);
  const std::uint16_t partial = proto::LoadBe16(&frame[l4 + kTcpChecksum]);
  const std::size_t whole_len = frame.size() - l4;
  for (std::size_t off = 0, i = 0; off < payload.size() || (off == 0 && payload.empty()); off += mss, ++i) {
    const std::size_t n = std::min(mss, payload.size() - off);
    const bool last = off + n >= payload.size();
    std::vector<std::byte>& f = scratch;
    f.resize(headers + n);
    std::copy(frame.begin(), frame.begin() + static_cast<std::ptrdiff_t>(headers), f.begin());
    std::copy(payload.begin() + static_cast<std::ptrdiff_t>(off),
              payload.begin() + static_cast<std::ptrdiff_t>(off + n), f.begin() + static_cast<std::ptrdiff_t>(headers));
    const std::size_t l4_len = tcp_len + n;
    if (v6) {
      proto::StoreBe16(&f[kEthLen + 4], static_cast<std::uint16_t>(l4_len));
    } else {
      std::byte* ip = &f[kEthLen];
      proto::StoreBe16(ip + 2, static_cast<std::uint16_t>(l4 - kEthLen + l4_len));
      proto::StoreBe16(ip + 4, static_cast<std::uint16_t>(ident0 + i));
      proto::StoreBe16(ip + 10, 0);
      proto::StoreBe16(ip + 10, proto::InternetChecksum(std::span<const std::byte>(ip, l4 - kEthLen)));
    }
    std::byte* th = &f[l4];
    proto::StoreBe32(th + proto::tcp::field::kSeq, seq0 + static_cast<std::uint32_t>(off));
    std::uint8_t flags = flags0;
    if (!last) flags &= static_cast<std::uint8_t>(~(proto::tcp::kFin | proto::tcp::kPsh));
    if (i != 0) flags &= static_cast<std::uint8_t>(~proto::tcp::kCwr);
    th[proto::tcp::field::kFlags] = static_cast<std::byte>(flags);
    // As tcp_gso_segment: the sender's partial sum (its pseudo-header with
    // the whole length) with the length changed to this segment's, then
    // the sum over the segment. A wrong partial sum gives wrong checksums.
    proto::StoreBe16(th + kTcpChecksum, proto::ChecksumAdjust(static_cast<std::uint16_t>(~partial),
                                                              static_cast<std::uint16_t>(whole_len),
                                                              static_cast<std::uint16_t>(l4_len)) ^ 0xffff);
    CompleteChecksum(f, l4, kTcpChecksum);
    emit(f);
    if (payload.empty()) break;
  }
  return true;
}

}  // namespace ringstack::engine::vnet
