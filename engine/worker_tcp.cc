// TCP on its worker: the sessions this shard owns (steered here by
// their 4-tuple), each a protocols/tcp TcpConnection whose sink is the
// session; listeners (every shard has a copy of each; established
// connections go to the listening socket's one accept queue); and the
// stream sockets' requests. Payload moves once each way: from the socket's
// send ring into the segment's buffer, from the segment into the receive
// ring.
#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "engine/steering.h"
#include "engine/worker.h"
#include "engine/worker_tcp_session.h"
#include "protocols/common/checksum.h"
#include "protocols/ethernet/ethernet_repr.h"
#include "protocols/ipv4/ipv4_header.h"
#include "protocols/ipv6/ipv6_repr.h"

namespace ringstack::engine {

namespace tcp = proto::tcp;
using proto::IpAddress;


Worker::~Worker() = default;

void Worker::TcpSession::Event(tcp::TcpEvent e) {
  TcpSocketState& s = *socket;
  if (w.LogEnabled(Subsystem::kTcp, LogLevel::kDebug)) {
    static constexpr const char* kNames[] = {"established", "peer closed", "reset",  "refused",
                                             "timed out",   "aborted",     "closed"};
    const auto i = static_cast<std::size_t>(e);
    w.Log(Subsystem::kTcp, LogLevel::kDebug,
          absl::StrCat("tcp ", key.local.ToString(), ":", key.local_port, " ", key.remote.ToString(), ":",
                       key.remote_port, ": ", i < std::size(kNames) ? kNames[i] : "event"));
  }
  switch (e) {
    case tcp::TcpEvent::kEstablished:
      s.status.store(TcpSocketState::Status::kConnected, std::memory_order_release);
      w.tcp_counters_.established.Inc();
      if (listener) {
        // Into the listening socket's accept queue (the backlog was checked
        // at the SYN).
        if (ListeningSocket* l = w.FindListener(key.local, key.local_port); l != nullptr && l->socket == listener) {
          --l->embryonic;
        }
        --w.tcp_half_open_;
        {
          std::lock_guard lock(listener->accept_mu);
          listener->accept_queue.push_back(socket);
        }
        listener->Wake();
        listener.reset();
      }
      break;
    case tcp::TcpEvent::kPeerClosed:
      s.peer_closed.store(true, std::memory_order_release);
      break;
    case tcp::TcpEvent::kReset:
      s.error.store(ECONNRESET, std::memory_order_release);
      s.send_closed.store(true, std::memory_order_release);
      break;
    case tcp::TcpEvent::kRefused:
      s.error.store(ECONNREFUSED, std::memory_order_release);
      break;
    case tcp::TcpEvent::kTimedOut:
      s.error.store(ETIMEDOUT, std::memory_order_release);
      break;
    case tcp::TcpEvent::kAborted:
      s.error.store(ECONNABORTED, std::memory_order_release);
      s.send_closed.store(true, std::memory_order_release);
      break;
    case tcp::TcpEvent::kClosed:
      s.status.store(TcpSocketState::Status::kClosed, std::memory_order_release);
      s.send_closed.store(true, std::memory_order_release);
      if (listener) {  // an embryo that never made it to the queue
        if (ListeningSocket* l = w.FindListener(key.local, key.local_port); l != nullptr && l->socket == listener) {
          --l->embryonic;
        }
        --w.tcp_half_open_;
        listener.reset();
      }
      if (!closed) {
        closed = true;
        w.tcp_closed_.push_back(id);
      }
      break;
  }
  s.Wake();
}

tcp::TcpConfig Worker::TcpConfigFor(const TcpSocketState& s, const IpAddress& remote) {
  tcp::TcpConfig c;
  // MSS from the link MTU, or a smaller path MTU (RFC 9293 3.7.1, RFC 8201).
  const std::size_t mtu = remote.is_v6() ? PathMtu(remote.v6()) : config_.mtu;
  const std::size_t headers = remote.is_v6() ? 60 : 40;
  c.mss = static_cast<std::uint16_t>(mtu > headers + 64 ? mtu - headers : 536);
  c.rcv_buf = static_cast<std::uint32_t>(s.recv.capacity());
  c.nodelay = s.nodelay.load(std::memory_order_relaxed);
  c.keepalive = s.keepalive.load(std::memory_order_relaxed);
  c.keepalive_idle = Duration::Seconds(s.keepalive_idle_s.load(std::memory_order_relaxed));
  c.keepalive_interval = Duration::Seconds(s.keepalive_interval_s.load(std::memory_order_relaxed));
  c.keepalive_count = s.keepalive_count.load(std::memory_order_relaxed);
  c.msl = config_.tcp_msl;
  c.rto.min = config_.tcp_rto_min;
  const int cc = s.congestion.load(std::memory_order_relaxed);
  c.congestion = cc == 0 ? std::string_view(config_.tcp_cc) : TcpSocketState::kCongestionNames[cc];
  c.recovery = config_.tcp_recovery;
  c.challenge_limiter = &challenge_limiter_;
  return c;
}

Worker::TcpSession& Worker::AddTcpSession(const FlowKey& key, std::shared_ptr<TcpSocketState> socket) {
  const std::uint32_t id = next_tcp_id_++;
  auto session = std::make_unique<TcpSession>(*this, key, id, std::move(socket));
  TcpSession& s = *session;
  tcp_by_id_[id] = &s;
  tcp_by_socket_[s.socket.get()] = &s;
  s.congestion = s.socket->congestion.load(std::memory_order_relaxed);  // TcpConfigFor applies it
  tcp_sessions_[key] = std::move(session);
  {
    std::lock_guard lock(s.socket->ends_mu);
    s.socket->local = proto::udp::Endpoint{key.local, key.local_port};
    s.socket->remote = proto::udp::Endpoint{key.remote, key.remote_port};
    s.socket->shard = shard_;
  }
  return s;
}

Worker::ListeningSocket* Worker::FindListener(const IpAddress& dst, std::uint16_t port) {
  const auto it = tcp_listeners_.find(port);
  if (it == tcp_listeners_.end()) return nullptr;
  ListeningSocket* wildcard = nullptr;
  for (ListeningSocket& l : it->second) {
    if (l.addr.is_v6() != dst.is_v6()) continue;
    if (l.addr == dst) return &l;  // a specific address wins
    if (l.addr.IsUnspecified()) wildcard = &l;
  }
  return wildcard;
}

void Worker::HandleTcp(Packet p, const IpAddress& src, const IpAddress& dst, bool to_group) {
  // Reassembled or behind IPv6 extension headers on shard 0, for a flow
  // another shard owns: there.
  const auto th = tcp::TcpHeader::Checked(p.data());
  if (shard_ == 0 && config_.workers > 1 && th) {
    if (const int owner = ShardForFlow(src, th->src_port(), dst, th->dst_port(), config_.workers); owner != 0) {
      ShardMessage m;
      m.kind = ShardMessage::Kind::kTcp;
      m.remote.addr = src;
      m.local.addr = dst;
      m.group = to_group;
      m.packet = std::move(p);
      if (!fabric_.Post(owner, std::move(m))) shard_mail_drop_.Inc();
      return;
    }
  }
  const bool verify = !p.offload().csum_trusted;
  const auto seg = src.is_v6() ? tcp::TcpRepr::Parse(p.data(), src.v6(), dst.v6(), verify)
                               : tcp::TcpRepr::Parse(p.data(), src.v4(), dst.v4(), verify);
  if (!seg) {
    tcp_drop_.Count(seg.error());
    return;
  }
  tcp_counters_.rx.Inc();
  if (to_group) {
    tcp_counters_.drop_to_group.Inc();  // TCP is unicast only (RFC 1122 4.2.3.10)
    return;
  }
  const FlowKey key{dst, src, seg->dst_port, seg->src_port};
  if (const auto it = tcp_sessions_.find(key); it != tcp_sessions_.end()) {
    TcpSession& s = *it->second;
    const tcp::TcpConnection& c = *s.conn;
    // RFC 6191: a newer SYN for a TIME-WAIT connection may start a new
    // incarnation (when someone listens).
    const bool reuse =
        std::holds_alternative<tcp::TcpConnection::TimeWait>(c.state()) &&
        tcp::TcpListener::SynReusesTimeWait(*seg, c.rcv_nxt(),
                                            c.ts_ok() ? std::optional(c.ts_recent()) : std::nullopt) &&
        FindListener(dst, seg->dst_port) != nullptr;
    if (!reuse) {
      s.conn->OnSegment(*seg, now_);
      RearmTcp(s);
      ReapTcp();
      return;
    }
    s.conn->Abort(now_);  // CLOSED quietly (no RST from TIME-WAIT)
    ReapTcp();
  }
  if (ListeningSocket* l = FindListener(dst, seg->dst_port)) {
    OnListenerSegment(*l, *seg, key);
    return;
  }
  // No connection takes it: RFC 9293 3.10.7.1.
  tcp_counters_.rx_no_socket.Inc();
  if (const auto rst = tcp::TcpConnection::ResetFor(*seg)) SendTcp(*rst, key, nullptr, 0, 0);
}

// A segment for a listening port that no connection takes: the LISTEN
// rules (protocols/tcp/tcp_listener.h) decide, this carries it out.
void Worker::OnListenerSegment(ListeningSocket& l, const tcp::TcpRepr& seg, const FlowKey& key) {
  TcpSocketState& ls = *l.socket;
  tcp::ListenerLoad load;
  load.backlog = static_cast<std::size_t>(std::max(ls.backlog, 1));
  {
    std::lock_guard lock(ls.accept_mu);
    load.accept_queued = ls.accept_queue.size();
  }
  load.embryonic = static_cast<std::size_t>(l.embryonic);
  load.half_open = tcp_half_open_;
  load.half_open_limit = TcpHalfOpenLimit();
  load.sessions = tcp_sessions_.size();
  load.session_limit = TcpSessionLimit();
  const tcp::Endpoints ends{key.local, key.local_port, key.remote, key.remote_port};
  const tcp::ListenOutcome out = tcp_listen_.OnSegment(seg, ends, load, TcpConfigFor(ls, key.remote), now_);
  CountListen(out);
  switch (out.action) {
    case tcp::ListenAction::kAcceptNew:
    case tcp::ListenAction::kCookieAccepted: {
      auto child = NewChild(l);
      TcpSession& s = AddTcpSession(key, child);
      s.listener = l.socket;
      ++l.embryonic;  // the established event moves it to the accept queue
      ++tcp_half_open_;
      tcp_counters_.opened_passive.Inc();
      const tcp::TcpConfig config = TcpConfigFor(*child, key.remote);
      s.conn = out.action == tcp::ListenAction::kAcceptNew
                   ? tcp::TcpConnection::Accept(
                         config, ends, seg, isn_.Isn(key.local, key.local_port, key.remote, key.remote_port, now_),
                         now_, s)
                   : tcp::TcpConnection::FromCookie(config, ends, seg, out.cookie, now_, s);
      RearmTcp(s);
      ReapTcp();  // a cookie's ACK may close what it opened (an RST-bearing reply, a FIN)
      return;
    }
    case tcp::ListenAction::kSendCookie:
    case tcp::ListenAction::kReset:
      SendTcp(out.reply, key, nullptr, 0, 0);
      return;
    case tcp::ListenAction::kDrop:
      return;
  }
}

void Worker::CountListen(const tcp::ListenOutcome& out) {
  using R = tcp::ListenReason;
  switch (out.reason) {
    case R::kNone: break;
    case R::kSessionLimit: tcp_counters_.session_limit_drop.Inc(); break;
    case R::kBacklogFull: tcp_counters_.syn_backlog_full.Inc(); break;
    case R::kHalfOpenLimit: tcp_counters_.half_open_limit.Inc(); break;
    case R::kAcceptQueueFull: tcp_counters_.accept_queue_full.Inc(); break;
    case R::kCookieInvalid: tcp_counters_.syncookies_failed.Inc(); break;
    case R::kRst:
    case R::kNoSynNoAck: tcp_counters_.listen_drop.Inc(); break;
    case R::kAck: break;
  }
  switch (out.action) {
    case tcp::ListenAction::kSendCookie: tcp_counters_.syncookies_sent.Inc(); break;
    case tcp::ListenAction::kCookieAccepted: tcp_counters_.syncookies_ok.Inc(); break;
    case tcp::ListenAction::kReset: tcp_counters_.rx_no_socket.Inc(); break;  // as for a port nobody has
    case tcp::ListenAction::kAcceptNew:
    case tcp::ListenAction::kDrop: break;
  }
}

std::shared_ptr<TcpSocketState> Worker::NewChild(ListeningSocket& l) {
  TcpSocketState& ls = *l.socket;
  auto child = std::make_shared<TcpSocketState>(0, ls.v6, ls.send.capacity(), ls.recv.capacity());
  child->CopyOptionsFrom(ls);
  child->status.store(TcpSocketState::Status::kConnecting);
  return child;
}

// Builds and sends a segment: the header, then `len` bytes from `data` at
// `offset` (the send ring, from SND.UNA's first byte). With a link that
// takes offload, data segments go through the super-segment builder
// (ExtendTso/FlushTso) with their checksum left to the link.
void Worker::SendTcp(const tcp::TcpRepr& h, const FlowKey& key, const rings::ByteRing* data, std::uint32_t offset,
                     std::uint32_t len) {
  if (link_offload_) {
    if (tso_.p && ExtendTso(h, key, data, offset, len)) return;
    FlushTso();
  }
  const std::size_t header = h.header_len();
  // A segment too large for the path (an IPv6 Packet Too Big lowered it
  // below the connection's MSS) goes alone, fragmented: the link would cut
  // a super-segment by the segment size, not the path's MTU.
  const bool tso = link_offload_ && len != 0 &&
                   (!key.local.is_v6() || header + len + proto::ipv6::kHeaderLen <= PathMtu(key.remote.v6()));
  const bool large = header + len + 128 > pool_.data_size(rings::BufferClass::kStandard);
  Packet p = pool_.Get(large ? rings::BufferClass::kLarge : rings::BufferClass::kStandard);
  if (!p) {
    pool_empty_drop_.Inc();  // a lost segment: TCP sends it again
    return;
  }
  const auto seg = p.Append(header + len);
  if (seg.size() != header + len) {
    no_headroom_drop_.Inc();
    return;
  }
  if (len != 0 && (data == nullptr || data->Peek(offset, seg.subspan(header)) != len)) return;
  tcp_counters_.tx.Inc();
  if (h.rst()) tcp_counters_.tx_rst.Inc();
  if (tso) {
    // The checksum is set when the frame goes (FlushTso), for its length.
    tso_.p = std::move(p);
    tso_.key = key;
    tso_.header = h;
    tso_.header.payload = {};
    tso_.next_seq = h.seq + len;
    tso_.mss = len;
    tso_.segments = 1;
    tso_.closed = (h.flags & ~tcp::kAck) != 0;
    if (key.local.is_v6()) {
      h.EmitHeaderPartial(seg, key.local.v6(), key.remote.v6());
    } else {
      h.EmitHeaderPartial(seg, key.local.v4(), key.remote.v4());
    }
    return;
  }
  if (key.local.is_v6()) {
    h.EmitHeader(seg, key.local.v6(), key.remote.v6());
  } else {
    h.EmitHeader(seg, key.local.v4(), key.remote.v4());
  }
  if (reading_ && len == 0 && h.flags == tcp::kAck) {
    tcp_counters_.tx_window_update.Inc();
    via_tx_thread_ = true;  // see reading_
  }
  SendTcpSegment(std::move(p), key);
  via_tx_thread_ = false;
}

// A built TCP segment (header and payload) into IP toward key.remote.
void Worker::SendTcpSegment(Packet p, const FlowKey& key) {
  if (key.local.is_v6()) {
    proto::ipv6::Ipv6Repr ip;
    ip.src = key.local.v6();
    ip.dst = key.remote.v6();
    ip.next_header = proto::ipv4::kProtoTcp;
    SendIpv6(std::move(p), ip);
    return;
  }
  SendIpv4(std::move(p), key.local.v4(), key.remote.v4(), proto::ipv4::kProtoTcp);
}

// A super-segment is what the segments it stands for would be: each but the
// last exactly `mss` long; all with one ACK, window and options (timestamps
// and SACK blocks), so the link copies the header to each; PSH or FIN only
// on the last (the link keeps them there, as Linux's tcp_gso_segment).
bool Worker::ExtendTso(const tcp::TcpRepr& h, const FlowKey& key, const rings::ByteRing* data, std::uint32_t offset,
                       std::uint32_t len) {
  // An IPv4 datagram of at most 65535 bytes with its 20-byte header.
  constexpr std::size_t kMaxTcpBytes = 65535 - 20;
  TsoBuild& b = tso_;
  if (b.closed || len == 0 || len > b.mss || data == nullptr || h.seq != b.next_seq || !(key == b.key)) return false;
  if ((h.flags & ~(tcp::kPsh | tcp::kFin)) != tcp::kAck || h.ack != b.header.ack || h.window != b.header.window ||
      h.urgent != 0 || !(h.options == b.header.options)) {
    return false;
  }
  if (b.p.size() + len > kMaxTcpBytes) return false;
  if (b.p.buffer_class() != rings::BufferClass::kLarge) {
    // The first segment went into a standard buffer (most writes are one
    // segment, and the RX stage needs the large ones): now it grows.
    Packet big = pool_.Get(rings::BufferClass::kLarge);
    if (!big) {
      b.closed = true;
      return false;
    }
    std::memcpy(big.Append(b.p.size()).data(), b.p.data().data(), b.p.size());
    big.offload() = b.p.offload();
    b.p = std::move(big);
  }
  const auto room = b.p.Append(len);
  if (room.size() != len) return false;
  if (data->Peek(offset, room) != len) {
    b.p.Truncate(b.p.size() - len);
    return false;
  }
  tcp_counters_.tx.Inc();
  if (h.flags != tcp::kAck) {
    tcp::TcpHeaderMut::Checked(b.p.data())->set_flags(h.flags);  // the first segment's header is in place
    b.closed = true;
  }
  if (len < b.mss) b.closed = true;
  b.next_seq = b.next_seq + len;
  ++b.segments;
  return true;
}

void Worker::FlushTso() {
  if (!tso_.p) return;
  Packet p = std::move(tso_.p);
  const FlowKey& key = tso_.key;
  const auto seg = p.data();
  // The pseudo-header's sum for the whole length: the link completes it (for
  // each segment it cuts, adjusting the length).
  proto::Checksum c;
  const bool v6 = key.local.is_v6();
  if (v6) {
    proto::AddPseudoHeader(c, key.local.v6(), key.remote.v6(), proto::ipv4::kProtoTcp,
                           static_cast<std::uint32_t>(seg.size()));
  } else {
    proto::AddPseudoHeader(c, key.local.v4(), key.remote.v4(), proto::ipv4::kProtoTcp,
                           static_cast<std::uint32_t>(seg.size()));
  }
  tcp::TcpHeaderMut::Checked(seg)->set_checksum(c.Folded());  // a segment built here: its header is in place
  rings::PacketOffload& o = p.offload();
  o.csum_start = static_cast<std::uint16_t>(proto::ethernet::kHeaderLen +
                                            (v6 ? proto::ipv6::kHeaderLen : proto::ipv4::Ipv4Repr::header_len()));
  o.csum_offset = proto::tcp::field::kChecksum;
  if (tso_.segments > 1) {
    o.gso_size = static_cast<std::uint16_t>(tso_.mss);
    tcp_counters_.tx_tso.Inc();
  }
  SendTcpSegment(std::move(p), key);
}

void Worker::RearmTcp(TcpSession& s) {
  if (!s.conn) return;
  const tcp::TcpStats& st = s.conn->stats();
  for (std::size_t i = 0; i < tcp::kTcpStatCount; ++i) {
    const auto field = tcp::kTcpStatFields[i].second;
    if (st.*field != s.seen_stats.*field) tcp_stat_[i]->Inc(st.*field - s.seen_stats.*field);
  }
  s.seen_stats = st;
  if (!config_.tcp_trace_dir.empty()) TraceTcp(s);
  if (s.closed) return;
  const Instant at = s.conn->NextDeadline();
  if (at == s.timer_at) return;
  if (!s.timer_at.IsNever()) wheel_.Cancel(s.timer);
  s.timer_at = at;
  if (!at.IsNever()) s.timer = wheel_.Arm(at, (std::uint64_t{kTimerTcp} << 32) | s.id);
}

// --tcp-trace: a CSV row whenever cwnd, pipe or SND.UNA moved.
void Worker::TraceTcp(TcpSession& s) {
  const tcp::TcpConnection& c = *s.conn;
  if (s.trace == nullptr) {
    if (s.closed) return;
    // "tcp-192.0.2.2_7-192.0.2.1_40000.csv" (IPv6 colons become dots).
    std::string name = absl::StrCat(config_.tcp_trace_dir, "/tcp-", s.key.local.ToString(), "_", s.key.local_port,
                                    "-", s.key.remote.ToString(), "_", s.key.remote_port, ".csv");
    std::replace(name.begin() + static_cast<std::ptrdiff_t>(config_.tcp_trace_dir.size()), name.end(), ':', '.');
    s.trace = std::fopen(name.c_str(), "w");
    if (s.trace == nullptr) return;
    s.trace_start = now_;
    std::fputs("time_s,cwnd,ssthresh,pipe,in_flight,srtt_ms,rttvar_ms,rto_ms,retransmits,phase,sacked,lost,"
               "acked_bytes,cc\n",
               s.trace);
  }
  const std::uint32_t una = c.snd_una() - c.iss();
  if (c.cwnd() == s.trace_cwnd && c.pipe() == s.trace_pipe && una == s.trace_una) return;
  s.trace_cwnd = c.cwnd();
  s.trace_pipe = c.pipe();
  s.trace_una = una;
  std::fprintf(s.trace, "%.6f,%u,%u,%u,%u,%.3f,%.3f,%.3f,%llu,%s,%u,%u,%u,%s\n",
               static_cast<double>((now_ - s.trace_start).nanos()) / 1e9, c.cwnd(),
               c.ssthresh() == 0xffffffffu ? 0u : c.ssthresh(), c.pipe(), c.in_flight(),
               static_cast<double>(c.rtt().srtt().nanos()) / 1e6, static_cast<double>(c.rtt().rttvar().nanos()) / 1e6,
               static_cast<double>(c.rtt().rto().nanos()) / 1e6, static_cast<unsigned long long>(c.retransmits()),
               std::string(c.RecoveryPhase()).c_str(), c.scoreboard().sacked_bytes(), c.scoreboard().lost_bytes(),
               una, std::string(c.congestion_name()).c_str());
}

void Worker::OnTcpTimer(std::uint32_t session_id) {
  const auto it = tcp_by_id_.find(session_id);
  if (it == tcp_by_id_.end()) return;
  TcpSession& s = *it->second;
  s.timer_at = Instant::Never();
  s.conn->OnTimer(now_);
  RearmTcp(s);
  ReapTcp();
}

// The TCP connections whose local IPv4 address is no longer this host's (a
// lost or declined DHCP lease, an address given up to a conflicting host)
// are closed at once without a RST — one could not be sent from an address
// another host may now hold — and their applications see ECONNABORTED.
void Worker::AbortTcpOnLostAddresses() {
  std::vector<TcpSession*> lost;
  for (const auto& [key, s] : tcp_sessions_) {
    if (key.local.is_v6()) continue;
    const proto::ipv4::HostAddress* a = host_.Find(key.local.v4());
    if (a == nullptr || a->state == proto::ipv4::AddressState::kConflict) lost.push_back(s.get());
  }
  for (TcpSession* s : lost) {
    Log(Subsystem::kTcp, LogLevel::kWarn,
        absl::StrCat("tcp ", s->key.local.ToString(), ":", s->key.local_port, " ", s->key.remote.ToString(), ":",
                     s->key.remote_port, ": aborted: ", s->key.local.ToString(), " is no longer this host's"));
    tcp_counters_.aborted_address_lost.Inc();
    s->conn->AbortQuietly();
  }
  ReapTcp();
}

void Worker::ReapTcp() {
  for (const std::uint32_t id : tcp_closed_) {
    const auto it = tcp_by_id_.find(id);
    if (it == tcp_by_id_.end()) continue;
    TcpSession* s = it->second;
    if (!s->timer_at.IsNever()) wheel_.Cancel(s->timer);
    tcp_counters_.closed.Inc();
    tcp_by_socket_.erase(s->socket.get());
    tcp_by_id_.erase(it);
    tcp_sessions_.erase(s->key);  // frees s
  }
  tcp_closed_.clear();
}

// An application thread changed something on the socket: bytes written or
// read, shutdown, close.
void Worker::ServeTcpSocket(const std::shared_ptr<TcpSocketState>& socket) {
  const auto it = tcp_by_socket_.find(socket.get());
  if (it == tcp_by_socket_.end()) return;  // not (or no longer) a connection here
  TcpSession& s = *it->second;
  // The close and shutdown flags first: the application sets them after
  // its last write, so once one is seen (acquire) the counters read below
  // include everything before it. Read the other way round, a close could
  // be seen with an older `written` and the FIN would go out before the
  // last bytes (a data loss the IPv6 lab runs showed).
  const bool close = socket->close_requested.load(std::memory_order_acquire);
  const bool shutdown = socket->shutdown_requested.load(std::memory_order_acquire);
  const std::uint64_t written = socket->written.load(std::memory_order_acquire);
  if (const int cc = socket->congestion.load(std::memory_order_relaxed); cc != s.congestion) {
    s.congestion = cc;
    s.conn->SetCongestion(cc == 0 ? std::string_view(config_.tcp_cc) : TcpSocketState::kCongestionNames[cc]);
  }
  if (written != s.seen_written) {
    s.conn->OnAppSend(static_cast<std::uint32_t>(written - s.seen_written), now_);
    s.seen_written = written;
  }
  const std::uint64_t consumed = socket->consumed.load(std::memory_order_acquire);
  if (consumed != s.seen_consumed) {
    reading_ = true;  // what it sends is a window update
    s.conn->OnAppRead(static_cast<std::uint32_t>(consumed - s.seen_consumed), now_);
    reading_ = false;
    s.seen_consumed = consumed;
  }
  if (close && !s.close_done) {
    s.close_done = s.shutdown_done = true;
    s.conn->Close(now_);
  } else if (shutdown && !s.shutdown_done) {
    s.shutdown_done = true;
    s.conn->Shutdown(now_);
  }
  RearmTcp(s);
  ReapTcp();
}

std::vector<std::string> Worker::TcpSessionLines() const {
  std::vector<std::string> out;
  for (const auto& [key, s] : tcp_sessions_) {
    const tcp::TcpConnection& c = *s->conn;
    out.push_back(absl::StrCat(
        key.local.ToString(), ":", key.local_port, " ", key.remote.ToString(), ":", key.remote_port, " ",
        std::string(c.StateName()), " snd_una=", c.snd_una().value(), " snd_nxt=", c.snd_nxt().value(), " snd_wnd=",
        c.snd_wnd(), " unsent=", c.unsent(), " in_flight=", c.in_flight(), " cwnd=", c.cwnd(),
        " ssthresh=", c.ssthresh(), " pipe=", c.pipe(), " cc=", std::string(c.congestion_name()),
        " recovery=", std::string(c.RecoveryPhase()), " sacked=", c.scoreboard().sacked_bytes(),
        " lost=", c.scoreboard().lost_bytes(), " holes=", c.scoreboard().Holes(),
        " ts=", c.ts_ok(), " sack=", c.sack_ok(), " wscale=", static_cast<int>(c.snd_scale().shift()), " ts_recent=", c.ts_recent(), " mss=", c.snd_mss(), " rcv_nxt=", c.rcv_nxt().value(), " rcv_wnd=", c.rcv_wnd(), " unread=", c.unread(),
        " srtt=", c.rtt().srtt().nanos() / 1000000, "ms rttvar=", c.rtt().rttvar().nanos() / 1000000, "ms backoffs=", c.rtt().backoffs(), " rto=", c.rtt().rto().nanos() / 1000000, "ms retransmits=", c.retransmits(),
        " ring_rx=", s->socket->recv.ReadableApprox(), " ring_tx=", s->socket->send.ReadableApprox(),
        " written=", s->socket->written.load() - s->seen_written, " consumed=", s->socket->consumed.load() - s->seen_consumed,
        " scheduled=", s->socket->scheduled.load(),
        " next=", c.NextDeadline().IsNever() ? std::string("never") : absl::StrCat((c.NextDeadline() - now_).nanos() / 1000000, "ms")));
  }
  return out;
}

// An active open on this shard (the application's connect): the source
// address (bound, or the route's), the local port (bound, or an ephemeral
// one whose flow is steered here and whose 4-tuple is free, RFC 6056-style
// from a random point), then the SYN. 0 or an errno value.
int Worker::ConnectTcp(SocketRequest& r, proto::udp::Endpoint& local_out) {
  const proto::udp::Endpoint& remote = r.endpoint;
  IpAddress local = r.bound.addr;
  if (local.IsUnspecified()) {
    local = remote.addr.is_v6() ? IpAddress(host6_.SourceFor(remote.addr.v6()))
                                : IpAddress(host_.SourceFor(remote.addr.v4()));
  }
  if (local.IsUnspecified()) return ENETUNREACH;  // no address to send from
  std::uint16_t port = r.bound.port;
  if (port == 0) {
    const auto start =
        static_cast<std::uint32_t>((isn_.Hash(local, 0, remote.addr, remote.port) ^ now_.nanos()) % 28232);
    for (std::uint32_t i = 0; i < 28232 && port == 0; ++i) {
      const auto candidate = static_cast<std::uint16_t>(32768 + (start + i) % 28232);
      if (ShardForFlow(local, candidate, remote.addr, remote.port, config_.workers) != shard_) continue;
      if (tcp_sessions_.contains(FlowKey{local, remote.addr, candidate, remote.port})) continue;
      if (tcp_listeners_.contains(candidate)) continue;
      port = candidate;
    }
    if (port == 0) return EADDRNOTAVAIL;  // every port in use
  }
  const FlowKey key{local, remote.addr, port, remote.port};
  if (tcp_sessions_.contains(key)) return EADDRINUSE;
  if (tcp_sessions_.size() >= TcpSessionLimit()) {
    tcp_counters_.session_limit_refused.Inc();
    return ENOBUFS;  // --tcp-max-sessions
  }
  TcpSocketState& sock = *r.tcp;
  sock.status.store(TcpSocketState::Status::kConnecting, std::memory_order_release);
  TcpSession& s = AddTcpSession(key, r.tcp);
  tcp_counters_.opened_active.Inc();
  const tcp::Endpoints ends{key.local, key.local_port, key.remote, key.remote_port};
  s.conn = tcp::TcpConnection::Connect(TcpConfigFor(sock, key.remote), ends,
                                       isn_.Isn(key.local, key.local_port, key.remote, key.remote_port, now_), now_,
                                       s);
  RearmTcp(s);
  local_out = proto::udp::Endpoint{local, port};
  return 0;
}

void Worker::ServeTcpRequest(SocketRequest& r) {
  auto& c = *r.completion;
  switch (r.kind) {
    case SocketRequest::Kind::kTcpListen: {
      const proto::udp::Endpoint& e = r.endpoint;
      const bool ours = e.addr.IsUnspecified() ||
                        (e.addr.is_v6() ? host6_.IsLocal(e.addr.v6()) : host_.IsLocal(e.addr.v4()));
      if (!ours) {
        c.result = EADDRNOTAVAIL;
        break;
      }
      auto& on_port = tcp_listeners_[e.port];
      c.result = 0;
      for (const ListeningSocket& l : on_port) {
        if (l.addr.is_v6() == e.addr.is_v6() && (l.addr == e.addr || l.addr.IsUnspecified() || e.addr.IsUnspecified())) {
          c.result = EADDRINUSE;
        }
      }
      if (c.result == 0) on_port.push_back(ListeningSocket{r.tcp, e.addr, 0});
      break;
    }
    case SocketRequest::Kind::kTcpUnlisten: {
      if (auto it = tcp_listeners_.find(r.endpoint.port); it != tcp_listeners_.end()) {
        std::erase_if(it->second, [&](const ListeningSocket& l) { return l.socket == r.tcp; });
        if (it->second.empty()) tcp_listeners_.erase(it);
      }
      // Handshakes under way for it end with a RST.
      for (auto& [key, s] : tcp_sessions_) {
        if (s->listener == r.tcp) {
          s->listener.reset();
          s->conn->Abort(now_);
        }
      }
      ReapTcp();
      c.result = 0;
      break;
    }
    case SocketRequest::Kind::kTcpConnect:
      c.result = ConnectTcp(r, c.local);
      break;
    default:
      c.result = EINVAL;
      break;
  }
  c.done.store(1, std::memory_order_release);
  c.done.notify_all();
}

}  // namespace ringstack::engine

namespace ringstack::engine {

std::vector<Worker::TcpSessionInfo> Worker::TcpSessions() const {
  std::vector<TcpSessionInfo> out;
  for (const auto& [port, listeners] : tcp_listeners_) {
    for (const ListeningSocket& l : listeners) {
      TcpSessionInfo i;
      i.local = proto::udp::Endpoint{l.addr, port};
      i.remote = proto::udp::Endpoint{l.addr.is_v6() ? proto::IpAddress(proto::Ipv6Address())
                                                     : proto::IpAddress(proto::Ipv4Address()), 0};
      i.state = "LISTEN";
      i.shard = shard_;
      i.listener = true;
      i.backlog = static_cast<std::uint64_t>(l.socket->backlog);
      {
        std::lock_guard lock(l.socket->accept_mu);
        i.accept_queue = l.socket->accept_queue.size();
      }
      out.push_back(std::move(i));
    }
  }
  for (const auto& [key, s] : tcp_sessions_) {
    if (!s->conn) continue;
    const tcp::TcpConnection& c = *s->conn;
    TcpSessionInfo i;
    i.local = proto::udp::Endpoint{key.local, key.local_port};
    i.remote = proto::udp::Endpoint{key.remote, key.remote_port};
    i.state = std::string(c.StateName());
    i.shard = shard_;
    i.snd_una = c.snd_una().value();
    i.snd_nxt = c.snd_nxt().value();
    i.rcv_nxt = c.rcv_nxt().value();
    i.snd_wnd = c.snd_wnd();
    i.rcv_wnd = c.rcv_wnd();
    i.cwnd = c.cwnd();
    i.ssthresh = c.ssthresh();
    i.in_flight = c.in_flight();
    i.unsent = c.unsent();
    i.unread = c.unread();
    i.srtt_us = static_cast<std::uint64_t>(c.rtt().srtt().nanos() / 1000);
    i.rto_ms = static_cast<std::uint64_t>(c.rtt().rto().nanos() / 1000000);
    i.retransmits = c.retransmits();
    i.mss = c.snd_mss();
    i.cc = std::string(c.congestion_name());
    i.recovery = std::string(c.RecoveryPhase());
    out.push_back(std::move(i));
  }
  return out;
}

}  // namespace ringstack::engine
