#include "protocols/arp/arp_cache.h"

namespace ringstack::proto::arp {

const char* ArpCache::StateName(State s) {
  switch (s) {
    case State::kIncomplete: return "incomplete";
    case State::kReachable: return "reachable";
    case State::kStale: return "stale";
    case State::kProbe: return "probe";
  }
  return "?";
}

std::optional<ArpCache::Hit> ArpCache::Use(Ipv4Address ip, Instant now) {
  const auto it = entries_.find(ip);
  if (it == entries_.end()) return std::nullopt;
  Entry& e = it->second;
  switch (e.state) {
    case State::kIncomplete:
      return std::nullopt;
    case State::kReachable:
      if (e.deadline > now) return Hit{e.mac, false};
      [[fallthrough]];  // past its time but the timer has not run yet: stale
    case State::kStale:
      // RFC 1122 2.3.2.1 / RFC 4861 7.3.3: keep sending, and verify by unicast.
      e.state = State::kProbe;
      e.requests_sent = 1;
      e.deadline = now + config_.retry_interval;
      NoteDeadline(e.deadline);
      return Hit{e.mac, true};
    case State::kProbe:
      return Hit{e.mac, false};
  }
  return std::nullopt;
}

std::optional<MacAddress> ArpCache::Peek(Ipv4Address ip) const {
  const Entry* e = Find(ip);
  if (e == nullptr || e->state == State::kIncomplete) return std::nullopt;
  return e->mac;
}

const ArpCache::Entry* ArpCache::Find(Ipv4Address ip) const {
  const auto it = entries_.find(ip);
  return it == entries_.end() ? nullptr : &it->second;
}

ArpCache::Resolve ArpCache::StartResolve(Ipv4Address ip, Instant now) {
  auto it = entries_.find(ip);
  if (it != entries_.end()) {
    if (it->second.state == State::kIncomplete) return Resolve::kAlreadyPending;
    entries_.erase(it);  // Use would have answered from it; resolve afresh
  }
  if (entries_.size() >= config_.max_entries) return Resolve::kCacheFull;
  Entry e;
  e.state = State::kIncomplete;
  e.requests_sent = 1;
  e.deadline = now + config_.retry_interval;
  entries_.emplace(ip, e);
  NoteDeadline(e.deadline);
  return Resolve::kSendRequest;
}

bool ArpCache::OnArp(const ArpRepr& arp, bool for_me, Instant now) {
  // An ARP probe (RFC 5227) has no sender protocol address to learn.
  if (arp.spa.IsUnspecified()) return false;
  auto it = entries_.find(arp.spa);
  bool completed = false;
  if (it != entries_.end()) {
    completed = it->second.state == State::kIncomplete;
  } else {
    if (!for_me || entries_.size() >= config_.max_entries) return false;
    it = entries_.emplace(arp.spa, Entry{}).first;
  }
  it->second.state = State::kReachable;
  it->second.mac = arp.sha;
  it->second.requests_sent = 0;
  it->second.deadline = now + config_.reachable_time;
  NoteDeadline(it->second.deadline);
  return completed;
}

void ArpCache::OnTimer(Instant now, absl::FunctionRef<void(Ipv4Address, std::optional<MacAddress>)> request,
                       absl::FunctionRef<void(Ipv4Address)> failed) {
  if (now < next_deadline_) return;
  next_deadline_ = Instant::Never();
  for (auto it = entries_.begin(); it != entries_.end();) {
    Entry& e = it->second;
    if (e.deadline > now) {
      NoteDeadline(e.deadline);
      ++it;
      continue;
    }
    switch (e.state) {
      case State::kReachable:
        e.state = State::kStale;
        e.deadline = now + config_.stale_lifetime;
        NoteDeadline(e.deadline);
        ++it;
        continue;
      case State::kStale:
        entries_.erase(it++);
        continue;
      case State::kIncomplete:
      case State::kProbe: {
        const bool probe = e.state == State::kProbe;
        if (e.requests_sent >= (probe ? config_.max_probes : config_.max_requests)) {
          const Ipv4Address ip = it->first;
          entries_.erase(it++);
          failed(ip);
          continue;
        }
        ++e.requests_sent;
        e.deadline = now + config_.retry_interval;
        NoteDeadline(e.deadline);
        request(it->first, probe ? std::optional<MacAddress>(e.mac) : std::nullopt);
        ++it;
        continue;
      }
    }
  }
}

void ArpCache::ForEach(absl::FunctionRef<void(Ipv4Address, const Entry&)> fn) const {
  for (const auto& [ip, e] : entries_) fn(ip, e);
}

}  // namespace ringstack::proto::arp
