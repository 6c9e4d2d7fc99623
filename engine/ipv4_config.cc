// Ipv4Layer's address configuration (ipv4_layer.h): the configured
// addresses claimed by Address Conflict Detection (RFC 5227) and the
// DHCPv4 client's lease (RFC 2131), probed before use (4.4.1), given up
// when lost, declined or taken by another host, with its connections.
#include <string>

#include "absl/strings/str_cat.h"
#include "engine/ipv4_layer.h"
#include "protocols/udp/udp_repr.h"

namespace ringstack::engine {

namespace arp = proto::arp;
namespace dhcp4 = proto::dhcp4;
namespace ipv4 = proto::ipv4;
using proto::Ipv4Address;
using proto::MacAddress;
using rings::Packet;

// Shard 0. Addresses: usable at once without ACD; with it, claimed first.
void Ipv4Layer::Start() {
  const Config& config = ctx_.config;
  const bool probe = config.acd;
  for (const Ip4Setting& s : config.ip4) {
    host_.AddAddress({s.itf, s.gateway, probe ? ipv4::AddressState::kTentative : ipv4::AddressState::kPreferred});
  }
  for (const Route4Setting& r : config.routes4) host_.AddStaticRoute(r.net, r.gateway);
  if (probe) StartAcd();
  if (config.dhcp4) {
    dhcp4::Dhcp4ClientConfig dc;
    dc.check_address = config.acd;
    dhcp_.emplace(config.mac, seed_ ^ 0xd4c9u, dc);
    ApplyDhcp(dhcp_->Start(ctx_.now, config.dhcp4_previous));
  }
}

void Ipv4Layer::OnDhcpMessage(proto::Bytes payload) {
  const auto msg = dhcp4::Dhcp4Repr::Parse(payload);
  if (!msg) {
    dhcp_drop_.Count(msg.error());
    return;
  }
  dhcp_counters_.rx.Inc();
  ApplyDhcp(dhcp_->OnMessage(*msg, ctx_.now));
}

void Ipv4Layer::DropDhcpAddress() {
  if (!dhcp_address_) return;
  host_.RemoveAddress(dhcp_address_->address);
  acd_.Remove(dhcp_address_->address);
  dhcp_address_.reset();
  acd_deadline_.Follow(acd_.NextDeadline());
}

// RFC 5227: every configured address is probed before it is used.
void Ipv4Layer::StartAcd() {
  for (const Ip4Setting& s : ctx_.config.ip4) acd_.Start(s.itf.address, ctx_.now);
  acd_deadline_.Follow(acd_.NextDeadline());
}

void Ipv4Layer::OnAcdTimer() {
  acd_deadline_.Fired();
  acd_.OnTimer(
      ctx_.now,
      [this](Ipv4Address ip, arp::ConflictDetector::Send what) {
        if (what == arp::ConflictDetector::Send::kProbe) {
          acd_counters_.probe.Inc();
          neighbours_.SendArp(acd_.Probe(ip), MacAddress::Broadcast());
        } else {
          acd_counters_.announce.Inc();
          neighbours_.SendArp(acd_.Announcement(ip), MacAddress::Broadcast());
        }
      },
      [this](Ipv4Address ip) {
        acd_counters_.claimed.Inc();
        host_.SetState(ip, ipv4::AddressState::kPreferred);
        const ipv4::HostAddress* a = host_.Find(ip);
        ctx_.Log(Subsystem::kIp4, LogLevel::kInfo,
                 absl::StrCat("ip4 ", a != nullptr ? a->itf.ToString() : ip.ToString(),
                              ": claimed (no conflict after ARP probes)"));
        if (dhcp_ && dhcp_address_ && dhcp_address_->address == ip &&
            dhcp_->state() == dhcp4::Dhcp4Client::State::kChecking) {
          ApplyDhcp(dhcp_->OnAddressChecked(false, ctx_.now));
        }
      });
  acd_deadline_.Follow(acd_.NextDeadline());
}

void Ipv4Layer::OnAcdVerdict(const arp::ConflictDetector::Seen& seen) {
  switch (seen.verdict) {
    case arp::ConflictDetector::Verdict::kNone: return;
    case arp::ConflictDetector::Verdict::kDefend:
      acd_counters_.defend.Inc();
      ctx_.Log(Subsystem::kIp4, LogLevel::kWarn,
               absl::StrCat("ip4 ", seen.ip.ToString(), ": ", seen.other.ToString(),
                            " claims it too; defending with an announcement"));
      neighbours_.SendArp(acd_.Announcement(seen.ip), MacAddress::Broadcast());
      return;
    case arp::ConflictDetector::Verdict::kConflict:
      acd_counters_.conflict.Inc();
      host_.SetState(seen.ip, ipv4::AddressState::kConflict);
      ctx_.Log(Subsystem::kIp4, LogLevel::kWarn,
               absl::StrCat("ip4 ", seen.ip.ToString(), ": address conflict with ", seen.other.ToString(),
                            "; not using it"));
      acd_deadline_.Follow(acd_.NextDeadline());
      tcp_.AbortOnLostAddresses(host_);
      if (dhcp_ && dhcp_address_ && dhcp_address_->address == seen.ip) {
        if (dhcp_->state() == dhcp4::Dhcp4Client::State::kChecking) {
          ApplyDhcp(dhcp_->OnAddressChecked(true, ctx_.now));  // DECLINE
        } else {
          // Taken from us after binding: start over for another address.
          host_.RemoveAddress(seen.ip);
          acd_.Remove(seen.ip);
          dhcp_address_.reset();
          acd_deadline_.Follow(acd_.NextDeadline());
          ApplyDhcp(dhcp_->Start(ctx_.now));
        }
      }
      return;
  }
}

void Ipv4Layer::SendDhcp(const dhcp4::Dhcp4Client::Transmit& t) {
  Packet p = ctx_.pool.Get();
  if (!p) {
    ctx_.pool_drop_empty.Inc();
    return;
  }
  const std::size_t len = t.msg.emitted_len();
  const auto datagram = p.Append(proto::udp::kHeaderLen + len);
  t.msg.Emit(datagram.subspan(proto::udp::kHeaderLen));
  proto::udp::UdpRepr{dhcp4::kClientPort, dhcp4::kServerPort, {}}.EmitHeader(datagram, t.src, t.dst);
  dhcp_counters_.tx.Inc();
  Send(std::move(p), t.src, t.dst, ipv4::kProtoUdp);
}

void Ipv4Layer::ApplyDhcp(const dhcp4::Dhcp4Client::Outcome& out) {
  ctx_.net_dirty = true;
  using Event = dhcp4::Dhcp4Client::Event;
  auto describe = [](const dhcp4::Lease& l) {
    std::string s = absl::StrCat(l.itf.ToString(), " from ", l.server.ToString());
    if (l.router) absl::StrAppend(&s, ", router ", l.router->ToString());
    for (std::size_t i = 0; i < l.dns_count; ++i) absl::StrAppend(&s, i == 0 ? ", dns " : " ", l.dns[i].ToString());
    absl::StrAppend(&s, ", lease ", l.lease_time.nanos() / 1'000'000'000, " s");
    return s;
  };
  switch (out.event) {
    case Event::kNone: break;
    case Event::kIgnored: dhcp_counters_.rx_ignored.Inc(); break;
    case Event::kCheckAddress:
      DropDhcpAddress();
      if (host_.Find(out.lease->itf.address) != nullptr) {
        // Offered an address this host already has from --ip4: nothing to
        // probe, and it stays the configured one's (never removed by DHCP).
        ApplyDhcp(dhcp_->OnAddressChecked(false, ctx_.now));
        return;
      }
      // RFC 2131 4.4.1: probe the offered address before using it.
      dhcp_address_ = out.lease->itf;
      host_.AddAddress({out.lease->itf, out.lease->router, ipv4::AddressState::kTentative});
      acd_.Start(out.lease->itf.address, ctx_.now);
      acd_deadline_.Follow(acd_.NextDeadline());
      break;
    case Event::kBound:
    case Event::kRenewed: {
      const bool same = dhcp_address_ && *dhcp_address_ == out.lease->itf;
      if (!same && host_.Find(out.lease->itf.address) != nullptr) {
        DropDhcpAddress();
        (out.event == Event::kBound ? dhcp_counters_.bound : dhcp_counters_.renewed).Inc();
        ctx_.Log(Subsystem::kDhcp4, LogLevel::kInfo,
                 absl::StrCat("dhcp4: leased ", describe(*out.lease),
                              ", which --ip4 already configures; keeping that configuration"));
        break;
      }
      const ipv4::HostAddress* held = host_.Find(out.lease->itf.address);
      if (!same || held == nullptr || held->gateway != out.lease->router) {
        if (!same) DropDhcpAddress();
        host_.RemoveAddress(out.lease->itf.address);
        host_.AddAddress({out.lease->itf, out.lease->router, ipv4::AddressState::kPreferred});
        dhcp_address_ = out.lease->itf;
      }
      host_.SetState(out.lease->itf.address, ipv4::AddressState::kPreferred);
      (out.event == Event::kBound ? dhcp_counters_.bound : dhcp_counters_.renewed).Inc();
      ctx_.Log(Subsystem::kDhcp4, LogLevel::kInfo,
               absl::StrCat("dhcp4: ", out.event == Event::kBound ? "bound " : "renewed ", describe(*out.lease)));
      break;
    }
    case Event::kDeclined:
      dhcp_counters_.declined.Inc();
      ctx_.Log(
          Subsystem::kDhcp4, LogLevel::kWarn,
          absl::StrCat("dhcp4: ", out.lost->ToString(), " is in use by another host; declined, asking again in 10 s"));
      DropDhcpAddress();
      break;
    case Event::kLost:
      dhcp_counters_.lost.Inc();
      if (out.lost)
        ctx_.Log(Subsystem::kDhcp4, LogLevel::kWarn,
                 absl::StrCat("dhcp4: lost ", out.lost->ToString(), "; asking again"));
      DropDhcpAddress();
      break;
  }
  // A lease lost, declined or replaced by another address takes its
  // connections with it (the other shards' go when the snapshot without the
  // address reaches them).
  tcp_.AbortOnLostAddresses(host_);
  if (out.send) SendDhcp(*out.send);
  dhcp_deadline_.Follow(dhcp_ ? dhcp_->NextDeadline() : Instant::Never());
}

}  // namespace ringstack::engine
