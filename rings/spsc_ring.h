// SpscRing: a bounded single-producer single-consumer ring.
//
// Contract: exactly one thread pushes and exactly one thread pops. Capacity is
// rounded up to a power of two and fixed at construction; nothing allocates
// after that. Head and tail sit on separate cache lines and each side keeps a
// cached copy of the other side's index, so the common case touches only its
// own line. Elements are constructed on push and destroyed on pop (or when the
// ring is destroyed), never copied. (After rigtorp's SPSCQueue and DPDK rte_ring.)
#ifndef RINGSTACK_RINGS_SPSC_RING_H_
#define RINGSTACK_RINGS_SPSC_RING_H_

#include <atomic>
#include <bit>
#include <cstddef>
#include <memory>
#include <new>
#include <span>
#include <utility>

#include "rings/cache_line.h"

namespace ringstack::rings {

template <typename T>
class SpscRing {
 public:
  // capacity is rounded up to a power of two, at least 2.
  explicit SpscRing(std::size_t capacity)
      : capacity_(std::bit_ceil(capacity < 2 ? std::size_t{2} : capacity)),
        mask_(capacity_ - 1),
        slots_(new Slot[capacity_]) {}

  SpscRing(const SpscRing&) = delete;
  SpscRing& operator=(const SpscRing&) = delete;

  ~SpscRing() {
    std::size_t head = head_.load(std::memory_order_relaxed);
    const std::size_t tail = tail_.load(std::memory_order_relaxed);
    for (; head != tail; ++head) Item(head)->~T();
  }

  // Producer side. Returns false (and leaves `value` untouched) when full.
  [[nodiscard]] bool TryPush(T&& value) {
    const std::size_t tail = tail_.load(std::memory_order_relaxed);
    if (tail - producer_cached_head_ == capacity_) {
      producer_cached_head_ = head_.load(std::memory_order_acquire);
      if (tail - producer_cached_head_ == capacity_) return false;
    }
    ::new (static_cast<void*>(slots_[tail & mask_].bytes)) T(std::move(value));
    tail_.store(tail + 1, std::memory_order_release);
    return true;
  }

  // Producer side. Moves items[0, n) in order and returns n, the number that
  // fit; items past n are left untouched.
  [[nodiscard]] std::size_t TryPushBurst(std::span<T> items) {
    const std::size_t tail = tail_.load(std::memory_order_relaxed);
    std::size_t free = capacity_ - (tail - producer_cached_head_);
    if (free < items.size()) {
      producer_cached_head_ = head_.load(std::memory_order_acquire);
      free = capacity_ - (tail - producer_cached_head_);
    }
    const std::size_t n = items.size() < free ? items.size() : free;
    for (std::size_t i = 0; i < n; ++i) {
      ::new (static_cast<void*>(slots_[(tail + i) & mask_].bytes)) T(std::move(items[i]));
    }
    if (n != 0) tail_.store(tail + n, std::memory_order_release);
    return n;
  }

  // Consumer side. Returns false when empty.
  [[nodiscard]] bool TryPop(T& out) {
    const std::size_t head = head_.load(std::memory_order_relaxed);
    if (head == consumer_cached_tail_) {
      consumer_cached_tail_ = tail_.load(std::memory_order_acquire);
      if (head == consumer_cached_tail_) return false;
    }
    T* item = Item(head);
    out = std::move(*item);
    item->~T();
    head_.store(head + 1, std::memory_order_release);
    return true;
  }

  // Consumer side. Pops up to out.size() items into out[0, n) and returns n.
  [[nodiscard]] std::size_t TryPopBurst(std::span<T> out) {
    const std::size_t head = head_.load(std::memory_order_relaxed);
    std::size_t avail = consumer_cached_tail_ - head;
    if (avail < out.size()) {
      consumer_cached_tail_ = tail_.load(std::memory_order_acquire);
      avail = consumer_cached_tail_ - head;
    }
    const std::size_t n = out.size() < avail ? out.size() : avail;
    for (std::size_t i = 0; i < n; ++i) {
      T* item = Item(head + i);
      out[i] = std::move(*item);
      item->~T();
    }
    if (n != 0) head_.store(head + n, std::memory_order_release);
    return n;
  }

  // Either side; exact only when the other side is quiet.
  std::size_t SizeApprox() const {
    return tail_.load(std::memory_order_acquire) - head_.load(std::memory_order_acquire);
  }
  bool EmptyApprox() const { return SizeApprox() == 0; }
  std::size_t capacity() const { return capacity_; }

 private:
  struct Slot {
    alignas(T) std::byte bytes[sizeof(T)];
  };
  T* Item(std::size_t index) {
    return std::launder(reinterpret_cast<T*>(slots_[index & mask_].bytes));
  }

  const std::size_t capacity_;
  const std::size_t mask_;
  const std::unique_ptr<Slot[]> slots_;

  // Consumer's line: its index and its cached view of the producer's.
  alignas(kCacheLine) std::atomic<std::size_t> head_{0};
  std::size_t consumer_cached_tail_ = 0;
  // Producer's line.
  alignas(kCacheLine) std::atomic<std::size_t> tail_{0};
  std::size_t producer_cached_head_ = 0;
  // Keeps whatever follows the ring off the producer's line.
  [[maybe_unused]] char pad_[kCacheLine - sizeof(std::atomic<std::size_t>) - sizeof(std::size_t)];
};

}  // namespace ringstack::rings

#endif  // RINGSTACK_RINGS_SPSC_RING_H_
