// The IPv6 state classes: the neighbour cache (a row per RFC 4861 7.3.2 /
// 7.2.5 transition), DAD and SLAAC and router discovery (Ipv6Host), and the
// MLDv2 listener.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gtest/gtest.h"
#include "protocols/common/sha256.h"
#include "protocols/icmpv6/mld/mld_host.h"
#include "protocols/icmpv6/nd/nd_cache.h"
#include "protocols/ipv6/ipv6_host.h"

namespace ringstack::proto::nd_test {
namespace {

using nd::NdCache;
using State = NdCache::State;

const MacAddress kMe = *MacAddress::Parse("02:00:00:00:00:01");
const MacAddress kMacB = *MacAddress::Parse("52:54:00:12:34:56");
const MacAddress kMacC = *MacAddress::Parse("52:54:00:ab:cd:ef");
const Instant kT0 = Instant::FromNanos(1'000'000'000);
Ipv6Address A6(const char* s) { return *Ipv6Address::Parse(s); }
const Ipv6Address kPeer = A6("fe80::5054:ff:fe12:3456");

struct Solicits {
  int multicast = 0;
  int unicast = 0;
  int failed = 0;
  void Run(NdCache& c, Instant now) {
    c.OnTimer(
        now, [&](const Ipv6Address&, std::optional<MacAddress> to) { (to ? unicast : multicast)++; },
        [&](const Ipv6Address&) { ++failed; });
  }
};

NdCache Reachable() {
  NdCache c;
  EXPECT_EQ(c.StartResolve(kPeer, kT0), NdCache::Resolve::kSendSolicitation);
  EXPECT_TRUE(c.OnAdvertisement(kPeer, kMacB, /*solicited=*/true, /*override=*/true, false, kT0));
  return c;
}

TEST(NdCache, IncompleteRetriesThenFails) {
  NdCache c;
  EXPECT_FALSE(c.Use(kPeer, kT0));
  c.StartResolve(kPeer, kT0);
  EXPECT_EQ(c.StartResolve(kPeer, kT0), NdCache::Resolve::kAlreadyPending);
  Solicits s;
  for (int i = 0; i < 3; ++i) s.Run(c, c.NextDeadline());
  EXPECT_EQ(s.multicast, 2);
  EXPECT_EQ(s.failed, 1);
  EXPECT_EQ(c.size(), 0u);
}

TEST(NdCache, IncompleteToReachableOnSolicitedNaAndStaleOnUnsolicited) {
  NdCache c = Reachable();
  EXPECT_EQ(c.Find(kPeer)->state, State::kReachable);
  EXPECT_EQ(c.Use(kPeer, kT0), kMacB);
  NdCache d;
  d.StartResolve(kPeer, kT0);
  EXPECT_TRUE(d.OnAdvertisement(kPeer, kMacB, false, true, false, kT0));
  EXPECT_EQ(d.Find(kPeer)->state, State::kStale);
  NdCache e;
  e.StartResolve(kPeer, kT0);
  EXPECT_FALSE(e.OnAdvertisement(kPeer, std::nullopt, true, true, false, kT0));  // no TLLA: ignored
  EXPECT_EQ(e.Find(kPeer)->state, State::kIncomplete);
}

TEST(NdCache, ReachableStaleDelayProbeAndGone) {
  NdCache c = Reachable();
  Solicits s;
  s.Run(c, kT0 + Duration::Seconds(30));
  EXPECT_EQ(c.Find(kPeer)->state, State::kStale);
  const Instant t = kT0 + Duration::Seconds(31);
  EXPECT_EQ(c.Use(kPeer, t), kMacB);  // still used
  EXPECT_EQ(c.Find(kPeer)->state, State::kDelay);
  s.Run(c, t + Duration::Seconds(5));
  EXPECT_EQ(c.Find(kPeer)->state, State::kProbe);
  EXPECT_EQ(s.unicast, 1);
  for (int i = 0; i < 3; ++i) s.Run(c, c.NextDeadline());
  EXPECT_EQ(s.unicast, 3);
  EXPECT_EQ(s.failed, 1);
  EXPECT_EQ(c.size(), 0u);
}

TEST(NdCache, ProbeConfirmedBySolicitedNa) {
  NdCache c = Reachable();
  Solicits s;
  s.Run(c, kT0 + Duration::Seconds(30));
  c.Use(kPeer, kT0 + Duration::Seconds(30));
  s.Run(c, kT0 + Duration::Seconds(35));
  ASSERT_EQ(c.Find(kPeer)->state, State::kProbe);
  c.OnAdvertisement(kPeer, kMacB, true, false, false, kT0 + Duration::Seconds(35));
  EXPECT_EQ(c.Find(kPeer)->state, State::kReachable);
}

struct NaRow {
  const char* name;
  bool solicited;
  bool override_flag;
  std::optional<MacAddress> tll;
  State want;
  MacAddress want_mac;
};

TEST(NdCache, Rfc4861Section725RowsFromReachable) {
  const NaRow rows[] = {
      {"S=0 O=0 different: STALE, address kept", false, false, kMacC, State::kStale, kMacB},
      {"S=1 O=0 different: STALE, address kept", true, false, kMacC, State::kStale, kMacB},
      {"S=0 O=1 different: STALE, address updated", false, true, kMacC, State::kStale, kMacC},
      {"S=1 O=1 different: REACHABLE, address updated", true, true, kMacC, State::kReachable, kMacC},
      {"S=1 O=0 same: REACHABLE", true, false, kMacB, State::kReachable, kMacB},
      {"S=0 O=0 same: unchanged", false, false, kMacB, State::kReachable, kMacB},
      {"S=1 no TLLA: REACHABLE", true, false, std::nullopt, State::kReachable, kMacB},
  };
  for (const NaRow& r : rows) {
    NdCache c = Reachable();
    c.OnAdvertisement(kPeer, r.tll, r.solicited, r.override_flag, false, kT0 + Duration::Seconds(1));
    EXPECT_EQ(c.Find(kPeer)->state, r.want) << r.name;
    EXPECT_EQ(c.Find(kPeer)->mac, r.want_mac) << r.name;
  }
}

TEST(NdCache, SolicitationsCreateStaleEntriesAndCompleteIncompleteOnes) {
  NdCache c;
  EXPECT_FALSE(c.OnSolicitation(kPeer, kMacB, kT0));
  EXPECT_EQ(c.Find(kPeer)->state, State::kStale);
  EXPECT_FALSE(c.OnSolicitation(A6("fe80::9"), std::nullopt, kT0));  // no SLLA: nothing
  EXPECT_EQ(c.size(), 1u);
  NdCache d;
  d.StartResolve(kPeer, kT0);
  EXPECT_TRUE(d.OnSolicitation(kPeer, kMacB, kT0));
  EXPECT_EQ(d.Use(kPeer, kT0), kMacB);
}

// --- Ipv6Host ---------------------------------------------------------------

ipv6::Ipv6Host::Events RunHost(ipv6::Ipv6Host& h, Instant until) {
  ipv6::Ipv6Host::Events all;
  while (h.NextDeadline() <= until) all.Merge(h.OnTimer(h.NextDeadline()));
  return all;
}

TEST(Ipv6Host, DadJoinsTheGroupProbesOnceThenPrefers) {
  ipv6::Ipv6Host h(kMe, 1);
  const Ipv6Address ll = h.link_local();
  EXPECT_EQ(ll.ToString(), "fe80::ff:fe00:1");
  auto ev = h.AddAddress({ll, 64}, ipv6::Origin::kLinkLocal, kT0);
  ASSERT_EQ(ev.join.size(), 1u);
  EXPECT_EQ(ev.join[0].ToString(), "ff02::1:ff00:1");
  EXPECT_FALSE(h.IsLocal(ll));
  EXPECT_TRUE(h.IsJoined(A6("ff02::1:ff00:1")));
  EXPECT_LE(h.NextDeadline(), kT0 + Duration::Seconds(1));  // random delay <= 1 s
  auto probe = h.OnTimer(h.NextDeadline());
  ASSERT_EQ(probe.send_dad.size(), 1u);
  const Instant sent = h.NextDeadline();
  EXPECT_TRUE(h.OnTimer(sent + Duration::Nanos(-1)).preferred.empty());  // RetransTimer not over yet
  auto done = h.OnTimer(sent);
  ASSERT_EQ(done.preferred.size(), 1u);
  EXPECT_TRUE(h.IsLocal(ll));
  EXPECT_EQ(h.Find(ll)->state, ipv6::AddrState::kPreferred);
}

TEST(Ipv6Host, AnNaOrAnotherDadMakesATentativeAddressDuplicate) {
  for (int how = 0; how < 2; ++how) {
    ipv6::Ipv6Host h(kMe, 2);
    const Ipv6Address a = A6("2001:db8:0:1::2");
    h.AddAddress({a, 64}, ipv6::Origin::kStatic, kT0);
    h.OnTimer(h.NextDeadline());  // the NS went out
    auto ev = how == 0 ? h.OnNeighborAdvertisement(a, kT0) : h.OnNeighborSolicitation(Ipv6Address(), a, kT0);
    ASSERT_EQ(ev.duplicate.size(), 1u) << how;
    EXPECT_EQ(ev.leave.size(), 1u) << how;
    EXPECT_EQ(h.Find(a)->state, ipv6::AddrState::kDuplicate) << how;
    EXPECT_TRUE(RunHost(h, kT0 + Duration::Seconds(10)).preferred.empty()) << how;
    EXPECT_FALSE(h.IsLocal(a)) << how;
  }
  // An NS from a real source (address resolution) is not a DAD collision.
  ipv6::Ipv6Host h(kMe, 3);
  const Ipv6Address a = A6("2001:db8:0:1::2");
  h.AddAddress({a, 64}, ipv6::Origin::kStatic, kT0);
  EXPECT_TRUE(h.OnNeighborSolicitation(kPeer, a, kT0).duplicate.empty());
}

nd::RouterAdvertisement Ra(std::uint16_t lifetime, std::uint8_t prefix_len = 64, std::uint32_t valid = 86400,
                           std::uint32_t preferred = 14400) {
  nd::RouterAdvertisement ra;
  ra.router_lifetime = lifetime;
  nd::PrefixInfo p;
  p.prefix = A6("2001:db8:0:1::");
  p.prefix_len = prefix_len;
  p.on_link = true;
  p.autonomous = true;
  p.valid_lifetime = valid;
  p.preferred_lifetime = preferred;
  ra.options.prefixes[0] = p;
  ra.options.prefix_count = 1;
  ra.options.mtu = 1400;
  ra.options.rdnss[0] = A6("2001:db8::53");
  ra.options.rdnss_count = 1;
  ra.options.rdnss_lifetime = 600;
  return ra;
}

TEST(Ipv6Host, RouterAdvertisementGivesASlaacAddressRouterPrefixMtuAndDns) {
  ipv6::Ipv6Host h(kMe, 4);
  h.AddAddress({h.link_local(), 64}, ipv6::Origin::kLinkLocal, kT0, /*dad=*/false);
  const Ipv6Address router = A6("fe80::1");
  auto ev = h.OnRouterAdvertisement(router, Ra(1800), kT0);
  const Ipv6Address slaac = A6("2001:db8:0:1:0:ff:fe00:1");
  ASSERT_NE(h.Find(slaac), nullptr);
  EXPECT_EQ(h.Find(slaac)->state, ipv6::AddrState::kTentative);  // DAD first
  EXPECT_TRUE(ev.join.empty());  // same solicited-node group as the link-local
  RunHost(h, kT0 + Duration::Seconds(3));
  EXPECT_TRUE(h.IsLocal(slaac));
  EXPECT_EQ(h.mtu(), 1400u);
  ASSERT_EQ(h.dns().size(), 1u);
  // Routing: the prefix is on-link; elsewhere via the router; sources by scope.
  EXPECT_EQ(h.Lookup(A6("2001:db8:0:1::77"))->next_hop.ToString(), "2001:db8:0:1::77");
  EXPECT_EQ(h.Lookup(A6("2001:db8:2::7"))->next_hop, router);
  EXPECT_EQ(h.Lookup(A6("2001:db8:2::7"))->src, slaac);
  EXPECT_EQ(h.SourceFor(A6("fe80::9")), h.link_local());
  // Lifetimes: deprecated at 4 h, the router gone at 30 min, the address gone at 24 h.
  RunHost(h, kT0 + Duration::Seconds(1801));
  EXPECT_FALSE(h.Lookup(A6("2001:db8:2::7")));
  RunHost(h, kT0 + Duration::Seconds(14401));
  EXPECT_EQ(h.Find(slaac)->state, ipv6::AddrState::kDeprecated);
  EXPECT_TRUE(h.IsLocal(slaac));  // still valid
  auto gone = RunHost(h, kT0 + Duration::Seconds(86401));
  ASSERT_EQ(gone.removed.size(), 1u);
  EXPECT_FALSE(h.Find(slaac));
}

TEST(Ipv6Host, NonSlash64PrefixIsLoggedAndIgnoredForSlaac) {
  ipv6::Ipv6Host h(kMe, 5);
  auto ev = h.OnRouterAdvertisement(A6("fe80::1"), Ra(1800, 56), kT0);
  ASSERT_EQ(ev.log.size(), 1u);
  EXPECT_NE(ev.log[0].find("not a /64"), std::string::npos);
  EXPECT_EQ(h.addresses().size(), 0u);
  EXPECT_EQ(h.prefixes().size(), 1u);  // still on-link
}

TEST(Ipv6Host, TwoHourRuleProtectsTheValidLifetime) {
  ipv6::Ipv6Host h(kMe, 6);
  h.OnRouterAdvertisement(A6("fe80::1"), Ra(1800), kT0);
  const Ipv6Address slaac = A6("2001:db8:0:1:0:ff:fe00:1");
  // A spoofed RA trying to cut the lifetime to 10 s gets two hours.
  h.OnRouterAdvertisement(A6("fe80::1"), Ra(1800, 64, 10, 5), kT0 + Duration::Seconds(1));
  EXPECT_EQ(h.Find(slaac)->valid_until, kT0 + Duration::Seconds(1) + Duration::Seconds(7200));
  // A longer one is taken as is.
  h.OnRouterAdvertisement(A6("fe80::1"), Ra(1800, 64, 90000, 100), kT0 + Duration::Seconds(2));
  EXPECT_EQ(h.Find(slaac)->valid_until, kT0 + Duration::Seconds(2) + Duration::Seconds(90000));
}

TEST(Ipv6Host, RouterSolicitationsBackOffUntilAnAdvertisement) {
  ipv6::Ipv6Host h(kMe, 7);
  h.StartRouterSolicitation(kT0);
  std::vector<Instant> sent;
  for (int i = 0; i < 6; ++i) {
    const Instant t = h.NextDeadline();
    if (h.OnTimer(t).send_rs) sent.push_back(t);
  }
  ASSERT_EQ(sent.size(), 6u);
  EXPECT_LE(sent[0], kT0 + Duration::Seconds(1));
  EXPECT_EQ(sent[1] - sent[0], Duration::Seconds(4));
  EXPECT_EQ(sent[2] - sent[1], Duration::Seconds(4));
  EXPECT_EQ(sent[3] - sent[2], Duration::Seconds(8));   // then doubling (RFC 7559)
  EXPECT_EQ(sent[4] - sent[3], Duration::Seconds(16));
  h.OnRouterAdvertisement(A6("fe80::1"), Ra(1800), sent.back());
  EXPECT_FALSE(h.OnTimer(sent.back() + Duration::Seconds(100)).send_rs);
  // An RA heard before solicitation would start makes it unnecessary.
  ipv6::Ipv6Host early(kMe, 8);
  early.OnRouterAdvertisement(A6("fe80::1"), Ra(1800), kT0);
  early.StartRouterSolicitation(kT0);
  EXPECT_FALSE(early.OnTimer(kT0 + Duration::Seconds(2)).send_rs);
}

TEST(Ipv6Host, StaticAddressPrefixIsOnLinkAndGw6IsTheFallbackRouter) {
  ipv6::Ipv6Host h(kMe, 8);
  h.AddAddress({A6("2001:db8:0:1::2"), 64}, ipv6::Origin::kStatic, kT0, false);
  EXPECT_FALSE(h.Lookup(A6("2001:db8:2::7")));
  h.AddStaticRouter(A6("2001:db8:0:1::1"));
  EXPECT_EQ(h.Lookup(A6("2001:db8:2::7"))->next_hop.ToString(), "2001:db8:0:1::1");
  EXPECT_EQ(h.Lookup(A6("2001:db8:0:1::9"))->next_hop.ToString(), "2001:db8:0:1::9");
}

TEST(Ipv6Host, RedirectOnlyFromTheCurrentFirstHopRouter) {
  ipv6::Ipv6Host h(kMe, 9);
  h.AddAddress({h.link_local(), 64}, ipv6::Origin::kLinkLocal, kT0, false);
  h.OnRouterAdvertisement(A6("fe80::1"), Ra(1800), kT0);
  nd::Redirect r;
  r.target = A6("fe80::99");
  r.destination = A6("2001:db8:2::7");
  EXPECT_FALSE(h.OnRedirect(A6("fe80::2"), r));  // not our first hop for it
  EXPECT_EQ(h.Lookup(r.destination)->next_hop.ToString(), "fe80::1");
  EXPECT_TRUE(h.OnRedirect(A6("fe80::1"), r));
  EXPECT_EQ(h.Lookup(r.destination)->next_hop.ToString(), "fe80::99");
  EXPECT_EQ(h.Lookup(A6("2001:db8:2::8"))->next_hop.ToString(), "fe80::1");  // only that destination
  nd::Redirect bad = r;
  bad.target = A6("2001:db8:9::1");  // neither link-local nor the destination
  EXPECT_FALSE(h.OnRedirect(A6("fe80::99"), bad));
}

TEST(Sha256, Fips180Vectors) {
  auto hex = [](const std::array<std::byte, 32>& d) {
    std::string s;
    for (std::byte b : d) s += "0123456789abcdef"[static_cast<unsigned>(b) >> 4], s += "0123456789abcdef"[static_cast<unsigned>(b) & 15];
    return s;
  };
  Sha256 empty;
  EXPECT_EQ(hex(empty.Finish()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  Sha256 abc;
  abc.Update(std::as_bytes(std::span(std::string_view("abc"))));
  EXPECT_EQ(hex(abc.Finish()), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Sha256 two_blocks;  // 56 bytes: the padding spills into a second block
  two_blocks.Update(std::as_bytes(std::span(std::string_view("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))));
  EXPECT_EQ(hex(two_blocks.Finish()), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Ipv6Host, StablePrivacyIdentifiers) {
  ipv6::Ipv6HostConfig cfg;
  cfg.stable_secret = "a secret of sixteen+ chars";
  ipv6::Ipv6Host a(kMe, 1, cfg), b(kMe, 2, cfg);
  const Ipv6Address p1 = A6("2001:db8:0:1::"), p2 = A6("2001:db8:0:2::");
  EXPECT_EQ(a.FormAddress(p1, 0), b.FormAddress(p1, 0));  // stable for the same network
  EXPECT_NE(a.FormAddress(p1, 0), ipv6::Ipv6Host(kMe, 1).FormAddress(p1, 0));  // not EUI-64
  EXPECT_NE(a.FormAddress(p1, 0).bytes().subspan(8).front(), a.FormAddress(p2, 0).bytes().subspan(8).front());
  EXPECT_NE(a.FormAddress(p1, 0), a.FormAddress(p1, 1));
  cfg.stable_secret = "another secret, also long";
  EXPECT_NE(ipv6::Ipv6Host(kMe, 1, cfg).FormAddress(p1, 0), a.FormAddress(p1, 0));
  // A DAD collision forms the next address (DAD_Counter 1).
  a.OnRouterAdvertisement(A6("fe80::1"), Ra(1800), kT0);
  const Ipv6Address first = a.FormAddress(p1, 0);
  ASSERT_NE(a.Find(first), nullptr);
  auto ev = a.OnNeighborAdvertisement(first, kT0);
  ASSERT_EQ(ev.duplicate.size(), 1u);
  ASSERT_EQ(ev.log.size(), 1u);
  const Ipv6Address second = a.FormAddress(p1, 1);
  ASSERT_NE(a.Find(second), nullptr);
  EXPECT_EQ(a.Find(second)->state, ipv6::AddrState::kTentative);
  RunHost(a, kT0 + Duration::Seconds(3));
  EXPECT_TRUE(a.IsLocal(second));
  // A later RA refreshes that address rather than forming another.
  a.OnRouterAdvertisement(A6("fe80::1"), Ra(1800), kT0 + Duration::Seconds(4));
  EXPECT_EQ(a.addresses().size(), 2u);
}

// --- MLDv2 listener ------------------------------------------------------------

TEST(MldHost, JoinReportsAtOnceAndOnceMoreWithinASecond) {
  mld::MldHost m(1);
  const auto now = m.Join(A6("ff02::1:ff00:1"), kT0);
  ASSERT_EQ(now.size(), 1u);
  EXPECT_EQ(now[0].type, mld::RecordType::kChangeToExclude);
  EXPECT_TRUE(m.Join(A6("ff02::1:ff00:1"), kT0).empty());  // already joined
  EXPECT_TRUE(m.Join(Ipv6Address::AllNodes(), kT0).empty());  // never reported
  EXPECT_LE(m.NextDeadline(), kT0 + Duration::Seconds(1));
  int reports = 0;
  m.OnTimer(m.NextDeadline(), [&](const std::vector<mld::Record>& r) {
    EXPECT_EQ(r.size(), 1u);
    ++reports;
  });
  EXPECT_EQ(reports, 1);
  EXPECT_TRUE(m.NextDeadline().IsNever());  // robustness 2: two in all
}

TEST(MldHost, GeneralQueryGetsOneReportOfAllGroupsWithinTheDelay) {
  mld::MldHost m(2);
  m.Join(A6("ff02::1:ff00:1"), kT0);
  m.Join(A6("ff02::1:ff12:3456"), kT0);
  m.OnTimer(kT0 + Duration::Seconds(2), [](const auto&) {});
  mld::Query q;
  q.max_response_ms = 10000;
  q.v2 = true;
  m.OnQuery(q, kT0 + Duration::Seconds(10));
  EXPECT_LE(m.NextDeadline(), kT0 + Duration::Seconds(20));
  std::vector<mld::Record> got;
  m.OnTimer(m.NextDeadline(), [&](const std::vector<mld::Record>& r) { got = r; });
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].type, mld::RecordType::kModeIsExclude);
  // A group-specific query for a group not joined is ignored.
  q.group = A6("ff02::1:ff99:9999");
  m.OnQuery(q, kT0 + Duration::Seconds(30));
  EXPECT_TRUE(m.NextDeadline().IsNever());
}

TEST(MldHost, LeaveReportsChangeToInclude) {
  mld::MldHost m(3);
  m.Join(A6("ff02::1:ff00:1"), kT0);
  const auto r = m.Leave(A6("ff02::1:ff00:1"), kT0);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].type, mld::RecordType::kChangeToInclude);
  EXPECT_TRUE(m.groups().empty());
}

}  // namespace
}  // namespace ringstack::proto::nd_test
