#include "protocols/ipv4/ipv4_host.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace ringstack::proto::ipv4 {

const char* AddressStateName(AddressState s) {
  switch (s) {
    case AddressState::kTentative: return "tentative";
    case AddressState::kPreferred: return "preferred";
    case AddressState::kConflict: return "conflict";
  }
  return "?";
}

std::string Route::ToString() const {
  std::string s = absl::StrCat(net.address.ToString(), "/", net.prefix_len);
  if (gateway) {
    absl::StrAppend(&s, " via ", gateway->ToString());
  } else {
    absl::StrAppend(&s, " on-link");
  }
  absl::StrAppend(&s, " src ", src.ToString(), " metric ", metric);
  return s;
}

bool Ipv4Host::AddAddress(const HostAddress& a) {
  if (Find(a.itf.address) != nullptr) return false;
  addresses_.push_back(a);
  Rebuild();
  return true;
}

bool Ipv4Host::RemoveAddress(Ipv4Address a) {
  const auto it = std::find_if(addresses_.begin(), addresses_.end(),
                               [a](const HostAddress& h) { return h.itf.address == a; });
  if (it == addresses_.end()) return false;
  addresses_.erase(it);
  Rebuild();
  return true;
}

bool Ipv4Host::SetState(Ipv4Address a, AddressState state) {
  for (HostAddress& h : addresses_) {
    if (h.itf.address != a) continue;
    h.state = state;
    Rebuild();
    return true;
  }
  return false;
}

void Ipv4Host::AddStaticRoute(Ipv4Interface net, Ipv4Address gateway) {
  net.address = net.network();
  static_routes_.push_back({net, gateway});
  Rebuild();
}

bool Ipv4Host::IsLocal(Ipv4Address a) const {
  const HostAddress* h = Find(a);
  return h != nullptr && h->state == AddressState::kPreferred;
}

const HostAddress* Ipv4Host::Find(Ipv4Address a) const {
  for (const HostAddress& h : addresses_) {
    if (h.itf.address == a) return &h;
  }
  return nullptr;
}

bool Ipv4Host::IsBroadcast(Ipv4Address a) const {
  if (a.IsLimitedBroadcast()) return true;
  for (const HostAddress& h : addresses_) {
    if (h.state == AddressState::kPreferred && h.itf.prefix_len <= 30 && h.itf.broadcast() == a) return true;
  }
  return false;
}

std::optional<NextHop> Ipv4Host::Lookup(Ipv4Address dst) const {
  for (const Route& r : routes_) {
    if (!r.net.Contains(dst)) continue;
    return NextHop{r.gateway.value_or(dst), r.src};
  }
  return std::nullopt;
}

Ipv4Address Ipv4Host::SourceFor(Ipv4Address dst) const {
  if (const auto hop = Lookup(dst)) return hop->src;
  for (const HostAddress& h : addresses_) {
    if (h.state == AddressState::kPreferred) return h.itf.address;
  }
  return Ipv4Address();
}

void Ipv4Host::Rebuild() {
  routes_.clear();
  // The usable address whose network holds `a`, if any.
  auto owner = [this](Ipv4Address a) -> const HostAddress* {
    for (const HostAddress& h : addresses_) {
      if (h.state == AddressState::kPreferred && h.itf.Contains(a)) return &h;
    }
    return nullptr;
  };
  int position = 0;
  for (const HostAddress& h : addresses_) {
    ++position;
    if (h.state != AddressState::kPreferred) continue;
    const Ipv4Interface net{h.itf.network(), h.itf.prefix_len};
    const bool duplicate = std::any_of(routes_.begin(), routes_.end(),
                                       [&](const Route& r) { return !r.gateway && r.net == net; });
    if (!duplicate) routes_.push_back({net, std::nullopt, h.itf.address, 0});
    if (h.gateway && owner(*h.gateway) != nullptr) {
      routes_.push_back({Ipv4Interface{Ipv4Address(), 0}, h.gateway, h.itf.address, 100 + position});
    }
  }
  for (const StaticRoute& s : static_routes_) {
    if (const HostAddress* h = owner(s.gateway)) routes_.push_back({s.net, s.gateway, h->itf.address, 10});
  }
  std::stable_sort(routes_.begin(), routes_.end(), [](const Route& a, const Route& b) {
    if (a.net.prefix_len != b.net.prefix_len) return a.net.prefix_len > b.net.prefix_len;
    return a.metric < b.metric;
  });
}

}  // namespace ringstack::proto::ipv4
