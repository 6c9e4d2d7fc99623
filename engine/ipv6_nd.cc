// Ipv6Layer's addresses, Neighbor Discovery and MLD (ipv6_layer.h): the
// host's addresses through DAD and SLAAC (RFC 4862), router discovery and
// redirects (RFC 4861), the ND messages (what they teach goes to the
// neighbour layer), and MLDv2 reports (RFC 3810). The state machines are
// the pure classes of protocols/ipv6 and protocols/icmpv6; this file moves
// their decisions into packets.
#include <string>

#include "absl/strings/str_cat.h"
#include "engine/ipv6_layer.h"
#include "protocols/icmpv6/icmpv6_repr.h"
#include "protocols/icmpv6/mld/mld_repr.h"
#include "protocols/icmpv6/nd/nd_repr.h"

namespace ringstack::engine {

using proto::Ipv6Address;
using proto::MacAddress;
using proto::ParseError;
using rings::Packet;
namespace icmpv6 = proto::icmpv6;
namespace ipv6 = proto::ipv6;
namespace mld = proto::mld;
namespace nd = proto::nd;

void Ipv6Layer::Start() {
  // RFC 4862 5.3: a link-local address first (EUI-64, or RFC 7217 with
  // --ip6-stable), then the static ones; all through DAD.
  Apply(
      host_.AddAddress({host_.FormAddress(*Ipv6Address::Parse("fe80::"), 0), 64}, ipv6::Origin::kLinkLocal, ctx_.now));
  for (const proto::Ipv6Interface& itf : ctx_.config.ip6) {
    Apply(host_.AddAddress(itf, ipv6::Origin::kStatic, ctx_.now));
  }
  if (ctx_.config.gw6) host_.AddStaticRouter(*ctx_.config.gw6);
}

void Ipv6Layer::Apply(ipv6::Ipv6Host::Events ev) {
  for (const Ipv6Address& group : ev.join) SendMldReport(mld_.Join(group, ctx_.now));
  for (const Ipv6Address& group : ev.leave) SendMldReport(mld_.Leave(group, ctx_.now));
  for (const Ipv6Address& a : ev.send_dad) {
    // RFC 4862 5.4.2: NS from :: to the solicited-node group, no SLLA.
    nd_counters_.dad_ns.Inc();
    SendNeighborSolicitation(a, Ipv6Address(), std::nullopt);
  }
  for (const Ipv6Address& a : ev.preferred) {
    const ipv6::HostAddress6* h = host_.Find(a);
    ctx_.Log(Subsystem::kIp6, LogLevel::kInfo,
             absl::StrCat("ip6 ", h != nullptr ? h->itf.ToString() : a.ToString(), ": DAD passed, in use"));
    if (a == host_.link_local()) host_.StartRouterSolicitation(ctx_.now);
  }
  for (const Ipv6Address& a : ev.duplicate) {
    nd_counters_.dad_duplicate.Inc();
    ctx_.Log(Subsystem::kIp6, LogLevel::kWarn,
             absl::StrCat("ip6 ", a.ToString(), ": duplicate (another host has it); not using it"));
  }
  for (const proto::Ipv6Interface& itf : ev.removed) {
    ctx_.Log(Subsystem::kIp6, LogLevel::kInfo, absl::StrCat("ip6 ", itf.ToString(), ": valid lifetime over; removed"));
  }
  for (const std::string& line : ev.log) ctx_.Log(Subsystem::kIp6, LogLevel::kInfo, line);
  if (ev.send_rs) SendRouterSolicitation();
  RearmTimers();
}

void Ipv6Layer::RearmTimers() {
  host_deadline_.Follow(host_.NextDeadline());
  mld_deadline_.Follow(mld_.NextDeadline());
  reassembly_deadline_.Follow(reassembler_.NextDeadline());
}

// RFC 4861 7.1.1 validity, 7.2.3 (NS for us -> NA), RFC 4862 5.4.3 (DAD).
void Ipv6Layer::HandleNeighborSolicitation(const ipv6::Ipv6Repr& ip, proto::Bytes body) {
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
  Apply(host_.OnNeighborSolicitation(ip.src, ns->target, ctx_.now));
  if (!from_dad) neighbours_.LearnFromSolicitation(ip.src, ns->options.source_ll);
  RearmTimers();
  if (!host_.IsLocal(ns->target)) return;  // not ours, or still tentative (5.4.3: no answer)
  Packet p = ctx_.pool.Get();
  if (!p) {
    ctx_.pool_drop_empty.Inc();
    return;
  }
  nd::NeighborAdvertisement na;
  na.solicited = !from_dad;
  na.override_flag = true;
  na.target = ns->target;
  na.options.target_ll = ctx_.config.mac;
  p.Append(icmpv6::kHeaderLen);
  na.Emit(p.Append(na.body_len()));
  nd_counters_.tx_na.Inc();
  // 7.2.4: to the solicitor, or to all nodes when it was DAD from ::.
  SendIcmp(std::move(p), icmpv6::kNeighborAdvertisement, 0, ns->target, from_dad ? Ipv6Address::AllNodes() : ip.src,
           nd::kHopLimit);
}

void Ipv6Layer::HandleNeighborAdvertisement(const ipv6::Ipv6Repr& ip, proto::Bytes body) {
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
  Apply(host_.OnNeighborAdvertisement(na->target, ctx_.now));
  neighbours_.LearnFromAdvertisement(na->target, na->options.target_ll, na->solicited, na->override_flag, na->router);
  RearmTimers();
}

void Ipv6Layer::HandleRouterAdvertisement(const ipv6::Ipv6Repr& ip, proto::Bytes body) {
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
  neighbours_.LearnFromRouter(ip.src, ra->options.source_ll);
  Apply(host_.OnRouterAdvertisement(ip.src, *ra, ctx_.now));
}

void Ipv6Layer::HandleMldQuery(const ipv6::Ipv6Repr& ip, proto::Bytes body, bool router_alert) {
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
  mld_.OnQuery(*q, ctx_.now);
  RearmTimers();
}

void Ipv6Layer::SendMldReport(const std::vector<mld::Record>& records) {
  if (records.empty()) return;
  Packet p = ctx_.pool.Get();
  if (!p) {
    ctx_.pool_drop_empty.Inc();
    return;
  }
  p.Append(icmpv6::kHeaderLen);
  mld::EmitReport(records, p.Append(mld::ReportBodyLen(records.size())));
  // RFC 3810 5.2.13: from the link-local address, or :: while it is tentative.
  const Ipv6Address ll = host_.link_local();
  mld_counters_.tx_report.Inc();
  SendIcmp(std::move(p), icmpv6::kMldV2Report, 0, host_.IsLocal(ll) ? ll : Ipv6Address(),
           Ipv6Address::AllMldv2Routers(), 1, /*router_alert=*/true);
  RearmTimers();
}

void Ipv6Layer::SendNeighborSolicitation(const Ipv6Address& target, const Ipv6Address& src,
                                         std::optional<MacAddress> unicast) {
  Packet p = ctx_.pool.Get();
  if (!p) {
    ctx_.pool_drop_empty.Inc();
    return;
  }
  nd::NeighborSolicitation ns;
  ns.target = target;
  if (!src.IsUnspecified()) ns.options.source_ll = ctx_.config.mac;
  p.Append(icmpv6::kHeaderLen);
  ns.Emit(p.Append(ns.body_len()));
  nd_counters_.tx_ns.Inc();
  // Address resolution and DAD go to the solicited-node group; NUD probes
  // unicast to the cached address (7.2.2, 7.3.3).
  SendIcmp(std::move(p), icmpv6::kNeighborSolicitation, 0, src, unicast ? target : target.SolicitedNode(),
           nd::kHopLimit);
}

void Ipv6Layer::SendRouterSolicitation() {
  // RFC 4861 6.3.7: from the link-local address with our link-layer
  // address, or from :: without it while there is none.
  Packet p = ctx_.pool.Get();
  if (!p) {
    ctx_.pool_drop_empty.Inc();
    return;
  }
  nd::RouterSolicitation rs;
  const Ipv6Address ll = host_.link_local();
  const bool have_ll = host_.IsLocal(ll);
  if (have_ll) rs.options.source_ll = ctx_.config.mac;
  p.Append(icmpv6::kHeaderLen);
  rs.Emit(p.Append(rs.body_len()));
  nd_counters_.tx_rs.Inc();
  SendIcmp(std::move(p), icmpv6::kRouterSolicitation, 0, have_ll ? ll : Ipv6Address(), Ipv6Address::AllRouters(),
           nd::kHopLimit);
}

// RFC 4861 8.3: a redirect from our first-hop router; the target's link-layer
// address, if given, goes in the neighbour cache.
void Ipv6Layer::HandleRedirect(const ipv6::Ipv6Repr& ip, proto::Bytes body) {
  const auto r = nd::Redirect::Parse(body);
  if (!r) {
    nd_drop_.Count(r.error());
    return;
  }
  if (ip.hop_limit != nd::kHopLimit || !ip.src.IsLinkLocal() || !host_.OnRedirect(ip.src, *r)) {
    nd_counters_.drop_invalid.Inc();
    return;
  }
  nd_counters_.rx_redirect.Inc();
  if (r->options.target_ll) neighbours_.LearnFromSolicitation(r->target, r->options.target_ll);
  RearmTimers();
}

}  // namespace ringstack::engine
