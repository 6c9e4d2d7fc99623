// Worker: one protocol shard, a thin one. It owns its rings (RX from each
// RX stage, TX to the TX stage, or the link itself with --tx-inline), its
// timing wheel, the socket inbox, the fabric to the other shards
// (snapshots and mail) and the dispatch: Ethernet frames to its protocol
// layers, fired timers to the layer whose cookie it is (TimerLayer). The
// layers (NeighbourLayer, Ipv4Layer, Ipv6Layer, UdpLayer, TcpLayer) own the
// protocol state, counters and deadlines; they share the shard's
// ShardContext and send through the Worker's LinkOutput and IpOutput.
//
// The control shard (0) holds the addresses and routes, ACD, DHCP, the
// neighbour caches, reassembly, ND and MLD, and publishes what the others
// need through the ShardFabric (addresses, routes, neighbours, path MTUs);
// the other shards see only TCP and UDP (steered by flow or port), send by
// shard 0's latest snapshot and ask shard 0 by mail to resolve a neighbour
// they miss. Malformed input is dropped and counted under
// "<proto>_drop_<reason>".
#ifndef RINGSTACK_ENGINE_WORKER_H_
#define RINGSTACK_ENGINE_WORKER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/config.h"
#include "engine/counters.h"
#include "engine/ip_output.h"
#include "engine/ipv4_layer.h"
#include "engine/ipv6_layer.h"
#include "engine/link_output.h"
#include "engine/log.h"
#include "engine/neighbour_layer.h"
#include "engine/protocol_counters.h"
#include "engine/shard_context.h"
#include "engine/shard_fabric.h"
#include "engine/stage.h"
#include "engine/tcp_layer.h"
#include "engine/timer_wheel.h"
#include "engine/udp_layer.h"
#include "engine/udp_socket.h"
#include "rings/packet_pool.h"
#include "rings/spsc_ring.h"

namespace ringstack::engine {

class Worker final : public Stage, private IpOutput, private LinkOutput, private NeighborSolicitor {
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
  const proto::arp::ArpCache& arp_cache() const { return neighbours_.arp_cache(); }
  const proto::nd::NdCache& nd_cache() const { return neighbours_.nd_cache(); }
  const proto::ipv4::Ipv4Host& ipv4_host() const { return ipv4_.host(); }
  const proto::ipv6::Ipv6Host& ipv6_host() const { return ipv6_.host(); }
  // Fragments in reassembly (the control shard's; the others' stay empty).
  const proto::ipv4::Ipv4Reassembler& reassembler4() const { return ipv4_.reassembler(); }
  const proto::ipv6::Ipv6Reassembler& reassembler6() const { return ipv6_.reassembler(); }
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

  // Ethernet: the frame's type to its layer (ARP through ACD's judgement
  // to the neighbour layer).
  void Process(Packet p);
  void HandleArp(Packet p);
  // Multicast filtering below IP, as a NIC's filter would.
  bool WantedMulticast(const proto::MacAddress& mac) const;
  // LinkOutput: the frame to the link, or to the TX stage's ring.
  void SendEthernet(Packet p, proto::MacAddress dst, std::uint16_t ethertype) override;
  // NeighborSolicitor, for the neighbour layer: IPv6 sends it.
  void SolicitNeighbor(const proto::Ipv6Address& target, std::optional<proto::MacAddress> unicast) override {
    ipv6_.SolicitNeighbor(target, unicast);
  }
  // IpOutput, for the transport layers: to the IPv4 or IPv6 layer.
  void SendIp(Packet p, const proto::IpAddress& src, const proto::IpAddress& dst, std::uint8_t protocol,
              Path path, std::uint8_t tos) override;
  std::size_t PathMtu(const proto::IpAddress& dst) override;
  proto::IpAddress SourceFor(const proto::IpAddress& dst) const override;
  bool IsLocal(const proto::IpAddress& addr) const override;
  // The fabric (shard_fabric.h, worker_fabric.cc): mail in, the snapshot
  // published (shard 0) or taken (the others).
  void ServeMail();
  void MaybePublish();
  void PublishSnapshot();
  void RefreshSnapshot();
  // The socket inbox: requests to the UDP or TCP layer, sockets with
  // something to send.
  std::size_t ServeSockets(std::size_t budget);
  // A fired timer, to the layer its cookie names (TimerLayer).
  void OnTimer(std::uint64_t cookie);

  const int shard_;
  const std::string name_;
  const Config& config_;
  const Clock& clock_;
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

  SocketInbox socket_inbox_{256};
  std::atomic<std::int64_t> published_deadline_{Instant::Never().nanos()};
  ShardFabric& fabric_;
  // Shard 0: when the snapshot shows a change (ctx_.net_dirty), it is
  // published at the next poll at least kPublishGap after the last (at
  // once with ctx_.publish_now).
  static constexpr Duration kPublishGap = Duration::Millis(1);
  Instant last_publish_;
  TimerWheel::TimerId publish_timer_;  // TimerLayer::kShard's only timer
  bool publish_timer_armed_ = false;
  // Other shards: the generation of the snapshot in use (the neighbour
  // layer holds the snapshot; the IP layers copy what they need).
  std::uint64_t snap_generation_ = 0;
  std::atomic<bool> inspect_pending_{false};
  std::mutex inspect_mu_;
  std::vector<std::function<void()>> inspect_;

  DropCounters eth_drop_;
  EthCounters eth_counters_;
  ShardCounters shard_counters_;
  // The layers, lowest first: each takes references to those below it (and
  // to the Worker's LinkOutput and IpOutput, which dispatch to them).
  ShardContext ctx_;
  NeighbourLayer neighbours_;
  UdpLayer udp_;
  TcpLayer tcp_;
  Ipv4Layer ipv4_;
  Ipv6Layer ipv6_;
};

}  // namespace ringstack::engine

#endif  // RINGSTACK_ENGINE_WORKER_H_
