// IPv6 (protocols/ipv6, protocols/icmpv6): the header, extension-header
// walking, ICMPv6, Neighbor Discovery and MLDv2 messages against scapy
// vectors both ways, and malformed rows.
#include <cstring>
#include <vector>

#include "gtest/gtest.h"
#include "protocols/icmpv6/icmpv6_repr.h"
#include "protocols/icmpv6/mld/mld_repr.h"
#include "protocols/icmpv6/nd/nd_repr.h"
#include "protocols/ipv6/ipv6_ext.h"
#include "protocols/ipv6/ipv6_repr.h"
#include "tests/vectors/vectors.h"

namespace ringstack::proto {
namespace {

template <std::size_t N>
std::vector<std::byte> Vec(const unsigned char (&a)[N]) {
  std::vector<std::byte> v(N);
  std::memcpy(v.data(), a, N);
  return v;
}

constexpr std::size_t kL3 = 14;       // IPv6 header in a frame
constexpr std::size_t kL4 = 14 + 40;  // what follows it
const MacAddress kMacA = *MacAddress::Parse("02:00:00:00:00:01");
const MacAddress kMacB = *MacAddress::Parse("52:54:00:12:34:56");
Ipv6Address A6(const char* s) { return *Ipv6Address::Parse(s); }

TEST(Ipv6Address, LinkLocalSolicitedNodeAndCombine) {
  EXPECT_EQ(Ipv6Address::LinkLocalFromMac(kMacA).ToString(), "fe80::ff:fe00:1");
  EXPECT_EQ(Ipv6Address::LinkLocalFromMac(kMacB).ToString(), "fe80::5054:ff:fe12:3456");
  EXPECT_EQ(A6("2001:db8::abcd:ef12").SolicitedNode().ToString(), "ff02::1:ffcd:ef12");
  EXPECT_EQ(Ipv6Address::Combine(A6("2001:db8:0:1::"), 64, A6("fe80::ff:fe00:1")).ToString(),
            "2001:db8:0:1:0:ff:fe00:1");
  EXPECT_EQ(MulticastMac(A6("ff02::1:ff00:1")).ToString(), "33:33:ff:00:00:01");
}

TEST(Ipv6, ParseAndEmitMatchScapy) {
  const auto f = Vec(vectors::kIpv6EchoRequest);
  const auto ip = ipv6::Ipv6Repr::Parse(std::span(f).subspan(kL3));
  ASSERT_TRUE(ip.ok());
  EXPECT_EQ(ip->src.ToString(), "2001:db8:0:1::1");
  EXPECT_EQ(ip->dst.ToString(), "2001:db8:0:1::2");
  EXPECT_EQ(ip->next_header, ipv6::kIcmpv6);
  EXPECT_EQ(ip->hop_limit, 64);
  EXPECT_EQ(ip->payload_len, f.size() - kL4);
  std::vector<std::byte> out(40);
  ip->Emit(out);
  EXPECT_TRUE(std::equal(out.begin(), out.end(), f.begin() + kL3));
}

TEST(Ipv6, MalformedRows) {
  const auto f = Vec(vectors::kIpv6EchoRequest);
  const std::vector<std::byte> p(f.begin() + kL3, f.end());
  EXPECT_EQ(ipv6::Ipv6Repr::Parse(std::span(p).first(39)).error(), ParseError::kTruncated);
  auto v4 = p;
  v4[0] = std::byte{0x40};
  EXPECT_EQ(ipv6::Ipv6Repr::Parse(v4).error(), ParseError::kBadVersion);
  auto long_len = p;
  StoreBe16(long_len.data() + 4, static_cast<std::uint16_t>(p.size()));
  EXPECT_EQ(ipv6::Ipv6Repr::Parse(long_len).error(), ParseError::kBadTotalLength);
  auto mcast_src = p;
  mcast_src[8] = std::byte{0xff};
  EXPECT_EQ(ipv6::Ipv6Repr::Parse(mcast_src).error(), ParseError::kBadSourceAddress);
}

TEST(Icmpv6, ParseVerifiesChecksumAndEchoReplyMatchesScapy) {
  const auto f = Vec(vectors::kIpv6EchoRequest);
  const auto ip = *ipv6::Ipv6Repr::Parse(std::span(f).subspan(kL3));
  const auto m = icmpv6::Icmpv6Repr::Parse(std::span(f).subspan(kL4), ip.src, ip.dst);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->type, icmpv6::kEchoRequest);
  EXPECT_EQ(LoadBe16(m->body.data()), 0x4242);
  EXPECT_EQ(icmpv6::Icmpv6Repr::Parse(std::span(f).subspan(kL4), ip.dst, ip.src).ok(), true);  // symmetric sum
  EXPECT_EQ(icmpv6::Icmpv6Repr::Parse(std::span(f).subspan(kL4), ip.src, A6("2001:db8::9")).error(),
            ParseError::kBadChecksum);
  // The reply: same body, type 129, checksum over the swapped pseudo-header.
  const auto want = Vec(vectors::kIpv6EchoReply);
  std::vector<std::byte> reply(f.begin() + kL4, f.end());
  icmpv6::Icmpv6Repr{icmpv6::kEchoReply, 0, {}}.EmitHeader(reply, ip.dst, ip.src);
  EXPECT_TRUE(std::equal(reply.begin(), reply.end(), want.begin() + kL4, want.end()));
}

// Builds an ICMPv6 message of `type` from a body emitter and compares it with
// the scapy frame's ICMPv6 part (after `l4` bytes).
template <typename Msg>
void ExpectEmitMatches(const Msg& msg, std::uint8_t type, const std::vector<std::byte>& frame, std::size_t l4) {
  const auto ip = *ipv6::Ipv6Repr::Parse(std::span(frame).subspan(kL3));
  std::vector<std::byte> m(4 + msg.body_len());
  msg.Emit(std::span(m).subspan(4));
  icmpv6::Icmpv6Repr{type, 0, {}}.EmitHeader(m, ip.src, ip.dst);
  ASSERT_EQ(m.size(), frame.size() - l4);
  EXPECT_TRUE(std::equal(m.begin(), m.end(), frame.begin() + static_cast<long>(l4)));
}

Bytes BodyOf(const std::vector<std::byte>& frame, std::size_t l4 = kL4) {
  return std::span(frame).subspan(l4 + 4);
}

TEST(Nd, NeighborSolicitationBothWays) {
  const auto dad = Vec(vectors::kNdDadProbe);
  const auto ns = nd::NeighborSolicitation::Parse(BodyOf(dad));
  ASSERT_TRUE(ns.ok());
  EXPECT_EQ(ns->target.ToString(), "fe80::ff:fe00:1");
  EXPECT_FALSE(ns->options.source_ll);  // RFC 4862 5.4.2: none from ::
  ExpectEmitMatches(*ns, icmpv6::kNeighborSolicitation, dad, kL4);
  const auto peer = Vec(vectors::kNdNsFromPeer);
  const auto ns2 = nd::NeighborSolicitation::Parse(BodyOf(peer));
  ASSERT_TRUE(ns2.ok());
  EXPECT_EQ(ns2->options.source_ll, kMacB);
  ExpectEmitMatches(*ns2, icmpv6::kNeighborSolicitation, peer, kL4);
}

TEST(Nd, NeighborAdvertisementBothWays) {
  nd::NeighborAdvertisement na;
  na.solicited = true;
  na.override_flag = true;
  na.target = A6("fe80::ff:fe00:1");
  na.options.target_ll = kMacA;
  ExpectEmitMatches(na, icmpv6::kNeighborAdvertisement, Vec(vectors::kNdNaSolicited), kL4);
  const auto f = Vec(vectors::kNdNaDefendsStatic);
  const auto got = nd::NeighborAdvertisement::Parse(BodyOf(f));
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->solicited);
  EXPECT_TRUE(got->override_flag);
  EXPECT_EQ(got->target.ToString(), "2001:db8:0:1::2");
  EXPECT_EQ(got->options.target_ll, kMacB);
}

TEST(Nd, RouterSolicitationAndAdvertisement) {
  nd::RouterSolicitation rs;
  rs.options.source_ll = kMacA;
  ExpectEmitMatches(rs, icmpv6::kRouterSolicitation, Vec(vectors::kNdRs), kL4);
  const auto f = Vec(vectors::kNdRa);
  const auto ra = nd::RouterAdvertisement::Parse(BodyOf(f));
  ASSERT_TRUE(ra.ok());
  EXPECT_EQ(ra->cur_hop_limit, 64);
  EXPECT_EQ(ra->router_lifetime, 1800);
  EXPECT_EQ(ra->options.source_ll, kMacB);
  EXPECT_EQ(ra->options.mtu, 1500u);
  ASSERT_EQ(ra->options.prefix_count, 1);
  const nd::PrefixInfo& p = ra->options.prefixes[0];
  EXPECT_EQ(p.prefix.ToString(), "2001:db8:0:1::");
  EXPECT_EQ(p.prefix_len, 64);
  EXPECT_TRUE(p.on_link && p.autonomous);
  EXPECT_EQ(p.valid_lifetime, 86400u);
  EXPECT_EQ(p.preferred_lifetime, 14400u);
  ASSERT_EQ(ra->options.rdnss_count, 1);
  EXPECT_EQ(ra->options.rdnss[0].ToString(), "2001:db8::53");
  EXPECT_EQ(ra->options.rdnss_lifetime, 600u);
  ExpectEmitMatches(*ra, icmpv6::kRouterAdvertisement, f, kL4);  // options in scapy's order
}

TEST(Nd, RedirectParses) {
  const auto f = Vec(vectors::kNdRedirect);
  const auto r = nd::Redirect::Parse(BodyOf(f));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->target.ToString(), "fe80::99");
  EXPECT_EQ(r->destination.ToString(), "2001:db8:2::7");
  EXPECT_EQ(r->options.target_ll, *MacAddress::Parse("52:54:00:00:00:99"));
  EXPECT_EQ(nd::Redirect::Parse(BodyOf(f).first(35)).error(), ParseError::kTruncated);
}

TEST(Icmpv6, ErrorMessagesParseWithTheirQuotes) {
  for (const auto& [frame, type] : {std::pair{Vec(vectors::kIcmpv6PacketTooBig), icmpv6::kPacketTooBig},
                                    std::pair{Vec(vectors::kIcmpv6TimeExceeded), icmpv6::kTimeExceeded},
                                    std::pair{Vec(vectors::kIcmpv6PortUnreachable), icmpv6::kDestUnreachable}}) {
    const auto ip = *ipv6::Ipv6Repr::Parse(std::span(frame).subspan(kL3));
    const auto m = icmpv6::Icmpv6Repr::Parse(std::span(frame).subspan(kL4), ip.src, ip.dst);
    ASSERT_TRUE(m.ok()) << static_cast<int>(type);
    EXPECT_EQ(m->type, type);
    EXPECT_TRUE(m->is_error());
    EXPECT_GE(m->body.size(), 4u + 40);  // a word, then the quoted header
  }
  const auto ptb = Vec(vectors::kIcmpv6PacketTooBig);
  EXPECT_EQ(LoadBe32(ptb.data() + kL4 + 4), 1280u);
}

TEST(Nd, MalformedOptionRows) {
  const auto f = Vec(vectors::kNdRa);
  const std::vector<std::byte> body(f.begin() + kL4 + 4, f.end());
  ASSERT_TRUE(nd::RouterAdvertisement::Parse(body).ok());
  struct Row {
    const char* name;
    std::size_t offset;  // in the body
    unsigned char value;
  };
  // Options start at 12: SLLA (8), MTU (8), prefix (32), RDNSS (24).
  const Row rows[] = {
      {"option length 0", 12 + 1, 0},
      {"SLLA of length 2", 12 + 1, 2},
      {"MTU of length 2", 20 + 1, 2},
      {"prefix info of length 3", 28 + 1, 3},
      {"prefix length 129", 28 + 2, 129},
      {"RDNSS of length 2 (no address)", 60 + 1, 2},
      {"option past the end", 60 + 1, 9},
  };
  for (const Row& row : rows) {
    auto bad = body;
    bad[row.offset] = std::byte{row.value};
    const auto r = nd::RouterAdvertisement::Parse(bad);
    ASSERT_FALSE(r.ok()) << row.name;
    EXPECT_EQ(r.error(), ParseError::kBadOption) << row.name;
  }
  EXPECT_EQ(nd::RouterAdvertisement::Parse(std::span(body).first(11)).error(), ParseError::kTruncated);
  EXPECT_EQ(nd::NeighborSolicitation::Parse(std::span(body).first(19)).error(), ParseError::kTruncated);
  // A multicast target is invalid (RFC 4861 7.1.1).
  auto ns = Vec(vectors::kNdNsFromPeer);
  std::vector<std::byte> nsb(ns.begin() + kL4 + 4, ns.end());
  nsb[4] = std::byte{0xff};
  EXPECT_EQ(nd::NeighborSolicitation::Parse(nsb).error(), ParseError::kBadOption);
}

TEST(Mld, ReportWithRouterAlertMatchesScapy) {
  const auto f = Vec(vectors::kMldv2ReportJoin);
  const auto ip = *ipv6::Ipv6Repr::Parse(std::span(f).subspan(kL3));
  EXPECT_EQ(ip.next_header, ipv6::kHopByHop);
  EXPECT_EQ(ip.hop_limit, 1);
  std::vector<std::byte> payload(ipv6::kRouterAlertHeaderLen + 4 + mld::ReportBodyLen(1));
  ipv6::EmitRouterAlertHeader(ipv6::kIcmpv6, payload);
  const mld::Record rec{mld::RecordType::kChangeToExclude, A6("ff02::1:ff00:1")};
  const auto msg = std::span(payload).subspan(ipv6::kRouterAlertHeaderLen);
  mld::EmitReport(std::span(&rec, 1), msg.subspan(4));
  icmpv6::Icmpv6Repr{icmpv6::kMldV2Report, 0, {}}.EmitHeader(msg, ip.src, ip.dst);
  ASSERT_EQ(payload.size(), f.size() - kL4);
  EXPECT_TRUE(std::equal(payload.begin(), payload.end(), f.begin() + kL4));
  mld::Record back[2];
  const auto n = mld::ParseReportRecords(msg.subspan(4), back);
  ASSERT_TRUE(n.ok());
  ASSERT_EQ(*n, 1u);
  EXPECT_EQ(back[0], rec);
}

TEST(Mld, QueriesV1AndV2) {
  const auto f = Vec(vectors::kMldv2GeneralQuery);
  const auto q = mld::ParseQuery(BodyOf(f, kL4 + 8));
  ASSERT_TRUE(q.ok());
  EXPECT_TRUE(q->v2);
  EXPECT_TRUE(q->general());
  EXPECT_EQ(q->max_response_ms, 10000u);
  std::vector<std::byte> v1(20);
  StoreBe16(v1.data(), 1000);
  A6("ff02::1:ff00:1").CopyTo(v1.data() + 4);
  const auto q1 = mld::ParseQuery(v1);
  ASSERT_TRUE(q1.ok());
  EXPECT_FALSE(q1->v2);
  EXPECT_FALSE(q1->general());
  EXPECT_EQ(q1->max_response_ms, 1000u);
  // Floating-point max response code: 0x8000 | exp 1 | mant 0 = 0x1000 << 4.
  std::vector<std::byte> v2(24);
  StoreBe16(v2.data(), 0x9000);
  EXPECT_EQ(mld::ParseQuery(v2)->max_response_ms, 0x1000u << 4);
  EXPECT_EQ(mld::ParseQuery(std::span(v2).first(19)).error(), ParseError::kTruncated);
  EXPECT_EQ(mld::ParseQuery(std::span(v2).first(22)).error(), ParseError::kBadTotalLength);
  StoreBe16(v2.data() + 22, 1);  // one source, not there
  EXPECT_EQ(mld::ParseQuery(v2).error(), ParseError::kBadTotalLength);
  auto unicast_group = v1;
  A6("2001:db8::1").CopyTo(unicast_group.data() + 4);
  EXPECT_EQ(mld::ParseQuery(unicast_group).error(), ParseError::kBadOption);
}

// --- extension headers ------------------------------------------------------

ipv6::ExtOutcome Walk(const std::vector<std::byte>& frame) {
  const auto ip = *ipv6::Ipv6Repr::Parse(std::span(frame).subspan(kL3));
  return ipv6::WalkExtensionHeaders(ip.next_header, std::span(frame).subspan(kL4, ip.payload_len),
                                    ip.dst.IsMulticast());
}

TEST(Ipv6Ext, ChainOfHopByHopDestOptsAndRoutingWithNoSegmentsLeft) {
  const auto out = Walk(Vec(vectors::kIpv6ExtChain));
  ASSERT_EQ(out.kind, ipv6::ExtOutcome::Kind::kUpper);
  EXPECT_EQ(out.protocol, ipv6::kIcmpv6);
  EXPECT_EQ(out.offset, 8u + 8 + 24);
  EXPECT_FALSE(out.router_alert);
  EXPECT_TRUE(Walk(Vec(vectors::kMldv2ReportJoin)).router_alert);
}

TEST(Ipv6Ext, UnknownOptionActions) {
  auto f = Vec(vectors::kIpv6UnknownOption);  // option type 0x87 at 40 + 2
  auto out = Walk(f);
  ASSERT_EQ(out.kind, ipv6::ExtOutcome::Kind::kParamProblem);
  EXPECT_EQ(out.code, ipv6::kParamProblemUnknownOption);
  EXPECT_EQ(out.pointer, 42u);
  const struct {
    unsigned char type;
    bool to_multicast;
    ipv6::ExtOutcome::Kind kind;
  } rows[] = {
      {0x07, false, ipv6::ExtOutcome::Kind::kUpper},         // 00: skip
      {0x47, false, ipv6::ExtOutcome::Kind::kDiscard},       // 01: discard
      {0x87, true, ipv6::ExtOutcome::Kind::kParamProblem},   // 10: ICMP even to multicast
      {0xc7, false, ipv6::ExtOutcome::Kind::kParamProblem},  // 11: ICMP if unicast
      {0xc7, true, ipv6::ExtOutcome::Kind::kDiscard},        // 11: silent if multicast
  };
  for (const auto& row : rows) {
    auto g = f;
    g[kL4 + 2] = std::byte{row.type};
    const auto ip = *ipv6::Ipv6Repr::Parse(std::span(g).subspan(kL3));
    const auto r = ipv6::WalkExtensionHeaders(ip.next_header, std::span(g).subspan(kL4, ip.payload_len),
                                              row.to_multicast);
    EXPECT_EQ(r.kind, row.kind) << static_cast<int>(row.type);
  }
}

TEST(Ipv6Ext, RoutingWithSegmentsLeftAndUnknownNextHeaderAreParameterProblems) {
  auto f = Vec(vectors::kIpv6ExtChain);
  // Routing header at 40 + 16: segments left 1 -> code 0 at its Routing Type.
  f[kL4 + 16 + 3] = std::byte{1};
  auto out = Walk(f);
  ASSERT_EQ(out.kind, ipv6::ExtOutcome::Kind::kParamProblem);
  EXPECT_EQ(out.code, ipv6::kParamProblemErroneousField);
  EXPECT_EQ(out.pointer, 40u + 16 + 2);
  // An unknown next header named by the IPv6 header: code 1, pointer 6.
  auto g = Vec(vectors::kIpv6EchoRequest);
  g[kL3 + 6] = std::byte{99};
  out = Walk(g);
  ASSERT_EQ(out.kind, ipv6::ExtOutcome::Kind::kParamProblem);
  EXPECT_EQ(out.code, ipv6::kParamProblemUnknownNextHeader);
  EXPECT_EQ(out.pointer, 6u);
  // Hop-by-hop anywhere but first: code 1 at the field naming it.
  auto h = Vec(vectors::kIpv6ExtChain);
  h[kL4 + 8] = std::byte{ipv6::kHopByHop};  // the destination options header's Next Header
  out = Walk(h);
  ASSERT_EQ(out.kind, ipv6::ExtOutcome::Kind::kParamProblem);
  EXPECT_EQ(out.pointer, 40u + 8);
  // A header running past the data is malformed.
  auto t = Vec(vectors::kIpv6ExtChain);
  t[kL4 + 16 + 1] = std::byte{9};  // routing header length 80 bytes
  out = Walk(t);
  EXPECT_EQ(out.kind, ipv6::ExtOutcome::Kind::kDiscard);
  EXPECT_EQ(out.error, ParseError::kTruncated);
}

TEST(Ipv6Ext, ScapyFragmentHeader) {
  const auto out = Walk(Vec(vectors::kIpv6FirstFragment));
  ASSERT_EQ(out.kind, ipv6::ExtOutcome::Kind::kFragment);
  EXPECT_EQ(out.fragment.ident, 0x77u);
  EXPECT_EQ(out.fragment.offset, 0);
  EXPECT_TRUE(out.fragment.more);
  EXPECT_EQ(out.fragment.next_header, ipv6::kIcmpv6);
  EXPECT_EQ(out.fragment.data_at, 8u);
}

TEST(Ipv6Ext, FragmentsStopTheWalkAndAtomicFragmentsDoNot) {
  std::vector<std::byte> payload(8 + 8 + 4);
  Store8(payload.data(), ipv6::kIcmpv6);  // fragment header: next ICMPv6
  StoreBe16(payload.data() + 2, static_cast<std::uint16_t>(1480 | 1));  // offset 1480, M
  StoreBe32(payload.data() + 4, 0xabcd);
  auto out = ipv6::WalkExtensionHeaders(ipv6::kFragment, payload, false);
  ASSERT_EQ(out.kind, ipv6::ExtOutcome::Kind::kFragment);
  EXPECT_EQ(out.fragment.offset, 1480);
  EXPECT_TRUE(out.fragment.more);
  EXPECT_EQ(out.fragment.ident, 0xabcdu);
  EXPECT_EQ(out.fragment.data_at, 8u);
  StoreBe16(payload.data() + 2, 0);  // atomic (RFC 6946)
  out = ipv6::WalkExtensionHeaders(ipv6::kFragment, payload, false);
  ASSERT_EQ(out.kind, ipv6::ExtOutcome::Kind::kUpper);
  EXPECT_EQ(out.protocol, ipv6::kIcmpv6);
  EXPECT_EQ(out.offset, 8u);
}

}  // namespace
}  // namespace ringstack::proto
