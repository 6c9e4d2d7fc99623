// ConflictDetector: IPv4 Address Conflict Detection (RFC 5227) for the
// addresses of one interface. A plain state class: ARP packets and `now` in,
// probes, announcements and verdicts out; randomness from a seed, so a test
// (and a SimRunner run) sees the same schedule every time.
//
// Each address goes
//   probing    PROBE_NUM ARP probes (sender IP 0.0.0.0, target the address),
//              the first after random(0, PROBE_WAIT), then random(PROBE_MIN,
//              PROBE_MAX) apart; then ANNOUNCE_WAIT of silence. Any ARP
//              packet whose sender IP is the address, or another host's probe
//              for it, is a conflict: the address is not used (2.1.1).
//   announcing the address is ours: ANNOUNCE_NUM announcements (sender and
//              target IP the address) ANNOUNCE_INTERVAL apart (2.3).
//   bound      in use. Another host sending from the address is a conflict
//              (2.4): defended with one announcement; a second conflict within
//              DEFEND_INTERVAL means the other host insists, and the address is
//              given up (2.4 (b)).
//   conflict   not used; stays until removed.
#ifndef RINGSTACK_PROTOCOLS_ARP_ARP_ACD_H_
#define RINGSTACK_PROTOCOLS_ARP_ARP_ACD_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/functional/function_ref.h"
#include "protocols/arp/arp_repr.h"
#include "protocols/common/random.h"
#include "protocols/common/time.h"

namespace ringstack::proto::arp {

struct AcdConfig {  // RFC 5227 section 1.1 constants
  Duration probe_wait = Duration::Seconds(1);
  int probe_num = 3;
  Duration probe_min = Duration::Seconds(1);
  Duration probe_max = Duration::Seconds(2);
  Duration announce_wait = Duration::Seconds(2);
  int announce_num = 2;
  Duration announce_interval = Duration::Seconds(2);
  Duration defend_interval = Duration::Seconds(10);
};

class ConflictDetector {
 public:
  enum class Phase { kProbing, kAnnouncing, kBound, kConflict };
  static const char* PhaseName(Phase p);

  ConflictDetector(MacAddress my_mac, std::uint64_t seed, const AcdConfig& config = {})
      : my_mac_(my_mac), rng_(seed), config_(config) {}

  // Starts probing `ip` (again, if it was known).
  void Start(Ipv4Address ip, Instant now);
  void Remove(Ipv4Address ip);
  std::optional<Phase> phase(Ipv4Address ip) const;

  enum class Verdict {
    kNone,
    kConflict,  // probing: another host has it; or bound: it insisted. Not ours now.
    kDefend,    // bound: another host claimed it; send an announcement now
  };
  struct Seen {
    Ipv4Address ip;
    Verdict verdict = Verdict::kNone;
    MacAddress other;  // the other host
  };
  // Looks at every received ARP packet.
  Seen OnArp(const ArpRepr& arp, Instant now);

  enum class Send { kProbe, kAnnouncement };
  // Work due at `now`: `send(ip, what)` for each probe or announcement due,
  // `claimed(ip)` when an address passes probing (before its first
  // announcement goes out).
  void OnTimer(Instant now, absl::FunctionRef<void(Ipv4Address, Send)> send,
               absl::FunctionRef<void(Ipv4Address)> claimed);
  Instant NextDeadline() const;

  // The ARP packets themselves.
  ArpRepr Probe(Ipv4Address ip) const;
  ArpRepr Announcement(Ipv4Address ip) const;

 private:
  struct Address {
    Ipv4Address ip;
    Phase phase = Phase::kProbing;
    int sent = 0;  // probes or announcements so far
    Instant deadline;
    Instant last_defended = Instant::Never();
  };
  Address* FindAddress(Ipv4Address ip);

  MacAddress my_mac_;
  SplitMix64 rng_;
  AcdConfig config_;
  std::vector<Address> addresses_;
};

}  // namespace ringstack::proto::arp

#endif  // RINGSTACK_PROTOCOLS_ARP_ARP_ACD_H_
