// PathMtuCache: the path MTUs an IP layer learnt from ICMP (IPv4's
// Fragmentation Needed, RFC 1191; IPv6's Packet Too Big, RFC 8201), per
// destination, each for ten minutes (RFC 1191 6.3, RFC 8201 5.3). A report
// only ever lowers an entry (RFC 1191 6.3, RFC 8201 5.4); the cache is
// bounded (full, a new destination empties it: the entries are relearnt on
// demand). The control shard owns it and its snapshot carries a copy to
// the other shards, which drop expired entries on their own.
#ifndef RINGSTACK_ENGINE_PATH_MTU_CACHE_H_
#define RINGSTACK_ENGINE_PATH_MTU_CACHE_H_

#include <cstddef>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "protocols/common/time.h"

namespace ringstack::engine {

// A path MTU valid until `until`. `df`: IPv4 TCP segments to it go with
// Don't Fragment (not when the path reported an MTU below 552, Linux's
// min_pmtu: then they go at 552 and may be fragmented on the way).
struct PathMtuEntry {
  std::size_t mtu;
  proto::Instant until;
  bool df = true;
};

template <typename Address>
class PathMtuCache {
 public:
  static constexpr std::size_t kMaxEntries = 1024;
  static constexpr proto::Duration kLifetime = proto::Duration::Seconds(600);

  // The live entry for `dst` (an expired one goes).
  std::optional<PathMtuEntry> Find(const Address& dst, proto::Instant now) {
    if (map_.empty()) return std::nullopt;  // the common case: no lookup
    const auto it = map_.find(dst);
    if (it == map_.end()) return std::nullopt;
    if (it->second.until <= now) {
      map_.erase(it);
      return std::nullopt;
    }
    return it->second;
  }
  // `dst`'s path takes `mtu` from `now` on; true when that is below
  // `current` (the MTU in use toward it) and the entry changed.
  bool Lower(const Address& dst, std::size_t mtu, std::size_t current, proto::Instant now, bool df = true) {
    if (mtu >= current) return false;
    if (map_.size() >= kMaxEntries && !map_.contains(dst)) map_.clear();
    map_[dst] = PathMtuEntry{mtu, now + kLifetime, df};
    return true;
  }

 private:
  absl::flat_hash_map<Address, PathMtuEntry> map_;
};

}  // namespace ringstack::engine

#endif  // RINGSTACK_ENGINE_PATH_MTU_CACHE_H_
