// UDP sockets on their worker: control requests from application
// threads, delivery of received datagrams, and sending what the sockets
// queued. A UDP socket lives on the shard its local port is steered to
// (sockets/api.cc sends bind and connect there; an ephemeral port is chosen
// among that shard's); ICMP echo sockets live on the control shard, where
// ICMP arrives.
#include <cerrno>
#include <cstring>
#include <vector>

#include "engine/steering.h"
#include "engine/worker.h"
#include "protocols/common/checksum.h"
#include "protocols/icmpv4/icmpv4_header.h"
#include "protocols/icmpv6/icmpv6_repr.h"
#include "protocols/udp/udp_repr.h"

namespace ringstack::engine {

namespace udp = proto::udp;
namespace ipv4 = proto::ipv4;
namespace ipv6 = proto::ipv6;

std::size_t Worker::ServeSockets(std::size_t budget) {
  std::size_t done = 0;
  SocketRequest r;
  while (done < budget && socket_inbox_.requests.TryPop(r)) {
    ServeRequest(r);
    ++done;
  }
  // Sockets left over from the last poll first, then newly scheduled ones.
  auto drain = [&](std::shared_ptr<UdpSocketState> s) {
    // An exchange, not a store: the read-modify-write orders it before the
    // pops below (a plain store may pass later loads, on x86 too), so a
    // datagram pushed by a thread that saw the flag still set is found.
    (void)s->tx_scheduled.exchange(false, std::memory_order_acq_rel);
    Datagram d;
    bool took = false;
    while (done < budget && s->tx.TryPop(d)) {
      s->tx_bytes.fetch_sub(d.payload.size(), std::memory_order_acq_rel);
      took = true;
      if (!s->closed.load(std::memory_order_acquire)) {
        if (s->icmp_echo) {
          SendEcho(*s, std::move(d));
        } else {
          SendUdp(*s, std::move(d));
        }
      }
      ++done;
    }
    if (took) s->WakeWriters();  // room to send again
    // Budget spent with more to send: keep it for the next poll (unless an
    // application thread has queued it again meanwhile).
    if (!s->tx.EmptyApprox() && !s->tx_scheduled.exchange(true, std::memory_order_acq_rel)) {
      tx_backlog_.push_back(std::move(s));
    }
  };
  std::vector<std::shared_ptr<UdpSocketState>> backlog;
  backlog.swap(tx_backlog_);
  for (auto& s : backlog) drain(std::move(s));
  std::shared_ptr<UdpSocketState> s;
  while (done < budget && socket_inbox_.tx_ready.TryPop(s)) drain(std::move(s));
  std::shared_ptr<TcpSocketState> t;
  while (done < budget && socket_inbox_.tcp_ready.TryPop(t)) {
    // News after this point schedules it again. An exchange, not a store,
    // so the counters read next are at least as new as what a thread that
    // found the flag still set had written (see the UDP drain above).
    (void)t->scheduled.exchange(false, std::memory_order_acq_rel);
    ServeTcpSocket(t);
    ++done;
  }
  return done;
}

void Worker::ServeRequest(SocketRequest& r) {
  if (r.tcp) {
    ServeTcpRequest(r);
    return;
  }
  auto& c = *r.completion;
  const std::uint32_t id = r.socket->id;
  switch (r.kind) {
    case SocketRequest::Kind::kOpen:
      udp_sockets_[id] = r.socket;
      c.result = 0;
      if (r.socket->icmp_echo) {
        // An identifier no other echo socket of the family uses.
        std::uint16_t ident = next_echo_ident_;
        for (int tries = 0; tries < 65536 && echo_idents_.contains({r.socket->v6, ident}); ++tries) ++ident;
        next_echo_ident_ = static_cast<std::uint16_t>(ident + 1);
        echo_idents_[{r.socket->v6, ident}] = id;
        echo_ident_of_[id] = ident;
        c.local = udp::Endpoint{r.socket->v6 ? proto::IpAddress(proto::Ipv6Address())
                                             : proto::IpAddress(proto::Ipv4Address()),
                                ident};
      }
      break;
    case SocketRequest::Kind::kBind: {
      // Only our own addresses (or the wildcard) can be bound (EADDRNOTAVAIL).
      const udp::Endpoint& e = r.endpoint;
      const bool ours = e.addr.IsUnspecified() ||
                        (e.addr.is_v6() ? host6_.IsLocal(e.addr.v6()) : host_.IsLocal(e.addr.v4()));
      const int workers = config_.workers;
      if (!ours || (e.port != 0 && ShardForUdpPort(e.port, workers) != shard_)) {
        c.result = EADDRNOTAVAIL;
        break;
      }
      c.result = udp_bindings_.Bind(id, e, r.options,
                                    [&](std::uint16_t port) { return ShardForUdpPort(port, workers) == shard_; });
      if (c.result == 0) {
        c.local = *udp_bindings_.local(id);
        udp_sockets_[id] = r.socket;
      }
      break;
    }
    case SocketRequest::Kind::kConnect: {
      // An unbound socket gets an ephemeral port first, as connect(2) does.
      if (!udp_bindings_.local(id)) {
        const udp::Endpoint any{
            r.socket->v6 ? proto::IpAddress(proto::Ipv6Address()) : proto::IpAddress(proto::Ipv4Address()), 0};
        const int workers = config_.workers;
        c.result = udp_bindings_.Bind(id, any, r.options,
                                      [&](std::uint16_t port) { return ShardForUdpPort(port, workers) == shard_; });
        if (c.result != 0) break;
        udp_sockets_[id] = r.socket;
      }
      c.result = udp_bindings_.Connect(id, r.endpoint);
      if (c.result == 0) c.local = *udp_bindings_.local(id);
      break;
    }
    case SocketRequest::Kind::kClose:
      if (const auto it = echo_ident_of_.find(id); it != echo_ident_of_.end()) {
        echo_idents_.erase({r.socket->v6, it->second});
        echo_ident_of_.erase(it);
      }
      udp_bindings_.Close(id);
      udp_sockets_.erase(id);
      r.socket->closed.store(true, std::memory_order_release);
      r.socket->Wake();
      c.result = 0;
      break;
    case SocketRequest::Kind::kTcpListen:
    case SocketRequest::Kind::kTcpUnlisten:
    case SocketRequest::Kind::kTcpConnect:
      c.result = EINVAL;  // a TCP request without its socket
      break;
  }
  c.done.store(1, std::memory_order_release);
  c.done.notify_all();
}

bool Worker::DeliverUdp(Packet& p, proto::Bytes payload, const udp::Endpoint& dst, const udp::Endpoint& src,
                        bool group) {
  auto push = [&](UdpSocketState& s, Packet pkt) {
    const std::size_t len = pkt.size();
    // SO_RCVBUF: a datagram that would take the queue past it is dropped
    // (an empty queue takes any one, as Linux's does).
    const std::size_t queued = s.rx_bytes.load(std::memory_order_acquire);
    if (queued != 0 && queued + len > s.rcvbuf.load(std::memory_order_relaxed)) {
      s.rx_dropped.fetch_add(1, std::memory_order_relaxed);
      udp_drop_rcvbuf_full_.Inc();
      return;
    }
    s.rx_bytes.fetch_add(len, std::memory_order_acq_rel);
    Datagram d{std::move(pkt), src};
    if (!s.rx.TryPush(std::move(d))) {
      s.rx_bytes.fetch_sub(len, std::memory_order_acq_rel);
      s.rx_dropped.fetch_add(1, std::memory_order_relaxed);
      udp_drop_rcvbuf_full_.Inc();
      return;
    }
    udp_rx_delivered_.Inc();
    s.WakeReaders();
  };
  if (!group) {
    const auto id = udp_bindings_.Lookup(dst, src);
    if (!id) return false;
    const auto it = udp_sockets_.find(*id);
    if (it == udp_sockets_.end()) return false;
    const std::size_t at = static_cast<std::size_t>(payload.data() - p.data().data());
    const std::size_t len = payload.size();
    p.TrimFront(at);
    p.Truncate(len);
    push(*it->second, std::move(p));
    return true;
  }
  bool any = false;
  udp_bindings_.LookupAll(dst, src, [&](udp::SocketId id) {
    const auto it = udp_sockets_.find(id);
    if (it == udp_sockets_.end()) return;
    any = true;
    Packet copy = pool_.Get();
    const auto room = copy ? copy.Append(payload.size()) : std::span<std::byte>();
    if (room.size() != payload.size()) {
      pool_empty_drop_.Inc();
      return;
    }
    std::memcpy(room.data(), payload.data(), payload.size());
    push(*it->second, std::move(copy));
  });
  return any;
}

void Worker::SendUdp(UdpSocketState& socket, Datagram d) {
  const auto local = udp_bindings_.local(socket.id);
  if (!local) return;  // closed meanwhile
  const udp::Endpoint& to = d.peer;
  Packet p = std::move(d.payload);
  const auto header = p.Prepend(udp::kHeaderLen);
  if (header.empty()) {
    no_headroom_drop_.Inc();
    return;
  }
  const udp::UdpRepr repr{local->port, to.port, {}};
  udp_tx_.Inc();
  if (to.addr.is_v6()) {
    const proto::Ipv6Address src = local->addr.IsUnspecified() ? host6_.SourceFor(to.addr.v6()) : local->addr.v6();
    repr.EmitHeader(p.data(), src, to.addr.v6());
    ipv6::Ipv6Repr ip;
    ip.src = src;
    ip.dst = to.addr.v6();
    ip.next_header = ipv6::kUdp;
    SendIpv6(std::move(p), ip);
    return;
  }
  const proto::Ipv4Address src = local->addr.IsUnspecified() ? host_.SourceFor(to.addr.v4()) : local->addr.v4();
  repr.EmitHeader(p.data(), src, to.addr.v4());
  SendIpv4(std::move(p), src, to.addr.v4(), ipv4::kProtoUdp);
}

bool Worker::DeliverEchoReply(Packet& p, bool v6, const proto::IpAddress& from) {
  // ICMPv6's Echo Reply has ICMPv4's layout (RFC 4443 4.2, RFC 792).
  const auto echo = proto::icmpv4::Icmpv4Header::Checked(p.data());
  if (!echo) return false;
  const auto it = echo_idents_.find({v6, echo->ident()});
  if (it == echo_idents_.end()) return false;
  const auto s = udp_sockets_.find(it->second);
  if (s == udp_sockets_.end()) return false;
  UdpSocketState& socket = *s->second;
  const std::size_t len = p.size();
  const std::size_t queued = socket.rx_bytes.load(std::memory_order_acquire);
  if (queued != 0 && queued + len > socket.rcvbuf.load(std::memory_order_relaxed)) {
    socket.rx_dropped.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  socket.rx_bytes.fetch_add(len, std::memory_order_acq_rel);
  Datagram d{std::move(p), udp::Endpoint{from, 0}};
  if (!socket.rx.TryPush(std::move(d))) {
    socket.rx_bytes.fetch_sub(len, std::memory_order_acq_rel);
    socket.rx_dropped.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  s->second->WakeReaders();
  return true;
}

void Worker::SendEcho(UdpSocketState& socket, Datagram d) {
  const auto ident = echo_ident_of_.find(socket.id);
  if (ident == echo_ident_of_.end()) return;
  Packet p = std::move(d.payload);
  // ICMPv6's Echo Request has ICMPv4's layout (RFC 4443 4.1, RFC 792).
  auto echo = proto::icmpv4::Icmpv4HeaderMut::Checked(p.data());
  if (!echo) return;  // shorter than an echo header: the socket layer lets none through
  echo->set_ident(ident->second);  // the socket's identifier, as Linux's ping sockets do
  const proto::IpAddress& to = d.peer.addr;
  if (to.is_v6()) {
    const proto::Ipv6Address src = host6_.SourceFor(to.v6());
    proto::icmpv6::Icmpv6Repr{proto::icmpv6::kEchoRequest, 0, {}}.EmitHeader(p.data(), src, to.v6());
    ipv6::Ipv6Repr ip;
    ip.src = src;
    ip.dst = to.v6();
    ip.next_header = ipv6::kIcmpv6;
    SendIpv6(std::move(p), ip);
    return;
  }
  echo->set_checksum(0);
  echo->set_checksum(proto::InternetChecksum(p.data()));
  SendIpv4(std::move(p), host_.SourceFor(to.v4()), to.v4(), ipv4::kProtoIcmp);
}

void Worker::UdpErrorToSocket(const udp::Endpoint& local, const udp::Endpoint& remote, int error) {
  // ICMP comes to shard 0; the socket lives on its port's shard.
  if (const int owner = ShardForUdpPort(local.port, config_.workers); owner != shard_) {
    ShardMessage m;
    m.kind = ShardMessage::Kind::kSocketError;
    m.local = local;
    m.remote = remote;
    m.error = error;
    if (!fabric_.Post(owner, std::move(m))) shard_mail_drop_.Inc();
    return;
  }
  // Only a connected socket hears of it (as Linux does): the error is for
  // the next call on it.
  const auto id = udp_bindings_.Lookup(local, remote);
  if (!id || !udp_bindings_.peer(*id)) return;
  const auto it = udp_sockets_.find(*id);
  if (it == udp_sockets_.end()) return;
  it->second->pending_error.store(error, std::memory_order_release);
  it->second->Wake();
}

}  // namespace ringstack::engine

namespace ringstack::engine {

std::vector<Worker::UdpSocketInfo> Worker::UdpSockets() const {
  std::vector<UdpSocketInfo> out;
  for (const auto& [id, s] : udp_sockets_) {
    UdpSocketInfo i;
    const auto local = udp_bindings_.local(id);
    if (local) {
      i.local = *local;
    } else {
      i.local = proto::udp::Endpoint{s->v6 ? proto::IpAddress(proto::Ipv6Address())
                                           : proto::IpAddress(proto::Ipv4Address()), 0};
    }
    const auto peer = udp_bindings_.peer(id);
    i.remote = peer ? *peer : proto::udp::Endpoint{i.local.addr.is_v6() ? proto::IpAddress(proto::Ipv6Address())
                                                                         : proto::IpAddress(proto::Ipv4Address()), 0};
    i.shard = shard_;
    i.icmp_echo = s->icmp_echo;
    i.rx_queued = s->rx_bytes.load(std::memory_order_relaxed);
    i.tx_queued = s->tx_bytes.load(std::memory_order_relaxed);
    i.rx_dropped = s->rx_dropped.load(std::memory_order_relaxed);
    out.push_back(std::move(i));
  }
  return out;
}

}  // namespace ringstack::engine
