#include "protocols/tcp/scoreboard.h"

#include <algorithm>

namespace ringstack::proto::tcp {

void Scoreboard::Grow() {
  const std::size_t cap = buf_.empty() ? 64 : buf_.size() * 2;
  std::vector<SentSegment> next(cap);
  for (std::size_t i = 0; i < count_; ++i) next[i] = at(i);
  buf_ = std::move(next);
  head_ = 0;
  mask_ = cap - 1;
}

void Scoreboard::Uncount(const SentSegment& s) {
  if (s.sacked) {
    sacked_ -= s.len();
    --sacked_records_;
    return;
  }
  if (s.lost) lost_ -= s.len();
  if (s.retrans_out) retrans_out_ -= s.len();
}

void Scoreboard::Count(const SentSegment& s) {
  if (s.sacked) {
    sacked_ += s.len();
    ++sacked_records_;
    return;
  }
  if (s.lost) lost_ += s.len();
  if (s.retrans_out) retrans_out_ += s.len();
}

void Scoreboard::OnSend(SeqNum start, SeqNum end, bool fin, Instant now, const RateMark& mark) {
  if (count_ == buf_.size()) Grow();
  SentSegment s;
  s.start = start;
  s.end = end;
  s.xmit = now;
  s.fin = fin;
  s.rate = mark;
  buf_[(head_ + count_) & mask_] = s;
  ++count_;
}

void Scoreboard::OnRetransmit(std::size_t i, Instant now, const RateMark& mark) {
  SentSegment& s = mut(i);
  Uncount(s);
  s.xmit = now;
  s.rate = mark;
  s.ever_retrans = true;
  s.retrans_out = true;
  Count(s);
}

void Scoreboard::Insert(std::size_t i, const SentSegment& s) {
  if (count_ == buf_.size()) Grow();
  for (std::size_t j = count_; j > i; --j) buf_[(head_ + j) & mask_] = buf_[(head_ + j - 1) & mask_];
  buf_[(head_ + i) & mask_] = s;
  ++count_;
}

void Scoreboard::Split(std::size_t i, std::uint32_t n) {
  SentSegment second = at(i);
  second.start = second.start + n;
  SentSegment& first = mut(i);
  first.end = second.start;
  first.fin = false;
  Insert(i + 1, second);  // the octet counters hold: the octets are the same
  if (second.sacked) ++sacked_records_;
}

void Scoreboard::PopFront() {
  Uncount(at(0));
  head_ = (head_ + 1) & mask_;
  --count_;
}

int Scoreboard::MarkLostByDupThresh(std::uint32_t smss) {
  if (sacked_ == 0) return 0;
  int marked = 0;
  int sacked_above = 0;
  std::uint32_t sacked_octets_above = 0;
  for (std::size_t i = count_; i-- > 0;) {
    SentSegment& s = mut(i);
    if (s.sacked) {
      ++sacked_above;
      sacked_octets_above += s.len();
      continue;
    }
    if (s.lost) continue;
    if (sacked_above >= kDupThresh || sacked_octets_above > (kDupThresh - 1) * smss) {
      Uncount(s);
      s.lost = true;
      Count(s);
      ++marked;
    }
  }
  if (marked != 0) lost_hint_ = 0;
  return marked;
}

void Scoreboard::MarkLost(std::size_t i) {
  SentSegment& s = mut(i);
  if (s.sacked || (s.lost && !s.retrans_out)) return;
  Uncount(s);
  s.lost = true;
  s.retrans_out = false;
  Count(s);
  lost_hint_ = std::min(lost_hint_, i);
}

void Scoreboard::MarkAllLost() {
  sacked_ = lost_ = retrans_out_ = 0;
  sacked_records_ = 0;
  for (std::size_t i = 0; i < count_; ++i) {
    SentSegment& s = mut(i);
    s.sacked = false;
    s.lost = true;
    s.retrans_out = false;
    Count(s);
  }
  lost_hint_ = 0;
}

std::size_t Scoreboard::FirstLostToSend() {
  if (lost_ == 0) return kNone;
  for (; lost_hint_ < count_; ++lost_hint_) {
    const SentSegment& s = at(lost_hint_);
    if (s.lost && !s.sacked && !s.retrans_out) return lost_hint_;
  }
  return kNone;
}

void Scoreboard::UnmarkUnsentLost() {
  if (lost_ == 0) return;
  for (std::size_t i = 0; i < count_; ++i) {
    SentSegment& s = mut(i);
    if (!s.lost || s.sacked || s.retrans_out) continue;
    Uncount(s);
    s.lost = false;
    Count(s);
  }
}

std::size_t Scoreboard::Find(SeqNum seq) const {
  std::size_t lo = 0, hi = count_;
  while (lo < hi) {
    const std::size_t mid = (lo + hi) / 2;
    if (at(mid).end.BeforeOrAt(seq)) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo < count_ && at(lo).start.BeforeOrAt(seq) ? lo : kNone;
}

int Scoreboard::Holes() const {
  int holes = 0;
  bool in_hole = false;
  bool sacked_seen = false;
  for (std::size_t i = count_; i-- > 0;) {
    const SentSegment& s = at(i);
    if (s.sacked) {
      sacked_seen = true;
      in_hole = false;
    } else if (sacked_seen && !in_hole) {
      ++holes;
      in_hole = true;
    }
  }
  return holes;
}

SeqNum Scoreboard::HighSacked(SeqNum una) const {
  for (std::size_t i = count_; i-- > 0;) {
    if (at(i).sacked) return at(i).end;
  }
  return una;
}

void Scoreboard::Clear() {
  head_ = count_ = 0;
  sacked_ = lost_ = retrans_out_ = 0;
  sacked_records_ = 0;
  lost_hint_ = 0;
}

}  // namespace ringstack::proto::tcp
