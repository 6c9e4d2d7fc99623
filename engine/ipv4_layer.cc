// Ipv4Layer (ipv4_layer.h): receiving, ICMPv4, reassembly and sending;
// address configuration (ACD, DHCPv4) is ipv4_config.cc.
#include "engine/ipv4_layer.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "protocols/ethernet/ethernet_repr.h"

namespace ringstack::engine {

namespace dhcp4 = proto::dhcp4;
namespace ethernet = proto::ethernet;
namespace icmpv4 = proto::icmpv4;
namespace ipv4 = proto::ipv4;
using proto::Ipv4Address;
using proto::MacAddress;
using proto::ParseError;
using rings::Packet;

namespace {

constexpr std::size_t kMinPathMtu = 552;  // Linux's net.ipv4.route.min_pmtu

}  // namespace

Ipv4Layer::Ipv4Layer(ShardContext& ctx, LinkOutput& link, NeighbourLayer& neighbours, UdpLayer& udp, TcpLayer& tcp,
                     CounterSet& counters, std::uint64_t seed)
    : ctx_(ctx),
      link_(link),
      neighbours_(neighbours),
      udp_(udp),
      tcp_(tcp),
      seed_(seed),
      acd_(ctx.config.mac, seed),
      reassembler_(
          ipv4::ReassemblyConfig{Duration::Seconds(30), ctx.config.reassembly_bytes, ctx.config.reassembly_bytes / 4}),
      next_ident_(static_cast<std::uint16_t>(ctx.shard)),
      reassembly_deadline_(ctx.wheel, TimerCookie(TimerLayer::kIpv4, kReassembly)),
      acd_deadline_(ctx.wheel, TimerCookie(TimerLayer::kIpv4, kAcd)),
      dhcp_deadline_(ctx.wheel, TimerCookie(TimerLayer::kIpv4, kDhcp)) {
  RegisterCounters(counters, counters_, kIpv4CounterFields);
  RegisterCounters(counters, icmp_counters_, kIcmp4CounterFields);
  RegisterCounters(counters, dhcp_counters_, kDhcp4CounterFields);
  RegisterCounters(counters, acd_counters_, kAcdCounterFields);
  frag_drop_.Add(counters, "ipv4");
  drop_.Add(counters, "ipv4");
  icmp_drop_.Add(counters, "icmp4");
  icmp_quote_drop_.Add(counters, "icmp4_quote");
  dhcp_drop_.Add(counters, "dhcp4");
}

void Ipv4Layer::OnTimer(std::uint64_t value) {
  ctx_.net_dirty = true;  // addresses change state, leases run out
  switch (value) {
    case kReassembly:
      reassembly_deadline_.Fired();
      reassembler_.OnTimer(ctx_.now, [this](const ipv4::Ipv4Reassembler::Expired& e) { OnReassemblyExpired(e); });
      reassembly_deadline_.Follow(reassembler_.NextDeadline());
      return;
    case kAcd: OnAcdTimer(); return;
    case kDhcp:
      dhcp_deadline_.Fired();
      if (dhcp_) ApplyDhcp(dhcp_->OnTimer(ctx_.now));
      return;
    default: return;
  }
}

bool Ipv4Layer::JudgeArp(const proto::arp::ArpRepr& in) {
  if (ctx_.shard == 0) OnAcdVerdict(acd_.OnArp(in, ctx_.now));
  return host_.Find(in.spa) == nullptr;
}

void Ipv4Layer::OnSnapshot(const ipv4::Ipv4Host& host, const PathMtuCache<Ipv4Address>& pmtu) {
  pmtu_ = pmtu;
  bool lost = false;
  for (const ipv4::HostAddress& a : host_.addresses()) {
    const ipv4::HostAddress* now = host.Find(a.itf.address);
    lost |= now == nullptr || (now->state == ipv4::AddressState::kConflict && a.state != ipv4::AddressState::kConflict);
  }
  host_ = host;
  if (lost) tcp_.AbortOnLostAddresses(host_);
}

void Ipv4Layer::Receive(Packet p) {
  const auto ip = ipv4::Ipv4Repr::Parse(p.data());
  if (!ip) {
    drop_.Count(ip.error());
    return;
  }
  counters_.rx.Inc();
  // RFC 1122 3.2.1.3: a datagram whose source is a broadcast address is
  // silently discarded. The parse refused multicast and limited-broadcast
  // sources; a directed broadcast is known only by the networks we are on.
  if (host_.IsBroadcast(ip->src)) {
    counters_.drop_source_broadcast.Inc();
    return;
  }
  const bool to_us = host_.IsLocal(ip->dst);
  const bool to_group = !to_us && (host_.IsBroadcast(ip->dst) || ip->dst.IsMulticast());
  if (!to_us && !to_group) {
    counters_.drop_not_for_us.Inc();  // a host does not forward (RFC 1122 3.3.1)
    return;
  }
  // Keep only the payload: drop the header (with options) and link padding.
  p.TrimFront(ip->parsed_header_len);
  p.Truncate(ip->payload_len);
  ipv4::Ipv4Repr header = *ip;
  if (header.is_fragment() && !Reassemble(p, header)) return;
  switch (header.protocol) {
    case ipv4::kProtoIcmp: ReceiveIcmp(std::move(p), header, to_group); return;
    case ipv4::kProtoUdp: ReceiveUdp(std::move(p), header, to_group); return;
    case ipv4::kProtoTcp: tcp_.Receive(std::move(p), header.src, header.dst, to_group, proto::EcnOf(header.ecn)); return;
    default:
      // RFC 1122 3.2.2.1: a host SHOULD say so when it has no such protocol.
      counters_.rx_unknown_protocol.Inc();
      SendDestUnreachable(icmpv4::kCodeProtocolUnreachable, header, p, to_group);
      return;
  }
}

// UDP over IPv4: the DHCPv4 client's replies here, the rest to the UDP
// sockets (of this shard, or mailed to the shard that owns the port).
void Ipv4Layer::ReceiveUdp(Packet p, const ipv4::Ipv4Repr& ip, bool to_group) {
  const auto udp = udp_.Parse(p, 0, ip.src, ip.dst);
  if (!udp) return;
  if (dhcp_ && udp->dst_port == dhcp4::kClientPort && udp->src_port == dhcp4::kServerPort) {
    OnDhcpMessage(udp->payload);
    return;
  }
  // A reassembled datagram for a port another shard owns goes there.
  if (ctx_.shard == 0 && ctx_.config.workers > 1) {
    ShardMessage m;
    m.kind = ShardMessage::Kind::kUdp4;
    m.ip4 = ip;
    m.group = to_group;
    if (udp_.ForwardToOwner(p, udp->dst_port, std::move(m))) return;
  }
  // To a socket, or (none bound) RFC 1122 4.1.3.1 port unreachable.
  if (udp_.Receive(p, *udp, ip.src, ip.dst, to_group)) return;
  SendDestUnreachable(icmpv4::kCodePortUnreachable, ip, p, to_group);
}

void Ipv4Layer::ReceiveIcmp(Packet p, const ipv4::Ipv4Repr& ip, bool to_group) {
  const auto msg = icmpv4::Icmpv4Repr::Parse(p.data());
  if (!msg) {
    icmp_drop_.Count(msg.error());
    return;
  }
  switch (msg->type) {
    case icmpv4::kTypeEchoRequest: {
      icmp_counters_.rx_echo_request.Inc();
      const auto reply = icmpv4::EchoReplyFor(*msg, to_group);
      if (!reply) {
        icmp_counters_.drop_echo_to_group.Inc();
        return;
      }
      // The data is already in place after the header: rewrite the header only.
      reply->EmitHeader(p.data());
      icmp_counters_.tx_echo_reply.Inc();
      Send(std::move(p), ip.dst, ip.src, ipv4::kProtoIcmp);
      return;
    }
    case icmpv4::kTypeEchoReply:
      icmp_counters_.rx_echo_reply.Inc();
      if (ctx_.shard == 0) udp_.ReceiveEchoReply(p, /*v6=*/false, ip.src);  // to its ICMP echo socket, if any
      return;
    case icmpv4::kTypeDestUnreachable:
    case icmpv4::kTypeTimeExceeded:
    case icmpv4::kTypeParameterProblem: OnIcmpError(*msg); return;
    default: icmp_counters_.rx_other.Inc(); return;
  }
}

// RFC 1122 3.2.2: errors are passed to the transport that sent the datagram
// they quote. Validated and counted by type here; a Port Unreachable about a
// UDP datagram fails the connected socket's next call with ECONNREFUSED; a
// Fragmentation Needed lowers the path MTU. TCP takes other unreachables as
// soft errors (RFC 5461 4.1), but for a Fast Open SYN with data, which goes
// again plain (TcpLayer::OnUnreachable).
void Ipv4Layer::OnIcmpError(const icmpv4::Icmpv4Repr& msg) {
  const auto report = icmpv4::ParseErrorReport(msg);
  if (!report) {
    icmp_quote_drop_.Count(report.error());
    return;
  }
  if (!host_.IsLocal(report->src)) {
    icmp_quote_drop_.Count(ParseError::kBadSourceAddress);  // not about anything we sent
    return;
  }
  if (msg.type == icmpv4::kTypeDestUnreachable && msg.code == icmpv4::kCodePortUnreachable &&
      report->protocol == ipv4::kProtoUdp) {
    udp_.ErrorToSocket({report->src, report->src_port}, {report->dst, report->dst_port}, ECONNREFUSED);
  }
  if (msg.type == icmpv4::kTypeDestUnreachable && msg.code == icmpv4::kCodeFragmentationNeeded) {
    OnFragmentationNeeded(*report);
  } else if (msg.type == icmpv4::kTypeDestUnreachable && report->protocol == ipv4::kProtoTcp) {
    tcp_.OnUnreachable({report->src, report->src_port}, {report->dst, report->dst_port}, report->tcp_seq);
  }
  if (ctx_.LogEnabled(Subsystem::kIcmp, LogLevel::kDebug)) {
    ctx_.Log(Subsystem::kIcmp, LogLevel::kDebug,
             absl::StrCat("icmp4: type ", msg.type, " code ", msg.code, " about ", report->src.ToString(), ":",
                          report->src_port, " > ", report->dst.ToString(), ":", report->dst_port, " protocol ",
                          report->protocol));
  }
  switch (msg.type) {
    case icmpv4::kTypeDestUnreachable: icmp_counters_.rx_dest_unreachable.Inc(); break;
    case icmpv4::kTypeTimeExceeded: icmp_counters_.rx_time_exceeded.Inc(); break;
    default: icmp_counters_.rx_param_problem.Inc(); break;
  }
}

// RFC 1191 6.1: the reported MTU (or RFC 1191 7's plateau) for the quoted
// destination, never above the link's; below 552 (Linux's min_pmtu) the
// path is taken as 552 without Don't Fragment, so a forged report cannot
// shrink segments to nothing. Then the TCP connection hears of it, which
// checks the quoted sequence number (RFC 5927).
void Ipv4Layer::OnFragmentationNeeded(const icmpv4::ErrorReport& report) {
  icmp_counters_.rx_frag_needed.Inc();
  std::size_t mtu = std::min<std::size_t>(icmpv4::ReportedPathMtu(report), ctx_.config.mtu);
  const bool df = mtu >= kMinPathMtu;
  mtu = std::max(mtu, kMinPathMtu);
  if (pmtu_.Lower(report.dst, mtu, PathMtu(report.dst), ctx_.now, df)) ctx_.net_dirty = ctx_.publish_now = true;
  if (report.protocol == ipv4::kProtoTcp) {
    tcp_.OnPathMtu({report.src, report.src_port}, {report.dst, report.dst_port}, report.tcp_seq,
                   static_cast<std::uint32_t>(mtu));
  }
}

std::size_t Ipv4Layer::PathMtu(Ipv4Address dst) {
  const auto e = pmtu_.Find(dst, ctx_.now);
  return e ? std::min(e->mtu, ctx_.config.mtu) : ctx_.config.mtu;
}

void Ipv4Layer::SendDestUnreachable(std::uint8_t code, const ipv4::Ipv4Repr& about, const Packet& p, bool to_group) {
  if (ctx_.LogEnabled(Subsystem::kIcmp, LogLevel::kDebug)) {
    ctx_.Log(Subsystem::kIcmp, LogLevel::kDebug,
             absl::StrCat("icmp4: unreachable (code ", code, ") to ", about.src.ToString(), " for protocol ",
                          about.protocol));
  }
  if (!icmpv4::ErrorAllowed(about, p.data(), to_group)) {
    icmp_counters_.error_suppressed.Inc();
    return;
  }
  if (SendIcmpError(icmpv4::DestUnreachable(code, {}), about, p.data())) icmp_counters_.tx_dest_unreachable.Inc();
}

bool Ipv4Layer::SendIcmpError(const icmpv4::Icmpv4Repr& error, const ipv4::Ipv4Repr& about, proto::Bytes head) {
  if (!error_limiter_.Allow(ctx_.now)) {
    icmp_counters_.error_rate_limited.Inc();
    return false;
  }
  Packet e = ctx_.pool.Get();
  if (!e) {
    ctx_.pool_drop_empty.Inc();
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
  Send(std::move(e), about.dst, about.src, ipv4::kProtoIcmp);
  return true;
}

// RFC 1122 3.3.2: "if fragment zero is not available then no time exceeded
// need be sent at all"; when it is, Time Exceeded code 1 quoting it.
void Ipv4Layer::OnReassemblyExpired(const ipv4::Ipv4Reassembler::Expired& e) {
  counters_.reassembly_timeout.Inc();
  if (!e.had_first_fragment) return;
  const proto::Bytes head(e.first_bytes.data(), e.first_bytes_len);
  // The datagram was for us (only those are reassembled), so the group and
  // source rules are those of fragment zero.
  if (!icmpv4::ErrorAllowed(e.first_header, head, host_.IsBroadcast(e.first_header.dst))) {
    icmp_counters_.error_suppressed.Inc();
    return;
  }
  if (SendIcmpError(icmpv4::TimeExceeded(icmpv4::kCodeFragmentReassemblyTimeExceeded, {}), e.first_header, head)) {
    icmp_counters_.tx_time_exceeded.Inc();
  }
}

// RFC 791 3.2 reassembly, on the control shard (fragments are steered there).
bool Ipv4Layer::Reassemble(Packet& p, ipv4::Ipv4Repr& ip) {
  counters_.rx_fragment.Inc();
  const auto out = reassembler_.OnFragment(ip, p.data(), ctx_.now);
  if (reassembler_.evicted() != evicted_seen_) {
    counters_.frag_evicted.Inc(reassembler_.evicted() - evicted_seen_);
    evicted_seen_ = reassembler_.evicted();
  }
  reassembly_deadline_.Follow(reassembler_.NextDeadline());
  switch (out.status) {
    case ipv4::Ipv4Reassembler::Status::kIncomplete: return false;
    case ipv4::Ipv4Reassembler::Status::kDuplicate: counters_.frag_duplicate.Inc(); return false;
    case ipv4::Ipv4Reassembler::Status::kDropped: frag_drop_.Count(out.drop); return false;
    case ipv4::Ipv4Reassembler::Status::kComplete: break;
  }
  // Headers go into the headroom, so the data space needs only the payload.
  Packet whole = ctx_.CopyToBuffer(out.payload);
  if (!whole) return false;
  p = std::move(whole);
  ip = out.header;
  counters_.rx_reassembled.Inc();
  return true;
}

void Ipv4Layer::Send(Packet p, Ipv4Address src, Ipv4Address dst, std::uint8_t protocol, std::uint8_t tos) {
  ipv4::Ipv4Repr ip;
  ip.src = src;
  ip.dst = dst;
  ip.protocol = protocol;
  ip.dscp = static_cast<std::uint8_t>(tos >> 2);
  ip.ecn = static_cast<std::uint8_t>(tos & 3);
  // Identification: a counter per shard, the shards interleaved (shard k
  // uses k, k + workers, ...) so no two shards reuse an ID (RFC 6864).
  ip.ident = next_ident_;
  next_ident_ = static_cast<std::uint16_t>(next_ident_ + ctx_.config.workers);
  // RFC 1191: TCP segments go with Don't Fragment (TCP sizes them to the
  // path), unless the path is below 552.
  const auto path = pmtu_.Find(dst, ctx_.now);
  const std::size_t mtu = path ? std::min(path->mtu, ctx_.config.mtu) : ctx_.config.mtu;
  ip.df = protocol == ipv4::kProtoTcp && (!path || path->df);
  // A TCP super-segment (gso_size) is cut to the MTU by the link.
  if (p.size() + ipv4::Ipv4Repr::header_len() > mtu && p.offload().gso_size == 0) {
    if (ip.df) {
      // TCP sent it before it heard of the smaller path: it goes again,
      // smaller, once TCP does.
      counters_.drop_df_too_big.Inc();
      return;
    }
    SendFragments(p, ip, mtu);
    return;
  }
  ip.payload_len = static_cast<std::uint16_t>(p.size());
  const auto header = p.Prepend(ipv4::Ipv4Repr::header_len());
  if (header.empty()) {
    ctx_.pool_drop_no_headroom.Inc();
    return;
  }
  ip.Emit(header);
  counters_.tx.Inc();
  SendToNextHop(std::move(p), dst);
}

// RFC 791 3.2 fragmentation: fragments of (path MTU - 20) & ~7 payload bytes, each
// in a buffer of its own, all with the datagram's identification.
void Ipv4Layer::SendFragments(const Packet& p, ipv4::Ipv4Repr ip, std::size_t mtu) {
  const std::size_t chunk = (mtu - ipv4::Ipv4Repr::header_len()) & ~std::size_t{7};
  const auto payload = p.data();
  for (std::size_t off = 0; off < payload.size(); off += chunk) {
    const std::size_t n = std::min(chunk, payload.size() - off);
    Packet f = ctx_.pool.Get();
    if (!f) {
      ctx_.pool_drop_empty.Inc();
      return;  // the rest is useless without this fragment
    }
    std::memcpy(f.Append(n).data(), payload.data() + off, n);
    ip.frag_offset = static_cast<std::uint32_t>(off);
    ip.mf = off + n < payload.size();
    ip.payload_len = static_cast<std::uint16_t>(n);
    ip.Emit(f.Prepend(ipv4::Ipv4Repr::header_len()));
    counters_.tx_fragment.Inc();
    SendToNextHop(std::move(f), ip.dst);
  }
  counters_.tx.Inc();
}

void Ipv4Layer::SendToNextHop(Packet p, Ipv4Address dst) {
  if (host_.IsBroadcast(dst)) {
    link_.SendEthernet(std::move(p), MacAddress::Broadcast(), ethernet::kEtherTypeIpv4);
    return;
  }
  if (dst.IsMulticast()) {
    link_.SendEthernet(std::move(p), proto::MulticastMac(dst), ethernet::kEtherTypeIpv4);
    return;
  }
  // Next hop by longest-prefix match: on-link destinations directly, the
  // rest via their route's gateway.
  const auto route = host_.Lookup(dst);
  if (!route) {
    counters_.drop_no_route.Inc();
    return;
  }
  neighbours_.Send(std::move(p), route->next_hop);
}

}  // namespace ringstack::engine
