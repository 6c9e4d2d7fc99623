// NeighbourLayer (neighbour_layer.h): resolution, parking and ARP.
#include "engine/neighbour_layer.h"

#include <algorithm>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "protocols/arp/arp_handler.h"
#include "protocols/ethernet/ethernet_repr.h"

namespace ringstack::engine {

namespace arp = proto::arp;
namespace ethernet = proto::ethernet;
using proto::Ipv4Address;
using proto::Ipv6Address;
using proto::MacAddress;
using rings::Packet;

namespace {

template <typename Addr>
constexpr std::uint16_t EtherTypeFor() {
  return std::is_same_v<Addr, Ipv6Address> ? ethernet::kEtherTypeIpv6 : ethernet::kEtherTypeIpv4;
}

}  // namespace

NeighbourLayer::NeighbourLayer(ShardContext& ctx, LinkOutput& link, IpOutput& ip, NeighborSolicitor& nd,
                               CounterSet& counters)
    : ctx_(ctx),
      link_(link),
      ip_(ip),
      nd_(nd),
      arp_cache_(arp::ArpCacheConfig{.max_entries = ctx.config.neighbour_cache}),
      nd_cache_(proto::nd::NdCacheConfig{.max_entries = ctx.config.neighbour_cache}),
      arp_deadline_(ctx.wheel, TimerCookie(TimerLayer::kNeighbour, kArpCache)),
      nd_deadline_(ctx.wheel, TimerCookie(TimerLayer::kNeighbour, kNdCache)),
      parked_deadline_(ctx.wheel, TimerCookie(TimerLayer::kNeighbour, kParked)) {
  RegisterCounters(counters, arp_counters_, kArpCounterFields);
  RegisterCounters(counters, counters_, kNeighbourCounterFields);
  arp_drop_.Add(counters, "arp");
}

void NeighbourLayer::Send(Packet p, Ipv4Address next_hop) {
  if (ctx_.shard != 0) {
    SendBySnapshot(std::move(p), next_hop);
    return;
  }
  if (const auto hit = arp_cache_.Use(next_hop, ctx_.now)) {
    link_.SendEthernet(std::move(p), hit->mac, ethernet::kEtherTypeIpv4);
    if (hit->send_probe) {
      SendArpRequest(next_hop, hit->mac);
      arp_deadline_.Follow(arp_cache_.NextDeadline());
    }
    return;
  }
  switch (arp_cache_.StartResolve(next_hop, ctx_.now)) {
    case arp::ArpCache::Resolve::kSendRequest:
      Park(parked4_, next_hop, std::move(p));
      SendArpRequest(next_hop);
      arp_deadline_.Follow(arp_cache_.NextDeadline());
      return;
    case arp::ArpCache::Resolve::kAlreadyPending:
      Park(parked4_, next_hop, std::move(p));
      return;
    case arp::ArpCache::Resolve::kCacheFull:
      arp_counters_.drop_cache_full.Inc();  // --neighbour-cache
      return;
  }
}

void NeighbourLayer::Send(Packet p, const Ipv6Address& next_hop) {
  if (ctx_.shard != 0) {
    SendBySnapshot(std::move(p), next_hop);
    return;
  }
  if (const auto mac = nd_cache_.Use(next_hop, ctx_.now)) {
    link_.SendEthernet(std::move(p), *mac, ethernet::kEtherTypeIpv6);
    nd_deadline_.Follow(nd_cache_.NextDeadline());
    return;
  }
  switch (nd_cache_.StartResolve(next_hop, ctx_.now)) {
    case proto::nd::NdCache::Resolve::kSendSolicitation:
      Park(parked6_, next_hop, std::move(p));
      nd_.SolicitNeighbor(next_hop, std::nullopt);
      nd_deadline_.Follow(nd_cache_.NextDeadline());
      return;
    case proto::nd::NdCache::Resolve::kAlreadyPending:
      Park(parked6_, next_hop, std::move(p));
      return;
    case proto::nd::NdCache::Resolve::kCacheFull:
      counters_.nd_drop_cache_full.Inc();  // --neighbour-cache
      return;
  }
}

std::optional<arp::ArpRepr> NeighbourLayer::ParseArp(const Packet& p) {
  const auto in = arp::ArpRepr::Parse(p.data());
  if (!in) {
    arp_drop_.Count(in.error());
    return std::nullopt;
  }
  (in->oper == arp::kOpRequest ? arp_counters_.rx_request : arp_counters_.rx_reply).Inc();
  return *in;
}

void NeighbourLayer::ReceiveArp(Packet p, const arp::ArpRepr& in) {
  const arp::ArpOutcome out =
      arp::ArpReceive(in, ctx_.config.mac, [this](Ipv4Address a) { return ip_.IsLocal(a); });
  if (arp_cache_.OnArp(in, out.for_me, ctx_.now)) Release(parked4_, in.spa, in.sha);
  arp_deadline_.Follow(arp_cache_.NextDeadline());
  if (!out.reply) return;
  // Answer in the request's own buffer: rewrite the ARP body, re-prepend Ethernet.
  p.Truncate(arp::kPacketLen);
  out.reply->Emit(p.data());
  arp_counters_.tx_reply.Inc();
  link_.SendEthernet(std::move(p), out.reply->tha, ethernet::kEtherTypeArp);
}

void NeighbourLayer::SendArp(const arp::ArpRepr& arp, MacAddress dst) {
  Packet p = ctx_.pool.Get();
  if (!p) {
    ctx_.pool_drop_empty.Inc();
    return;
  }
  arp.Emit(p.Append(arp::kPacketLen));
  link_.SendEthernet(std::move(p), dst, ethernet::kEtherTypeArp);
}

void NeighbourLayer::SendArpRequest(Ipv4Address target, std::optional<MacAddress> unicast) {
  // RFC 5227 2.5 would allow 0.0.0.0 here; a real source lets the target learn us.
  const Ipv4Address src = ip_.SourceFor(target).v4();
  (unicast ? arp_counters_.tx_probe : arp_counters_.tx_request).Inc();
  SendArp(arp::ArpRequest(ctx_.config.mac, src, target), unicast.value_or(MacAddress::Broadcast()));
}

void NeighbourLayer::LearnFromSolicitation(const Ipv6Address& ip, std::optional<MacAddress> ll) {
  if (nd_cache_.OnSolicitation(ip, ll, ctx_.now)) Release(parked6_, ip, *ll);
  nd_deadline_.Follow(nd_cache_.NextDeadline());
}

void NeighbourLayer::LearnFromAdvertisement(const Ipv6Address& target, std::optional<MacAddress> ll, bool solicited,
                                            bool override_flag, bool router) {
  if (nd_cache_.OnAdvertisement(target, ll, solicited, override_flag, router, ctx_.now)) {
    Release(parked6_, target, *ll);
  }
  nd_deadline_.Follow(nd_cache_.NextDeadline());
}

void NeighbourLayer::LearnFromRouter(const Ipv6Address& ip, std::optional<MacAddress> ll) {
  if (nd_cache_.OnRouterAdvertisement(ip, ll, ctx_.now)) Release(parked6_, ip, *ll);
  nd_deadline_.Follow(nd_cache_.NextDeadline());
}

// As if shard 0 itself sent: a hit (perhaps only newer than the asker's
// snapshot) is published at once, a miss starts resolution and the answer's
// publication releases the asker's packets.
void NeighbourLayer::Resolve(Ipv4Address ip) {
  ctx_.net_dirty = ctx_.publish_now = true;
  if (const auto hit = arp_cache_.Use(ip, ctx_.now)) {
    if (hit->send_probe) SendArpRequest(ip, hit->mac);
  } else if (arp_cache_.StartResolve(ip, ctx_.now) == arp::ArpCache::Resolve::kSendRequest) {
    SendArpRequest(ip);
  }
  arp_deadline_.Follow(arp_cache_.NextDeadline());
}

void NeighbourLayer::Resolve(const Ipv6Address& ip) {
  ctx_.net_dirty = ctx_.publish_now = true;
  if (!nd_cache_.Use(ip, ctx_.now) &&
      nd_cache_.StartResolve(ip, ctx_.now) == proto::nd::NdCache::Resolve::kSendSolicitation) {
    nd_.SolicitNeighbor(ip, std::nullopt);
  }
  nd_deadline_.Follow(nd_cache_.NextDeadline());
}

void NeighbourLayer::FillSnapshot(NetSnapshot& s) const {
  arp_cache_.ForEach([&](Ipv4Address ip, const arp::ArpCache::Entry& e) {
    if (e.state != arp::ArpCache::State::kIncomplete) s.arp.emplace(ip, e.mac);
  });
  nd_cache_.ForEach([&](const Ipv6Address& ip, const proto::nd::NdCache::Entry& e) {
    if (e.state != proto::nd::NdCache::State::kIncomplete) s.nd.emplace(ip, e.mac);
  });
}

void NeighbourLayer::OnSnapshot(std::shared_ptr<const NetSnapshot> snap) {
  snap_ = std::move(snap);
  auto release = [&](auto& parked, const auto& table) {
    std::vector<typename std::decay_t<decltype(parked)>::key_type> ready;
    for (const auto& [hop, held] : parked) {
      if (table.contains(hop)) ready.push_back(hop);
    }
    for (const auto& hop : ready) Release(parked, hop, table.at(hop));
  };
  release(parked4_, snap_->arp);
  release(parked6_, snap_->nd);
}

template <typename Addr>
void NeighbourLayer::SendBySnapshot(Packet p, const Addr& next_hop) {
  constexpr bool kV6 = std::is_same_v<Addr, Ipv6Address>;
  const auto& table = [&]() -> const auto& {
    if constexpr (kV6) {
      return snap_->nd;
    } else {
      return snap_->arp;
    }
  }();
  if (const auto it = table.find(next_hop); it != table.end()) {
    link_.SendEthernet(std::move(p), it->second, EtherTypeFor<Addr>());
    return;
  }
  // Park, and on the first packet ask shard 0 (which resolves it and
  // publishes a snapshot that has it; OnSnapshot releases the packets).
  bool first;
  if constexpr (kV6) {
    first = Park(parked6_, next_hop, std::move(p));
  } else {
    first = Park(parked4_, next_hop, std::move(p));
  }
  if (!first) return;
  ShardMessage m;
  m.kind = kV6 ? ShardMessage::Kind::kResolve6 : ShardMessage::Kind::kResolve4;
  m.addr = proto::IpAddress(next_hop);
  if (ctx_.fabric.Post(0, std::move(m))) {
    counters_.resolve_request.Inc();
  } else {
    ctx_.shard_drop_mail_full.Inc();  // the entry times out like a failed resolution
  }
  if (parked_deadline_.at().IsNever()) parked_deadline_.Follow(ctx_.now + Duration::Seconds(1));
}

template <typename Addr>
bool NeighbourLayer::Park(ParkedMap<Addr>& parked_by_hop, const Addr& next_hop, Packet p) {
  auto it = parked_by_hop.find(next_hop);
  bool first = false;
  if (it == parked_by_hop.end()) {
    if (parked_by_hop.size() >= kMaxParkedNeighbours) {
      counters_.drop_park_full.Inc();
      return false;
    }
    it = parked_by_hop.try_emplace(next_hop).first;
    it->second.since = ctx_.now;
    first = true;
  }
  Parked& parked = it->second;
  const std::size_t limit = std::min(kParkedPerNeighbour, ctx_.config.neighbour_pending);
  if (parked.count >= limit) {
    // Keep the newest packets, as Linux's neighbour queue does.
    counters_.drop_park_full.Inc();
    for (std::size_t i = 1; i < parked.count; ++i) parked.packets[i - 1] = std::move(parked.packets[i]);
    --parked.count;
  }
  parked.packets[parked.count++] = std::move(p);
  return first;
}

template <typename Addr>
void NeighbourLayer::Release(ParkedMap<Addr>& parked_by_hop, const Addr& next_hop, MacAddress mac) {
  if (ctx_.shard == 0) ctx_.publish_now = true;
  auto it = parked_by_hop.find(next_hop);
  if (it == parked_by_hop.end()) return;
  Parked parked = std::move(it->second);
  parked_by_hop.erase(it);
  for (std::size_t i = 0; i < parked.count; ++i) {
    link_.SendEthernet(std::move(parked.packets[i]), mac, EtherTypeFor<Addr>());
  }
}

template <typename Addr>
void NeighbourLayer::DropUnreachable(ParkedMap<Addr>& parked_by_hop, const Addr& next_hop) {
  auto it = parked_by_hop.find(next_hop);
  if (it == parked_by_hop.end()) return;
  (std::is_same_v<Addr, Ipv6Address> ? counters_.ipv6_drop_unreachable : counters_.ipv4_drop_unreachable)
      .Inc(it->second.count);
  parked_by_hop.erase(it);  // handles return their buffers
}

void NeighbourLayer::ExpireParked() {
  auto expire = [&](auto& parked_by_hop, Counter& unreachable) {
    for (auto it = parked_by_hop.begin(); it != parked_by_hop.end();) {
      if (ctx_.now - it->second.since >= kParkTimeout) {
        unreachable.Inc(it->second.count);
        parked_by_hop.erase(it++);  // handles return their buffers
      } else {
        ++it;
      }
    }
  };
  expire(parked4_, counters_.ipv4_drop_unreachable);
  expire(parked6_, counters_.ipv6_drop_unreachable);
  if (!parked4_.empty() || !parked6_.empty()) parked_deadline_.Follow(ctx_.now + Duration::Seconds(1));
}

void NeighbourLayer::OnTimer(std::uint64_t value) {
  switch (value) {
    case kArpCache:
      ctx_.net_dirty = true;  // entries age
      OnArpCacheTimer();
      return;
    case kNdCache:
      ctx_.net_dirty = true;
      OnNdCacheTimer();
      return;
    case kParked:
      parked_deadline_.Fired();
      ExpireParked();
      return;
    default:
      return;
  }
}

void NeighbourLayer::OnArpCacheTimer() {
  arp_deadline_.Fired();
  arp_cache_.OnTimer(
      ctx_.now, [this](Ipv4Address ip, std::optional<MacAddress> unicast) { SendArpRequest(ip, unicast); },
      [this](Ipv4Address ip) {
        arp_counters_.resolve_failed.Inc();
        if (ctx_.LogEnabled(Subsystem::kArp, LogLevel::kDebug)) {
          ctx_.Log(Subsystem::kArp, LogLevel::kDebug,
                   absl::StrCat("arp: ", ip.ToString(), " did not answer; unreachable"));
        }
        DropUnreachable(parked4_, ip);
      });
  arp_deadline_.Follow(arp_cache_.NextDeadline());
}

void NeighbourLayer::OnNdCacheTimer() {
  nd_deadline_.Fired();
  nd_cache_.OnTimer(
      ctx_.now,
      [this](const Ipv6Address& ip, std::optional<MacAddress> unicast) { nd_.SolicitNeighbor(ip, unicast); },
      [this](const Ipv6Address& ip) {
        counters_.nd_resolve_failed.Inc();
        if (ctx_.LogEnabled(Subsystem::kNd, LogLevel::kDebug)) {
          ctx_.Log(Subsystem::kNd, LogLevel::kDebug,
                   absl::StrCat("nd: ", ip.ToString(), " did not answer; unreachable"));
        }
        DropUnreachable(parked6_, ip);
      });
  nd_deadline_.Follow(nd_cache_.NextDeadline());
}

void NeighbourLayer::DropHeld() {
  for (const auto& [hop, parked] : parked4_) counters_.drop_parked_at_stop.Inc(parked.count);
  for (const auto& [hop, parked] : parked6_) counters_.drop_parked_at_stop.Inc(parked.count);
  parked4_.clear();  // handles return their buffers
  parked6_.clear();
}

}  // namespace ringstack::engine
