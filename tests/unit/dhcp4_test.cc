// DHCPv4 (protocols/dhcp4) and the UDP header it rides on: scapy byte
// vectors both ways, a malformed row per reason, and the client state
// machine through every RFC 2131 transition on a fake clock.
#include <cstring>
#include <vector>

#include "gtest/gtest.h"
#include "protocols/common/checksum.h"
#include "protocols/dhcp4/dhcp4_client.h"
#include "protocols/dhcp4/dhcp4_repr.h"
#include "protocols/udp/udp_repr.h"
#include "tests/vectors/vectors.h"

namespace ringstack::proto::dhcp4 {
namespace {

template <std::size_t N>
std::vector<std::byte> Vec(const unsigned char (&a)[N]) {
  std::vector<std::byte> v(N);
  std::memcpy(v.data(), a, N);
  return v;
}

constexpr std::size_t kL2L3L4 = 14 + 20 + 8;  // where a server frame's DHCP message starts
const MacAddress kMac = *MacAddress::Parse("02:00:00:00:00:01");
const Ipv4Address kServer = *Ipv4Address::Parse("192.0.2.1");
const Ipv4Address kOffered = *Ipv4Address::Parse("192.0.2.50");
const Instant kT0 = Instant::FromNanos(1'000'000'000);
constexpr std::uint32_t kXid = 0x5eed0001;

std::vector<std::byte> EmitOf(const Dhcp4Repr& r) {
  std::vector<std::byte> out(r.emitted_len());
  r.Emit(out);
  return out;
}

Dhcp4Repr ClientMessage(MessageType type) {
  Dhcp4Repr r;
  r.xid = kXid;
  r.chaddr = kMac;
  r.type = type;
  return r;
}

TEST(Dhcp4Repr, ClientMessagesMatchScapy) {
  Dhcp4Repr discover = ClientMessage(MessageType::kDiscover);
  discover.flags = kFlagBroadcast;
  discover.request_parameters = true;
  EXPECT_EQ(EmitOf(discover), Vec(vectors::kDhcpDiscover));

  Dhcp4Repr request = ClientMessage(MessageType::kRequest);
  request.flags = kFlagBroadcast;
  request.requested_ip = kOffered;
  request.server_id = kServer;
  request.request_parameters = true;
  EXPECT_EQ(EmitOf(request), Vec(vectors::kDhcpRequestSelecting));

  Dhcp4Repr renew = ClientMessage(MessageType::kRequest);
  renew.ciaddr = kOffered;
  renew.request_parameters = true;
  EXPECT_EQ(EmitOf(renew), Vec(vectors::kDhcpRequestRenewing));

  Dhcp4Repr decline = ClientMessage(MessageType::kDecline);
  decline.requested_ip = kOffered;
  decline.server_id = kServer;
  EXPECT_EQ(EmitOf(decline), Vec(vectors::kDhcpDecline));

  // And each parses back to what was emitted.
  for (const Dhcp4Repr& r : {discover, request, renew, decline}) {
    const auto bytes = EmitOf(r);
    const auto back = Dhcp4Repr::Parse(bytes);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, r);
  }
}

TEST(Dhcp4Repr, ParsesAScapyServerAck) {
  const auto frame = Vec(vectors::kDhcpAck);
  const auto m = Dhcp4Repr::Parse(std::span(frame).subspan(kL2L3L4));
  ASSERT_TRUE(m.ok()) << ParseErrorName(m.error());
  EXPECT_EQ(m->op, kOpReply);
  EXPECT_EQ(m->type, MessageType::kAck);
  EXPECT_EQ(m->xid, kXid);
  EXPECT_EQ(m->chaddr, kMac);
  EXPECT_EQ(m->yiaddr, kOffered);
  EXPECT_EQ(m->server_id, kServer);
  EXPECT_EQ(m->lease_time, 120u);
  EXPECT_EQ(m->renewal_time, 60u);
  EXPECT_EQ(m->rebinding_time, 105u);
  EXPECT_EQ(m->subnet_mask->ToString(), "255.255.255.0");
  EXPECT_EQ(m->router, kServer);
  ASSERT_EQ(m->dns_count, 2);
  EXPECT_EQ(m->dns[1].ToString(), "198.51.100.53");
}

TEST(Dhcp4Repr, MalformedRows) {
  const auto frame = Vec(vectors::kDhcpAck);
  const std::vector<std::byte> good(frame.begin() + kL2L3L4, frame.end());
  ASSERT_TRUE(Dhcp4Repr::Parse(good).ok());
  struct Row {
    const char* name;
    std::size_t offset;
    unsigned char value;
    ParseError error;
  };
  const Row rows[] = {
      {"op 3", 0, 3, ParseError::kBadOperation},
      {"htype 6", 1, 6, ParseError::kBadHardwareType},
      {"hlen 16", 2, 16, ParseError::kBadHardwareType},
      {"cookie", 236, 0x64, ParseError::kUnsupportedType},
      {"message type 9", 242, 9, ParseError::kBadOption},
      {"message type length 2", 241, 2, ParseError::kBadOption},
      {"server id length 5", 244, 5, ParseError::kBadOption},
      {"option running past the end", 244, 250, ParseError::kBadOption},
  };
  for (const Row& row : rows) {
    auto bad = good;
    bad[row.offset] = std::byte{row.value};
    const auto r = Dhcp4Repr::Parse(bad);
    ASSERT_FALSE(r.ok()) << row.name;
    EXPECT_EQ(r.error(), row.error) << row.name;
  }
  EXPECT_EQ(Dhcp4Repr::Parse(std::span(good).first(239)).error(), ParseError::kTruncated);
  // No message type at all.
  auto no_type = good;
  no_type[240] = std::byte{option::kPad};
  no_type[241] = std::byte{option::kPad};
  no_type[242] = std::byte{option::kPad};
  EXPECT_EQ(Dhcp4Repr::Parse(no_type).error(), ParseError::kBadOption);
}

TEST(Udp, ParseVerifiesTheChecksumAndEmitRoundTrips) {
  const auto frame = Vec(vectors::kDhcpAck);
  const Bytes datagram = std::span(frame).subspan(34);
  const auto u = udp::UdpRepr::Parse(datagram, kServer, Ipv4Address(0xffffffffu));
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->src_port, kServerPort);
  EXPECT_EQ(u->dst_port, kClientPort);
  EXPECT_EQ(u->payload.size(), frame.size() - kL2L3L4);
  EXPECT_EQ(udp::UdpRepr::Parse(datagram, kOffered, Ipv4Address(0xffffffffu)).error(), ParseError::kBadChecksum);
  EXPECT_EQ(udp::UdpRepr::Parse(datagram.first(7), kServer, kServer).error(), ParseError::kTruncated);
  std::vector<std::byte> copy(datagram.begin(), datagram.end());
  StoreBe16(copy.data() + 4, static_cast<std::uint16_t>(copy.size() + 1));
  EXPECT_EQ(udp::UdpRepr::Parse(copy, kServer, kServer).error(), ParseError::kBadTotalLength);
  // Re-emitting the header gives scapy's bytes back.
  std::vector<std::byte> again(datagram.begin(), datagram.end());
  udp::UdpRepr{kServerPort, kClientPort, {}}.EmitHeader(again, kServer, Ipv4Address(0xffffffffu));
  EXPECT_TRUE(std::equal(again.begin(), again.end(), datagram.begin()));
}

// --- the client ---------------------------------------------------------------

Dhcp4Repr ServerReply(MessageType type, std::uint32_t xid, std::uint32_t lease = 120) {
  Dhcp4Repr r;
  r.op = kOpReply;
  r.xid = xid;
  r.chaddr = kMac;
  r.type = type;
  r.yiaddr = kOffered;
  r.server_id = kServer;
  if (type == MessageType::kAck || type == MessageType::kOffer) {
    r.lease_time = lease;
    r.subnet_mask = *Ipv4Address::Parse("255.255.255.0");
    r.router = kServer;
  }
  return r;
}

Dhcp4ClientConfig NoCheck() {
  Dhcp4ClientConfig c;
  c.check_address = false;
  return c;
}

// Drives a client from INIT to BOUND; returns the ACK's outcome.
Dhcp4Client::Outcome Bound(Dhcp4Client& c, Instant now = kT0) {
  const auto d = c.Start(now);
  const auto r = c.OnMessage(ServerReply(MessageType::kOffer, d.send->msg.xid), now);
  return c.OnMessage(ServerReply(MessageType::kAck, r.send->msg.xid), now);
}

TEST(Dhcp4Client, FullExchangeDiscoverOfferRequestAck) {
  Dhcp4Client c(kMac, 1, NoCheck());
  const auto d = c.Start(kT0);
  ASSERT_TRUE(d.send);
  EXPECT_EQ(c.state(), Dhcp4Client::State::kSelecting);
  EXPECT_EQ(d.send->msg.type, MessageType::kDiscover);
  EXPECT_EQ(d.send->msg.flags, kFlagBroadcast);
  EXPECT_TRUE(d.send->src.IsUnspecified());
  EXPECT_TRUE(d.send->dst.IsLimitedBroadcast());
  const auto r = c.OnMessage(ServerReply(MessageType::kOffer, d.send->msg.xid), kT0);
  ASSERT_TRUE(r.send);
  EXPECT_EQ(c.state(), Dhcp4Client::State::kRequesting);
  EXPECT_EQ(r.send->msg.type, MessageType::kRequest);
  EXPECT_EQ(r.send->msg.requested_ip, kOffered);
  EXPECT_EQ(r.send->msg.server_id, kServer);
  EXPECT_EQ(r.send->msg.xid, d.send->msg.xid);  // RFC 2131 4.4.1: the same xid
  const auto a = c.OnMessage(ServerReply(MessageType::kAck, r.send->msg.xid), kT0);
  EXPECT_EQ(a.event, Dhcp4Client::Event::kBound);
  ASSERT_TRUE(a.lease);
  EXPECT_EQ(a.lease->itf.ToString(), "192.0.2.50/24");
  EXPECT_EQ(a.lease->router, kServer);
  EXPECT_EQ(a.lease->t1, Duration::Seconds(60));   // lease / 2
  EXPECT_EQ(a.lease->t2, Duration::Seconds(105));  // lease * 7/8
  EXPECT_EQ(c.state(), Dhcp4Client::State::kBound);
  EXPECT_EQ(c.NextDeadline(), kT0 + Duration::Seconds(60));
}

TEST(Dhcp4Client, IgnoresOtherTransactionsAndClients) {
  Dhcp4Client c(kMac, 1, NoCheck());
  const auto d = c.Start(kT0);
  auto wrong_xid = ServerReply(MessageType::kOffer, d.send->msg.xid + 1);
  EXPECT_EQ(c.OnMessage(wrong_xid, kT0).event, Dhcp4Client::Event::kIgnored);
  auto other = ServerReply(MessageType::kOffer, d.send->msg.xid);
  other.chaddr = *MacAddress::Parse("02:00:00:00:00:99");
  EXPECT_EQ(c.OnMessage(other, kT0).event, Dhcp4Client::Event::kIgnored);
  auto ack_while_selecting = ServerReply(MessageType::kAck, d.send->msg.xid);
  EXPECT_EQ(c.OnMessage(ack_while_selecting, kT0).event, Dhcp4Client::Event::kIgnored);
  EXPECT_EQ(c.state(), Dhcp4Client::State::kSelecting);
}

TEST(Dhcp4Client, DiscoverBacksOffExponentiallyWithJitter) {
  Dhcp4Client c(kMac, 7, NoCheck());
  c.Start(kT0);
  Instant last = kT0;
  const int want[] = {4, 8, 16, 32, 64, 64, 64};
  for (int expected : want) {
    const Instant t = c.NextDeadline();
    const Duration gap = t - last;
    EXPECT_GE(gap, Duration::Seconds(expected - 1)) << expected;
    EXPECT_LE(gap, Duration::Seconds(expected + 1)) << expected;
    const auto out = c.OnTimer(t);
    ASSERT_TRUE(out.send);
    EXPECT_EQ(out.send->msg.type, MessageType::kDiscover);
    last = t;
  }
}

TEST(Dhcp4Client, UnansweredRequestsFallBackToDiscover) {
  Dhcp4Client c(kMac, 3, NoCheck());
  const auto d = c.Start(kT0);
  c.OnMessage(ServerReply(MessageType::kOffer, d.send->msg.xid), kT0);
  int requests = 1;
  Dhcp4Client::Outcome out;
  for (;;) {
    out = c.OnTimer(c.NextDeadline());
    ASSERT_TRUE(out.send);
    if (out.send->msg.type != MessageType::kRequest) break;
    ++requests;
  }
  EXPECT_EQ(requests, 4);
  EXPECT_EQ(out.send->msg.type, MessageType::kDiscover);
  EXPECT_EQ(c.state(), Dhcp4Client::State::kSelecting);
}

TEST(Dhcp4Client, NakWhileRequestingRestartsAtInit) {
  Dhcp4Client c(kMac, 3, NoCheck());
  const auto d = c.Start(kT0);
  const auto r = c.OnMessage(ServerReply(MessageType::kOffer, d.send->msg.xid), kT0);
  const auto n = c.OnMessage(ServerReply(MessageType::kNak, r.send->msg.xid), kT0);
  ASSERT_TRUE(n.send);
  EXPECT_EQ(n.send->msg.type, MessageType::kDiscover);
  EXPECT_NE(n.send->msg.xid, d.send->msg.xid);  // a new transaction
  EXPECT_EQ(c.state(), Dhcp4Client::State::kSelecting);
}

TEST(Dhcp4Client, AddressCheckConflictDeclinesAndRestartsAfterTenSeconds) {
  Dhcp4Client c(kMac, 3);  // check_address on
  const auto a = Bound(c);
  EXPECT_EQ(a.event, Dhcp4Client::Event::kCheckAddress);
  EXPECT_EQ(c.state(), Dhcp4Client::State::kChecking);
  EXPECT_TRUE(c.NextDeadline().IsNever());  // waits for the caller's verdict
  const auto dec = c.OnAddressChecked(/*conflict=*/true, kT0 + Duration::Seconds(5));
  EXPECT_EQ(dec.event, Dhcp4Client::Event::kDeclined);
  ASSERT_TRUE(dec.send);
  EXPECT_EQ(dec.send->msg.type, MessageType::kDecline);
  EXPECT_EQ(dec.send->msg.requested_ip, kOffered);
  EXPECT_EQ(dec.send->msg.server_id, kServer);
  EXPECT_EQ(dec.lost->address, kOffered);
  EXPECT_EQ(c.NextDeadline(), kT0 + Duration::Seconds(15));
  EXPECT_FALSE(c.OnTimer(kT0 + Duration::Seconds(14)).send);
  const auto again = c.OnTimer(kT0 + Duration::Seconds(15));
  ASSERT_TRUE(again.send);
  EXPECT_EQ(again.send->msg.type, MessageType::kDiscover);
}

TEST(Dhcp4Client, AddressCheckPassedBinds) {
  Dhcp4Client c(kMac, 3);
  Bound(c);
  const auto b = c.OnAddressChecked(false, kT0 + Duration::Seconds(5));
  EXPECT_EQ(b.event, Dhcp4Client::Event::kBound);
  // The lease runs from the REQUEST, not from the end of the check.
  EXPECT_EQ(c.NextDeadline(), kT0 + Duration::Seconds(60));
}

TEST(Dhcp4Client, RenewsAtT1ByUnicastAndRebindsAtT2ByBroadcastThenExpires) {
  Dhcp4Client c(kMac, 5, NoCheck());
  Bound(c);
  // T1: unicast REQUEST to the server, from our address, ciaddr set.
  const auto renew = c.OnTimer(kT0 + Duration::Seconds(60));
  ASSERT_TRUE(renew.send);
  EXPECT_EQ(c.state(), Dhcp4Client::State::kRenewing);
  EXPECT_EQ(renew.send->dst, kServer);
  EXPECT_EQ(renew.send->src, kOffered);
  EXPECT_EQ(renew.send->msg.ciaddr, kOffered);
  EXPECT_FALSE(renew.send->msg.requested_ip);
  EXPECT_FALSE(renew.send->msg.server_id);
  EXPECT_EQ(renew.send->msg.flags, 0);
  // No answer: at T2 (105 s) broadcast instead (60 s minimum retransmit is capped by T2).
  EXPECT_EQ(c.NextDeadline(), kT0 + Duration::Seconds(105));
  const auto rebind = c.OnTimer(kT0 + Duration::Seconds(105));
  ASSERT_TRUE(rebind.send);
  EXPECT_EQ(c.state(), Dhcp4Client::State::kRebinding);
  EXPECT_TRUE(rebind.send->dst.IsLimitedBroadcast());
  EXPECT_EQ(rebind.send->msg.ciaddr, kOffered);
  // Still nothing: the lease expires at 120 s and the address is lost.
  EXPECT_EQ(c.NextDeadline(), kT0 + Duration::Seconds(120));
  const auto lost = c.OnTimer(kT0 + Duration::Seconds(120));
  EXPECT_EQ(lost.event, Dhcp4Client::Event::kLost);
  EXPECT_EQ(lost.lost->address, kOffered);
  ASSERT_TRUE(lost.send);
  EXPECT_EQ(lost.send->msg.type, MessageType::kDiscover);
  EXPECT_FALSE(c.lease());
}

TEST(Dhcp4Client, RenewalAckExtendsTheLease) {
  Dhcp4Client c(kMac, 5, NoCheck());
  Bound(c);
  const Instant t1 = kT0 + Duration::Seconds(60);
  const auto renew = c.OnTimer(t1);
  const auto ack = c.OnMessage(ServerReply(MessageType::kAck, renew.send->msg.xid), t1);
  EXPECT_EQ(ack.event, Dhcp4Client::Event::kRenewed);
  EXPECT_EQ(c.state(), Dhcp4Client::State::kBound);
  EXPECT_EQ(c.NextDeadline(), t1 + Duration::Seconds(60));
  EXPECT_EQ(c.lease_expiry(), t1 + Duration::Seconds(120));
}

TEST(Dhcp4Client, NakWhileRenewingLosesTheAddress) {
  Dhcp4Client c(kMac, 5, NoCheck());
  Bound(c);
  const auto renew = c.OnTimer(kT0 + Duration::Seconds(60));
  const auto nak = c.OnMessage(ServerReply(MessageType::kNak, renew.send->msg.xid), kT0 + Duration::Seconds(61));
  EXPECT_EQ(nak.event, Dhcp4Client::Event::kLost);
  EXPECT_EQ(nak.lost->address, kOffered);
  EXPECT_EQ(c.state(), Dhcp4Client::State::kSelecting);
}

TEST(Dhcp4Client, InitRebootAsksForThePreviousAddress) {
  Dhcp4Client c(kMac, 9, NoCheck());
  const auto r = c.Start(kT0, kOffered);
  ASSERT_TRUE(r.send);
  EXPECT_EQ(c.state(), Dhcp4Client::State::kRebooting);
  EXPECT_EQ(r.send->msg.type, MessageType::kRequest);
  EXPECT_EQ(r.send->msg.requested_ip, kOffered);
  EXPECT_FALSE(r.send->msg.server_id);  // RFC 2131 4.3.2: INIT-REBOOT has none
  const auto a = c.OnMessage(ServerReply(MessageType::kAck, r.send->msg.xid), kT0);
  EXPECT_EQ(a.event, Dhcp4Client::Event::kBound);
  // And a NAK to INIT-REBOOT sends the client to INIT.
  Dhcp4Client d(kMac, 9, NoCheck());
  const auto r2 = d.Start(kT0, kOffered);
  const auto n = d.OnMessage(ServerReply(MessageType::kNak, r2.send->msg.xid), kT0);
  ASSERT_TRUE(n.send);
  EXPECT_EQ(n.send->msg.type, MessageType::kDiscover);
}

TEST(Dhcp4Client, AckWithoutLeaseTimeOrWithABadMaskIsIgnored) {
  Dhcp4Client c(kMac, 1, NoCheck());
  const auto d = c.Start(kT0);
  const auto r = c.OnMessage(ServerReply(MessageType::kOffer, d.send->msg.xid), kT0);
  auto no_lease = ServerReply(MessageType::kAck, r.send->msg.xid);
  no_lease.lease_time.reset();
  EXPECT_EQ(c.OnMessage(no_lease, kT0).event, Dhcp4Client::Event::kIgnored);
  auto bad_mask = ServerReply(MessageType::kAck, r.send->msg.xid);
  bad_mask.subnet_mask = *Ipv4Address::Parse("255.0.255.0");
  EXPECT_EQ(c.OnMessage(bad_mask, kT0).event, Dhcp4Client::Event::kIgnored);
  EXPECT_EQ(c.state(), Dhcp4Client::State::kRequesting);
}

}  // namespace
}  // namespace ringstack::proto::dhcp4
