// UdpLayer (udp_layer.h): UDP and ICMP echo sockets on their shard.
#include "engine/udp_layer.h"

#include <cerrno>
#include <cstring>

#include "engine/steering.h"
#include "protocols/common/checksum.h"
#include "protocols/icmpv4/icmpv4_header.h"
#include "protocols/icmpv6/icmpv6_repr.h"
#include "protocols/ipv4/ipv4_repr.h"
#include "protocols/ipv6/ipv6_header.h"

namespace ringstack::engine {

namespace udp = proto::udp;
using proto::IpAddress;
using rings::Packet;

UdpLayer::UdpLayer(ShardContext& ctx, IpOutput& ip, CounterSet& counters, std::uint64_t seed)
    : ctx_(ctx), ip_(ip), bindings_(seed) {
  RegisterCounters(counters, counters_, kUdpCounterFields);
  drop_.Add(counters, "udp");
}

std::optional<udp::UdpRepr> UdpLayer::Parse(const Packet& p, std::size_t offset, const IpAddress& src,
                                            const IpAddress& dst) {
  const bool verify = !p.offload().csum_trusted;
  const proto::Bytes datagram = p.data().subspan(offset);
  // Over IPv6 the checksum is mandatory (RFC 8200 8.1); Parse knows.
  const auto parsed = src.is_v6() ? udp::UdpRepr::Parse(datagram, src.v6(), dst.v6(), verify)
                                  : udp::UdpRepr::Parse(datagram, src.v4(), dst.v4(), verify);
  if (!parsed) {
    drop_.Count(parsed.error());
    return std::nullopt;
  }
  return *parsed;
}

bool UdpLayer::Enqueue(UdpSocketState& s, Packet p, const proto::Endpoint& from) {
  const std::size_t len = p.size();
  // SO_RCVBUF: a datagram that would take the queue past it is dropped (an
  // empty queue takes any one, as Linux's does).
  const std::size_t queued = s.rx_bytes.load(std::memory_order_acquire);
  if (queued != 0 && queued + len > s.rcvbuf.load(std::memory_order_relaxed)) {
    s.rx_dropped.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  s.rx_bytes.fetch_add(len, std::memory_order_acq_rel);
  if (!s.rx.TryPush(Datagram{std::move(p), from})) {
    s.rx_bytes.fetch_sub(len, std::memory_order_acq_rel);
    s.rx_dropped.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  s.WakeReaders();
  return true;
}

void UdpLayer::Push(UdpSocketState& s, Packet p, const proto::Endpoint& from) {
  (Enqueue(s, std::move(p), from) ? counters_.rx_delivered : counters_.drop_rcvbuf_full).Inc();
}

bool UdpLayer::Receive(Packet& p, const udp::UdpRepr& datagram, const IpAddress& src, const IpAddress& dst,
                       bool group) {
  const proto::Endpoint to{dst, datagram.dst_port};
  const proto::Endpoint from{src, datagram.src_port};
  const proto::Bytes payload = datagram.payload;
  if (!group) {
    const auto id = bindings_.Lookup(to, from);
    const auto it = id ? sockets_.find(*id) : sockets_.end();
    if (it == sockets_.end()) {
      counters_.rx_no_socket.Inc();
      return false;
    }
    const auto at = static_cast<std::size_t>(payload.data() - p.data().data());
    p.TrimFront(at);
    p.Truncate(payload.size());
    Push(*it->second, std::move(p), from);
    return true;
  }
  bool any = false;
  bindings_.LookupAll(to, from, [&](udp::SocketId id) {
    const auto it = sockets_.find(id);
    if (it == sockets_.end()) return;
    any = true;
    Packet copy = ctx_.pool.Get();
    const auto room = copy ? copy.Append(payload.size()) : std::span<std::byte>();
    if (room.size() != payload.size()) {
      ctx_.pool_drop_empty.Inc();
      return;
    }
    std::memcpy(room.data(), payload.data(), payload.size());
    Push(*it->second, std::move(copy), from);
  });
  if (!any) counters_.rx_no_socket.Inc();
  return any;
}

bool UdpLayer::ForwardToOwner(Packet& p, std::uint16_t dst_port, ShardMessage&& m) {
  if (ctx_.shard != 0 || ctx_.config.workers <= 1) return false;
  const int owner = ShardForUdpPort(dst_port, ctx_.config.workers);
  if (owner == ctx_.shard) return false;
  m.packet = std::move(p);
  if (!ctx_.fabric.Post(owner, std::move(m))) ctx_.shard_drop_mail_full.Inc();
  return true;
}

bool UdpLayer::ReceiveEchoReply(Packet& p, bool v6, const IpAddress& from) {
  // ICMPv6's Echo Reply has ICMPv4's layout (RFC 4443 4.2, RFC 792).
  const auto echo = proto::icmpv4::Icmpv4Header::Checked(p.data());
  if (!echo) return false;
  const auto it = echo_idents_.find({v6, echo->ident()});
  if (it == echo_idents_.end()) return false;
  const auto s = sockets_.find(it->second);
  if (s == sockets_.end()) return false;
  Enqueue(*s->second, std::move(p), proto::Endpoint{from, 0});  // a drop is counted on the socket
  return true;
}

void UdpLayer::ErrorToSocket(const proto::Endpoint& local, const proto::Endpoint& remote, int error) {
  if (const int owner = ShardForUdpPort(local.port, ctx_.config.workers); owner != ctx_.shard) {
    ShardMessage m;
    m.kind = ShardMessage::Kind::kSocketError;
    m.local = local;
    m.remote = remote;
    m.error = error;
    if (!ctx_.fabric.Post(owner, std::move(m))) ctx_.shard_drop_mail_full.Inc();
    return;
  }
  // Only a connected socket hears of it (as Linux does): the error is for
  // the next call on it.
  const auto id = bindings_.Lookup(local, remote);
  if (!id || !bindings_.peer(*id)) return;
  const auto it = sockets_.find(*id);
  if (it == sockets_.end()) return;
  it->second->pending_error.store(error, std::memory_order_release);
  it->second->Wake();
}

void UdpLayer::OpenEcho(SocketRequest& r) {
  // An identifier no other echo socket of the family uses.
  const std::uint32_t id = r.socket->id;
  std::uint16_t ident = next_echo_ident_;
  for (int tries = 0; tries < 65536 && echo_idents_.contains({r.socket->v6, ident}); ++tries) ++ident;
  next_echo_ident_ = static_cast<std::uint16_t>(ident + 1);
  echo_idents_[{r.socket->v6, ident}] = id;
  echo_ident_of_[id] = ident;
  r.completion->local = proto::Endpoint::Wildcard(r.socket->v6, ident);
}

int UdpLayer::Bind(SocketRequest& r, const proto::Endpoint& e) {
  const int workers = ctx_.config.workers;
  const int shard = ctx_.shard;
  const int result = bindings_.Bind(r.socket->id, e, r.options,
                                    [&](std::uint16_t port) { return ShardForUdpPort(port, workers) == shard; });
  if (result == 0) sockets_[r.socket->id] = r.socket;
  return result;
}

void UdpLayer::ServeRequest(SocketRequest& r) {
  auto& c = *r.completion;
  const std::uint32_t id = r.socket->id;
  switch (r.kind) {
    case SocketRequest::Kind::kOpen:
      sockets_[id] = r.socket;
      if (r.socket->icmp_echo) OpenEcho(r);
      c.result = 0;
      break;
    case SocketRequest::Kind::kBind: {
      // Only our own addresses (or the wildcard), and a port of this
      // shard's, can be bound (EADDRNOTAVAIL).
      const proto::Endpoint& e = r.endpoint;
      const bool ours = e.addr.IsUnspecified() || ip_.IsLocal(e.addr);
      if (!ours || (e.port != 0 && ShardForUdpPort(e.port, ctx_.config.workers) != ctx_.shard)) {
        c.result = EADDRNOTAVAIL;
        break;
      }
      c.result = Bind(r, e);
      if (c.result == 0) c.local = *bindings_.local(id);
      break;
    }
    case SocketRequest::Kind::kConnect:
      // An unbound socket gets an ephemeral port first, as connect(2) does.
      c.result = bindings_.local(id) ? 0 : Bind(r, proto::Endpoint::Wildcard(r.socket->v6));
      if (c.result == 0) c.result = bindings_.Connect(id, r.endpoint);
      if (c.result == 0) c.local = *bindings_.local(id);
      break;
    case SocketRequest::Kind::kClose:
      if (const auto it = echo_ident_of_.find(id); it != echo_ident_of_.end()) {
        echo_idents_.erase({r.socket->v6, it->second});
        echo_ident_of_.erase(it);
      }
      bindings_.Close(id);
      sockets_.erase(id);
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

void UdpLayer::Drain(std::shared_ptr<UdpSocketState> s, std::size_t budget, std::size_t& done) {
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
        SendDatagram(*s, std::move(d));
      }
    }
    ++done;
  }
  if (took) s->WakeWriters();  // room to send again
  // Budget spent with more to send: keep it for the next round (unless an
  // application thread has queued it again meanwhile).
  if (!s->tx.EmptyApprox() && !s->tx_scheduled.exchange(true, std::memory_order_acq_rel)) {
    tx_backlog_.push_back(std::move(s));
  }
}

std::size_t UdpLayer::ServeSending(SocketInbox& inbox, std::size_t budget) {
  std::size_t done = 0;
  std::vector<std::shared_ptr<UdpSocketState>> backlog;
  backlog.swap(tx_backlog_);
  for (auto& s : backlog) Drain(std::move(s), budget, done);
  std::shared_ptr<UdpSocketState> s;
  while (done < budget && inbox.tx_ready.TryPop(s)) Drain(std::move(s), budget, done);
  return done;
}

void UdpLayer::SendDatagram(UdpSocketState& socket, Datagram d) {
  const auto local = bindings_.local(socket.id);
  if (!local) return;  // closed meanwhile
  const proto::Endpoint& to = d.peer;
  Packet p = std::move(d.payload);
  const auto header = p.Prepend(udp::kHeaderLen);
  if (header.empty()) {
    ctx_.pool_drop_no_headroom.Inc();
    return;
  }
  const IpAddress src = local->addr.IsUnspecified() ? ip_.SourceFor(to.addr) : local->addr;
  const udp::UdpRepr repr{local->port, to.port, {}};
  if (to.addr.is_v6()) {
    repr.EmitHeader(p.data(), src.v6(), to.addr.v6());
  } else {
    repr.EmitHeader(p.data(), src.v4(), to.addr.v4());
  }
  counters_.tx.Inc();
  ip_.SendIp(std::move(p), src, to.addr, proto::ipv4::kProtoUdp);
}

void UdpLayer::SendEcho(UdpSocketState& socket, Datagram d) {
  const auto ident = echo_ident_of_.find(socket.id);
  if (ident == echo_ident_of_.end()) return;
  Packet p = std::move(d.payload);
  // ICMPv6's Echo Request has ICMPv4's layout (RFC 4443 4.1, RFC 792).
  auto echo = proto::icmpv4::Icmpv4HeaderMut::Checked(p.data());
  if (!echo) return;  // shorter than an echo header: the socket layer lets none through
  echo->set_ident(ident->second);  // the socket's identifier, as Linux's ping sockets do
  const IpAddress& to = d.peer.addr;
  const IpAddress src = ip_.SourceFor(to);
  if (to.is_v6()) {
    proto::icmpv6::Icmpv6Repr{proto::icmpv6::kEchoRequest, 0, {}}.EmitHeader(p.data(), src.v6(), to.v6());
    ip_.SendIp(std::move(p), src, to, proto::ipv6::kIcmpv6);
    return;
  }
  echo->set_checksum(0);
  echo->set_checksum(proto::InternetChecksum(p.data()));
  ip_.SendIp(std::move(p), src, to, proto::ipv4::kProtoIcmp);
}

std::vector<UdpSocketInfo> UdpLayer::Sockets() const {
  std::vector<UdpSocketInfo> out;
  for (const auto& [id, s] : sockets_) {
    UdpSocketInfo i;
    const auto local = bindings_.local(id);
    i.local = local ? *local : proto::Endpoint::Wildcard(s->v6);
    const auto peer = bindings_.peer(id);
    i.remote = peer ? *peer : proto::Endpoint::Wildcard(i.local.addr.is_v6());
    i.shard = ctx_.shard;
    i.icmp_echo = s->icmp_echo;
    i.rx_queued = s->rx_bytes.load(std::memory_order_relaxed);
    i.tx_queued = s->tx_bytes.load(std::memory_order_relaxed);
    i.rx_dropped = s->rx_dropped.load(std::memory_order_relaxed);
    out.push_back(std::move(i));
  }
  return out;
}

}  // namespace ringstack::engine
