// ByteRing: a single-producer single-consumer byte stream for socket buffers.
//
// Contract: one writer thread, one reader thread. Capacity is a power of two,
// fixed at construction; nothing allocates after that. Free and readable space
// are exposed as at most two spans (the second one wraps to the start), so the
// writer can fill and the reader can drain without an intermediate copy.
// Peek(offset, ...) reads without consuming, as TCP needs for retransmission.
#ifndef RINGSTACK_RINGS_BYTE_RING_H_
#define RINGSTACK_RINGS_BYTE_RING_H_

#include <atomic>
#include <cstddef>
#include <memory>
#include <span>

#include "rings/cache_line.h"

namespace ringstack::rings {

class ByteRing {
 public:
  // Up to two spans; `second` is empty unless the region wraps.
  struct Spans {
    std::span<std::byte> first;
    std::span<std::byte> second;
    std::size_t size() const { return first.size() + second.size(); }
  };

  explicit ByteRing(std::size_t capacity);
  ByteRing(const ByteRing&) = delete;
  ByteRing& operator=(const ByteRing&) = delete;

  // Writer side: free space, then publish n bytes of it.
  Spans WritableSpans();
  void CommitWrite(std::size_t n);
  // Copies as much of `bytes` as fits; returns the count written.
  std::size_t Write(std::span<const std::byte> bytes);

  // Reader side: readable bytes, then release n bytes of them.
  Spans ReadableSpans();
  void CommitRead(std::size_t n);
  // Copies up to out.size() bytes out and consumes them; returns the count.
  std::size_t Read(std::span<std::byte> out);
  // Copies up to out.size() bytes starting `offset` bytes past the read
  // position, without consuming; returns the count.
  std::size_t Peek(std::size_t offset, std::span<std::byte> out) const;

  std::size_t ReadableApprox() const;
  std::size_t WritableApprox() const { return capacity_ - ReadableApprox(); }
  std::size_t capacity() const { return capacity_; }

 private:
  Spans Region(std::size_t start, std::size_t len) const;

  const std::size_t capacity_;
  const std::size_t mask_;
  const std::unique_ptr<std::byte[]> data_;
  alignas(kCacheLine) std::atomic<std::size_t> read_{0};
  alignas(kCacheLine) std::atomic<std::size_t> write_{0};
};

}  // namespace ringstack::rings

#endif  // RINGSTACK_RINGS_BYTE_RING_H_
