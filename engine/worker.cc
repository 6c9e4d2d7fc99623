#include "engine/worker.h"

#include "engine/link/link.h"

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "engine/log.h"
#include "protocols/arp/arp_handler.h"
#include "protocols/arp/arp_repr.h"
#include "protocols/icmpv4/icmpv4_handler.h"
#include "protocols/icmpv4/icmpv4_repr.h"
#include "protocols/udp/udp_repr.h"

namespace ringstack::engine {

using proto::Ipv4Address;
using proto::MacAddress;
using proto::ParseError;
namespace arp = proto::arp;
namespace dhcp4 = proto::dhcp4;
namespace ethernet = proto::ethernet;
namespace icmpv4 = proto::icmpv4;
namespace ipv6 = proto::ipv6;
namespace ipv4 = proto::ipv4;

namespace {

// Seeds for the protocols' jitter (ACD, DHCP, DAD, MLD): from the MAC, so
// hosts differ (as the RFCs want) and a run repeats for the same config.
std::uint64_t MacSeed(const MacAddress& mac) {
  std::uint64_t seed = 0;
  for (std::byte b : mac.bytes()) seed = seed << 8 | static_cast<std::uint64_t>(b);
  return seed;
}

}  // namespace

Worker::~Worker() = default;

Worker::Worker(int shard, const Config& config, const Clock& clock, rings::PacketPool& pool,
               std::vector<rings::SpscRing<rings::Packet>*> rx, rings::SpscRing<rings::Packet>& tx, Doorbell& tx_doorbell,
               Doorbell& timer_doorbell, CounterSet& counters, ShardFabric& fabric, const Logger& logger)
    : shard_(shard),
      name_(absl::StrCat("w", shard)),
      config_(config),
      logger_(logger),
      clock_(clock),
      pool_(pool),
      rx_(std::move(rx)),
      tx_(tx),
      tx_doorbell_(tx_doorbell),
      timer_doorbell_(timer_doorbell),
      now_(clock.Now()),
      wheel_(clock.Now()),
      next_ident_(static_cast<std::uint16_t>(shard)),
      acd_(config.mac, MacSeed(config.mac)),
      host6_(config.mac, MacSeed(config.mac) ^ 0x6666u,
             proto::ipv6::Ipv6HostConfig{.link_mtu = config.mtu, .stable_secret = config.ip6_stable_secret}),
      nd_cache_(proto::nd::NdCacheConfig{.max_entries = config.neighbour_cache}),
      mld_(MacSeed(config.mac) ^ 0x3810u),
      reassembler6_(proto::ReassemblyConfig{Duration::Seconds(60), config.reassembly6_bytes,
                                            config.reassembly6_bytes / 4}),
      next_ident6_(static_cast<std::uint32_t>(config.mac.bytes()[5]) << 24 | static_cast<std::uint32_t>(shard)),
      arp_cache_(proto::arp::ArpCacheConfig{.max_entries = config.neighbour_cache}),
      reassembler_(proto::ipv4::ReassemblyConfig{Duration::Seconds(30), config.reassembly_bytes,
                                                 config.reassembly_bytes / 4}),
      fabric_(fabric),
      ctx_{shard,
           config,
           logger,
           pool,
           fabric,
           wheel_,
           now_,
           shard_counters_.pool_drop_empty,
           shard_counters_.pool_drop_no_headroom,
           shard_counters_.shard_drop_mail_full},
      udp_(ctx_, *this, counters, MacSeed(config.mac) ^ 0x6056u),
      tcp_(ctx_, *this, counters) {
  RegisterCounters(counters, eth_counters_, kEthCounterFields);
  RegisterCounters(counters, arp_counters_, kArpCounterFields);
  RegisterCounters(counters, ipv4_counters_, kIpv4CounterFields);
  RegisterCounters(counters, neighbour_counters_, kNeighbourCounterFields);
  RegisterCounters(counters, nd_counters_, kNdCounterFields);
  RegisterCounters(counters, icmp4_counters_, kIcmp4CounterFields);
  RegisterCounters(counters, dhcp4_counters_, kDhcp4CounterFields);
  RegisterCounters(counters, ipv6_counters_, kIpv6CounterFields);
  RegisterCounters(counters, icmp6_counters_, kIcmp6CounterFields);
  RegisterCounters(counters, mld_counters_, kMldCounterFields);
  RegisterCounters(counters, shard_counters_, kShardCounterFields);
  // By ReassemblyDrop, in its order (both reassemblers share the core).
  static constexpr const char* kReasmDrops[] = {"unknown", "overlap", "too_long", "bad_length", "past_end",
                                                "memory_limit"};
  static_assert(std::size(kReasmDrops) == std::tuple_size_v<decltype(ipv4_frag_drop_)>);
  for (std::size_t i = 0; i < std::size(kReasmDrops); ++i) {
    ipv4_frag_drop_[i] = &counters.Add(absl::StrCat("ipv4_frag_drop_", kReasmDrops[i]));
    ipv6_frag_drop_[i] = &counters.Add(absl::StrCat("ipv6_frag_drop_", kReasmDrops[i]));
  }
  eth_drop_.Add(counters, "eth");
  arp_drop_.Add(counters, "arp");
  ipv4_drop_.Add(counters, "ipv4");
  icmp4_drop_.Add(counters, "icmp4");
  icmp4_quote_drop_.Add(counters, "icmp4_quote");
  dhcp4_drop_.Add(counters, "dhcp4");
  ipv6_drop_.Add(counters, "ipv6");
  ipv6_ext_drop_.Add(counters, "ipv6_ext");
  icmp6_drop_.Add(counters, "icmp6");
  nd_drop_.Add(counters, "nd");
  mld_drop_.Add(counters, "mld");
  last_publish_ = now_;
  if (shard != 0) {
    // Addresses, routes and neighbours: shard 0's, from its snapshot
    // (shard 0 is built first and publishes its first one below).
    RefreshSnapshot();
    published_deadline_.store(wheel_.NextExpiry().nanos(), std::memory_order_release);
    return;
  }
  // Addresses: usable at once without ACD; with it, claimed first.
  const bool probe = config.acd;
  for (const Ip4Setting& s : config.ip4) {
    host_.AddAddress({s.itf, s.gateway, probe ? ipv4::AddressState::kTentative : ipv4::AddressState::kPreferred});
  }
  for (const Route4Setting& r : config.routes4) host_.AddStaticRoute(r.net, r.gateway);
  if (probe) StartAcd();
  if (config.dhcp4) {
    dhcp4::Dhcp4ClientConfig dc;
    dc.check_address = config.acd;
    dhcp_.emplace(config.mac, MacSeed(config.mac) ^ 0xd4c9u, dc);
    ApplyDhcp(dhcp_->Start(now_, config.dhcp4_previous));
  }
  if (config.ipv6) StartIpv6();
  PublishSnapshot();
  // The TimerStage learns of timers armed here (ACD's first probe) from this.
  published_deadline_.store(wheel_.NextExpiry().nanos(), std::memory_order_release);
}

// Multicast filtering below IP, as a NIC's filter would: broadcast, IPv4
// all-hosts (224.0.0.1; no other IPv4 group is joined) and the IPv6 groups
// joined (all-nodes and the solicited-node groups; on other shards, which
// have no IPv6 addresses, all-nodes only).
bool Worker::WantedMulticast(const MacAddress& mac) const {
  if (mac == MacAddress::Broadcast()) return true;
  if (mac == proto::MulticastMac(Ipv4Address(0xe0000001u))) return true;
  const auto b = mac.bytes();
  if (b[0] == std::byte{0x33} && b[1] == std::byte{0x33}) {
    // Shards other than 0 take IPv6 multicast for their UDP and TCP
    // sockets; only the control shard knows the groups.
    return shard_ != 0 || (config_.ipv6 && host6_.IsJoinedMac(mac));
  }
  return false;
}

// RFC 5227: every configured address is probed before it is used.
void Worker::StartAcd() {
  for (const Ip4Setting& s : config_.ip4) acd_.Start(s.itf.address, now_);
  acd_deadline_.Follow(acd_.NextDeadline());
}

void Worker::OnAcdTimer() {
  acd_deadline_.Fired();
  acd_.OnTimer(
      now_,
      [this](Ipv4Address ip, arp::ConflictDetector::Send what) {
        if (what == arp::ConflictDetector::Send::kProbe) {
          arp_counters_.acd_probe.Inc();
          SendArp(acd_.Probe(ip), MacAddress::Broadcast());
        } else {
          arp_counters_.acd_announce.Inc();
          SendArp(acd_.Announcement(ip), MacAddress::Broadcast());
        }
      },
      [this](Ipv4Address ip) {
        arp_counters_.acd_claimed.Inc();
        host_.SetState(ip, ipv4::AddressState::kPreferred);
        const ipv4::HostAddress* a = host_.Find(ip);
        Log(Subsystem::kIp4, LogLevel::kInfo, absl::StrCat("ip4 ", a != nullptr ? a->itf.ToString() : ip.ToString(),
                                          ": claimed (no conflict after ARP probes)"));
        if (dhcp_ && dhcp_address_ && dhcp_address_->address == ip &&
            dhcp_->state() == dhcp4::Dhcp4Client::State::kChecking) {
          ApplyDhcp(dhcp_->OnAddressChecked(false, now_));
        }
      });
  acd_deadline_.Follow(acd_.NextDeadline());
}

void Worker::OnAcdVerdict(const arp::ConflictDetector::Seen& seen) {
  switch (seen.verdict) {
    case arp::ConflictDetector::Verdict::kNone:
      return;
    case arp::ConflictDetector::Verdict::kDefend:
      arp_counters_.acd_defend.Inc();
      Log(Subsystem::kIp4, LogLevel::kWarn, absl::StrCat("ip4 ", seen.ip.ToString(), ": ", seen.other.ToString(),
                                        " claims it too; defending with an announcement"));
      SendArp(acd_.Announcement(seen.ip), MacAddress::Broadcast());
      return;
    case arp::ConflictDetector::Verdict::kConflict:
      arp_counters_.acd_conflict.Inc();
      host_.SetState(seen.ip, ipv4::AddressState::kConflict);
      Log(Subsystem::kIp4, LogLevel::kWarn, absl::StrCat("ip4 ", seen.ip.ToString(), ": address conflict with ",
                                        seen.other.ToString(), "; not using it"));
      acd_deadline_.Follow(acd_.NextDeadline());
      tcp_.AbortOnLostAddresses(host_);
      if (dhcp_ && dhcp_address_ && dhcp_address_->address == seen.ip) {
        if (dhcp_->state() == dhcp4::Dhcp4Client::State::kChecking) {
          ApplyDhcp(dhcp_->OnAddressChecked(true, now_));  // DECLINE
        } else {
          // Taken from us after binding: start over for another address.
          host_.RemoveAddress(seen.ip);
          acd_.Remove(seen.ip);
          dhcp_address_.reset();
          acd_deadline_.Follow(acd_.NextDeadline());
          ApplyDhcp(dhcp_->Start(now_));
        }
      }
      return;
  }
}

std::size_t Worker::Poll(std::size_t budget) {
  now_ = clock_.Now();
  if (shard_ != 0) RefreshSnapshot();
  std::size_t done = 0;
  if (fabric_.MailPending(shard_)) {
    ServeMail();
    ++done;
  }
  done += ServeSockets(budget);
  Packet batch[32];
  // A burst from each RX stage's ring in turn, until all are empty.
  for (std::size_t idle = 0, r = 0; done < budget && idle < rx_.size(); r = (r + 1) % rx_.size()) {
    const std::size_t n = rx_[r]->TryPopBurst(std::span(batch, std::min<std::size_t>(32, budget - done)));
    if (n == 0) {
      ++idle;
      continue;
    }
    idle = 0;
    for (std::size_t i = 0; i < n; ++i) Process(std::move(batch[i]));
    done += n;
  }
  wheel_.Advance(now_, [this, &done](std::uint64_t cookie) {
    OnTimer(cookie);
    ++done;
  });
  if (shard_ == 0) MaybePublish();
  if (inspect_pending_.load(std::memory_order_relaxed) && inspect_pending_.exchange(false)) {
    std::vector<std::function<void()>> todo;
    {
      std::lock_guard lock(inspect_mu_);
      todo.swap(inspect_);
    }
    for (auto& fn : todo) fn();
  }
  tcp_.FlushWakes();
  // Tell the TimerStage when we next need waking. It must hear now of an
  // earlier deadline than before, and of any new one once the old one has
  // passed: it rang for that one and may be asleep with nothing to wait for.
  const std::int64_t next = wheel_.NextExpiry().nanos();
  const std::int64_t before = published_deadline_.exchange(next, std::memory_order_acq_rel);
  if (next < before || (next != before && before <= now_.nanos())) timer_doorbell_.Ring();
  tcp_.FlushTso();
  if (tx_pushed_) {
    tx_doorbell_.Ring();
    tx_pushed_ = false;
  }
  return done;
}

void Worker::Process(Packet p) {
  eth_counters_.rx.Inc();
  const auto eth = ethernet::EthernetRepr::Parse(p.data());
  if (!eth) {
    eth_drop_.Count(eth.error());
    return;
  }
  if (eth->dst != config_.mac && !eth->dst.IsMulticast()) {  // multicast includes broadcast
    eth_counters_.drop_not_for_us.Inc();
    return;
  }
  if (eth->dst.IsMulticast() && !WantedMulticast(eth->dst)) {
    eth_counters_.drop_multicast_filtered.Inc();
    return;
  }
  switch (eth->ethertype) {
    case ethernet::kEtherTypeArp:
      net_dirty_ = true;  // the neighbour cache or an address's claim may change
      p.TrimFront(ethernet::kHeaderLen);
      HandleArp(std::move(p));
      return;
    case ethernet::kEtherTypeIpv4:
      p.TrimFront(ethernet::kHeaderLen);
      HandleIpv4(std::move(p));
      return;
    case ethernet::kEtherTypeIpv6:
      p.TrimFront(ethernet::kHeaderLen);
      HandleIpv6(std::move(p));
      return;
    default:
      eth_counters_.drop_unknown_ethertype.Inc();
      return;
  }
}

// RFC 826 "Packet Reception" (the merge and the reply), on the control shard.
void Worker::HandleArp(Packet p) {
  const auto in = arp::ArpRepr::Parse(p.data());
  if (!in) {
    arp_drop_.Count(in.error());
    return;
  }
  (in->oper == arp::kOpRequest ? arp_counters_.rx_request : arp_counters_.rx_reply).Inc();
  if (shard_ == 0) OnAcdVerdict(acd_.OnArp(*in, now_));
  // A packet from one of our own addresses is another host claiming it: ACD
  // has judged it; it teaches the cache nothing and gets no reply.
  if (host_.Find(in->spa) != nullptr) return;
  const arp::ArpOutcome out =
      arp::ArpReceive(*in, config_.mac, [this](Ipv4Address a) { return host_.IsLocal(a); });
  if (arp_cache_.OnArp(*in, out.for_me, now_)) ReleaseParked(in->spa, in->sha);
  arp_deadline_.Follow(arp_cache_.NextDeadline());
  if (!out.reply) return;
  // Answer in the request's own buffer: rewrite the ARP body, re-prepend Ethernet.
  p.Truncate(arp::kPacketLen);
  out.reply->Emit(p.data());
  arp_counters_.tx_reply.Inc();
  SendEthernet(std::move(p), out.reply->tha, ethernet::kEtherTypeArp);
}

void Worker::HandleIpv4(Packet p) {
  const auto ip = ipv4::Ipv4Repr::Parse(p.data());
  if (!ip) {
    ipv4_drop_.Count(ip.error());
    return;
  }
  ipv4_counters_.rx.Inc();
  const bool to_us = host_.IsLocal(ip->dst);
  const bool to_group = !to_us && (host_.IsBroadcast(ip->dst) || ip->dst.IsMulticast());
  if (!to_us && !to_group) {
    ipv4_counters_.drop_not_for_us.Inc();  // a host does not forward (RFC 1122 3.3.1)
    return;
  }
  // Keep only the payload: drop the header (with options) and link padding.
  p.TrimFront(ip->parsed_header_len);
  p.Truncate(ip->payload_len);
  ipv4::Ipv4Repr header = *ip;
  if (header.is_fragment() && !Reassemble(p, header)) return;
  switch (header.protocol) {
    case ipv4::kProtoIcmp:
      HandleIcmpv4(std::move(p), header, to_group);
      return;
    case ipv4::kProtoUdp:
      HandleUdp(std::move(p), header, to_group);
      return;
    case ipv4::kProtoTcp:
      tcp_.Receive(std::move(p), header.src, header.dst, to_group);
      return;
    default:
      // RFC 1122 3.2.2.1: a host SHOULD say so when it has no such protocol.
      ipv4_counters_.rx_unknown_protocol.Inc();
      SendDestUnreachable(icmpv4::kCodeProtocolUnreachable, header, p, to_group);
      return;
  }
}

// UDP over IPv4: the DHCPv4 client's replies here, the rest to the UDP
// sockets (of this shard, or mailed to the shard that owns the port).
void Worker::HandleUdp(Packet p, const ipv4::Ipv4Repr& ip, bool to_group) {
  const auto udp = udp_.Parse(p, 0, ip.src, ip.dst);
  if (!udp) return;
  if (!dhcp_ || udp->dst_port != dhcp4::kClientPort || udp->src_port != dhcp4::kServerPort) {
    // A reassembled datagram for a port another shard owns goes there.
    if (shard_ == 0 && config_.workers > 1) {
      ShardMessage m;
      m.kind = ShardMessage::Kind::kUdp4;
      m.ip4 = ip;
      m.group = to_group;
      if (ForwardUdp(p, udp->dst_port, std::move(m))) return;
    }
    // To a socket, or (none bound) RFC 1122 4.1.3.1 port unreachable.
    if (udp_.Receive(p, *udp, ip.src, ip.dst, to_group)) return;
    SendDestUnreachable(icmpv4::kCodePortUnreachable, ip, p, to_group);
    return;
  }
  const auto msg = dhcp4::Dhcp4Repr::Parse(udp->payload);
  if (!msg) {
    dhcp4_drop_.Count(msg.error());
    return;
  }
  dhcp4_counters_.rx.Inc();
  ApplyDhcp(dhcp_->OnMessage(*msg, now_));
}

void Worker::SendDhcp(const dhcp4::Dhcp4Client::Transmit& t) {
  Packet p = pool_.Get();
  if (!p) {
    shard_counters_.pool_drop_empty.Inc();
    return;
  }
  const std::size_t len = t.msg.emitted_len();
  const auto datagram = p.Append(proto::udp::kHeaderLen + len);
  t.msg.Emit(datagram.subspan(proto::udp::kHeaderLen));
  proto::udp::UdpRepr{dhcp4::kClientPort, dhcp4::kServerPort, {}}.EmitHeader(datagram, t.src, t.dst);
  dhcp4_counters_.tx.Inc();
  SendIpv4(std::move(p), t.src, t.dst, ipv4::kProtoUdp);
}

void Worker::ApplyDhcp(const dhcp4::Dhcp4Client::Outcome& out) {
  net_dirty_ = true;
  using Event = dhcp4::Dhcp4Client::Event;
  auto drop_address = [this] {
    if (!dhcp_address_) return;
    host_.RemoveAddress(dhcp_address_->address);
    acd_.Remove(dhcp_address_->address);
    dhcp_address_.reset();
    acd_deadline_.Follow(acd_.NextDeadline());
  };
  auto describe = [](const dhcp4::Lease& l) {
    std::string s = absl::StrCat(l.itf.ToString(), " from ", l.server.ToString());
    if (l.router) absl::StrAppend(&s, ", router ", l.router->ToString());
    for (std::size_t i = 0; i < l.dns_count; ++i) absl::StrAppend(&s, i == 0 ? ", dns " : " ", l.dns[i].ToString());
    absl::StrAppend(&s, ", lease ", l.lease_time.nanos() / 1'000'000'000, " s");
    return s;
  };
  switch (out.event) {
    case Event::kNone:
      break;
    case Event::kIgnored:
      dhcp4_counters_.rx_ignored.Inc();
      break;
    case Event::kCheckAddress:
      drop_address();
      if (host_.Find(out.lease->itf.address) != nullptr) {
        // Offered an address this host already has from --ip4: nothing to
        // probe, and it stays the configured one's (never removed by DHCP).
        ApplyDhcp(dhcp_->OnAddressChecked(false, now_));
        return;
      }
      // RFC 2131 4.4.1: probe the offered address before using it.
      dhcp_address_ = out.lease->itf;
      host_.AddAddress({out.lease->itf, out.lease->router, ipv4::AddressState::kTentative});
      acd_.Start(out.lease->itf.address, now_);
      acd_deadline_.Follow(acd_.NextDeadline());
      break;
    case Event::kBound:
    case Event::kRenewed: {
      const bool same = dhcp_address_ && *dhcp_address_ == out.lease->itf;
      if (!same && host_.Find(out.lease->itf.address) != nullptr) {
        drop_address();
        (out.event == Event::kBound ? dhcp4_counters_.bound : dhcp4_counters_.renewed).Inc();
        Log(Subsystem::kDhcp4, LogLevel::kInfo, absl::StrCat("dhcp4: leased ", describe(*out.lease),
                                          ", which --ip4 already configures; keeping that configuration"));
        break;
      }
      const ipv4::HostAddress* held = host_.Find(out.lease->itf.address);
      if (!same || held == nullptr || held->gateway != out.lease->router) {
        if (!same) drop_address();
        host_.RemoveAddress(out.lease->itf.address);
        host_.AddAddress({out.lease->itf, out.lease->router, ipv4::AddressState::kPreferred});
        dhcp_address_ = out.lease->itf;
      }
      host_.SetState(out.lease->itf.address, ipv4::AddressState::kPreferred);
      (out.event == Event::kBound ? dhcp4_counters_.bound : dhcp4_counters_.renewed).Inc();
      Log(Subsystem::kDhcp4, LogLevel::kInfo, absl::StrCat("dhcp4: ", out.event == Event::kBound ? "bound " : "renewed ",
                                        describe(*out.lease)));
      break;
    }
    case Event::kDeclined:
      dhcp4_counters_.declined.Inc();
      Log(Subsystem::kDhcp4, LogLevel::kWarn, absl::StrCat("dhcp4: ", out.lost->ToString(),
                                        " is in use by another host; declined, asking again in 10 s"));
      drop_address();
      break;
    case Event::kLost:
      dhcp4_counters_.lost.Inc();
      if (out.lost) Log(Subsystem::kDhcp4, LogLevel::kWarn, absl::StrCat("dhcp4: lost ", out.lost->ToString(), "; asking again"));
      drop_address();
      break;
  }
  // A lease lost, declined or replaced by another address takes its
  // connections with it (the other shards' go when the snapshot without the
  // address reaches them).
  tcp_.AbortOnLostAddresses(host_);
  if (out.send) SendDhcp(*out.send);
  dhcp_deadline_.Follow(dhcp_ ? dhcp_->NextDeadline() : Instant::Never());
}

void Worker::HandleIcmpv4(Packet p, const ipv4::Ipv4Repr& ip, bool to_group) {
  const auto msg = icmpv4::Icmpv4Repr::Parse(p.data());
  if (!msg) {
    icmp4_drop_.Count(msg.error());
    return;
  }
  switch (msg->type) {
    case icmpv4::kTypeEchoRequest: {
      icmp4_counters_.rx_echo_request.Inc();
      const auto reply = icmpv4::EchoReplyFor(*msg, to_group);
      if (!reply) {
        icmp4_counters_.drop_echo_to_group.Inc();
        return;
      }
      // The data is already in place after the header: rewrite the header only.
      reply->EmitHeader(p.data());
      icmp4_counters_.tx_echo_reply.Inc();
      SendIpv4(std::move(p), ip.dst, ip.src, ipv4::kProtoIcmp);
      return;
    }
    case icmpv4::kTypeEchoReply:
      icmp4_counters_.rx_echo_reply.Inc();
      if (shard_ == 0) udp_.ReceiveEchoReply(p, /*v6=*/false, ip.src);  // to its ICMP echo socket, if any
      return;
    case icmpv4::kTypeDestUnreachable:
    case icmpv4::kTypeTimeExceeded:
    case icmpv4::kTypeParameterProblem:
      OnIcmpError(*msg);
      return;
    default:
      icmp4_counters_.rx_other.Inc();
      return;
  }
}

// RFC 1122 3.2.2: errors are passed to the transport that sent the datagram
// they quote. Validated and counted by type here; the UDP and TCP sockets
// they concern take them with #5 and #6.
void Worker::OnIcmpError(const icmpv4::Icmpv4Repr& msg) {
  const auto report = icmpv4::ParseErrorReport(msg);
  if (!report) {
    icmp4_quote_drop_.Count(report.error());
    return;
  }
  if (!host_.IsLocal(report->src)) {
    icmp4_quote_drop_.Count(ParseError::kBadSourceAddress);  // not about anything we sent
    return;
  }
  if (msg.type == icmpv4::kTypeDestUnreachable && msg.code == icmpv4::kCodePortUnreachable &&
      report->protocol == ipv4::kProtoUdp) {
    udp_.ErrorToSocket({report->src, report->src_port}, {report->dst, report->dst_port}, ECONNREFUSED);
  }
  if (LogEnabled(Subsystem::kIcmp, LogLevel::kDebug)) {
    Log(Subsystem::kIcmp, LogLevel::kDebug,
        absl::StrCat("icmp4: type ", msg.type, " code ", msg.code, " about ",
                     report->src.ToString(), ":", report->src_port, " > ", report->dst.ToString(), ":",
                     report->dst_port, " protocol ", report->protocol));
  }
  switch (msg.type) {
    case icmpv4::kTypeDestUnreachable: icmp4_counters_.rx_dest_unreachable.Inc(); break;
    case icmpv4::kTypeTimeExceeded: icmp4_counters_.rx_time_exceeded.Inc(); break;
    default: icmp4_counters_.rx_param_problem.Inc(); break;
  }
}

void Worker::SendDestUnreachable(std::uint8_t code, const ipv4::Ipv4Repr& about, const Packet& p, bool to_group) {
  if (LogEnabled(Subsystem::kIcmp, LogLevel::kDebug)) {
    Log(Subsystem::kIcmp, LogLevel::kDebug,
        absl::StrCat("icmp4: unreachable (code ", code, ") to ", about.src.ToString(), " for protocol ",
                     about.protocol));
  }
  if (!icmpv4::ErrorAllowed(about, p.data(), to_group)) {
    icmp4_counters_.error_suppressed.Inc();
    return;
  }
  if (SendIcmpError(icmpv4::DestUnreachable(code, {}), about, p.data())) icmp4_counters_.tx_dest_unreachable.Inc();
}

bool Worker::SendIcmpError(const icmpv4::Icmpv4Repr& error, const ipv4::Ipv4Repr& about, proto::Bytes head) {
  if (!error_limiter_.Allow(now_)) {
    icmp4_counters_.error_rate_limited.Inc();
    return false;
  }
  Packet e = pool_.Get();
  if (!e) {
    shard_counters_.pool_drop_empty.Inc();
    return false;
  }
  // The quote: the offending header (re-emitted without options) and the
  // first 8 bytes of its payload (RFC 792).
  const std::size_t tail = std::min<std::size_t>(8, head.size());
  const auto msg = e.Append(icmpv4::kHeaderLen + ipv4::Ipv4Repr::header_len() + tail);
  const auto quote = msg.subspan(icmpv4::kHeaderLen);
  about.Emit(quote.first(ipv4::Ipv4Repr::header_len()));
  std::memcpy(quote.data() + ipv4::Ipv4Repr::header_len(), head.data(), tail);
  icmpv4::Icmpv4Repr out = error;
  out.data = quote;
  out.EmitHeader(msg);
  SendIpv4(std::move(e), about.dst, about.src, ipv4::kProtoIcmp);
  return true;
}

// RFC 1122 3.3.2: "if fragment zero is not available then no time exceeded
// need be sent at all"; when it is, Time Exceeded code 1 quoting it.
void Worker::OnReassemblyExpired(const ipv4::Ipv4Reassembler::Expired& e) {
  ipv4_counters_.reassembly_timeout.Inc();
  if (!e.had_first_fragment) return;
  const proto::Bytes head(e.first_bytes.data(), e.first_bytes_len);
  // The datagram was for us (only those are reassembled), so the group and
  // source rules are those of fragment zero.
  if (!icmpv4::ErrorAllowed(e.first_header, head, host_.IsBroadcast(e.first_header.dst))) {
    icmp4_counters_.error_suppressed.Inc();
    return;
  }
  if (SendIcmpError(icmpv4::TimeExceeded(icmpv4::kCodeFragmentReassemblyTimeExceeded, {}), e.first_header, head)) {
    icmp4_counters_.tx_time_exceeded.Inc();
  }
}

// RFC 791 3.2 reassembly, on the control shard (fragments are steered there).
bool Worker::Reassemble(Packet& p, ipv4::Ipv4Repr& ip) {
  ipv4_counters_.rx_fragment.Inc();
  const auto out = reassembler_.OnFragment(ip, p.data(), now_);
  if (reassembler_.evicted() != evicted_seen_) {
    ipv4_counters_.frag_evicted.Inc(reassembler_.evicted() - evicted_seen_);
    evicted_seen_ = reassembler_.evicted();
  }
  reassembly_deadline_.Follow(reassembler_.NextDeadline());
  switch (out.status) {
    case ipv4::Ipv4Reassembler::Status::kIncomplete:
      return false;
    case ipv4::Ipv4Reassembler::Status::kDuplicate:
      ipv4_counters_.frag_duplicate.Inc();
      return false;
    case ipv4::Ipv4Reassembler::Status::kDropped:
      ipv4_frag_drop_[static_cast<int>(out.drop)]->Inc();
      return false;
    case ipv4::Ipv4Reassembler::Status::kComplete:
      break;
  }
  // Headers go into the headroom, so the data space needs only the payload.
  Packet whole = pool_.Get(out.payload.size() <= pool_.data_size(rings::BufferClass::kStandard)
                               ? rings::BufferClass::kStandard
                               : rings::BufferClass::kLarge);
  const auto room = whole ? whole.Append(out.payload.size()) : std::span<std::byte>();
  if (room.size() != out.payload.size()) {
    shard_counters_.pool_drop_empty.Inc();
    return false;
  }
  std::memcpy(room.data(), out.payload.data(), out.payload.size());
  p = std::move(whole);
  ip = out.header;
  ipv4_counters_.rx_reassembled.Inc();
  return true;
}

void Worker::SendIp(Packet p, const proto::IpAddress& src, const proto::IpAddress& dst, std::uint8_t protocol,
                    Path path) {
  via_tx_thread_ = path == Path::kTxThread;
  if (src.is_v6()) {
    ipv6::Ipv6Repr ip;
    ip.src = src.v6();
    ip.dst = dst.v6();
    ip.next_header = protocol;
    SendIpv6(std::move(p), ip);
  } else {
    SendIpv4(std::move(p), src.v4(), dst.v4(), protocol);
  }
  via_tx_thread_ = false;
}

std::size_t Worker::PathMtu(const proto::IpAddress& dst) { return dst.is_v6() ? PathMtu6(dst.v6()) : config_.mtu; }

proto::IpAddress Worker::SourceFor(const proto::IpAddress& dst) const {
  if (dst.is_v6()) return host6_.SourceFor(dst.v6());
  return host_.SourceFor(dst.v4());
}

bool Worker::IsLocal(const proto::IpAddress& addr) const {
  return addr.is_v6() ? host6_.IsLocal(addr.v6()) : host_.IsLocal(addr.v4());
}

void Worker::SendIpv4(Packet p, Ipv4Address src, Ipv4Address dst, std::uint8_t protocol) {
  ipv4::Ipv4Repr ip;
  ip.src = src;
  ip.dst = dst;
  ip.protocol = protocol;
  // Identification: a counter per shard, the shards interleaved (shard k
  // uses k, k + workers, ...) so no two shards reuse an ID (RFC 6864).
  ip.ident = next_ident_;
  next_ident_ = static_cast<std::uint16_t>(next_ident_ + config_.workers);
  // A TCP super-segment (gso_size) is cut to the MTU by the link.
  if (p.size() + ipv4::Ipv4Repr::header_len() > config_.mtu && p.offload().gso_size == 0) {
    if (ip.df) {
      ipv4_counters_.drop_df_too_big.Inc();  // counted; the sending socket is not told (no EMSGSIZE)
      return;
    }
    SendFragments(p, ip);
    return;
  }
  ip.payload_len = static_cast<std::uint16_t>(p.size());
  const auto header = p.Prepend(ipv4::Ipv4Repr::header_len());
  if (header.empty()) {
    shard_counters_.pool_drop_no_headroom.Inc();
    return;
  }
  ip.Emit(header);
  ipv4_counters_.tx.Inc();
  SendToNextHop(std::move(p), dst);
}

// RFC 791 3.2 fragmentation: fragments of (MTU - 20) & ~7 payload bytes, each
// in a buffer of its own, all with the datagram's identification.
void Worker::SendFragments(const Packet& p, ipv4::Ipv4Repr ip) {
  const std::size_t chunk = (config_.mtu - ipv4::Ipv4Repr::header_len()) & ~std::size_t{7};
  const auto payload = p.data();
  for (std::size_t off = 0; off < payload.size(); off += chunk) {
    const std::size_t n = std::min(chunk, payload.size() - off);
    Packet f = pool_.Get();
    if (!f) {
      shard_counters_.pool_drop_empty.Inc();
      return;  // the rest is useless without this fragment
    }
    std::memcpy(f.Append(n).data(), payload.data() + off, n);
    ip.frag_offset = static_cast<std::uint32_t>(off);
    ip.mf = off + n < payload.size();
    ip.payload_len = static_cast<std::uint16_t>(n);
    ip.Emit(f.Prepend(ipv4::Ipv4Repr::header_len()));
    ipv4_counters_.tx_fragment.Inc();
    SendToNextHop(std::move(f), ip.dst);
  }
  ipv4_counters_.tx.Inc();
}

void Worker::SendToNextHop(Packet p, Ipv4Address dst) {
  if (host_.IsBroadcast(dst)) {
    SendEthernet(std::move(p), MacAddress::Broadcast(), ethernet::kEtherTypeIpv4);
    return;
  }
  if (dst.IsMulticast()) {
    SendEthernet(std::move(p), proto::MulticastMac(dst), ethernet::kEtherTypeIpv4);
    return;
  }
  // Next hop by longest-prefix match: on-link destinations directly, the
  // rest via their route's gateway.
  const auto route = host_.Lookup(dst);
  if (!route) {
    ipv4_counters_.drop_no_route.Inc();
    return;
  }
  const Ipv4Address next_hop = route->next_hop;
  if (shard_ != 0) {
    SendBySnapshot(std::move(p), next_hop);
    return;
  }
  if (const auto hit = arp_cache_.Use(next_hop, now_)) {
    SendEthernet(std::move(p), hit->mac, ethernet::kEtherTypeIpv4);
    if (hit->send_probe) {
      SendArpRequest(next_hop, hit->mac);
      arp_deadline_.Follow(arp_cache_.NextDeadline());
    }
    return;
  }
  switch (arp_cache_.StartResolve(next_hop, now_)) {
    case arp::ArpCache::Resolve::kSendRequest:
      Park(next_hop, std::move(p));
      SendArpRequest(next_hop);
      arp_deadline_.Follow(arp_cache_.NextDeadline());
      return;
    case arp::ArpCache::Resolve::kAlreadyPending:
      Park(next_hop, std::move(p));
      return;
    case arp::ArpCache::Resolve::kCacheFull:
      arp_counters_.drop_cache_full.Inc();  // --neighbour-cache
      return;
  }
}

void Worker::SendEthernet(Packet p, MacAddress dst, std::uint16_t ethertype) {
  const auto header = p.Prepend(ethernet::kHeaderLen);
  if (header.empty()) {
    shard_counters_.pool_drop_no_headroom.Inc();
    return;
  }
  ethernet::EthernetRepr{dst, config_.mac, ethertype}.Emit(header);
  if (inline_link_ != nullptr) {
    // Nothing of ours waits for the TX thread (acquire: every frame it took
    // from our ring is written), so this one cannot overtake any.
    if (!via_tx_thread_ && tx_outstanding_->load(std::memory_order_acquire) == 0) {
      switch (inline_link_->Send(p)) {
        case SendResult::kSent:
          shard_counters_.tx_frames.Inc();
          shard_counters_.tx_bytes.Inc(p.size());
          return;
        case SendResult::kError:
          shard_counters_.tx_drop_error.Inc();
          return;
        case SendResult::kBusy:
          break;  // the TX stage keeps it and waits for the fd
      }
    }
    tx_outstanding_->fetch_add(1, std::memory_order_relaxed);
  }
  if (!tx_.TryPush(std::move(p))) {
    if (inline_link_ != nullptr) tx_outstanding_->fetch_sub(1, std::memory_order_relaxed);
    shard_counters_.tx_drop_ring_full.Inc();
    return;
  }
  tx_pushed_ = true;
}

void Worker::SendArpRequest(Ipv4Address target, std::optional<MacAddress> unicast) {
  // RFC 5227 2.5 would allow 0.0.0.0 here; a real source lets the target learn us.
  const Ipv4Address src = host_.SourceFor(target);
  if (unicast) {
    arp_counters_.tx_probe.Inc();
  } else {
    arp_counters_.tx_request.Inc();
  }
  SendArp(arp::ArpRequest(config_.mac, src, target), unicast.value_or(MacAddress::Broadcast()));
}

void Worker::SendArp(const arp::ArpRepr& arp, MacAddress dst) {
  Packet p = pool_.Get();
  if (!p) {
    shard_counters_.pool_drop_empty.Inc();
    return;
  }
  arp.Emit(p.Append(arp::kPacketLen));
  SendEthernet(std::move(p), dst, ethernet::kEtherTypeArp);
}

template <typename Addr>
bool Worker::ParkIn(absl::flat_hash_map<Addr, Parked>& parked_by_hop, const Addr& next_hop, Packet p) {
  auto it = parked_by_hop.find(next_hop);
  bool first = false;
  if (it == parked_by_hop.end()) {
    if (parked_by_hop.size() >= kMaxParkedNeighbours) {
      neighbour_counters_.drop_park_full.Inc();
      return false;
    }
    it = parked_by_hop.try_emplace(next_hop).first;
    it->second.since = now_;
    first = true;
  }
  Parked& parked = it->second;
  const std::size_t limit = std::min(kParkedPerNeighbour, config_.neighbour_pending);
  if (parked.count >= limit) {
    // Keep the newest packets, as Linux's neighbour queue does.
    neighbour_counters_.drop_park_full.Inc();
    for (std::size_t i = 1; i < parked.count; ++i) parked.packets[i - 1] = std::move(parked.packets[i]);
    --parked.count;
  }
  parked.packets[parked.count++] = std::move(p);
  return first;
}

template <typename Addr>
void Worker::ReleaseFrom(absl::flat_hash_map<Addr, Parked>& parked_by_hop, const Addr& next_hop, MacAddress mac,
                         std::uint16_t ethertype) {
  auto it = parked_by_hop.find(next_hop);
  if (it == parked_by_hop.end()) return;
  Parked parked = std::move(it->second);
  parked_by_hop.erase(it);
  for (std::size_t i = 0; i < parked.count; ++i) SendEthernet(std::move(parked.packets[i]), mac, ethertype);
}

template bool Worker::ParkIn(absl::flat_hash_map<Ipv4Address, Parked>&, const Ipv4Address&, Packet);
template bool Worker::ParkIn(absl::flat_hash_map<proto::Ipv6Address, Parked>&, const proto::Ipv6Address&, Packet);
template void Worker::ReleaseFrom(absl::flat_hash_map<Ipv4Address, Parked>&, const Ipv4Address&, MacAddress,
                                  std::uint16_t);
template void Worker::ReleaseFrom(absl::flat_hash_map<proto::Ipv6Address, Parked>&, const proto::Ipv6Address&,
                                  MacAddress, std::uint16_t);

void Worker::DropHeld() {
  for (const auto& [hop, parked] : parked_) neighbour_counters_.drop_parked_at_stop.Inc(parked.count);
  for (const auto& [hop, parked] : parked6_) neighbour_counters_.drop_parked_at_stop.Inc(parked.count);
  parked_.clear();  // handles return their buffers
  parked6_.clear();
}

void Worker::DropParked(Ipv4Address next_hop) {
  auto it = parked_.find(next_hop);
  if (it == parked_.end()) return;
  ipv4_counters_.drop_neighbour_unreachable.Inc(it->second.count);
  parked_.erase(it);  // handles return their buffers
}

void Worker::OnTimer(std::uint64_t cookie) {
  switch (TimerLayerOf(cookie)) {
    case TimerLayer::kTcp:
      tcp_.OnTimer(TimerValueOf(cookie));
      return;
    case TimerLayer::kShard:
      break;
  }
  if (cookie != kTimerPublish && cookie != kTimerParked) net_dirty_ = true;  // caches age, addresses change
  switch (cookie) {
    case kTimerPublish:  // MaybePublish, after the timers, publishes
      publish_timer_armed_ = false;
      return;
    case kTimerParked:
      ExpireParked();
      return;
    case kTimerArpCache:
      OnArpCacheTimer();
      return;
    case kTimerReassembly:
      reassembly_deadline_.Fired();
      reassembler_.OnTimer(now_, [this](const ipv4::Ipv4Reassembler::Expired& e) { OnReassemblyExpired(e); });
      reassembly_deadline_.Follow(reassembler_.NextDeadline());
      return;
    case kTimerAcd:
      OnAcdTimer();
      return;
    case kTimerDhcp:
      dhcp_deadline_.Fired();
      if (dhcp_) ApplyDhcp(dhcp_->OnTimer(now_));
      return;
    case kTimerReassembly6:
      reassembly6_deadline_.Fired();
      reassembler6_.OnTimer(now_, [this](const ipv6::Ipv6Reassembler::Expired& e) { OnReassembly6Expired(e); });
      break;
    case kTimerIpv6Host:
      host6_deadline_.Fired();
      ApplyIpv6(host6_.OnTimer(now_));
      break;
    case kTimerNd:
      OnNdTimer();
      break;
    case kTimerMld:
      mld_deadline_.Fired();
      mld_.OnTimer(now_, [this](const std::vector<proto::mld::Record>& r) { SendMldReport(r); });
      break;
    default:
      return;
  }
  RearmIpv6Timers();
}

void Worker::OnArpCacheTimer() {
  arp_deadline_.Fired();
  arp_cache_.OnTimer(
      now_, [this](Ipv4Address ip, std::optional<MacAddress> unicast) { SendArpRequest(ip, unicast); },
      [this](Ipv4Address ip) {
        arp_counters_.resolve_failed.Inc();
        if (LogEnabled(Subsystem::kArp, LogLevel::kDebug)) {
          Log(Subsystem::kArp, LogLevel::kDebug, absl::StrCat("arp: ", ip.ToString(), " did not answer; unreachable"));
        }
        DropParked(ip);
      });
  arp_deadline_.Follow(arp_cache_.NextDeadline());
}

}  // namespace ringstack::engine
