// MldHost: the listener side of MLDv2 (RFC 3810 6), a plain state class.
//
// Joining or leaving a group sends a State Change Report (CHANGE_TO_EXCLUDE
// or CHANGE_TO_INCLUDE with no sources) at once and repeats it Robustness
// Variable - 1 more times, each after a random delay of up to the Unsolicited
// Report Interval (1 s). A General Query is answered after a random delay of
// up to its Maximum Response Delay with one Current State Report listing
// every group (MODE_IS_EXCLUDE); a Multicast-Address-Specific Query likewise
// for its group if joined. The all-nodes group ff02::1 is never reported
// (RFC 3810 6). Reports go to ff02::16 with hop limit 1 and a Router Alert.
#ifndef RINGSTACK_PROTOCOLS_ICMPV6_MLD_MLD_HOST_H_
#define RINGSTACK_PROTOCOLS_ICMPV6_MLD_MLD_HOST_H_

#include <cstdint>
#include <vector>

#include "absl/functional/function_ref.h"
#include "protocols/common/random.h"
#include "protocols/common/time.h"
#include "protocols/icmpv6/mld/mld_repr.h"

namespace ringstack::proto::mld {

struct MldHostConfig {
  int robustness = 2;
  Duration unsolicited_report_interval = Duration::Seconds(1);
};

class MldHost {
 public:
  explicit MldHost(std::uint64_t seed, const MldHostConfig& config = {}) : rng_(seed), config_(config) {}

  // Returns the records of the report to send now (empty if nothing changed).
  std::vector<Record> Join(const Ipv6Address& group, Instant now);
  std::vector<Record> Leave(const Ipv6Address& group, Instant now);
  void OnQuery(const Query& q, Instant now);
  // Reports due: `send(records)` for each.
  void OnTimer(Instant now, absl::FunctionRef<void(const std::vector<Record>&)> send);
  Instant NextDeadline() const;
  const std::vector<Ipv6Address>& groups() const { return groups_; }

 private:
  struct Pending {
    Record record;
    int left = 0;  // retransmissions still to go
    Instant at = Instant::Never();
  };
  std::vector<Record> Change(const Ipv6Address& group, RecordType type, Instant now);

  SplitMix64 rng_;
  MldHostConfig config_;
  std::vector<Ipv6Address> groups_;
  std::vector<Pending> changes_;          // state-change retransmissions
  Instant general_at_ = Instant::Never();  // pending general-query response
  std::vector<std::pair<Ipv6Address, Instant>> specific_;  // group-specific responses
};

}  // namespace ringstack::proto::mld

#endif  // RINGSTACK_PROTOCOLS_ICMPV6_MLD_MLD_HOST_H_
