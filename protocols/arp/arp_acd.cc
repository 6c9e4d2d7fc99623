#include "protocols/arp/arp_acd.h"

#include <algorithm>

namespace ringstack::proto::arp {

const char* ConflictDetector::PhaseName(Phase p) {
  switch (p) {
    case Phase::kProbing: return "probing";
    case Phase::kAnnouncing: return "announcing";
    case Phase::kBound: return "bound";
    case Phase::kConflict: return "conflict";
  }
  return "?";
}

ConflictDetector::Address* ConflictDetector::FindAddress(Ipv4Address ip) {
  for (Address& a : addresses_) {
    if (a.ip == ip) return &a;
  }
  return nullptr;
}

void ConflictDetector::Start(Ipv4Address ip, Instant now) {
  Address* a = FindAddress(ip);
  if (a == nullptr) a = &addresses_.emplace_back();
  *a = Address{};
  a->ip = ip;
  // RFC 5227 2.1.1: "wait for a random time interval selected uniformly in
  // the range zero to PROBE_WAIT seconds".
  a->deadline = now + rng_.Uniform(Duration::Nanos(0), config_.probe_wait);
}

void ConflictDetector::Remove(Ipv4Address ip) {
  std::erase_if(addresses_, [ip](const Address& a) { return a.ip == ip; });
}

std::optional<ConflictDetector::Phase> ConflictDetector::phase(Ipv4Address ip) const {
  for (const Address& a : addresses_) {
    if (a.ip == ip) return a.phase;
  }
  return std::nullopt;
}

ConflictDetector::Seen ConflictDetector::OnArp(const ArpRepr& arp, Instant now) {
  Seen seen;
  if (arp.sha == my_mac_) return seen;  // our own packet, looped back
  for (Address& a : addresses_) {
    if (a.phase == Phase::kProbing) {
      // RFC 5227 2.1.1: "any ARP packet ... where the packet's 'sender IP
      // address' is the address being probed for", or "any ARP Probe where
      // the packet's 'target IP address' is the address being probed for,
      // and the packet's 'sender hardware address' is not the hardware
      // address of any of the host's interfaces".
      const bool taken = arp.spa == a.ip;
      const bool rival_probe = arp.oper == kOpRequest && arp.spa.IsUnspecified() && arp.tpa == a.ip;
      if (!taken && !rival_probe) continue;
      a.phase = Phase::kConflict;
      a.deadline = Instant::Never();
      return Seen{a.ip, Verdict::kConflict, arp.sha};
    }
    if ((a.phase == Phase::kAnnouncing || a.phase == Phase::kBound) && arp.spa == a.ip) {
      // RFC 5227 2.4 (b): defend once; a host that insists within
      // DEFEND_INTERVAL gets the address.
      if (!a.last_defended.IsNever() && now - a.last_defended < config_.defend_interval) {
        a.phase = Phase::kConflict;
        a.deadline = Instant::Never();
        return Seen{a.ip, Verdict::kConflict, arp.sha};
      }
      a.last_defended = now;
      return Seen{a.ip, Verdict::kDefend, arp.sha};
    }
  }
  return seen;
}

void ConflictDetector::OnTimer(Instant now, absl::FunctionRef<void(Ipv4Address, Send)> send,
                               absl::FunctionRef<void(Ipv4Address)> claimed) {
  for (Address& a : addresses_) {
    if (a.deadline.IsNever() || a.deadline > now) continue;
    if (a.phase == Phase::kProbing) {
      if (a.sent < config_.probe_num) {
        ++a.sent;
        send(a.ip, Send::kProbe);
        a.deadline = now + (a.sent < config_.probe_num ? rng_.Uniform(config_.probe_min, config_.probe_max)
                                                       : config_.announce_wait);
        continue;
      }
      // ANNOUNCE_WAIT after the last probe passed in silence: ours.
      a.phase = Phase::kAnnouncing;
      a.sent = 0;
      claimed(a.ip);
    }
    if (a.phase == Phase::kAnnouncing) {
      ++a.sent;
      send(a.ip, Send::kAnnouncement);
      if (a.sent < config_.announce_num) {
        a.deadline = now + config_.announce_interval;
      } else {
        a.phase = Phase::kBound;
        a.deadline = Instant::Never();
      }
    }
  }
}

Instant ConflictDetector::NextDeadline() const {
  Instant next = Instant::Never();
  for (const Address& a : addresses_) next = std::min(next, a.deadline);
  return next;
}

ArpRepr ConflictDetector::Probe(Ipv4Address ip) const {
  // RFC 5227 2.1.1: sender IP all zeroes, target hardware address zero.
  return ArpRepr{kOpRequest, my_mac_, Ipv4Address(), MacAddress(), ip};
}

ArpRepr ConflictDetector::Announcement(Ipv4Address ip) const {
  // RFC 5227 2.3: a probe with sender and target IP both the address.
  return ArpRepr{kOpRequest, my_mac_, ip, MacAddress(), ip};
}

}  // namespace ringstack::proto::arp
