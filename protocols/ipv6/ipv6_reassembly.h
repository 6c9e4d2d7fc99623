// Ipv6Reassembler: inbound IPv6 fragment reassembly (RFC 8200 4.5) over the
// shared FragmentReassembler core (any order, exact duplicates ignored,
// overlaps drop the datagram per RFC 5722, memory bounded with eviction).
// Datagrams are keyed by (source, destination, identification). The result
// is the fragmentable part — the headers after the Fragment header and the
// upper-layer data — with the Next Header the Fragment header named; the
// unfragmentable part was already processed on each fragment. Time Exceeded
// (code 1) on timeout needs fragment zero, which Expired reconstructs.
#ifndef RINGSTACK_PROTOCOLS_IPV6_IPV6_REASSEMBLY_H_
#define RINGSTACK_PROTOCOLS_IPV6_IPV6_REASSEMBLY_H_

#include <cstdint>

#include "absl/functional/function_ref.h"
#include "protocols/common/fragment_reassembler.h"
#include "protocols/ipv6/ipv6_ext.h"
#include "protocols/ipv6/ipv6_repr.h"

namespace ringstack::proto::ipv6 {

class Ipv6Reassembler {
 public:
  using Status = ReassemblyStatus;
  using Drop = ReassemblyDrop;
  struct Outcome {
    Status status = Status::kIncomplete;
    Drop drop = Drop::kNone;
    Ipv6Repr header;              // kComplete: fragment zero's IPv6 header
    std::uint8_t next_header = 0; // of the reassembled payload
    Bytes payload;                // valid until the next call
  };
  struct Expired {
    Ipv6Address src;
    Ipv6Address dst;
    std::uint32_t ident = 0;
    bool had_first_fragment = false;
    // Fragment zero as received (when it had come), up to 64 data bytes:
    // its IPv6 header, an 8-byte Fragment header, the data. For the quote.
    std::array<std::byte, kHeaderLen + 8 + 64> invoking{};
    std::size_t invoking_len = 0;
    Ipv6Repr first_header;
  };

  explicit Ipv6Reassembler(const ReassemblyConfig& config = ReassemblyConfig{Duration::Seconds(60)})
      : core_(config, 65535) {}

  // `ip` the fragment's IPv6 header, `frag` its Fragment header, `data` the
  // fragment's data (what follows the Fragment header).
  Outcome OnFragment(const Ipv6Repr& ip, const Fragment& frag, Bytes data, Instant now);
  void OnTimer(Instant now, absl::FunctionRef<void(const Expired&)> expired);
  Instant NextDeadline() const { return core_.NextDeadline(); }
  std::size_t datagrams() const { return core_.datagrams(); }
  std::size_t bytes_held() const { return core_.bytes_held(); }
  std::uint64_t evicted() const { return core_.evicted(); }

 private:
  struct Key {
    Ipv6Address src;
    Ipv6Address dst;
    std::uint32_t ident;
    const Ipv6Address& source() const { return src; }
    bool operator==(const Key&) const = default;
    template <typename H>
    friend H AbslHashValue(H h, const Key& k) {
      return H::combine(std::move(h), k.src, k.dst, k.ident);
    }
  };
  struct First {
    Ipv6Repr header;
    std::uint8_t next_header = 0;
  };
  FragmentReassembler<Key, First> core_;
};

}  // namespace ringstack::proto::ipv6

#endif  // RINGSTACK_PROTOCOLS_IPV6_IPV6_REASSEMBLY_H_
