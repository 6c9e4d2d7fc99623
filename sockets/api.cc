#include "sockets/api.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <chrono>
#include <thread>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "engine/steering.h"

namespace ringstack::sockets {

using engine::SocketRequest;
using engine::UdpSocketState;

namespace {
constexpr std::size_t kRingDepth = 256;  // datagrams each way per socket
constexpr std::size_t kMaxUdpPayload = 65507;
constexpr std::size_t kMinSocketBuffer = 2048;

// poll(2)'s answer for a datagram socket.
short DatagramReady(UdpSocketState& s, short events) {
  short r = 0;
  const bool error = s.pending_error.load(std::memory_order_acquire) != 0;
  if (error) r |= POLLERR;
  const bool readable =
      !s.rx.EmptyApprox() || error || s.closed.load() || s.rd_shut.load(std::memory_order_acquire);
  if ((events & POLLIN) && readable) r |= POLLIN;
  if ((events & POLLOUT) && s.tx.SizeApprox() < s.tx.capacity() &&
      s.tx_bytes.load(std::memory_order_seq_cst) < s.sndbuf.load(std::memory_order_relaxed)) {
    r |= POLLOUT;
  }
  return r;
}

// A poller is about to sleep on `w` (with POLLOUT, the worker then wakes it
// when it takes datagrams off): counted, and its eventfd armed and added
// to `kfds`; false when it has no eventfd (the kernel refused one).
bool ArmWaiter(engine::SocketWaiter& w, short events, absl::InlinedVector<pollfd, 16>& kfds) {
  w.pollers.fetch_add(1, std::memory_order_seq_cst);
  if (events & POLLOUT) w.tx_waiters.fetch_add(1, std::memory_order_seq_cst);
  if (w.event_fd < 0) return false;
  w.armed.store(true, std::memory_order_seq_cst);
  kfds.push_back(pollfd{w.event_fd, POLLIN, 0});
  return true;
}

// The poller woke: no longer counted, and the eventfd drained if it was
// written. Still armed means nobody wrote it since it was armed: nothing to
// drain (a syscall saved per socket and wake-up).
void DisarmWaiter(engine::SocketWaiter& w, short events) {
  w.pollers.fetch_sub(1, std::memory_order_seq_cst);
  if (events & POLLOUT) w.tx_waiters.fetch_sub(1, std::memory_order_seq_cst);
  if (w.event_fd >= 0 && (!w.armed.exchange(false, std::memory_order_seq_cst) ||
                          w.event_subscribed.load(std::memory_order_relaxed))) {
    std::uint64_t drained;
    [[maybe_unused]] const ssize_t n = read(w.event_fd, &drained, sizeof(drained));
  }
}
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

void Stack::WakeWorker(int shard) { engine_.worker(shard).doorbell().Ring(); }

int Stack::ShardFor(std::uint16_t port) {
  const int workers = engine_.config().workers;
  if (port != 0) return engine::ShardForUdpPort(port, workers);
  return static_cast<int>(next_shard_.fetch_add(1, std::memory_order_relaxed) % static_cast<std::uint32_t>(workers));
}

void Stack::WaitFor(const std::atomic<std::uint32_t>& seq, std::uint32_t seen) {
  if (pump_) {
    pump_();
  } else {
    seq.wait(seen, std::memory_order_acquire);
  }
}

std::shared_ptr<Stack::Entry> Stack::Get(int fd) {
  std::lock_guard lock(mu_);
  if (fd < 0 || fd >= static_cast<int>(fds_.size()) || !fds_[fd]) {
    errno = EBADF;
    return nullptr;
  }
  return fds_[fd];
}

int Stack::Call(SocketRequest::Kind kind, int shard, const std::shared_ptr<Entry>& e, const Endpoint& endpoint,
                const proto::udp::BindOptions& options, Endpoint* local_out) {
  SocketRequest r;
  r.kind = kind;
  r.socket = e->state;
  r.endpoint = endpoint;
  r.options = options;
  return Post(shard, std::move(r), local_out);
}

int Stack::Post(int shard, SocketRequest r, Endpoint* local_out) {
  r.completion = std::make_shared<SocketRequest::Completion>();
  const auto completion = r.completion;
  engine::SocketInbox& inbox = engine_.worker(shard).socket_inbox();
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
  WakeWorker(shard);
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

int Stack::AddEntry(std::shared_ptr<Entry> e) {
  std::lock_guard lock(mu_);
  std::size_t open = 0;
  for (const auto& f : fds_) open += f != nullptr;
  if (open >= engine::kMaxSockets) return Fail(EMFILE);
  int fd = -1;
  for (std::size_t i = 0; i < fds_.size() && fd < 0; ++i) {
    if (!fds_[i]) fd = static_cast<int>(i);
  }
  if (fd < 0) {
    fd = static_cast<int>(fds_.size());
    fds_.push_back(nullptr);
  }
  fds_[fd] = std::move(e);
  return fd;
}

int Stack::Socket(int domain, int type, int protocol) {
  if (domain != AF_INET && domain != AF_INET6) return Fail(EAFNOSUPPORT);
  const bool nonblocking = (type & SOCK_NONBLOCK) != 0;
  type &= ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (type == SOCK_STREAM) {
    if (protocol != 0 && protocol != IPPROTO_TCP) return Fail(EPROTONOSUPPORT);
    auto e = std::make_shared<Entry>();
    e->tcp = std::make_shared<engine::TcpSocketState>(0, domain == AF_INET6, engine::kDefaultTcpBuffer,
                                                      engine::kDefaultTcpBuffer);
    e->nonblocking.store(nonblocking);
    e->options.v6 = domain == AF_INET6;
    return AddEntry(std::move(e));
  }
  // UDP, or ICMP echo ("ping") sockets: SOCK_DGRAM with IPPROTO_ICMP /
  // IPPROTO_ICMPV6, as on Linux.
  const bool echo =
      (domain == AF_INET && protocol == IPPROTO_ICMP) || (domain == AF_INET6 && protocol == IPPROTO_ICMPV6);
  if (type != SOCK_DGRAM || (protocol != 0 && protocol != IPPROTO_UDP && !echo)) return Fail(EPROTONOSUPPORT);
  auto e = std::make_shared<Entry>();
  {
    std::lock_guard lock(mu_);
    e->state = std::make_shared<UdpSocketState>(next_id_++, domain == AF_INET6, kRingDepth, echo);
  }
  e->nonblocking.store(nonblocking);
  const int fd = AddEntry(e);
  if (fd < 0) return -1;
  proto::udp::BindOptions options;
  options.v6 = domain == AF_INET6;
  {
    std::lock_guard lock(e->mu);
    e->options = options;
  }
  if (echo) {
    // ICMP arrives on the control shard: echo sockets live there, with an
    // identifier chosen at once (it stands for the port).
    Endpoint ident;
    Call(SocketRequest::Kind::kOpen, 0, e, Endpoint{}, options, &ident);
    std::lock_guard lock(e->mu);
    e->local = ident;
    e->shard = 0;
  }
  // A UDP socket meets its worker at bind (or connect, or the first send).
  return fd;
}

int Stack::SetSockOpt(int fd, int level, int name, int value) {
  const auto e = Get(fd);
  if (!e) return -1;
  std::lock_guard lock(e->mu);
  if (e->tcp) return StreamSetOpt(*e, level, name, value);
  if (level == SOL_SOCKET) {
    switch (name) {
      case SO_REUSEADDR:  // matters at bind
        e->options.reuse_addr = value != 0;
        return 0;
      case SO_BROADCAST:
        e->broadcast = value != 0;
        return 0;
      case SO_RCVBUF:
      case SO_SNDBUF: {
        // Doubled for bookkeeping room, as Linux does (socket(7)), and kept
        // within bounds; negative values count as 0.
        const std::size_t want = value < 0 ? 0 : static_cast<std::size_t>(value);
        const std::size_t most = engine_.config().socket_buffer_max;  // --socket-buffer-max
        const std::size_t size = std::clamp(2 * std::min(want, most), kMinSocketBuffer, most);
        (name == SO_RCVBUF ? e->state->rcvbuf : e->state->sndbuf).store(size, std::memory_order_relaxed);
        return 0;
      }
      default:
        return Fail(ENOPROTOOPT);
    }
  }
  if (level == IPPROTO_IPV6 && name == IPV6_V6ONLY && e->options.v6) {
    if (e->local && !e->state->icmp_echo) return Fail(EINVAL);  // only before bind
    e->options.v6only = value != 0;
    return 0;
  }
  return Fail(ENOPROTOOPT);
}

int Stack::GetSockOpt(int fd, int level, int name, int* value) {
  const auto e = Get(fd);
  if (!e) return -1;
  if (value == nullptr) return Fail(EFAULT);
  std::lock_guard lock(e->mu);
  if (e->tcp) return StreamGetOpt(*e, level, name, value);
  if (level == SOL_SOCKET) {
    switch (name) {
      case SO_REUSEADDR:
        *value = e->options.reuse_addr ? 1 : 0;
        return 0;
      case SO_BROADCAST:
        *value = e->broadcast ? 1 : 0;
        return 0;
      case SO_RCVBUF:
        *value = static_cast<int>(e->state->rcvbuf.load(std::memory_order_relaxed));
        return 0;
      case SO_SNDBUF:
        *value = static_cast<int>(e->state->sndbuf.load(std::memory_order_relaxed));
        return 0;
      case SO_TYPE:
        *value = SOCK_DGRAM;
        return 0;
      case SO_ERROR:
        *value = e->state->pending_error.exchange(0);
        return 0;
      default:
        return Fail(ENOPROTOOPT);
    }
  }
  if (level == IPPROTO_IPV6 && name == IPV6_V6ONLY && e->options.v6) {
    *value = e->options.v6only ? 1 : 0;
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

int Stack::GetNonBlocking(int fd) {
  const auto e = Get(fd);
  if (!e) return -1;
  return e->nonblocking.load() ? 1 : 0;
}

int Stack::Bind(int fd, const Endpoint& local) {
  const auto e = Get(fd);
  if (!e) return -1;
  if (e->tcp) return StreamBind(*e, local);
  if (e->state->icmp_echo) return Fail(EOPNOTSUPP);  // the identifier is chosen at socket()
  std::lock_guard bind_lock(e->bind_mu);
  proto::udp::BindOptions options;
  {
    std::lock_guard lock(e->mu);
    if (local.addr.is_v6() != e->options.v6) return Fail(EAFNOSUPPORT);
    if (e->local) return Fail(EINVAL);
    options = e->options;
  }
  // The port's own shard, or (port 0) one in turn that picks among its ports.
  const int shard = ShardFor(local.port);
  Endpoint bound;
  if (const int err = Call(SocketRequest::Kind::kBind, shard, e, local, options, &bound); err != 0) return Fail(err);
  std::lock_guard lock(e->mu);
  e->local = bound;
  e->shard = shard;
  return 0;
}

int Stack::Connect(int fd, const Endpoint& remote) {
  const auto e = Get(fd);
  if (!e) return -1;
  if (e->tcp) return StreamConnect(e, remote);
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
  std::lock_guard bind_lock(e->bind_mu);
  int shard;
  {
    std::lock_guard lock(e->mu);
    shard = e->shard;
  }
  if (shard < 0) shard = ShardFor(0);  // unbound: an ephemeral port there
  Endpoint bound;
  if (const int err = Call(SocketRequest::Kind::kConnect, shard, e, remote, options, &bound); err != 0) {
    return Fail(err);
  }
  std::lock_guard lock(e->mu);
  e->local = bound;
  e->peer = remote;
  e->shard = shard;
  return 0;
}

bool Stack::IsBroadcast(proto::Ipv4Address a) {
  // The limited broadcast, or a directed one of our networks by shard 0's
  // published view.
  if (a == proto::Ipv4Address(0xffffffffu)) return true;
  const auto snap = engine_.fabric().Load();
  return snap && snap->host4.IsBroadcast(a);
}

// SO_SNDBUF: wait (or EAGAIN) while the queue holds that much already; an
// empty queue takes any one datagram, as Linux's does. 0 or an errno value.
int Stack::WaitForSendRoom(UdpSocketState& s, bool nonblocking) {
  for (;;) {
    const std::uint32_t seen = s.seq.load(std::memory_order_acquire);
    if (s.tx_bytes.load(std::memory_order_acquire) < s.sndbuf.load(std::memory_order_relaxed) &&
        s.tx.SizeApprox() < s.tx.capacity()) {
      return 0;
    }
    if (nonblocking) return EAGAIN;
    if (s.closed.load(std::memory_order_acquire)) return EBADF;
    s.tx_waiters.fetch_add(1, std::memory_order_seq_cst);
    // Checked again after saying we wait (see SocketWaiter).
    if (s.tx_bytes.load(std::memory_order_seq_cst) >= s.sndbuf.load(std::memory_order_relaxed) ||
        s.tx.SizeApprox() >= s.tx.capacity()) {
      WaitFor(s.seq, seen);
    }
    s.tx_waiters.fetch_sub(1, std::memory_order_seq_cst);
  }
}

ssize_t Stack::SendTo(int fd, std::span<const std::byte> data, const Endpoint* to) {
  const auto e = Get(fd);
  if (!e) return -1;
  if (e->tcp) return StreamSend(e, data);  // the address, as on Linux, is ignored (or EISCONN)
  if (const int err = e->state->pending_error.exchange(0); err != 0) return Fail(err);
  if (e->wr_shut.load()) return Fail(EPIPE);
  std::optional<Endpoint> peer;
  bool bound = false;
  bool v6 = false;
  bool broadcast = false;
  {
    std::lock_guard lock(e->mu);
    peer = e->peer;
    bound = e->local.has_value();
    v6 = e->options.v6;
    broadcast = e->broadcast;
  }
  const std::optional<Endpoint> dst_value = to != nullptr ? std::optional<Endpoint>(*to) : peer;
  if (!dst_value) return Fail(EDESTADDRREQ);
  const Endpoint* dst = &*dst_value;
  if (dst->addr.is_v6() != v6) return Fail(EAFNOSUPPORT);
  if (data.size() > kMaxUdpPayload) return Fail(EMSGSIZE);
  // Broadcast needs SO_BROADCAST (EACCES, as on Linux).
  if (!v6 && !broadcast && IsBroadcast(dst->addr.v4())) return Fail(EACCES);
  if (e->state->icmp_echo) {
    // An echo request message: type, code, checksum, identifier, sequence,
    // data (the checksum and identifier are filled in on the way out).
    const std::uint8_t want = v6 ? 128 : 8;
    if (data.size() < 8 || static_cast<std::uint8_t>(data[0]) != want || data[1] != std::byte{0}) {
      return Fail(EINVAL);
    }
  } else if (!bound) {  // an implicit bind to an ephemeral port, as sendto(2) does
    // Another thread may have bound it meanwhile: that is fine too.
    if (Bind(fd, Endpoint::Wildcard(v6)) != 0 && errno != EINVAL) return -1;
  }
  int shard;
  {
    std::lock_guard lock(e->mu);
    shard = e->shard;
  }
  if (shard < 0) return Fail(EINVAL);  // unreachable: bound above
  UdpSocketState& s = *e->state;
  const bool nonblocking = e->nonblocking.load();
  if (const int err = WaitForSendRoom(s, nonblocking); err != 0) return Fail(err);
  return QueueDatagram(e->state, shard, data, *dst, nonblocking);
}

// Copies `data` into a pool buffer and onto the socket's send ring, and
// schedules the socket with its worker.
ssize_t Stack::QueueDatagram(const std::shared_ptr<UdpSocketState>& state, int shard,
                             std::span<const std::byte> data, const Endpoint& to, bool nonblocking) {
  UdpSocketState& s = *state;
  rings::PacketPool& pool = engine_.pool();
  const bool large = data.size() + 64 > pool.data_size(rings::BufferClass::kStandard);
  rings::Packet p = pool.Get(large ? rings::BufferClass::kLarge : rings::BufferClass::kStandard);
  // Out of buffers (the large class is small: 64 by default): a blocking
  // socket waits for one to come back for up to a second; a non-blocking
  // one says EAGAIN.
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
  engine::Datagram d{std::move(p), to};
  s.tx_bytes.fetch_add(data.size(), std::memory_order_acq_rel);
  for (;;) {
    {
      std::lock_guard lock(s.tx_mu);
      if (s.tx.TryPush(std::move(d))) break;
    }
    // Another thread filled the ring since the check above.
    if (nonblocking) {
      s.tx_bytes.fetch_sub(data.size(), std::memory_order_acq_rel);
      return Fail(EAGAIN);
    }
    if (pump_) {
      pump_();
    } else {
      std::this_thread::yield();  // the worker drains it
    }
  }
  // The doorbell only when the socket goes from idle to scheduled: while it
  // is scheduled the worker has yet to drain it, and takes this one too.
  if (!s.tx_scheduled.exchange(true, std::memory_order_acq_rel)) {
    engine::SocketInbox& inbox = engine_.worker(shard).socket_inbox();
    {
      std::lock_guard lock(inbox.mu);
      // Room is certain: each socket is in the ring at most once.
      std::shared_ptr<UdpSocketState> ready = state;
      (void)inbox.tx_ready.TryPush(std::move(ready));
    }
    WakeWorker(shard);
  }
  return static_cast<ssize_t>(data.size());
}

ssize_t Stack::RecvFrom(int fd, std::span<std::byte> out, Endpoint* from, bool dontwait, bool full_length) {
  const auto e = Get(fd);
  if (!e) return -1;
  if (e->tcp) {
    const ssize_t n = StreamRecv(e, out, dontwait);
    if (n >= 0 && from != nullptr) {
      std::lock_guard lock(e->mu);
      *from = e->peer.value_or(Endpoint{});
    }
    return n;
  }
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
      s.rx_bytes.fetch_sub(d.payload.size(), std::memory_order_acq_rel);
      const std::size_t n = std::min(out.size(), d.payload.size());
      std::memcpy(out.data(), d.payload.data().data(), n);
      if (from != nullptr) *from = d.peer;
      return static_cast<ssize_t>(full_length ? d.payload.size() : n);
    }
    if (s.rd_shut.load(std::memory_order_acquire)) return 0;  // shut down for reading: end of data
    if (dontwait || e->nonblocking.load()) return Fail(EAGAIN);
    if (pump_) {
      pump_();
      if (s.seq.load(std::memory_order_acquire) == seen && s.rx.EmptyApprox()) return Fail(EAGAIN);  // nothing is coming
    } else {
      // Count ourselves in, look once more, then sleep (see SocketWaiter).
      s.rx_waiters.fetch_add(1, std::memory_order_seq_cst);
      if (s.rx.EmptyApprox()) s.seq.wait(seen, std::memory_order_acquire);
      s.rx_waiters.fetch_sub(1, std::memory_order_seq_cst);
    }
  }
}

int Stack::Shutdown(int fd, int how) {
  const auto e = Get(fd);
  if (!e) return -1;
  if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR) return Fail(EINVAL);
  if (e->tcp) return StreamShutdown(*e, how);
  {
    std::lock_guard lock(e->mu);
    if (!e->peer) return Fail(ENOTCONN);
  }
  if (how != SHUT_WR) {
    e->state->rd_shut.store(true, std::memory_order_release);
    e->state->Wake();  // blocked receivers see the end
  }
  if (how != SHUT_RD) e->wr_shut.store(true);
  return 0;
}

int Stack::Listen(int fd, int backlog) {
  const auto e = Get(fd);
  if (!e) return -1;
  if (!e->tcp) return Fail(EOPNOTSUPP);
  return StreamListen(e, backlog);
}

int Stack::Accept(int fd, Endpoint* peer) {
  const auto e = Get(fd);
  if (!e) return -1;
  if (!e->tcp) return Fail(EOPNOTSUPP);
  return StreamAccept(e, peer);
}

int Stack::Poll(std::span<PollFd> fds, int timeout_ms) {
  const auto start = std::chrono::steady_clock::now();
  // Inline up to 16 sockets: a poll loop allocates nothing per call.
  absl::InlinedVector<std::shared_ptr<Entry>, 16> entries(fds.size());
  for (std::size_t i = 0; i < fds.size(); ++i) entries[i] = Get(fds[i].fd);
  auto scan = [&] {
    int ready = 0;
    for (std::size_t i = 0; i < fds.size(); ++i) {
      short r = 0;
      const auto& e = entries[i];
      if (!e) {
        r = POLLNVAL;
      } else if (e->tcp) {
        r = StreamReady(*e, fds[i].events);
      } else {
        r = DatagramReady(*e->state, fds[i].events);
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
    absl::InlinedVector<pollfd, 16> kfds;
    bool all_fds = true;
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (entries[i]) all_fds &= ArmWaiter(entries[i]->waiter(), fds[i].events, kfds);
    }
    // Without an eventfd for every socket (the kernel refused one), sleep
    // in short steps instead.
    int wait_ms = all_fds ? -1 : 10;
    if (timeout_ms > 0) {
      const auto left = std::chrono::milliseconds(timeout_ms) -
                        std::chrono::duration_cast<std::chrono::milliseconds>(waited);
      const int left_ms = static_cast<int>(std::max<long long>(1, left.count()));
      wait_ms = wait_ms < 0 ? left_ms : std::min(wait_ms, left_ms);
    }
    // Pairs with the worker's fence in WakeReaders/WakeWriters: a worker that
    // found a socket not (yet) armed made its change visible to this scan.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (scan() == 0) ::poll(kfds.data(), kfds.size(), wait_ms);
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (entries[i]) DisarmWaiter(entries[i]->waiter(), fds[i].events);
    }
  }
}

int Stack::EventFd(int fd) {
  const auto e = Get(fd);
  if (!e) return -1;
  // An epoll user waits for ever on it, so it must be written on every change.
  e->waiter().event_subscribed.store(true, std::memory_order_seq_cst);
  return e->waiter().event_fd;
}

int Stack::GetSockName(int fd, Endpoint* out) {
  const auto e = Get(fd);
  if (!e) return -1;
  std::lock_guard lock(e->mu);
  *out = e->local.value_or(Endpoint::Wildcard(e->options.v6));
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

int Stack::GetTcpInfo(int fd, TcpInfo* out) {
  const auto e = Get(fd);
  if (!e) return -1;
  if (!e->tcp) return Fail(EOPNOTSUPP);
  Endpoint local, peer;
  {
    std::lock_guard lock(e->mu);
    if (!e->local || !e->peer) return Fail(ENOTCONN);
    local = *e->local;
    peer = *e->peer;
  }
  for (int k = 0; k < engine_.workers(); ++k) {
    using Found = std::optional<engine::TcpSessionInfo>;
    const auto info = engine_.OnShard<Found>(k, [&](const engine::Worker& w) -> Found {
      for (engine::TcpSessionInfo& i : w.TcpSessions()) {
        if (!i.listener && i.local == local && i.remote == peer) return std::move(i);
      }
      return std::nullopt;
    });
    if (info && *info) {
      const engine::TcpSessionInfo& i = **info;
      *out = TcpInfo{.local = i.local,
                     .remote = i.remote,
                     .state = i.state,
                     .snd_una = i.snd_una,
                     .snd_nxt = i.snd_nxt,
                     .rcv_nxt = i.rcv_nxt,
                     .snd_wnd = i.snd_wnd,
                     .rcv_wnd = i.rcv_wnd,
                     .cwnd = i.cwnd,
                     .ssthresh = i.ssthresh,
                     .in_flight = i.in_flight,
                     .unsent = i.unsent,
                     .unread = i.unread,
                     .srtt_us = i.srtt_us,
                     .rto_ms = i.rto_ms,
                     .retransmits = i.retransmits,
                     .mss = i.mss,
                     .congestion = i.cc,
                     .recovery = i.recovery};
      return 0;
    }
  }
  return Fail(ENOTCONN);
}

int Stack::Close(int fd) {
  std::shared_ptr<Entry> e;
  {
    std::lock_guard lock(mu_);
    if (fd < 0 || fd >= static_cast<int>(fds_.size()) || !fds_[fd]) return Fail(EBADF);
    e = std::move(fds_[fd]);
    fds_[fd] = nullptr;
  }
  if (e->tcp) {
    StreamClose(e);
    return 0;
  }
  // A bind or connect in flight finishes first, so the shard is known.
  std::lock_guard bind_lock(e->bind_mu);
  int shard;
  {
    std::lock_guard lock(e->mu);
    shard = e->shard;
  }
  if (shard >= 0) {
    // The worker forgets it, then wakes blocked callers (EBADF).
    Call(SocketRequest::Kind::kClose, shard, e, Endpoint{}, proto::udp::BindOptions{}, nullptr);
  } else {
    e->state->closed.store(true, std::memory_order_release);
    e->state->Wake();
  }
  return 0;
}

}  // namespace ringstack::sockets
