// A worker's side of the ShardFabric (shard_fabric.h): the snapshot shard 0
// publishes and the others send by, the neighbour resolutions other shards
// ask of shard 0, the mail between shards, and the socket inbox handed to
// the UDP and TCP layers.
#include <utility>

#include "engine/steering.h"
#include "engine/worker.h"

namespace ringstack::engine {

namespace ethernet = proto::ethernet;
using proto::Ipv4Address;
using proto::Ipv6Address;
using proto::MacAddress;

void Worker::MaybePublish() {
  if (!net_dirty_) return;
  if (publish_now_ || now_ - last_publish_ >= kPublishGap) {
    PublishSnapshot();
    return;
  }
  // Too soon after the last one: at the gap's end (the timer's poll publishes).
  if (!publish_timer_armed_) {
    publish_timer_ = wheel_.Arm(last_publish_ + kPublishGap, kTimerPublish);
    publish_timer_armed_ = true;
  }
}

void Worker::PublishSnapshot() {
  NetSnapshot s{0, host_, host6_, {}, {}, pmtu_};
  arp_cache_.ForEach([&](Ipv4Address ip, const proto::arp::ArpCache::Entry& e) {
    if (e.state != proto::arp::ArpCache::State::kIncomplete) s.arp.emplace(ip, e.mac);
  });
  nd_cache_.ForEach([&](const Ipv6Address& ip, const proto::nd::NdCache::Entry& e) {
    if (e.state != proto::nd::NdCache::State::kIncomplete) s.nd.emplace(ip, e.mac);
  });
  fabric_.Publish(std::move(s));
  shard_counters_.shard_snapshot_published.Inc();
  net_dirty_ = false;
  publish_now_ = false;
  last_publish_ = now_;
}

void Worker::RefreshSnapshot() {
  const std::uint64_t g = fabric_.generation();
  if (g == snap_generation_) return;
  snap_ = fabric_.Load();
  if (!snap_) return;
  snap_generation_ = snap_->generation;
  // An address gone or given up since the last snapshot: its connections go too.
  bool lost = false;
  for (const proto::ipv4::HostAddress& a : host_.addresses()) {
    const proto::ipv4::HostAddress* now = snap_->host4.Find(a.itf.address);
    lost |= now == nullptr || (now->state == proto::ipv4::AddressState::kConflict &&
                               a.state != proto::ipv4::AddressState::kConflict);
  }
  host_ = snap_->host4;
  if (lost && shard_ != 0) tcp_.AbortOnLostAddresses(host_);
  host6_ = snap_->host6;
  pmtu_ = snap_->pmtu;
  // Packets parked for neighbours the snapshot now knows go out.
  std::vector<Ipv4Address> ready4;
  for (const auto& [hop, parked] : parked_) {
    if (snap_->arp.contains(hop)) ready4.push_back(hop);
  }
  for (const Ipv4Address& hop : ready4) ReleaseParked(hop, snap_->arp.at(hop));
  std::vector<Ipv6Address> ready6;
  for (const auto& [hop, parked] : parked6_) {
    if (snap_->nd.contains(hop)) ready6.push_back(hop);
  }
  for (const Ipv6Address& hop : ready6) ReleaseParked6(hop, snap_->nd.at(hop));
}

template <typename Addr>
void Worker::SendBySnapshot(Packet p, const Addr& next_hop) {
  constexpr bool kV6 = std::is_same_v<Addr, Ipv6Address>;
  const auto& table = [&]() -> const auto& {
    if constexpr (kV6) {
      return snap_->nd;
    } else {
      return snap_->arp;
    }
  }();
  if (const auto it = table.find(next_hop); it != table.end()) {
    SendEthernet(std::move(p), it->second, kV6 ? ethernet::kEtherTypeIpv6 : ethernet::kEtherTypeIpv4);
    return;
  }
  // Park, and on the first packet ask shard 0 (which resolves it and
  // publishes a snapshot that has it; RefreshSnapshot releases the packets).
  bool first;
  if constexpr (kV6) {
    first = ParkIn(parked6_, next_hop, std::move(p));
  } else {
    first = ParkIn(parked_, next_hop, std::move(p));
  }
  if (!first) return;
  ShardMessage m;
  m.kind = kV6 ? ShardMessage::Kind::kResolve6 : ShardMessage::Kind::kResolve4;
  m.addr = proto::IpAddress(next_hop);
  if (fabric_.Post(0, std::move(m))) {
    shard_counters_.shard_resolve_request.Inc();
  } else {
    shard_counters_.shard_drop_mail_full.Inc();  // the entry times out like a failed resolution
  }
  if (!parked_timer_armed_) {
    parked_timer_ = wheel_.Arm(now_ + Duration::Seconds(1), kTimerParked);
    parked_timer_armed_ = true;
  }
}

template void Worker::SendBySnapshot(Packet, const Ipv4Address&);
template void Worker::SendBySnapshot(Packet, const Ipv6Address&);

void Worker::ExpireParked() {
  parked_timer_armed_ = false;
  auto expire = [&](auto& parked_by_hop, Counter& unreachable) {
    for (auto it = parked_by_hop.begin(); it != parked_by_hop.end();) {
      if (now_ - it->second.since >= kParkTimeout) {
        unreachable.Inc(it->second.count);
        parked_by_hop.erase(it++);  // handles return their buffers
      } else {
        ++it;
      }
    }
  };
  expire(parked_, ipv4_counters_.drop_neighbour_unreachable);
  expire(parked6_, ipv6_counters_.drop_neighbour_unreachable);
  if (!parked_.empty() || !parked6_.empty()) {
    parked_timer_ = wheel_.Arm(now_ + Duration::Seconds(1), kTimerParked);
    parked_timer_armed_ = true;
  }
}

void Worker::ServeMail() {
  ShardMessage m;
  // Bounded: what is there now (more may arrive while serving).
  for (std::size_t n = 0; n < ShardFabric::kMailboxDepth && fabric_.TryTake(shard_, m); ++n) {
    switch (m.kind) {
      case ShardMessage::Kind::kResolve4: {
        // As if shard 0 itself sent: a hit (perhaps only newer than the
        // asker's snapshot) is published at once, a miss starts ARP and
        // the reply's publication releases the asker's packets.
        net_dirty_ = true;
        publish_now_ = true;
        const Ipv4Address ip = m.addr.v4();
        if (const auto hit = arp_cache_.Use(ip, now_)) {
          if (hit->send_probe) SendArpRequest(ip, hit->mac);
        } else if (arp_cache_.StartResolve(ip, now_) == proto::arp::ArpCache::Resolve::kSendRequest) {
          SendArpRequest(ip);
        }
        arp_deadline_.Follow(arp_cache_.NextDeadline());
        break;
      }
      case ShardMessage::Kind::kResolve6: {
        net_dirty_ = true;
        publish_now_ = true;
        const Ipv6Address ip = m.addr.v6();
        if (!nd_cache_.Use(ip, now_) &&
            nd_cache_.StartResolve(ip, now_) == proto::nd::NdCache::Resolve::kSendSolicitation) {
          SendNeighborSolicitation(ip, host6_.SourceFor(ip), std::nullopt);
        }
        RearmIpv6Timers();
        break;
      }
      case ShardMessage::Kind::kSocketError:
        udp_.ErrorToSocket(m.local, m.remote, m.error);
        break;
      case ShardMessage::Kind::kUdp4:
        HandleUdp(std::move(m.packet), m.ip4, m.group);
        break;
      case ShardMessage::Kind::kUdp6:
        HandleUdp6(std::move(m.packet), m.ip6, m.offset, m.group);
        break;
      case ShardMessage::Kind::kTcp:
        tcp_.Receive(std::move(m.packet), m.remote.addr, m.local.addr, m.group);
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

bool Worker::ForwardUdp(Packet& p, std::uint16_t dst_port, ShardMessage&& m) {
  const int owner = ShardForUdpPort(dst_port, config_.workers);
  if (owner == shard_) return false;
  m.packet = std::move(p);
  if (!fabric_.Post(owner, std::move(m))) shard_counters_.shard_drop_mail_full.Inc();
  return true;
}

}  // namespace ringstack::engine
