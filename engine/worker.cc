#include "engine/worker.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "protocols/arp/arp_handler.h"
#include "protocols/arp/arp_repr.h"
#include "protocols/icmpv4/icmpv4_handler.h"
#include "protocols/icmpv4/icmpv4_repr.h"

namespace ringstack::engine {

using proto::Ipv4Address;
using proto::MacAddress;
using proto::ParseError;
namespace arp = proto::arp;
namespace ethernet = proto::ethernet;
namespace icmpv4 = proto::icmpv4;
namespace ipv4 = proto::ipv4;

void Worker::DropCounters::Add(CounterSet& counters, const std::string& proto) {
  for (int i = 0; i < proto::kParseErrorCount; ++i) {
    by_error[i] = &counters.Add(absl::StrCat(proto, "_drop_", std::string(proto::ParseErrorName(static_cast<ParseError>(i)))));
  }
}

Worker::Worker(int shard, const Config& config, const Clock& clock, rings::PacketPool& pool,
               rings::SpscRing<rings::Packet>& rx, rings::SpscRing<rings::Packet>& tx, Doorbell& tx_doorbell,
               Doorbell& timer_doorbell, CounterSet& counters)
    : shard_(shard),
      name_(absl::StrCat("w", shard)),
      config_(config),
      clock_(clock),
      pool_(pool),
      rx_(rx),
      tx_(tx),
      tx_doorbell_(tx_doorbell),
      timer_doorbell_(timer_doorbell),
      now_(clock.Now()),
      next_ident_(static_cast<std::uint16_t>(shard << 12)),
      wheel_(clock.Now()),
      eth_rx_(counters.Add("eth_rx")),
      eth_drop_not_for_us_(counters.Add("eth_drop_not_for_us")),
      eth_drop_unknown_ethertype_(counters.Add("eth_drop_unknown_ethertype")),
      arp_rx_request_(counters.Add("arp_rx_request")),
      arp_rx_reply_(counters.Add("arp_rx_reply")),
      arp_tx_request_(counters.Add("arp_tx_request")),
      arp_tx_reply_(counters.Add("arp_tx_reply")),
      arp_resolve_failed_(counters.Add("arp_resolve_failed")),
      ipv4_rx_(counters.Add("ipv4_rx")),
      ipv4_drop_not_for_us_(counters.Add("ipv4_drop_not_for_us")),
      ipv4_rx_fragment_(counters.Add("ipv4_rx_fragment")),
      ipv4_rx_reassembled_(counters.Add("ipv4_rx_reassembled")),
      ipv4_frag_duplicate_(counters.Add("ipv4_frag_duplicate")),
      ipv4_reassembly_timeout_(counters.Add("ipv4_reassembly_timeout")),
      ipv4_tx_fragment_(counters.Add("ipv4_tx_fragment")),
      ipv4_drop_df_too_big_(counters.Add("ipv4_drop_df_too_big")),
      ipv4_drop_protocol_unhandled_(counters.Add("ipv4_drop_protocol_unhandled")),
      ipv4_drop_no_route_(counters.Add("ipv4_drop_no_route")),
      ipv4_drop_neighbour_unreachable_(counters.Add("ipv4_drop_neighbour_unreachable")),
      ipv4_drop_park_full_(counters.Add("ipv4_drop_park_full")),
      ipv4_tx_(counters.Add("ipv4_tx")),
      ipv6_drop_unhandled_(counters.Add("ipv6_drop_unhandled")),
      icmp4_rx_echo_request_(counters.Add("icmp4_rx_echo_request")),
      icmp4_rx_echo_reply_(counters.Add("icmp4_rx_echo_reply")),
      icmp4_rx_other_(counters.Add("icmp4_rx_other")),
      icmp4_tx_echo_reply_(counters.Add("icmp4_tx_echo_reply")),
      icmp4_drop_echo_to_group_(counters.Add("icmp4_drop_echo_to_group")),
      icmp4_tx_dest_unreachable_(counters.Add("icmp4_tx_dest_unreachable")),
      icmp4_error_suppressed_(counters.Add("icmp4_error_suppressed")),
      icmp4_error_rate_limited_(counters.Add("icmp4_error_rate_limited")),
      ipv4_rx_unknown_protocol_(counters.Add("ipv4_rx_unknown_protocol")),
      tx_ring_full_drop_(counters.Add("tx_ring_full_drop")),
      pool_empty_drop_(counters.Add("pool_empty_drop")),
      no_headroom_drop_(counters.Add("no_headroom_drop")) {
  using ReasmDrop = ipv4::Ipv4Reassembler::Drop;
  ipv4_frag_drop_[static_cast<int>(ReasmDrop::kNone)] = &counters.Add("ipv4_frag_drop_unknown");
  ipv4_frag_drop_[static_cast<int>(ReasmDrop::kOverlap)] = &counters.Add("ipv4_frag_drop_overlap");
  ipv4_frag_drop_[static_cast<int>(ReasmDrop::kTooLong)] = &counters.Add("ipv4_frag_drop_too_long");
  ipv4_frag_drop_[static_cast<int>(ReasmDrop::kBadLength)] = &counters.Add("ipv4_frag_drop_bad_length");
  ipv4_frag_drop_[static_cast<int>(ReasmDrop::kPastEnd)] = &counters.Add("ipv4_frag_drop_past_end");
  ipv4_frag_drop_[static_cast<int>(ReasmDrop::kMemoryLimit)] = &counters.Add("ipv4_frag_drop_memory_limit");
  eth_drop_.Add(counters, "eth");
  arp_drop_.Add(counters, "arp");
  ipv4_drop_.Add(counters, "ipv4");
  icmp4_drop_.Add(counters, "icmp4");
}

std::size_t Worker::Poll(std::size_t budget) {
  now_ = clock_.Now();
  std::size_t done = 0;
  Packet batch[32];
  while (done < budget) {
    const std::size_t n = rx_.TryPopBurst(std::span(batch, std::min<std::size_t>(32, budget - done)));
    if (n == 0) break;
    for (std::size_t i = 0; i < n; ++i) Process(std::move(batch[i]));
    done += n;
  }
  wheel_.Advance(now_, [this, &done](std::uint64_t cookie) {
    OnTimer(cookie);
    ++done;
  });
  // Tell the TimerStage when we next need waking; an earlier deadline than
  // before must reach it now, so ring it.
  const std::int64_t next = wheel_.NextExpiry().nanos();
  const std::int64_t before = published_deadline_.exchange(next, std::memory_order_acq_rel);
  if (next < before) timer_doorbell_.Ring();
  if (tx_pushed_) {
    tx_doorbell_.Ring();
    tx_pushed_ = false;
  }
  return done;
}

void Worker::Process(Packet p) {
  eth_rx_.Inc();
  const auto eth = ethernet::EthernetRepr::Parse(p.data());
  if (!eth) {
    eth_drop_.Count(eth.error());
    return;
  }
  if (eth->dst != config_.mac && !eth->dst.IsMulticast()) {  // multicast includes broadcast
    eth_drop_not_for_us_.Inc();
    return;
  }
  switch (eth->ethertype) {
    case ethernet::kEtherTypeArp:
      p.TrimFront(ethernet::kHeaderLen);
      HandleArp(std::move(p));
      return;
    case ethernet::kEtherTypeIpv4:
      p.TrimFront(ethernet::kHeaderLen);
      HandleIpv4(std::move(p));
      return;
    case ethernet::kEtherTypeIpv6:
      ipv6_drop_unhandled_.Inc();  // TODO(#4): IPv6
      return;
    default:
      eth_drop_unknown_ethertype_.Inc();
      return;
  }
}

// RFC 826 "Packet Reception" (the merge and the reply), on the control shard.
void Worker::HandleArp(Packet p) {
  const auto in = arp::ArpRepr::Parse(p.data());
  if (!in) {
    arp_drop_.Count(in.error());
    return;
  }
  (in->oper == arp::kOpRequest ? arp_rx_request_ : arp_rx_reply_).Inc();
  const arp::ArpOutcome out = arp::ArpReceive(*in, config_.mac, config_.ip4);
  if (arp_cache_.OnArp(*in, out.for_me, now_)) ReleaseParked(in->spa, in->sha);
  RearmArpTimer();
  if (!out.reply) return;
  // Answer in the request's own buffer: rewrite the ARP body, re-prepend Ethernet.
  p.Truncate(arp::kPacketLen);
  out.reply->Emit(p.data());
  arp_tx_reply_.Inc();
  SendEthernet(std::move(p), out.reply->tha, ethernet::kEtherTypeArp);
}

void Worker::HandleIpv4(Packet p) {
  const auto ip = ipv4::Ipv4Repr::Parse(p.data());
  if (!ip) {
    ipv4_drop_.Count(ip.error());
    return;
  }
  ipv4_rx_.Inc();
  const bool to_us = IsOurAddress(ip->dst);
  const bool to_group = !to_us && (IsBroadcastFor(ip->dst) || ip->dst.IsMulticast());
  if (!to_us && !to_group) {
    ipv4_drop_not_for_us_.Inc();  // a host does not forward (RFC 1122 3.3.1)
    return;
  }
  // Keep only the payload: drop the header (with options) and link padding.
  p.TrimFront(ip->parsed_header_len);
  p.Truncate(ip->payload_len);
  ipv4::Ipv4Repr header = *ip;
  if (header.is_fragment() && !Reassemble(p, header)) return;
  switch (header.protocol) {
    case ipv4::kProtoIcmp:
      HandleIcmpv4(std::move(p), header, to_group);
      return;
    case ipv4::kProtoTcp:
    case ipv4::kProtoUdp:
      ipv4_drop_protocol_unhandled_.Inc();  // TODO(#5, #6): UDP, TCP
      return;
    default:
      // RFC 1122 3.2.2.1: a host SHOULD say so when it has no such protocol.
      ipv4_rx_unknown_protocol_.Inc();
      SendDestUnreachable(icmpv4::kCodeProtocolUnreachable, header, p, to_group);
      return;
  }
}

void Worker::HandleIcmpv4(Packet p, const ipv4::Ipv4Repr& ip, bool to_group) {
  const auto msg = icmpv4::Icmpv4Repr::Parse(p.data());
  if (!msg) {
    icmp4_drop_.Count(msg.error());
    return;
  }
  switch (msg->type) {
    case icmpv4::kTypeEchoRequest: {
      icmp4_rx_echo_request_.Inc();
      const auto reply = icmpv4::EchoReplyFor(*msg, to_group);
      if (!reply) {
        icmp4_drop_echo_to_group_.Inc();
        return;
      }
      // The data is already in place after the header: rewrite the header only.
      reply->EmitHeader(p.data());
      icmp4_tx_echo_reply_.Inc();
      SendIpv4(std::move(p), ip.dst, ip.src, ipv4::kProtoIcmp);
      return;
    }
    case icmpv4::kTypeEchoReply:
      icmp4_rx_echo_reply_.Inc();  // TODO(#9): deliver to the console's ping client
      return;
    default:
      icmp4_rx_other_.Inc();  // TODO(#3): errors to the sockets they concern
      return;
  }
}

void Worker::SendDestUnreachable(std::uint8_t code, const ipv4::Ipv4Repr& about, const Packet& p, bool to_group) {
  if (!icmpv4::ErrorAllowed(about, p.data(), to_group)) {
    icmp4_error_suppressed_.Inc();
    return;
  }
  if (!error_limiter_.Allow(now_)) {
    icmp4_error_rate_limited_.Inc();
    return;
  }
  Packet e = pool_.Get();
  if (!e) {
    pool_empty_drop_.Inc();
    return;
  }
  // The quote: the offending header (re-emitted without options) and the
  // first 8 bytes of its payload (RFC 792).
  const std::size_t tail = std::min<std::size_t>(8, p.size());
  const auto msg = e.Append(icmpv4::kHeaderLen + ipv4::Ipv4Repr::header_len() + tail);
  const auto quote = msg.subspan(icmpv4::kHeaderLen);
  about.Emit(quote.first(ipv4::Ipv4Repr::header_len()));
  std::memcpy(quote.data() + ipv4::Ipv4Repr::header_len(), p.data().data(), tail);
  icmpv4::DestUnreachable(code, quote).EmitHeader(msg);
  icmp4_tx_dest_unreachable_.Inc();
  SendIpv4(std::move(e), about.dst, about.src, ipv4::kProtoIcmp);
}

// RFC 791 3.2 reassembly, on the control shard (fragments are steered there).
bool Worker::Reassemble(Packet& p, ipv4::Ipv4Repr& ip) {
  ipv4_rx_fragment_.Inc();
  const auto out = reassembler_.OnFragment(ip, p.data(), now_);
  RearmReassemblyTimer();
  switch (out.status) {
    case ipv4::Ipv4Reassembler::Status::kIncomplete:
      return false;
    case ipv4::Ipv4Reassembler::Status::kDuplicate:
      ipv4_frag_duplicate_.Inc();
      return false;
    case ipv4::Ipv4Reassembler::Status::kDropped:
      ipv4_frag_drop_[static_cast<int>(out.drop)]->Inc();
      return false;
    case ipv4::Ipv4Reassembler::Status::kComplete:
      break;
  }
  // Headers go into the headroom, so the data space needs only the payload.
  Packet whole = pool_.Get(out.payload.size() <= pool_.data_size(rings::BufferClass::kStandard)
                               ? rings::BufferClass::kStandard
                               : rings::BufferClass::kLarge);
  const auto room = whole ? whole.Append(out.payload.size()) : std::span<std::byte>();
  if (room.size() != out.payload.size()) {
    pool_empty_drop_.Inc();
    return false;
  }
  std::memcpy(room.data(), out.payload.data(), out.payload.size());
  p = std::move(whole);
  ip = out.header;
  ipv4_rx_reassembled_.Inc();
  return true;
}

void Worker::SendIpv4(Packet p, Ipv4Address src, Ipv4Address dst, std::uint8_t protocol) {
  ipv4::Ipv4Repr ip;
  ip.src = src;
  ip.dst = dst;
  ip.protocol = protocol;
  ip.ident = next_ident_++;
  if (p.size() + ipv4::Ipv4Repr::header_len() > config_.mtu) {
    if (ip.df) {
      ipv4_drop_df_too_big_.Inc();  // TODO(#3): tell the sending socket (EMSGSIZE)
      return;
    }
    SendFragments(p, ip);
    return;
  }
  ip.payload_len = static_cast<std::uint16_t>(p.size());
  const auto header = p.Prepend(ipv4::Ipv4Repr::header_len());
  if (header.empty()) {
    no_headroom_drop_.Inc();
    return;
  }
  ip.Emit(header);
  ipv4_tx_.Inc();
  SendToNextHop(std::move(p), dst);
}

// RFC 791 3.2 fragmentation: fragments of (MTU - 20) & ~7 payload bytes, each
// in a buffer of its own, all with the datagram's identification.
void Worker::SendFragments(const Packet& p, ipv4::Ipv4Repr ip) {
  const std::size_t chunk = (config_.mtu - ipv4::Ipv4Repr::header_len()) & ~std::size_t{7};
  const auto payload = p.data();
  for (std::size_t off = 0; off < payload.size(); off += chunk) {
    const std::size_t n = std::min(chunk, payload.size() - off);
    Packet f = pool_.Get();
    if (!f) {
      pool_empty_drop_.Inc();
      return;  // the rest is useless without this fragment
    }
    std::memcpy(f.Append(n).data(), payload.data() + off, n);
    ip.frag_offset = static_cast<std::uint32_t>(off);
    ip.mf = off + n < payload.size();
    ip.payload_len = static_cast<std::uint16_t>(n);
    ip.Emit(f.Prepend(ipv4::Ipv4Repr::header_len()));
    ipv4_tx_fragment_.Inc();
    SendToNextHop(std::move(f), ip.dst);
  }
  ipv4_tx_.Inc();
}

void Worker::SendToNextHop(Packet p, Ipv4Address dst) {
  if (dst.IsLimitedBroadcast() || IsBroadcastFor(dst)) {
    SendEthernet(std::move(p), MacAddress::Broadcast(), ethernet::kEtherTypeIpv4);
    return;
  }
  if (dst.IsMulticast()) {
    SendEthernet(std::move(p), proto::MulticastMac(dst), ethernet::kEtherTypeIpv4);
    return;
  }
  // Next hop: on-link destinations directly, everything else via the gateway.
  Ipv4Address next_hop = dst;
  bool on_link = false;
  for (const auto& itf : config_.ip4) on_link |= itf.Contains(dst);
  if (!on_link) {
    if (!config_.gw4) {
      ipv4_drop_no_route_.Inc();
      return;
    }
    next_hop = *config_.gw4;
  }
  if (const auto mac = arp_cache_.Lookup(next_hop, now_)) {
    SendEthernet(std::move(p), *mac, ethernet::kEtherTypeIpv4);
    return;
  }
  switch (arp_cache_.StartResolve(next_hop, now_)) {
    case arp::ArpCache::Resolve::kSendRequest:
      Park(next_hop, std::move(p));
      SendArpRequest(next_hop);
      RearmArpTimer();
      return;
    case arp::ArpCache::Resolve::kAlreadyPending:
      Park(next_hop, std::move(p));
      return;
    case arp::ArpCache::Resolve::kCacheFull:
      ipv4_drop_neighbour_unreachable_.Inc();
      return;
  }
}

void Worker::SendEthernet(Packet p, MacAddress dst, std::uint16_t ethertype) {
  const auto header = p.Prepend(ethernet::kHeaderLen);
  if (header.empty()) {
    no_headroom_drop_.Inc();
    return;
  }
  ethernet::EthernetRepr{dst, config_.mac, ethertype}.Emit(header);
  if (!tx_.TryPush(std::move(p))) {
    tx_ring_full_drop_.Inc();
    return;
  }
  tx_pushed_ = true;
}

void Worker::SendArpRequest(Ipv4Address target) {
  Packet p = pool_.Get();
  if (!p) {
    pool_empty_drop_.Inc();
    return;
  }
  arp::ArpRequest(config_.mac, SourceFor(target), target).Emit(p.Append(arp::kPacketLen));
  arp_tx_request_.Inc();
  SendEthernet(std::move(p), MacAddress::Broadcast(), ethernet::kEtherTypeArp);
}

void Worker::Park(Ipv4Address next_hop, Packet p) {
  auto it = parked_.find(next_hop);
  if (it == parked_.end()) {
    if (parked_.size() >= kMaxParkedNeighbours) {
      ipv4_drop_park_full_.Inc();
      return;
    }
    it = parked_.try_emplace(next_hop).first;
  }
  Parked& parked = it->second;
  if (parked.count == kParkedPerNeighbour) {
    // Keep the newest packets, as Linux's neighbour queue does.
    ipv4_drop_park_full_.Inc();
    for (std::size_t i = 1; i < kParkedPerNeighbour; ++i) parked.packets[i - 1] = std::move(parked.packets[i]);
    --parked.count;
  }
  parked.packets[parked.count++] = std::move(p);
}

void Worker::ReleaseParked(Ipv4Address next_hop, MacAddress mac) {
  auto it = parked_.find(next_hop);
  if (it == parked_.end()) return;
  Parked parked = std::move(it->second);
  parked_.erase(it);
  for (std::size_t i = 0; i < parked.count; ++i) {
    SendEthernet(std::move(parked.packets[i]), mac, ethernet::kEtherTypeIpv4);
  }
}

void Worker::DropParked(Ipv4Address next_hop) {
  auto it = parked_.find(next_hop);
  if (it == parked_.end()) return;
  ipv4_drop_neighbour_unreachable_.Inc(it->second.count);
  parked_.erase(it);  // handles return their buffers
}

void Worker::RearmArpTimer() {
  const Instant at = arp_cache_.NextDeadline();
  if (at == arp_timer_at_) return;
  wheel_.Cancel(arp_timer_);
  arp_timer_at_ = at;
  if (!at.IsNever()) arp_timer_ = wheel_.Arm(at, kTimerArpCache);
}

void Worker::RearmReassemblyTimer() {
  const Instant at = reassembler_.NextDeadline();
  if (at == reassembly_timer_at_) return;
  wheel_.Cancel(reassembly_timer_);
  reassembly_timer_at_ = at;
  if (!at.IsNever()) reassembly_timer_ = wheel_.Arm(at, kTimerReassembly);
}

void Worker::OnTimer(std::uint64_t cookie) {
  if (cookie == kTimerReassembly) {
    reassembly_timer_at_ = Instant::Never();
    // TODO(#3): ICMP Time Exceeded (code 1) when fragment zero had come.
    reassembler_.OnTimer(now_, [this](const ipv4::Ipv4Reassembler::Expired&) { ipv4_reassembly_timeout_.Inc(); });
    RearmReassemblyTimer();
    return;
  }
  if (cookie != kTimerArpCache) return;
  arp_timer_at_ = Instant::Never();
  arp_cache_.OnTimer(
      now_, [this](Ipv4Address ip) { SendArpRequest(ip); },
      [this](Ipv4Address ip) {
        arp_resolve_failed_.Inc();
        DropParked(ip);
      });
  RearmArpTimer();
}

bool Worker::IsOurAddress(Ipv4Address a) const {
  for (const auto& itf : config_.ip4) {
    if (itf.address == a) return true;
  }
  return false;
}

bool Worker::IsBroadcastFor(Ipv4Address a) const {
  if (a.IsLimitedBroadcast()) return true;
  for (const auto& itf : config_.ip4) {
    if (itf.prefix_len <= 30 && itf.broadcast() == a) return true;
  }
  return false;
}

Ipv4Address Worker::SourceFor(Ipv4Address dst) const {
  for (const auto& itf : config_.ip4) {
    if (itf.Contains(dst)) return itf.address;
  }
  return config_.ip4.empty() ? Ipv4Address() : config_.ip4.front().address;
}

}  // namespace ringstack::engine
