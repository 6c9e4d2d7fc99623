// SocketWaiter: how application threads wait on a socket, UDP or TCP (the
// worker calls Wake after any change a waiter could want).
#ifndef RINGSTACK_ENGINE_SOCKET_WAITER_H_
#define RINGSTACK_ENGINE_SOCKET_WAITER_H_

#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>

namespace ringstack::engine {

// How application threads wait on a socket (UDP or TCP): a sequence number
// bumped (and notified) after every change a waiter could want, and an
// eventfd for poll()/epoll, written only while a poller says it waits
// (`pollers`) or an application took it for its own epoll.
struct SocketWaiter {
  SocketWaiter() : event_fd(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}
  ~SocketWaiter() {
    if (event_fd >= 0) close(event_fd);
  }
  SocketWaiter(const SocketWaiter&) = delete;
  SocketWaiter& operator=(const SocketWaiter&) = delete;

  std::atomic<std::uint32_t> seq{0};
  // -1 if the kernel refused one (then poll() sleeps in short steps).
  const int event_fd;
  std::atomic<int> pollers{0};
  // Set by a poller before it sleeps on the eventfd; the first wake-up takes
  // it and writes the eventfd, later ones see it taken and do not (one write
  // per sleep, not one per segment: the poller rescans every socket anyway).
  std::atomic<bool> armed{false};
  std::atomic<bool> event_subscribed{false};
  // Application threads waiting for send room (a blocked send, a poll for
  // POLLOUT): the worker wakes them after it takes data off.
  std::atomic<int> tx_waiters{0};
  // Application threads waiting for data (a blocked receive).
  std::atomic<int> rx_waiters{0};

  // The worker, after it made data readable (WakeReaders) or room to send
  // (WakeWriters): wakes whoever waits. The fence orders the ring update
  // before the waiter counts, and a waiter counts itself (an atomic
  // read-modify-write) before it looks at the ring a last time: with both,
  // either the worker sees the waiter or the waiter sees the data. (Looking
  // at the ring's fill instead — "was it empty?" — loses wake-ups: each
  // side's store may still sit in its store buffer when the other loads.)
  void WakeReaders() {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (rx_waiters.load(std::memory_order_relaxed) > 0 || pollers.load(std::memory_order_relaxed) > 0 ||
        event_subscribed.load(std::memory_order_relaxed)) {
      Wake();
    }
  }
  void WakeWriters() {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (tx_waiters.load(std::memory_order_relaxed) > 0 || pollers.load(std::memory_order_relaxed) > 0 ||
        event_subscribed.load(std::memory_order_relaxed)) {
      Wake();
    }
  }

  void Wake() {
    seq.fetch_add(1, std::memory_order_seq_cst);
    seq.notify_all();
    if (event_fd < 0) return;
    // An application's own epoll is written on every change; Stack::Poll's
    // sleep once (`armed`).
    if (event_subscribed.load(std::memory_order_relaxed) ||
        (pollers.load(std::memory_order_seq_cst) > 0 && armed.exchange(false, std::memory_order_seq_cst))) {
      const std::uint64_t one = 1;
      [[maybe_unused]] const ssize_t n = write(event_fd, &one, sizeof(one));
    }
  }
};

}  // namespace ringstack::engine

#endif  // RINGSTACK_ENGINE_SOCKET_WAITER_H_
