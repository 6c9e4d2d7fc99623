// NeighbourLayer: the link-layer addresses of a shard's next hops. On the
// control shard (0): the ARP cache (RFC 826, with RFC 1122's probing of
// stale entries) and the ND neighbour cache (RFC 4861 7.3), the ARP packets
// that fill and answer them, and the packets parked while a neighbour is
// resolved (at most kParkedPerNeighbour each, the newest kept, as Linux's
// neighbour queue does). On the other shards: the neighbours of shard 0's
// latest snapshot, and packets parked while shard 0, asked by mail,
// resolves one they miss (for up to kParkTimeout).
//
// The ND messages themselves are IPv6's (ICMPv6 with hop limit 255, tied to
// DAD and router discovery): the IPv6 code hands this layer what they teach
// and sends the solicitations this layer asks for (NeighborSolicitor).
#ifndef RINGSTACK_ENGINE_NEIGHBOUR_LAYER_H_
#define RINGSTACK_ENGINE_NEIGHBOUR_LAYER_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "engine/counters.h"
#include "engine/deadline.h"
#include "engine/ip_output.h"
#include "engine/link_output.h"
#include "engine/shard_context.h"
#include "engine/shard_fabric.h"
#include "protocols/arp/arp_cache.h"
#include "protocols/arp/arp_repr.h"
#include "protocols/icmpv6/nd/nd_cache.h"
#include "rings/packet_pool.h"

namespace ringstack::engine {

// ARP's counters ("arp_<event>"; Address Conflict Detection's are the
// IPv4 side's).
struct ArpCounters {
  Counter rx_request;
  Counter rx_reply;
  Counter tx_request;
  Counter tx_reply;
  Counter tx_probe;        // unicast requests re-validating a stale entry
  Counter resolve_failed;  // neighbours that answered none of the requests
  Counter drop_cache_full;  // resolutions refused: --neighbour-cache entries in use
};

inline constexpr CounterField<ArpCounters> kArpCounterFields[] = {
    {"arp_rx_request", &ArpCounters::rx_request},
    {"arp_rx_reply", &ArpCounters::rx_reply},
    {"arp_tx_request", &ArpCounters::tx_request},
    {"arp_tx_reply", &ArpCounters::tx_reply},
    {"arp_resolve_failed", &ArpCounters::resolve_failed},
    {"arp_tx_probe", &ArpCounters::tx_probe},
    {"arp_drop_cache_full", &ArpCounters::drop_cache_full},
};

// The parked packets' fate, the ND cache's, and the shard's requests to
// shard 0.
struct NeighbourCounters {
  Counter drop_park_full;        // the oldest parked packet made room for a new one, or no room for a neighbour
  Counter drop_parked_at_stop;   // still parked when the engine stopped
  Counter ipv4_drop_unreachable;  // parked for an IPv4 neighbour that never answered
  Counter ipv6_drop_unreachable;  // the same for IPv6
  Counter nd_resolve_failed;     // IPv6 neighbours that answered no solicitation
  Counter nd_drop_cache_full;    // resolutions refused: --neighbour-cache entries in use
  Counter resolve_request;       // other shards: neighbours asked of shard 0
};

inline constexpr CounterField<NeighbourCounters> kNeighbourCounterFields[] = {
    {"neighbour_drop_park_full", &NeighbourCounters::drop_park_full},
    {"neighbour_drop_parked_at_stop", &NeighbourCounters::drop_parked_at_stop},
    {"ipv4_drop_neighbour_unreachable", &NeighbourCounters::ipv4_drop_unreachable},
    {"ipv6_drop_neighbour_unreachable", &NeighbourCounters::ipv6_drop_unreachable},
    {"nd_resolve_failed", &NeighbourCounters::nd_resolve_failed},
    {"nd_drop_cache_full", &NeighbourCounters::nd_drop_cache_full},
    {"shard_resolve_request", &NeighbourCounters::resolve_request},
};

// What the neighbour layer asks of IPv6: a Neighbor Solicitation for
// `target`, to its solicited-node group, or to `unicast` (RFC 4861 7.2.2,
// 7.3.3: a probe of a cached address).
class NeighborSolicitor {
 public:
  virtual void SolicitNeighbor(const proto::Ipv6Address& target, std::optional<proto::MacAddress> unicast) = 0;

 protected:
  ~NeighborSolicitor() = default;
};

class NeighbourLayer {
 public:
  NeighbourLayer(ShardContext& ctx, LinkOutput& link, IpOutput& ip, NeighborSolicitor& nd, CounterSet& counters);
  NeighbourLayer(const NeighbourLayer&) = delete;
  NeighbourLayer& operator=(const NeighbourLayer&) = delete;

  // `p` (a whole IPv4 or IPv6 datagram) to `next_hop` on the link: at once
  // when its address is known, else parked while it is resolved.
  void Send(rings::Packet p, proto::Ipv4Address next_hop);
  void Send(rings::Packet p, const proto::Ipv6Address& next_hop);

  // ARP (shard 0). Parse counts the drop or the request/reply; Receive
  // learns from a packet that is not about one of our own addresses (ACD
  // judges those) and answers a request for one of ours in `p` itself.
  std::optional<proto::arp::ArpRepr> ParseArp(const rings::Packet& p);
  void ReceiveArp(rings::Packet p, const proto::arp::ArpRepr& in);
  // An ARP packet of our own (a request, ACD's probe or announcement).
  void SendArp(const proto::arp::ArpRepr& arp, proto::MacAddress dst);

  // What ND messages teach (shard 0): a solicitation's or a redirect's
  // link-layer address, an advertisement, a router's advertisement.
  void LearnFromSolicitation(const proto::Ipv6Address& ip, std::optional<proto::MacAddress> ll);
  void LearnFromAdvertisement(const proto::Ipv6Address& target, std::optional<proto::MacAddress> ll, bool solicited,
                              bool override_flag, bool router);
  void LearnFromRouter(const proto::Ipv6Address& ip, std::optional<proto::MacAddress> ll);

  // Shard 0: another shard misses `ip`; what is known goes out with the
  // next snapshot (at once), else resolution starts.
  void Resolve(proto::Ipv4Address ip);
  void Resolve(const proto::Ipv6Address& ip);
  // Shard 0: the resolved neighbours into the snapshot it publishes.
  void FillSnapshot(NetSnapshot& s) const;
  // Other shards: shard 0's newest snapshot; parked packets for the
  // neighbours it knows go out.
  void OnSnapshot(std::shared_ptr<const NetSnapshot> snap);

  // A timer this layer armed (TimerLayer::kNeighbour) fired.
  void OnTimer(std::uint64_t value);
  // The engine stopped: parked packets are dropped (counted), so every
  // buffer is back in the pool when the counters are written.
  void DropHeld();

  const proto::arp::ArpCache& arp_cache() const { return arp_cache_; }
  const proto::nd::NdCache& nd_cache() const { return nd_cache_; }

 private:
  using Packet = rings::Packet;
  // Enough for a fragmented 64 KiB datagram (45 fragments) waiting on ARP;
  // --neighbour-pending may lower it.
  static constexpr std::size_t kParkedPerNeighbour = 48;
  static constexpr std::size_t kMaxParkedNeighbours = 256;
  // How long a shard other than 0 keeps packets for a neighbour shard 0 is
  // resolving: a little more than ARP's and ND's three 1-second tries.
  static constexpr Duration kParkTimeout = Duration::Seconds(4);
  enum Timer : std::uint64_t { kArpCache = 1, kNdCache = 2, kParked = 3 };
  struct Parked {
    std::array<Packet, kParkedPerNeighbour> packets;
    std::size_t count = 0;
    Instant since;  // when the first packet came (other shards time out on it)
  };
  template <typename Addr>
  using ParkedMap = absl::flat_hash_map<Addr, Parked>;

  // True when this opened the neighbour's entry (its first packet).
  template <typename Addr>
  bool Park(ParkedMap<Addr>& parked, const Addr& next_hop, Packet p);
  // The neighbour is known: its packets go (and, on shard 0, the snapshot
  // goes out at once: other shards may wait for it too).
  template <typename Addr>
  void Release(ParkedMap<Addr>& parked, const Addr& next_hop, proto::MacAddress mac);
  template <typename Addr>
  void DropUnreachable(ParkedMap<Addr>& parked, const Addr& next_hop);
  // Other shards: by the snapshot, or parked and asked of shard 0.
  template <typename Addr>
  void SendBySnapshot(Packet p, const Addr& next_hop);
  void ExpireParked();
  void SendArpRequest(proto::Ipv4Address target, std::optional<proto::MacAddress> unicast = std::nullopt);
  void OnArpCacheTimer();
  void OnNdCacheTimer();

  ShardContext& ctx_;
  LinkOutput& link_;
  IpOutput& ip_;
  NeighborSolicitor& nd_;
  proto::arp::ArpCache arp_cache_;
  proto::nd::NdCache nd_cache_;
  ParkedMap<proto::Ipv4Address> parked4_;
  ParkedMap<proto::Ipv6Address> parked6_;
  Deadline arp_deadline_;
  Deadline nd_deadline_;
  Deadline parked_deadline_;
  std::shared_ptr<const NetSnapshot> snap_;  // other shards
  DropCounters arp_drop_;
  ArpCounters arp_counters_;
  NeighbourCounters counters_;
};

}  // namespace ringstack::engine

#endif  // RINGSTACK_ENGINE_NEIGHBOUR_LAYER_H_
