#include "protocols/tcp/rack.h"

#include <algorithm>

namespace ringstack::proto::tcp {

void Rack::OnRttSample(Duration rtt) {
  if (rtt > Duration() && rtt < min_rtt_) min_rtt_ = rtt;
}

void Rack::OnDelivered(const SentSegment& s, Instant now) {
  // Step 1 (RACK_detect_reordering): a segment never retransmitted that
  // arrives below the highest delivered one was reordered.
  if (!fack_valid_ || s.end.After(fack_)) {
    fack_ = s.end;
    fack_valid_ = true;
  } else if (s.end.Before(fack_) && !s.ever_retrans) {
    reordering_seen_ = true;
  }
  // Step 2: an ACK for a retransmitted segment sooner than min_RTT acknowledges
  // the original: no sample from it.
  const Duration rtt = now - s.xmit;
  if (s.ever_retrans && rtt < min_rtt_) return;
  // Step 3: the most recently sent segment delivered so far.
  if (!has_ || SentAfter(s.xmit, s.end, xmit_, end_)) {
    has_ = true;
    xmit_ = s.xmit;
    end_ = s.end;
    rtt_ = rtt;
  }
}

void Rack::UpdateReoWnd(bool dsack, SeqNum snd_una, SeqNum snd_nxt, bool in_recovery, bool exiting_recovery,
                        int sacked_segments, Duration srtt) {
  if (dsack_round_valid_ && snd_una.AfterOrAt(dsack_round_)) dsack_round_valid_ = false;
  if (dsack) {
    // A D-SACK shows a retransmission was needless: the network reorders
    // (as Linux takes it), so from now on RACK waits a reordering window
    // even with DupThresh segments SACKed.
    reordering_seen_ = true;
  }
  if (!dsack_round_valid_ && dsack) {
    // Reordering fooled RACK: a wider window, kept for 16 recoveries.
    dsack_round_valid_ = true;
    dsack_round_ = snd_nxt;
    reo_wnd_mult_ = std::min(reo_wnd_mult_ + 1, 64);
    reo_wnd_persist_ = 16;
  } else if (exiting_recovery) {
    if (--reo_wnd_persist_ <= 0) reo_wnd_mult_ = 1;
  }
  if (!reordering_seen_ && (in_recovery || sacked_segments >= Scoreboard::kDupThresh)) {
    reo_wnd_ = Duration();
    return;
  }
  const Duration base = min_rtt_ == Duration::Infinite() ? Duration() : min_rtt_;
  Duration w = Duration::Nanos(base.nanos() / 4 * reo_wnd_mult_);
  if (srtt > Duration()) w = std::min(w, srtt);
  reo_wnd_ = w;
}

Duration Rack::DetectLoss(Scoreboard& sb, Instant now, int& marked) {
  marked = 0;
  if (!has_) return Duration();
  Duration timeout;
  for (std::size_t i = 0; i < sb.size(); ++i) {
    const SentSegment& s = sb.at(i);
    if (s.sacked) continue;
    if (SentAfter(s.xmit, s.end, xmit_, end_)) {
      // Never retransmitted: so is everything after it (sent later still).
      if (!s.ever_retrans) break;
      continue;
    }
    if (s.lost && !s.retrans_out) continue;  // already waiting to go again
    const Duration remaining = (s.xmit + rtt_ + reo_wnd_) - now;
    if (remaining <= Duration()) {
      sb.MarkLost(i);
      ++marked;
    } else {
      timeout = std::max(timeout, remaining);
    }
  }
  return timeout;
}

}  // namespace ringstack::proto::tcp
