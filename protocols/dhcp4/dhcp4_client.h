// Dhcp4Client: the DHCPv4 client state machine (RFC 2131 section 4.4, figure
// 5), a plain state class: messages, address-check results and `now` in;
// messages to send, and lease events for the caller to apply, out.
//
//   INIT -> SELECTING (DISCOVER, retransmitted 4, 8, ... 64 s +-1 s)
//        -> REQUESTING on an OFFER (REQUEST naming the server; up to
//           `max_requests`, then back to INIT)
//        -> CHECKING on the ACK when `check_address`: the caller probes the
//           address (RFC 5227) and reports; a conflict sends DECLINE and
//           restarts after 10 s (RFC 2131 3.1.5)
//        -> BOUND until T1 -> RENEWING (unicast REQUEST to the server) until
//           T2 -> REBINDING (broadcast REQUEST) until the lease expires: the
//           address is lost, back to INIT. A NAK anywhere also means INIT.
//   INIT-REBOOT: Start with a previous address -> REBOOTING (broadcast
//           REQUEST for it) -> BOUND on ACK, INIT on NAK or silence.
// Times come from the ACK: lease (51), T1 (58, default lease/2), T2 (59,
// default 7/8 lease). Retransmission jitter comes from a seed.
#ifndef RINGSTACK_PROTOCOLS_DHCP4_DHCP4_CLIENT_H_
#define RINGSTACK_PROTOCOLS_DHCP4_DHCP4_CLIENT_H_

#include <cstdint>
#include <optional>

#include "protocols/common/random.h"
#include "protocols/dhcp4/dhcp4_repr.h"

namespace ringstack::proto::dhcp4 {

struct Dhcp4ClientConfig {
  Duration initial_retransmit = Duration::Seconds(4);
  Duration max_retransmit = Duration::Seconds(64);
  int max_requests = 4;                              // REQUESTING / REBOOTING tries
  Duration decline_wait = Duration::Seconds(10);     // RFC 2131 3.1.5
  Duration min_renew_retransmit = Duration::Seconds(60);  // RFC 2131 4.4.5
  bool check_address = true;                         // ACD on the offered address
};

struct Lease {
  Ipv4Interface itf;  // address and prefix
  std::optional<Ipv4Address> router;
  Ipv4Address server;
  Duration lease_time;
  Duration t1;
  Duration t2;
  std::array<Ipv4Address, 3> dns{};
  std::uint8_t dns_count = 0;
  bool operator==(const Lease&) const = default;
};

class Dhcp4Client {
 public:
  enum class State { kInit, kSelecting, kRequesting, kChecking, kBound, kRenewing, kRebinding, kRebooting };
  static const char* StateName(State s);

  struct Transmit {
    Dhcp4Repr msg;
    Ipv4Address src;  // 0.0.0.0 until bound
    Ipv4Address dst;  // 255.255.255.255 or the server
  };
  enum class Event {
    kNone,
    kIgnored,       // a message not for us or not expected now
    kCheckAddress,  // probe `lease->itf.address`, then call OnAddressChecked
    kBound,         // use `lease`
    kRenewed,       // `lease` extended (its address may have changed: compare)
    kDeclined,      // the checked address was in use; DECLINE sent
    kLost,          // `lost` is no longer ours (NAK or expiry)
  };
  struct Outcome {
    std::optional<Transmit> send;
    Event event = Event::kNone;
    std::optional<Lease> lease;
    std::optional<Ipv4Interface> lost;
  };

  Dhcp4Client(MacAddress mac, std::uint64_t seed, const Dhcp4ClientConfig& config = {})
      : mac_(mac), rng_(seed), config_(config) {}

  // Begins at INIT (DISCOVER now) or, with a previous address, INIT-REBOOT.
  Outcome Start(Instant now, std::optional<Ipv4Address> previous = std::nullopt);
  Outcome OnMessage(const Dhcp4Repr& m, Instant now);
  Outcome OnTimer(Instant now);
  // The caller's verdict on the address of a kCheckAddress event.
  Outcome OnAddressChecked(bool conflict, Instant now);
  Instant NextDeadline() const { return deadline_; }

  State state() const { return state_; }
  const std::optional<Lease>& lease() const { return lease_; }
  Instant lease_expiry() const { return expiry_at_; }

 private:
  Duration Jitter(Duration d);
  Outcome Discover(Instant now);
  Transmit DiscoverMessage() const;
  Transmit Request(Ipv4Address ciaddr, std::optional<Ipv4Address> requested, std::optional<Ipv4Address> server,
                   Ipv4Address src, Ipv4Address dst) const;
  Outcome Bind(Instant now, Event event);
  Outcome Lose(Instant now);
  std::optional<Lease> LeaseFrom(const Dhcp4Repr& ack) const;
  Duration RenewWait(Instant now, Instant until) const;

  MacAddress mac_;
  SplitMix64 rng_;
  Dhcp4ClientConfig config_;
  State state_ = State::kInit;
  std::uint32_t xid_ = 0;
  int tries_ = 0;
  Duration backoff_;
  Instant deadline_ = Instant::Never();
  Instant request_at_;  // when the REQUEST that got the ACK went out (lease start)
  std::optional<Ipv4Address> offered_;
  std::optional<Ipv4Address> server_;
  std::optional<Lease> lease_;  // bound, or being checked
  Instant t1_at_ = Instant::Never();
  Instant t2_at_ = Instant::Never();
  Instant expiry_at_ = Instant::Never();
};

}  // namespace ringstack::proto::dhcp4

#endif  // RINGSTACK_PROTOCOLS_DHCP4_DHCP4_CLIENT_H_
