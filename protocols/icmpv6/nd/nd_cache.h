// NdCache: the IPv6 neighbour cache as RFC 4861 7.3.2's state machine, a
// plain state class (events and `now` in, decisions out; one owner).
//
//   INCOMPLETE  multicast NS sent; retried every RetransTimer up to
//               MAX_MULTICAST_SOLICIT, then the entry fails.
//   REACHABLE   confirmed (solicited NA) within ReachableTime.
//   STALE       unconfirmed; still used, and the first use starts DELAY.
//   DELAY       DELAY_FIRST_PROBE_TIME for upper layers to confirm, then
//   PROBE       unicast NS every RetransTimer up to MAX_UNICAST_SOLICIT,
//               then the entry is removed.
// NS with a source link-layer option and unsolicited NAs update entries by
// 7.2.3 and 7.2.5 (the S, O and R flags). Unused STALE entries are removed
// after `stale_lifetime`. Bounded at `max_entries`.
#ifndef RINGSTACK_PROTOCOLS_ICMPV6_ND_ND_CACHE_H_
#define RINGSTACK_PROTOCOLS_ICMPV6_ND_ND_CACHE_H_

#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "protocols/common/address.h"
#include "protocols/common/time.h"

namespace ringstack::proto::nd {

struct NdCacheConfig {  // RFC 4861 10 constants
  Duration reachable_time = Duration::Seconds(30);
  Duration retrans_timer = Duration::Seconds(1);
  Duration delay_first_probe = Duration::Seconds(5);
  int max_multicast_solicit = 3;
  int max_unicast_solicit = 3;
  Duration stale_lifetime = Duration::Seconds(600);
  std::size_t max_entries = 1024;
};

class NdCache {
 public:
  enum class State { kIncomplete, kReachable, kStale, kDelay, kProbe };
  static const char* StateName(State s);
  struct Entry {
    State state = State::kIncomplete;
    MacAddress mac;
    bool is_router = false;
    int probes = 0;
    Instant deadline;
  };

  explicit NdCache(const NdCacheConfig& config = {}) : config_(config) {}

  // The MAC to send by (REACHABLE, STALE, DELAY, PROBE); a STALE entry
  // moves to DELAY.
  std::optional<MacAddress> Use(const Ipv6Address& ip, Instant now);
  const Entry* Find(const Ipv6Address& ip) const;

  enum class Resolve { kSendSolicitation, kAlreadyPending, kCacheFull };
  Resolve StartResolve(const Ipv6Address& ip, Instant now);

  // 7.2.3: an NS from `src` (not ::) with its link-layer address. True when
  // it completed an INCOMPLETE entry.
  bool OnSolicitation(const Ipv6Address& src, std::optional<MacAddress> source_ll, Instant now);
  // 7.2.5: an NA for `target`. True when it completed an INCOMPLETE entry.
  bool OnAdvertisement(const Ipv6Address& target, std::optional<MacAddress> target_ll, bool solicited,
                       bool override_flag, bool router, Instant now);
  // A Router Advertisement's source link-layer address (6.3.4): like an NS.
  bool OnRouterAdvertisement(const Ipv6Address& src, std::optional<MacAddress> source_ll, Instant now) {
    return OnSolicitation(src, source_ll, now);
  }

  // Work due: `solicit(ip, unicast)` (multicast to the solicited-node group
  // when `unicast` is empty), `failed(ip)` when an entry gives up.
  void OnTimer(Instant now, absl::FunctionRef<void(const Ipv6Address&, std::optional<MacAddress>)> solicit,
               absl::FunctionRef<void(const Ipv6Address&)> failed);
  Instant NextDeadline() const { return next_deadline_; }
  std::size_t size() const { return entries_.size(); }
  void ForEach(absl::FunctionRef<void(const Ipv6Address&, const Entry&)> fn) const {
    for (const auto& [ip, e] : entries_) fn(ip, e);
  }

 private:
  void Note(Instant t) {
    if (t < next_deadline_) next_deadline_ = t;
  }
  Entry* Stale(Entry& e, MacAddress mac, Instant now);

  NdCacheConfig config_;
  absl::flat_hash_map<Ipv6Address, Entry> entries_;
  Instant next_deadline_ = Instant::Never();
};

}  // namespace ringstack::proto::nd

#endif  // RINGSTACK_PROTOCOLS_ICMPV6_ND_ND_CACHE_H_
