#include "protocols/arp/arp_cache.h"

#include <vector>

namespace ringstack::proto::arp {

std::optional<MacAddress> ArpCache::Lookup(Ipv4Address ip, Instant now) const {
  const auto it = entries_.find(ip);
  if (it == entries_.end() || it->second.state != State::kReachable) return std::nullopt;
  if (it->second.deadline <= now) return std::nullopt;  // expired, OnTimer removes it
  return it->second.mac;
}

ArpCache::Resolve ArpCache::StartResolve(Ipv4Address ip, Instant now) {
  auto it = entries_.find(ip);
  if (it != entries_.end()) {
    if (it->second.state == State::kIncomplete) return Resolve::kAlreadyPending;
    // Expired reachable entry: resolve it afresh.
    entries_.erase(it);
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

void ArpCache::OnTimer(Instant now, absl::FunctionRef<void(Ipv4Address)> resend,
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
    if (e.state == State::kReachable) {
      entries_.erase(it++);
      continue;
    }
    if (e.requests_sent >= config_.max_requests) {
      const Ipv4Address ip = it->first;
      entries_.erase(it++);
      failed(ip);
      continue;
    }
    ++e.requests_sent;
    e.deadline = now + config_.retry_interval;
    NoteDeadline(e.deadline);
    resend(it->first);
    ++it;
  }
}

void ArpCache::ForEach(absl::FunctionRef<void(Ipv4Address, const Entry&)> fn) const {
  for (const auto& [ip, e] : entries_) fn(ip, e);
}

}  // namespace ringstack::proto::arp
