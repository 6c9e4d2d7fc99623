// Ipv6Host: the IPv6 addresses, prefixes and default routers of one
// interface — Duplicate Address Detection and SLAAC (RFC 4862), router
// discovery (RFC 4861 6.3, RS backoff after RFC 7559), on-link
// determination (RFC 5942) and next-hop/source selection. A plain state
// class for the control shard: events and `now` in, what to send and what
// changed out.
//
// Addresses start TENTATIVE (DAD: the solicited-node group joined, then
// DupAddrDetectTransmits NS from :: after a random delay of up to 1 s, one
// RetransTimer apart) and become PREFERRED if no NA for them and no NS from
// :: for them (another host's DAD) arrives; otherwise DUPLICATE, never used.
// SLAAC addresses come from RA prefixes with the A flag and a /64 (others are
// logged and ignored), with the interface identifier from the MAC (EUI-64),
// and follow the prefix's lifetimes (DEPRECATED at the preferred lifetime,
// removed at the valid lifetime, the two-hour rule of 5.5.3 e). Destinations
// are on-link when link-local, in an RA prefix with the L flag, or in the
// prefix of a static address; the rest go to the first default router, or
// where a Redirect from that router said (a destination cache of 256).
#ifndef RINGSTACK_PROTOCOLS_IPV6_IPV6_HOST_H_
#define RINGSTACK_PROTOCOLS_IPV6_IPV6_HOST_H_

#include <optional>
#include <string>
#include <vector>

#include "protocols/common/address.h"
#include "protocols/common/random.h"
#include "protocols/common/time.h"
#include "protocols/icmpv6/nd/nd_repr.h"

namespace ringstack::proto::ipv6 {

enum class AddrState { kTentative, kPreferred, kDeprecated, kDuplicate };
enum class Origin { kLinkLocal, kStatic, kSlaac };
const char* AddrStateName(AddrState s);

struct HostAddress6 {
  Ipv6Interface itf;
  Origin origin = Origin::kStatic;
  AddrState state = AddrState::kTentative;
  Instant preferred_until = Instant::Never();
  Instant valid_until = Instant::Never();
  int dad_sent = 0;
  Instant dad_at = Instant::Never();  // next DAD step while tentative
  int dad_counter = 0;                // RFC 7217 DAD_Counter it was made with
};

struct DefaultRouter {
  Ipv6Address address;  // link-local
  Instant until = Instant::Never();
};

struct OnLinkPrefix {
  Ipv6Interface net;
  Instant until = Instant::Never();
};

struct Ipv6HostConfig {
  int dad_transmits = 1;                                   // RFC 4862 5.1
  Duration retrans_timer = Duration::Seconds(1);           // RFC 4861 10
  Duration max_dad_delay = Duration::Seconds(1);           // RFC 4862 5.4.2
  Duration max_rtr_solicitation_delay = Duration::Seconds(1);
  Duration rtr_solicitation_interval = Duration::Seconds(4);
  int max_rtr_solicitations = 3;
  Duration max_rs_interval = Duration::Seconds(3600);      // RFC 7559 MRT
  std::size_t link_mtu = 1500;
  // Non-empty: RFC 7217 stable-privacy interface identifiers (SHA-256 of
  // the prefix, the MAC, a DAD counter and this secret) instead of EUI-64,
  // for the link-local and SLAAC addresses; a DAD failure retries with the
  // next counter, IDGEN_RETRIES (3) times.
  std::string stable_secret;
};

struct NextHop6 {
  Ipv6Address next_hop;
  Ipv6Address src;
};

class Ipv6Host {
 public:
  Ipv6Host(MacAddress mac, std::uint64_t seed, const Ipv6HostConfig& config = {});

  // What the caller must do after an event.
  struct Events {
    std::vector<Ipv6Address> send_dad;       // NS from :: for these tentative addresses
    std::vector<Ipv6Address> join;           // multicast groups to join (MLD report)
    std::vector<Ipv6Address> leave;          // and to leave
    std::vector<Ipv6Address> preferred;      // DAD passed
    std::vector<Ipv6Address> duplicate;      // DAD failed
    std::vector<Ipv6Interface> removed;      // valid lifetime over
    bool send_rs = false;
    std::vector<std::string> log;            // lines for a person (non-/64 prefix, ...)
    void Merge(Events&& o);
  };

  // `dad` false: PREFERRED at once (and the group joined).
  Events AddAddress(Ipv6Interface itf, Origin origin, Instant now, bool dad = true);
  // A static default router (--gw6), never expiring.
  void AddStaticRouter(const Ipv6Address& router) { static_routers_.push_back(router); }
  // RS with backoff until an RA arrives; call once the link-local address
  // is usable (RFC 4861 6.3.7 allows ::, but then no source link-layer
  // address option, and Linux waits too).
  void StartRouterSolicitation(Instant now);

  // RFC 4862 5.4.3: an NS from :: for a tentative address is another
  // host's DAD. RFC 4862 5.4.4: an NA for a tentative address means it is
  // taken. (For a preferred address an NA is logged only.)
  Events OnNeighborSolicitation(const Ipv6Address& src, const Ipv6Address& target, Instant now);
  Events OnNeighborAdvertisement(const Ipv6Address& target, Instant now);
  // RFC 4861 6.3.4 / RFC 4862 5.5.3 (`src` must already be link-local with
  // hop limit 255; the caller validated that).
  Events OnRouterAdvertisement(const Ipv6Address& src, const nd::RouterAdvertisement& ra, Instant now);
  // RFC 4861 8.1/8.3: a Redirect from the current first-hop router for its
  // destination (the caller checked hop limit 255 and a link-local source)
  // sends that destination to `target` from now on. False when refused.
  bool OnRedirect(const Ipv6Address& src, const nd::Redirect& redirect);
  Events OnTimer(Instant now);
  Instant NextDeadline() const;

  const HostAddress6* Find(const Ipv6Address& a) const;
  // Ours to receive on and send from: PREFERRED or DEPRECATED.
  bool IsLocal(const Ipv6Address& a) const;
  // Joined: all-nodes and the solicited-node groups of every address that
  // is not DUPLICATE (tentative ones included: DAD needs them).
  bool IsJoined(const Ipv6Address& group) const;
  // A 33:33:... Ethernet address of a joined group (RFC 2464 7), for
  // multicast filtering below IP.
  bool IsJoinedMac(const MacAddress& mac) const;
  std::optional<NextHop6> Lookup(const Ipv6Address& dst) const;
  // RFC 6724 5 (source_select.h) among the preferred and deprecated
  // addresses. :: when there is none.
  Ipv6Address SourceFor(const Ipv6Address& dst) const;
  // The link-local address in use (or being probed).
  Ipv6Address link_local() const;
  // The address of `prefix`/64 this host forms: EUI-64, or RFC 7217.
  Ipv6Address FormAddress(const Ipv6Address& prefix, int dad_counter) const;

  const std::vector<HostAddress6>& addresses() const { return addresses_; }
  const std::vector<DefaultRouter>& routers() const { return routers_; }
  const std::vector<OnLinkPrefix>& prefixes() const { return prefixes_; }
  std::size_t mtu() const { return mtu_; }
  const std::vector<Ipv6Address>& dns() const { return dns_; }

 private:
  HostAddress6* FindMutable(const Ipv6Address& a);
  void MarkDuplicate(HostAddress6& a, Events& ev, Instant now);
  bool OnLink(const Ipv6Address& dst) const;

  MacAddress mac_;
  SplitMix64 rng_;
  Ipv6HostConfig config_;
  std::vector<HostAddress6> addresses_;
  std::vector<DefaultRouter> routers_;
  std::vector<Ipv6Address> static_routers_;
  std::vector<OnLinkPrefix> prefixes_;
  std::vector<std::pair<Ipv6Address, Ipv6Address>> redirects_;  // destination -> next hop, newest last
  std::vector<Ipv6Address> dns_;
  std::size_t mtu_;
  // Router solicitation.
  bool soliciting_ = false;
  bool ra_seen_ = false;
  int rs_sent_ = 0;
  Duration rs_interval_;
  Instant rs_at_ = Instant::Never();
};

}  // namespace ringstack::proto::ipv6

#endif  // RINGSTACK_PROTOCOLS_IPV6_IPV6_HOST_H_
