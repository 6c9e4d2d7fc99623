// UDP bindings (protocols/udp/udp_bindings.h): bind conflicts a row each,
// ephemeral ports, dual-stack, connected filtering and lookup precedence.
#include <cerrno>
#include <set>

#include <cstring>
#include <vector>

#include "gtest/gtest.h"
#include "protocols/udp/udp_bindings.h"
#include "protocols/udp/udp_repr.h"
#include "tests/vectors/vectors.h"

namespace ringstack::proto::udp {
namespace {

Endpoint Ep(const char* addr, std::uint16_t port) { return Endpoint{*IpAddress::Parse(addr), port}; }
BindOptions V4(bool reuse = false) { return BindOptions{reuse, false, false}; }
BindOptions V6(bool reuse = false, bool v6only = false) { return BindOptions{reuse, v6only, true}; }

struct ConflictRow {
  const char* name;
  Endpoint first;
  BindOptions first_opt;
  Endpoint second;
  BindOptions second_opt;
  int want;
};

TEST(UdpBindings, BindConflictRows) {
  const ConflictRow rows[] = {
      {"same address and port", Ep("192.0.2.2", 7), V4(), Ep("192.0.2.2", 7), V4(), EADDRINUSE},
      {"wildcard then specific", Ep("0.0.0.0", 7), V4(), Ep("192.0.2.2", 7), V4(), EADDRINUSE},
      {"specific then wildcard", Ep("192.0.2.2", 7), V4(), Ep("0.0.0.0", 7), V4(), EADDRINUSE},
      {"two specific addresses", Ep("192.0.2.2", 7), V4(), Ep("192.0.2.3", 7), V4(), 0},
      {"other port", Ep("0.0.0.0", 7), V4(), Ep("0.0.0.0", 8), V4(), 0},
      {"both SO_REUSEADDR", Ep("0.0.0.0", 7), V4(true), Ep("0.0.0.0", 7), V4(true), 0},
      {"only one SO_REUSEADDR", Ep("0.0.0.0", 7), V4(true), Ep("0.0.0.0", 7), V4(), EADDRINUSE},
      {"v6 dual-stack wildcard holds v4", Ep("::", 7), V6(), Ep("0.0.0.0", 7), V4(), EADDRINUSE},
      {"v6only wildcard leaves v4", Ep("::", 7), V6(false, true), Ep("0.0.0.0", 7), V4(), 0},
      {"v4 and a specific v6", Ep("0.0.0.0", 7), V4(), Ep("2001:db8::2", 7), V6(), 0},
      {"two v6 wildcards", Ep("::", 7), V6(false, true), Ep("::", 7), V6(false, true), EADDRINUSE},
  };
  for (const ConflictRow& r : rows) {
    UdpBindings b(1);
    ASSERT_EQ(b.Bind(1, r.first, r.first_opt), 0) << r.name;
    EXPECT_EQ(b.Bind(2, r.second, r.second_opt), r.want) << r.name;
  }
}

TEST(UdpBindings, BindErrors) {
  UdpBindings b(1);
  EXPECT_EQ(b.Bind(1, Ep("2001:db8::2", 7), V4()), EAFNOSUPPORT);  // family mismatch
  ASSERT_EQ(b.Bind(1, Ep("192.0.2.2", 7), V4()), 0);
  EXPECT_EQ(b.Bind(1, Ep("192.0.2.2", 8), V4()), EINVAL);  // already bound
  EXPECT_EQ(b.Connect(9, Ep("192.0.2.1", 9)), EINVAL);     // not bound
  EXPECT_EQ(b.Connect(1, Ep("2001:db8::1", 9)), EINVAL);   // other family
  b.Close(1);
  EXPECT_EQ(b.Bind(2, Ep("192.0.2.2", 7), V4()), 0);  // free again after close
}

TEST(UdpBindings, EphemeralPortsAreInRangeDistinctAndObeyThePredicate) {
  UdpBindings b(42, 50000, 50015);  // 16 ports
  std::set<std::uint16_t> seen;
  for (SocketId s = 1; s <= 8; ++s) {
    ASSERT_EQ(b.Bind(s, Ep("0.0.0.0", 0), V4(), [](std::uint16_t p) { return p % 2 == 0; }), 0);
    const std::uint16_t port = b.local(s)->port;
    EXPECT_GE(port, 50000);
    EXPECT_LE(port, 50015);
    EXPECT_EQ(port % 2, 0) << "the shard predicate";
    EXPECT_TRUE(seen.insert(port).second);
  }
  // The eight even ports are taken: the range is used up for this predicate.
  EXPECT_EQ(b.Bind(9, Ep("0.0.0.0", 0), V4(), [](std::uint16_t p) { return p % 2 == 0; }), EADDRINUSE);
  EXPECT_EQ(b.Bind(9, Ep("0.0.0.0", 0), V4()), 0);  // an odd one is still there
}

TEST(UdpBindings, LookupPrefersConnectedThenSpecificThenWildcard) {
  UdpBindings b(1);
  ASSERT_EQ(b.Bind(1, Ep("0.0.0.0", 53), V4(true)), 0);
  ASSERT_EQ(b.Bind(2, Ep("192.0.2.2", 53), V4(true)), 0);
  ASSERT_EQ(b.Bind(3, Ep("192.0.2.2", 53), V4(true)), 0);
  ASSERT_EQ(b.Connect(3, Ep("192.0.2.1", 5000)), 0);
  EXPECT_EQ(b.Lookup(Ep("192.0.2.2", 53), Ep("192.0.2.1", 5000)), 3u);  // its peer
  EXPECT_EQ(b.Lookup(Ep("192.0.2.2", 53), Ep("192.0.2.1", 5001)), 2u);  // bound to the address
  EXPECT_EQ(b.Lookup(Ep("192.0.2.9", 53), Ep("192.0.2.1", 5001)), 1u);  // any other address
  EXPECT_FALSE(b.Lookup(Ep("192.0.2.2", 54), Ep("192.0.2.1", 5000)));   // no socket: port unreachable
}

TEST(UdpBindings, ConnectedSocketIgnoresOtherPeers) {
  UdpBindings b(1);
  ASSERT_EQ(b.Bind(1, Ep("0.0.0.0", 0), V4()), 0);
  ASSERT_EQ(b.Connect(1, Ep("192.0.2.1", 7)), 0);
  const std::uint16_t port = b.local(1)->port;
  EXPECT_EQ(b.Lookup(Ep("192.0.2.2", port), Ep("192.0.2.1", 7)), 1u);
  EXPECT_FALSE(b.Lookup(Ep("192.0.2.2", port), Ep("192.0.2.1", 8)));
  EXPECT_FALSE(b.Lookup(Ep("192.0.2.2", port), Ep("192.0.2.9", 7)));
}

TEST(UdpBindings, DualStackWildcardTakesIpv4UnlessV6only) {
  UdpBindings b(1);
  ASSERT_EQ(b.Bind(1, Ep("::", 7), V6()), 0);
  EXPECT_EQ(b.Lookup(Ep("192.0.2.2", 7), Ep("192.0.2.1", 9)), 1u);
  EXPECT_EQ(b.Lookup(Ep("2001:db8::2", 7), Ep("2001:db8::1", 9)), 1u);
  UdpBindings only6(1);
  ASSERT_EQ(only6.Bind(1, Ep("::", 7), V6(false, true)), 0);
  EXPECT_FALSE(only6.Lookup(Ep("192.0.2.2", 7), Ep("192.0.2.1", 9)));
  // A v4 socket beside it takes the IPv4 datagrams.
  ASSERT_EQ(only6.Bind(2, Ep("0.0.0.0", 7), V4()), 0);
  EXPECT_EQ(only6.Lookup(Ep("192.0.2.2", 7), Ep("192.0.2.1", 9)), 2u);
}

TEST(UdpBindings, BroadcastGoesToEverySharer) {
  UdpBindings b(1);
  ASSERT_EQ(b.Bind(1, Ep("0.0.0.0", 67), V4(true)), 0);
  ASSERT_EQ(b.Bind(2, Ep("0.0.0.0", 67), V4(true)), 0);
  ASSERT_EQ(b.Bind(3, Ep("192.0.2.2", 67), V4(true)), 0);  // a unicast address: not for broadcast
  std::set<SocketId> got;
  b.LookupAll(Ep("255.255.255.255", 67), Ep("192.0.2.1", 68), [&](SocketId s) { got.insert(s); });
  EXPECT_EQ(got, (std::set<SocketId>{1, 2}));
}

TEST(UdpRepr, OverIpv6TheChecksumIsMandatory) {
  std::vector<std::byte> f(sizeof(vectors::kUdp6ToClosedPort));
  std::memcpy(f.data(), vectors::kUdp6ToClosedPort, f.size());
  const auto src = Ipv6Address::FromBytes(f.data() + 14 + 8);
  const auto dst = Ipv6Address::FromBytes(f.data() + 14 + 24);
  const auto datagram = std::span(f).subspan(54);
  const auto u = UdpRepr::Parse(datagram, src, dst);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->src_port, 40000);
  EXPECT_EQ(u->dst_port, 9);
  EXPECT_EQ(u->payload.size(), 16u);
  // Re-emitting gives scapy's checksum back.
  std::vector<std::byte> again(datagram.begin(), datagram.end());
  UdpRepr{40000, 9, {}}.EmitHeader(again, src, dst);
  EXPECT_TRUE(std::equal(again.begin(), again.end(), datagram.begin()));
  // Zero: "not computed" is fine over IPv4, never over IPv6.
  StoreBe16(again.data() + 6, 0);
  EXPECT_EQ(UdpRepr::Parse(again, src, dst).error(), ParseError::kBadChecksum);
  EXPECT_TRUE(UdpRepr::Parse(again, Ipv4Address(0xc0000201), Ipv4Address(0xc0000202)).ok());
}

}  // namespace
}  // namespace ringstack::proto::udp
