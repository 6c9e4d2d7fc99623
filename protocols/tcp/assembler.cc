#include "protocols/tcp/assembler.h"

#include <algorithm>

namespace ringstack::proto::tcp {

bool Assembler::Add(SeqNum rcv_nxt, SeqNum start, SeqNum end) {
  if (!start.Before(end)) return true;  // nothing to hold
  // Positions relative to RCV.NXT order the ranges without wrap-around.
  auto pos = [rcv_nxt](SeqNum s) { return static_cast<std::uint32_t>(s - rcv_nxt); };
  // The first range that ends at or after `start` (touching counts) ...
  std::size_t first = 0;
  while (first < count_ && pos(r_[first].end) < pos(start)) ++first;
  // ... and one past the last that starts at or before `end`.
  std::size_t last = first;
  while (last < count_ && pos(r_[last].start) <= pos(end)) ++last;
  ++clock_;
  if (first == last) {  // touches none: a new range at `first`
    if (count_ == kMaxRanges) return false;
    std::move_backward(r_.begin() + static_cast<long>(first), r_.begin() + static_cast<long>(count_),
                       r_.begin() + static_cast<long>(count_ + 1));
    r_[first] = Range{start, end, clock_};
    ++count_;
    return true;
  }
  // Merge [first, last) with the new one into r_[first].
  Range merged{pos(start) < pos(r_[first].start) ? start : r_[first].start,
               pos(end) > pos(r_[last - 1].end) ? end : r_[last - 1].end, clock_};
  r_[first] = merged;
  const std::size_t gone = last - first - 1;
  std::move(r_.begin() + static_cast<long>(last), r_.begin() + static_cast<long>(count_),
            r_.begin() + static_cast<long>(first + 1));
  count_ -= gone;
  return true;
}

SeqNum Assembler::Advance(SeqNum rcv_nxt) {
  SeqNum next = rcv_nxt;
  std::size_t drop = 0;
  while (drop < count_ && r_[drop].start.BeforeOrAt(next)) {
    next = SeqNum::Max(next, r_[drop].end);
    ++drop;
  }
  std::move(r_.begin() + static_cast<long>(drop), r_.begin() + static_cast<long>(count_), r_.begin());
  count_ -= drop;
  return next;
}

std::size_t Assembler::SackBlocks(std::span<SackBlock> out) const {
  std::array<const Range*, kMaxRanges> by_recency{};
  for (std::size_t i = 0; i < count_; ++i) by_recency[i] = &r_[i];
  std::sort(by_recency.begin(), by_recency.begin() + static_cast<long>(count_),
            [](const Range* a, const Range* b) { return a->touched > b->touched; });
  const std::size_t n = std::min(out.size(), count_);
  for (std::size_t i = 0; i < n; ++i) out[i] = SackBlock{by_recency[i]->start, by_recency[i]->end};
  return n;
}

std::uint32_t Assembler::held() const {
  std::uint32_t n = 0;
  for (std::size_t i = 0; i < count_; ++i) n += static_cast<std::uint32_t>(r_[i].end - r_[i].start);
  return n;
}

}  // namespace ringstack::proto::tcp
