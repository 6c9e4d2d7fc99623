// TCP stream sockets on the socket API: the Stack's side of
// engine/tcp_socket.h. Blocking calls wait on the socket's sequence number
// (or run the pump under a SimRunner); the worker wakes them.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <bit>
#include <cerrno>

#include "engine/steering.h"
#include "sockets/api.h"

namespace ringstack::sockets {

using engine::SocketRequest;
using engine::TcpSocketState;
using Status = TcpSocketState::Status;

namespace {
constexpr int kMaxBacklog = 4096;  // Linux's somaxconn
constexpr std::size_t kMinTcpBuffer = 4096;

}  // namespace

void Stack::ScheduleTcp(const std::shared_ptr<TcpSocketState>& s) {
  int shard;
  {
    std::lock_guard lock(s->ends_mu);
    shard = s->shard;
  }
  if (shard < 0 || s->scheduled.exchange(true, std::memory_order_acq_rel)) return;
  engine::SocketInbox& inbox = engine_.worker(shard).socket_inbox();
  bool pushed;
  {
    std::lock_guard lock(inbox.mu);
    std::shared_ptr<TcpSocketState> copy = s;
    pushed = inbox.tcp_ready.TryPush(std::move(copy));
  }
  if (!pushed) s->scheduled.store(false, std::memory_order_release);
  WakeWorker(shard);
}

int Stack::StreamSetOpt(Entry& e, int level, int name, int value) {
  TcpSocketState& s = *e.tcp;
  const bool fresh = s.status.load() == Status::kIdle;
  if (level == SOL_SOCKET) {
    switch (name) {
      case SO_REUSEADDR:
        e.options.reuse_addr = value != 0;
        return 0;
      case SO_KEEPALIVE:
        s.keepalive.store(value != 0);
        return 0;
      case SO_RCVBUF:
      case SO_SNDBUF: {
        // The rings are made at the size asked for (doubled, as Linux
        // reports it, and rounded up to a power of two), so only before the
        // connection exists.
        if (!fresh) return Fail(EINVAL);
        const std::size_t want = value < 0 ? 0 : 2 * static_cast<std::size_t>(value);
        // At most --socket-buffer-max (a power of two not above it).
        const std::size_t most = std::bit_floor(engine_.config().socket_buffer_max);
        const std::size_t size = std::bit_ceil(std::clamp(want, kMinTcpBuffer, most));
        const std::size_t snd = name == SO_SNDBUF ? size : s.send.capacity();
        const std::size_t rcv = name == SO_RCVBUF ? size : s.recv.capacity();
        auto fresh_state = std::make_shared<TcpSocketState>(0, s.v6, snd, rcv);
        fresh_state->CopyOptionsFrom(s);
        e.tcp = std::move(fresh_state);
        return 0;
      }
      default:
        return Fail(ENOPROTOOPT);
    }
  }
  if (level == IPPROTO_TCP) {
    switch (name) {
      case TCP_NODELAY:
        s.nodelay.store(value != 0);
        ScheduleTcp(e.tcp);  // a connection picks it up when next served
        return 0;
      case TCP_KEEPIDLE:
      case TCP_KEEPINTVL:
      case TCP_KEEPCNT:
        if (value < 1 || value > 32767) return Fail(EINVAL);
        (name == TCP_KEEPIDLE ? s.keepalive_idle_s : name == TCP_KEEPINTVL ? s.keepalive_interval_s
                                                                             : s.keepalive_count)
            .store(value);
        return 0;
      case kTcpEcn:
        // Agreed in the handshake: before connect or listen only.
        if (value < 0 || value > 3 || !fresh) return Fail(EINVAL);
        s.ecn.store(value);
        return 0;
      case TCP_FASTOPEN:  // a listener's queue of fast-opened handshakes
        if (value < 0) return Fail(EINVAL);
        s.fastopen_qlen.store(value);
        return 0;
      case TCP_FASTOPEN_CONNECT:
        if (value != 0 && value != 1) return Fail(EINVAL);
        if (!fresh) return Fail(EISCONN);
        e.fastopen_connect = value != 0;
        return 0;
      default:
        return Fail(ENOPROTOOPT);
    }
  }
  if (level == IPPROTO_IPV6 && name == IPV6_V6ONLY && e.options.v6) {
    if (!fresh) return Fail(EINVAL);
    e.options.v6only = value != 0;
    return 0;
  }
  return Fail(ENOPROTOOPT);
}

int Stack::SetCongestion(int fd, std::string_view name) {
  const auto e = Get(fd);
  if (!e) return -1;
  std::lock_guard lock(e->mu);
  if (!e->tcp) return Fail(ENOPROTOOPT);
  const auto& names = engine::TcpSocketState::kCongestionNames;
  for (int i = 1; i < static_cast<int>(std::size(names)); ++i) {
    if (names[i] == name) {
      e->tcp->congestion.store(i);
      ScheduleTcp(e->tcp);  // a connection switches when next served
      return 0;
    }
  }
  return Fail(ENOENT);
}

int Stack::GetCongestion(int fd, std::string& name) {
  const auto e = Get(fd);
  if (!e) return -1;
  std::lock_guard lock(e->mu);
  if (!e->tcp) return Fail(ENOPROTOOPT);
  const int i = e->tcp->congestion.load();
  name = std::string(i == 0 ? std::string_view(engine_.config().tcp_cc)
                            : engine::TcpSocketState::kCongestionNames[i]);
  return 0;
}

int Stack::StreamGetOpt(Entry& e, int level, int name, int* value) {
  TcpSocketState& s = *e.tcp;
  if (level == SOL_SOCKET) {
    switch (name) {
      case SO_TYPE: *value = SOCK_STREAM; return 0;
      case SO_ERROR: *value = s.error.exchange(0); return 0;
      case SO_REUSEADDR: *value = e.options.reuse_addr ? 1 : 0; return 0;
      case SO_KEEPALIVE: *value = s.keepalive.load() ? 1 : 0; return 0;
      case SO_RCVBUF: *value = static_cast<int>(s.recv.capacity()); return 0;
      case SO_SNDBUF: *value = static_cast<int>(s.send.capacity()); return 0;
      case SO_ACCEPTCONN: *value = s.status.load() == Status::kListening ? 1 : 0; return 0;
      default: return Fail(ENOPROTOOPT);
    }
  }
  if (level == IPPROTO_TCP) {
    switch (name) {
      case TCP_NODELAY: *value = s.nodelay.load() ? 1 : 0; return 0;
      case TCP_KEEPIDLE: *value = s.keepalive_idle_s.load(); return 0;
      case TCP_KEEPINTVL: *value = s.keepalive_interval_s.load(); return 0;
      case TCP_KEEPCNT: *value = s.keepalive_count.load(); return 0;
      case kTcpEcn: {
        const int own = s.ecn.load();
        *value = own >= 0 ? own : static_cast<int>(engine_.config().tcp_ecn);
        return 0;
      }
      case TCP_FASTOPEN: *value = std::max(s.fastopen_qlen.load(), 0); return 0;
      case TCP_FASTOPEN_CONNECT: *value = e.fastopen_connect ? 1 : 0; return 0;
      default: return Fail(ENOPROTOOPT);
    }
  }
  if (level == IPPROTO_IPV6 && name == IPV6_V6ONLY && e.options.v6) {
    *value = e.options.v6only ? 1 : 0;
    return 0;
  }
  return Fail(ENOPROTOOPT);
}

int Stack::StreamBind(Entry& e, const Endpoint& local) {
  std::lock_guard lock(e.mu);
  if (local.addr.is_v6() != e.options.v6) return Fail(EAFNOSUPPORT);
  if (e.local || e.tcp->status.load() != Status::kIdle) return Fail(EINVAL);
  // Our address or the wildcard (the listener's own check repeats it).
  if (!local.addr.IsUnspecified()) {
    const auto snap = engine_.fabric().Load();
    const bool ours = snap && (local.addr.is_v6() ? snap->host6.IsLocal(local.addr.v6())
                                                  : snap->host4.IsLocal(local.addr.v4()));
    if (!ours) return Fail(EADDRNOTAVAIL);
  }
  e.local = local;
  return 0;
}

int Stack::StreamListen(const std::shared_ptr<Entry>& e, int backlog) {
  std::lock_guard bind_lock(e->bind_mu);
  TcpSocketState& s = *e->tcp;
  const Status status = s.status.load();
  if (status == Status::kListening) {  // a second listen changes the backlog only
    s.backlog = std::clamp(backlog, 1, kMaxBacklog);
    return 0;
  }
  if (status != Status::kIdle) return Fail(EINVAL);
  Endpoint local;
  {
    std::lock_guard lock(e->mu);
    local = e->local.value_or(Endpoint::Wildcard(e->options.v6));
  }
  s.backlog = std::clamp(backlog, 1, kMaxBacklog);
  const int workers = engine_.config().workers;
  auto request = [&](SocketRequest::Kind kind, int shard, const Endpoint& at) {
    SocketRequest r;
    r.kind = kind;
    r.tcp = e->tcp;
    r.endpoint = at;
    return Post(shard, std::move(r), nullptr);
  };
  // An unbound listener takes an ephemeral port (tried from a moving point).
  const bool any_port = local.port == 0;
  int err = 0;
  for (int tries = 0; tries < (any_port ? 64 : 1); ++tries) {
    if (any_port) local.port = static_cast<std::uint16_t>(32768 + (next_shard_.fetch_add(7919) * 7919u) % 28232);
    err = request(SocketRequest::Kind::kTcpListen, 0, local);  // shard 0 judges conflicts
    if (err != EADDRINUSE) break;
  }
  if (err != 0) return Fail(err);
  for (int shard = 1; shard < workers; ++shard) request(SocketRequest::Kind::kTcpListen, shard, local);
  {
    std::lock_guard lock(e->mu);
    e->local = local;
  }
  s.status.store(Status::kListening, std::memory_order_release);
  return 0;
}

int Stack::StreamAccept(const std::shared_ptr<Entry>& e, Endpoint* peer) {
  TcpSocketState& l = *e->tcp;
  if (l.status.load() != Status::kListening) return Fail(EINVAL);
  for (;;) {
    const std::uint32_t seen = l.seq.load(std::memory_order_acquire);
    std::shared_ptr<TcpSocketState> child;
    {
      std::lock_guard lock(l.accept_mu);
      if (!l.accept_queue.empty()) {
        child = std::move(l.accept_queue.front());
        l.accept_queue.pop_front();
      }
    }
    if (child) {
      auto c = std::make_shared<Entry>();
      c->tcp = child;
      c->options.v6 = child->v6;
      {
        std::lock_guard lock(child->ends_mu);
        c->local = child->local;
        c->peer = child->remote;
        c->shard = child->shard;
      }
      if (peer != nullptr) *peer = *c->peer;
      const int fd = AddEntry(c);
      if (fd < 0) {  // no descriptor for it: the connection goes
        child->close_requested.store(true);
        ScheduleTcp(child);
      }
      return fd;
    }
    if (l.status.load() != Status::kListening) return Fail(EINVAL);  // closed meanwhile
    if (e->nonblocking.load()) return Fail(EAGAIN);
    WaitFor(l.seq, seen);
    if (pump_ && l.seq.load() == seen) return Fail(EAGAIN);  // a simulated engine has nothing more coming
  }
}

int Stack::StreamConnect(const std::shared_ptr<Entry>& e, const Endpoint& remote) {
  TcpSocketState& s = *e->tcp;
  if (remote.addr.is_v6() != e->options.v6) return Fail(EAFNOSUPPORT);
  if (remote.port == 0 || remote.addr.IsUnspecified() || remote.addr.IsMulticast()) return Fail(EINVAL);
  {
    // TCP_FASTOPEN_CONNECT: connected at once, as on Linux; the SYN goes
    // with the first write (or read), carrying its data.
    std::lock_guard lock(e->mu);
    if (e->fastopen_connect && FastOpenClient() && s.status.load() == Status::kIdle) {
      if (e->fastopen_peer) return Fail(EISCONN);
      e->fastopen_peer = remote;
      e->fastopen_deferred.store(true, std::memory_order_release);
      e->peer = remote;
      return 0;
    }
  }
  if (const int err = StreamPostConnect(e, remote, /*fastopen=*/false); err != 0) return Fail(err);
  return StreamWaitConnected(e);
}

bool Stack::FastOpenClient() const { return proto::tcp::FastOpenClient(engine_.config().tcp_fastopen); }

int Stack::StreamPostConnect(const std::shared_ptr<Entry>& e, const Endpoint& remote, bool fastopen) {
  TcpSocketState& s = *e->tcp;
  {
    std::lock_guard bind_lock(e->bind_mu);
    switch (s.status.load()) {
      case Status::kConnecting: return EALREADY;
      case Status::kConnected: return EISCONN;
      case Status::kListening: return EISCONN;
      case Status::kClosed: return EISCONN;
      case Status::kIdle: break;
    }
    Endpoint bound;
    {
      std::lock_guard lock(e->mu);
      bound = e->local.value_or(Endpoint::Wildcard(e->options.v6));
    }
    // The shard: the one a bound port's flow is steered to (with the source
    // address the route gives), else one in turn (its worker picks a port
    // that steers there).
    const int workers = engine_.config().workers;
    int shard = ShardFor(0);
    if (bound.port != 0) {
      proto::IpAddress src = bound.addr;
      if (src.IsUnspecified()) {
        if (const auto snap = engine_.fabric().Load()) {
          src = remote.addr.is_v6() ? proto::IpAddress(snap->host6.SourceFor(remote.addr.v6()))
                                    : proto::IpAddress(snap->host4.SourceFor(remote.addr.v4()));
        }
      }
      shard = engine::ShardForFlow(src, bound.port, remote.addr, remote.port, workers);
    }
    {
      std::lock_guard lock(s.ends_mu);
      s.shard = shard;
    }
    SocketRequest r;
    r.kind = SocketRequest::Kind::kTcpConnect;
    r.tcp = e->tcp;
    r.endpoint = remote;
    r.bound = bound;
    r.fastopen = fastopen;
    Endpoint local;
    if (const int err = Post(shard, std::move(r), &local); err != 0) return err;
    std::lock_guard lock(e->mu);
    e->local = local;
    e->peer = remote;
    e->shard = shard;
    e->fastopen_peer.reset();
    e->fastopen_deferred.store(false, std::memory_order_release);
  }
  return 0;
}

int Stack::StreamWaitConnected(const std::shared_ptr<Entry>& e) {
  TcpSocketState& s = *e->tcp;
  if (e->nonblocking.load()) return Fail(EINPROGRESS);
  for (;;) {
    const std::uint32_t seen = s.seq.load(std::memory_order_acquire);
    if (s.status.load(std::memory_order_acquire) != Status::kConnecting) break;
    WaitFor(s.seq, seen);
    if (pump_ && s.seq.load() == seen && s.status.load() == Status::kConnecting) return Fail(EINPROGRESS);
  }
  if (const int err = s.error.exchange(0); err != 0) return Fail(err);
  return s.status.load() == Status::kConnected ? 0 : Fail(ECONNABORTED);
}

// RFC 7413 from the application: `data` (what the send ring takes of it)
// is queued before the connect, so the SYN may carry it. Blocking: waits
// for the handshake, then sends the rest as send() does; non-blocking:
// the bytes queued (they go in the SYN, or after the handshake).
ssize_t Stack::FastOpen(const std::shared_ptr<Entry>& e, std::span<const std::byte> data, const Endpoint& remote) {
  TcpSocketState& s = *e->tcp;
  if (remote.addr.is_v6() != e->options.v6) return Fail(EAFNOSUPPORT);
  if (remote.port == 0 || remote.addr.IsUnspecified() || remote.addr.IsMulticast()) return Fail(EINVAL);
  if (s.status.load() != Status::kIdle) return Fail(s.status.load() == Status::kConnecting ? EALREADY : EISCONN);
  std::size_t n;
  {
    std::lock_guard lock(s.send_mu);
    n = s.send.Write(data);
    s.written.fetch_add(n, std::memory_order_release);
  }
  if (const int err = StreamPostConnect(e, remote, /*fastopen=*/true); err != 0) {
    std::lock_guard lock(s.send_mu);  // no connection took them: the socket is as before
    s.send.CommitRead(n);
    s.written.fetch_sub(n, std::memory_order_release);
    return Fail(err);
  }
  if (e->nonblocking.load()) return static_cast<ssize_t>(n);
  if (StreamWaitConnected(e) != 0) return -1;
  if (n == data.size()) return static_cast<ssize_t>(n);
  const ssize_t rest = StreamSend(e, data.subspan(n));
  return rest < 0 ? static_cast<ssize_t>(n) : static_cast<ssize_t>(n) + rest;
}

ssize_t Stack::SendFastOpen(int fd, std::span<const std::byte> data, const Endpoint& to) {
  const auto e = Get(fd);
  if (!e) return -1;
  if (!e->tcp) return SendTo(fd, data, &to);  // a datagram socket ignores the flag, as Linux
  if (!FastOpenClient()) return Fail(EOPNOTSUPP);
  return FastOpen(e, data, to);
}

// A TCP_FASTOPEN_CONNECT socket's deferred connect, if still pending.
std::optional<Endpoint> Stack::TakeFastOpenPeer(Entry& e) {
  if (!e.fastopen_deferred.load(std::memory_order_acquire)) return std::nullopt;  // the common case, unlocked
  std::lock_guard lock(e.mu);
  if (!e.fastopen_peer || e.tcp->status.load() != Status::kIdle) return std::nullopt;
  return e.fastopen_peer;
}

ssize_t Stack::StreamSend(const std::shared_ptr<Entry>& e, std::span<const std::byte> data) {
  TcpSocketState& s = *e->tcp;
  if (const auto peer = TakeFastOpenPeer(*e)) return FastOpen(e, data, *peer);
  std::size_t total = 0;
  for (;;) {
    const std::uint32_t seen = s.seq.load(std::memory_order_acquire);
    if (const int err = s.error.exchange(0); err != 0) return total != 0 ? static_cast<ssize_t>(total) : Fail(err);
    const Status status = s.status.load(std::memory_order_acquire);
    if (status == Status::kIdle || status == Status::kListening) return Fail(ENOTCONN);
    if (s.send_closed.load(std::memory_order_acquire) || status == Status::kClosed) {
      return total != 0 ? static_cast<ssize_t>(total) : Fail(EPIPE);
    }
    if (status == Status::kConnected) {
      std::size_t n;
      {
        std::lock_guard lock(s.send_mu);
        n = s.send.Write(data.subspan(total));
        s.written.fetch_add(n, std::memory_order_release);
      }
      total += n;
      if (n != 0) ScheduleTcp(e->tcp);
      if (total == data.size()) return static_cast<ssize_t>(total);
    }
    // Partial writes: what went, when non-blocking; else wait for room.
    if (e->nonblocking.load()) return total != 0 ? static_cast<ssize_t>(total) : Fail(EAGAIN);
    s.tx_waiters.fetch_add(1, std::memory_order_seq_cst);
    if (s.send.WritableApprox() == 0 || s.status.load(std::memory_order_seq_cst) == Status::kConnecting) {
      WaitFor(s.seq, seen);
    }
    s.tx_waiters.fetch_sub(1, std::memory_order_seq_cst);
    if (pump_ && s.seq.load() == seen && s.send.WritableApprox() == 0) {
      return total != 0 ? static_cast<ssize_t>(total) : Fail(EAGAIN);
    }
  }
}

ssize_t Stack::StreamRecv(const std::shared_ptr<Entry>& e, std::span<std::byte> out, bool dontwait) {
  TcpSocketState& s = *e->tcp;
  // Reading first on a TCP_FASTOPEN_CONNECT socket: the SYN goes now, empty.
  if (const auto peer = TakeFastOpenPeer(*e)) {
    const bool nonblocking = e->nonblocking.load();
    if (FastOpen(e, {}, *peer) < 0 && !(nonblocking && errno == EINPROGRESS)) return -1;
  }
  for (;;) {
    const std::uint32_t seen = s.seq.load(std::memory_order_acquire);
    // The FIN flag before the ring: once it is set, every byte before the
    // FIN is already in the ring.
    const bool eof = s.peer_closed.load(std::memory_order_acquire);
    std::size_t n;
    {
      std::lock_guard lock(s.recv_mu);
      n = s.recv.Read(out);
      s.consumed.fetch_add(n, std::memory_order_release);
    }
    if (n != 0) {
      ScheduleTcp(e->tcp);  // the window may open
      return static_cast<ssize_t>(n);
    }
    if (out.empty()) return 0;
    if (eof || e->rd_shut.load()) return 0;
    if (const int err = s.error.exchange(0); err != 0) return Fail(err);
    const Status status = s.status.load(std::memory_order_acquire);
    if (status == Status::kIdle || status == Status::kListening) return Fail(ENOTCONN);
    if (status == Status::kClosed) return 0;
    if (dontwait || e->nonblocking.load()) return Fail(EAGAIN);
    // Count ourselves in, look once more, then sleep (see SocketWaiter).
    s.rx_waiters.fetch_add(1, std::memory_order_seq_cst);
    if (s.recv.ReadableApprox() == 0 && !s.peer_closed.load() && s.error.load() == 0) WaitFor(s.seq, seen);
    s.rx_waiters.fetch_sub(1, std::memory_order_seq_cst);
    if (pump_ && s.seq.load() == seen && s.recv.ReadableApprox() == 0) return Fail(EAGAIN);
  }
}

int Stack::StreamShutdown(Entry& e, int how) {
  TcpSocketState& s = *e.tcp;
  const Status status = s.status.load();
  if (status != Status::kConnected && status != Status::kConnecting) return Fail(ENOTCONN);
  if (how != SHUT_WR) {
    e.rd_shut.store(true);
    s.Wake();
  }
  if (how != SHUT_RD) {
    s.send_closed.store(true, std::memory_order_release);
    s.shutdown_requested.store(true, std::memory_order_release);
    ScheduleTcp(e.tcp);
  }
  return 0;
}

void Stack::StreamClose(const std::shared_ptr<Entry>& e) {
  const std::shared_ptr<TcpSocketState> s = e->tcp;
  if (s->status.load() == Status::kListening) {
    Endpoint local;
    {
      std::lock_guard lock(e->mu);
      local = e->local.value_or(Endpoint{});
    }
    s->status.store(Status::kClosed, std::memory_order_release);
    for (int shard = 0; shard < engine_.config().workers; ++shard) {
      SocketRequest r;
      r.kind = SocketRequest::Kind::kTcpUnlisten;
      r.tcp = s;
      r.endpoint = local;
      Post(shard, std::move(r), nullptr);
    }
    // Connections nobody accepted go too.
    std::deque<std::shared_ptr<TcpSocketState>> queued;
    {
      std::lock_guard lock(s->accept_mu);
      queued.swap(s->accept_queue);
    }
    for (const auto& child : queued) {
      child->close_requested.store(true, std::memory_order_release);
      ScheduleTcp(child);
    }
    s->Wake();
    return;
  }
  s->send_closed.store(true, std::memory_order_release);
  s->close_requested.store(true, std::memory_order_release);
  ScheduleTcp(s);
  s->Wake();
}

short Stack::StreamReady(Entry& e, short events) {
  TcpSocketState& s = *e.tcp;
  const Status status = s.status.load(std::memory_order_acquire);
  const bool error = s.error.load(std::memory_order_acquire) != 0;
  short r = 0;
  if (error) r |= POLLERR;
  if (status == Status::kClosed || (s.peer_closed.load() && s.send_closed.load())) r |= POLLHUP;
  if (events & POLLIN) {
    bool readable = s.recv.ReadableApprox() != 0 || s.peer_closed.load() || e.rd_shut.load() || error ||
                    status == Status::kClosed;
    if (status == Status::kListening) {
      std::lock_guard lock(s.accept_mu);
      readable = !s.accept_queue.empty();
    }
    if (readable) r |= POLLIN;
  }
  if (events & POLLOUT) {
    // Writable once connected with room; a failed connect is "writable"
    // with POLLERR, as on Linux, so the caller looks at SO_ERROR.
    // A TCP_FASTOPEN_CONNECT socket is writable before its SYN, as on Linux.
    if ((status == Status::kConnected && !s.send_closed.load() && s.send.WritableApprox() != 0) ||
        (error && status != Status::kListening) || (status == Status::kIdle && e.fastopen_deferred.load())) {
      r |= POLLOUT;
    }
  }
  return r;
}

}  // namespace ringstack::sockets
