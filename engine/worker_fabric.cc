// A worker's side of the ShardFabric (shard_fabric.h): the snapshot shard 0
// publishes and the others send by, the neighbour resolutions other shards
// ask of shard 0, the mail between shards, and the socket inbox handed to
// the UDP and TCP layers.
#include <utility>

#include "engine/steering.h"
#include "engine/worker.h"

namespace ringstack::engine {

using proto::Ipv4Address;
using proto::Ipv6Address;
using proto::MacAddress;

void Worker::MaybePublish() {
  if (!ctx_.net_dirty) return;
  if (ctx_.publish_now || now_ - last_publish_ >= kPublishGap) {
    PublishSnapshot();
    return;
  }
  // Too soon after the last one: at the gap's end (the timer's poll publishes).
  if (!publish_timer_armed_) {
    publish_timer_ = wheel_.Arm(last_publish_ + kPublishGap, TimerCookie(TimerLayer::kShard, 0));
    publish_timer_armed_ = true;
  }
}

void Worker::PublishSnapshot() {
  NetSnapshot s{0, ipv4_.host(), ipv6_.host(), {}, {}, ipv6_.pmtu(), ipv4_.pmtu()};
  neighbours_.FillSnapshot(s);
  fabric_.Publish(std::move(s));
  shard_counters_.shard_snapshot_published.Inc();
  ctx_.net_dirty = false;
  ctx_.publish_now = false;
  last_publish_ = now_;
}

void Worker::RefreshSnapshot() {
  const std::uint64_t g = fabric_.generation();
  if (g == snap_generation_) return;
  std::shared_ptr<const NetSnapshot> snap = fabric_.Load();
  if (!snap) return;
  snap_generation_ = snap->generation;
  ipv4_.OnSnapshot(snap->host4, snap->pmtu4);  // an address gone: its connections go too
  ipv6_.OnSnapshot(*snap);
  neighbours_.OnSnapshot(std::move(snap));  // it keeps it; parked packets for neighbours it knows go out
}

void Worker::ServeMail() {
  ShardMessage m;
  // Bounded: what is there now (more may arrive while serving).
  for (std::size_t n = 0; n < ShardFabric::kMailboxDepth && fabric_.TryTake(shard_, m); ++n) {
    switch (m.kind) {
      case ShardMessage::Kind::kResolve4:
        neighbours_.Resolve(m.addr.v4());
        break;
      case ShardMessage::Kind::kResolve6:
        neighbours_.Resolve(m.addr.v6());
        break;
      case ShardMessage::Kind::kSocketError:
        udp_.ErrorToSocket(m.local, m.remote, m.error);
        break;
      case ShardMessage::Kind::kUdp4:
        ipv4_.ReceiveUdp(std::move(m.packet), m.ip4, m.group);
        break;
      case ShardMessage::Kind::kUdp6:
        ipv6_.ReceiveUdp(std::move(m.packet), m.ip6, m.offset, m.group);
        break;
      case ShardMessage::Kind::kTcp:
        tcp_.Receive(std::move(m.packet), m.remote.addr, m.local.addr, m.group, m.ecn);
        break;
      case ShardMessage::Kind::kPathMtu:
        tcp_.OnPathMtu(m.local, m.remote, m.seq, m.mtu);
        break;
      case ShardMessage::Kind::kTcpUnreachable:
        tcp_.OnUnreachable(m.local, m.remote, m.seq);
        break;
    }
    m = ShardMessage();
  }
}

std::size_t Worker::ServeSockets(std::size_t budget) {
  std::size_t done = 0;
  SocketRequest r;
  while (done < budget && socket_inbox_.requests.TryPop(r)) {
    if (r.tcp) {
      tcp_.ServeRequest(r);
    } else {
      udp_.ServeRequest(r);
    }
    ++done;
  }
  done += udp_.ServeSending(socket_inbox_, budget - done);
  std::shared_ptr<TcpSocketState> t;
  while (done < budget && socket_inbox_.tcp_ready.TryPop(t)) {
    // News after this point schedules it again. An exchange, not a store,
    // so the counters read next are at least as new as what a thread that
    // found the flag still set had written (see UdpLayer::Drain).
    (void)t->scheduled.exchange(false, std::memory_order_acq_rel);
    tcp_.ServeSocket(t);
    ++done;
  }
  return done;
}

}  // namespace ringstack::engine
