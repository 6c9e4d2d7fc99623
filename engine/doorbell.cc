#include "engine/doorbell.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace ringstack::engine {

Doorbell::Doorbell() : fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  if (fd_ < 0) {
    // Only when the process is out of file descriptors at start-up.
    std::perror("ringstack: eventfd");
    std::abort();
  }
}

Doorbell::~Doorbell() {
  if (fd_ >= 0) close(fd_);
}

void Doorbell::Signal() {
  const std::uint64_t one = 1;
  // EAGAIN means the counter is already non-zero: the consumer will wake.
  [[maybe_unused]] const ssize_t n = write(fd_, &one, sizeof(one));
}

namespace {

timespec* Timeout(Instant deadline, const Clock& clock, timespec& ts) {
  if (deadline.IsNever()) return nullptr;
  const std::int64_t ns = std::max<std::int64_t>(0, (deadline - clock.Now()).nanos());
  ts.tv_sec = ns / 1'000'000'000;
  ts.tv_nsec = ns % 1'000'000'000;
  return &ts;
}

}  // namespace

void Doorbell::Woke(bool readable) {
  sleeping_.store(false, std::memory_order_relaxed);
  wakeups_.fetch_add(1, std::memory_order_relaxed);
  if (readable) {
    std::uint64_t value;
    [[maybe_unused]] const ssize_t n = read(fd_, &value, sizeof(value));
  }
}

void Doorbell::WaitAny(std::span<Doorbell* const> bells, std::span<const int> fds, std::span<const short> events,
                       Instant deadline, const Clock& clock) {
  // A runner thread has a handful of stages: a fixed array, no allocation.
  constexpr std::size_t kMax = 64;
  pollfd p[kMax];
  nfds_t n = 0;
  for (Doorbell* b : bells) {
    if (n < kMax) p[n++] = {b->fd_, POLLIN, 0};
  }
  for (std::size_t i = 0; i < fds.size() && n < kMax; ++i) {
    if (fds[i] >= 0) p[n++] = {fds[i], events[i], 0};
  }
  timespec ts;
  const int rc = ppoll(p, n, Timeout(deadline, clock, ts), nullptr);
  for (std::size_t i = 0; i < bells.size(); ++i) {
    bells[i]->Woke(rc > 0 && i < kMax && (p[i].revents & POLLIN));
  }
}

}  // namespace ringstack::engine
