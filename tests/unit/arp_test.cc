// The ARP neighbour state machine (one row per transition), RFC 5227
// Address Conflict Detection, and the IPv4 address/routing table.
#include <optional>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "protocols/arp/arp_acd.h"
#include "protocols/arp/arp_cache.h"
#include "protocols/ipv4/ipv4_host.h"

namespace ringstack::proto::arp_test {
namespace {

using arp::ArpCache;
using arp::ArpRepr;
using arp::ConflictDetector;
using State = ArpCache::State;

const MacAddress kMe = *MacAddress::Parse("02:00:00:00:00:01");
const MacAddress kMacB = *MacAddress::Parse("52:54:00:12:34:56");
const MacAddress kMacC = *MacAddress::Parse("52:54:00:ab:cd:ef");
const Ipv4Address kIp1 = *Ipv4Address::Parse("192.0.2.1");
const Ipv4Address kIp2 = *Ipv4Address::Parse("192.0.2.2");
const Instant kT0 = Instant::FromNanos(1'000'000'000);

Ipv4Address Ip(const char* s) { return *Ipv4Address::Parse(s); }

// --- ArpCache --------------------------------------------------------------

struct Timer {
  int broadcast = 0;
  int unicast = 0;
  std::vector<Ipv4Address> failed;
  void Run(ArpCache& cache, Instant now) {
    cache.OnTimer(
        now,
        [&](Ipv4Address, std::optional<MacAddress> to) {
          if (to) {
            EXPECT_EQ(*to, kMacB);
            ++unicast;
          } else {
            ++broadcast;
          }
        },
        [&](Ipv4Address ip) { failed.push_back(ip); });
  }
};

ArpCache Reachable(const arp::ArpCacheConfig& cfg = {}) {
  ArpCache cache(cfg);
  EXPECT_EQ(cache.StartResolve(kIp1, kT0), ArpCache::Resolve::kSendRequest);
  EXPECT_TRUE(cache.OnArp(ArpRepr{arp::kOpReply, kMacB, kIp1, kMe, kIp2}, true, kT0));
  return cache;
}

TEST(ArpCache, NoneToIncompleteSendsOneRequestAndRetries) {
  arp::ArpCacheConfig cfg;
  ArpCache cache(cfg);
  EXPECT_FALSE(cache.Use(kIp1, kT0));
  EXPECT_EQ(cache.StartResolve(kIp1, kT0), ArpCache::Resolve::kSendRequest);
  EXPECT_EQ(cache.StartResolve(kIp1, kT0), ArpCache::Resolve::kAlreadyPending);
  EXPECT_EQ(cache.Find(kIp1)->state, State::kIncomplete);
  EXPECT_FALSE(cache.Use(kIp1, kT0));  // no address to send by yet
  EXPECT_EQ(cache.NextDeadline(), kT0 + cfg.retry_interval);
}

TEST(ArpCache, IncompleteFailsAfterMaxRequests) {
  ArpCache cache;
  cache.StartResolve(kIp1, kT0);
  Timer timer;
  for (int i = 0; i < 3; ++i) timer.Run(cache, cache.NextDeadline());
  EXPECT_EQ(timer.broadcast, 2);  // requests 2 and 3
  ASSERT_EQ(timer.failed.size(), 1u);
  EXPECT_EQ(timer.failed[0], kIp1);
  EXPECT_EQ(cache.size(), 0u);
}

TEST(ArpCache, IncompleteToReachableOnReply) {
  ArpCache cache = Reachable();
  EXPECT_EQ(cache.Find(kIp1)->state, State::kReachable);
  const auto hit = cache.Use(kIp1, kT0);
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->mac, kMacB);
  EXPECT_FALSE(hit->send_probe);
}

TEST(ArpCache, ReachableToStaleAfterReachableTime) {
  arp::ArpCacheConfig cfg;
  ArpCache cache = Reachable(cfg);
  Timer timer;
  timer.Run(cache, kT0 + cfg.reachable_time);
  EXPECT_EQ(cache.Find(kIp1)->state, State::kStale);
  EXPECT_EQ(cache.Peek(kIp1), kMacB);  // still known
  EXPECT_EQ(timer.broadcast + timer.unicast, 0);
}

TEST(ArpCache, StaleUseSendsAndStartsAUnicastProbe) {
  arp::ArpCacheConfig cfg;
  ArpCache cache = Reachable(cfg);
  Timer timer;
  const Instant t = kT0 + cfg.reachable_time;
  timer.Run(cache, t);
  const auto hit = cache.Use(kIp1, t);
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->mac, kMacB);
  EXPECT_TRUE(hit->send_probe);
  EXPECT_EQ(cache.Find(kIp1)->state, State::kProbe);
  EXPECT_FALSE(cache.Use(kIp1, t)->send_probe);  // one probe per retry interval, from the timer
}

TEST(ArpCache, ProbeToReachableOnAnswer) {
  arp::ArpCacheConfig cfg;
  ArpCache cache = Reachable(cfg);
  Timer timer;
  const Instant t = kT0 + cfg.reachable_time;
  timer.Run(cache, t);
  cache.Use(kIp1, t);
  EXPECT_FALSE(cache.OnArp(ArpRepr{arp::kOpReply, kMacB, kIp1, kMe, kIp2}, true, t));  // not a completion
  EXPECT_EQ(cache.Find(kIp1)->state, State::kReachable);
}

TEST(ArpCache, ProbeUnansweredRemovesTheEntry) {
  arp::ArpCacheConfig cfg;
  ArpCache cache = Reachable(cfg);
  Timer timer;
  const Instant t = kT0 + cfg.reachable_time;
  timer.Run(cache, t);
  cache.Use(kIp1, t);
  for (int i = 0; i < 3; ++i) timer.Run(cache, cache.NextDeadline());
  EXPECT_EQ(timer.unicast, 2);  // probes 2 and 3 (the first went with the Use)
  EXPECT_EQ(timer.broadcast, 0);
  EXPECT_EQ(timer.failed.size(), 1u);
  EXPECT_EQ(cache.size(), 0u);
}

TEST(ArpCache, UnusedStaleEntryIsRemoved) {
  arp::ArpCacheConfig cfg;
  ArpCache cache = Reachable(cfg);
  Timer timer;
  timer.Run(cache, kT0 + cfg.reachable_time);
  timer.Run(cache, kT0 + cfg.reachable_time + cfg.stale_lifetime);
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_TRUE(timer.failed.empty());  // nothing waited on it
}

TEST(ArpCache, MergeRuleAndGratuitousArp) {
  ArpCache cache;
  ArpRepr other{arp::kOpRequest, kMacB, kIp1, MacAddress(), Ip("192.0.2.9")};
  EXPECT_FALSE(cache.OnArp(other, /*for_me=*/false, kT0));
  EXPECT_FALSE(cache.Peek(kIp1));  // not for us, unknown sender: not added
  EXPECT_FALSE(cache.OnArp(other, /*for_me=*/true, kT0));
  EXPECT_EQ(cache.Peek(kIp1), kMacB);
  // A gratuitous ARP (sender == target) from a host that moved updates the
  // entry even though it is not for us.
  const ArpRepr gratuitous{arp::kOpRequest, kMacC, kIp1, MacAddress(), kIp1};
  cache.OnArp(gratuitous, false, kT0);
  EXPECT_EQ(cache.Peek(kIp1), kMacC);
  EXPECT_EQ(cache.Find(kIp1)->state, State::kReachable);
  // A gratuitous ARP for an unknown host adds nothing.
  cache.OnArp(ArpRepr{arp::kOpRequest, kMacC, Ip("192.0.2.7"), MacAddress(), Ip("192.0.2.7")}, false, kT0);
  EXPECT_EQ(cache.size(), 1u);
}

TEST(ArpCache, ProbesTeachNothingAndAFullCacheRefuses) {
  arp::ArpCacheConfig cfg;
  cfg.max_entries = 1;
  ArpCache cache(cfg);
  cache.OnArp(ArpRepr{arp::kOpRequest, kMacB, Ipv4Address(), MacAddress(), kIp2}, true, kT0);
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(cache.StartResolve(kIp1, kT0), ArpCache::Resolve::kSendRequest);
  EXPECT_EQ(cache.StartResolve(Ip("192.0.2.7"), kT0), ArpCache::Resolve::kCacheFull);
}

// --- ConflictDetector (RFC 5227) --------------------------------------------

struct AcdLog {
  std::vector<std::pair<Duration, ConflictDetector::Send>> sent;
  std::vector<Duration> claimed;
};

// Runs the detector's timers until nothing is due or `until`.
AcdLog RunAcd(ConflictDetector& acd, Instant until) {
  AcdLog log;
  while (acd.NextDeadline() <= until) {
    const Instant t = acd.NextDeadline();
    acd.OnTimer(
        t, [&](Ipv4Address, ConflictDetector::Send s) { log.sent.emplace_back(t - kT0, s); },
        [&](Ipv4Address) { log.claimed.push_back(t - kT0); });
  }
  return log;
}

TEST(Acd, ProbesThenAnnouncesOnRfc5227Schedule) {
  ConflictDetector acd(kMe, 42);
  acd.Start(kIp2, kT0);
  EXPECT_EQ(acd.phase(kIp2), ConflictDetector::Phase::kProbing);
  const AcdLog log = RunAcd(acd, kT0 + Duration::Seconds(60));
  ASSERT_EQ(log.sent.size(), 5u);  // 3 probes, 2 announcements
  for (int i = 0; i < 3; ++i) EXPECT_EQ(log.sent[i].second, ConflictDetector::Send::kProbe);
  EXPECT_LE(log.sent[0].first, Duration::Seconds(1));  // PROBE_WAIT
  for (int i = 1; i < 3; ++i) {
    const Duration gap = log.sent[i].first - log.sent[i - 1].first;
    EXPECT_GE(gap, Duration::Seconds(1));  // PROBE_MIN
    EXPECT_LE(gap, Duration::Seconds(2));  // PROBE_MAX
  }
  ASSERT_EQ(log.claimed.size(), 1u);
  EXPECT_EQ(log.claimed[0] - log.sent[2].first, Duration::Seconds(2));  // ANNOUNCE_WAIT
  EXPECT_EQ(log.sent[3].second, ConflictDetector::Send::kAnnouncement);
  EXPECT_EQ(log.sent[3].first, log.claimed[0]);
  EXPECT_EQ(log.sent[4].first - log.sent[3].first, Duration::Seconds(2));  // ANNOUNCE_INTERVAL
  EXPECT_EQ(acd.phase(kIp2), ConflictDetector::Phase::kBound);
  EXPECT_TRUE(acd.NextDeadline().IsNever());
}

TEST(Acd, ProbeAndAnnouncementPackets) {
  ConflictDetector acd(kMe, 1);
  EXPECT_EQ(acd.Probe(kIp2), (ArpRepr{arp::kOpRequest, kMe, Ipv4Address(), MacAddress(), kIp2}));
  EXPECT_EQ(acd.Announcement(kIp2), (ArpRepr{arp::kOpRequest, kMe, kIp2, MacAddress(), kIp2}));
}

TEST(Acd, SameSeedSameSchedule) {
  ConflictDetector a(kMe, 7), b(kMe, 7);
  a.Start(kIp2, kT0);
  b.Start(kIp2, kT0);
  const auto la = RunAcd(a, kT0 + Duration::Seconds(60));
  const auto lb = RunAcd(b, kT0 + Duration::Seconds(60));
  ASSERT_EQ(la.sent.size(), lb.sent.size());
  for (std::size_t i = 0; i < la.sent.size(); ++i) EXPECT_EQ(la.sent[i].first, lb.sent[i].first);
}

struct ConflictRow {
  const char* name;
  ArpRepr arp;
  ConflictDetector::Verdict verdict;
};

TEST(Acd, WhatCountsAsAConflictWhileProbing) {
  const ConflictRow rows[] = {
      {"reply from the owner", {arp::kOpReply, kMacB, kIp2, kMe, Ipv4Address()}, ConflictDetector::Verdict::kConflict},
      {"owner's gratuitous ARP", {arp::kOpRequest, kMacB, kIp2, MacAddress(), kIp2}, ConflictDetector::Verdict::kConflict},
      {"another host probing for it", {arp::kOpRequest, kMacB, Ipv4Address(), MacAddress(), kIp2},
       ConflictDetector::Verdict::kConflict},
      {"someone asking for it (not a conflict)", {arp::kOpRequest, kMacB, kIp1, MacAddress(), kIp2},
       ConflictDetector::Verdict::kNone},
      {"our own probe looped back", {arp::kOpRequest, kMe, Ipv4Address(), MacAddress(), kIp2},
       ConflictDetector::Verdict::kNone},
      {"traffic about other addresses", {arp::kOpReply, kMacB, kIp1, kMe, Ip("192.0.2.9")},
       ConflictDetector::Verdict::kNone},
  };
  for (const ConflictRow& row : rows) {
    ConflictDetector acd(kMe, 3);
    acd.Start(kIp2, kT0);
    RunAcd(acd, kT0 + Duration::Millis(1500));  // a probe or two out
    const auto seen = acd.OnArp(row.arp, kT0 + Duration::Seconds(2));
    EXPECT_EQ(seen.verdict, row.verdict) << row.name;
    if (row.verdict == ConflictDetector::Verdict::kConflict) {
      EXPECT_EQ(seen.ip, kIp2) << row.name;
      EXPECT_EQ(seen.other, kMacB) << row.name;
      EXPECT_EQ(acd.phase(kIp2), ConflictDetector::Phase::kConflict) << row.name;
      // Nothing more is sent for a lost address; it is never claimed.
      const auto log = RunAcd(acd, kT0 + Duration::Seconds(60));
      EXPECT_TRUE(log.sent.empty() && log.claimed.empty()) << row.name;
    } else {
      EXPECT_EQ(RunAcd(acd, kT0 + Duration::Seconds(60)).claimed.size(), 1u) << row.name;
    }
  }
}

TEST(Acd, BoundAddressIsDefendedOnceThenGivenUp) {
  ConflictDetector acd(kMe, 9);
  acd.Start(kIp2, kT0);
  RunAcd(acd, kT0 + Duration::Seconds(60));
  ASSERT_EQ(acd.phase(kIp2), ConflictDetector::Phase::kBound);
  const ArpRepr claim{arp::kOpRequest, kMacB, kIp2, MacAddress(), kIp2};
  const Instant t = kT0 + Duration::Seconds(100);
  EXPECT_EQ(acd.OnArp(claim, t).verdict, ConflictDetector::Verdict::kDefend);
  // Again after DEFEND_INTERVAL: defended again.
  EXPECT_EQ(acd.OnArp(claim, t + Duration::Seconds(11)).verdict, ConflictDetector::Verdict::kDefend);
  // Within it: the other host insists; the address is given up.
  EXPECT_EQ(acd.OnArp(claim, t + Duration::Seconds(12)).verdict, ConflictDetector::Verdict::kConflict);
  EXPECT_EQ(acd.phase(kIp2), ConflictDetector::Phase::kConflict);
}

TEST(Acd, AddressesAreIndependent) {
  ConflictDetector acd(kMe, 5);
  const Ipv4Address taken = Ip("192.0.2.3");
  acd.Start(kIp2, kT0);
  acd.Start(taken, kT0);
  RunAcd(acd, kT0 + Duration::Millis(1200));
  EXPECT_EQ(acd.OnArp(ArpRepr{arp::kOpReply, kMacB, taken, kMe, Ipv4Address()}, kT0 + Duration::Millis(1300)).verdict,
            ConflictDetector::Verdict::kConflict);
  const auto log = RunAcd(acd, kT0 + Duration::Seconds(60));
  ASSERT_EQ(log.claimed.size(), 1u);
  EXPECT_EQ(acd.phase(kIp2), ConflictDetector::Phase::kBound);
  EXPECT_EQ(acd.phase(taken), ConflictDetector::Phase::kConflict);
}

// --- Ipv4Host: addresses and routes ----------------------------------------

ipv4::HostAddress Addr(const char* itf, std::optional<const char*> gw = std::nullopt,
                       ipv4::AddressState state = ipv4::AddressState::kPreferred) {
  ipv4::HostAddress a;
  a.itf = *Ipv4Interface::Parse(itf);
  if (gw) a.gateway = Ip(*gw);
  a.state = state;
  return a;
}

std::string Route(const ipv4::Ipv4Host& host, const char* dst) {
  const auto hop = host.Lookup(Ip(dst));
  if (!hop) return "none";
  return hop->next_hop.ToString() + " src " + hop->src.ToString();
}

TEST(Ipv4Host, LongestPrefixMatchConnectedStaticAndDefault) {
  ipv4::Ipv4Host host;
  ASSERT_TRUE(host.AddAddress(Addr("192.0.2.2/24", "192.0.2.1")));
  ASSERT_TRUE(host.AddAddress(Addr("198.51.100.2/25")));
  host.AddStaticRoute(*Ipv4Interface::Parse("198.51.100.128/25"), Ip("192.0.2.254"));
  host.AddStaticRoute(*Ipv4Interface::Parse("198.51.100.200/32"), Ip("198.51.100.1"));
  EXPECT_EQ(Route(host, "192.0.2.77"), "192.0.2.77 src 192.0.2.2");          // connected
  EXPECT_EQ(Route(host, "198.51.100.5"), "198.51.100.5 src 198.51.100.2");   // connected /25
  EXPECT_EQ(Route(host, "198.51.100.130"), "192.0.2.254 src 192.0.2.2");     // static /25
  EXPECT_EQ(Route(host, "198.51.100.200"), "198.51.100.1 src 198.51.100.2"); // static /32 beats /25
  EXPECT_EQ(Route(host, "203.0.113.9"), "192.0.2.1 src 192.0.2.2");          // default
  ASSERT_EQ(host.routes().size(), 5u);
  EXPECT_EQ(host.routes().front().ToString(), "198.51.100.200/32 via 198.51.100.1 src 198.51.100.2 metric 10");
  EXPECT_EQ(host.routes().back().ToString(), "0.0.0.0/0 via 192.0.2.1 src 192.0.2.2 metric 101");
}

TEST(Ipv4Host, NoGatewayNoDefaultRoute) {
  ipv4::Ipv4Host host;
  host.AddAddress(Addr("192.0.2.2/24"));
  EXPECT_EQ(Route(host, "203.0.113.9"), "none");
  EXPECT_EQ(host.SourceFor(Ip("203.0.113.9")), kIp2);  // still a usable source
}

TEST(Ipv4Host, FirstAddressGatewayIsTheDefaultAndEachSourceMatchesItsGateway) {
  ipv4::Ipv4Host host;
  host.AddAddress(Addr("192.0.2.2/24", "192.0.2.1"));
  host.AddAddress(Addr("198.51.100.2/24", "198.51.100.1"));
  EXPECT_EQ(Route(host, "203.0.113.9"), "192.0.2.1 src 192.0.2.2");
  // The first address goes: the second one's gateway takes over.
  host.SetState(kIp2, ipv4::AddressState::kConflict);
  EXPECT_EQ(Route(host, "203.0.113.9"), "198.51.100.1 src 198.51.100.2");
  EXPECT_EQ(Route(host, "192.0.2.9"), "198.51.100.1 src 198.51.100.2");  // its network is no longer on-link
}

TEST(Ipv4Host, TentativeAndConflictedAddressesAreNotOurs) {
  ipv4::Ipv4Host host;
  host.AddAddress(Addr("192.0.2.2/24", std::nullopt, ipv4::AddressState::kTentative));
  host.AddAddress(Addr("192.0.2.3/24", std::nullopt, ipv4::AddressState::kPreferred));
  EXPECT_FALSE(host.IsLocal(kIp2));
  EXPECT_TRUE(host.IsLocal(Ip("192.0.2.3")));
  EXPECT_NE(host.Find(kIp2), nullptr);
  EXPECT_EQ(Route(host, "192.0.2.9"), "192.0.2.9 src 192.0.2.3");  // never the tentative source
  EXPECT_TRUE(host.IsBroadcast(Ip("192.0.2.255")));
  EXPECT_TRUE(host.IsBroadcast(Ip("255.255.255.255")));
  host.SetState(Ip("192.0.2.3"), ipv4::AddressState::kConflict);
  EXPECT_FALSE(host.IsLocal(Ip("192.0.2.3")));
  EXPECT_FALSE(host.IsBroadcast(Ip("192.0.2.255")));
  EXPECT_EQ(Route(host, "192.0.2.9"), "none");
  EXPECT_TRUE(host.SourceFor(Ip("192.0.2.9")).IsUnspecified());
  host.SetState(kIp2, ipv4::AddressState::kPreferred);
  EXPECT_TRUE(host.IsLocal(kIp2));
  EXPECT_FALSE(host.AddAddress(Addr("192.0.2.2/24")));  // already there
  EXPECT_TRUE(host.RemoveAddress(kIp2));
  EXPECT_FALSE(host.IsLocal(kIp2));
}

TEST(Ipv4Host, StaticRouteWaitsForItsGatewayToBeOnLink) {
  ipv4::Ipv4Host host;
  host.AddStaticRoute(*Ipv4Interface::Parse("198.51.100.0/24"), Ip("192.0.2.1"));
  EXPECT_EQ(Route(host, "198.51.100.7"), "none");
  host.AddAddress(Addr("192.0.2.2/24"));
  EXPECT_EQ(Route(host, "198.51.100.7"), "192.0.2.1 src 192.0.2.2");
}

}  // namespace
}  // namespace ringstack::proto::arp_test
