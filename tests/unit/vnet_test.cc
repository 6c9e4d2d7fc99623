// The virtio-net header of a TAP with offload (engine/link/vnet_hdr.h): the
// bytes as Linux writes them, what a received header means, the header we
// write for a super-segment, and the software GSO the simulated wire uses,
// checked against the protocols' own parsers.
#include "engine/link/vnet_hdr.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "protocols/common/checksum.h"
#include "protocols/ethernet/ethernet_repr.h"
#include "protocols/ipv4/ipv4_header.h"
#include "protocols/ipv4/ipv4_repr.h"
#include "protocols/ipv6/ipv6_repr.h"
#include "protocols/tcp/tcp_repr.h"

namespace ringstack::engine::vnet {
namespace {

using proto::Ipv4Address;
using proto::Ipv6Address;

std::vector<std::byte> B(std::initializer_list<int> v) {
  std::vector<std::byte> out;
  for (int x : v) out.push_back(static_cast<std::byte>(x));
  return out;
}

TEST(VnetHeader, ParsesAndEmitsLittleEndianFields) {
  // A TSO frame's header in struct virtio_net_hdr's layout: NEEDS_CSUM,
  // TCPV4, hdr_len 66, gso_size 1448, csum_start 34, csum_offset 16.
  const auto bytes = B({0x01, 0x01, 0x42, 0x00, 0xa8, 0x05, 0x22, 0x00, 0x10, 0x00});
  const Header h = Header::Parse(std::span<const std::byte, kHeaderLen>(bytes.data(), kHeaderLen));
  EXPECT_EQ(h.flags, kFlagNeedsCsum);
  EXPECT_EQ(h.gso_type, kGsoTcpV4);
  EXPECT_EQ(h.hdr_len, 66);
  EXPECT_EQ(h.gso_size, 1448);
  EXPECT_EQ(h.csum_start, 34);
  EXPECT_EQ(h.csum_offset, 16);
  std::byte out[kHeaderLen];
  h.Emit(out);
  EXPECT_EQ(std::vector<std::byte>(out, out + kHeaderLen), bytes);
}

// Ethernet + IPv4 (or IPv6) + TCP (timestamps) + `payload` bytes, the TCP
// checksum partial (as the worker leaves it), and its offload metadata.
struct Super {
  std::vector<std::byte> frame;
  rings::PacketOffload offload;
  std::string payload;
};

Super MakeSuper(bool v6, std::size_t payload_len, std::uint16_t mss, std::uint8_t flags) {
  Super s;
  for (std::size_t i = 0; i < payload_len; ++i) s.payload.push_back(static_cast<char>('a' + i % 23));
  proto::tcp::TcpRepr t;
  t.src_port = 5201;
  t.dst_port = 40000;
  t.seq = proto::tcp::SeqNum(0xfffff000u);  // wraps inside the frame
  t.ack = proto::tcp::SeqNum(77);
  t.flags = flags;
  t.window = 512;
  t.options.timestamps = proto::tcp::Timestamps{1000, 2000};
  const std::size_t ip_len = v6 ? proto::ipv6::kHeaderLen : proto::ipv4::Ipv4Repr::header_len();
  const std::size_t l4 = 14 + ip_len;
  s.frame.resize(l4 + t.header_len() + payload_len);
  std::copy(reinterpret_cast<const std::byte*>(s.payload.data()),
            reinterpret_cast<const std::byte*>(s.payload.data()) + payload_len, s.frame.begin() + static_cast<std::ptrdiff_t>(l4 + t.header_len()));
  const auto seg = std::span(s.frame).subspan(l4);
  const proto::MacAddress a = *proto::MacAddress::Parse("02:00:00:00:00:01");
  const proto::MacAddress b = *proto::MacAddress::Parse("02:00:00:00:00:02");
  if (v6) {
    const Ipv6Address src = *Ipv6Address::Parse("2001:db8::1"), dst = *Ipv6Address::Parse("2001:db8::2");
    t.EmitHeaderPartial(seg, src, dst);
    proto::ipv6::Ipv6Repr ip;
    ip.src = src;
    ip.dst = dst;
    ip.next_header = proto::ipv4::kProtoTcp;
    ip.payload_len = static_cast<std::uint16_t>(seg.size());
    ip.Emit(std::span(s.frame).subspan(14, ip_len));
    proto::ethernet::EthernetRepr{b, a, proto::ethernet::kEtherTypeIpv6}.Emit(std::span(s.frame).first(14));
  } else {
    const Ipv4Address src = *Ipv4Address::Parse("192.0.2.1"), dst = *Ipv4Address::Parse("192.0.2.2");
    t.EmitHeaderPartial(seg, src, dst);
    proto::ipv4::Ipv4Repr ip;
    ip.src = src;
    ip.dst = dst;
    ip.protocol = proto::ipv4::kProtoTcp;
    ip.ident = 0xfffe;  // wraps too
    ip.df = true;
    ip.payload_len = static_cast<std::uint16_t>(seg.size());
    ip.Emit(std::span(s.frame).subspan(14, ip_len));
    proto::ethernet::EthernetRepr{b, a, proto::ethernet::kEtherTypeIpv4}.Emit(std::span(s.frame).first(14));
  }
  s.offload.gso_size = mss;
  s.offload.csum_start = static_cast<std::uint16_t>(l4);
  s.offload.csum_offset = 16;
  return s;
}

TEST(VnetHeader, SuperSegmentHeaderSaysWhatTheKernelNeeds) {
  const Super v4 = MakeSuper(false, 4000, 1448, proto::tcp::kAck);
  const Header h = FromOffload(v4.frame, v4.offload);
  EXPECT_EQ(h.flags, kFlagNeedsCsum);
  EXPECT_EQ(h.gso_type, kGsoTcpV4);
  EXPECT_EQ(h.gso_size, 1448);
  EXPECT_EQ(h.csum_start, 34);
  EXPECT_EQ(h.csum_offset, 16);
  EXPECT_EQ(h.hdr_len, 34 + 32);  // TCP with NOP NOP timestamps
  const Super v6 = MakeSuper(true, 4000, 1428, proto::tcp::kAck);
  const Header h6 = FromOffload(v6.frame, v6.offload);
  EXPECT_EQ(h6.gso_type, kGsoTcpV6);
  EXPECT_EQ(h6.csum_start, 54);
  EXPECT_EQ(h6.hdr_len, 54 + 32);
  // A whole frame: an all-zero header.
  EXPECT_EQ(FromOffload(v4.frame, rings::PacketOffload{}), Header{});
  // A partial checksum alone: NEEDS_CSUM, no GSO.
  rings::PacketOffload partial = v4.offload;
  partial.gso_size = 0;
  const Header hp = FromOffload(v4.frame, partial);
  EXPECT_EQ(hp.flags, kFlagNeedsCsum);
  EXPECT_EQ(hp.gso_type, kGsoNone);
}

TEST(VnetHeader, ReceivedHeadersTakenOrRefused) {
  const std::vector<std::byte> frame(100);
  rings::PacketOffload o;
  EXPECT_EQ(ToOffload(Header{}, frame, o), RxVerdict::kOk);
  EXPECT_FALSE(o.csum_trusted);
  EXPECT_EQ(o.gso_size, 0);

  Header needs{kFlagNeedsCsum, kGsoNone, 0, 0, 34, 16};
  EXPECT_EQ(ToOffload(needs, frame, o), RxVerdict::kOk);
  EXPECT_TRUE(o.csum_trusted);
  needs.csum_start = 90;  // the field at 106: past the frame
  EXPECT_EQ(ToOffload(needs, frame, o), RxVerdict::kBadChecksumOffsets);

  EXPECT_EQ(ToOffload(Header{kFlagDataValid, kGsoNone, 0, 0, 0, 0}, frame, o), RxVerdict::kOk);
  EXPECT_TRUE(o.csum_trusted);

  EXPECT_EQ(ToOffload(Header{kFlagNeedsCsum, kGsoTcpV6 | kGsoEcn, 86, 1428, 54, 16}, frame, o), RxVerdict::kOk);
  EXPECT_EQ(o.gso_size, 1428);
  EXPECT_EQ(ToOffload(Header{kFlagNeedsCsum, kGsoTcpV4, 66, 0, 34, 16}, frame, o), RxVerdict::kBadGso);
  EXPECT_EQ(ToOffload(Header{0, kGsoUdp, 42, 1472, 0, 0}, frame, o), RxVerdict::kUnsupportedGso);
  EXPECT_EQ(ToOffload(Header{0, kGsoUdpL4, 42, 1472, 0, 0}, frame, o), RxVerdict::kUnsupportedGso);
  EXPECT_EQ(ToOffload(Header{0, 9, 0, 0, 0, 0}, frame, o), RxVerdict::kUnsupportedGso);
}

// Each wire segment parses with the checksums verified; sequence numbers,
// IPv4 identifications and lengths follow; PSH and FIN only on the last;
// the payloads put together are the super-segment's.
void CheckSegments(bool v6, std::size_t payload_len, std::uint16_t mss) {
  SCOPED_TRACE(testing::Message() << (v6 ? "v6 " : "v4 ") << payload_len << "/" << mss);
  const Super s = MakeSuper(v6, payload_len, mss, proto::tcp::kAck | proto::tcp::kPsh | proto::tcp::kFin);
  const auto frames = Segment(s.frame, s.offload);
  ASSERT_EQ(frames.size(), (payload_len + mss - 1) / mss);
  std::string joined;
  for (std::size_t i = 0; i < frames.size(); ++i) {
    ASSERT_TRUE(proto::ethernet::EthernetRepr::Parse(frames[i]));
    const proto::Bytes packet = std::span<const std::byte>(frames[i]).subspan(14);
    proto::Bytes l4;
    proto::Parsed<proto::tcp::TcpRepr> tcp = proto::ParseError::kTruncated;
    if (v6) {
      const auto ip = proto::ipv6::Ipv6Repr::Parse(packet);
      ASSERT_TRUE(ip);
      l4 = packet.subspan(proto::ipv6::kHeaderLen, ip->payload_len);
      tcp = proto::tcp::TcpRepr::Parse(l4, ip->src, ip->dst);
    } else {
      const auto ip = proto::ipv4::Ipv4Repr::Parse(packet);
      ASSERT_TRUE(ip) << "segment " << i;
      EXPECT_EQ(ip->ident, static_cast<std::uint16_t>(0xfffe + i));
      EXPECT_TRUE(ip->df);
      l4 = packet.subspan(20, ip->payload_len);
      tcp = proto::tcp::TcpRepr::Parse(l4, ip->src, ip->dst);
    }
    ASSERT_TRUE(tcp) << "segment " << i << ": " << proto::ParseErrorName(tcp.error());
    EXPECT_EQ(tcp->seq, proto::tcp::SeqNum(0xfffff000u) + static_cast<std::uint32_t>(i * mss));
    const bool last = i + 1 == frames.size();
    EXPECT_EQ(tcp->payload.size(), last ? payload_len - i * mss : mss);
    EXPECT_EQ(tcp->fin(), last);
    EXPECT_EQ((tcp->flags & proto::tcp::kPsh) != 0, last);
    EXPECT_TRUE(tcp->has_ack());
    EXPECT_EQ(tcp->ack, proto::tcp::SeqNum(77));
    EXPECT_EQ(tcp->options.timestamps, (proto::tcp::Timestamps{1000, 2000}));
    joined.append(reinterpret_cast<const char*>(tcp->payload.data()), tcp->payload.size());
  }
  EXPECT_EQ(joined, s.payload);
}

TEST(VnetSegment, CutsLikeTheKernel) {
  CheckSegments(false, 4000, 1448);   // 1448 + 1448 + 1104
  CheckSegments(false, 2896, 1448);   // exactly two
  CheckSegments(false, 65000, 1448);  // a full super-segment
  CheckSegments(true, 4000, 1428);
  CheckSegments(true, 64000, 1428);
}

TEST(VnetSegment, PartialChecksumAloneIsCompleted) {
  Super s = MakeSuper(false, 500, 1448, proto::tcp::kAck);
  s.offload.gso_size = 0;
  const auto frames = Segment(s.frame, s.offload);
  ASSERT_EQ(frames.size(), 1u);
  const auto seg = std::span(frames[0]).subspan(34);
  EXPECT_TRUE(proto::tcp::TcpRepr::Parse(seg, *Ipv4Address::Parse("192.0.2.1"), *Ipv4Address::Parse("192.0.2.2")));
  // The partial sum alone does not verify: the parser is not fooled.
  EXPECT_FALSE(proto::tcp::TcpRepr::Parse(std::span(s.frame).subspan(34), *Ipv4Address::Parse("192.0.2.1"),
                                          *Ipv4Address::Parse("192.0.2.2")));
  // ...unless told a host vouched for it.
  EXPECT_TRUE(proto::tcp::TcpRepr::Parse(std::span(s.frame).subspan(34), *Ipv4Address::Parse("192.0.2.1"),
                                         *Ipv4Address::Parse("192.0.2.2"), /*verify_checksum=*/false));
}

TEST(VnetSegment, RefusesFramesThatAreNotWhatTheySay) {
  Super s = MakeSuper(false, 4000, 1448, proto::tcp::kAck);
  rings::PacketOffload o = s.offload;
  o.csum_start = 30;  // not where the IPv4 header ends
  EXPECT_TRUE(Segment(s.frame, o).empty());
  o = s.offload;
  o.csum_start = static_cast<std::uint16_t>(s.frame.size() - 4);  // no room for a TCP header
  EXPECT_TRUE(Segment(s.frame, o).empty());
  Super v6 = MakeSuper(true, 4000, 1428, proto::tcp::kAck);
  o = v6.offload;
  o.csum_start = 60;  // extension headers: not ours to cut
  EXPECT_TRUE(Segment(v6.frame, o).empty());
  EXPECT_TRUE(Segment(std::span(s.frame).first(10), s.offload).empty());
  o = s.offload;
  o.gso_size = 0;
  o.csum_offset = 60000;
  EXPECT_TRUE(Segment(s.frame, o).empty());
}

}  // namespace
}  // namespace ringstack::engine::vnet
