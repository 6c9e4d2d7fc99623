#include "protocols/udp/udp_bindings.h"

#include <algorithm>
#include <cerrno>

#include "absl/hash/hash.h"

namespace ringstack::proto::udp {
namespace {

bool Wildcard(const Endpoint& e) { return e.addr.IsUnspecified(); }

}  // namespace

bool UdpBindings::Conflicts(const Binding& a, const Binding& b) const {
  if (a.local.port != b.local.port) return false;
  if (a.opt.reuse_addr && b.opt.reuse_addr) return false;
  // Families overlap when they are the same, or one is a dual-stack IPv6
  // wildcard (it takes IPv4 too).
  const bool a4 = !a.local.addr.is_v6() || (Wildcard(a.local) && !a.opt.v6only);
  const bool b4 = !b.local.addr.is_v6() || (Wildcard(b.local) && !b.opt.v6only);
  const bool a6 = a.local.addr.is_v6();
  const bool b6 = b.local.addr.is_v6();
  if (!((a4 && b4) || (a6 && b6))) return false;
  if (Wildcard(a.local) || Wildcard(b.local)) return true;
  return a.local.addr == b.local.addr;
}

bool UdpBindings::PortFree(const Binding& candidate) const {
  const auto it = by_port_.find(candidate.local.port);
  if (it == by_port_.end()) return true;
  return std::none_of(it->second.begin(), it->second.end(),
                      [&](SocketId other) { return Conflicts(candidate, sockets_.at(other)); });
}

int UdpBindings::Bind(SocketId s, Endpoint local, const BindOptions& opt,
                      absl::FunctionRef<bool(std::uint16_t)> port_ok) {
  if (sockets_.contains(s)) return EINVAL;  // already bound
  if (local.addr.is_v6() != opt.v6) return EAFNOSUPPORT;
  Binding b{local, std::nullopt, opt};
  if (local.port == 0) {
    // RFC 6056 3.3.3: offset = F(local address, secret), then a counter.
    const std::uint32_t span = std::uint32_t{last_} - first_ + 1;
    const auto offset = static_cast<std::uint32_t>(absl::HashOf(secret_, local.addr) % span);
    bool found = false;
    for (std::uint32_t tried = 0; tried < span && !found; ++tried) {
      const auto port = static_cast<std::uint16_t>(first_ + (offset + next_ephemeral_++) % span);
      if (!port_ok(port)) continue;
      b.local.port = port;
      found = PortFree(b);
    }
    if (!found) return EADDRINUSE;  // Linux's answer when the range is used up
  } else if (!PortFree(b)) {
    return EADDRINUSE;
  }
  sockets_.emplace(s, b);
  by_port_[b.local.port].push_back(s);
  return 0;
}

int UdpBindings::Connect(SocketId s, const Endpoint& remote) {
  const auto it = sockets_.find(s);
  if (it == sockets_.end()) return EINVAL;
  if (remote.addr.is_v6() != it->second.local.addr.is_v6() || remote.port == 0) return EINVAL;
  it->second.peer = remote;
  return 0;
}

void UdpBindings::Close(SocketId s) {
  const auto it = sockets_.find(s);
  if (it == sockets_.end()) return;
  auto& list = by_port_[it->second.local.port];
  std::erase(list, s);
  if (list.empty()) by_port_.erase(it->second.local.port);
  sockets_.erase(it);
}

std::optional<Endpoint> UdpBindings::local(SocketId s) const {
  const auto it = sockets_.find(s);
  if (it == sockets_.end()) return std::nullopt;
  return it->second.local;
}

std::optional<Endpoint> UdpBindings::peer(SocketId s) const {
  const auto it = sockets_.find(s);
  if (it == sockets_.end()) return std::nullopt;
  return it->second.peer;
}

int UdpBindings::Match(const Binding& b, const Endpoint& dst, const Endpoint& src) {
  if (b.peer && !(*b.peer == src)) return 0;  // connected elsewhere
  int score = b.peer ? 8 : 0;
  if (!Wildcard(b.local)) {
    if (!(b.local.addr == dst.addr)) return 0;
    return score + 4;
  }
  if (b.local.addr.is_v6() == dst.addr.is_v6()) return score + 2;
  // An IPv4 datagram reaches an IPv6 wildcard socket unless it is v6only.
  if (b.local.addr.is_v6() && !dst.addr.is_v6() && !b.opt.v6only) return score + 1;
  return 0;
}

std::optional<SocketId> UdpBindings::Lookup(const Endpoint& dst, const Endpoint& src) const {
  const auto it = by_port_.find(dst.port);
  if (it == by_port_.end()) return std::nullopt;
  std::optional<SocketId> best;
  int best_score = 0;
  for (SocketId s : it->second) {
    const int score = Match(sockets_.at(s), dst, src);
    if (score > best_score) {
      best = s;
      best_score = score;
    }
  }
  return best;
}

void UdpBindings::LookupAll(const Endpoint& dst, const Endpoint& src, absl::FunctionRef<void(SocketId)> each) const {
  const auto it = by_port_.find(dst.port);
  if (it == by_port_.end()) return;
  for (SocketId s : it->second) {
    // A group or broadcast destination matches wildcard sockets (and ones
    // bound to that group address).
    const Binding& b = sockets_.at(s);
    if (b.peer && !(*b.peer == src)) continue;
    if (!Wildcard(b.local) && !(b.local.addr == dst.addr)) continue;
    if (Wildcard(b.local) && b.local.addr.is_v6() != dst.addr.is_v6() && (b.opt.v6only || dst.addr.is_v6())) {
      continue;
    }
    each(s);
  }
}

}  // namespace ringstack::proto::udp
