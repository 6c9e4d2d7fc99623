// What every shard shares for TCP Fast Open (RFC 7413): the server's cookie
// secret, drawn once so that a cookie made on one shard opens on another,
// and the client's cookie cache (4.1.3.1): per server address, the cookie
// it gave and the MSS it offered, or that Fast Open to it is off for a
// while because a SYN with data went unanswered (4.1.3.2; Linux backs off
// the same way). Touched at connect and SYN-ACK time only, under a mutex;
// bounded (a full cache forgets an entry to take a new one).
#ifndef RINGSTACK_ENGINE_TCP_FASTOPEN_CACHE_H_
#define RINGSTACK_ENGINE_TCP_FASTOPEN_CACHE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "protocols/common/address.h"
#include "protocols/common/time.h"
#include "protocols/tcp/tcp_connection.h"

namespace ringstack::engine {

class FastOpenShared {
 public:
  static constexpr std::size_t kCapacity = 4096;
  static constexpr Duration kBackoff = Duration::Seconds(300);

  explicit FastOpenShared(const std::array<std::byte, 16>& secret) : secret_(secret) {}
  const std::array<std::byte, 16>& secret() const { return secret_; }

  // An active open to `server` with `queued` bytes waiting: what its SYN
  // carries, or none when Fast Open to it is off for now (a plain SYN).
  std::optional<proto::tcp::FastOpenConnect> ForConnect(const proto::IpAddress& server, std::uint32_t queued,
                                                        proto::Instant now) {
    std::lock_guard lock(mu_);
    proto::tcp::FastOpenConnect fo;
    fo.queued = queued;
    if (const auto it = cache_.find(server); it != cache_.end()) {
      if (now < it->second.off_until) return std::nullopt;
      fo.cookie = it->second.cookie;
      fo.mss = it->second.mss;
    }
    return fo;
  }
  // What a connection's handshake showed of `server`.
  void Learn(const proto::IpAddress& server, const proto::tcp::TcpConnection::FastOpenInfo& info, std::uint16_t mss,
             proto::Instant now) {
    std::lock_guard lock(mu_);
    if (!cache_.contains(server) && cache_.size() >= kCapacity) cache_.erase(cache_.begin());
    Entry& e = cache_[server];
    if (info.received) e.cookie = info.received;
    e.mss = mss;
    // Data in a SYN that had to go again: the path (or the server) may drop
    // such SYNs.
    if (info.syn_data != 0 && info.syn_resent && !info.data_acked) e.off_until = now + kBackoff;
  }
  // The SYN with data went unanswered to the end.
  void Failed(const proto::IpAddress& server, proto::Instant now) {
    std::lock_guard lock(mu_);
    if (!cache_.contains(server) && cache_.size() >= kCapacity) cache_.erase(cache_.begin());
    cache_[server].off_until = now + kBackoff;
  }
  std::size_t size() const {
    std::lock_guard lock(mu_);
    return cache_.size();
  }

 private:
  struct Entry {
    std::optional<proto::tcp::FastOpenCookie> cookie;
    std::uint16_t mss = 0;
    proto::Instant off_until;
  };
  const std::array<std::byte, 16> secret_;
  mutable std::mutex mu_;
  absl::flat_hash_map<proto::IpAddress, Entry> cache_;
};

}  // namespace ringstack::engine

#endif  // RINGSTACK_ENGINE_TCP_FASTOPEN_CACHE_H_
