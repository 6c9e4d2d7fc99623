// FragmentReassembler<Key, First>: the reassembly core shared by IPv4 (RFC
// 791 3.2, RFC 815) and IPv6 (RFC 8200 4.5): fragments and `now` in, a whole
// payload or a drop reason out. Header-only because it is a template; a
// plain state class (no clock, no threads) like the rest of protocols/.
//
// `Key` identifies a datagram (addresses, identification, ...) and has
// `source()` for the per-source share; `First` is what the caller keeps of
// fragment zero (its header) and gets back with the whole payload.
//
// Fragments may come in any order; an exact duplicate (the offset, length
// and bytes of one already received) is ignored; any other overlap discards
// the whole datagram and every later fragment of it until its time is up,
// with no Time Exceeded for it (RFC 5722 with erratum 3089; Linux treats
// IPv4 alike since 2018).
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
  kDiscarded,    // a fragment of a datagram discarded for an overlap (RFC 5722)
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
  // What counts against the bounds: the fragments' bytes and 8 per fragment
  // for its record.
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
    std::vector<Range> pieces;    // the fragments received, sorted (they never overlap)
    std::uint32_t covered = 0;    // bytes they hold
    std::uint32_t total = 0;      // payload length once the last fragment came
    bool have_last = false;
    bool have_first = false;
    bool discarded = false;       // an overlap came: nothing is kept, later fragments are dropped
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
  // What a datagram holds against the memory bounds: its bytes and its
  // fragments' records (so 8-byte fragments cannot hold more than charged).
  static std::size_t Held(const Datagram& d) { return d.data.size() + d.pieces.size() * sizeof(Range); }
  void Release(const Key& key, std::size_t bytes);
  void Erase(typename Map::iterator it);
  // RFC 5722: frees what the datagram held and marks it, so its later
  // fragments are dropped until it expires.
  void Discard(Datagram& d, const Key& key);
  enum class Fit { kNew, kDuplicate, kOverlap };
  static Fit Overlaps(const Datagram& d, std::uint32_t begin, Bytes payload);
  // Copies the fragment in (the bounds checked first); false: no room.
  bool Take(typename Map::iterator it, std::uint32_t begin, Bytes payload);
  // The datagram `key` names, or a new one (within the source's share and
  // the bounds, room made if need be) for a fragment ending at `end`; end()
  // when there is no room.
  typename Map::iterator FindOrStart(const Key& key, std::uint32_t end, Instant now);
  bool MakeRoom(const Key& keep, std::size_t need, bool new_datagram);
  void TrimAge();

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
void FragmentReassembler<Key, First>::Release(const Key& key, std::size_t bytes) {
  total_bytes_ -= bytes;
  auto src = bytes_per_source_.find(key.source());
  if (src != bytes_per_source_.end()) {
    src->second -= bytes;
    if (src->second == 0) bytes_per_source_.erase(src);
  }
}

template <typename Key, typename First>
void FragmentReassembler<Key, First>::Erase(typename Map::iterator it) {
  Release(it->first, Held(it->second));
  datagrams_.erase(it);
}

template <typename Key, typename First>
void FragmentReassembler<Key, First>::Discard(Datagram& d, const Key& key) {
  Release(key, Held(d));
  d.data = {};
  d.pieces = {};
  d.covered = 0;
  d.discarded = true;
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

// A fragment against those received: new bytes, an exact duplicate of one,
// or an overlap (any other shared byte). The pieces are sorted and
// disjoint, so their ends ascend too: only the first piece ending past
// `begin` can share a byte with the fragment.
template <typename Key, typename First>
typename FragmentReassembler<Key, First>::Fit FragmentReassembler<Key, First>::Overlaps(const Datagram& d,
                                                                                       std::uint32_t begin,
                                                                                       Bytes payload) {
  const auto end = static_cast<std::uint32_t>(begin + payload.size());
  const auto r = std::lower_bound(d.pieces.begin(), d.pieces.end(), begin,
                                  [](const Range& p, std::uint32_t b) { return p.end <= b; });
  if (r == d.pieces.end() || r->begin >= end) return Fit::kNew;
  const bool same =
      r->begin == begin && r->end == end && std::memcmp(d.data.data() + begin, payload.data(), payload.size()) == 0;
  return same ? Fit::kDuplicate : Fit::kOverlap;
}

template <typename Key, typename First>
bool FragmentReassembler<Key, First>::Take(typename Map::iterator it, std::uint32_t begin, Bytes payload) {
  Datagram& d = it->second;
  const Key& key = it->first;
  const auto end = static_cast<std::uint32_t>(begin + payload.size());
  // Memory bounds, charged by how far the buffer must grow and the record.
  const std::size_t grow = (end > d.data.size() ? end - d.data.size() : 0) + sizeof(Range);
  if (total_bytes_ + grow > config_.max_total_bytes) MakeRoom(key, grow, false);
  std::size_t& per_source = bytes_per_source_[key.source()];
  if (total_bytes_ + grow > config_.max_total_bytes || per_source + grow > config_.max_bytes_per_source) {
    if (per_source == 0) bytes_per_source_.erase(key.source());
    return false;
  }
  if (end > d.data.size()) d.data.resize(end);
  total_bytes_ += grow;
  per_source += grow;
  std::memcpy(d.data.data() + begin, payload.data(), payload.size());
  const auto at = std::lower_bound(d.pieces.begin(), d.pieces.end(), begin,
                                   [](const Range& r, std::uint32_t b) { return r.begin < b; });
  d.pieces.insert(at, Range{begin, end});
  d.covered += static_cast<std::uint32_t>(payload.size());
  return true;
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

  if (d.discarded) return Dropped(ReassemblyDrop::kDiscarded);
  // The end of the datagram: fixed by the last fragment, never exceeded.
  if ((d.have_last && (end > d.total || (!more && end != d.total))) ||
      (!more && !d.pieces.empty() && d.pieces.back().end > end)) {
    Erase(it);
    return Dropped(ReassemblyDrop::kPastEnd);
  }
  switch (Overlaps(d, begin, payload)) {
    case Fit::kDuplicate: {
      Outcome o;
      o.status = ReassemblyStatus::kDuplicate;
      return o;
    }
    case Fit::kOverlap:
      Discard(d, key);
      return Dropped(ReassemblyDrop::kOverlap);
    case Fit::kNew:
      break;
  }
  if (!Take(it, begin, payload)) {
    if (d.pieces.empty()) {
      datagrams_.erase(it);  // nothing held yet
    } else {
      Erase(it);
    }
    return Dropped(ReassemblyDrop::kMemoryLimit);
  }
  if (!more) {
    d.have_last = true;
    d.total = end;
  }
  if (begin == 0) {
    d.have_first = true;
    d.first = meta;
  }
  Outcome out;
  // The pieces never overlap and none lies past the end: complete when
  // they hold every byte up to it.
  if (!(d.have_last && d.covered == d.total)) {
    out.status = ReassemblyStatus::kIncomplete;
    return out;
  }
  // Complete: hand out the payload and fragment zero's metadata.
  Release(key, Held(d));
  completed_ = std::move(d.data);
  out.first = d.first;
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
    const bool discarded = d.discarded;  // silently: no Time Exceeded for it
    e.had_first = d.have_first && !discarded;
    if (e.had_first) {
      e.first = d.first;
      // Fragment zero is there, so the first piece starts at 0.
      e.head_len = d.pieces.empty() ? 0 : std::min<std::size_t>(kHeadBytes, d.pieces.front().end);
      std::copy_n(d.data.begin(), e.head_len, e.head.begin());
    }
    Erase(it++);
    if (!discarded) expired(e);
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
