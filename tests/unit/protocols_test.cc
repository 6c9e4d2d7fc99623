// protocols/: byte-vector tests against scapy-made frames (tests/vectors),
// one malformed-input row per ParseError, and the pure state/handler classes.
#include <cstring>
#include <vector>

#include "gtest/gtest.h"
#include "protocols/arp/arp_cache.h"
#include "protocols/arp/arp_handler.h"
#include "protocols/arp/arp_repr.h"
#include "protocols/common/address.h"
#include "protocols/common/checksum.h"
#include "protocols/ethernet/ethernet_repr.h"
#include "protocols/icmpv4/icmpv4_handler.h"
#include "protocols/icmpv4/icmpv4_repr.h"
#include "protocols/ipv4/ipv4_repr.h"
#include "tests/vectors/vectors.h"

namespace ringstack::proto {
namespace {

template <std::size_t N>
std::vector<std::byte> Vec(const unsigned char (&a)[N]) {
  std::vector<std::byte> v(N);
  std::memcpy(v.data(), a, N);
  return v;
}

const MacAddress kMacA = *MacAddress::Parse("02:00:00:00:00:01");
const MacAddress kMacB = *MacAddress::Parse("52:54:00:12:34:56");
const Ipv4Address kIp1 = *Ipv4Address::Parse("192.0.2.1");
const Ipv4Address kIp2 = *Ipv4Address::Parse("192.0.2.2");

// --- common ---------------------------------------------------------------

TEST(Address, ParseAndFormatRoundTrip) {
  EXPECT_EQ(MacAddress::Parse("02:00:00:AB:cd:0f")->ToString(), "02:00:00:ab:cd:0f");
  EXPECT_FALSE(MacAddress::Parse("02:00:00:ab:cd"));
  EXPECT_FALSE(MacAddress::Parse("02-00-00-ab-cd-0f"));
  EXPECT_EQ(Ipv4Address::Parse("192.0.2.255")->value(), 0xc00002ffu);
  EXPECT_EQ(Ipv4Address(0xc6336401u).ToString(), "198.51.100.1");
  for (const char* bad : {"192.0.2", "192.0.2.256", "192.0.2.1.", "1.2.3.04", "a.b.c.d", ""}) {
    EXPECT_FALSE(Ipv4Address::Parse(bad)) << bad;
  }
  EXPECT_EQ(Ipv6Address::Parse("2001:DB8:0:1::1")->ToString(), "2001:db8:0:1::1");
  EXPECT_FALSE(Ipv6Address::Parse("2001:db8::1::2"));
  auto itf = Ipv4Interface::Parse("192.0.2.2/24");
  ASSERT_TRUE(itf);
  EXPECT_EQ(itf->network().ToString(), "192.0.2.0");
  EXPECT_EQ(itf->broadcast().ToString(), "192.0.2.255");
  EXPECT_TRUE(itf->Contains(kIp1));
  EXPECT_FALSE(itf->Contains(*Ipv4Address::Parse("198.51.100.1")));
  EXPECT_FALSE(Ipv4Interface::Parse("192.0.2.2/33"));
  EXPECT_FALSE(Ipv4Interface::Parse("192.0.2.2"));
  auto itf6 = Ipv6Interface::Parse("2001:db8:0:1::2/64");
  ASSERT_TRUE(itf6);
  EXPECT_TRUE(itf6->Contains(*Ipv6Address::Parse("2001:db8:0:1:ffff::9")));
  EXPECT_FALSE(itf6->Contains(*Ipv6Address::Parse("2001:db8:0:2::1")));
}

TEST(Address, MulticastMacMapping) {
  EXPECT_EQ(MulticastMac(*Ipv4Address::Parse("224.0.0.251")).ToString(), "01:00:5e:00:00:fb");
  EXPECT_EQ(MulticastMac(*Ipv4Address::Parse("239.255.1.2")).ToString(), "01:00:5e:7f:01:02");
  EXPECT_EQ(MulticastMac(*Ipv6Address::Parse("ff02::1:ff00:1")).ToString(), "33:33:ff:00:00:01");
}

TEST(Checksum, Rfc1071ExampleAndOddLength) {
  // RFC 1071 section 3 example words: 0001 f203 f4f5 f6f7 -> sum ddf2.
  const unsigned char words[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  Checksum c;
  c.Add(std::as_bytes(std::span(words)));
  EXPECT_EQ(c.Folded(), 0xddf2);
  EXPECT_EQ(c.Finish(), 0x220d);
  const unsigned char odd[] = {0x01};
  EXPECT_EQ(InternetChecksum(std::as_bytes(std::span(odd))), 0xfeff);
}

TEST(Checksum, IncrementalMatchesRecompute) {
  auto frame = Vec(vectors::kIcmpEchoRequest);
  auto ip = std::span(frame).subspan(14, 20);
  const std::uint16_t old_csum = LoadBe16(ip.data() + 10);
  const std::uint16_t old_word = LoadBe16(ip.data() + 8);  // ttl|proto
  StoreBe16(ip.data() + 8, static_cast<std::uint16_t>(old_word - 0x100));  // ttl - 1
  const std::uint16_t adjusted = ChecksumAdjust(old_csum, old_word, LoadBe16(ip.data() + 8));
  StoreBe16(ip.data() + 10, 0);
  EXPECT_EQ(adjusted, InternetChecksum(ip));
}

// --- ethernet ---------------------------------------------------------------

TEST(Ethernet, Deconstruct) {
  auto f = Vec(vectors::kArpRequest);
  auto h = ethernet::EthernetHeader::Checked(f);
  ASSERT_TRUE(h);
  EXPECT_TRUE(h->dst().IsBroadcast());
  EXPECT_EQ(h->src(), kMacB);
  EXPECT_EQ(h->ethertype(), ethernet::kEtherTypeArp);
  EXPECT_EQ(h->payload().size(), f.size() - 14);
}

TEST(Ethernet, ParseAndEmitMatchScapy) {
  auto f = Vec(vectors::kArpReply);
  auto r = ethernet::EthernetRepr::Parse(f);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, (ethernet::EthernetRepr{kMacB, kMacA, ethernet::kEtherTypeArp}));
  std::vector<std::byte> out(14);
  r->Emit(out);
  EXPECT_TRUE(std::equal(out.begin(), out.end(), f.begin()));
}

TEST(Ethernet, MalformedRows) {
  auto f = Vec(vectors::kArpRequest);
  EXPECT_EQ(ethernet::EthernetRepr::Parse(std::span(f).first(13)).error(), ParseError::kTruncated);
  auto len_field = f;
  StoreBe16(len_field.data() + 12, 0x05dc);  // 802.3 length 1500
  EXPECT_EQ(ethernet::EthernetRepr::Parse(len_field).error(), ParseError::kUnsupportedType);
  auto group_src = f;
  group_src[6] = std::byte{0x01};
  EXPECT_EQ(ethernet::EthernetRepr::Parse(group_src).error(), ParseError::kBadSourceAddress);
}

// --- arp --------------------------------------------------------------------

TEST(Arp, DeconstructAndParse) {
  auto f = Vec(vectors::kArpRequest);
  auto payload = std::span(f).subspan(14);
  auto h = arp::ArpHeader::Checked(payload);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->oper(), arp::kOpRequest);
  EXPECT_EQ(h->spa(), kIp1);
  auto r = arp::ArpRepr::Parse(payload);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, (arp::ArpRepr{arp::kOpRequest, kMacB, kIp1, MacAddress(), kIp2}));
}

TEST(Arp, ConstructAndEmitMatchScapy) {
  auto f = Vec(vectors::kArpReply);
  arp::ArpRepr reply{arp::kOpReply, kMacA, kIp2, kMacB, kIp1};
  std::vector<std::byte> out(arp::kPacketLen);
  reply.Emit(out);
  EXPECT_TRUE(std::equal(out.begin(), out.end(), f.begin() + 14));
}

TEST(Arp, MalformedRows) {
  auto f = Vec(vectors::kArpRequest);
  std::vector<std::byte> p(f.begin() + 14, f.begin() + 42);
  struct Row {
    std::size_t offset;
    std::uint8_t value;
    ParseError error;
  };
  const Row rows[] = {
      {1, 6, ParseError::kBadHardwareType},     // htype 6 (IEEE 802)
      {4, 8, ParseError::kBadHardwareType},     // hlen 8
      {3, 0xdd, ParseError::kBadProtocolType},  // ptype 0x08dd
      {5, 16, ParseError::kBadProtocolType},    // plen 16
      {7, 3, ParseError::kBadOperation},        // RARP request
      {8, 0x01, ParseError::kBadSourceAddress}, // multicast sha
      {14, 224, ParseError::kBadSourceAddress}, // multicast spa
  };
  for (const Row& row : rows) {
    auto bad = p;
    bad[row.offset] = std::byte{row.value};
    EXPECT_EQ(arp::ArpRepr::Parse(bad).error(), row.error) << "offset " << row.offset;
  }
  EXPECT_EQ(arp::ArpRepr::Parse(std::span(p).first(27)).error(), ParseError::kTruncated);
}

TEST(ArpHandler, RepliesOnlyForOurAddress) {
  const Ipv4Interface mine[] = {{kIp2, 24}};
  arp::ArpRepr req{arp::kOpRequest, kMacB, kIp1, MacAddress(), kIp2};
  auto out = arp::ArpReceive(req, kMacA, mine);
  EXPECT_TRUE(out.for_me);
  ASSERT_TRUE(out.reply);
  EXPECT_EQ(*out.reply, (arp::ArpRepr{arp::kOpReply, kMacA, kIp2, kMacB, kIp1}));
  req.tpa = *Ipv4Address::Parse("192.0.2.9");
  out = arp::ArpReceive(req, kMacA, mine);
  EXPECT_FALSE(out.for_me);
  EXPECT_FALSE(out.reply);
}

// The ARP cache state machine and ACD: tests/unit/arp_test.cc.

// --- ipv4 -------------------------------------------------------------------

TEST(Ipv4, DeconstructAndParse) {
  auto f = Vec(vectors::kIcmpEchoRequest);
  auto p = std::span(f).subspan(14);
  auto h = ipv4::Ipv4Header::Checked(p);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->version(), 4);
  EXPECT_EQ(h->header_len(), 20u);
  EXPECT_EQ(h->ident(), 0x1234);
  EXPECT_TRUE(h->df());
  auto r = ipv4::Ipv4Repr::Parse(p);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->src, kIp1);
  EXPECT_EQ(r->dst, kIp2);
  EXPECT_EQ(r->protocol, ipv4::kProtoIcmp);
  EXPECT_EQ(r->payload_len, 8 + 32);
  EXPECT_FALSE(r->is_fragment());
}

TEST(Ipv4, ConstructAndEmitMatchScapy) {
  auto f = Vec(vectors::kIcmpEchoReply);
  ipv4::Ipv4Repr r;
  r.src = kIp2;
  r.dst = kIp1;
  r.protocol = ipv4::kProtoIcmp;
  r.ttl = 64;
  r.payload_len = 8 + 32;
  std::vector<std::byte> out(20);
  r.Emit(out);
  EXPECT_TRUE(std::equal(out.begin(), out.end(), f.begin() + 14));
}

TEST(Ipv4, OptionsAreSkippedAndPaddingIsNotPayload) {
  auto f = Vec(vectors::kIpv4WithOptions);
  auto r = ipv4::Ipv4Repr::Parse(std::span(f).subspan(14));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->parsed_header_len, 24);
  EXPECT_EQ(r->payload_len, 8 + 2);
  auto padded = Vec(vectors::kIcmpEchoRequestPadded);
  ASSERT_EQ(padded.size(), 60u);
  auto rp = ipv4::Ipv4Repr::Parse(std::span(padded).subspan(14));
  ASSERT_TRUE(rp.ok());
  EXPECT_EQ(rp->payload_len, 10);
}

TEST(Ipv4, MalformedRows) {
  auto f = Vec(vectors::kIcmpEchoRequest);
  std::vector<std::byte> p(f.begin() + 14, f.end());
  auto fix_checksum = [](std::vector<std::byte>& b) {
    StoreBe16(b.data() + 10, 0);
    StoreBe16(b.data() + 10, InternetChecksum(std::span(b).first(20)));
  };
  EXPECT_EQ(ipv4::Ipv4Repr::Parse(std::span(p).first(19)).error(), ParseError::kTruncated);
  auto v6 = p;
  v6[0] = std::byte{0x65};
  EXPECT_EQ(ipv4::Ipv4Repr::Parse(v6).error(), ParseError::kBadVersion);
  auto ihl4 = p;
  ihl4[0] = std::byte{0x44};
  EXPECT_EQ(ipv4::Ipv4Repr::Parse(ihl4).error(), ParseError::kBadHeaderLength);
  auto ihl15 = p;
  ihl15[0] = std::byte{0x4f};
  EXPECT_EQ(ipv4::Ipv4Repr::Parse(std::span(ihl15).first(40)).error(), ParseError::kBadHeaderLength);
  auto too_long = p;
  StoreBe16(too_long.data() + 2, static_cast<std::uint16_t>(p.size() + 1));
  fix_checksum(too_long);
  EXPECT_EQ(ipv4::Ipv4Repr::Parse(too_long).error(), ParseError::kBadTotalLength);
  auto too_short = p;
  StoreBe16(too_short.data() + 2, 19);
  fix_checksum(too_short);
  EXPECT_EQ(ipv4::Ipv4Repr::Parse(too_short).error(), ParseError::kBadTotalLength);
  auto bad_sum = p;
  bad_sum[10] ^= std::byte{0xff};
  EXPECT_EQ(ipv4::Ipv4Repr::Parse(bad_sum).error(), ParseError::kBadChecksum);
  auto mcast_src = p;
  mcast_src[12] = std::byte{224};
  fix_checksum(mcast_src);
  EXPECT_EQ(ipv4::Ipv4Repr::Parse(mcast_src).error(), ParseError::kBadSourceAddress);
  auto ttl0 = p;
  ttl0[8] = std::byte{0};
  fix_checksum(ttl0);
  EXPECT_EQ(ipv4::Ipv4Repr::Parse(ttl0).error(), ParseError::kBadTtl);
}

// Options are walked and length-checked: one row per malformed option.
TEST(Ipv4, OptionRows) {
  const auto f = Vec(vectors::kIpv4WithOptions);  // IHL 6: Router Alert 94 04 00 00
  const std::vector<std::byte> good(f.begin() + 14, f.end());
  ASSERT_TRUE(ipv4::Ipv4Repr::Parse(good).ok());
  struct Row {
    const char* name;
    unsigned char option[4];
    bool ok;
  };
  const Row rows[] = {
      {"NOPs then end of list", {0x01, 0x01, 0x01, 0x00}, true},
      {"end of list then garbage", {0x00, 0xff, 0xff, 0xff}, true},
      {"unknown TLV filling the space", {0x99, 0x04, 0xaa, 0xbb}, true},
      {"length past the header", {0x94, 0x08, 0x00, 0x00}, false},
      {"length 1", {0x07, 0x01, 0x00, 0x00}, false},
      {"length 0", {0x99, 0x00, 0x00, 0x00}, false},
      {"type without a length octet", {0x01, 0x01, 0x01, 0x99}, false},
      {"router alert of length 3", {0x94, 0x03, 0x00, 0x00}, false},
      {"timestamp of length 2", {0x44, 0x02, 0x01, 0x00}, false},
  };
  for (const Row& row : rows) {
    auto p = good;
    std::memcpy(p.data() + 20, row.option, 4);
    StoreBe16(p.data() + 10, 0);
    StoreBe16(p.data() + 10, InternetChecksum(std::span(p).first(24)));
    const auto r = ipv4::Ipv4Repr::Parse(p);
    EXPECT_EQ(r.ok(), row.ok) << row.name;
    if (!row.ok) {
      EXPECT_EQ(r.error(), ParseError::kBadOption) << row.name;
    }
  }
}

// --- icmpv4 -----------------------------------------------------------------

TEST(Icmpv4, DeconstructAndParse) {
  auto f = Vec(vectors::kIcmpEchoRequest);
  auto msg = std::span(f).subspan(34);
  auto h = icmpv4::Icmpv4Header::Checked(msg);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->type(), icmpv4::kTypeEchoRequest);
  EXPECT_EQ(h->ident(), 0x4242);
  auto r = icmpv4::Icmpv4Repr::Parse(msg);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->seq, 7);
  ASSERT_EQ(r->data.size(), 32u);
  EXPECT_EQ(r->data[31], std::byte{31});
}

TEST(Icmpv4, EchoReplyEmitMatchesScapy) {
  auto req = Vec(vectors::kIcmpEchoRequest);
  auto want = Vec(vectors::kIcmpEchoReply);
  auto in = icmpv4::Icmpv4Repr::Parse(std::span(req).subspan(34));
  ASSERT_TRUE(in.ok());
  auto reply = icmpv4::EchoReplyFor(*in, false);
  ASSERT_TRUE(reply);
  std::vector<std::byte> msg(req.begin() + 34, req.end());  // data already in place
  reply->EmitHeader(msg);
  EXPECT_TRUE(std::equal(msg.begin(), msg.end(), want.begin() + 34));
  EXPECT_FALSE(icmpv4::EchoReplyFor(*in, /*to_group_address=*/true));
  EXPECT_FALSE(icmpv4::EchoReplyFor(*reply, false));  // replies are not answered
}

TEST(Icmpv4, MalformedRows) {
  auto f = Vec(vectors::kIcmpEchoRequest);
  std::vector<std::byte> msg(f.begin() + 34, f.end());
  EXPECT_EQ(icmpv4::Icmpv4Repr::Parse(std::span(msg).first(7)).error(), ParseError::kTruncated);
  auto bad = msg;
  bad[20] ^= std::byte{1};
  EXPECT_EQ(icmpv4::Icmpv4Repr::Parse(bad).error(), ParseError::kBadChecksum);
}

TEST(Icmpv4Errors, Rfc1122RulesForSendingAnError) {
  ipv4::Ipv4Repr ip;
  ip.src = kIp1;
  ip.dst = kIp2;
  ip.protocol = 99;
  const std::byte udp_like[8] = {};
  EXPECT_TRUE(icmpv4::ErrorAllowed(ip, udp_like, false));
  EXPECT_FALSE(icmpv4::ErrorAllowed(ip, udp_like, /*to_group_address=*/true));
  auto bcast = ip;
  bcast.dst = Ipv4Address::Broadcast();
  EXPECT_FALSE(icmpv4::ErrorAllowed(bcast, udp_like, false));
  auto frag = ip;
  frag.frag_offset = 1480;
  EXPECT_FALSE(icmpv4::ErrorAllowed(frag, udp_like, false));
  auto nobody = ip;
  nobody.src = Ipv4Address();
  EXPECT_FALSE(icmpv4::ErrorAllowed(nobody, udp_like, false));
  auto icmp = ip;
  icmp.protocol = ipv4::kProtoIcmp;
  const std::byte echo[8] = {std::byte{8}};
  const std::byte unreachable[8] = {std::byte{3}, std::byte{3}};
  EXPECT_TRUE(icmpv4::ErrorAllowed(icmp, echo, false));
  EXPECT_FALSE(icmpv4::ErrorAllowed(icmp, unreachable, false));  // never an error about an error
}

TEST(Icmpv4Errors, DestUnreachableQuotesAndVerifies) {
  std::vector<std::byte> quote(28, std::byte{0x42});
  std::vector<std::byte> msg(8 + quote.size());
  std::copy(quote.begin(), quote.end(), msg.begin() + 8);
  auto r = icmpv4::DestUnreachable(icmpv4::kCodeProtocolUnreachable, std::span(msg).subspan(8));
  r.EmitHeader(msg);
  auto parsed = icmpv4::Icmpv4Repr::Parse(msg);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->type, icmpv4::kTypeDestUnreachable);
  EXPECT_EQ(parsed->code, 2);
  EXPECT_EQ(parsed->rest, 0u);
  EXPECT_TRUE(std::equal(parsed->data.begin(), parsed->data.end(), quote.begin(), quote.end()));
}

// RFC 1191 4: a router's Fragmentation Needed: the next-hop MTU in the low
// half of the second word; the quote's IPv4 header and TCP's first 8 bytes
// (ports and sequence number) read out.
TEST(Icmpv4Errors, FragmentationNeededCarriesTheNextHopMtuAndTheQuotedSequence) {
  const std::vector<std::uint8_t> quote = {
      0x45, 0x00, 0x05, 0xdc, 0x12, 0x34, 0x40, 0x00, 0x40, 0x06, 0x00, 0x00,  // 1500 octets, DF, TCP
      192,  0,    2,    2,    198,  51,   100,  7,                             // 192.0.2.2 > 198.51.100.7
      0x00, 0x07, 0x9c, 0x40, 0x01, 0x02, 0x03, 0x04};                         // 7 > 40000, seq 0x01020304
  std::vector<std::byte> msg(8 + quote.size());
  for (std::size_t i = 0; i < quote.size(); ++i) msg[8 + i] = std::byte{quote[i]};
  icmpv4::Icmpv4Repr r;
  r.type = icmpv4::kTypeDestUnreachable;
  r.code = icmpv4::kCodeFragmentationNeeded;
  r.rest = 1280;
  r.data = std::span(msg).subspan(8);
  r.EmitHeader(msg);
  EXPECT_EQ(msg[6], std::byte{0x05});  // the MTU's octets on the wire
  EXPECT_EQ(msg[7], std::byte{0x00});
  const auto parsed = icmpv4::Icmpv4Repr::Parse(msg);
  ASSERT_TRUE(parsed.ok());
  const auto report = icmpv4::ParseErrorReport(*parsed);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->code, 4);
  EXPECT_EQ(report->next_hop_mtu, 1280);
  EXPECT_EQ(report->total_len, 1500);
  EXPECT_EQ(report->protocol, ipv4::kProtoTcp);
  EXPECT_EQ(report->src_port, 7);
  EXPECT_EQ(report->dst_port, 40000);
  EXPECT_EQ(report->tcp_seq, 0x01020304u);
  EXPECT_EQ(icmpv4::ReportedPathMtu(*report), 1280u);
}

// RFC 1191 7: without a usable next-hop MTU, the plateau below the quoted
// datagram's length.
TEST(Icmpv4Errors, ReportedPathMtuFallsBackToThePlateaus) {
  struct Row {
    std::uint16_t next_hop, total;
    std::uint32_t want;
  };
  for (const Row& r : std::vector<Row>{{1280, 1500, 1280},
                                       {0, 1500, 1492},      // a pre-RFC 1191 router
                                       {1500, 1500, 1492},   // not smaller than what it refused: not believed
                                       {9000, 1500, 1492},
                                       {0, 1006, 508},
                                       {0, 4000, 2002},
                                       {0, 60, 68},          // RFC 791's floor
                                       {20, 1500, 68}}) {
    icmpv4::ErrorReport e;
    e.next_hop_mtu = r.next_hop;
    e.total_len = r.total;
    EXPECT_EQ(icmpv4::ReportedPathMtu(e), r.want) << r.next_hop << " " << r.total;
  }
}

TEST(Icmpv4Errors, RateLimiterIsATokenBucket) {
  icmpv4::ErrorRateLimiter limit(/*rate_per_second=*/100, /*burst=*/10);
  const Instant t = Instant::FromNanos(1'000'000'000);
  int allowed = 0;
  for (int i = 0; i < 50; ++i) allowed += limit.Allow(t);
  EXPECT_EQ(allowed, 10);  // the burst, then nothing at the same instant
  EXPECT_FALSE(limit.Allow(t + Duration::Millis(5)));  // half a token
  EXPECT_TRUE(limit.Allow(t + Duration::Millis(10)));  // one token later
  allowed = 0;
  for (int i = 0; i < 50; ++i) allowed += limit.Allow(t + Duration::Seconds(10));
  EXPECT_EQ(allowed, 10);  // refills to the burst, not beyond
}

}  // namespace
}  // namespace ringstack::proto
