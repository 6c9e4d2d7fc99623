// RACK (RFC 8985 6): time-based loss detection. A segment is deemed lost
// once a segment sent after it has been delivered and more than RACK.rtt +
// RACK.reo_wnd has passed since it was sent; the reordering window grows
// with D-SACKs (reordering that fooled it) and shrinks back over recoveries.
// Until reordering is seen the window is zero once DupThresh segments are
// SACKed (6.2 step 4); a D-SACK counts as seeing it (as Linux does), since a
// retransmitted segment's late original cannot show it by step 1.
// The tail loss probe (RFC 8985 7) is the connection's: it owns the timers.
// Pure; never allocates.
#ifndef RINGSTACK_PROTOCOLS_TCP_RACK_H_
#define RINGSTACK_PROTOCOLS_TCP_RACK_H_

#include <cstdint>

#include "protocols/common/time.h"
#include "protocols/tcp/scoreboard.h"
#include "protocols/tcp/seq_num.h"

namespace ringstack::proto::tcp {

class Rack {
 public:
  // RFC 8985 6.2 steps 1-3 for a segment an ACK newly delivered (cumulatively
  // or by SACK) at `now`.
  void OnDelivered(const SentSegment& s, Instant now);
  // An RTT sample the connection took (RACK.min_RTT follows every sample).
  void OnRttSample(Duration rtt);
  // Step 4, once per ACK: `dsack` when it carried one; `exiting_recovery`
  // when it ended a recovery; `sacked_segments` SACKed records now held.
  void UpdateReoWnd(bool dsack, SeqNum snd_una, SeqNum snd_nxt, bool in_recovery, bool exiting_recovery,
                    int sacked_segments, Duration srtt);
  // Step 5: marks lost what RACK deems so; returns the time until the next
  // not-yet-lost segment would be (the reorder timer), zero for none, and
  // the count marked in `marked`.
  Duration DetectLoss(Scoreboard& sb, Instant now, int& marked);

  Duration rtt() const { return rtt_; }
  Duration min_rtt() const { return min_rtt_; }
  Duration reo_wnd() const { return reo_wnd_; }
  bool reordering_seen() const { return reordering_seen_; }

 private:
  // RFC 8985 RACK_sent_after.
  static bool SentAfter(Instant t1, SeqNum e1, Instant t2, SeqNum e2) {
    return t1 > t2 || (t1 == t2 && e1.After(e2));
  }

  bool has_ = false;
  Instant xmit_;
  SeqNum end_;
  Duration rtt_;
  Duration min_rtt_ = Duration::Infinite();
  bool fack_valid_ = false;
  SeqNum fack_;
  bool reordering_seen_ = false;
  int reo_wnd_mult_ = 1;
  int reo_wnd_persist_ = 0;
  bool dsack_round_valid_ = false;
  SeqNum dsack_round_;
  Duration reo_wnd_;
};

}  // namespace ringstack::proto::tcp

#endif  // RINGSTACK_PROTOCOLS_TCP_RACK_H_
