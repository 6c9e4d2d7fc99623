// Ipv6Layer (ipv6_layer.h): receiving through the extension headers,
// reassembly, ICMPv6, path MTUs and sending; addresses, ND and MLD are
// ipv6_nd.cc.
#include "engine/ipv6_layer.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "protocols/ethernet/ethernet_repr.h"
#include "protocols/icmpv6/icmpv6_repr.h"
#include "protocols/icmpv6/mld/mld_repr.h"
#include "protocols/ipv6/ipv6_header.h"
#include "protocols/udp/udp_header.h"

namespace ringstack::engine {

using proto::Ipv6Address;
using proto::MacAddress;
using proto::ParseError;
using rings::Packet;
namespace ethernet = proto::ethernet;
namespace icmpv6 = proto::icmpv6;
namespace ipv6 = proto::ipv6;
namespace mld = proto::mld;

Ipv6Layer::Ipv6Layer(ShardContext& ctx, LinkOutput& link, NeighbourLayer& neighbours, UdpLayer& udp, TcpLayer& tcp,
                     CounterSet& counters, std::uint64_t seed)
    : ctx_(ctx),
      link_(link),
      neighbours_(neighbours),
      udp_(udp),
      tcp_(tcp),
      host_(ctx.config.mac, seed ^ 0x6666u,
            ipv6::Ipv6HostConfig{.link_mtu = ctx.config.mtu, .stable_secret = ctx.config.ip6_stable_secret}),
      mld_(seed ^ 0x3810u),
      reassembler_(proto::ReassemblyConfig{Duration::Seconds(60), ctx.config.reassembly6_bytes,
                                           ctx.config.reassembly6_bytes / 4}),
      next_ident_(static_cast<std::uint32_t>(ctx.config.mac.bytes()[5]) << 24 | static_cast<std::uint32_t>(ctx.shard)),
      host_deadline_(ctx.wheel, TimerCookie(TimerLayer::kIpv6, kHost)),
      mld_deadline_(ctx.wheel, TimerCookie(TimerLayer::kIpv6, kMld)),
      reassembly_deadline_(ctx.wheel, TimerCookie(TimerLayer::kIpv6, kReassembly)) {
  RegisterCounters(counters, counters_, kIpv6CounterFields);
  RegisterCounters(counters, icmp_counters_, kIcmp6CounterFields);
  RegisterCounters(counters, nd_counters_, kNdCounterFields);
  RegisterCounters(counters, mld_counters_, kMldCounterFields);
  frag_drop_.Add(counters, "ipv6");
  drop_.Add(counters, "ipv6");
  ext_drop_.Add(counters, "ipv6_ext");
  icmp_drop_.Add(counters, "icmp6");
  nd_drop_.Add(counters, "nd");
  mld_drop_.Add(counters, "mld");
}

void Ipv6Layer::OnTimer(std::uint64_t value) {
  ctx_.net_dirty = true;  // addresses change state, routers and prefixes expire
  switch (value) {
    case kHost:
      host_deadline_.Fired();
      Apply(host_.OnTimer(ctx_.now));
      break;
    case kMld:
      mld_deadline_.Fired();
      mld_.OnTimer(ctx_.now, [this](const std::vector<mld::Record>& r) { SendMldReport(r); });
      break;
    case kReassembly:
      reassembly_deadline_.Fired();
      reassembler_.OnTimer(ctx_.now, [this](const ipv6::Ipv6Reassembler::Expired& e) { OnReassemblyExpired(e); });
      break;
    default: return;
  }
  RearmTimers();
}

void Ipv6Layer::Receive(Packet p) {
  const auto ip = ipv6::Ipv6Repr::Parse(p.data());
  if (!ip) {
    drop_.Count(ip.error());
    return;
  }
  counters_.rx.Inc();
  if (!ctx_.config.ipv6) {
    counters_.drop_not_for_us.Inc();
    return;
  }
  const bool multicast = ip->dst.IsMulticast();
  if (!(multicast ? host_.IsJoined(ip->dst) : host_.IsLocal(ip->dst))) {
    counters_.drop_not_for_us.Inc();
    return;
  }
  p.TrimFront(ipv6::kHeaderLen);
  p.Truncate(ip->payload_len);
  const auto ext = ipv6::WalkExtensionHeaders(ip->next_header, p.data(), multicast);
  if (ext.kind == ipv6::ExtOutcome::Kind::kFragment) {
    Reassemble(std::move(p), *ip, ext.fragment);
    return;
  }
  Deliver(std::move(p), *ip, ext);
}

void Ipv6Layer::Deliver(Packet p, const ipv6::Ipv6Repr& ip, const ipv6::ExtOutcome& ext) {
  const bool multicast = ip.dst.IsMulticast();
  switch (ext.kind) {
    case ipv6::ExtOutcome::Kind::kUpper: break;
    case ipv6::ExtOutcome::Kind::kFragment:  // a fragment inside a reassembled datagram
      ext_drop_.Count(ParseError::kBadOption);
      return;
    case ipv6::ExtOutcome::Kind::kNothing: counters_.rx_no_next_header.Inc(); return;
    case ipv6::ExtOutcome::Kind::kDiscard:
      ext_drop_.Count(ext.error == ParseError::kCount ? ParseError::kBadOption : ext.error);
      return;
    case ipv6::ExtOutcome::Kind::kParamProblem:
      ext_drop_.Count(ParseError::kBadOption);
      SendError(icmpv6::kParameterProblem, ext.code, ext.pointer, p, ip,
                multicast && ext.code != ipv6::kParamProblemUnknownOption);
      return;
  }
  if (ext.protocol == ipv6::kIcmpv6) {
    p.TrimFront(ext.offset);
    ReceiveIcmp(std::move(p), ip, ext.router_alert);
    return;
  }
  if (ext.protocol == ipv6::kUdp) {
    ReceiveUdp(std::move(p), ip, ext.offset, multicast);
    return;
  }
  if (ext.protocol == proto::ipv4::kProtoTcp) {
    p.TrimFront(ext.offset);
    tcp_.Receive(std::move(p), ip.src, ip.dst, multicast, proto::EcnOf(ip.traffic_class));
    return;
  }
  counters_.drop_protocol_unhandled.Inc();
}

void Ipv6Layer::ReceiveUdp(Packet p, const ipv6::Ipv6Repr& ip, std::size_t offset, bool multicast) {
  const auto udp = udp_.Parse(p, offset, ip.src, ip.dst);
  if (!udp) return;
  // Behind extension headers or reassembled on shard 0, for a port another
  // shard owns: there.
  if (ctx_.shard == 0 && ctx_.config.workers > 1) {
    ShardMessage m;
    m.kind = ShardMessage::Kind::kUdp6;
    m.ip6 = ip;
    m.offset = offset;
    m.group = multicast;
    if (udp_.ForwardToOwner(p, udp->dst_port, std::move(m))) return;
  }
  // To a socket, or none bound: port unreachable (RFC 4443 3.1 code 4).
  if (udp_.Receive(p, *udp, ip.src, ip.dst, multicast)) return;
  if (!multicast) SendError(icmpv6::kDestUnreachable, icmpv6::kCodePortUnreachable, 0, p, ip, false);
}

// RFC 8200 4.5 on the control shard; the whole datagram goes on through the
// headers after the Fragment header.
void Ipv6Layer::Reassemble(Packet p, const ipv6::Ipv6Repr& ip, const ipv6::Fragment& frag) {
  counters_.rx_fragment.Inc();
  const auto out = reassembler_.OnFragment(ip, frag, p.data().subspan(frag.data_at), ctx_.now);
  if (reassembler_.evicted() != evicted_seen_) {
    counters_.frag_evicted.Inc(reassembler_.evicted() - evicted_seen_);
    evicted_seen_ = reassembler_.evicted();
  }
  RearmTimers();
  switch (out.status) {
    case ipv6::Ipv6Reassembler::Status::kIncomplete: return;
    case ipv6::Ipv6Reassembler::Status::kDuplicate: counters_.frag_duplicate.Inc(); return;
    case ipv6::Ipv6Reassembler::Status::kDropped: frag_drop_.Count(out.drop); return;
    case ipv6::Ipv6Reassembler::Status::kComplete: break;
  }
  Packet whole = ctx_.CopyToBuffer(out.payload);
  if (!whole) return;
  counters_.rx_reassembled.Inc();
  ipv6::Ipv6Repr header = out.header;
  header.next_header = out.next_header;
  header.payload_len = static_cast<std::uint16_t>(std::min<std::size_t>(out.payload.size(), 0xffff));
  const auto ext = ipv6::WalkExtensionHeaders(out.next_header, whole.data(), header.dst.IsMulticast(), ipv6::kHeaderLen,
                                              /*hop_by_hop_allowed=*/false);
  Deliver(std::move(whole), header, ext);
}

// RFC 8200 4.5: Time Exceeded code 1, only when fragment zero had come.
void Ipv6Layer::OnReassemblyExpired(const ipv6::Ipv6Reassembler::Expired& e) {
  counters_.reassembly_timeout.Inc();
  if (!e.had_first_fragment || e.dst.IsMulticast() || !host_.IsLocal(e.dst)) return;
  // Never about an ICMPv6 error (RFC 4443 2.4 e.1): fragment zero's data
  // starts with the upper-layer header when the Fragment header names it.
  const auto invoking = std::span(e.invoking).first(e.invoking_len);
  const std::size_t data_at = ipv6::kHeaderLen + ipv6::kFragmentHeaderLen;
  const auto frag = invoking.size() > ipv6::kHeaderLen
                        ? ipv6::FragmentHeader::Checked(invoking.subspan(ipv6::kHeaderLen))
                        : std::nullopt;
  if (frag && frag->next_header() == ipv6::kIcmpv6 && invoking.size() > data_at &&
      proto::Load8(invoking.data() + data_at) < 128) {  // an ICMPv6 type below 128: an error
    icmp_counters_.error_suppressed.Inc();
    return;
  }
  SendErrorQuoting(icmpv6::kTimeExceeded, icmpv6::kCodeReassemblyTimeExceeded, 0, invoking, e.src, e.dst);
  icmp_counters_.tx_time_exceeded.Inc();
}

// A port unreachable about a datagram a connected UDP socket sent:
// ECONNREFUSED on its next call (the quote, after 4 unused bytes: our IPv6
// header, then UDP); any unreachable about a TCP segment goes to TCP.
void Ipv6Layer::OnDestUnreachable(std::uint8_t code, proto::Bytes body) {
  const proto::Bytes q = body.size() > 4 ? body.subspan(4) : proto::Bytes();
  const auto ip = ipv6::Ipv6Header::Checked(q);
  const auto udp = ip && ip->next_header() == ipv6::kUdp ? proto::udp::UdpHeader::Checked(q.subspan(ipv6::kHeaderLen))
                                                         : std::nullopt;
  if (code == icmpv6::kCodePortUnreachable && udp && host_.IsLocal(ip->src())) {
    udp_.ErrorToSocket({ip->src(), udp->src_port()}, {ip->dst(), udp->dst_port()}, ECONNREFUSED);
  }
  // TCP: the quoted header's ports and sequence number (a Fast Open SYN).
  const proto::Bytes tcp = ip && ip->next_header() == ipv6::kTcp ? q.subspan(ipv6::kHeaderLen) : proto::Bytes();
  if (tcp.size() >= 8 && host_.IsLocal(ip->src())) {
    tcp_.OnUnreachable({ip->src(), proto::LoadBe16(tcp.data())}, {ip->dst(), proto::LoadBe16(tcp.data() + 2)},
                       proto::LoadBe32(tcp.data() + 4));
  }
}

// RFC 8201: a Packet Too Big lowers the path MTU to its destination (never
// below 1280), for ten minutes, and the TCP connection's segment size.
void Ipv6Layer::OnPacketTooBig(proto::Bytes body) {
  if (body.size() < 4 + ipv6::kHeaderLen) {
    icmp_drop_.Count(ParseError::kTruncated);
    return;
  }
  icmp_counters_.rx_packet_too_big.Inc();
  const std::size_t mtu = std::clamp<std::size_t>(proto::LoadBe32(body.data()), ipv6::kMinMtu, host_.mtu());
  // The quote is cut short, so its payload length cannot be checked: the
  // header's addresses are read as they are.
  const auto quoted = ipv6::Ipv6Header::Checked(body.subspan(4));  // the size was checked above
  if (quoted->version() != 6) {
    icmp_drop_.Count(ParseError::kBadVersion);
    return;
  }
  const Ipv6Address our_src = quoted->src();
  const Ipv6Address their_dst = quoted->dst();
  if (!host_.IsLocal(our_src)) return;  // not about anything we sent
  if (pmtu_.Lower(their_dst, mtu, PathMtu(their_dst), ctx_.now)) ctx_.publish_now = true;
  // 5.2: TCP lowers its segment size (a TCP header right after the quoted
  // IPv6 header; the connection checks the quoted sequence number).
  const proto::Bytes tcp = body.subspan(4 + ipv6::kHeaderLen);
  if (quoted->next_header() == ipv6::kTcp && tcp.size() >= 8) {
    tcp_.OnPathMtu({our_src, proto::LoadBe16(tcp.data())}, {their_dst, proto::LoadBe16(tcp.data() + 2)},
                   proto::LoadBe32(tcp.data() + 4), static_cast<std::uint32_t>(mtu));
  }
}

std::size_t Ipv6Layer::PathMtu(const Ipv6Address& dst) {
  const auto e = pmtu_.Find(dst, ctx_.now);
  return e ? std::min(e->mtu, host_.mtu()) : host_.mtu();
}

// RFC 4443 4.2: the reply's source is the request's destination when
// unicast; for a multicast request, one of our unicast addresses.
void Ipv6Layer::AnswerEcho(Packet p, const ipv6::Ipv6Repr& ip) {
  const Ipv6Address src = ip.dst.IsMulticast() ? host_.SourceFor(ip.src) : ip.dst;
  if (src.IsUnspecified() || ip.src.IsUnspecified()) return;
  icmp_counters_.tx_echo_reply.Inc();
  SendIcmp(std::move(p), icmpv6::kEchoReply, 0, src, ip.src);
}

void Ipv6Layer::ReceiveIcmp(Packet p, const ipv6::Ipv6Repr& ip, bool router_alert) {
  ctx_.net_dirty = true;  // ND, RA, Redirect and Packet Too Big change what the snapshot shows
  const auto msg = icmpv6::Icmpv6Repr::Parse(p.data(), ip.src, ip.dst);
  if (!msg) {
    icmp_drop_.Count(msg.error());
    return;
  }
  switch (msg->type) {
    case icmpv6::kEchoRequest:
      icmp_counters_.rx_echo_request.Inc();
      AnswerEcho(std::move(p), ip);
      return;
    case icmpv6::kEchoReply:
      icmp_counters_.rx_echo_reply.Inc();
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
    case icmpv6::kRedirect: HandleRedirect(ip, msg->body); return;
    case icmpv6::kPacketTooBig: OnPacketTooBig(msg->body); return;
    case icmpv6::kDestUnreachable:
      icmp_counters_.rx_error.Inc();
      OnDestUnreachable(msg->code, msg->body);
      return;
    default:
      // Errors are for the transport that sent the datagram; RS,
      // Redirect and MLD reports from others are not a host's business.
      (msg->is_error() ? icmp_counters_.rx_error : icmp_counters_.rx_other).Inc();
      return;
  }
}

void Ipv6Layer::SendIcmp(Packet p, std::uint8_t type, std::uint8_t code, const Ipv6Address& src, const Ipv6Address& dst,
                         std::uint8_t hop_limit, bool router_alert) {
  icmpv6::Icmpv6Repr{type, code, {}}.EmitHeader(p.data(), src, dst);
  ipv6::Ipv6Repr ip;
  ip.src = src;
  ip.dst = dst;
  ip.hop_limit = hop_limit;
  ip.next_header = ipv6::kIcmpv6;
  if (router_alert) {
    const auto hbh = p.Prepend(ipv6::kRouterAlertHeaderLen);
    if (hbh.empty()) {
      ctx_.pool_drop_no_headroom.Inc();
      return;
    }
    ipv6::EmitRouterAlertHeader(ipv6::kIcmpv6, hbh);
    ip.next_header = ipv6::kHopByHop;
  }
  Send(std::move(p), ip);
}

void Ipv6Layer::Send(Packet p, const ipv6::Ipv6Repr& header) {
  const std::size_t mtu = header.dst.IsMulticast() ? host_.mtu() : PathMtu(header.dst);
  if (p.size() + ipv6::kHeaderLen <= mtu || p.offload().gso_size != 0) {  // a super-segment: the link cuts it
    ipv6::Ipv6Repr ip = header;
    ip.payload_len = static_cast<std::uint16_t>(p.size());
    const auto h = p.Prepend(ipv6::kHeaderLen);
    if (h.empty()) {
      ctx_.pool_drop_no_headroom.Inc();
      return;
    }
    ip.Emit(h);
    counters_.tx.Inc();
    SendToNextHop(std::move(p), ip.dst);
    return;
  }
  if (p.size() > 0xffff) {
    counters_.drop_too_big.Inc();
    return;
  }
  // RFC 8200 4.5: fragments of (MTU - 40 - 8) & ~7 bytes, each with a
  // Fragment header naming the original Next Header. All of `p` is taken as
  // the fragmentable part: what this host sends large carries no hop-by-hop
  // or routing header.
  const std::size_t chunk = (mtu - ipv6::kHeaderLen - 8) & ~std::size_t{7};
  // Shard k uses k, k + workers, ... (as IPv4 does): no two shards reuse an ID.
  const std::uint32_t ident = next_ident_;
  next_ident_ += static_cast<std::uint32_t>(ctx_.config.workers);
  const auto payload = p.data();
  for (std::size_t off = 0; off < payload.size(); off += chunk) {
    const std::size_t n = std::min(chunk, payload.size() - off);
    Packet f = ctx_.pool.Get();
    if (!f) {
      ctx_.pool_drop_empty.Inc();
      return;  // the rest is useless without this fragment
    }
    std::memcpy(f.Append(n).data(), payload.data() + off, n);
    auto fh = ipv6::FragmentHeaderMut::Checked(f.Prepend(ipv6::kFragmentHeaderLen));
    if (!fh) {
      ctx_.pool_drop_no_headroom.Inc();
      return;
    }
    fh->Set(header.next_header, static_cast<std::uint16_t>(off), off + n < payload.size(), ident);
    ipv6::Ipv6Repr ip = header;
    ip.next_header = ipv6::kFragment;
    ip.payload_len = static_cast<std::uint16_t>(8 + n);
    ip.Emit(f.Prepend(ipv6::kHeaderLen));
    counters_.tx_fragment.Inc();
    SendToNextHop(std::move(f), ip.dst);
  }
  counters_.tx.Inc();
}

void Ipv6Layer::SendToNextHop(Packet p, const Ipv6Address& dst) {
  if (dst.IsMulticast()) {
    link_.SendEthernet(std::move(p), proto::MulticastMac(dst), ethernet::kEtherTypeIpv6);
    return;
  }
  const auto route = host_.Lookup(dst);
  if (!route) {
    counters_.drop_no_route.Inc();
    return;
  }
  neighbours_.Send(std::move(p), route->next_hop);
}

// RFC 4443 2.4 (e.3): not about a packet to a multicast destination, but for
// the exceptions the caller passes as !to_multicast (Packet Too Big,
// Parameter Problem code 2). The quote is the invoking header and what
// followed it.
void Ipv6Layer::SendError(std::uint8_t type, std::uint8_t code, std::uint32_t pointer, const Packet& invoking,
                          const ipv6::Ipv6Repr& ip, bool to_multicast) {
  if (to_multicast) {
    icmp_counters_.error_suppressed.Inc();
    return;
  }
  // The invoking packet: its header (re-emitted) and what followed it.
  std::array<std::byte, ipv6::kMinMtu> quote;
  const std::size_t body = std::min(invoking.size(), quote.size() - ipv6::kHeaderLen);
  ipv6::Ipv6Repr original = ip;
  original.Emit(std::span(quote).first(ipv6::kHeaderLen));
  std::memcpy(quote.data() + ipv6::kHeaderLen, invoking.data().data(), body);
  SendErrorQuoting(type, code, pointer, std::span(quote).first(ipv6::kHeaderLen + body), ip.src,
                   ip.dst.IsMulticast() ? host_.SourceFor(ip.src) : ip.dst);
  (type == icmpv6::kParameterProblem ? icmp_counters_.tx_param_problem : icmp_counters_.tx_dest_unreachable).Inc();
}

// RFC 4443 2.4: never to an unspecified or multicast source (the caller has
// applied the multicast-destination rule); rate limited; as much of the
// invoking packet as fits in the minimum MTU.
void Ipv6Layer::SendErrorQuoting(std::uint8_t type, std::uint8_t code, std::uint32_t pointer, proto::Bytes invoking,
                                 const Ipv6Address& to, const Ipv6Address& from) {
  if (to.IsUnspecified() || to.IsMulticast() || from.IsUnspecified()) {
    icmp_counters_.error_suppressed.Inc();
    return;
  }
  if (!error_limiter_.Allow(ctx_.now)) {
    icmp_counters_.error_rate_limited.Inc();
    return;
  }
  Packet e = ctx_.pool.Get();
  if (!e) {
    ctx_.pool_drop_empty.Inc();
    return;
  }
  const std::size_t room = ipv6::kMinMtu - ipv6::kHeaderLen - icmpv6::kHeaderLen - 4;
  const std::size_t quote = std::min(invoking.size(), room);
  e.Append(icmpv6::kHeaderLen);
  const auto body = e.Append(4 + quote);
  proto::StoreBe32(body.data(), pointer);
  std::memcpy(body.data() + 4, invoking.data(), quote);
  SendIcmp(std::move(e), type, code, from, to);
}

}  // namespace ringstack::engine
