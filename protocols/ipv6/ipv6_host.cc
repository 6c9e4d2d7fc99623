#include "protocols/ipv6/ipv6_host.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "protocols/common/sha256.h"
#include "protocols/ipv6/source_select.h"

namespace ringstack::proto::ipv6 {
namespace {

constexpr Duration kTwoHours = Duration::Seconds(2 * 3600);

Instant After(Instant now, std::uint32_t seconds) {
  return seconds == 0xffffffffu ? Instant::Never() : now + Duration::Seconds(seconds);
}

}  // namespace

const char* AddrStateName(AddrState s) {
  switch (s) {
    case AddrState::kTentative: return "tentative";
    case AddrState::kPreferred: return "preferred";
    case AddrState::kDeprecated: return "deprecated";
    case AddrState::kDuplicate: return "duplicate";
  }
  return "?";
}

void Ipv6Host::Events::Merge(Events&& o) {
  auto cat = [](auto& a, auto& b) { a.insert(a.end(), b.begin(), b.end()); };
  cat(send_dad, o.send_dad);
  cat(join, o.join);
  cat(leave, o.leave);
  cat(preferred, o.preferred);
  cat(duplicate, o.duplicate);
  cat(removed, o.removed);
  cat(log, o.log);
  send_rs |= o.send_rs;
}

Ipv6Host::Ipv6Host(MacAddress mac, std::uint64_t seed, const Ipv6HostConfig& config)
    : mac_(mac), rng_(seed), config_(config), mtu_(config.link_mtu) {}

Ipv6Address Ipv6Host::FormAddress(const Ipv6Address& prefix, int dad_counter) const {
  if (config_.stable_secret.empty()) {
    return Ipv6Address::Combine(prefix, 64, Ipv6Address::LinkLocalFromMac(mac_));
  }
  // RFC 7217 5: RID = F(Prefix, Net_Iface, Network_ID, DAD_Counter, secret_key),
  // here with the MAC as Net_Iface and no Network_ID; IDs RFC 5453 reserves
  // are skipped by moving on to the next counter.
  for (int counter = dad_counter;; ++counter) {
    Sha256 h;
    const Ipv6Address net = Ipv6Address::Combine(prefix, 64, Ipv6Address());
    h.Update(net.bytes().first(8));
    h.Update(mac_.bytes());
    const auto c = static_cast<std::byte>(counter);
    h.Update(Bytes(&c, 1));
    h.Update(std::as_bytes(std::span(config_.stable_secret)));
    const auto rid = h.Finish();
    std::array<std::byte, 16> iid{};
    std::copy_n(rid.begin(), 8, iid.begin() + 8);
    const std::uint64_t v = (std::uint64_t{LoadBe32(iid.data() + 8)} << 32) | LoadBe32(iid.data() + 12);
    if (v == 0 || v >= 0xfdffffffffffff80ull) continue;  // subnet-router anycast, reserved anycast
    return Ipv6Address::Combine(prefix, 64, Ipv6Address(iid));
  }
}

Ipv6Address Ipv6Host::link_local() const {
  for (const HostAddress6& a : addresses_) {
    if (a.origin == Origin::kLinkLocal && a.state != AddrState::kDuplicate) return a.itf.address;
  }
  return FormAddress(*Ipv6Address::Parse("fe80::"), 0);
}

HostAddress6* Ipv6Host::FindMutable(const Ipv6Address& a) {
  for (HostAddress6& h : addresses_) {
    if (h.itf.address == a) return &h;
  }
  return nullptr;
}

const HostAddress6* Ipv6Host::Find(const Ipv6Address& a) const {
  for (const HostAddress6& h : addresses_) {
    if (h.itf.address == a) return &h;
  }
  return nullptr;
}

bool Ipv6Host::IsLocal(const Ipv6Address& a) const {
  const HostAddress6* h = Find(a);
  return h != nullptr && (h->state == AddrState::kPreferred || h->state == AddrState::kDeprecated);
}

bool Ipv6Host::IsJoined(const Ipv6Address& group) const {
  if (group == Ipv6Address::AllNodes()) return true;
  for (const HostAddress6& h : addresses_) {
    if (h.state != AddrState::kDuplicate && h.itf.address.SolicitedNode() == group) return true;
  }
  return false;
}

bool Ipv6Host::IsJoinedMac(const MacAddress& mac) const {
  if (mac == MulticastMac(Ipv6Address::AllNodes())) return true;
  for (const HostAddress6& h : addresses_) {
    if (h.state != AddrState::kDuplicate && MulticastMac(h.itf.address.SolicitedNode()) == mac) return true;
  }
  return false;
}

Ipv6Host::Events Ipv6Host::AddAddress(Ipv6Interface itf, Origin origin, Instant now, bool dad) {
  Events ev;
  if (Find(itf.address) != nullptr) return ev;
  HostAddress6 a;
  a.itf = itf;
  a.origin = origin;
  const Ipv6Address group = itf.address.SolicitedNode();
  if (!IsJoined(group)) ev.join.push_back(group);  // RFC 4862 5.4.2: join before the first NS
  if (dad && config_.dad_transmits > 0) {
    a.state = AddrState::kTentative;
    a.dad_at = now + rng_.Uniform(Duration::Nanos(0), config_.max_dad_delay);
  } else {
    a.state = AddrState::kPreferred;
    ev.preferred.push_back(itf.address);
  }
  addresses_.push_back(a);
  return ev;
}

void Ipv6Host::MarkDuplicate(HostAddress6& a, Events& ev, Instant now) {
  a.state = AddrState::kDuplicate;
  a.dad_at = Instant::Never();
  ev.duplicate.push_back(a.itf.address);
  const Ipv6Address group = a.itf.address.SolicitedNode();
  if (!IsJoined(group)) ev.leave.push_back(group);
  // RFC 7217 6: a stable address that collides is formed again with the next
  // DAD_Counter, up to IDGEN_RETRIES times.
  constexpr int kIdgenRetries = 3;
  if (config_.stable_secret.empty() || a.origin == Origin::kStatic || a.dad_counter >= kIdgenRetries) return;
  const HostAddress6 old = a;  // `a` may move when the vector grows
  const Ipv6Address next = FormAddress(old.itf.address, old.dad_counter + 1);
  ev.log.push_back(absl::StrCat("ip6 ", old.itf.address.ToString(), ": trying ", next.ToString(),
                                " instead (RFC 7217 DAD_Counter ", old.dad_counter + 1, ")"));
  ev.Merge(AddAddress(Ipv6Interface{next, old.itf.prefix_len}, old.origin, now));
  HostAddress6* fresh = FindMutable(next);
  if (fresh != nullptr) {
    fresh->dad_counter = old.dad_counter + 1;
    fresh->preferred_until = old.preferred_until;
    fresh->valid_until = old.valid_until;
  }
}

void Ipv6Host::StartRouterSolicitation(Instant now) {
  // An RA that came while the link-local was tentative already told us.
  if (soliciting_ || ra_seen_) return;
  soliciting_ = true;
  rs_sent_ = 0;
  rs_interval_ = config_.rtr_solicitation_interval;
  rs_at_ = now + rng_.Uniform(Duration::Nanos(0), config_.max_rtr_solicitation_delay);  // RFC 4861 6.3.7
}

Ipv6Host::Events Ipv6Host::OnNeighborSolicitation(const Ipv6Address& src, const Ipv6Address& target,
                                                  Instant now) {
  Events ev;
  HostAddress6* a = FindMutable(target);
  if (a != nullptr && a->state == AddrState::kTentative && src.IsUnspecified()) MarkDuplicate(*a, ev, now);
  return ev;
}

Ipv6Host::Events Ipv6Host::OnNeighborAdvertisement(const Ipv6Address& target, Instant now) {
  Events ev;
  HostAddress6* a = FindMutable(target);
  if (a == nullptr) return ev;
  if (a->state == AddrState::kTentative) {
    MarkDuplicate(*a, ev, now);
  } else if (a->state != AddrState::kDuplicate) {
    ev.log.push_back(absl::StrCat("ip6 ", target.ToString(), ": another host advertises it too"));
  }
  return ev;
}

Ipv6Host::Events Ipv6Host::OnRouterAdvertisement(const Ipv6Address& src, const nd::RouterAdvertisement& ra,
                                                 Instant now) {
  Events ev;
  soliciting_ = false;  // RFC 4861 6.3.7: an RA ends solicitation
  ra_seen_ = true;
  rs_at_ = Instant::Never();
  // Default router list (6.3.4).
  auto router =
      std::find_if(routers_.begin(), routers_.end(), [&](const DefaultRouter& r) { return r.address == src; });
  if (ra.router_lifetime == 0) {
    if (router != routers_.end()) routers_.erase(router);
  } else if (router == routers_.end()) {
    routers_.push_back({src, now + Duration::Seconds(ra.router_lifetime)});
  } else {
    router->until = now + Duration::Seconds(ra.router_lifetime);
  }
  if (ra.options.mtu && *ra.options.mtu >= 1280 && *ra.options.mtu <= config_.link_mtu) mtu_ = *ra.options.mtu;
  if (ra.options.rdnss_count != 0) {
    dns_.assign(ra.options.rdnss.begin(), ra.options.rdnss.begin() + ra.options.rdnss_count);
    if (ra.options.rdnss_lifetime == 0) dns_.clear();
  }
  for (std::size_t i = 0; i < ra.options.prefix_count; ++i) {
    const nd::PrefixInfo& p = ra.options.prefixes[i];
    if (p.prefix.IsLinkLocal()) continue;  // 6.3.4 / 5.5.3 b
    const Ipv6Interface net{Ipv6Address::Combine(p.prefix, p.prefix_len, Ipv6Address()), p.prefix_len};
    if (p.on_link) {
      auto it = std::find_if(prefixes_.begin(), prefixes_.end(), [&](const OnLinkPrefix& o) { return o.net == net; });
      if (p.valid_lifetime == 0) {
        if (it != prefixes_.end()) prefixes_.erase(it);
      } else if (it == prefixes_.end()) {
        prefixes_.push_back({net, After(now, p.valid_lifetime)});
      } else {
        it->until = After(now, p.valid_lifetime);
      }
    }
    if (!p.autonomous || p.preferred_lifetime > p.valid_lifetime) continue;  // 5.5.3 a, c
    // The address this prefix gave (whatever DAD_Counter it took), or the one to form.
    HostAddress6* existing = nullptr;
    for (HostAddress6& a : addresses_) {
      if (a.origin == Origin::kSlaac && a.state != AddrState::kDuplicate && a.itf.prefix_len == 64 &&
          Ipv6Interface{net.address, 64}.Contains(a.itf.address)) {
        existing = &a;
      }
    }
    const Ipv6Address addr = existing != nullptr ? existing->itf.address : FormAddress(net.address, 0);
    if (existing == nullptr) {
      if (p.valid_lifetime == 0) continue;
      if (p.prefix_len != 64) {
        ev.log.push_back(absl::StrCat("ip6 prefix ", net.ToString(),
                                      ": not a /64, so no SLAAC address from it (RFC 4862 5.5.3 d)"));
        continue;
      }
      Events added = AddAddress(Ipv6Interface{addr, 64}, Origin::kSlaac, now);
      HostAddress6* a = FindMutable(addr);
      a->preferred_until = After(now, p.preferred_lifetime);
      a->valid_until = After(now, p.valid_lifetime);
      ev.Merge(std::move(added));
      continue;
    }
    if (existing->origin != Origin::kSlaac) continue;
    // 5.5.3 e: the preferred lifetime is reset; the valid one under the two-hour rule.
    existing->preferred_until = After(now, p.preferred_lifetime);
    if (existing->state == AddrState::kDeprecated && p.preferred_lifetime != 0) {
      existing->state = AddrState::kPreferred;
    }
    const Instant proposed = After(now, p.valid_lifetime);
    const bool remaining_short = existing->valid_until - now <= kTwoHours;
    if (p.valid_lifetime == 0xffffffffu || Duration::Seconds(p.valid_lifetime) > kTwoHours ||
        proposed > existing->valid_until) {
      existing->valid_until = proposed;
    } else if (!remaining_short) {
      existing->valid_until = now + kTwoHours;
    }
  }
  return ev;
}

bool Ipv6Host::OnRedirect(const Ipv6Address& src, const nd::Redirect& r) {
  // 8.1: the target is link-local (a better router) or the destination
  // itself (it is on-link), and the source is our first hop for it now.
  if (!r.target.IsLinkLocal() && r.target != r.destination) return false;
  const auto hop = Lookup(r.destination);
  if (!hop || hop->next_hop != src) return false;
  std::erase_if(redirects_, [&](const auto& e) { return e.first == r.destination; });
  if (redirects_.size() >= 256) redirects_.erase(redirects_.begin());
  redirects_.emplace_back(r.destination, r.target);
  return true;
}

Ipv6Host::Events Ipv6Host::OnTimer(Instant now) {
  Events ev;
  for (HostAddress6& a : addresses_) {
    if (a.state == AddrState::kTentative && a.dad_at <= now) {
      if (a.dad_sent < config_.dad_transmits) {
        ++a.dad_sent;
        ev.send_dad.push_back(a.itf.address);
        a.dad_at = now + config_.retrans_timer;
      } else {
        a.state = AddrState::kPreferred;
        a.dad_at = Instant::Never();
        ev.preferred.push_back(a.itf.address);
      }
    }
    if (a.state == AddrState::kPreferred && a.preferred_until <= now) a.state = AddrState::kDeprecated;
  }
  // Valid lifetime over: the address goes (5.5.4).
  for (auto it = addresses_.begin(); it != addresses_.end();) {
    if (it->valid_until > now) {
      ++it;
      continue;
    }
    const HostAddress6 gone = *it;
    it = addresses_.erase(it);
    ev.removed.push_back(gone.itf);
    const Ipv6Address group = gone.itf.address.SolicitedNode();
    if (gone.state != AddrState::kDuplicate && !IsJoined(group)) ev.leave.push_back(group);
  }
  const std::size_t routers_before = routers_.size();
  std::erase_if(routers_, [now](const DefaultRouter& r) { return r.until <= now; });
  if (routers_.size() != routers_before) redirects_.clear();  // they came from routers that may be gone
  std::erase_if(prefixes_, [now](const OnLinkPrefix& p) { return p.until <= now; });
  if (soliciting_ && rs_at_ <= now) {
    ev.send_rs = true;
    ++rs_sent_;
    if (rs_sent_ >= config_.max_rtr_solicitations) {
      // RFC 7559: keep asking, backing off exponentially up to MRT.
      rs_interval_ = std::min(rs_interval_ + rs_interval_, config_.max_rs_interval);
    }
    rs_at_ = now + rs_interval_;
  }
  return ev;
}

Instant Ipv6Host::NextDeadline() const {
  Instant next = soliciting_ ? rs_at_ : Instant::Never();
  for (const HostAddress6& a : addresses_) {
    next = std::min({next, a.dad_at, a.valid_until});
    if (a.state == AddrState::kPreferred) next = std::min(next, a.preferred_until);
  }
  for (const DefaultRouter& r : routers_) next = std::min(next, r.until);
  for (const OnLinkPrefix& p : prefixes_) next = std::min(next, p.until);
  return next;
}

bool Ipv6Host::OnLink(const Ipv6Address& dst) const {
  if (dst.IsLinkLocal() || dst.IsMulticast()) return true;
  for (const OnLinkPrefix& p : prefixes_) {
    if (p.net.Contains(dst)) return true;
  }
  for (const HostAddress6& a : addresses_) {
    if (a.origin == Origin::kStatic && a.state != AddrState::kDuplicate && a.itf.Contains(dst)) return true;
  }
  return false;
}

std::optional<NextHop6> Ipv6Host::Lookup(const Ipv6Address& dst) const {
  const Ipv6Address src = SourceFor(dst);
  for (const auto& [destination, target] : redirects_) {
    if (destination == dst) return NextHop6{target, src};
  }
  if (OnLink(dst)) return NextHop6{dst, src};
  if (!routers_.empty()) return NextHop6{routers_.front().address, src};
  if (!static_routers_.empty()) return NextHop6{static_routers_.front(), src};
  return std::nullopt;
}

Ipv6Address Ipv6Host::SourceFor(const Ipv6Address& dst) const {
  std::optional<SourceCandidate> best;
  for (const HostAddress6& a : addresses_) {
    if (a.state != AddrState::kPreferred && a.state != AddrState::kDeprecated) continue;
    const SourceCandidate c{.address = a.itf.address,
                            .prefix_len = a.itf.prefix_len,
                            .deprecated = a.state == AddrState::kDeprecated,
                            .temporary = false};
    if (!best || BetterSource(c, *best, dst)) best = c;
  }
  return best ? best->address : Ipv6Address();
}

}  // namespace ringstack::proto::ipv6
