// ShardFabric: what the control shard (0) shares with the other worker
// shards, and how shards talk to each other (DESIGN.md, "The packet's way").
//
// Shard 0 alone owns addresses, routes and the neighbour caches. It
// publishes an immutable NetSnapshot of what the others need to send —
// IPv4/IPv6 addresses and routes, the neighbours that have a MAC, path MTUs —
// whenever that changes (at most once a millisecond unless a shard waits on a
// resolution), and rings every other shard. A shard reads the generation
// number each poll (one relaxed load) and takes the new snapshot only when it
// moved.
//
// Mail: each shard has a bounded mailbox of ShardMessages, for the rare
// traffic between shards: a resolve request to shard 0 when a neighbour is
// not in the snapshot (the sender parks its packets meanwhile), an ICMP
// error for a socket another shard owns, and a datagram shard 0 reassembled
// (or found behind IPv6 extension headers) for a port another shard owns.
// Producers serialise on the mailbox's mutex; the owning shard pops without
// it. A full mailbox refuses (the caller counts the drop). Not moodycamel
// with producer tokens: its explicit producers each reserve blocks for the
// whole capacity, so shards x shards tokens of a 200-byte message would cost
// hundreds of megabytes at 64 workers for traffic this rare; the mutex is
// uncontended in practice.
#ifndef RINGSTACK_ENGINE_SHARD_FABRIC_H_
#define RINGSTACK_ENGINE_SHARD_FABRIC_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "engine/clock.h"
#include "engine/doorbell.h"
#include "protocols/common/address.h"
#include "protocols/common/ecn.h"
#include "protocols/common/endpoint.h"
#include "protocols/ipv4/ipv4_host.h"
#include "protocols/ipv4/ipv4_repr.h"
#include "engine/path_mtu_cache.h"
#include "engine/random_secret.h"
#include "engine/tcp_fastopen_cache.h"
#include "protocols/ipv6/ipv6_host.h"
#include "protocols/ipv6/ipv6_repr.h"
#include "protocols/udp/udp_bindings.h"
#include "rings/packet_pool.h"
#include "rings/spsc_ring.h"

namespace ringstack::engine {

struct NetSnapshot {
  std::uint64_t generation = 0;
  proto::ipv4::Ipv4Host host4;
  proto::ipv6::Ipv6Host host6;
  // Neighbours with a link-layer address (reachable, stale, delay, probe).
  absl::flat_hash_map<proto::Ipv4Address, proto::MacAddress> arp;
  absl::flat_hash_map<proto::Ipv6Address, proto::MacAddress> nd;
  PathMtuCache<proto::Ipv6Address> pmtu;
  PathMtuCache<proto::Ipv4Address> pmtu4;
};

struct ShardMessage {
  enum class Kind {
    kResolve4,     // to shard 0: find `addr`'s MAC (then a new snapshot)
    kResolve6,
    kSocketError,  // to a socket's shard: `error` for (local, remote)
    kUdp4,         // to a port's shard: `packet` holds the UDP datagram, `ip4` its header
    kUdp6,         // the same over IPv6: the UDP header at `offset`
    kTcp,          // to a flow's shard: `packet` holds the TCP segment from remote.addr to local.addr
    kPathMtu,      // to a flow's shard: the path from local to remote takes `mtu`, about our segment at `seq`
    kTcpUnreachable,  // to a flow's shard: a destination unreachable about our segment at `seq`
  };
  Kind kind = Kind::kResolve4;
  proto::IpAddress addr;
  proto::Endpoint local, remote;
  int error = 0;
  rings::Packet packet;
  proto::ipv4::Ipv4Repr ip4;
  proto::ipv6::Ipv6Repr ip6;
  std::size_t offset = 0;
  bool group = false;
  proto::IpEcn ecn = proto::IpEcn::kNotEct;  // kTcp: the IP header's ECN field
  std::uint32_t mtu = 0, seq = 0;            // kPathMtu (seq: kTcpUnreachable too)
};

class ShardFabric {
 public:
  static constexpr std::size_t kMailboxDepth = 1024;

  explicit ShardFabric(int shards) : fastopen_(RandomSecret()) {
    for (int k = 0; k < shards; ++k) mail_.push_back(std::make_unique<Mailbox>());
    doorbells_.assign(static_cast<std::size_t>(shards), nullptr);
  }
  ShardFabric(const ShardFabric&) = delete;
  ShardFabric& operator=(const ShardFabric&) = delete;

  int shards() const { return static_cast<int>(mail_.size()); }
  // TCP Fast Open's cookie secret and client cookie cache, one for all shards.
  FastOpenShared& fastopen() { return fastopen_; }
  void SetDoorbell(int shard, Doorbell* d) { doorbells_[static_cast<std::size_t>(shard)] = d; }

  // Shard 0: makes `s` the current snapshot (its generation is set here)
  // and rings every other shard.
  void Publish(NetSnapshot s) {
    auto next = std::make_shared<NetSnapshot>(std::move(s));
    {
      std::lock_guard lock(snapshot_mu_);
      next->generation = generation_.load(std::memory_order_relaxed) + 1;
      snapshot_ = std::move(next);
      generation_.store(snapshot_->generation, std::memory_order_release);
    }
    for (std::size_t k = 1; k < doorbells_.size(); ++k) {
      if (doorbells_[k] != nullptr) doorbells_[k]->Ring();
    }
  }
  std::uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  // The current snapshot (null before the first Publish). Any thread.
  std::shared_ptr<const NetSnapshot> Load() const {
    std::lock_guard lock(snapshot_mu_);
    return snapshot_;
  }

  // Any thread: queues `m` for `shard` and rings it; false when its mailbox
  // is full (`m` is then dropped, its packet back to the pool).
  bool Post(int shard, ShardMessage m) {
    Mailbox& box = *mail_[static_cast<std::size_t>(shard)];
    {
      std::lock_guard lock(box.mu);
      if (!box.ring.TryPush(std::move(m))) return false;
    }
    if (Doorbell* d = doorbells_[static_cast<std::size_t>(shard)]; d != nullptr) d->Ring();
    return true;
  }
  // The owning shard only.
  bool TryTake(int shard, ShardMessage& out) { return mail_[static_cast<std::size_t>(shard)]->ring.TryPop(out); }
  bool MailPending(int shard) const { return !mail_[static_cast<std::size_t>(shard)]->ring.EmptyApprox(); }

 private:
  struct Mailbox {
    std::mutex mu;  // producers
    rings::SpscRing<ShardMessage> ring{kMailboxDepth};
  };
  FastOpenShared fastopen_;
  mutable std::mutex snapshot_mu_;
  std::shared_ptr<const NetSnapshot> snapshot_;
  std::atomic<std::uint64_t> generation_{0};
  std::vector<std::unique_ptr<Mailbox>> mail_;
  std::vector<Doorbell*> doorbells_;
};

}  // namespace ringstack::engine

#endif  // RINGSTACK_ENGINE_SHARD_FABRIC_H_
