#include "protocols/icmpv6/nd/nd_cache.h"

namespace ringstack::proto::nd {

const char* NdCache::StateName(State s) {
  switch (s) {
    case State::kIncomplete: return "incomplete";
    case State::kReachable: return "reachable";
    case State::kStale: return "stale";
    case State::kDelay: return "delay";
    case State::kProbe: return "probe";
  }
  return "?";
}

std::optional<MacAddress> NdCache::Use(const Ipv6Address& ip, Instant now) {
  const auto it = entries_.find(ip);
  if (it == entries_.end()) return std::nullopt;
  Entry& e = it->second;
  switch (e.state) {
    case State::kIncomplete:
      return std::nullopt;
    case State::kReachable:
      if (e.deadline > now) return e.mac;
      [[fallthrough]];  // its time passed, the timer has not run yet
    case State::kStale:
      // 7.3.3: "the first time a node sends a packet to a neighbor whose
      // entry is STALE, the sender changes the state to DELAY".
      e.state = State::kDelay;
      e.deadline = now + config_.delay_first_probe;
      Note(e.deadline);
      return e.mac;
    case State::kDelay:
    case State::kProbe:
      return e.mac;
  }
  return std::nullopt;
}

const NdCache::Entry* NdCache::Find(const Ipv6Address& ip) const {
  const auto it = entries_.find(ip);
  return it == entries_.end() ? nullptr : &it->second;
}

NdCache::Resolve NdCache::StartResolve(const Ipv6Address& ip, Instant now) {
  auto it = entries_.find(ip);
  if (it != entries_.end()) {
    if (it->second.state == State::kIncomplete) return Resolve::kAlreadyPending;
    entries_.erase(it);
  }
  if (entries_.size() >= config_.max_entries) return Resolve::kCacheFull;
  Entry e;
  e.state = State::kIncomplete;
  e.probes = 1;
  e.deadline = now + config_.retrans_timer;
  entries_.emplace(ip, e);
  Note(e.deadline);
  return Resolve::kSendSolicitation;
}

NdCache::Entry* NdCache::Stale(Entry& e, MacAddress mac, Instant now) {
  e.state = State::kStale;
  e.mac = mac;
  e.probes = 0;
  e.deadline = now + config_.stale_lifetime;
  Note(e.deadline);
  return &e;
}

bool NdCache::OnSolicitation(const Ipv6Address& src, std::optional<MacAddress> source_ll, Instant now) {
  if (src.IsUnspecified() || !source_ll) return false;
  auto it = entries_.find(src);
  if (it == entries_.end()) {
    if (entries_.size() >= config_.max_entries) return false;
    Stale(entries_[src], *source_ll, now);  // 7.2.3: a new entry is STALE
    return false;
  }
  Entry& e = it->second;
  const bool completed = e.state == State::kIncomplete;
  if (completed || e.mac != *source_ll) Stale(e, *source_ll, now);
  return completed;
}

bool NdCache::OnAdvertisement(const Ipv6Address& target, std::optional<MacAddress> target_ll, bool solicited,
                              bool override_flag, bool router, Instant now) {
  const auto it = entries_.find(target);
  if (it == entries_.end()) return false;  // 7.2.5: no entry, silently discarded
  Entry& e = it->second;
  if (e.state == State::kIncomplete) {
    if (!target_ll) return false;
    e.mac = *target_ll;
    e.is_router = router;
    e.probes = 0;
    if (solicited) {
      e.state = State::kReachable;
      e.deadline = now + config_.reachable_time;
      Note(e.deadline);
    } else {
      Stale(e, *target_ll, now);
    }
    return true;
  }
  const bool different = target_ll && *target_ll != e.mac;
  if (!override_flag && different) {
    // 7.2.5: a REACHABLE entry becomes STALE; nothing else changes.
    if (e.state == State::kReachable) {
      e.state = State::kStale;
      e.deadline = now + config_.stale_lifetime;
      Note(e.deadline);
    }
    return false;
  }
  if (target_ll) e.mac = *target_ll;
  e.is_router = router;
  if (solicited) {
    e.state = State::kReachable;
    e.probes = 0;
    e.deadline = now + config_.reachable_time;
    Note(e.deadline);
  } else if (different) {
    Stale(e, e.mac, now);
  }
  return false;
}

void NdCache::OnTimer(Instant now, absl::FunctionRef<void(const Ipv6Address&, std::optional<MacAddress>)> solicit,
                      absl::FunctionRef<void(const Ipv6Address&)> failed) {
  if (now < next_deadline_) return;
  next_deadline_ = Instant::Never();
  for (auto it = entries_.begin(); it != entries_.end();) {
    Entry& e = it->second;
    if (e.deadline > now) {
      Note(e.deadline);
      ++it;
      continue;
    }
    switch (e.state) {
      case State::kReachable:
        Stale(e, e.mac, now);
        ++it;
        continue;
      case State::kStale:
        entries_.erase(it++);
        continue;
      case State::kDelay:
        // 7.3.3: DELAY_FIRST_PROBE_TIME without confirmation: PROBE.
        e.state = State::kProbe;
        e.probes = 1;
        e.deadline = now + config_.retrans_timer;
        Note(e.deadline);
        solicit(it->first, e.mac);
        ++it;
        continue;
      case State::kIncomplete:
      case State::kProbe: {
        const bool probe = e.state == State::kProbe;
        if (e.probes >= (probe ? config_.max_unicast_solicit : config_.max_multicast_solicit)) {
          const Ipv6Address ip = it->first;
          entries_.erase(it++);
          failed(ip);
          continue;
        }
        ++e.probes;
        e.deadline = now + config_.retrans_timer;
        Note(e.deadline);
        solicit(it->first, probe ? std::optional<MacAddress>(e.mac) : std::nullopt);
        ++it;
        continue;
      }
    }
  }
}

}  // namespace ringstack::proto::nd
