#include "protocols/dhcp4/dhcp4_client.h"

#include <algorithm>
#include <bit>

namespace ringstack::proto::dhcp4 {
namespace {

const Ipv4Address kBroadcast = Ipv4Address(0xffffffffu);

Duration Seconds(std::uint32_t s) {
  // 0xffffffff is "infinity" (RFC 2131 3.3); a century will do.
  return s == 0xffffffffu ? Duration::Seconds(std::int64_t{100} * 365 * 24 * 3600) : Duration::Seconds(s);
}

}  // namespace

const char* Dhcp4Client::StateName(State s) {
  switch (s) {
    case State::kInit: return "init";
    case State::kSelecting: return "selecting";
    case State::kRequesting: return "requesting";
    case State::kChecking: return "checking";
    case State::kBound: return "bound";
    case State::kRenewing: return "renewing";
    case State::kRebinding: return "rebinding";
    case State::kRebooting: return "rebooting";
  }
  return "?";
}

// RFC 2131 4.1: "randomized by the value of a uniform random number chosen
// from the range -1 to +1".
Duration Dhcp4Client::Jitter(Duration d) {
  return rng_.Uniform(d - Duration::Seconds(1), d + Duration::Seconds(1));
}

Dhcp4Client::Transmit Dhcp4Client::Request(Ipv4Address ciaddr, std::optional<Ipv4Address> requested,
                                           std::optional<Ipv4Address> server, Ipv4Address src,
                                           Ipv4Address dst) const {
  Dhcp4Repr m;
  m.op = kOpRequest;
  m.xid = xid_;
  m.chaddr = mac_;
  m.type = MessageType::kRequest;
  m.ciaddr = ciaddr;
  // Until we have an address, ask for broadcast answers (RFC 2131 4.1).
  m.flags = ciaddr.IsUnspecified() ? kFlagBroadcast : 0;
  m.requested_ip = requested;
  m.server_id = server;
  m.request_parameters = true;
  return Transmit{m, src, dst};
}

Dhcp4Client::Outcome Dhcp4Client::Discover(Instant now) {
  state_ = State::kSelecting;
  xid_ = static_cast<std::uint32_t>(rng_.Next());
  offered_.reset();
  server_.reset();
  backoff_ = config_.initial_retransmit;
  deadline_ = now + Jitter(backoff_);
  Outcome out;
  out.send = DiscoverMessage();
  return out;
}

Dhcp4Client::Transmit Dhcp4Client::DiscoverMessage() const {
  Dhcp4Repr m;
  m.op = kOpRequest;
  m.xid = xid_;
  m.chaddr = mac_;
  m.flags = kFlagBroadcast;
  m.type = MessageType::kDiscover;
  m.request_parameters = true;
  return Transmit{m, Ipv4Address(), kBroadcast};
}

Dhcp4Client::Outcome Dhcp4Client::Start(Instant now, std::optional<Ipv4Address> previous) {
  lease_.reset();
  if (!previous) return Discover(now);
  // RFC 2131 4.4.2: INIT-REBOOT broadcasts a REQUEST for the old address,
  // with no server identifier.
  state_ = State::kRebooting;
  xid_ = static_cast<std::uint32_t>(rng_.Next());
  tries_ = 1;
  backoff_ = config_.initial_retransmit;
  deadline_ = now + Jitter(backoff_);
  offered_ = previous;
  request_at_ = now;
  Outcome out;
  out.send = Request(Ipv4Address(), previous, std::nullopt, Ipv4Address(), kBroadcast);
  return out;
}

std::optional<Lease> Dhcp4Client::LeaseFrom(const Dhcp4Repr& ack) const {
  if (ack.yiaddr.IsUnspecified() || ack.yiaddr.IsMulticast() || ack.yiaddr.IsLimitedBroadcast()) return std::nullopt;
  Lease l;
  int prefix = 24;
  if (ack.subnet_mask) {
    const std::uint32_t mask = ack.subnet_mask->value();
    // A mask is ones then zeros.
    if (mask == 0 || (~mask & (~mask + 1)) != 0) return std::nullopt;
    prefix = std::popcount(mask);
  } else {
    const std::uint32_t a = ack.yiaddr.value();  // RFC 2131 leaves it to the client: classful
    prefix = a < 0x80000000u ? 8 : a < 0xc0000000u ? 16 : 24;
  }
  l.itf = Ipv4Interface{ack.yiaddr, prefix};
  if (ack.router && l.itf.Contains(*ack.router) && *ack.router != ack.yiaddr) l.router = ack.router;
  l.server = ack.server_id.value_or(server_.value_or(Ipv4Address()));
  // RFC 2131 4.3.1: the server MUST send a lease time in an ACK to a REQUEST.
  if (!ack.lease_time) return std::nullopt;
  l.lease_time = Seconds(*ack.lease_time);
  l.t1 = ack.renewal_time ? Seconds(*ack.renewal_time) : Duration::Nanos(l.lease_time.nanos() / 2);
  l.t2 = ack.rebinding_time ? Seconds(*ack.rebinding_time) : Duration::Nanos(l.lease_time.nanos() / 8 * 7);
  l.t2 = std::min(l.t2, l.lease_time);
  l.t1 = std::min(l.t1, l.t2);
  l.dns = ack.dns;
  l.dns_count = ack.dns_count;
  return l;
}

Dhcp4Client::Outcome Dhcp4Client::Bind(Instant now, Event event) {
  (void)now;
  state_ = State::kBound;
  t1_at_ = request_at_ + lease_->t1;
  t2_at_ = request_at_ + lease_->t2;
  expiry_at_ = request_at_ + lease_->lease_time;
  deadline_ = t1_at_;
  Outcome out;
  out.event = event;
  out.lease = lease_;
  return out;
}

Dhcp4Client::Outcome Dhcp4Client::Lose(Instant now) {
  std::optional<Ipv4Interface> lost;
  if (lease_) lost = lease_->itf;
  lease_.reset();
  expiry_at_ = t1_at_ = t2_at_ = Instant::Never();
  Outcome out = Discover(now);
  out.event = Event::kLost;
  out.lost = lost;
  return out;
}

Dhcp4Client::Outcome Dhcp4Client::OnMessage(const Dhcp4Repr& m, Instant now) {
  Outcome ignored;
  ignored.event = Event::kIgnored;
  if (m.op != kOpReply || m.xid != xid_ || m.chaddr != mac_) return ignored;
  switch (state_) {
    case State::kSelecting: {
      if (m.type != MessageType::kOffer || !m.server_id || m.yiaddr.IsUnspecified()) return ignored;
      // RFC 2131 4.4.1: take the first offer; REQUEST it, naming its server.
      state_ = State::kRequesting;
      offered_ = m.yiaddr;
      server_ = m.server_id;
      tries_ = 1;
      backoff_ = config_.initial_retransmit;
      deadline_ = now + Jitter(backoff_);
      request_at_ = now;
      Outcome out;
      out.send = Request(Ipv4Address(), offered_, server_, Ipv4Address(), kBroadcast);
      return out;
    }
    case State::kRequesting:
    case State::kRebooting:
    case State::kRenewing:
    case State::kRebinding: {
      if (m.type == MessageType::kNak) {
        if (state_ == State::kRequesting || state_ == State::kRebooting) {
          lease_.reset();
          Outcome out = Discover(now);
          out.event = Event::kLost;
          return out;
        }
        return Lose(now);
      }
      if (m.type != MessageType::kAck) return ignored;
      auto lease = LeaseFrom(m);
      if (!lease) return ignored;
      const bool renewal = state_ == State::kRenewing || state_ == State::kRebinding;
      lease_ = lease;
      server_ = lease->server;
      if (renewal) return Bind(now, Event::kRenewed);
      if (config_.check_address) {
        state_ = State::kChecking;
        deadline_ = Instant::Never();
        Outcome out;
        out.event = Event::kCheckAddress;
        out.lease = lease_;
        return out;
      }
      return Bind(now, Event::kBound);
    }
    default:
      return ignored;
  }
}

Dhcp4Client::Outcome Dhcp4Client::OnAddressChecked(bool conflict, Instant now) {
  if (state_ != State::kChecking || !lease_) return {};
  if (!conflict) return Bind(now, Event::kBound);
  // RFC 2131 3.1.5: DECLINE, then restart no sooner than ten seconds later.
  Dhcp4Repr m;
  m.op = kOpRequest;
  m.xid = xid_;
  m.chaddr = mac_;
  m.type = MessageType::kDecline;
  m.requested_ip = lease_->itf.address;
  m.server_id = lease_->server;
  Outcome out;
  out.send = Transmit{m, Ipv4Address(), kBroadcast};
  out.event = Event::kDeclined;
  out.lost = lease_->itf;
  lease_.reset();
  state_ = State::kInit;
  deadline_ = now + config_.decline_wait;
  return out;
}

// RFC 2131 4.4.5: wait half the time left to `until`, at least 60 s.
Duration Dhcp4Client::RenewWait(Instant now, Instant until) const {
  const Duration half = Duration::Nanos((until - now).nanos() / 2);
  return std::max(half, config_.min_renew_retransmit);
}

Dhcp4Client::Outcome Dhcp4Client::OnTimer(Instant now) {
  if (now < deadline_) return {};
  switch (state_) {
    case State::kInit:
      return Discover(now);
    case State::kSelecting: {
      backoff_ = std::min(backoff_ + backoff_, config_.max_retransmit);
      deadline_ = now + Jitter(backoff_);
      Outcome out;
      out.send = DiscoverMessage();
      return out;
    }
    case State::kRequesting:
    case State::kRebooting: {
      if (tries_ >= config_.max_requests) return Discover(now);
      ++tries_;
      backoff_ = std::min(backoff_ + backoff_, config_.max_retransmit);
      deadline_ = now + Jitter(backoff_);
      Outcome out;
      out.send = Request(Ipv4Address(), offered_,
                         state_ == State::kRequesting ? server_ : std::nullopt, Ipv4Address(), kBroadcast);
      return out;
    }
    case State::kChecking:
      return {};
    case State::kBound:
    case State::kRenewing:
    case State::kRebinding: {
      if (!lease_) return Discover(now);
      if (now >= expiry_at_) return Lose(now);
      Outcome out;
      const Ipv4Address me = lease_->itf.address;
      if (now < t2_at_) {
        // RENEWING: unicast to the server that gave the lease.
        if (state_ != State::kRenewing) xid_ = static_cast<std::uint32_t>(rng_.Next());
        state_ = State::kRenewing;
        request_at_ = now;
        deadline_ = std::min(t2_at_, now + RenewWait(now, t2_at_));
        out.send = Request(me, std::nullopt, std::nullopt, me, lease_->server);
      } else {
        // REBINDING: any server, by broadcast.
        if (state_ != State::kRebinding) xid_ = static_cast<std::uint32_t>(rng_.Next());
        state_ = State::kRebinding;
        request_at_ = now;
        deadline_ = std::min(expiry_at_, now + RenewWait(now, expiry_at_));
        out.send = Request(me, std::nullopt, std::nullopt, me, kBroadcast);
      }
      return out;
    }
  }
  return {};
}

}  // namespace ringstack::proto::dhcp4
