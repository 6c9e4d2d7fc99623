// Ipv6Layer: IPv6 on one shard. Receiving: the datagrams for this host's
// addresses and joined groups, through the extension headers (RFC 8200
// 4), reassembled on the control shard (4.5), handed to ICMPv6, UDP or TCP.
// ICMPv6 (RFC 4443): echo answered, errors (rules of 2.4, rate limited)
// sent and passed to the UDP sockets they concern, Packet Too Big lowering
// the path MTU (RFC 8201). Sending: the header, fragments to the path MTU,
// the next hop by the routing table, handed to the neighbour layer. On the
// control shard the addresses and routers (Ipv6Host: DAD, SLAAC, router
// discovery, RFC 4861/4862), the ND messages (ipv6_nd.cc: what they teach
// goes to the neighbour layer) and MLDv2 (RFC 3810) are this layer's; the
// other shards hold shard 0's, from its snapshot.
#ifndef RINGSTACK_ENGINE_IPV6_LAYER_H_
#define RINGSTACK_ENGINE_IPV6_LAYER_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "engine/counters.h"
#include "engine/deadline.h"
#include "engine/link_output.h"
#include "engine/neighbour_layer.h"
#include "engine/protocol_counters.h"
#include "engine/shard_context.h"
#include "engine/shard_fabric.h"
#include "engine/tcp_layer.h"
#include "engine/udp_layer.h"
#include "protocols/icmpv4/icmpv4_handler.h"
#include "protocols/icmpv6/mld/mld_host.h"
#include "protocols/ipv6/ipv6_ext.h"
#include "protocols/ipv6/ipv6_host.h"
#include "protocols/ipv6/ipv6_reassembly.h"
#include "protocols/ipv6/ipv6_repr.h"
#include "rings/packet_pool.h"

namespace ringstack::engine {

class Ipv6Layer {
 public:
  // `seed`: the host's jitter seed (DAD, MLD), the same for the same MAC.
  Ipv6Layer(ShardContext& ctx, LinkOutput& link, NeighbourLayer& neighbours, UdpLayer& udp, TcpLayer& tcp,
            CounterSet& counters, std::uint64_t seed);
  Ipv6Layer(const Ipv6Layer&) = delete;
  Ipv6Layer& operator=(const Ipv6Layer&) = delete;

  // Shard 0 with --ipv6: the link-local address, then the configured ones,
  // all through DAD; the configured router.
  void Start();
  // `p` holds an IPv6 datagram (the Ethernet header gone).
  void Receive(rings::Packet p);
  // UDP, the header at `offset` in `p` (mailed here by shard 0, as Receive
  // hands one on).
  void ReceiveUdp(rings::Packet p, const proto::ipv6::Ipv6Repr& ip, std::size_t offset, bool multicast);
  // `p` holds the IPv6 payload; `header` says from, to and what (its
  // payload length is set here); fragments to the path MTU when it must.
  void Send(rings::Packet p, const proto::ipv6::Ipv6Repr& header);
  // The path MTU toward `dst`: the link's, or what a Packet Too Big said
  // (for ten minutes).
  std::size_t PathMtu(const proto::Ipv6Address& dst);
  // A Neighbor Solicitation for the neighbour layer (resolution, NUD).
  void SolicitNeighbor(const proto::Ipv6Address& target, std::optional<proto::MacAddress> unicast) {
    SendNeighborSolicitation(target, host_.SourceFor(target), unicast);
  }
  // A timer this layer armed (TimerLayer::kIpv6) fired.
  void OnTimer(std::uint64_t value);
  // Other shards: shard 0's addresses, routes and path MTUs.
  void OnSnapshot(const NetSnapshot& snap) {
    host_ = snap.host6;
    pmtu_ = snap.pmtu;
  }

  const proto::ipv6::Ipv6Host& host() const { return host_; }
  const PathMtuCache<proto::Ipv6Address>& pmtu() const { return pmtu_; }
  const proto::ipv6::Ipv6Reassembler& reassembler() const { return reassembler_; }

 private:
  using Packet = rings::Packet;
  enum Timer : std::uint64_t { kHost = 1, kMld = 2, kReassembly = 3 };

  // After the extension headers: the upper layer at `ext.offset` in `p`.
  void Deliver(Packet p, const proto::ipv6::Ipv6Repr& ip, const proto::ipv6::ExtOutcome& ext);
  void Reassemble(Packet p, const proto::ipv6::Ipv6Repr& ip, const proto::ipv6::Fragment& frag);
  void OnReassemblyExpired(const proto::ipv6::Ipv6Reassembler::Expired& e);
  void ReceiveIcmp(Packet p, const proto::ipv6::Ipv6Repr& ip, bool router_alert);
  void OnPacketTooBig(proto::Bytes body);
  void OnDestUnreachable(std::uint8_t code, proto::Bytes body);
  void AnswerEcho(Packet p, const proto::ipv6::Ipv6Repr& ip);
  // `p` holds an ICMPv6 message body after a 4-byte header gap: fills the
  // header (checksum over src, dst) and sends it.
  void SendIcmp(Packet p, std::uint8_t type, std::uint8_t code, const proto::Ipv6Address& src,
                const proto::Ipv6Address& dst, std::uint8_t hop_limit = proto::ipv6::kDefaultHopLimit,
                bool router_alert = false);
  void SendToNextHop(Packet p, const proto::Ipv6Address& dst);
  // An error about `invoking` (the payload after header `ip`).
  void SendError(std::uint8_t type, std::uint8_t code, std::uint32_t pointer, const Packet& invoking,
                 const proto::ipv6::Ipv6Repr& ip, bool to_multicast);
  // The same with the invoking packet given whole (header included).
  void SendErrorQuoting(std::uint8_t type, std::uint8_t code, std::uint32_t pointer, proto::Bytes invoking,
                        const proto::Ipv6Address& to, const proto::Ipv6Address& from);

  // Addresses, ND and MLD (ipv6_nd.cc).
  void Apply(proto::ipv6::Ipv6Host::Events ev);
  void RearmTimers();
  void HandleNeighborSolicitation(const proto::ipv6::Ipv6Repr& ip, proto::Bytes body);
  void HandleNeighborAdvertisement(const proto::ipv6::Ipv6Repr& ip, proto::Bytes body);
  void HandleRouterAdvertisement(const proto::ipv6::Ipv6Repr& ip, proto::Bytes body);
  void HandleRedirect(const proto::ipv6::Ipv6Repr& ip, proto::Bytes body);
  void HandleMldQuery(const proto::ipv6::Ipv6Repr& ip, proto::Bytes body, bool router_alert);
  void SendMldReport(const std::vector<proto::mld::Record>& records);
  void SendNeighborSolicitation(const proto::Ipv6Address& target, const proto::Ipv6Address& src,
                                std::optional<proto::MacAddress> unicast);
  void SendRouterSolicitation();

  ShardContext& ctx_;
  LinkOutput& link_;
  NeighbourLayer& neighbours_;
  UdpLayer& udp_;
  TcpLayer& tcp_;
  proto::ipv6::Ipv6Host host_;
  proto::mld::MldHost mld_;
  proto::ipv6::Ipv6Reassembler reassembler_;
  std::uint64_t evicted_seen_ = 0;
  std::uint32_t next_ident_;
  proto::icmpv4::ErrorRateLimiter error_limiter_;  // RFC 4443 2.4 (f)
  // Path MTUs learnt from Packet Too Big (RFC 8201), for 10 minutes each
  // (other shards: shard 0's, from the snapshot).
  PathMtuCache<proto::Ipv6Address> pmtu_;
  Deadline host_deadline_;
  Deadline mld_deadline_;
  Deadline reassembly_deadline_;
  DropCounters drop_, ext_drop_, icmp_drop_, nd_drop_, mld_drop_;
  FragDropCounters frag_drop_;
  Ipv6Counters counters_;
  Icmp6Counters icmp_counters_;
  NdCounters nd_counters_;
  MldCounters mld_counters_;
};

}  // namespace ringstack::engine

#endif  // RINGSTACK_ENGINE_IPV6_LAYER_H_
