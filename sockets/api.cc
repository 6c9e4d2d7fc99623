#include "sockets/api.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <chrono>
#include <thread>
#include <vector>

namespace ringstack::sockets {

using engine::SocketRequest;
using engine::UdpSocketState;

namespace {
constexpr std::size_t kRingDepth = 256;  // datagrams each way per socket
constexpr std::size_t kMaxUdpPayload = 65507;
}  // namespace

Stack::Stack(engine::Engine& engine, std::function<void()> pump) : engine_(engine), pump_(std::move(pump)) {}

Stack::~Stack() {
  for (int fd = 0; fd < static_cast<int>(fds_.size()); ++fd) {
    if (fds_[fd]) Close(fd);
  }
}

int Stack::Fail(int error) {
  errno = error;
  return -1;
}

void Stack::WakeWorker() { engine_.worker(0).doorbell().Ring(); }

std::shared_ptr<Stack::Entry> Stack::Get(int fd) {
  std::lock_guard lock(mu_);
  if (fd < 0 || fd >= static_cast<int>(fds_.size()) || !fds_[fd]) {
    errno = EBADF;
    return nullptr;
  }
  return fds_[fd];
}

int Stack::Call(SocketRequest::Kind kind, const std::shared_ptr<Entry>& e, const Endpoint& endpoint,
                const proto::udp::BindOptions& options, Endpoint* local_out) {
  SocketRequest r;
  r.kind = kind;
  r.socket = e->state;
  r.endpoint = endpoint;
  r.options = options;
  r.completion = std::make_shared<SocketRequest::Completion>();
  const auto completion = r.completion;
  engine::SocketInbox& inbox = engine_.worker(0).socket_inbox();
  for (;;) {
    {
      std::lock_guard lock(inbox.mu);
      if (inbox.requests.TryPush(std::move(r))) break;
    }
    // The worker is behind on requests: let it run.
    if (pump_) {
      pump_();
    } else {
      std::this_thread::yield();
    }
  }
  WakeWorker();
  while (completion->done.load(std::memory_order_acquire) == 0) {
    if (pump_) {
      pump_();
    } else {
      completion->done.wait(0, std::memory_order_acquire);
    }
  }
  if (local_out != nullptr) *local_out = completion->local;
  return completion->result;
}

int Stack::Socket(int domain, int type, int protocol) {
  if (domain != AF_INET && domain != AF_INET6) return Fail(EAFNOSUPPORT);
  const bool nonblocking = (type & SOCK_NONBLOCK) != 0;
  type &= ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
  // UDP, or ICMP echo ("ping") sockets: SOCK_DGRAM with IPPROTO_ICMP /
  // IPPROTO_ICMPV6, as on Linux.
  const bool echo =
      (domain == AF_INET && protocol == IPPROTO_ICMP) || (domain == AF_INET6 && protocol == IPPROTO_ICMPV6);
  if (type != SOCK_DGRAM || (protocol != 0 && protocol != IPPROTO_UDP && !echo)) return Fail(EPROTONOSUPPORT);
  auto e = std::make_shared<Entry>();
  int fd = -1;
  {
    std::lock_guard lock(mu_);
    std::size_t open = 0;
    for (const auto& f : fds_) open += f != nullptr;
    if (open >= engine::kMaxSockets) return Fail(EMFILE);
    e->state = std::make_shared<UdpSocketState>(next_id_++, domain == AF_INET6, kRingDepth, echo);
    for (std::size_t i = 0; i < fds_.size() && fd < 0; ++i) {
      if (!fds_[i]) fd = static_cast<int>(i);
    }
    if (fd < 0) {
      fd = static_cast<int>(fds_.size());
      fds_.push_back(nullptr);
    }
    fds_[fd] = e;
  }
  e->nonblocking.store(nonblocking);
  proto::udp::BindOptions options;
  options.v6 = domain == AF_INET6;
  {
    std::lock_guard lock(e->mu);
    e->options = options;
  }
  Endpoint ident;
  Call(SocketRequest::Kind::kOpen, e, Endpoint{}, options, &ident);
  if (echo) {
    std::lock_guard lock(e->mu);
    e->local = ident;  // the echo identifier stands for the port
  }
  return fd;
}

int Stack::SetSockOpt(int fd, int level, int name, int value) {
  const auto e = Get(fd);
  if (!e) return -1;
  std::lock_guard lock(e->mu);
  if (e->local) return Fail(EINVAL);  // these matter only before bind
  if (level == SOL_SOCKET && name == SO_REUSEADDR) {
    e->options.reuse_addr = value != 0;
    return 0;
  }
  if (level == IPPROTO_IPV6 && name == IPV6_V6ONLY && e->options.v6) {
    e->options.v6only = value != 0;
    return 0;
  }
  return Fail(ENOPROTOOPT);
}

int Stack::SetNonBlocking(int fd, bool on) {
  const auto e = Get(fd);
  if (!e) return -1;
  e->nonblocking.store(on);
  return 0;
}

int Stack::Bind(int fd, const Endpoint& local) {
  const auto e = Get(fd);
  if (!e) return -1;
  if (e->state->icmp_echo) return Fail(EOPNOTSUPP);  // the identifier is chosen at socket()
  proto::udp::BindOptions options;
  {
    std::lock_guard lock(e->mu);
    if (local.addr.is_v6() != e->options.v6) return Fail(EAFNOSUPPORT);
    if (e->local) return Fail(EINVAL);
    options = e->options;
  }
  Endpoint bound;
  // A racing bind on the same socket is refused by the worker (EINVAL).
  if (const int err = Call(SocketRequest::Kind::kBind, e, local, options, &bound); err != 0) return Fail(err);
  std::lock_guard lock(e->mu);
  e->local = bound;
  return 0;
}

int Stack::Connect(int fd, const Endpoint& remote) {
  const auto e = Get(fd);
  if (!e) return -1;
  proto::udp::BindOptions options;
  {
    std::lock_guard lock(e->mu);
    options = e->options;
  }
  if (remote.addr.is_v6() != options.v6) return Fail(EAFNOSUPPORT);
  if (e->state->icmp_echo) {  // only a default destination
    if (remote.addr.IsUnspecified()) return Fail(EINVAL);
    std::lock_guard lock(e->mu);
    e->peer = remote;
    return 0;
  }
  if (remote.port == 0 || remote.addr.IsUnspecified()) return Fail(EINVAL);
  Endpoint bound;
  if (const int err = Call(SocketRequest::Kind::kConnect, e, remote, options, &bound); err != 0) return Fail(err);
  std::lock_guard lock(e->mu);
  e->local = bound;
  e->peer = remote;
  return 0;
}

ssize_t Stack::SendTo(int fd, std::span<const std::byte> data, const Endpoint* to) {
  const auto e = Get(fd);
  if (!e) return -1;
  if (const int err = e->state->pending_error.exchange(0); err != 0) return Fail(err);
  std::optional<Endpoint> peer;
  bool bound = false;
  bool v6 = false;
  {
    std::lock_guard lock(e->mu);
    peer = e->peer;
    bound = e->local.has_value();
    v6 = e->options.v6;
  }
  const std::optional<Endpoint> dst_value = to != nullptr ? std::optional<Endpoint>(*to) : peer;
  if (!dst_value) return Fail(EDESTADDRREQ);
  const Endpoint* dst = &*dst_value;
  if (dst->addr.is_v6() != v6) return Fail(EAFNOSUPPORT);
  if (data.size() > kMaxUdpPayload) return Fail(EMSGSIZE);
  if (e->state->icmp_echo) {
    // An echo request message: type, code, checksum, identifier, sequence,
    // data (the checksum and identifier are filled in on the way out).
    const std::uint8_t want = v6 ? 128 : 8;
    if (data.size() < 8 || static_cast<std::uint8_t>(data[0]) != want || data[1] != std::byte{0}) {
      return Fail(EINVAL);
    }
  } else if (!bound) {  // an implicit bind to an ephemeral port, as sendto(2) does
    Endpoint any{v6 ? proto::IpAddress(proto::Ipv6Address()) : proto::IpAddress(proto::Ipv4Address()), 0};
    // Another thread may have bound it meanwhile: that is fine too.
    if (Bind(fd, any) != 0 && errno != EINVAL) return -1;
  }
  rings::PacketPool& pool = engine_.pool();
  const bool large = data.size() + 64 > pool.data_size(rings::BufferClass::kStandard);
  rings::Packet p = pool.Get(large ? rings::BufferClass::kLarge : rings::BufferClass::kStandard);
  // Out of buffers (the large class is small: 64 by default): a blocking
  // socket waits for one to come back, as a full send buffer blocks on Linux,
  // for up to a second; a non-blocking one says EAGAIN.
  const bool nonblocking = e->nonblocking.load();
  for (int tries = 0; !p && !nonblocking && tries < 10000; ++tries) {
    if (pump_) {
      pump_();
    } else {
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    p = pool.Get(large ? rings::BufferClass::kLarge : rings::BufferClass::kStandard);
  }
  if (!p) return Fail(nonblocking ? EAGAIN : ENOBUFS);
  const auto room = p.Append(data.size());
  if (room.size() != data.size()) return Fail(EMSGSIZE);
  std::memcpy(room.data(), data.data(), data.size());
  engine::Datagram d{std::move(p), *dst};
  UdpSocketState& s = *e->state;
  for (;;) {
    {
      std::lock_guard lock(s.tx_mu);
      if (s.tx.TryPush(std::move(d))) break;
    }
    if (nonblocking) return Fail(EAGAIN);
    if (pump_) {
      pump_();
    } else {
      std::this_thread::yield();  // the worker drains it
    }
  }
  if (!s.tx_scheduled.exchange(true, std::memory_order_acq_rel)) {
    engine::SocketInbox& inbox = engine_.worker(0).socket_inbox();
    std::lock_guard lock(inbox.mu);
    // Room is certain: each socket is in the ring at most once.
    std::shared_ptr<UdpSocketState> ready = e->state;
    (void)inbox.tx_ready.TryPush(std::move(ready));
  }
  WakeWorker();
  return static_cast<ssize_t>(data.size());
}

ssize_t Stack::RecvFrom(int fd, std::span<std::byte> out, Endpoint* from, bool dontwait) {
  const auto e = Get(fd);
  if (!e) return -1;
  UdpSocketState& s = *e->state;
  for (;;) {
    const std::uint32_t seen = s.seq.load(std::memory_order_acquire);
    if (const int err = s.pending_error.exchange(0); err != 0) return Fail(err);
    if (s.closed.load(std::memory_order_acquire)) return Fail(EBADF);
    engine::Datagram d;
    bool got = false;
    {
      std::lock_guard lock(s.rx_mu);
      got = s.rx.TryPop(d);
    }
    if (got) {
      const std::size_t n = std::min(out.size(), d.payload.size());
      std::memcpy(out.data(), d.payload.data().data(), n);
      if (from != nullptr) *from = d.peer;
      return static_cast<ssize_t>(n);
    }
    if (dontwait || e->nonblocking.load()) return Fail(EAGAIN);
    if (pump_) {
      pump_();
      if (s.seq.load(std::memory_order_acquire) == seen) return Fail(EAGAIN);  // nothing is coming
    } else {
      s.seq.wait(seen, std::memory_order_acquire);
    }
  }
}

int Stack::Poll(std::span<PollFd> fds, int timeout_ms) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::shared_ptr<Entry>> entries(fds.size());
  for (std::size_t i = 0; i < fds.size(); ++i) entries[i] = Get(fds[i].fd);
  auto scan = [&] {
    int ready = 0;
    for (std::size_t i = 0; i < fds.size(); ++i) {
      short r = 0;
      const auto& e = entries[i];
      if (!e) {
        r = POLLNVAL;
      } else {
        UdpSocketState& s = *e->state;
        const bool error = s.pending_error.load(std::memory_order_acquire) != 0;
        if (error) r |= POLLERR;
        if ((fds[i].events & POLLIN) && (!s.rx.EmptyApprox() || error || s.closed.load())) r |= POLLIN;
        if ((fds[i].events & POLLOUT) && s.tx.SizeApprox() < s.tx.capacity()) r |= POLLOUT;
      }
      fds[i].revents = r;
      ready += r != 0;
    }
    return ready;
  };
  for (;;) {
    if (const int ready = scan(); ready > 0 || timeout_ms == 0) return ready;
    const auto waited = std::chrono::steady_clock::now() - start;
    if (timeout_ms > 0 && waited >= std::chrono::milliseconds(timeout_ms)) return 0;
    if (pump_) {
      pump_();
      if (scan() == 0 && timeout_ms > 0) return 0;  // a simulated engine has nothing more coming
      continue;
    }
    // Say we wait, look once more (a wake-up in between is not lost: it
    // writes the eventfds), then sleep on the eventfds.
    std::vector<pollfd> kfds;
    for (const auto& e : entries) {
      if (!e) continue;
      e->state->pollers.fetch_add(1, std::memory_order_seq_cst);
      if (e->state->event_fd >= 0) kfds.push_back(pollfd{e->state->event_fd, POLLIN, 0});
    }
    int wait_ms = 100;  // bounded: POLLOUT has no wake-up of its own
    if (timeout_ms > 0) {
      const auto left = std::chrono::milliseconds(timeout_ms) -
                        std::chrono::duration_cast<std::chrono::milliseconds>(waited);
      wait_ms = static_cast<int>(std::min<long long>(wait_ms, std::max<long long>(1, left.count())));
    }
    if (scan() == 0) ::poll(kfds.data(), kfds.size(), wait_ms);
    for (const auto& e : entries) {
      if (!e) continue;
      e->state->pollers.fetch_sub(1, std::memory_order_seq_cst);
      if (e->state->event_fd >= 0) {
        std::uint64_t drained;
        [[maybe_unused]] const ssize_t n = read(e->state->event_fd, &drained, sizeof(drained));
      }
    }
  }
}

int Stack::EventFd(int fd) {
  const auto e = Get(fd);
  if (!e) return -1;
  // An epoll user waits for ever on it, so it must be written on every change.
  e->state->event_subscribed.store(true, std::memory_order_seq_cst);
  return e->state->event_fd;
}

int Stack::GetSockName(int fd, Endpoint* out) {
  const auto e = Get(fd);
  if (!e) return -1;
  std::lock_guard lock(e->mu);
  *out = e->local.value_or(Endpoint{
      e->options.v6 ? proto::IpAddress(proto::Ipv6Address()) : proto::IpAddress(proto::Ipv4Address()), 0});
  return 0;
}

int Stack::GetPeerName(int fd, Endpoint* out) {
  const auto e = Get(fd);
  if (!e) return -1;
  std::lock_guard lock(e->mu);
  if (!e->peer) return Fail(ENOTCONN);
  *out = *e->peer;
  return 0;
}

int Stack::Close(int fd) {
  std::shared_ptr<Entry> e;
  {
    std::lock_guard lock(mu_);
    if (fd < 0 || fd >= static_cast<int>(fds_.size()) || !fds_[fd]) return Fail(EBADF);
    e = std::move(fds_[fd]);
    fds_[fd] = nullptr;
  }
  // Wakes blocked receivers (EBADF).
  Call(SocketRequest::Kind::kClose, e, Endpoint{}, proto::udp::BindOptions{}, nullptr);
  return 0;
}

}  // namespace ringstack::sockets
