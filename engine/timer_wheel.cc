#include "engine/timer_wheel.h"

#include <algorithm>

namespace ringstack::engine {

TimerWheel::TimerWheel(Instant start, Duration tick) : start_(start), tick_(tick) {
  for (auto& level : heads_) std::fill(std::begin(level), std::end(level), kNil);
}

std::uint64_t TimerWheel::TickOf(Instant t) const {
  if (t <= start_) return 0;
  const std::int64_t ns = (t - start_).nanos();
  return static_cast<std::uint64_t>((ns + tick_.nanos() - 1) / tick_.nanos());
}

TimerWheel::TimerId TimerWheel::Arm(Instant deadline, std::uint64_t cookie) {
  std::uint32_t index;
  if (free_head_ != kNil) {
    index = free_head_;
    free_head_ = nodes_[index].next;
  } else {
    index = static_cast<std::uint32_t>(nodes_.size());
    nodes_.emplace_back();
  }
  Node& n = nodes_[index];
  n.deadline_tick = deadline.IsNever() ? UINT64_MAX : std::max(TickOf(deadline), current_tick_ + 1);
  n.cookie = cookie;
  Insert(index);
  ++armed_;
  return TimerId{index, n.generation};
}

void TimerWheel::Insert(std::uint32_t index) {
  Node& n = nodes_[index];
  const std::uint64_t delta = n.deadline_tick - current_tick_;
  int level = 0;
  while (level < kLevels - 1 && delta >= (std::uint64_t{1} << (kSlotBits * (level + 1)))) ++level;
  std::uint64_t tick = n.deadline_tick;
  if (level == kLevels - 1 && delta >= (std::uint64_t{1} << (kSlotBits * kLevels))) {
    // Beyond the wheel: park in the farthest slot, re-filed when it comes up.
    tick = current_tick_ + (std::uint64_t{kSlots - 1} << (kSlotBits * (kLevels - 1)));
  }
  const int slot = static_cast<int>((tick >> (kSlotBits * level)) & (kSlots - 1));
  n.level = static_cast<std::int16_t>(level);
  n.slot = static_cast<std::int16_t>(slot);
  n.prev = kNil;
  n.next = heads_[level][slot];
  if (n.next != kNil) nodes_[n.next].prev = index;
  heads_[level][slot] = index;
  ++level_count_[level];
}

void TimerWheel::Unlink(std::uint32_t index) {
  Node& n = nodes_[index];
  if (n.prev != kNil) {
    nodes_[n.prev].next = n.next;
  } else {
    heads_[n.level][n.slot] = n.next;
  }
  if (n.next != kNil) nodes_[n.next].prev = n.prev;
  --level_count_[n.level];
  n.level = -1;
}

bool TimerWheel::Cancel(TimerId id) {
  if (id.index >= nodes_.size()) return false;
  Node& n = nodes_[id.index];
  if (n.generation != id.generation || n.level < 0) return false;
  Unlink(id.index);
  ++n.generation;
  n.next = free_head_;
  free_head_ = id.index;
  --armed_;
  return true;
}

void TimerWheel::CascadeLevel(int level) {
  const int slot = static_cast<int>((current_tick_ >> (kSlotBits * level)) & (kSlots - 1));
  std::uint32_t index = heads_[level][slot];
  heads_[level][slot] = kNil;
  while (index != kNil) {
    const std::uint32_t next = nodes_[index].next;
    --level_count_[level];
    Insert(index);  // lands on a lower level (or stays parked if still far)
    index = next;
  }
}

void TimerWheel::Advance(Instant now, absl::FunctionRef<void(std::uint64_t)> fire) {
  const std::uint64_t target = now <= start_ ? 0 : static_cast<std::uint64_t>((now - start_).nanos() / tick_.nanos());
  while (current_tick_ < target) {
    if (armed_ == 0) {
      current_tick_ = target;
      break;
    }
    // Skip ahead over empty lower levels to the next tick where a cascade or
    // a level-0 slot can matter.
    if (level_count_[0] == 0) {
      int empty = 1;
      while (empty < kLevels - 1 && level_count_[empty] == 0) ++empty;
      const std::uint64_t span = std::uint64_t{1} << (kSlotBits * empty);
      const std::uint64_t next_boundary = (current_tick_ / span + 1) * span;
      if (next_boundary - 1 > current_tick_) {
        current_tick_ = std::min(target, next_boundary - 1);
        if (current_tick_ == target) break;
      }
    }
    ++current_tick_;
    for (int level = 1; level < kLevels; ++level) {
      if ((current_tick_ & ((std::uint64_t{1} << (kSlotBits * level)) - 1)) != 0) break;
      CascadeLevel(level);
    }
    const int slot = static_cast<int>(current_tick_ & (kSlots - 1));
    while (heads_[0][slot] != kNil) {
      const std::uint32_t index = heads_[0][slot];
      Node& n = nodes_[index];
      Unlink(index);
      ++n.generation;
      const std::uint64_t cookie = n.cookie;
      n.next = free_head_;
      free_head_ = index;
      --armed_;
      fire(cookie);  // may Arm() again: the node is already free
    }
  }
}

Instant TimerWheel::NextExpiry() const {
  if (armed_ == 0) return Instant::Never();
  std::uint64_t best = UINT64_MAX;
  if (level_count_[0] != 0) {
    for (std::uint64_t tick = current_tick_ + 1; tick <= current_tick_ + kSlots; ++tick) {
      if (heads_[0][tick & (kSlots - 1)] != kNil) {
        best = tick;
        break;
      }
    }
  }
  for (int level = 1; level < kLevels; ++level) {
    if (level_count_[level] == 0) continue;
    const int bits = kSlotBits * level;
    // The current block's slot was emptied when it came up; a timer in it now
    // belongs to the block one full turn ahead (i == kSlots).
    for (std::uint64_t i = 1; i <= kSlots; ++i) {
      const std::uint64_t block = (current_tick_ >> bits) + i;
      if (heads_[level][block & (kSlots - 1)] != kNil) {
        best = std::min(best, block << bits);
        break;
      }
    }
  }
  if (best == UINT64_MAX) return Instant::Never();
  return start_ + tick_ * static_cast<std::int64_t>(best);
}

}  // namespace ringstack::engine
