// ArpCache: IPv4 -> Ethernet address mappings for one interface (RFC 826,
// RFC 1122 2.3.2.1), as a neighbour state machine in the manner of RFC 4861
// 7.3.2 and Linux's neighbour table. A plain state class: events and `now`
// in, decisions out. Never reads a clock; not thread-safe (one owner, the
// control shard).
//
//   Incomplete  a broadcast request is out; retried every `retry_interval`
//               up to `max_requests` times, then the entry fails (removed,
//               the caller drops what waited on it).
//   Reachable   confirmed by an ARP packet from the neighbour within
//               `reachable_time`; used as is.
//   Stale       reachable_time passed without confirmation. Still used, but
//               the first use sends a unicast request to the cached address
//               and moves the entry to Probe. Removed when unused for
//               `stale_lifetime`.
//   Probe       unicast requests every `retry_interval`, up to `max_probes`;
//               an answer makes it Reachable, silence removes it.
//
// Any ARP packet from a known neighbour (requests, replies, gratuitous ARP
// announcements) updates its entry (RFC 826 merge); an unknown sender is
// added only when the packet was for one of our addresses. Bounded at
// `max_entries`: a full cache refuses new entries rather than evicting live
// ones.
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
  Duration reachable_time = Duration::Seconds(30);
  Duration stale_lifetime = Duration::Seconds(60);
  Duration retry_interval = Duration::Seconds(1);
  int max_requests = 3;  // broadcast, while incomplete
  int max_probes = 3;    // unicast, in probe
  std::size_t max_entries = 1024;
};

class ArpCache {
 public:
  enum class State { kIncomplete, kReachable, kStale, kProbe };
  static const char* StateName(State s);
  struct Entry {
    State state = State::kIncomplete;
    MacAddress mac;
    int requests_sent = 0;
    Instant deadline;  // next retry (incomplete, probe), stale (reachable) or removal (stale)
  };

  explicit ArpCache(const ArpCacheConfig& config = {}) : config_(config) {}

  struct Hit {
    MacAddress mac;
    bool send_probe = false;  // a stale entry was used: send a unicast request to `mac` now
  };
  // The MAC to send to `ip` by, if the entry has one (reachable, stale or
  // probe); using a stale entry starts its probe.
  std::optional<Hit> Use(Ipv4Address ip, Instant now);
  // The MAC without side effects (for display and tests).
  std::optional<MacAddress> Peek(Ipv4Address ip) const;
  const Entry* Find(Ipv4Address ip) const;

  enum class Resolve { kSendRequest, kAlreadyPending, kCacheFull };
  // After a Use miss: opens an incomplete entry (kSendRequest: send the
  // first request now) or reports one already open.
  Resolve StartResolve(Ipv4Address ip, Instant now);

  // RFC 826 "Packet Reception": if the sender is known, its entry is updated
  // (merge) and becomes reachable; if not and `for_me` (the target is one of
  // our addresses), it is added. Returns true when this completed an
  // incomplete entry, so packets waiting on it can go.
  bool OnArp(const ArpRepr& arp, bool for_me, Instant now);

  // Work due at `now`: `request(ip, unicast)` for each entry due another
  // request (broadcast when `unicast` is empty, else to that MAC),
  // `failed(ip)` for each incomplete or probe entry that ran out of requests
  // (removed). Reachable entries age to stale; unused stale ones go.
  void OnTimer(Instant now, absl::FunctionRef<void(Ipv4Address, std::optional<MacAddress>)> request,
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
