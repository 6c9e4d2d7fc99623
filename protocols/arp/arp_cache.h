// ArpCache: IPv4 -> Ethernet address mappings for one interface (RFC 826,
// RFC 1122 2.3.2). A plain state class: events and `now` in, decisions out.
//
// Entries are Incomplete (a request is out; retried every `retry_interval`
// up to `max_requests` times, then the entry fails) or Reachable (learned from
// an ARP packet; usable until `reachable_time` passes without a refresh).
// Bounded at `max_entries`: a full cache refuses new incomplete entries
// rather than evicting live ones. Never reads a clock; not thread-safe (one
// owner, the control shard).
#ifndef RINGSTACK_PROTOCOLS_ARP_ARP_CACHE_H_
#define RINGSTACK_PROTOCOLS_ARP_ARP_CACHE_H_

#include <cstddef>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "protocols/arp/arp_repr.h"
#include "protocols/common/time.h"

namespace ringstack::proto::arp {

struct ArpCacheConfig {
  Duration reachable_time = Duration::Seconds(60);
  Duration retry_interval = Duration::Seconds(1);
  int max_requests = 3;
  std::size_t max_entries = 1024;
};

class ArpCache {
 public:
  enum class State { kIncomplete, kReachable };
  struct Entry {
    State state = State::kIncomplete;
    MacAddress mac;
    int requests_sent = 0;
    Instant deadline;  // next retry (incomplete) or expiry (reachable)
  };

  explicit ArpCache(const ArpCacheConfig& config = {}) : config_(config) {}

  // The MAC for `ip` if a reachable entry holds one.
  std::optional<MacAddress> Lookup(Ipv4Address ip, Instant now) const;

  enum class Resolve { kSendRequest, kAlreadyPending, kCacheFull };
  // After a Lookup miss: opens an incomplete entry (kSendRequest: send the
  // first request now) or reports one already open.
  Resolve StartResolve(Ipv4Address ip, Instant now);

  // RFC 826 "Packet Reception": if the sender is known, its entry is updated
  // (merge); if not and `for_me` (the target is one of our addresses), it is
  // added. Returns true when this completed an incomplete entry, so packets
  // waiting on it can go.
  bool OnArp(const ArpRepr& arp, bool for_me, Instant now);

  // Retries and expiries due at `now`: `resend(ip)` for each incomplete entry
  // due another request, `failed(ip)` for each that ran out of requests
  // (removed). Expired reachable entries are removed.
  void OnTimer(Instant now, absl::FunctionRef<void(Ipv4Address)> resend,
               absl::FunctionRef<void(Ipv4Address)> failed);
  // The earliest time OnTimer has work; Instant::Never() when none.
  Instant NextDeadline() const { return next_deadline_; }

  std::size_t size() const { return entries_.size(); }
  void ForEach(absl::FunctionRef<void(Ipv4Address, const Entry&)> fn) const;

 private:
  void NoteDeadline(Instant t) {
    if (t < next_deadline_) next_deadline_ = t;
  }

  ArpCacheConfig config_;
  absl::flat_hash_map<Ipv4Address, Entry> entries_;
  Instant next_deadline_ = Instant::Never();
};

}  // namespace ringstack::proto::arp

#endif  // RINGSTACK_PROTOCOLS_ARP_ARP_CACHE_H_
