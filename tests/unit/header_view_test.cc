// The checked header views (<proto>_header.h) against scapy's bytes
// (tests/vectors): each getter reads its RFC field (deconstruct), the
// setters write a header byte for byte (construct), and Checked() refuses a
// span shorter than the fixed header.
#include <cstring>
#include <vector>

#include "gtest/gtest.h"
#include "protocols/icmpv4/icmpv4_header.h"
#include "protocols/ipv4/ipv4_header.h"
#include "protocols/ipv6/ipv6_header.h"
#include "protocols/tcp/tcp_header.h"
#include "protocols/udp/udp_header.h"
#include "tests/vectors/vectors.h"

namespace ringstack::proto::header_view_test {
namespace {

template <std::size_t N>
std::vector<std::byte> Vec(const unsigned char (&a)[N]) {
  std::vector<std::byte> v(N);
  std::memcpy(v.data(), a, N);
  return v;
}

constexpr std::size_t kEth = 14;

TEST(TcpHeaderView, DeconstructScapysSyn) {
  const auto f = Vec(vectors::kTcpSyn);
  const auto h = tcp::TcpHeader::Checked(std::span(f).subspan(kEth + 20));
  ASSERT_TRUE(h);
  EXPECT_EQ(h->src_port(), 40000);
  EXPECT_EQ(h->dst_port(), 7);
  EXPECT_EQ(h->seq(), 0x11223344u);
  EXPECT_EQ(h->ack(), 0u);
  EXPECT_EQ(h->header_len(), 40u);
  EXPECT_EQ(h->flags(), tcp::kSyn);
  EXPECT_EQ(h->window(), 64240);
  EXPECT_EQ(h->checksum(), 0xb824);
  EXPECT_EQ(h->urgent(), 0);
}

TEST(TcpHeaderView, ConstructScapysSynAck) {
  const auto f = Vec(vectors::kTcpSynAck);
  const auto want = std::span(f).subspan(kEth + 20, tcp::kMinHeaderLen);
  std::vector<std::byte> out(tcp::kMinHeaderLen);
  auto h = tcp::TcpHeaderMut::Checked(out);
  ASSERT_TRUE(h);
  h->set_src_port(7);
  h->set_dst_port(40000);
  h->set_seq(0x55667788);
  h->set_ack(0x11223345);
  h->set_header_len(40);
  h->set_flags(tcp::kSyn | tcp::kAck);
  h->set_window(65535);
  h->set_checksum(0xe22d);
  h->set_urgent(0);
  EXPECT_TRUE(std::equal(out.begin(), out.end(), want.begin(), want.end()));
}

TEST(UdpHeaderView, DeconstructAndConstruct) {
  const auto f = Vec(vectors::kUdpToClosedPort);
  const auto d = std::span(f).subspan(kEth + 20);
  const auto h = udp::UdpHeader::Checked(d);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->src_port(), 40000);
  EXPECT_EQ(h->dst_port(), 9);
  EXPECT_EQ(h->length(), 24);
  EXPECT_EQ(h->checksum(), 0xd379);
  std::vector<std::byte> out(udp::kHeaderLen);
  auto m = udp::UdpHeaderMut::Checked(out);
  ASSERT_TRUE(m);
  m->set_src_port(40000);
  m->set_dst_port(9);
  m->set_length(24);
  m->set_checksum(0xd379);
  EXPECT_TRUE(std::equal(out.begin(), out.end(), d.begin(), d.begin() + udp::kHeaderLen));
}

TEST(Ipv6HeaderView, DeconstructAndConstruct) {
  const auto f = Vec(vectors::kIpv6EchoRequest);
  const auto p = std::span(f).subspan(kEth);
  const auto h = ipv6::Ipv6Header::Checked(p);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->version(), 6);
  EXPECT_EQ(h->traffic_class(), 0);
  EXPECT_EQ(h->flow_label(), 0u);
  EXPECT_EQ(h->payload_len(), 40);
  EXPECT_EQ(h->next_header(), ipv6::kIcmpv6);
  EXPECT_EQ(h->hop_limit(), 64);
  EXPECT_EQ(h->src(), *Ipv6Address::Parse("2001:db8:0:1::1"));
  EXPECT_EQ(h->dst(), *Ipv6Address::Parse("2001:db8:0:1::2"));
  std::vector<std::byte> out(ipv6::kHeaderLen);
  auto m = ipv6::Ipv6HeaderMut::Checked(out);
  ASSERT_TRUE(m);
  m->set_version_class_flow(0, 0);
  m->set_payload_len(40);
  m->set_next_header(ipv6::kIcmpv6);
  m->set_hop_limit(64);
  m->set_src(h->src());
  m->set_dst(h->dst());
  EXPECT_TRUE(std::equal(out.begin(), out.end(), p.begin(), p.begin() + ipv6::kHeaderLen));
  // Class and label land in their bits.
  m->set_version_class_flow(0xb8, 0x12345);
  EXPECT_EQ(m->version(), 6);
  EXPECT_EQ(m->traffic_class(), 0xb8);
  EXPECT_EQ(m->flow_label(), 0x12345u);
}

TEST(Ipv6FragmentHeaderView, DeconstructAndConstruct) {
  const auto f = Vec(vectors::kIpv6FirstFragment);
  const auto fh = std::span(f).subspan(kEth + ipv6::kHeaderLen);
  const auto h = ipv6::FragmentHeader::Checked(fh);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->next_header(), ipv6::kIcmpv6);
  EXPECT_EQ(h->offset(), 0);
  EXPECT_TRUE(h->more());
  EXPECT_EQ(h->ident(), 0x77u);
  std::vector<std::byte> out(ipv6::kFragmentHeaderLen, std::byte{0xff});
  auto m = ipv6::FragmentHeaderMut::Checked(out);
  ASSERT_TRUE(m);
  m->Set(ipv6::kIcmpv6, 0, true, 0x77);
  EXPECT_TRUE(std::equal(out.begin(), out.end(), fh.begin(), fh.begin() + ipv6::kFragmentHeaderLen));
  m->Set(ipv6::kUdp, 1448, false, 0xdeadbeef);
  EXPECT_EQ(m->offset(), 1448);
  EXPECT_FALSE(m->more());
  EXPECT_EQ(m->ident(), 0xdeadbeefu);
}

TEST(Ipv4HeaderView, SettersRewriteLengthIdentAndChecksum) {
  auto f = Vec(vectors::kTcpSyn);
  const std::vector<std::byte> want(f.begin() + kEth, f.begin() + kEth + 20);
  auto h = ipv4::Ipv4HeaderMut::Checked(std::span(f).subspan(kEth, 20));
  ASSERT_TRUE(h);
  EXPECT_EQ(h->total_len(), 60);
  EXPECT_EQ(h->ident(), 0x0100);
  EXPECT_FALSE(h->is_fragment());
  h->set_total_len(1);
  h->set_ident(2);
  h->set_checksum(3);
  EXPECT_EQ(h->total_len(), 1);
  EXPECT_EQ(h->ident(), 2);
  EXPECT_EQ(h->checksum(), 3);
  h->set_total_len(60);
  h->set_ident(0x0100);
  h->set_checksum(0xb5b8);
  EXPECT_TRUE(std::equal(want.begin(), want.end(), f.begin() + kEth));
}

TEST(Icmpv4HeaderView, EchoIdentAndChecksum) {
  auto f = Vec(vectors::kIcmpEchoRequest);
  auto h = icmpv4::Icmpv4HeaderMut::Checked(std::span(f).subspan(kEth + 20));
  ASSERT_TRUE(h);
  EXPECT_EQ(h->type(), icmpv4::kTypeEchoRequest);
  h->set_ident(0xabcd);
  h->set_seq(9);
  EXPECT_EQ(h->ident(), 0xabcd);
  EXPECT_EQ(h->seq(), 9);
}

TEST(HeaderViews, CheckedRefusesWhatIsShorterThanTheFixedHeader) {
  const std::vector<std::byte> b(60);
  const std::span<const std::byte> s(b);
  EXPECT_FALSE(tcp::TcpHeader::Checked(s.first(19)));
  EXPECT_TRUE(tcp::TcpHeader::Checked(s.first(20)));
  EXPECT_FALSE(udp::UdpHeader::Checked(s.first(7)));
  EXPECT_TRUE(udp::UdpHeader::Checked(s.first(8)));
  EXPECT_FALSE(ipv6::Ipv6Header::Checked(s.first(39)));
  EXPECT_TRUE(ipv6::Ipv6Header::Checked(s.first(40)));
  EXPECT_FALSE(ipv6::FragmentHeader::Checked(s.first(7)));
  EXPECT_FALSE(ipv4::Ipv4Header::Checked(s.first(19)));
  EXPECT_FALSE(icmpv4::Icmpv4Header::Checked(s.first(7)));
  EXPECT_FALSE(tcp::TcpHeader::Checked({}));
}

}  // namespace
}  // namespace ringstack::proto::header_view_test
