// Ipv4Reassembler: inbound IPv4 fragment reassembly (RFC 791 3.2, RFC 815)
// for the control shard, over the shared FragmentReassembler core
// (protocols/common/fragment_reassembler.h: any order, duplicates ignored,
// differing overlaps drop the datagram, memory bounded with eviction of the
// oldest). Datagrams are keyed by (source, destination, protocol,
// identification); OnTimer reports expiries so the caller can send ICMP Time
// Exceeded (code 1) when fragment zero had arrived. Not thread-safe.
#ifndef RINGSTACK_PROTOCOLS_IPV4_IPV4_REASSEMBLY_H_
#define RINGSTACK_PROTOCOLS_IPV4_IPV4_REASSEMBLY_H_

#include <array>
#include <cstddef>
#include <cstdint>

#include "absl/functional/function_ref.h"
#include "protocols/common/fragment_reassembler.h"
#include "protocols/common/time.h"
#include "protocols/ipv4/ipv4_repr.h"

namespace ringstack::proto::ipv4 {

using ReassemblyConfig = proto::ReassemblyConfig;

class Ipv4Reassembler {
 public:
  using Status = ReassemblyStatus;
  using Drop = ReassemblyDrop;
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

  explicit Ipv4Reassembler(const ReassemblyConfig& config = {}) : core_(config, 65535 - kMinHeaderLen) {}

  // `ip` must be a fragment (ip.is_fragment()); `payload` its payload.
  Outcome OnFragment(const Ipv4Repr& ip, Bytes payload, Instant now);
  void OnTimer(Instant now, absl::FunctionRef<void(const Expired&)> expired);
  Instant NextDeadline() const { return core_.NextDeadline(); }

  std::size_t datagrams() const { return core_.datagrams(); }
  std::size_t bytes_held() const { return core_.bytes_held(); }
  std::uint64_t evicted() const { return core_.evicted(); }

 private:
  struct Key {
    std::uint32_t src;
    std::uint32_t dst;
    std::uint16_t ident;
    std::uint8_t protocol;
    std::uint32_t source() const { return src; }
    bool operator==(const Key&) const = default;
    template <typename H>
    friend H AbslHashValue(H h, const Key& k) {
      return H::combine(std::move(h), k.src, k.dst, k.ident, k.protocol);
    }
  };
  FragmentReassembler<Key, Ipv4Repr> core_;
};

}  // namespace ringstack::proto::ipv4

#endif  // RINGSTACK_PROTOCOLS_IPV4_IPV4_REASSEMBLY_H_
