// Worker: one protocol shard. Owns, without locks, everything its packets
// touch: for the control shard (0) that is the IPv4 and IPv6 addresses and
// routes (Ipv4Host, Ipv6Host), Address Conflict Detection, DHCP, the ARP and
// ND caches and the packets parked on them, reassembly, MLD; every shard has
// its transport layers (UdpLayer: the UDP sockets whose ports are steered to
// it; TcpLayer: the connections whose 4-tuples are, and every listener), its
// timing wheel and counters. The layers share the shard's ShardContext and
// send through the Worker's IpOutput; a fired timer goes to the layer its
// cookie names.
//
// Receive path: Ethernet -> ARP | IPv4 | IPv6 -> ICMP | UDP | TCP, using the
// pure parsers and handlers in protocols/; replies are built in place in the
// received buffer (headers prepended into its headroom) and pushed on this
// shard's TX ring. Malformed input is dropped and counted under
// "<proto>_drop_<reason>". Fragments are reassembled on the control shard and
// datagrams larger than the (path) MTU leave fragmented. Shards other than 0
// see only TCP/UDP (steered by flow or port) and send with what shard 0
// publishes through the ShardFabric (addresses, routes, neighbours, path
// MTUs) and ask shard 0 by mail to resolve a neighbour they miss, parking
// the packets meanwhile (for up to kParkTimeout).
#ifndef RINGSTACK_ENGINE_WORKER_H_
#define RINGSTACK_ENGINE_WORKER_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "engine/config.h"
#include "engine/counters.h"
#include "engine/deadline.h"
#include "engine/ip_output.h"
#include "engine/log.h"
#include "engine/protocol_counters.h"
#include "engine/shard_fabric.h"
#include "engine/shard_context.h"
#include "engine/stage.h"
#include "engine/tcp_layer.h"
#include "engine/timer_wheel.h"
#include "engine/udp_layer.h"
#include "engine/udp_socket.h"
#include "protocols/arp/arp_acd.h"
#include "protocols/arp/arp_cache.h"
#include "protocols/common/parse_error.h"
#include "protocols/dhcp4/dhcp4_client.h"
#include "protocols/icmpv6/icmpv6_repr.h"
#include "protocols/icmpv6/mld/mld_host.h"
#include "protocols/icmpv6/nd/nd_cache.h"
#include "protocols/ipv6/ipv6_ext.h"
#include "protocols/ipv6/ipv6_host.h"
#include "protocols/ipv6/ipv6_reassembly.h"
#include "protocols/ipv6/ipv6_repr.h"
#include "protocols/icmpv4/icmpv4_handler.h"
#include "protocols/ethernet/ethernet_repr.h"
#include "protocols/ipv4/ipv4_host.h"
#include "protocols/ipv4/ipv4_reassembly.h"
#include "protocols/ipv4/ipv4_repr.h"
#include "rings/packet_pool.h"
#include "rings/spsc_ring.h"

namespace ringstack::engine {

class Worker final : public Stage, private IpOutput {
 public:
  // `rx`: one ring from each RX stage (a TAP queue each).
  Worker(int shard, const Config& config, const Clock& clock, rings::PacketPool& pool,
         std::vector<rings::SpscRing<rings::Packet>*> rx, rings::SpscRing<rings::Packet>& tx, Doorbell& tx_doorbell,
         Doorbell& timer_doorbell, CounterSet& counters, ShardFabric& fabric, const Logger& logger);
  ~Worker() override;
  // The link completes partial checksums and cuts TCP super-segments
  // (Link::offload); set before the engine starts.
  void SetLinkOffload(bool on) { tcp_.SetLinkOffload(on); }
  // --tx-inline: write frames to `link` here when `outstanding` (this
  // worker's frames pushed to the TX ring and not yet written, counted
  // down by the TX stage) is 0; else push them as ever. Set before start.
  void SetInlineTx(Link* link, std::atomic<std::uint32_t>* outstanding) {
    inline_link_ = link;
    tx_outstanding_ = outstanding;
    // What the constructor already queued (DAD, MLD): no thread runs yet.
    tx_outstanding_->store(static_cast<std::uint32_t>(tx_.SizeApprox()), std::memory_order_relaxed);
  }
  // The engine stopped (threads joined): packets still waiting for a
  // neighbour are dropped (counted neighbour_drop_parked_at_stop), so every
  // buffer is back in the pool when the counters are written.
  void DropHeld();

  std::string_view name() const override { return name_; }
  std::size_t Poll(std::size_t budget) override;
  Instant NextDeadline() const override { return wheel_.NextExpiry(); }
  Instant WakeDeadline() const override { return Instant::Never(); }  // the TimerStage rings us

  // What the TimerStage reads: this shard's next timer, published after Poll.
  Instant published_deadline() const {
    return Instant::FromNanos(published_deadline_.load(std::memory_order_acquire));
  }
  int shard() const { return shard_; }
  const proto::arp::ArpCache& arp_cache() const { return arp_cache_; }
  const proto::nd::NdCache& nd_cache() const { return nd_cache_; }
  const proto::ipv4::Ipv4Host& ipv4_host() const { return host_; }
  const proto::ipv6::Ipv6Host& ipv6_host() const { return host6_; }
  // Fragments in reassembly (the control shard's; the others' stay empty).
  const proto::ipv4::Ipv4Reassembler& reassembler4() const { return reassembler_; }
  const proto::ipv6::Ipv6Reassembler& reassembler6() const { return reassembler6_; }
  // Where application threads queue socket requests for this shard (then
  // ring doorbell()).
  SocketInbox& socket_inbox() { return socket_inbox_; }
  // One line per TCP session this shard owns (state, sequence variables,
  // windows, timers), for the console and tests. The worker's thread only
  // (or a stopped engine).
  std::vector<std::string> TcpSessionLines() const { return tcp_.SessionLines(); }
  // What the console shows of this shard's sockets. The worker's thread only
  // (Engine::OnShard runs it there).
  std::vector<TcpSessionInfo> TcpSessions() const { return tcp_.Sessions(); }
  std::vector<UdpSocketInfo> UdpSockets() const { return udp_.Sockets(); }
  // Runs `fn` on this worker's thread at its next poll, so another thread
  // (the console) can read what only this thread may touch. `fn` must not
  // block; it runs even if the caller stopped waiting.
  void Inspect(std::function<void()> fn) {
    {
      std::lock_guard lock(inspect_mu_);
      inspect_.push_back(std::move(fn));
    }
    inspect_pending_.store(true, std::memory_order_release);
    doorbell().Ring();
  }

 private:
  using Packet = rings::Packet;
  // Enough for a fragmented 64 KiB datagram (45 fragments) waiting on ARP;
  // --neighbour-pending may lower it.
  static constexpr std::size_t kParkedPerNeighbour = 48;
  static constexpr std::size_t kMaxParkedNeighbours = 256;
  struct Parked {
    std::array<Packet, kParkedPerNeighbour> packets;
    std::size_t count = 0;
    Instant since;  // when the first packet came (other shards time out on it)
  };
  // How long a shard other than 0 keeps packets for a neighbour shard 0 is
  // resolving: a little more than ARP's and ND's three 1-second tries.
  static constexpr Duration kParkTimeout = Duration::Seconds(4);
  enum TimerKind : std::uint64_t { kTimerArpCache = 1, kTimerReassembly = 2, kTimerAcd = 3, kTimerDhcp = 4,
                                   kTimerIpv6Host = 5, kTimerNd = 6, kTimerMld = 7, kTimerReassembly6 = 8,
                                   kTimerPublish = 9, kTimerParked = 10 };  // TimerLayer::kShard's

  void Process(Packet p);
  void HandleArp(Packet p);
  void HandleIpv4(Packet p);
  void HandleIcmpv4(Packet p, const proto::ipv4::Ipv4Repr& ip, bool to_group);
  // RFC 1122 3.2.2: a Destination Unreachable about datagram `about` (whose
  // payload `p` holds), unless the rules or the rate limit forbid it.
  void SendDestUnreachable(std::uint8_t code, const proto::ipv4::Ipv4Repr& about, const Packet& p, bool to_group);
  // Sends `error_template` (type and code) quoting the datagram whose header
  // is `about` and whose payload starts with `head`; false when the rate
  // limit or the pool said no. The caller has checked ErrorAllowed.
  bool SendIcmpError(const proto::icmpv4::Icmpv4Repr& error_template, const proto::ipv4::Ipv4Repr& about,
                     proto::Bytes head);
  void OnReassemblyExpired(const proto::ipv4::Ipv4Reassembler::Expired& e);
  void OnIcmpError(const proto::icmpv4::Icmpv4Repr& msg);
  // Feeds a fragment to the reassembler; true (and `p`, `ip` replaced by the
  // whole datagram) when it completed one.
  bool Reassemble(Packet& p, proto::ipv4::Ipv4Repr& ip);
  // `p` holds the IPv4 payload; prepends the IPv4 and Ethernet headers,
  // fragmenting to the MTU when it must.
  void SendIpv4(Packet p, proto::Ipv4Address src, proto::Ipv4Address dst, std::uint8_t protocol);
  void SendFragments(const Packet& p, proto::ipv4::Ipv4Repr ip);
  // `p` is a whole IPv4 packet; resolves the next hop and sends or parks it.
  void SendToNextHop(Packet p, proto::Ipv4Address dst);
  void SendEthernet(Packet p, proto::MacAddress dst, std::uint16_t ethertype);
  void SendArpRequest(proto::Ipv4Address target, std::optional<proto::MacAddress> unicast = std::nullopt);
  void SendArp(const proto::arp::ArpRepr& arp, proto::MacAddress dst);
  void StartAcd();
  void OnAcdTimer();
  void OnAcdVerdict(const proto::arp::ConflictDetector::Seen& seen);
  void HandleUdp(Packet p, const proto::ipv4::Ipv4Repr& ip, bool to_group);
  // UDP over IPv6, the UDP header at `offset` in `p`.
  void HandleUdp6(Packet p, const proto::ipv6::Ipv6Repr& ip, std::size_t offset, bool multicast);
  // Shard 0, for a datagram it holds whose port another shard owns (after
  // reassembly or extension headers): mails it there; false when the port
  // is shard 0's own.
  bool ForwardUdp(Packet& p, std::uint16_t dst_port, ShardMessage&& m);
  // IpOutput, for the transport layers.
  void SendIp(Packet p, const proto::IpAddress& src, const proto::IpAddress& dst, std::uint8_t protocol,
              Path path) override;
  std::size_t PathMtu(const proto::IpAddress& dst) override;
  proto::IpAddress SourceFor(const proto::IpAddress& dst) const override;
  bool IsLocal(const proto::IpAddress& addr) const override;
  // The fabric (shard_fabric.h): mail in, the snapshot published (shard 0)
  // or taken (the others), neighbours resolved through shard 0.
  void ServeMail();
  void MaybePublish();
  void PublishSnapshot();
  void RefreshSnapshot();
  // Other shards: send `p` to `next_hop` by the snapshot's neighbours, or
  // park it and ask shard 0.
  template <typename Addr>
  void SendBySnapshot(Packet p, const Addr& next_hop);
  void ExpireParked();
  // The socket inbox: requests to the UDP or TCP layer, sockets with
  // something to send.
  std::size_t ServeSockets(std::size_t budget);
  // Sends what the DHCP client asks and applies its lease events to host_.
  void ApplyDhcp(const proto::dhcp4::Dhcp4Client::Outcome& out);
  void SendDhcp(const proto::dhcp4::Dhcp4Client::Transmit& t);
  // Packets waiting on a neighbour's resolution, IPv4 (ARP) or IPv6 (ND):
  // at most kParkedPerNeighbour each, the oldest dropped first, for at most
  // kMaxParkedNeighbours neighbours. True when this opened the neighbour's
  // entry (its first packet).
  template <typename Addr>
  bool ParkIn(absl::flat_hash_map<Addr, Parked>& parked, const Addr& next_hop, Packet p);
  template <typename Addr>
  void ReleaseFrom(absl::flat_hash_map<Addr, Parked>& parked, const Addr& next_hop, proto::MacAddress mac,
                   std::uint16_t ethertype);
  void Park(proto::Ipv4Address next_hop, Packet p) { ParkIn(parked_, next_hop, std::move(p)); }
  // On shard 0 a neighbour was just resolved: other shards may be waiting
  // for it too, so the snapshot goes out at once.
  void ReleaseParked(proto::Ipv4Address next_hop, proto::MacAddress mac) {
    publish_now_ = true;
    ReleaseFrom(parked_, next_hop, mac, proto::ethernet::kEtherTypeIpv4);
  }
  void DropParked(proto::Ipv4Address next_hop);
  // A fired timer: to the layer its cookie names, or one of the shard's own.
  void OnTimer(std::uint64_t cookie);
  void OnArpCacheTimer();
  void OnNdTimer();
  void Log(Subsystem subsystem, LogLevel level, std::string_view text) const {
    logger_.Log(subsystem, level, text);
  }
  bool LogEnabled(Subsystem subsystem, LogLevel level) const { return logger_.Enabled(subsystem, level); }
  bool WantedMulticast(const proto::MacAddress& mac) const;

  // IPv6 (worker_ipv6.cc), on the control shard.
  void StartIpv6();
  void HandleIpv6(Packet p);
  // After the extension headers: the upper layer at `ext.offset` in `p`.
  void DeliverIpv6(Packet p, const proto::ipv6::Ipv6Repr& ip, const proto::ipv6::ExtOutcome& ext);
  void Reassemble6(Packet p, const proto::ipv6::Ipv6Repr& ip, const proto::ipv6::Fragment& frag);
  void OnReassembly6Expired(const proto::ipv6::Ipv6Reassembler::Expired& e);
  void OnPacketTooBig(proto::Bytes body);
  void OnDestUnreachable6(std::uint8_t code, proto::Bytes body);
  void AnswerEcho6(Packet p, const proto::ipv6::Ipv6Repr& ip);
  std::size_t PathMtu6(const proto::Ipv6Address& dst);
  void HandleIcmpv6(Packet p, const proto::ipv6::Ipv6Repr& ip, bool router_alert);
  void HandleNeighborSolicitation(const proto::ipv6::Ipv6Repr& ip, proto::Bytes body);
  void HandleNeighborAdvertisement(const proto::ipv6::Ipv6Repr& ip, proto::Bytes body);
  void HandleRouterAdvertisement(const proto::ipv6::Ipv6Repr& ip, proto::Bytes body);
  void HandleMldQuery(const proto::ipv6::Ipv6Repr& ip, proto::Bytes body, bool router_alert);
  void ApplyIpv6(proto::ipv6::Ipv6Host::Events ev);
  // `p` holds an ICMPv6 message body after a 4-byte header gap: fills the
  // header (checksum over src, dst) and sends it.
  void SendIcmpv6(Packet p, std::uint8_t type, std::uint8_t code, const proto::Ipv6Address& src,
                  const proto::Ipv6Address& dst, std::uint8_t hop_limit = proto::ipv6::kDefaultHopLimit,
                  bool router_alert = false);
  // `p` holds the IPv6 payload; prepends the header and sends it on.
  void SendIpv6(Packet p, const proto::ipv6::Ipv6Repr& header);
  void SendToNextHop6(Packet p, const proto::Ipv6Address& dst);
  void SendNeighborSolicitation(const proto::Ipv6Address& target, const proto::Ipv6Address& src,
                                std::optional<proto::MacAddress> unicast);
  void SendMldReport(const std::vector<proto::mld::Record>& records);
  void SendIcmpv6Error(std::uint8_t type, std::uint8_t code, std::uint32_t pointer, const Packet& invoking,
                       const proto::ipv6::Ipv6Repr& ip, bool to_multicast);
  // The same with the invoking packet given whole (header included).
  void SendIcmpv6ErrorQuoting(std::uint8_t type, std::uint8_t code, std::uint32_t pointer, proto::Bytes invoking,
                              const proto::Ipv6Address& to, const proto::Ipv6Address& from);
  void Park6(const proto::Ipv6Address& next_hop, Packet p) { ParkIn(parked6_, next_hop, std::move(p)); }
  void ReleaseParked6(const proto::Ipv6Address& next_hop, proto::MacAddress mac) {
    publish_now_ = true;
    ReleaseFrom(parked6_, next_hop, mac, proto::ethernet::kEtherTypeIpv6);
  }
  void RearmIpv6Timers();

  const int shard_;
  const std::string name_;
  const Config& config_;
  const Logger& logger_;
  const Clock& clock_;
  rings::PacketPool& pool_;
  std::vector<rings::SpscRing<rings::Packet>*> rx_;
  rings::SpscRing<rings::Packet>& tx_;
  Doorbell& tx_doorbell_;
  Doorbell& timer_doorbell_;
  Instant now_;
  TimerWheel wheel_;
  bool tx_pushed_ = false;
  Link* inline_link_ = nullptr;
  std::atomic<std::uint32_t>* tx_outstanding_ = nullptr;
  // Set while a frame that must go through the TX thread
  // (IpOutput::Path::kTxThread) is sent.
  bool via_tx_thread_ = false;
  std::uint16_t next_ident_;

  proto::ipv4::Ipv4Host host_;
  proto::arp::ConflictDetector acd_;
  Deadline acd_deadline_{wheel_, kTimerAcd};
  std::optional<proto::dhcp4::Dhcp4Client> dhcp_;  // shard 0 with --dhcp4
  std::optional<proto::Ipv4Interface> dhcp_address_;  // the address it gave (or is checking)
  Deadline dhcp_deadline_{wheel_, kTimerDhcp};
  SocketInbox socket_inbox_{256};
  proto::ipv6::Ipv6Host host6_;
  proto::nd::NdCache nd_cache_;
  proto::mld::MldHost mld_;
  absl::flat_hash_map<proto::Ipv6Address, Parked> parked6_;
  proto::ipv6::Ipv6Reassembler reassembler6_;
  Deadline reassembly6_deadline_{wheel_, kTimerReassembly6};
  std::uint64_t evicted6_seen_ = 0;
  std::uint32_t next_ident6_;
  // Path MTUs learnt from Packet Too Big (RFC 8201), for 10 minutes each
  // (other shards: shard 0's, from the snapshot).
  absl::flat_hash_map<proto::Ipv6Address, PathMtuEntry> pmtu_;
  Deadline host6_deadline_{wheel_, kTimerIpv6Host};
  Deadline nd_deadline_{wheel_, kTimerNd};
  Deadline mld_deadline_{wheel_, kTimerMld};
  proto::arp::ArpCache arp_cache_;
  absl::flat_hash_map<proto::Ipv4Address, Parked> parked_;
  Deadline arp_deadline_{wheel_, kTimerArpCache};
  proto::ipv4::Ipv4Reassembler reassembler_;
  proto::icmpv4::ErrorRateLimiter error_limiter_;
  Deadline reassembly_deadline_{wheel_, kTimerReassembly};
  std::atomic<std::int64_t> published_deadline_{Instant::Never().nanos()};
  ShardFabric& fabric_;
  // Shard 0: something the snapshot shows may have changed; publish at the
  // next poll at least kPublishGap after the last (at once when a shard
  // asked for a neighbour).
  static constexpr Duration kPublishGap = Duration::Millis(1);
  bool net_dirty_ = true;
  bool publish_now_ = false;
  Instant last_publish_;
  TimerWheel::TimerId publish_timer_, parked_timer_;
  bool publish_timer_armed_ = false, parked_timer_armed_ = false;
  // Other shards: the snapshot in use.
  std::shared_ptr<const NetSnapshot> snap_;
  std::uint64_t snap_generation_ = 0;
  std::atomic<bool> inspect_pending_{false};
  std::mutex inspect_mu_;
  std::vector<std::function<void()>> inspect_;

  DropCounters eth_drop_, arp_drop_, ipv4_drop_, icmp4_drop_, icmp4_quote_drop_, dhcp4_drop_;
  DropCounters ipv6_drop_, ipv6_ext_drop_, icmp6_drop_, nd_drop_, mld_drop_;
  std::array<Counter*, 6> ipv4_frag_drop_{};  // by Ipv4Reassembler::Drop
  std::uint64_t evicted_seen_ = 0;
  std::array<Counter*, 6> ipv6_frag_drop_{};  // by ReassemblyDrop
  EthCounters eth_counters_;
  ArpCounters arp_counters_;
  Ipv4Counters ipv4_counters_;
  NeighbourCounters neighbour_counters_;
  NdCounters nd_counters_;
  Icmp4Counters icmp4_counters_;
  Dhcp4Counters dhcp4_counters_;
  Ipv6Counters ipv6_counters_;
  Icmp6Counters icmp6_counters_;
  MldCounters mld_counters_;
  ShardCounters shard_counters_;
  ShardContext ctx_;
  UdpLayer udp_;
  TcpLayer tcp_;
};

}  // namespace ringstack::engine

#endif  // RINGSTACK_ENGINE_WORKER_H_
