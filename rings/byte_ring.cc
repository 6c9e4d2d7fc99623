#include "rings/byte_ring.h"

#include <algorithm>
#include <bit>
#include <cstring>

namespace ringstack::rings {

ByteRing::ByteRing(std::size_t capacity)
    : capacity_(std::bit_ceil(std::max<std::size_t>(capacity, 2))),
      mask_(capacity_ - 1),
      data_(new std::byte[capacity_]) {}

ByteRing::Spans ByteRing::Region(std::size_t start, std::size_t len) const {
  const std::size_t offset = start & mask_;
  const std::size_t first = std::min(len, capacity_ - offset);
  return Spans{std::span<std::byte>(data_.get() + offset, first),
               std::span<std::byte>(data_.get(), len - first)};
}

ByteRing::Spans ByteRing::WritableSpans() {
  const std::size_t w = write_.load(std::memory_order_relaxed);
  const std::size_t r = read_.load(std::memory_order_acquire);
  return Region(w, capacity_ - (w - r));
}

void ByteRing::CommitWrite(std::size_t n) {
  write_.store(write_.load(std::memory_order_relaxed) + n, std::memory_order_release);
}

std::size_t ByteRing::Write(std::span<const std::byte> bytes) {
  Spans free = WritableSpans();
  const std::size_t n = std::min(bytes.size(), free.size());
  const std::size_t a = std::min(n, free.first.size());
  if (a != 0) std::memcpy(free.first.data(), bytes.data(), a);
  if (n > a) std::memcpy(free.second.data(), bytes.data() + a, n - a);
  CommitWrite(n);
  return n;
}

ByteRing::Spans ByteRing::ReadableSpans() {
  const std::size_t r = read_.load(std::memory_order_relaxed);
  const std::size_t w = write_.load(std::memory_order_acquire);
  return Region(r, w - r);
}

void ByteRing::CommitRead(std::size_t n) {
  read_.store(read_.load(std::memory_order_relaxed) + n, std::memory_order_release);
}

std::size_t ByteRing::Read(std::span<std::byte> out) {
  const std::size_t n = Peek(0, out);
  CommitRead(n);
  return n;
}

std::size_t ByteRing::Peek(std::size_t offset, std::span<std::byte> out) const {
  const std::size_t r = read_.load(std::memory_order_relaxed);
  const std::size_t w = write_.load(std::memory_order_acquire);
  const std::size_t readable = w - r;
  if (offset >= readable) return 0;
  const std::size_t n = std::min(out.size(), readable - offset);
  if (n == 0) return 0;
  Spans src = Region(r + offset, n);
  std::memcpy(out.data(), src.first.data(), src.first.size());
  if (!src.second.empty()) {
    std::memcpy(out.data() + src.first.size(), src.second.data(), src.second.size());
  }
  return n;
}

std::size_t ByteRing::ReadableApprox() const {
  return write_.load(std::memory_order_acquire) - read_.load(std::memory_order_acquire);
}

}  // namespace ringstack::rings
