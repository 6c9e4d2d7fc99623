// The control shard's IPv6: addresses with DAD and SLAAC, Neighbor
// Discovery, router discovery, MLDv2 and ICMPv6 (echo, errors). The state
// machines are the pure classes of protocols/ipv6 and protocols/icmpv6; this
// file moves their decisions into packets.
#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "engine/worker.h"
#include "protocols/icmpv6/mld/mld_repr.h"
#include "protocols/icmpv6/nd/nd_repr.h"
#include "protocols/ipv6/ipv6_header.h"
#include "protocols/udp/udp_repr.h"

namespace ringstack::engine {

using proto::Ipv6Address;
using proto::MacAddress;
using proto::ParseError;
namespace ethernet = proto::ethernet;
namespace icmpv6 = proto::icmpv6;
namespace ipv6 = proto::ipv6;
namespace mld = proto::mld;
namespace nd = proto::nd;

void Worker::StartIpv6() {
  // RFC 4862 5.3: a link-local address first (EUI-64, or RFC 7217 with
  // --ip6-stable), then the static ones; all through DAD.
  ApplyIpv6(host6_.AddAddress({host6_.FormAddress(*Ipv6Address::Parse("fe80::"), 0), 64}, ipv6::Origin::kLinkLocal,
                              now_));
  for (const proto::Ipv6Interface& itf : config_.ip6) {
    ApplyIpv6(host6_.AddAddress(itf, ipv6::Origin::kStatic, now_));
  }
  if (config_.gw6) host6_.AddStaticRouter(*config_.gw6);
}

void Worker::ApplyIpv6(ipv6::Ipv6Host::Events ev) {
  for (const Ipv6Address& group : ev.join) SendMldReport(mld_.Join(group, now_));
  for (const Ipv6Address& group : ev.leave) SendMldReport(mld_.Leave(group, now_));
  for (const Ipv6Address& a : ev.send_dad) {
    // RFC 4862 5.4.2: NS from :: to the solicited-node group, no SLLA.
    nd_counters_.dad_ns.Inc();
    SendNeighborSolicitation(a, Ipv6Address(), std::nullopt);
  }
  for (const Ipv6Address& a : ev.preferred) {
    const ipv6::HostAddress6* h = host6_.Find(a);
    Log(Subsystem::kIp6, LogLevel::kInfo, absl::StrCat("ip6 ", h != nullptr ? h->itf.ToString() : a.ToString(),
                                      ": DAD passed, in use"));
    if (a == host6_.link_local()) host6_.StartRouterSolicitation(now_);
  }
  for (const Ipv6Address& a : ev.duplicate) {
    nd_counters_.dad_duplicate.Inc();
    Log(Subsystem::kIp6, LogLevel::kWarn, absl::StrCat("ip6 ", a.ToString(), ": duplicate (another host has it); not using it"));
  }
  for (const proto::Ipv6Interface& itf : ev.removed) {
    Log(Subsystem::kIp6, LogLevel::kInfo, absl::StrCat("ip6 ", itf.ToString(), ": valid lifetime over; removed"));
  }
  for (const std::string& line : ev.log) Log(Subsystem::kIp6, LogLevel::kInfo, line);
  if (ev.send_rs) {
    // RFC 4861 6.3.7: from the link-local address with our link-layer
    // address, or from :: without it while there is none.
    Packet p = pool_.Get();
    if (!p) {
      shard_counters_.pool_drop_empty.Inc();
    } else {
      nd::RouterSolicitation rs;
      const Ipv6Address ll = host6_.link_local();
      const bool have_ll = host6_.IsLocal(ll);
      if (have_ll) rs.options.source_ll = config_.mac;
      p.Append(icmpv6::kHeaderLen);
      rs.Emit(p.Append(rs.body_len()));
      nd_counters_.tx_rs.Inc();
      SendIcmpv6(std::move(p), icmpv6::kRouterSolicitation, 0, have_ll ? ll : Ipv6Address(),
                 Ipv6Address::AllRouters(), nd::kHopLimit);
    }
  }
  RearmIpv6Timers();
}

void Worker::OnNdTimer() {
  nd_deadline_.Fired();
  nd_cache_.OnTimer(
      now_,
      [this](const proto::Ipv6Address& ip, std::optional<MacAddress> unicast) {
        SendNeighborSolicitation(ip, host6_.SourceFor(ip), unicast);
      },
      [this](const proto::Ipv6Address& ip) {
        nd_counters_.resolve_failed.Inc();
        if (LogEnabled(Subsystem::kNd, LogLevel::kDebug)) {
          Log(Subsystem::kNd, LogLevel::kDebug, absl::StrCat("nd: ", ip.ToString(), " did not answer; unreachable"));
        }
        auto it = parked6_.find(ip);
        if (it != parked6_.end()) {
          ipv6_counters_.drop_neighbour_unreachable.Inc(it->second.count);
          parked6_.erase(it);
        }
      });
}

void Worker::RearmIpv6Timers() {
  host6_deadline_.Follow(host6_.NextDeadline());
  nd_deadline_.Follow(nd_cache_.NextDeadline());
  mld_deadline_.Follow(mld_.NextDeadline());
  reassembly6_deadline_.Follow(reassembler6_.NextDeadline());
}

void Worker::HandleIpv6(Packet p) {
  const auto ip = ipv6::Ipv6Repr::Parse(p.data());
  if (!ip) {
    ipv6_drop_.Count(ip.error());
    return;
  }
  ipv6_counters_.rx.Inc();
  if (!config_.ipv6) {
    ipv6_counters_.drop_not_for_us.Inc();
    return;
  }
  const bool multicast = ip->dst.IsMulticast();
  if (!(multicast ? host6_.IsJoined(ip->dst) : host6_.IsLocal(ip->dst))) {
    ipv6_counters_.drop_not_for_us.Inc();
    return;
  }
  p.TrimFront(ipv6::kHeaderLen);
  p.Truncate(ip->payload_len);
  const auto ext = ipv6::WalkExtensionHeaders(ip->next_header, p.data(), multicast);
  if (ext.kind == ipv6::ExtOutcome::Kind::kFragment) {
    Reassemble6(std::move(p), *ip, ext.fragment);
    return;
  }
  DeliverIpv6(std::move(p), *ip, ext);
}

void Worker::DeliverIpv6(Packet p, const ipv6::Ipv6Repr& ip, const ipv6::ExtOutcome& ext) {
  const bool multicast = ip.dst.IsMulticast();
  switch (ext.kind) {
    case ipv6::ExtOutcome::Kind::kUpper:
      break;
    case ipv6::ExtOutcome::Kind::kFragment:  // a fragment inside a reassembled datagram
      ipv6_ext_drop_.Count(ParseError::kBadOption);
      return;
    case ipv6::ExtOutcome::Kind::kNothing:
      ipv6_counters_.rx_no_next_header.Inc();
      return;
    case ipv6::ExtOutcome::Kind::kDiscard:
      ipv6_ext_drop_.Count(ext.error == ParseError::kCount ? ParseError::kBadOption : ext.error);
      return;
    case ipv6::ExtOutcome::Kind::kParamProblem:
      ipv6_ext_drop_.Count(ParseError::kBadOption);
      SendIcmpv6Error(icmpv6::kParameterProblem, ext.code, ext.pointer, p, ip,
                      multicast && ext.code != ipv6::kParamProblemUnknownOption);
      return;
  }
  if (ext.protocol == ipv6::kIcmpv6) {
    p.TrimFront(ext.offset);
    HandleIcmpv6(std::move(p), ip, ext.router_alert);
    return;
  }
  if (ext.protocol == ipv6::kUdp) {
    HandleUdp6(std::move(p), ip, ext.offset, multicast);
    return;
  }
  if (ext.protocol == proto::ipv4::kProtoTcp) {
    p.TrimFront(ext.offset);
    tcp_.Receive(std::move(p), ip.src, ip.dst, multicast);
    return;
  }
  ipv6_counters_.drop_protocol_unhandled.Inc();
}

void Worker::HandleUdp6(Packet p, const ipv6::Ipv6Repr& ip, std::size_t offset, bool multicast) {
  const auto udp = udp_.Parse(p, offset, ip.src, ip.dst);
  if (!udp) return;
  // Behind extension headers or reassembled on shard 0, for a port another
  // shard owns: there.
  if (shard_ == 0 && config_.workers > 1) {
    ShardMessage m;
    m.kind = ShardMessage::Kind::kUdp6;
    m.ip6 = ip;
    m.offset = offset;
    m.group = multicast;
    if (ForwardUdp(p, udp->dst_port, std::move(m))) return;
  }
  // To a socket, or none bound: port unreachable (RFC 4443 3.1 code 4).
  if (udp_.Receive(p, *udp, ip.src, ip.dst, multicast)) return;
  if (!multicast) SendIcmpv6Error(icmpv6::kDestUnreachable, icmpv6::kCodePortUnreachable, 0, p, ip, false);
}

// RFC 8200 4.5 on the control shard; the whole datagram goes on through the
// headers after the Fragment header.
void Worker::Reassemble6(Packet p, const ipv6::Ipv6Repr& ip, const ipv6::Fragment& frag) {
  ipv6_counters_.rx_fragment.Inc();
  const auto out = reassembler6_.OnFragment(ip, frag, p.data().subspan(frag.data_at), now_);
  if (reassembler6_.evicted() != evicted6_seen_) {
    ipv6_counters_.frag_evicted.Inc(reassembler6_.evicted() - evicted6_seen_);
    evicted6_seen_ = reassembler6_.evicted();
  }
  RearmIpv6Timers();
  switch (out.status) {
    case ipv6::Ipv6Reassembler::Status::kIncomplete:
      return;
    case ipv6::Ipv6Reassembler::Status::kDuplicate:
      ipv6_counters_.frag_duplicate.Inc();
      return;
    case ipv6::Ipv6Reassembler::Status::kDropped:
      ipv6_frag_drop_[static_cast<int>(out.drop)]->Inc();
      return;
    case ipv6::Ipv6Reassembler::Status::kComplete:
      break;
  }
  Packet whole = pool_.Get(out.payload.size() <= pool_.data_size(rings::BufferClass::kStandard)
                               ? rings::BufferClass::kStandard
                               : rings::BufferClass::kLarge);
  const auto room = whole ? whole.Append(out.payload.size()) : std::span<std::byte>();
  if (room.size() != out.payload.size()) {
    shard_counters_.pool_drop_empty.Inc();
    return;
  }
  std::memcpy(room.data(), out.payload.data(), out.payload.size());
  ipv6_counters_.rx_reassembled.Inc();
  ipv6::Ipv6Repr header = out.header;
  header.next_header = out.next_header;
  header.payload_len = static_cast<std::uint16_t>(std::min<std::size_t>(out.payload.size(), 0xffff));
  const auto ext = ipv6::WalkExtensionHeaders(out.next_header, whole.data(), header.dst.IsMulticast(),
                                              ipv6::kHeaderLen, /*hop_by_hop_allowed=*/false);
  DeliverIpv6(std::move(whole), header, ext);
}

// RFC 8200 4.5: Time Exceeded code 1, only when fragment zero had come.
void Worker::OnReassembly6Expired(const ipv6::Ipv6Reassembler::Expired& e) {
  ipv6_counters_.reassembly_timeout.Inc();
  if (!e.had_first_fragment || e.dst.IsMulticast() || !host6_.IsLocal(e.dst)) return;
  // Never about an ICMPv6 error (RFC 4443 2.4 e.1): fragment zero's data
  // starts with the upper-layer header when the Fragment header names it.
  const auto invoking = std::span(e.invoking).first(e.invoking_len);
  const std::size_t data_at = ipv6::kHeaderLen + ipv6::kFragmentHeaderLen;
  const auto frag = invoking.size() > ipv6::kHeaderLen ? ipv6::FragmentHeader::Checked(invoking.subspan(ipv6::kHeaderLen))
                                                       : std::nullopt;
  if (frag && frag->next_header() == ipv6::kIcmpv6 && invoking.size() > data_at &&
      proto::Load8(invoking.data() + data_at) < 128) {  // an ICMPv6 type below 128: an error
    icmp6_counters_.error_suppressed.Inc();
    return;
  }
  SendIcmpv6ErrorQuoting(icmpv6::kTimeExceeded, icmpv6::kCodeReassemblyTimeExceeded, 0, invoking, e.src, e.dst);
  icmp6_counters_.tx_time_exceeded.Inc();
}

// A port unreachable about a datagram a connected UDP socket sent:
// ECONNREFUSED on its next call (the quote, after 4 unused bytes: our IPv6
// header, then UDP).
void Worker::OnDestUnreachable6(std::uint8_t code, proto::Bytes body) {
  const proto::Bytes q = body.size() > 4 ? body.subspan(4) : proto::Bytes();
  const auto ip = ipv6::Ipv6Header::Checked(q);
  const auto udp =
      ip && ip->next_header() == ipv6::kUdp ? proto::udp::UdpHeader::Checked(q.subspan(ipv6::kHeaderLen)) : std::nullopt;
  if (code == icmpv6::kCodePortUnreachable && udp && host6_.IsLocal(ip->src())) {
    udp_.ErrorToSocket({ip->src(), udp->src_port()}, {ip->dst(), udp->dst_port()}, ECONNREFUSED);
  }
}

// RFC 8201: a Packet Too Big lowers the path MTU to its destination (never
// below 1280), for ten minutes.
void Worker::OnPacketTooBig(proto::Bytes body) {
  if (body.size() < 4 + ipv6::kHeaderLen) {
    icmp6_drop_.Count(ParseError::kTruncated);
    return;
  }
  icmp6_counters_.rx_packet_too_big.Inc();
  const std::size_t mtu = std::clamp<std::size_t>(proto::LoadBe32(body.data()), ipv6::kMinMtu, host6_.mtu());
  // The quote is cut short, so its payload length cannot be checked: the
  // header's addresses are read as they are.
  const auto quoted = ipv6::Ipv6Header::Checked(body.subspan(4));  // the size was checked above
  if (quoted->version() != 6) {
    icmp6_drop_.Count(ParseError::kBadVersion);
    return;
  }
  const Ipv6Address our_src = quoted->src();
  const Ipv6Address their_dst = quoted->dst();
  if (!host6_.IsLocal(our_src)) return;  // not about anything we sent
  if (pmtu_.size() >= 1024 && !pmtu_.contains(their_dst)) pmtu_.clear();  // bounded; relearnt on demand
  pmtu_[their_dst] = PathMtuEntry{mtu, now_ + Duration::Seconds(600)};
}

std::size_t Worker::PathMtu6(const Ipv6Address& dst) {
  const auto it = pmtu_.find(dst);
  if (it == pmtu_.end()) return host6_.mtu();
  if (it->second.until <= now_) {
    pmtu_.erase(it);
    return host6_.mtu();
  }
  return std::min(it->second.mtu, host6_.mtu());
}

// RFC 4443 4.2: the reply's source is the request's destination when
// unicast; for a multicast request, one of our unicast addresses.
void Worker::AnswerEcho6(Packet p, const ipv6::Ipv6Repr& ip) {
  const Ipv6Address src = ip.dst.IsMulticast() ? host6_.SourceFor(ip.src) : ip.dst;
  if (src.IsUnspecified() || ip.src.IsUnspecified()) return;
  icmp6_counters_.tx_echo_reply.Inc();
  SendIcmpv6(std::move(p), icmpv6::kEchoReply, 0, src, ip.src);
}

void Worker::HandleIcmpv6(Packet p, const ipv6::Ipv6Repr& ip, bool router_alert) {
  net_dirty_ = true;  // ND, RA, Redirect and Packet Too Big change what the snapshot shows
  const auto msg = icmpv6::Icmpv6Repr::Parse(p.data(), ip.src, ip.dst);
  if (!msg) {
    icmp6_drop_.Count(msg.error());
    return;
  }
  switch (msg->type) {
    case icmpv6::kEchoRequest:
      icmp6_counters_.rx_echo_request.Inc();
      AnswerEcho6(std::move(p), ip);
      return;
    case icmpv6::kEchoReply:
      icmp6_counters_.rx_echo_reply.Inc();
      udp_.ReceiveEchoReply(p, /*v6=*/true, ip.src);  // to its ICMP echo socket, if any
      return;
    case icmpv6::kNeighborSolicitation:
      nd_counters_.rx_ns.Inc();
      HandleNeighborSolicitation(ip, msg->body);
      return;
    case icmpv6::kNeighborAdvertisement:
      nd_counters_.rx_na.Inc();
      HandleNeighborAdvertisement(ip, msg->body);
      return;
    case icmpv6::kRouterAdvertisement:
      nd_counters_.rx_ra.Inc();
      HandleRouterAdvertisement(ip, msg->body);
      return;
    case icmpv6::kMldQuery:
      mld_counters_.rx_query.Inc();
      HandleMldQuery(ip, msg->body, router_alert);
      return;
    case icmpv6::kMldV2Report: {
      // Another listener's report: a host has no use for it (RFC 3810 6.1
      // is about queries), but it is checked whole first, every record
      // against the length (a count of 777 with one record present is
      // dropped as bad_total_length, not read past).
      const auto records = mld::ParseReportRecords(msg->body, {});
      if (!records) {
        mld_drop_.Count(records.error());
        return;
      }
      mld_counters_.rx_report_ignored.Inc();
      return;
    }
    case icmpv6::kRedirect: {
      const auto r = nd::Redirect::Parse(msg->body);
      if (!r) {
        nd_drop_.Count(r.error());
        return;
      }
      if (ip.hop_limit != nd::kHopLimit || !ip.src.IsLinkLocal() || !host6_.OnRedirect(ip.src, *r)) {
        nd_counters_.drop_invalid.Inc();
        return;
      }
      nd_counters_.rx_redirect.Inc();
      // 8.3: the target's link-layer address, if given, goes in the cache.
      if (r->options.target_ll && nd_cache_.OnSolicitation(r->target, r->options.target_ll, now_)) {
        ReleaseParked6(r->target, *r->options.target_ll);
      }
      RearmIpv6Timers();
      return;
    }
    case icmpv6::kPacketTooBig:
      OnPacketTooBig(msg->body);
      return;
    case icmpv6::kDestUnreachable:
      icmp6_counters_.rx_error.Inc();
      OnDestUnreachable6(msg->code, msg->body);
      return;
    default:
      // Errors are for the transport that sent the datagram; RS,
      // Redirect and MLD reports from others are not a host's business.
      (msg->is_error() ? icmp6_counters_.rx_error : icmp6_counters_.rx_other).Inc();
      return;
  }
}

// RFC 4861 7.1.1 validity, 7.2.3 (NS for us -> NA), RFC 4862 5.4.3 (DAD).
void Worker::HandleNeighborSolicitation(const ipv6::Ipv6Repr& ip, proto::Bytes body) {
  const auto ns = nd::NeighborSolicitation::Parse(body);
  if (!ns) {
    nd_drop_.Count(ns.error());
    return;
  }
  const bool from_dad = ip.src.IsUnspecified();
  if (ip.hop_limit != nd::kHopLimit || (from_dad && (ip.dst != ns->target.SolicitedNode() || ns->options.source_ll))) {
    nd_counters_.drop_invalid.Inc();
    return;
  }
  ApplyIpv6(host6_.OnNeighborSolicitation(ip.src, ns->target, now_));
  if (!from_dad && nd_cache_.OnSolicitation(ip.src, ns->options.source_ll, now_)) {
    ReleaseParked6(ip.src, *ns->options.source_ll);
  }
  RearmIpv6Timers();
  if (!host6_.IsLocal(ns->target)) return;  // not ours, or still tentative (5.4.3: no answer)
  Packet p = pool_.Get();
  if (!p) {
    shard_counters_.pool_drop_empty.Inc();
    return;
  }
  nd::NeighborAdvertisement na;
  na.solicited = !from_dad;
  na.override_flag = true;
  na.target = ns->target;
  na.options.target_ll = config_.mac;
  p.Append(icmpv6::kHeaderLen);
  na.Emit(p.Append(na.body_len()));
  nd_counters_.tx_na.Inc();
  // 7.2.4: to the solicitor, or to all nodes when it was DAD from ::.
  SendIcmpv6(std::move(p), icmpv6::kNeighborAdvertisement, 0, ns->target,
             from_dad ? Ipv6Address::AllNodes() : ip.src, nd::kHopLimit);
}

void Worker::HandleNeighborAdvertisement(const ipv6::Ipv6Repr& ip, proto::Bytes body) {
  const auto na = nd::NeighborAdvertisement::Parse(body);
  if (!na) {
    nd_drop_.Count(na.error());
    return;
  }
  // 7.1.2: hop limit 255; to a multicast destination the S flag is 0.
  if (ip.hop_limit != nd::kHopLimit || (ip.dst.IsMulticast() && na->solicited)) {
    nd_counters_.drop_invalid.Inc();
    return;
  }
  ApplyIpv6(host6_.OnNeighborAdvertisement(na->target, now_));
  if (nd_cache_.OnAdvertisement(na->target, na->options.target_ll, na->solicited, na->override_flag, na->router,
                                now_)) {
    ReleaseParked6(na->target, *na->options.target_ll);
  }
  RearmIpv6Timers();
}

void Worker::HandleRouterAdvertisement(const ipv6::Ipv6Repr& ip, proto::Bytes body) {
  const auto ra = nd::RouterAdvertisement::Parse(body);
  if (!ra) {
    nd_drop_.Count(ra.error());
    return;
  }
  // 6.1.2: from a link-local address, hop limit 255.
  if (ip.hop_limit != nd::kHopLimit || !ip.src.IsLinkLocal()) {
    nd_counters_.drop_invalid.Inc();
    return;
  }
  if (nd_cache_.OnRouterAdvertisement(ip.src, ra->options.source_ll, now_)) {
    ReleaseParked6(ip.src, *ra->options.source_ll);
  }
  ApplyIpv6(host6_.OnRouterAdvertisement(ip.src, *ra, now_));
}

void Worker::HandleMldQuery(const ipv6::Ipv6Repr& ip, proto::Bytes body, bool router_alert) {
  const auto q = mld::ParseQuery(body);
  if (!q) {
    mld_drop_.Count(q.error());
    return;
  }
  // RFC 3810 5.1.14 / 5.2.13: link-local source, hop limit 1, Router Alert.
  if (!ip.src.IsLinkLocal() || ip.hop_limit != 1 || !router_alert) {
    mld_drop_.Count(ParseError::kBadSourceAddress);
    return;
  }
  mld_.OnQuery(*q, now_);
  RearmIpv6Timers();
}

void Worker::SendMldReport(const std::vector<mld::Record>& records) {
  if (records.empty()) return;
  Packet p = pool_.Get();
  if (!p) {
    shard_counters_.pool_drop_empty.Inc();
    return;
  }
  p.Append(icmpv6::kHeaderLen);
  mld::EmitReport(records, p.Append(mld::ReportBodyLen(records.size())));
  // RFC 3810 5.2.13: from the link-local address, or :: while it is tentative.
  const Ipv6Address ll = host6_.link_local();
  mld_counters_.tx_report.Inc();
  SendIcmpv6(std::move(p), icmpv6::kMldV2Report, 0, host6_.IsLocal(ll) ? ll : Ipv6Address(),
             Ipv6Address::AllMldv2Routers(), 1, /*router_alert=*/true);
  RearmIpv6Timers();
}

void Worker::SendNeighborSolicitation(const Ipv6Address& target, const Ipv6Address& src,
                                      std::optional<MacAddress> unicast) {
  Packet p = pool_.Get();
  if (!p) {
    shard_counters_.pool_drop_empty.Inc();
    return;
  }
  nd::NeighborSolicitation ns;
  ns.target = target;
  if (!src.IsUnspecified()) ns.options.source_ll = config_.mac;
  p.Append(icmpv6::kHeaderLen);
  ns.Emit(p.Append(ns.body_len()));
  nd_counters_.tx_ns.Inc();
  // Address resolution and DAD go to the solicited-node group; NUD probes
  // unicast to the cached address (7.2.2, 7.3.3).
  SendIcmpv6(std::move(p), icmpv6::kNeighborSolicitation, 0, src, unicast ? target : target.SolicitedNode(),
             nd::kHopLimit);
}

void Worker::SendIcmpv6(Packet p, std::uint8_t type, std::uint8_t code, const Ipv6Address& src,
                        const Ipv6Address& dst, std::uint8_t hop_limit, bool router_alert) {
  icmpv6::Icmpv6Repr{type, code, {}}.EmitHeader(p.data(), src, dst);
  ipv6::Ipv6Repr ip;
  ip.src = src;
  ip.dst = dst;
  ip.hop_limit = hop_limit;
  ip.next_header = ipv6::kIcmpv6;
  if (router_alert) {
    const auto hbh = p.Prepend(ipv6::kRouterAlertHeaderLen);
    if (hbh.empty()) {
      shard_counters_.pool_drop_no_headroom.Inc();
      return;
    }
    ipv6::EmitRouterAlertHeader(ipv6::kIcmpv6, hbh);
    ip.next_header = ipv6::kHopByHop;
  }
  SendIpv6(std::move(p), ip);
}

void Worker::SendIpv6(Packet p, const ipv6::Ipv6Repr& header) {
  const std::size_t mtu = header.dst.IsMulticast() ? host6_.mtu() : PathMtu6(header.dst);
  if (p.size() + ipv6::kHeaderLen <= mtu || p.offload().gso_size != 0) {  // a super-segment: the link cuts it
    ipv6::Ipv6Repr ip = header;
    ip.payload_len = static_cast<std::uint16_t>(p.size());
    const auto h = p.Prepend(ipv6::kHeaderLen);
    if (h.empty()) {
      shard_counters_.pool_drop_no_headroom.Inc();
      return;
    }
    ip.Emit(h);
    ipv6_counters_.tx.Inc();
    SendToNextHop6(std::move(p), ip.dst);
    return;
  }
  if (p.size() > 0xffff) {
    ipv6_counters_.drop_too_big.Inc();
    return;
  }
  // RFC 8200 4.5: fragments of (MTU - 40 - 8) & ~7 bytes, each with a
  // Fragment header naming the original Next Header. All of `p` is taken as
  // the fragmentable part: what this host sends large carries no hop-by-hop
  // or routing header.
  const std::size_t chunk = (mtu - ipv6::kHeaderLen - 8) & ~std::size_t{7};
  // Shard k uses k, k + workers, ... (as IPv4 does): no two shards reuse an ID.
  const std::uint32_t ident = next_ident6_;
  next_ident6_ += static_cast<std::uint32_t>(config_.workers);
  const auto payload = p.data();
  for (std::size_t off = 0; off < payload.size(); off += chunk) {
    const std::size_t n = std::min(chunk, payload.size() - off);
    Packet f = pool_.Get();
    if (!f) {
      shard_counters_.pool_drop_empty.Inc();
      return;  // the rest is useless without this fragment
    }
    std::memcpy(f.Append(n).data(), payload.data() + off, n);
    auto fh = ipv6::FragmentHeaderMut::Checked(f.Prepend(ipv6::kFragmentHeaderLen));
    if (!fh) {
      shard_counters_.pool_drop_no_headroom.Inc();
      return;
    }
    fh->Set(header.next_header, static_cast<std::uint16_t>(off), off + n < payload.size(), ident);
    ipv6::Ipv6Repr ip = header;
    ip.next_header = ipv6::kFragment;
    ip.payload_len = static_cast<std::uint16_t>(8 + n);
    ip.Emit(f.Prepend(ipv6::kHeaderLen));
    ipv6_counters_.tx_fragment.Inc();
    SendToNextHop6(std::move(f), ip.dst);
  }
  ipv6_counters_.tx.Inc();
}

void Worker::SendToNextHop6(Packet p, const Ipv6Address& dst) {
  if (dst.IsMulticast()) {
    SendEthernet(std::move(p), proto::MulticastMac(dst), ethernet::kEtherTypeIpv6);
    return;
  }
  const auto route = host6_.Lookup(dst);
  if (!route) {
    ipv6_counters_.drop_no_route.Inc();
    return;
  }
  if (shard_ != 0) {
    SendBySnapshot(std::move(p), route->next_hop);
    return;
  }
  if (const auto mac = nd_cache_.Use(route->next_hop, now_)) {
    SendEthernet(std::move(p), *mac, ethernet::kEtherTypeIpv6);
    RearmIpv6Timers();
    return;
  }
  switch (nd_cache_.StartResolve(route->next_hop, now_)) {
    case nd::NdCache::Resolve::kSendSolicitation:
      Park6(route->next_hop, std::move(p));
      SendNeighborSolicitation(route->next_hop, host6_.SourceFor(route->next_hop), std::nullopt);
      RearmIpv6Timers();
      return;
    case nd::NdCache::Resolve::kAlreadyPending:
      Park6(route->next_hop, std::move(p));
      return;
    case nd::NdCache::Resolve::kCacheFull:
      nd_counters_.drop_cache_full.Inc();  // --neighbour-cache
      return;
  }
}

// RFC 4443 2.4 (e.3): not about a packet to a multicast destination, but for
// the exceptions the caller passes as !to_multicast (Packet Too Big,
// Parameter Problem code 2). The quote is the invoking header and what
// followed it.
void Worker::SendIcmpv6Error(std::uint8_t type, std::uint8_t code, std::uint32_t pointer, const Packet& invoking,
                             const ipv6::Ipv6Repr& ip, bool to_multicast) {
  if (to_multicast) {
    icmp6_counters_.error_suppressed.Inc();
    return;
  }
  // The invoking packet: its header (re-emitted) and what followed it.
  std::array<std::byte, ipv6::kMinMtu> quote;
  const std::size_t body = std::min(invoking.size(), quote.size() - ipv6::kHeaderLen);
  ipv6::Ipv6Repr original = ip;
  original.Emit(std::span(quote).first(ipv6::kHeaderLen));
  std::memcpy(quote.data() + ipv6::kHeaderLen, invoking.data().data(), body);
  SendIcmpv6ErrorQuoting(type, code, pointer, std::span(quote).first(ipv6::kHeaderLen + body), ip.src,
                         ip.dst.IsMulticast() ? host6_.SourceFor(ip.src) : ip.dst);
  (type == icmpv6::kParameterProblem ? icmp6_counters_.tx_param_problem : icmp6_counters_.tx_dest_unreachable).Inc();
}

// RFC 4443 2.4: never to an unspecified or multicast source (the caller has
// applied the multicast-destination rule); rate limited; as much of the
// invoking packet as fits in the minimum MTU.
void Worker::SendIcmpv6ErrorQuoting(std::uint8_t type, std::uint8_t code, std::uint32_t pointer,
                                    proto::Bytes invoking, const Ipv6Address& to, const Ipv6Address& from) {
  if (to.IsUnspecified() || to.IsMulticast() || from.IsUnspecified()) {
    icmp6_counters_.error_suppressed.Inc();
    return;
  }
  if (!error_limiter_.Allow(now_)) {
    icmp6_counters_.error_rate_limited.Inc();
    return;
  }
  Packet e = pool_.Get();
  if (!e) {
    shard_counters_.pool_drop_empty.Inc();
    return;
  }
  const std::size_t room = ipv6::kMinMtu - ipv6::kHeaderLen - icmpv6::kHeaderLen - 4;
  const std::size_t quote = std::min(invoking.size(), room);
  e.Append(icmpv6::kHeaderLen);
  const auto body = e.Append(4 + quote);
  proto::StoreBe32(body.data(), pointer);
  std::memcpy(body.data() + 4, invoking.data(), quote);
  SendIcmpv6(std::move(e), type, code, from, to);
}

}  // namespace ringstack::engine
