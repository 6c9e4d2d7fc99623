// Ipv4Layer: IPv4 on one shard. Receiving: the datagrams for this host's
// addresses (and broadcast, all-hosts), reassembled from fragments on the
// control shard (RFC 791 3.2), handed to ICMPv4, UDP or TCP. ICMPv4 (RFC
// 792, RFC 1122 3.2.2): echo answered, errors passed to the UDP sockets
// they concern, Destination Unreachable and Time Exceeded sent within the
// rules and a rate limit. Sending: the header, fragments to the MTU, the
// next hop by the routing table, handed to the neighbour layer. On the
// control shard the addresses and routes (Ipv4Host) are this layer's:
// configured ones claimed by Address Conflict Detection (RFC 5227), and the
// DHCPv4 client's (RFC 2131), which sits on UDP port 68 here; the other
// shards hold shard 0's, from its snapshot.
#ifndef RINGSTACK_ENGINE_IPV4_LAYER_H_
#define RINGSTACK_ENGINE_IPV4_LAYER_H_

#include <array>
#include <cstdint>
#include <optional>

#include "engine/counters.h"
#include "engine/deadline.h"
#include "engine/link_output.h"
#include "engine/neighbour_layer.h"
#include "engine/path_mtu_cache.h"
#include "engine/protocol_counters.h"
#include "engine/shard_context.h"
#include "engine/tcp_layer.h"
#include "engine/udp_layer.h"
#include "protocols/arp/arp_acd.h"
#include "protocols/arp/arp_repr.h"
#include "protocols/dhcp4/dhcp4_client.h"
#include "protocols/icmpv4/icmpv4_handler.h"
#include "protocols/icmpv4/icmpv4_repr.h"
#include "protocols/ipv4/ipv4_host.h"
#include "protocols/ipv4/ipv4_reassembly.h"
#include "protocols/ipv4/ipv4_repr.h"
#include "rings/packet_pool.h"

namespace ringstack::engine {

class Ipv4Layer {
 public:
  // `seed`: the host's jitter seed (ACD, DHCP), the same for the same MAC.
  Ipv4Layer(ShardContext& ctx, LinkOutput& link, NeighbourLayer& neighbours, UdpLayer& udp, TcpLayer& tcp,
            CounterSet& counters, std::uint64_t seed);
  Ipv4Layer(const Ipv4Layer&) = delete;
  Ipv4Layer& operator=(const Ipv4Layer&) = delete;

  // Shard 0: the configured addresses and routes, ACD's probes, DHCP.
  void Start();
  // `p` holds an IPv4 datagram (the Ethernet header gone).
  void Receive(rings::Packet p);
  // `p` holds a UDP datagram whose IP header was `ip` (mailed here by shard
  // 0 after reassembly, as Receive hands one on).
  void ReceiveUdp(rings::Packet p, const proto::ipv4::Ipv4Repr& ip, bool to_group);
  // `p` holds the IPv4 payload; the header goes in front, fragments when
  // it must, and the next hop is resolved.
  void Send(rings::Packet p, proto::Ipv4Address src, proto::Ipv4Address dst, std::uint8_t protocol,
            std::uint8_t tos = 0);
  // An ARP packet, before the neighbour layer learns from it: ACD (shard 0)
  // judges a claim on one of our addresses; false when it is about one of
  // ours (it teaches the cache nothing and gets no reply).
  bool JudgeArp(const proto::arp::ArpRepr& in);
  // A timer this layer armed (TimerLayer::kIpv4) fired.
  void OnTimer(std::uint64_t value);
  // Other shards: shard 0's addresses and routes from its snapshot; the
  // connections of an address gone or given up since go too.
  void OnSnapshot(const proto::ipv4::Ipv4Host& host, const PathMtuCache<proto::Ipv4Address>& pmtu);
  // The path MTU toward `dst`: the link's, or less where a Fragmentation
  // Needed said so (for ten minutes).
  std::size_t PathMtu(proto::Ipv4Address dst);
  const PathMtuCache<proto::Ipv4Address>& pmtu() const { return pmtu_; }

  const proto::ipv4::Ipv4Host& host() const { return host_; }
  const proto::ipv4::Ipv4Reassembler& reassembler() const { return reassembler_; }

 private:
  using Packet = rings::Packet;
  enum Timer : std::uint64_t { kReassembly = 1, kAcd = 2, kDhcp = 3 };

  void ReceiveIcmp(Packet p, const proto::ipv4::Ipv4Repr& ip, bool to_group);
  void OnIcmpError(const proto::icmpv4::Icmpv4Repr& msg);
  // RFC 1191: the path to the quoted datagram's destination is narrower.
  void OnFragmentationNeeded(const proto::icmpv4::ErrorReport& report);
  // Feeds a fragment to the reassembler; true (and `p`, `ip` replaced by
  // the whole datagram) when it completed one.
  bool Reassemble(Packet& p, proto::ipv4::Ipv4Repr& ip);
  void OnReassemblyExpired(const proto::ipv4::Ipv4Reassembler::Expired& e);
  // RFC 1122 3.2.2: a Destination Unreachable about datagram `about`
  // (whose payload `p` holds), unless the rules or the rate limit forbid it.
  void SendDestUnreachable(std::uint8_t code, const proto::ipv4::Ipv4Repr& about, const Packet& p, bool to_group);
  // Sends `error` (type and code) quoting the datagram whose header is
  // `about` and whose payload starts with `head`; false when the rate limit
  // or the pool said no. The caller has checked ErrorAllowed.
  bool SendIcmpError(const proto::icmpv4::Icmpv4Repr& error, const proto::ipv4::Ipv4Repr& about,
                     proto::Bytes head);
  void SendFragments(const Packet& p, proto::ipv4::Ipv4Repr ip, std::size_t mtu);
  // `p` is a whole IPv4 datagram for `dst`: broadcast, multicast, or by the
  // routing table to the neighbour layer.
  void SendToNextHop(Packet p, proto::Ipv4Address dst);

  // Address configuration (ipv4_config.cc): ACD and the DHCPv4 client.
  void StartAcd();
  void OnAcdTimer();
  void OnAcdVerdict(const proto::arp::ConflictDetector::Seen& seen);
  void OnDhcpMessage(proto::Bytes payload);
  // Sends what the DHCP client asks and applies its lease events to host_.
  void ApplyDhcp(const proto::dhcp4::Dhcp4Client::Outcome& out);
  void SendDhcp(const proto::dhcp4::Dhcp4Client::Transmit& t);
  // The lease's address leaves host_ (and ACD).
  void DropDhcpAddress();

  ShardContext& ctx_;
  LinkOutput& link_;
  NeighbourLayer& neighbours_;
  UdpLayer& udp_;
  TcpLayer& tcp_;
  const std::uint64_t seed_;
  proto::ipv4::Ipv4Host host_;
  proto::arp::ConflictDetector acd_;
  std::optional<proto::dhcp4::Dhcp4Client> dhcp_;     // shard 0 with --dhcp4
  std::optional<proto::Ipv4Interface> dhcp_address_;  // the address it gave (or is checking)
  proto::ipv4::Ipv4Reassembler reassembler_;
  std::uint64_t evicted_seen_ = 0;
  proto::icmpv4::ErrorRateLimiter error_limiter_;
  std::uint16_t next_ident_;
  PathMtuCache<proto::Ipv4Address> pmtu_;
  Deadline reassembly_deadline_;
  Deadline acd_deadline_;
  Deadline dhcp_deadline_;
  DropCounters drop_, icmp_drop_, icmp_quote_drop_, dhcp_drop_;
  FragDropCounters frag_drop_;
  Ipv4Counters counters_;
  Icmp4Counters icmp_counters_;
  Dhcp4Counters dhcp_counters_;
  AcdCounters acd_counters_;
};

}  // namespace ringstack::engine

#endif  // RINGSTACK_ENGINE_IPV4_LAYER_H_
