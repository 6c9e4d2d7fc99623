// Worker (worker.h): the shard's poll round, Ethernet dispatch, the link
// output, IpOutput's dispatch to the IP layers and the timers' to every
// layer; the fabric and the socket inbox are worker_fabric.cc.
#include "engine/worker.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "engine/link/link.h"
#include "engine/log.h"
#include "protocols/ethernet/ethernet_repr.h"

namespace ringstack::engine {

using proto::Ipv4Address;
using proto::MacAddress;
namespace ethernet = proto::ethernet;
namespace ipv6 = proto::ipv6;

namespace {

// Seeds for the protocols' jitter (ACD, DHCP, DAD, MLD): from the MAC, so
// hosts differ (as the RFCs want) and a run repeats for the same config.
std::uint64_t MacSeed(const MacAddress& mac) {
  std::uint64_t seed = 0;
  for (std::byte b : mac.bytes()) seed = seed << 8 | static_cast<std::uint64_t>(b);
  return seed;
}

}  // namespace

Worker::~Worker() = default;

Worker::Worker(int shard, const Config& config, const Clock& clock, rings::PacketPool& pool,
               std::vector<rings::SpscRing<rings::Packet>*> rx, rings::SpscRing<rings::Packet>& tx, Doorbell& tx_doorbell,
               Doorbell& timer_doorbell, CounterSet& counters, ShardFabric& fabric, const Logger& logger)
    : shard_(shard),
      name_(absl::StrCat("w", shard)),
      config_(config),
      clock_(clock),
      rx_(std::move(rx)),
      tx_(tx),
      tx_doorbell_(tx_doorbell),
      timer_doorbell_(timer_doorbell),
      now_(clock.Now()),
      wheel_(clock.Now()),
      fabric_(fabric),
      ctx_{shard,
           config,
           logger,
           pool,
           fabric,
           wheel_,
           now_,
           shard_counters_.pool_drop_empty,
           shard_counters_.pool_drop_no_headroom,
           shard_counters_.shard_drop_mail_full},
      neighbours_(ctx_, *this, *this, *this, counters),
      udp_(ctx_, *this, counters, MacSeed(config.mac) ^ 0x6056u),
      tcp_(ctx_, *this, counters),
      ipv4_(ctx_, *this, neighbours_, udp_, tcp_, counters, MacSeed(config.mac)),
      ipv6_(ctx_, *this, neighbours_, udp_, tcp_, counters, MacSeed(config.mac)) {
  RegisterCounters(counters, eth_counters_, kEthCounterFields);
  RegisterCounters(counters, shard_counters_, kShardCounterFields);
  eth_drop_.Add(counters, "eth");
  last_publish_ = now_;
  if (shard != 0) {
    // Addresses, routes and neighbours: shard 0's, from its snapshot
    // (shard 0 is built first and publishes its first one below).
    RefreshSnapshot();
    published_deadline_.store(wheel_.NextExpiry().nanos(), std::memory_order_release);
    return;
  }
  ipv4_.Start();
  if (config.ipv6) ipv6_.Start();
  PublishSnapshot();
  // The TimerStage learns of timers armed here (ACD's first probe) from this.
  published_deadline_.store(wheel_.NextExpiry().nanos(), std::memory_order_release);
}

// Multicast filtering below IP, as a NIC's filter would: broadcast, IPv4
// all-hosts (224.0.0.1; no other IPv4 group is joined) and the IPv6 groups
// joined (all-nodes and the solicited-node groups; on other shards, which
// have no IPv6 addresses, all-nodes only).
bool Worker::WantedMulticast(const MacAddress& mac) const {
  if (mac == MacAddress::Broadcast()) return true;
  if (mac == proto::MulticastMac(Ipv4Address(0xe0000001u))) return true;
  const auto b = mac.bytes();
  if (b[0] == std::byte{0x33} && b[1] == std::byte{0x33}) {
    // Shards other than 0 take IPv6 multicast for their UDP and TCP
    // sockets; only the control shard knows the groups.
    return shard_ != 0 || (config_.ipv6 && ipv6_.host().IsJoinedMac(mac));
  }
  return false;
}

std::size_t Worker::Poll(std::size_t budget) {
  now_ = clock_.Now();
  if (shard_ != 0) RefreshSnapshot();
  std::size_t done = 0;
  if (fabric_.MailPending(shard_)) {
    ServeMail();
    ++done;
  }
  done += ServeSockets(budget);
  Packet batch[32];
  // A burst from each RX stage's ring in turn, until all are empty.
  for (std::size_t idle = 0, r = 0; done < budget && idle < rx_.size(); r = (r + 1) % rx_.size()) {
    const std::size_t n = rx_[r]->TryPopBurst(std::span(batch, std::min<std::size_t>(32, budget - done)));
    if (n == 0) {
      ++idle;
      continue;
    }
    idle = 0;
    for (std::size_t i = 0; i < n; ++i) Process(std::move(batch[i]));
    done += n;
  }
  wheel_.Advance(now_, [this, &done](std::uint64_t cookie) {
    OnTimer(cookie);
    ++done;
  });
  if (shard_ == 0) MaybePublish();
  if (inspect_pending_.load(std::memory_order_relaxed) && inspect_pending_.exchange(false)) {
    std::vector<std::function<void()>> todo;
    {
      std::lock_guard lock(inspect_mu_);
      todo.swap(inspect_);
    }
    for (auto& fn : todo) fn();
  }
  tcp_.FlushWakes();
  // Tell the TimerStage when we next need waking. It must hear now of an
  // earlier deadline than before, and of any new one once the old one has
  // passed: it rang for that one and may be asleep with nothing to wait for.
  const std::int64_t next = wheel_.NextExpiry().nanos();
  const std::int64_t before = published_deadline_.exchange(next, std::memory_order_acq_rel);
  if (next < before || (next != before && before <= now_.nanos())) timer_doorbell_.Ring();
  tcp_.FlushTso();
  if (tx_pushed_) {
    tx_doorbell_.Ring();
    tx_pushed_ = false;
  }
  return done;
}

void Worker::Process(Packet p) {
  eth_counters_.rx.Inc();
  const auto eth = ethernet::EthernetRepr::Parse(p.data());
  if (!eth) {
    eth_drop_.Count(eth.error());
    return;
  }
  if (eth->dst != config_.mac && !eth->dst.IsMulticast()) {  // multicast includes broadcast
    eth_counters_.drop_not_for_us.Inc();
    return;
  }
  if (eth->dst.IsMulticast() && !WantedMulticast(eth->dst)) {
    eth_counters_.drop_multicast_filtered.Inc();
    return;
  }
  switch (eth->ethertype) {
    case ethernet::kEtherTypeArp:
      ctx_.net_dirty = true;  // the neighbour cache or an address's claim may change
      p.TrimFront(ethernet::kHeaderLen);
      HandleArp(std::move(p));
      return;
    case ethernet::kEtherTypeIpv4:
      p.TrimFront(ethernet::kHeaderLen);
      ipv4_.Receive(std::move(p));
      return;
    case ethernet::kEtherTypeIpv6:
      p.TrimFront(ethernet::kHeaderLen);
      ipv6_.Receive(std::move(p));
      return;
    default:
      eth_counters_.drop_unknown_ethertype.Inc();
      return;
  }
}

// RFC 826 "Packet Reception" (the merge and the reply), on the control shard.
void Worker::HandleArp(Packet p) {
  const auto in = neighbours_.ParseArp(p);
  if (!in) return;
  if (!ipv4_.JudgeArp(*in)) return;
  neighbours_.ReceiveArp(std::move(p), *in);
}

void Worker::SendIp(Packet p, const proto::IpAddress& src, const proto::IpAddress& dst, std::uint8_t protocol,
                    Path path, std::uint8_t tos) {
  via_tx_thread_ = path == Path::kTxThread;
  if (src.is_v6()) {
    ipv6::Ipv6Repr ip;
    ip.src = src.v6();
    ip.dst = dst.v6();
    ip.next_header = protocol;
    ip.traffic_class = tos;
    ipv6_.Send(std::move(p), ip);
  } else {
    ipv4_.Send(std::move(p), src.v4(), dst.v4(), protocol, tos);
  }
  via_tx_thread_ = false;
}

std::size_t Worker::PathMtu(const proto::IpAddress& dst) {
  return dst.is_v6() ? ipv6_.PathMtu(dst.v6()) : ipv4_.PathMtu(dst.v4());
}

proto::IpAddress Worker::SourceFor(const proto::IpAddress& dst) const {
  if (dst.is_v6()) return ipv6_.host().SourceFor(dst.v6());
  return ipv4_.host().SourceFor(dst.v4());
}

bool Worker::IsLocal(const proto::IpAddress& addr) const {
  return addr.is_v6() ? ipv6_.host().IsLocal(addr.v6()) : ipv4_.host().IsLocal(addr.v4());
}

void Worker::SendEthernet(Packet p, MacAddress dst, std::uint16_t ethertype) {
  const auto header = p.Prepend(ethernet::kHeaderLen);
  if (header.empty()) {
    shard_counters_.pool_drop_no_headroom.Inc();
    return;
  }
  ethernet::EthernetRepr{dst, config_.mac, ethertype}.Emit(header);
  if (inline_link_ != nullptr) {
    // Nothing of ours waits for the TX thread (acquire: every frame it took
    // from our ring is written), so this one cannot overtake any.
    if (!via_tx_thread_ && tx_outstanding_->load(std::memory_order_acquire) == 0) {
      switch (inline_link_->Send(p)) {
        case SendResult::kSent:
          shard_counters_.tx_frames.Inc();
          shard_counters_.tx_bytes.Inc(p.size());
          return;
        case SendResult::kError:
          shard_counters_.tx_drop_error.Inc();
          return;
        case SendResult::kBusy:
          break;  // the TX stage keeps it and waits for the fd
      }
    }
    tx_outstanding_->fetch_add(1, std::memory_order_relaxed);
  }
  if (!tx_.TryPush(std::move(p))) {
    if (inline_link_ != nullptr) tx_outstanding_->fetch_sub(1, std::memory_order_relaxed);
    shard_counters_.tx_drop_ring_full.Inc();
    return;
  }
  tx_pushed_ = true;
}

void Worker::DropHeld() { neighbours_.DropHeld(); }

void Worker::OnTimer(std::uint64_t cookie) {
  const std::uint64_t value = TimerValueOf(cookie);
  switch (TimerLayerOf(cookie)) {
    case TimerLayer::kShard:  // the gap between snapshots ended: MaybePublish, after the timers, publishes
      publish_timer_armed_ = false;
      return;
    case TimerLayer::kNeighbour:
      neighbours_.OnTimer(value);
      return;
    case TimerLayer::kIpv4:
      ipv4_.OnTimer(value);
      return;
    case TimerLayer::kIpv6:
      ipv6_.OnTimer(value);
      return;
    case TimerLayer::kTcp:
      tcp_.OnTimer(value);
      return;
  }
}

}  // namespace ringstack::engine
