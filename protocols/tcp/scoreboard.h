// Scoreboard: the sender's record of every segment in flight, [SND.UNA,
// SND.NXT) cut where it was sent, with what is known of each — SACKed,
// deemed lost, retransmitted — and when it last went out. It is RFC 6675's
// scoreboard (SACKed octets, IsLost by DupThresh, pipe, NextSeg's first
// rule) and RFC 8985's per-segment transmit times for RACK in one list.
//
// pipe (RFC 6675 4) is kept as counters rather than a walk, as Linux's
// packets_out - (sacked_out + lost_out) + retrans_out: every octet not
// SACKed counts once unless deemed lost, and once more while a
// retransmission of it is in flight.
//
// Bounded by the send buffer: records are at most one per segment sent and
// the ring grows (doubling) only when more are in flight than ever before,
// so a connection's steady state never allocates. Pure.
#ifndef RINGSTACK_PROTOCOLS_TCP_SCOREBOARD_H_
#define RINGSTACK_PROTOCOLS_TCP_SCOREBOARD_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "protocols/common/time.h"
#include "protocols/tcp/seq_num.h"

namespace ringstack::proto::tcp {

// What the delivery rate estimator notes of a segment each time it goes
// (draft-cheng-iccrg-delivery-rate-estimation 3.2): the connection's
// delivered octets then, when that count last moved, when the send
// interval began, and whether the sender was application-limited.
struct RateMark {
  std::uint64_t delivered = 0;
  Instant delivered_at;
  Instant first_sent_at;
  bool app_limited = false;
};

struct SentSegment {
  SeqNum start;
  SeqNum end;  // [start, end) in sequence space: data, plus one for a FIN
  Instant xmit;  // the latest (re)transmission
  bool fin = false;
  bool sacked = false;
  bool lost = false;          // deemed lost (and not SACKed since)
  bool retrans_out = false;   // a retransmission of it is in flight
  bool ever_retrans = false;  // retransmitted at least once (Karn, RACK)
  RateMark rate;              // at the latest (re)transmission
  std::uint32_t len() const { return static_cast<std::uint32_t>(end - start); }
  std::uint32_t data_len() const { return len() - (fin ? 1u : 0u); }
};

class Scoreboard {
 public:
  static constexpr std::size_t kNone = static_cast<std::size_t>(-1);
  static constexpr int kDupThresh = 3;  // RFC 6675 2

  std::size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  const SentSegment& at(std::size_t i) const { return buf_[(head_ + i) & mask_]; }
  const SentSegment& back() const { return at(count_ - 1); }

  // A first transmission of [start, end) (start is the last record's end).
  void OnSend(SeqNum start, SeqNum end, bool fin, Instant now, const RateMark& mark = {});
  // Record `i` went out again at `now`.
  void OnRetransmit(std::size_t i, Instant now, const RateMark& mark = {});
  // Cuts record `i` after its first `n` sequence numbers (0 < n < len).
  void Split(std::size_t i, std::uint32_t n);

  // A cumulative ACK up to `ack`: records before it go; `visit` sees each
  // one that was not already SACKed (what this ACK newly delivered) before
  // it goes. Returns the sequence space newly delivered.
  template <typename Visit>
  std::uint32_t OnAck(SeqNum ack, Visit&& visit);
  // A SACK block [left, right): records wholly inside it are SACKed;
  // `visit` sees each newly SACKed one. A record the block covers only in
  // part is left as it is (RFC 8985's RACK.segment and RFC 6675's IsLost
  // count whole segments delivered; Linux likewise ignores SACKs of less
  // than a segment), but for a FIN: its data SACKed without the FIN splits
  // off the FIN. Returns the octets newly SACKed.
  template <typename Visit>
  std::uint32_t OnSackBlock(SeqNum left, SeqNum right, Visit&& visit);

  // RFC 6675 4 IsLost over every record: one not SACKed is lost once
  // DupThresh SACKed records, or more than (DupThresh - 1) * SMSS SACKed
  // octets, lie above it. Returns how many it newly marked.
  int MarkLostByDupThresh(std::uint32_t smss);
  // Record `i` is deemed lost (again: a lost retransmission may go once more).
  void MarkLost(std::size_t i);
  // The retransmission timer expired: SACK information is dropped (RFC 2018
  // 8: the receiver may have reneged) and every record is lost.
  void MarkAllLost();
  // A reduction was undone as spurious: records deemed lost but not yet
  // sent again are not (loss detection may find them lost again).
  void UnmarkUnsentLost();
  // NextSeg's first rule (RFC 6675 4): the first record deemed lost, not
  // SACKed and not retransmitted since; kNone when none is.
  std::size_t FirstLostToSend();
  // The index of the record holding `seq`, or kNone.
  std::size_t Find(SeqNum seq) const;

  std::uint32_t sacked_bytes() const { return sacked_; }
  std::size_t sacked_records() const { return sacked_records_; }
  std::uint32_t lost_bytes() const { return lost_; }
  std::uint32_t retrans_out_bytes() const { return retrans_out_; }
  // RFC 6675 pipe, given the flight [SND.UNA, SND.NXT) the records cover.
  std::uint32_t Pipe(std::uint32_t flight) const {
    const std::uint32_t out = sacked_ + lost_;
    return (flight > out ? flight - out : 0) + retrans_out_;
  }
  // Holes: runs of records not SACKed below the highest SACKed one.
  int Holes() const;
  // The highest SACKed sequence number (RFC 6675 HighSACK's end), or `una`.
  SeqNum HighSacked(SeqNum una) const;
  void Clear();

 private:
  SentSegment& mut(std::size_t i) { return buf_[(head_ + i) & mask_]; }
  void Grow();
  void Insert(std::size_t i, const SentSegment& s);
  void PopFront();
  // Counter bookkeeping: remove or add a record's contribution.
  void Uncount(const SentSegment& s);
  void Count(const SentSegment& s);

  std::vector<SentSegment> buf_;
  std::size_t head_ = 0;
  std::size_t count_ = 0;
  std::size_t mask_ = 0;
  std::uint32_t sacked_ = 0;
  std::size_t sacked_records_ = 0;
  std::uint32_t lost_ = 0;
  std::uint32_t retrans_out_ = 0;
  std::size_t lost_hint_ = 0;  // no unsent lost record before this index
};

template <typename Visit>
std::uint32_t Scoreboard::OnAck(SeqNum ack, Visit&& visit) {
  std::uint32_t delivered = 0;
  while (count_ != 0 && at(0).start.Before(ack)) {
    SentSegment& s = mut(0);
    if (s.end.BeforeOrAt(ack)) {
      if (!s.sacked) {
        visit(static_cast<const SentSegment&>(s));
        delivered += s.len();
      }
      PopFront();
      continue;
    }
    // The ACK ends inside this record: its front is delivered.
    const auto n = static_cast<std::uint32_t>(ack - s.start);
    if (!s.sacked) {
      SentSegment front = s;
      front.end = ack;
      front.fin = false;
      visit(static_cast<const SentSegment&>(front));
      delivered += n;
    }
    Uncount(s);
    s.start = ack;
    Count(s);
    break;
  }
  lost_hint_ = 0;
  return delivered;
}

template <typename Visit>
std::uint32_t Scoreboard::OnSackBlock(SeqNum left, SeqNum right, Visit&& visit) {
  if (count_ == 0 || !left.Before(right)) return 0;
  // Clip to what is in flight.
  if (left.Before(at(0).start)) left = at(0).start;
  if (right.After(back().end)) right = back().end;
  if (!left.Before(right)) return 0;
  std::size_t i = Find(left);
  if (i == kNone) return 0;
  std::uint32_t newly = 0;
  for (; i < count_ && at(i).start.Before(right); ++i) {
    const SentSegment& r = at(i);
    if (r.sacked || r.start.Before(left)) continue;
    if (r.end.After(right)) {
      const bool data_of_fin = r.fin && r.data_len() != 0 && r.start + r.data_len() == right;
      if (!data_of_fin) continue;
      Split(i, r.data_len());
    }
    SentSegment& s = mut(i);
    Uncount(s);
    s.sacked = true;
    s.lost = false;
    s.retrans_out = false;
    Count(s);
    visit(static_cast<const SentSegment&>(s));
    newly += s.len();
  }
  return newly;
}

}  // namespace ringstack::proto::tcp

#endif  // RINGSTACK_PROTOCOLS_TCP_SCOREBOARD_H_
