// Assembler: which sequence ranges past RCV.NXT a receiver holds out of
// order (RFC 9293 3.10.7.4, "segment text": segments beyond RCV.NXT are
// kept for later), and the SACK blocks that report them (RFC 2018 4). Only
// the ranges; the bytes sit in the receive buffer at their offsets.
//
// Bounded: at most kMaxRanges separate ranges; a segment that would open
// one more is refused (the caller drops it, the sender retransmits). Pure;
// never allocates.
#ifndef RINGSTACK_PROTOCOLS_TCP_ASSEMBLER_H_
#define RINGSTACK_PROTOCOLS_TCP_ASSEMBLER_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "protocols/tcp/seq_num.h"
#include "protocols/tcp/tcp_repr.h"

namespace ringstack::proto::tcp {

class Assembler {
 public:
  static constexpr std::size_t kMaxRanges = 16;

  // Holds [start, end) (both after `rcv_nxt`, end - start < 2^31), merging
  // with what it touches; false when that would need a range too many.
  bool Add(SeqNum rcv_nxt, SeqNum start, SeqNum end);
  // RCV.NXT reached `rcv_nxt`: drops ranges it covers and returns how far
  // RCV.NXT extends over a held range that now starts at or before it
  // (`rcv_nxt` itself when none does).
  SeqNum Advance(SeqNum rcv_nxt);
  // RFC 2018 4: the first block is the range the latest segment went into,
  // the rest the other ranges, most recently changed first. Returns the count.
  std::size_t SackBlocks(std::span<SackBlock> out) const;
  // Bytes held (for tests and the receive-buffer accounting).
  std::uint32_t held() const;
  std::size_t ranges() const { return count_; }
  bool empty() const { return count_ == 0; }
  void Clear() { count_ = 0; }

 private:
  struct Range {
    SeqNum start;
    SeqNum end;
    std::uint64_t touched = 0;  // when last added to (a counter)
  };
  // Ranges sorted by start, none touching another.
  std::array<Range, kMaxRanges> r_{};
  std::size_t count_ = 0;
  std::uint64_t clock_ = 0;
};

}  // namespace ringstack::proto::tcp

#endif  // RINGSTACK_PROTOCOLS_TCP_ASSEMBLER_H_
