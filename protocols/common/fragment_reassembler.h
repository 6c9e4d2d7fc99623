// FragmentReassembler<Key, First>: the reassembly core shared by IPv4 (RFC
// 791 3.2, RFC 815) and IPv6 (RFC 8200 4.5): fragments and `now` in, a whole
// payload or a drop reason out. Header-only because it is a template; a
// plain state class (no clock, no threads) like the rest of protocols/.
//
// `Key` identifies a datagram (addresses, identification, ...) and has
// `source()` for the per-source share; `First` is what the caller keeps of
// fragment zero (its header) and gets back with the whole payload.
//
// Fragments may come in any order; an exact duplicate is ignored; a fragment
// overlapping received bytes with different content drops the whole datagram
// (RFC 5722 with erratum 3089; Linux does the same for IPv4 since 2018).
// Memory is bounded in total, per source and in datagram count: a source over
// its share has new fragments dropped; at the total or count bound the oldest
// incomplete datagrams of others are evicted (Linux's evictor idea), so a
// flood of never-completed fragments ages out in favour of traffic that
// completes. Each datagram expires `timeout` after its first fragment.
#ifndef RINGSTACK_PROTOCOLS_COMMON_FRAGMENT_REASSEMBLER_H_
#define RINGSTACK_PROTOCOLS_COMMON_FRAGMENT_REASSEMBLER_H_

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "protocols/common/bytes.h"
#include "protocols/common/time.h"

namespace ringstack::proto {

struct ReassemblyConfig {
  Duration timeout = Duration::Seconds(30);      // RFC 791 suggests 15 s; Linux uses 30 s (RFC 8200: 60 s)
  std::size_t max_total_bytes = 4u << 20;        // all datagrams in progress
  std::size_t max_bytes_per_source = 1u << 20;   // one sender's share
  std::size_t max_datagrams = 4096;              // in progress at once
};

enum class ReassemblyStatus {
  kIncomplete,  // held; more fragments needed
  kComplete,    // `payload` is the whole datagram's payload
  kDuplicate,   // already had exactly these bytes; ignored
  kDropped,     // this fragment (and, for kOverlap, its datagram) dropped; see `drop`
};
enum class ReassemblyDrop {
  kNone,
  kOverlap,      // overlaps received bytes with different content
  kTooLong,      // offset + length past the largest payload
  kBadLength,    // a non-last fragment whose length is not a multiple of 8, or empty
  kPastEnd,      // data beyond the end a last fragment fixed (or a second, different end)
  kMemoryLimit,  // would exceed a memory bound
};

template <typename Key, typename First>
class FragmentReassembler {
 public:
  static constexpr std::size_t kHeadBytes = 64;  // kept of fragment zero's data for errors

  struct Outcome {
    ReassemblyStatus status = ReassemblyStatus::kIncomplete;
    ReassemblyDrop drop = ReassemblyDrop::kNone;
    First first{};   // kComplete: fragment zero's
    Bytes payload;   // kComplete: valid until the next call
  };
  struct Expired {
    Key key;
    bool had_first = false;
    First first{};
    std::array<std::byte, kHeadBytes> head{};  // fragment zero's first bytes
    std::size_t head_len = 0;
  };

  FragmentReassembler(const ReassemblyConfig& config, std::uint32_t max_payload_end)
      : config_(config), max_end_(max_payload_end) {}

  Outcome OnFragment(const Key& key, std::uint32_t begin, bool more, Bytes payload, const First& meta, Instant now);
  void OnTimer(Instant now, absl::FunctionRef<void(const Expired&)> expired);
  Instant NextDeadline() const;

  std::size_t datagrams() const { return datagrams_.size(); }
  std::size_t bytes_held() const { return total_bytes_; }
  std::uint64_t evicted() const { return evicted_; }

 private:
  using Source = std::remove_cvref_t<decltype(std::declval<const Key&>().source())>;
  struct Range {
    std::uint32_t begin;
    std::uint32_t end;
  };
  struct Datagram {
    std::vector<std::byte> data;  // grows to the furthest byte seen
    std::vector<Range> ranges;    // received, sorted, merged
    std::uint32_t total = 0;      // payload length once the last fragment came
    bool have_last = false;
    bool have_first = false;
    First first{};
    Instant deadline;
    std::uint64_t serial = 0;
  };
  using Map = absl::flat_hash_map<Key, Datagram>;

  static Outcome Dropped(ReassemblyDrop why) {
    Outcome o;
    o.status = ReassemblyStatus::kDropped;
    o.drop = why;
    return o;
  }
  void Erase(typename Map::iterator it);
  // The datagram `key` names, or a new one (within the source's share and
  // the bounds, room made if need be) for a fragment ending at `end`; end()
  // when there is no room.
  typename Map::iterator FindOrStart(const Key& key, std::uint32_t end, Instant now);
  // Adds `r` to `ranges`, which stay sorted and disjoint.
  static void Merge(std::vector<Range>& ranges, Range r);
  bool MakeRoom(const Key& keep, std::size_t need, bool new_datagram);
  void TrimAge();
  static bool Covered(const std::vector<Range>& ranges, std::uint32_t begin, std::uint32_t end) {
    return std::any_of(ranges.begin(), ranges.end(), [&](const Range& r) { return r.begin <= begin && end <= r.end; });
  }

  ReassemblyConfig config_;
  std::uint32_t max_end_;
  Map datagrams_;
  absl::flat_hash_map<Source, std::size_t> bytes_per_source_;
  std::size_t total_bytes_ = 0;
  std::vector<std::byte> completed_;
  std::deque<std::pair<Key, std::uint64_t>> age_;  // by age (one timeout for all: also by deadline)
  std::uint64_t next_serial_ = 1;
  std::uint64_t evicted_ = 0;
};

template <typename Key, typename First>
void FragmentReassembler<Key, First>::Erase(typename Map::iterator it) {
  const std::size_t held = it->second.data.size();
  total_bytes_ -= held;
  auto src = bytes_per_source_.find(it->first.source());
  if (src != bytes_per_source_.end()) {
    src->second -= held;
    if (src->second == 0) bytes_per_source_.erase(src);
  }
  datagrams_.erase(it);
}

template <typename Key, typename First>
void FragmentReassembler<Key, First>::TrimAge() {
  auto live = [this](const std::pair<Key, std::uint64_t>& e) {
    const auto it = datagrams_.find(e.first);
    return it != datagrams_.end() && it->second.serial == e.second;
  };
  while (!age_.empty() && !live(age_.front())) age_.pop_front();
  if (age_.size() > 2 * datagrams_.size() + 64) std::erase_if(age_, [&](const auto& e) { return !live(e); });
}

template <typename Key, typename First>
bool FragmentReassembler<Key, First>::MakeRoom(const Key& keep, std::size_t need, bool new_datagram) {
  auto fits = [&] {
    return total_bytes_ + need <= config_.max_total_bytes &&
           (!new_datagram || datagrams_.size() < config_.max_datagrams);
  };
  TrimAge();
  std::size_t i = 0;
  while (!fits() && i < age_.size()) {
    const auto [key, serial] = age_[i];
    const auto it = datagrams_.find(key);
    if (it == datagrams_.end() || it->second.serial != serial || key == keep) {
      ++i;
      continue;
    }
    Erase(it);
    ++evicted_;
  }
  TrimAge();
  return fits();
}

template <typename Key, typename First>
typename FragmentReassembler<Key, First>::Map::iterator FragmentReassembler<Key, First>::FindOrStart(
    const Key& key, std::uint32_t end, Instant now) {
  auto it = datagrams_.find(key);
  if (it != datagrams_.end()) return it;
  const auto src = bytes_per_source_.find(key.source());
  const std::size_t held = src == bytes_per_source_.end() ? 0 : src->second;
  if (held + end > config_.max_bytes_per_source || !MakeRoom(key, end, true)) return datagrams_.end();
  it = datagrams_.try_emplace(key).first;
  it->second.deadline = now + config_.timeout;
  it->second.serial = next_serial_++;
  age_.emplace_back(key, it->second.serial);
  return it;
}

template <typename Key, typename First>
void FragmentReassembler<Key, First>::Merge(std::vector<Range>& ranges, Range r) {
  ranges.push_back(r);
  std::sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) { return a.begin < b.begin; });
  std::size_t w = 0;
  for (std::size_t i = 1; i < ranges.size(); ++i) {
    if (ranges[i].begin <= ranges[w].end) {
      ranges[w].end = std::max(ranges[w].end, ranges[i].end);
    } else {
      ranges[++w] = ranges[i];
    }
  }
  ranges.resize(w + 1);
}

template <typename Key, typename First>
typename FragmentReassembler<Key, First>::Outcome FragmentReassembler<Key, First>::OnFragment(
    const Key& key, std::uint32_t begin, bool more, Bytes payload, const First& meta, Instant now) {
  const auto end = static_cast<std::uint32_t>(begin + payload.size());
  // Every fragment but the last carries a multiple of 8 bytes.
  if (payload.empty() || (more && payload.size() % 8 != 0)) return Dropped(ReassemblyDrop::kBadLength);
  if (end > max_end_) return Dropped(ReassemblyDrop::kTooLong);
  auto it = FindOrStart(key, end, now);
  if (it == datagrams_.end()) return Dropped(ReassemblyDrop::kMemoryLimit);
  Datagram& d = it->second;

  // The end of the datagram: fixed by the last fragment, never exceeded.
  if ((d.have_last && (end > d.total || (!more && end != d.total))) ||
      (!more && !d.ranges.empty() && d.ranges.back().end > end)) {
    Erase(it);
    return Dropped(ReassemblyDrop::kPastEnd);
  }
  // Overlap: identical bytes are a duplicate; anything else poisons the datagram.
  bool overlaps = false;
  for (const Range& r : d.ranges) {
    const std::uint32_t lo = std::max(r.begin, begin);
    const std::uint32_t hi = std::min(r.end, end);
    if (lo >= hi) continue;
    overlaps = true;
    if (std::memcmp(d.data.data() + lo, payload.data() + (lo - begin), hi - lo) != 0) {
      Erase(it);
      return Dropped(ReassemblyDrop::kOverlap);
    }
  }
  if (overlaps && Covered(d.ranges, begin, end)) {
    Outcome o;
    o.status = ReassemblyStatus::kDuplicate;
    return o;
  }
  // Memory bounds, charged by how far the buffer must grow.
  const std::size_t grow = end > d.data.size() ? end - d.data.size() : 0;
  if (grow != 0 && total_bytes_ + grow > config_.max_total_bytes) MakeRoom(key, grow, false);
  std::size_t& per_source = bytes_per_source_[key.source()];
  if (total_bytes_ + grow > config_.max_total_bytes || per_source + grow > config_.max_bytes_per_source) {
    if (per_source == 0) bytes_per_source_.erase(key.source());
    if (d.ranges.empty()) {
      datagrams_.erase(it);  // nothing held yet
    } else {
      Erase(it);
    }
    return Dropped(ReassemblyDrop::kMemoryLimit);
  }
  if (grow != 0) {
    d.data.resize(end);
    total_bytes_ += grow;
    per_source += grow;
  }
  std::memcpy(d.data.data() + begin, payload.data(), payload.size());
  Merge(d.ranges, Range{begin, end});
  if (!more) {
    d.have_last = true;
    d.total = end;
  }
  if (begin == 0) {
    d.have_first = true;
    d.first = meta;
  }
  Outcome out;
  if (!(d.have_last && d.ranges.size() == 1 && d.ranges[0].begin == 0 && d.ranges[0].end == d.total)) {
    out.status = ReassemblyStatus::kIncomplete;
    return out;
  }
  // Complete: hand out the payload and fragment zero's metadata.
  const std::size_t held = d.data.size();  // == d.total: nothing lies past the end
  completed_ = std::move(d.data);
  out.first = d.first;
  total_bytes_ -= held;
  per_source -= held;
  if (per_source == 0) bytes_per_source_.erase(key.source());
  datagrams_.erase(it);
  out.status = ReassemblyStatus::kComplete;
  out.payload = Bytes(completed_.data(), completed_.size());
  return out;
}

template <typename Key, typename First>
void FragmentReassembler<Key, First>::OnTimer(Instant now, absl::FunctionRef<void(const Expired&)> expired) {
  for (auto it = datagrams_.begin(); it != datagrams_.end();) {
    if (it->second.deadline > now) {
      ++it;
      continue;
    }
    Expired e;
    e.key = it->first;
    const Datagram& d = it->second;
    e.had_first = d.have_first;
    if (d.have_first) {
      e.first = d.first;
      // Fragment zero is there, so the first range starts at 0.
      e.head_len = d.ranges.empty() ? 0 : std::min<std::size_t>(kHeadBytes, d.ranges.front().end);
      std::copy_n(d.data.begin(), e.head_len, e.head.begin());
    }
    Erase(it++);
    expired(e);
  }
  TrimAge();
}

template <typename Key, typename First>
Instant FragmentReassembler<Key, First>::NextDeadline() const {
  // The oldest live datagram expires first (one timeout for all).
  for (const auto& [key, serial] : age_) {
    const auto it = datagrams_.find(key);
    if (it != datagrams_.end() && it->second.serial == serial) return it->second.deadline;
  }
  return Instant::Never();
}

}  // namespace ringstack::proto

#endif  // RINGSTACK_PROTOCOLS_COMMON_FRAGMENT_REASSEMBLER_H_
