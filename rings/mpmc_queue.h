// MpmcQueue: a bounded multi-producer multi-consumer queue over moodycamel's
// ConcurrentQueue.
//
// Contract: every producer holds a ProducerToken (made once, outside the data
// path) and only try-enqueues, so after construction nothing allocates: the
// queue's blocks are all reserved up front for `capacity` items and at most
// `max_producers` tokens. Order is kept per producer only, as moodycamel
// documents, so one flow must pass through one producer. Thread-safe.
//
// Why the item count: moodycamel's explicit producers keep the blocks they
// have used, so without a bound one busy producer could hoard the whole
// reserve and starve the others for good. Capping the items in flight at
// `capacity` caps any producer's blocks at capacity/BLOCK_SIZE + 2, which the
// reserve covers for every producer at once.
#ifndef RINGSTACK_RINGS_MPMC_QUEUE_H_
#define RINGSTACK_RINGS_MPMC_QUEUE_H_

#include <concurrentqueue/concurrentqueue.h>

#include <atomic>
#include <cstddef>
#include <utility>

namespace ringstack::rings {

template <typename T>
class MpmcQueue {
 public:
  using ProducerToken = moodycamel::ProducerToken;

  // Reserves room for `capacity` items spread over up to `max_producers`
  // producer tokens; no implicit (token-less) producers are allowed.
  MpmcQueue(std::size_t capacity, std::size_t max_producers)
      : queue_(capacity + 3 * Traits::BLOCK_SIZE, max_producers, 0), capacity_(capacity) {}

  MpmcQueue(const MpmcQueue&) = delete;
  MpmcQueue& operator=(const MpmcQueue&) = delete;

  // Makes a token for one producer thread; call outside the data path.
  ProducerToken MakeProducerToken() { return ProducerToken(queue_); }

  // Never allocates; false when the producer's reserved blocks are full.
  [[nodiscard]] bool TryEnqueue(ProducerToken& token, T&& item) {
    if (count_.fetch_add(1, std::memory_order_acq_rel) >= capacity_) {
      count_.fetch_sub(1, std::memory_order_relaxed);
      return false;
    }
    if (!queue_.try_enqueue(token, std::move(item))) {
      count_.fetch_sub(1, std::memory_order_relaxed);
      return false;
    }
    return true;
  }

  [[nodiscard]] bool TryDequeue(T& out) {
    if (!queue_.try_dequeue(out)) return false;
    count_.fetch_sub(1, std::memory_order_acq_rel);
    return true;
  }

  // Dequeues up to n items into out; returns how many.
  [[nodiscard]] std::size_t TryDequeueBulk(T* out, std::size_t n) {
    const std::size_t got = queue_.try_dequeue_bulk(out, n);
    if (got != 0) count_.fetch_sub(got, std::memory_order_acq_rel);
    return got;
  }

  std::size_t SizeApprox() const { return count_.load(std::memory_order_relaxed); }
  std::size_t capacity() const { return capacity_; }

 private:
  using Traits = moodycamel::ConcurrentQueueDefaultTraits;
  moodycamel::ConcurrentQueue<T> queue_;
  const std::size_t capacity_;
  std::atomic<std::size_t> count_{0};
};

}  // namespace ringstack::rings

#endif  // RINGSTACK_RINGS_MPMC_QUEUE_H_
