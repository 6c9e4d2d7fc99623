// Ipv4Reassembler: inbound fragment reassembly (RFC 791 3.2, RFC 815), a
// plain state class for the control shard: fragments and `now` in, a whole
// datagram or a drop reason out.
//
// Datagrams are keyed by (source, destination, protocol, identification).
// Fragments may come in any order; an exact duplicate is ignored; a fragment
// that overlaps received data with different bytes drops the whole datagram
// (the overlap attacks of RFC 1858/3128; Linux does the same since 2018).
// Memory is bounded in total, per source and in datagram count. A source over
// its share has its new fragments dropped; when the total (or the count) is
// reached, the oldest datagrams of the other sources are evicted to make room
// (as Linux's inet_frag evictor does): a flood of never-completed fragments
// ages out in favour of traffic that completes. Each datagram expires
// `timeout` after its first fragment; OnTimer reports expiries so the caller
// can send ICMP Time Exceeded (code 1) when fragment zero had arrived.
// Storage is allocated per datagram, within the bounds. Not thread-safe.
#ifndef RINGSTACK_PROTOCOLS_IPV4_IPV4_REASSEMBLY_H_
#define RINGSTACK_PROTOCOLS_IPV4_IPV4_REASSEMBLY_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "protocols/common/time.h"
#include "protocols/ipv4/ipv4_repr.h"

namespace ringstack::proto::ipv4 {

struct ReassemblyConfig {
  Duration timeout = Duration::Seconds(30);      // RFC 791 suggests 15 s; Linux uses 30 s
  std::size_t max_total_bytes = 4u << 20;        // all datagrams in progress
  std::size_t max_bytes_per_source = 1u << 20;   // one sender's share
  std::size_t max_datagrams = 4096;              // in progress at once
};

class Ipv4Reassembler {
 public:
  enum class Status {
    kIncomplete,  // held; more fragments needed
    kComplete,    // `payload` is the whole datagram's payload
    kDuplicate,   // already had exactly these bytes; ignored
    kDropped,     // this fragment (and, for kOverlap, its datagram) dropped; see `drop`
  };
  enum class Drop {
    kNone,
    kOverlap,           // overlaps received bytes with different content
    kTooLong,           // offset + length past 65535 - header
    kBadLength,         // a non-last fragment whose length is not a multiple of 8, or empty
    kPastEnd,           // data beyond the end a last fragment fixed (or a second, different end)
    kMemoryLimit,       // would exceed max_total_bytes or max_bytes_per_source
  };
  struct Outcome {
    Status status = Status::kIncomplete;
    Drop drop = Drop::kNone;
    // kComplete only: the header of fragment zero (is_fragment() false,
    // payload_len the whole payload) and the payload, valid until the next
    // call on this reassembler.
    Ipv4Repr header;
    Bytes payload;
  };
  struct Expired {
    Ipv4Address src;
    Ipv4Address dst;
    std::uint8_t protocol;
    std::uint16_t ident;
    bool had_first_fragment;
    // When it had: fragment zero's header and the first (up to 8) payload
    // bytes, what an ICMP Time Exceeded quotes.
    Ipv4Repr first_header;
    std::array<std::byte, 8> first_bytes{};
    std::size_t first_bytes_len = 0;
  };

  explicit Ipv4Reassembler(const ReassemblyConfig& config = {}) : config_(config) {}

  // `ip` must be a fragment (ip.is_fragment()); `payload` its payload.
  Outcome OnFragment(const Ipv4Repr& ip, Bytes payload, Instant now);
  // Drops datagrams whose time is up and reports each.
  void OnTimer(Instant now, absl::FunctionRef<void(const Expired&)> expired);
  Instant NextDeadline() const;

  std::size_t datagrams() const { return datagrams_.size(); }
  std::size_t bytes_held() const { return total_bytes_; }
  // Datagrams evicted to make room, since construction.
  std::uint64_t evicted() const { return evicted_; }

 private:
  struct Key {
    std::uint32_t src;
    std::uint32_t dst;
    std::uint16_t ident;
    std::uint8_t protocol;
    bool operator==(const Key&) const = default;
    template <typename H>
    friend H AbslHashValue(H h, const Key& k) {
      return H::combine(std::move(h), k.src, k.dst, k.ident, k.protocol);
    }
  };
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
    Ipv4Repr first_header;
    Instant deadline;
    std::uint64_t serial = 0;  // its entry in age_
  };

  void Erase(absl::flat_hash_map<Key, Datagram>::iterator it);
  // Evicts the oldest datagrams other than `keep` until `need` more bytes
  // and one more datagram fit; false if they cannot.
  bool MakeRoom(const Key& keep, std::size_t need, bool new_datagram);
  // Drops age_ entries of datagrams that are gone (front, or all when many).
  void TrimAge();
  static bool Covered(const std::vector<Range>& ranges, std::uint32_t begin, std::uint32_t end);

  ReassemblyConfig config_;
  absl::flat_hash_map<Key, Datagram> datagrams_;
  absl::flat_hash_map<std::uint32_t, std::size_t> bytes_per_source_;
  std::size_t total_bytes_ = 0;
  std::vector<std::byte> completed_;  // the last completed payload
  // Datagrams by age (all share one timeout, so also by deadline); entries
  // whose serial no longer matches are stale.
  std::deque<std::pair<Key, std::uint64_t>> age_;
  std::uint64_t next_serial_ = 1;
  std::uint64_t evicted_ = 0;
};

}  // namespace ringstack::proto::ipv4

#endif  // RINGSTACK_PROTOCOLS_IPV4_IPV4_REASSEMBLY_H_
