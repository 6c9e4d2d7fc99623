// TcpLayer (tcp_layer.h): the receive side, listeners, sessions and the
// stream sockets' requests; the way out is tcp_output.cc.
#include "engine/tcp_layer.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <variant>

#include "absl/strings/str_cat.h"
#include "engine/random_secret.h"
#include "engine/steering.h"
#include "engine/tcp_session.h"
#include "protocols/common/overloaded.h"

namespace ringstack::engine {

namespace tcp = proto::tcp;
using proto::IpAddress;

namespace {

// The challenge-ACK limiter's seed (ISNs and SYN cookies take a whole
// RandomSecret each, drawn once per shard).
std::uint64_t RandomSeed() {
  const auto r = RandomSecret();
  return (std::uint64_t{proto::LoadBe32(r.data())} << 32) | proto::LoadBe32(r.data() + 4);
}

}  // namespace

TcpLayer::TcpLayer(ShardContext& ctx, IpOutput& ip, CounterSet& counters)
    : ctx_(ctx),
      ip_(ip),
      isn_(RandomSecret()),
      listen_(RandomSecret(), ctx.config.tcp_syncookies),
      challenge_limiter_(ctx.config.tcp_challenge_ack_limit, RandomSeed()) {
  if (tcp::FastOpenServer(ctx.config.tcp_fastopen)) listen_.EnableFastOpen(ctx.fabric.fastopen().secret());
  RegisterCounters(counters, counters_, kTcpCounterFields);
  for (std::size_t i = 0; i < tcp::kTcpStatCount; ++i) {
    stat_[i] = &counters.Add(absl::StrCat("tcp_", std::string(tcp::kTcpStatFields[i].first)));
  }
  drop_.Add(counters, "tcp");
}

TcpLayer::~TcpLayer() = default;

std::size_t TcpLayer::SessionLimit() const {
  return (ctx_.config.tcp_max_sessions + ctx_.config.workers - 1) / ctx_.config.workers;
}

std::size_t TcpLayer::HalfOpenLimit() const {
  return (ctx_.config.tcp_max_half_open + ctx_.config.workers - 1) / ctx_.config.workers;
}

void TcpLayer::DeferWake(const std::shared_ptr<TcpSocketState>& s, bool readers) {
  bool& owed = readers ? s->wake_readers_owed : s->wake_writers_owed;
  if (owed) return;
  if (!s->wake_readers_owed && !s->wake_writers_owed) owed_wakes_.push_back(s);
  owed = true;
}

void TcpLayer::FlushWakes() {
  for (const std::shared_ptr<TcpSocketState>& s : owed_wakes_) {
    if (s->wake_readers_owed) s->WakeReaders();
    if (s->wake_writers_owed) s->WakeWriters();
    s->wake_readers_owed = s->wake_writers_owed = false;
  }
  owed_wakes_.clear();
}

void TcpLayer::EndEmbryo(Session& s) {
  if (ListeningSocket* l = FindListener(s.key.local, s.key.local_port); l != nullptr && l->socket == s.listener) {
    --(s.fastopen_child ? l->fastopen_pending : l->embryonic);
  }
  --half_open_;
  s.listener.reset();
}

void TcpLayer::OnEvent(Session& session, tcp::TcpEvent e) {
  TcpSocketState& s = *session.socket;
  const FlowKey& key = session.key;
  if (ctx_.LogEnabled(Subsystem::kTcp, LogLevel::kDebug)) {
    static constexpr const char* kNames[] = {"established", "peer closed", "reset",  "refused",
                                             "timed out",   "aborted",     "closed"};
    const auto i = static_cast<std::size_t>(e);
    ctx_.Log(Subsystem::kTcp, LogLevel::kDebug,
             absl::StrCat("tcp ", key.local.ToString(), ":", key.local_port, " ", key.remote.ToString(), ":",
                          key.remote_port, ": ", i < std::size(kNames) ? kNames[i] : "event"));
  }
  switch (e) {
    case tcp::TcpEvent::kEstablished:
      s.status.store(TcpSocketState::Status::kConnected, std::memory_order_release);
      counters_.established.Inc();
      if (session.conn->fastopen().active) LearnFastOpen(session);
      if (session.listener && session.fastopen_child) {
        EndEmbryo(session);  // queued for accept when its SYN came
      } else if (session.listener) {
        // Into the listening socket's accept queue (the backlog was checked
        // at the SYN).
        const std::shared_ptr<TcpSocketState> listener = session.listener;
        EndEmbryo(session);
        {
          std::lock_guard lock(listener->accept_mu);
          listener->accept_queue.push_back(session.socket);
        }
        listener->Wake();
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
      if (const auto& fo = session.conn->fastopen(); fo.syn_data != 0 && !session.conn->synchronized()) {
        ctx_.fabric.fastopen().Failed(key.remote, ctx_.now);  // RFC 7413 4.1.3.2: off to this server a while
      }
      break;
    case tcp::TcpEvent::kAborted:
      s.error.store(ECONNABORTED, std::memory_order_release);
      s.send_closed.store(true, std::memory_order_release);
      break;
    case tcp::TcpEvent::kClosed:
      s.status.store(TcpSocketState::Status::kClosed, std::memory_order_release);
      s.send_closed.store(true, std::memory_order_release);
      if (session.listener) EndEmbryo(session);  // an embryo that never made it to the queue
      break;
  }
  s.Wake();
}

tcp::TcpConfig TcpLayer::ConfigFor(const TcpSocketState& s, const IpAddress& remote) {
  tcp::TcpConfig c;
  // The MSS we offer from the link's MTU (RFC 9293 3.7.1); what we send is
  // bounded by the path's too (RFC 1191, RFC 8201).
  const std::size_t headers = remote.is_v6() ? 60 : 40;
  c.mss = static_cast<std::uint16_t>(ctx_.config.mtu > headers + 64 ? ctx_.config.mtu - headers : 536);
  c.path_mtu = static_cast<std::uint32_t>(ip_.PathMtu(remote));
  c.mtu_probing = ctx_.config.tcp_mtu_probing;
  c.rcv_buf = static_cast<std::uint32_t>(s.recv.capacity());
  c.nodelay = s.nodelay.load(std::memory_order_relaxed);
  c.keepalive = s.keepalive.load(std::memory_order_relaxed);
  c.keepalive_idle = Duration::Seconds(s.keepalive_idle_s.load(std::memory_order_relaxed));
  c.keepalive_interval = Duration::Seconds(s.keepalive_interval_s.load(std::memory_order_relaxed));
  c.keepalive_count = s.keepalive_count.load(std::memory_order_relaxed);
  c.msl = ctx_.config.tcp_msl;
  c.rto.min = ctx_.config.tcp_rto_min;
  const int cc = s.congestion.load(std::memory_order_relaxed);
  c.congestion = cc == 0 ? std::string_view(ctx_.config.tcp_cc) : TcpSocketState::kCongestionNames[cc];
  c.recovery = ctx_.config.tcp_recovery;
  c.frto = ctx_.config.tcp_frto;
  c.pacing = ctx_.config.tcp_pacing;
  const int ecn = s.ecn.load(std::memory_order_relaxed);
  c.ecn = ecn < 0 ? ctx_.config.tcp_ecn : static_cast<tcp::EcnMode>(ecn);  // 0..3, as kTcpEcn checked
  c.challenge_limiter = &challenge_limiter_;
  return c;
}

TcpLayer::Session& TcpLayer::AddSession(const FlowKey& key, std::shared_ptr<TcpSocketState> socket) {
  const std::uint32_t id = next_id_++;
  auto session = std::make_unique<Session>(*this, key, id, std::move(socket));
  Session& s = *session;
  by_id_[id] = &s;
  by_socket_[s.socket.get()] = &s;
  s.congestion = s.socket->congestion.load(std::memory_order_relaxed);  // TcpConfigFor applies it
  sessions_[key] = std::move(session);
  {
    std::lock_guard lock(s.socket->ends_mu);
    s.socket->local = proto::Endpoint{key.local, key.local_port};
    s.socket->remote = proto::Endpoint{key.remote, key.remote_port};
    s.socket->shard = ctx_.shard;
  }
  return s;
}

TcpLayer::ListeningSocket* TcpLayer::FindListener(const IpAddress& dst, std::uint16_t port) {
  const auto it = listeners_.find(port);
  if (it == listeners_.end()) return nullptr;
  ListeningSocket* wildcard = nullptr;
  for (ListeningSocket& l : it->second) {
    if (l.addr.is_v6() != dst.is_v6()) continue;
    if (l.addr == dst) return &l;  // a specific address wins
    if (l.addr.IsUnspecified()) wildcard = &l;
  }
  return wildcard;
}

bool TcpLayer::ForwardToOwner(Packet& p, const IpAddress& src, const IpAddress& dst, bool to_group,
                              proto::IpEcn ecn) {
  if (ctx_.shard != 0 || ctx_.config.workers <= 1) return false;
  const auto th = tcp::TcpHeader::Checked(p.data());
  if (!th) return false;  // the parse below counts it
  const int owner = ShardForFlow(src, th->src_port(), dst, th->dst_port(), ctx_.config.workers);
  if (owner == 0) return false;
  ShardMessage m;
  m.kind = ShardMessage::Kind::kTcp;
  m.remote.addr = src;
  m.local.addr = dst;
  m.group = to_group;
  m.ecn = ecn;
  m.packet = std::move(p);
  if (!ctx_.fabric.Post(owner, std::move(m))) ctx_.shard_drop_mail_full.Inc();
  return true;
}

void TcpLayer::Receive(Packet p, const IpAddress& src, const IpAddress& dst, bool to_group, proto::IpEcn ecn) {
  if (ForwardToOwner(p, src, dst, to_group, ecn)) return;
  const bool verify = !p.offload().csum_trusted;
  const auto seg = src.is_v6() ? tcp::TcpRepr::Parse(p.data(), src.v6(), dst.v6(), verify)
                               : tcp::TcpRepr::Parse(p.data(), src.v4(), dst.v4(), verify);
  if (!seg) {
    drop_.Count(seg.error());
    return;
  }
  counters_.rx.Inc();
  if (to_group) {
    counters_.drop_to_group.Inc();  // TCP is unicast only (RFC 1122 4.2.3.10)
    return;
  }
  const FlowKey key{dst, src, seg->dst_port, seg->src_port};
  if (const auto it = sessions_.find(key); it != sessions_.end()) {
    Session& s = *it->second;
    const tcp::TcpConnection& c = *s.conn;
    // RFC 6191: a newer SYN for a TIME-WAIT connection may start a new
    // incarnation (when someone listens).
    const bool reuse =
        std::holds_alternative<tcp::TcpConnection::TimeWait>(c.state()) &&
        tcp::TcpListener::SynReusesTimeWait(*seg, c.rcv_nxt(),
                                            c.ts_ok() ? std::optional(c.ts_recent()) : std::nullopt) &&
        FindListener(dst, seg->dst_port) != nullptr;
    if (!reuse) {
      s.conn->OnSegment(*seg, ctx_.now, out_, ecn);
      Carry(s);
      return;
    }
    s.conn->Abort(ctx_.now, out_);  // CLOSED quietly (no RST from TIME-WAIT)
    Carry(s);
  }
  if (ListeningSocket* l = FindListener(dst, seg->dst_port)) {
    OnListenerSegment(*l, *seg, key, ecn);
    return;
  }
  // No connection takes it: RFC 9293 3.10.7.1.
  counters_.rx_no_socket.Inc();
  if (const auto rst = tcp::TcpConnection::ResetFor(*seg)) Send(*rst, key, nullptr, 0, 0);
}

TcpLayer::Session* TcpLayer::ReportTarget(ShardMessage m, bool& mailed) {
  const int owner = ShardForFlow(m.local.addr, m.local.port, m.remote.addr, m.remote.port, ctx_.config.workers);
  mailed = owner != ctx_.shard;
  if (mailed) {
    if (!ctx_.fabric.Post(owner, std::move(m))) ctx_.shard_drop_mail_full.Inc();
    return nullptr;
  }
  const auto it = sessions_.find(FlowKey{m.local.addr, m.remote.addr, m.local.port, m.remote.port});
  return it != sessions_.end() ? it->second.get() : nullptr;
}

void TcpLayer::OnPathMtu(const proto::Endpoint& local, const proto::Endpoint& remote, std::uint32_t seq,
                         std::uint32_t mtu) {
  ShardMessage m;
  m.kind = ShardMessage::Kind::kPathMtu;
  m.local = local;
  m.remote = remote;
  m.seq = seq;
  m.mtu = mtu;
  bool mailed = false;
  Session* s = ReportTarget(std::move(m), mailed);
  if (s == nullptr) {
    if (!mailed) counters_.pmtu_no_session.Inc();
    return;
  }
  s->conn->OnPathMtu(mtu, tcp::SeqNum(seq), ctx_.now, out_);
  Carry(*s);
}

void TcpLayer::OnUnreachable(const proto::Endpoint& local, const proto::Endpoint& remote, std::uint32_t seq) {
  ShardMessage m;
  m.kind = ShardMessage::Kind::kTcpUnreachable;
  m.local = local;
  m.remote = remote;
  m.seq = seq;
  bool mailed = false;
  Session* s = ReportTarget(std::move(m), mailed);
  if (s == nullptr) return;
  if (s->conn->OnFastOpenUnreachable(tcp::SeqNum(seq), ctx_.now, out_)) {
    ctx_.fabric.fastopen().Failed(remote.addr, ctx_.now);
  }
  Carry(*s);
}

// A segment for a listening port that no connection takes: the LISTEN
// rules (protocols/tcp/tcp_listener.h) decide, this carries it out.
void TcpLayer::OnListenerSegment(ListeningSocket& l, const tcp::TcpRepr& seg, const FlowKey& key, proto::IpEcn ecn) {
  TcpSocketState& ls = *l.socket;
  tcp::ListenerLoad load;
  load.backlog = static_cast<std::size_t>(std::max(ls.backlog, 1));
  {
    std::lock_guard lock(ls.accept_mu);
    load.accept_queued = ls.accept_queue.size();
  }
  load.embryonic = static_cast<std::size_t>(l.embryonic);
  load.half_open = half_open_;
  load.half_open_limit = HalfOpenLimit();
  load.sessions = sessions_.size();
  load.session_limit = SessionLimit();
  const int qlen = ls.fastopen_qlen.load(std::memory_order_relaxed);
  load.fastopen_max = static_cast<std::size_t>(qlen < 0 ? load.backlog : static_cast<std::size_t>(qlen));
  load.fastopen_queued = static_cast<std::size_t>(l.fastopen_pending);
  const tcp::Endpoints ends{key.local, key.local_port, key.remote, key.remote_port};
  const tcp::ListenOutcome out = listen_.OnSegment(seg, ends, load, ConfigFor(ls, key.remote), ctx_.now);
  CountListen(out);
  switch (out.action) {
    case tcp::ListenAction::kAcceptNew:
    case tcp::ListenAction::kCookieAccepted: {
      auto child = NewChild(l);
      Session& s = AddSession(key, child);
      s.listener = l.socket;
      s.fastopen_child = out.fastopen == tcp::FastOpenVerdict::kAccepted;
      // The established event moves it to the accept queue; a fast-opened
      // one goes there now (below, once its SYN's data is in).
      ++(s.fastopen_child ? l.fastopen_pending : l.embryonic);
      ++half_open_;
      counters_.opened_passive.Inc();
      const tcp::TcpConfig config = ConfigFor(*child, key.remote);
      s.conn = out.action == tcp::ListenAction::kAcceptNew
                   ? tcp::TcpConnection::Accept(
                         config, ends, seg, isn_.Isn(key.local, key.local_port, key.remote, key.remote_port, ctx_.now),
                         ctx_.now, out_, out.fastopen_accept, ecn)
                   : tcp::TcpConnection::FromCookie(config, ends, seg, out.cookie, ctx_.now, out_);
      if (s.fastopen_child) QueueFastOpened(s);
      Carry(s);  // a cookie's ACK may close what it opened (an RST-bearing reply, a FIN)
      return;
    }
    case tcp::ListenAction::kSendCookie:
    case tcp::ListenAction::kReset:
      Send(out.reply, key, nullptr, 0, 0);
      return;
    case tcp::ListenAction::kDrop:
      return;
  }
}

void TcpLayer::CountListen(const tcp::ListenOutcome& out) {
  using R = tcp::ListenReason;
  switch (out.reason) {
    case R::kNone: break;
    case R::kSessionLimit: counters_.drop_session_limit.Inc(); break;
    case R::kBacklogFull: counters_.syn_backlog_full.Inc(); break;
    case R::kHalfOpenLimit: counters_.half_open_limit.Inc(); break;
    case R::kAcceptQueueFull: counters_.accept_queue_full.Inc(); break;
    case R::kCookieInvalid: counters_.syncookies_failed.Inc(); break;
    case R::kRst:
    case R::kNoSynNoAck: counters_.drop_listen.Inc(); break;
    case R::kAck: break;
  }
  switch (out.action) {
    case tcp::ListenAction::kSendCookie: counters_.syncookies_sent.Inc(); break;
    case tcp::ListenAction::kCookieAccepted: counters_.syncookies_ok.Inc(); break;
    case tcp::ListenAction::kReset: counters_.rx_no_socket.Inc(); break;  // as for a port nobody has
    case tcp::ListenAction::kAcceptNew:
    case tcp::ListenAction::kDrop: break;
  }
  switch (out.fastopen) {
    case tcp::FastOpenVerdict::kNone: break;
    case tcp::FastOpenVerdict::kAccepted: counters_.fastopen_passive.Inc(); break;
    case tcp::FastOpenVerdict::kRequested: counters_.fastopen_cookie_reqd.Inc(); break;
    case tcp::FastOpenVerdict::kBadCookie: counters_.fastopen_passive_fail.Inc(); break;
    case tcp::FastOpenVerdict::kQueueFull: counters_.fastopen_listen_overflow.Inc(); break;
  }
}

// RFC 7413 4.2.2: a connection whose SYN's data was taken is the
// application's at once (readable, writable: what it writes goes once the
// handshake ends), before the handshake completes.
void TcpLayer::QueueFastOpened(Session& s) {
  TcpSocketState& child = *s.socket;  // its endpoints are set (AddSession)
  child.status.store(TcpSocketState::Status::kConnected, std::memory_order_release);
  const std::shared_ptr<TcpSocketState> listener = s.listener;
  {
    std::lock_guard lock(listener->accept_mu);
    listener->accept_queue.push_back(s.socket);
  }
  listener->Wake();
}

// What an active open's handshake showed of the server, for the next
// connection's SYN (the cookie, the MSS it offered).
void TcpLayer::LearnFastOpen(Session& s) {
  ctx_.fabric.fastopen().Learn(s.key.remote, s.conn->fastopen(), s.conn->peer_mss(), ctx_.now);
}

std::shared_ptr<TcpSocketState> TcpLayer::NewChild(ListeningSocket& l) {
  TcpSocketState& ls = *l.socket;
  auto child = std::make_shared<TcpSocketState>(0, ls.v6, ls.send.capacity(), ls.recv.capacity());
  child->CopyOptionsFrom(ls);
  child->status.store(TcpSocketState::Status::kConnecting);
  return child;
}

bool TcpLayer::Carry(Session& s, bool window_update) {
  // Taken out of out_ while carried out: a send below that came back into
  // this layer would find out_ empty rather than this list half done.
  tcp::TcpOutcome out = std::move(out_);
  out_.Clear();
  for (const tcp::TcpAction& action : out.actions()) {
    std::visit(proto::Overloaded{
                   [&](const tcp::TcpTransmit& t) {
                     const bool update = window_update && t.len == 0 && t.header.flags == tcp::kAck;
                     Send(t.header, s.key, &s.socket->send, t.offset, t.len,
                          update ? IpOutput::Path::kTxThread : IpOutput::Path::kAny, t.ecn);
                   },
                   [&](const tcp::TcpPlace& p) { Place(*s.socket, p.offset, p.data); },
                   [&](const tcp::TcpCommit& c) {
                     s.socket->recv.CommitWrite(c.n);
                     DeferWake(s.socket, /*readers=*/true);
                   },
                   [&](const tcp::TcpRelease& r) {
                     s.socket->send.CommitRead(r.n);
                     DeferWake(s.socket, /*readers=*/false);
                   },
                   [&](tcp::TcpEvent e) { OnEvent(s, e); },
               },
               action);
  }
  const bool closed = out.closed();
  out.Clear();
  if (out_.empty()) out_ = std::move(out);  // its capacity, for the next call
  const tcp::TcpStats& st = s.conn->stats();
  for (std::size_t i = 0; i < tcp::kTcpStatCount; ++i) {
    const auto field = tcp::kTcpStatFields[i].second;
    if (st.*field != s.seen_stats.*field) stat_[i]->Inc(st.*field - s.seen_stats.*field);
  }
  s.seen_stats = st;
  if (!ctx_.config.tcp_trace_dir.empty()) Trace(s);
  if (closed) {
    Remove(s);
    return false;
  }
  s.deadline.Follow(s.conn->NextDeadline());
  return true;
}

// Into the receive ring's free space, `offset` past its write position
// (within the window the connection advertised, so within the space).
void TcpLayer::Place(TcpSocketState& socket, std::uint32_t offset, proto::Bytes data) {
  const auto spans = socket.recv.WritableSpans();
  if (offset + data.size() > spans.size()) return;
  std::size_t at = offset;
  for (std::span<std::byte> span : {spans.first, spans.second}) {
    if (data.empty()) break;
    if (at >= span.size()) {
      at -= span.size();
      continue;
    }
    const std::size_t n = std::min(span.size() - at, data.size());
    std::memcpy(span.data() + at, data.data(), n);
    data = data.subspan(n);
    at = 0;
  }
}

// --tcp-trace: a CSV row whenever cwnd, pipe or SND.UNA moved.
void TcpLayer::Trace(Session& s) {
  const tcp::TcpConnection& c = *s.conn;
  if (s.trace == nullptr) {
    if (std::holds_alternative<tcp::TcpConnection::Closed>(c.state())) return;
    // "tcp-192.0.2.2_7-192.0.2.1_40000.csv" (IPv6 colons become dots).
    std::string name = absl::StrCat(ctx_.config.tcp_trace_dir, "/tcp-", s.key.local.ToString(), "_", s.key.local_port,
                                    "-", s.key.remote.ToString(), "_", s.key.remote_port, ".csv");
    std::replace(name.begin() + static_cast<std::ptrdiff_t>(ctx_.config.tcp_trace_dir.size()), name.end(), ':', '.');
    s.trace = std::fopen(name.c_str(), "w");
    if (s.trace == nullptr) return;
    s.trace_start = ctx_.now;
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
               static_cast<double>((ctx_.now - s.trace_start).nanos()) / 1e9, c.cwnd(),
               c.ssthresh() == 0xffffffffu ? 0u : c.ssthresh(), c.pipe(), c.in_flight(),
               static_cast<double>(c.rtt().srtt().nanos()) / 1e6, static_cast<double>(c.rtt().rttvar().nanos()) / 1e6,
               static_cast<double>(c.rtt().rto().nanos()) / 1e6, static_cast<unsigned long long>(c.retransmits()),
               std::string(c.RecoveryPhase()).c_str(), c.scoreboard().sacked_bytes(), c.scoreboard().lost_bytes(),
               una, std::string(c.congestion_name()).c_str());
}

void TcpLayer::OnTimer(std::uint64_t value) {
  const auto it = by_id_.find(static_cast<std::uint32_t>(value));
  if (it == by_id_.end()) return;
  Session& s = *it->second;
  s.deadline.Fired();
  s.conn->OnTimer(ctx_.now, out_);
  Carry(s);
}

// The TCP connections whose local IPv4 address is no longer this host's (a
// lost or declined DHCP lease, an address given up to a conflicting host)
// are closed at once without a RST — one could not be sent from an address
// another host may now hold — and their applications see ECONNABORTED.
void TcpLayer::AbortOnLostAddresses(const proto::ipv4::Ipv4Host& host) {
  std::vector<Session*> lost;
  for (const auto& [key, s] : sessions_) {
    if (key.local.is_v6()) continue;
    const proto::ipv4::HostAddress* a = host.Find(key.local.v4());
    if (a == nullptr || a->state == proto::ipv4::AddressState::kConflict) lost.push_back(s.get());
  }
  for (Session* s : lost) {
    ctx_.Log(Subsystem::kTcp, LogLevel::kWarn,
        absl::StrCat("tcp ", s->key.local.ToString(), ":", s->key.local_port, " ", s->key.remote.ToString(), ":",
                     s->key.remote_port, ": aborted: ", s->key.local.ToString(), " is no longer this host's"));
    counters_.aborted_address_lost.Inc();
    s->conn->AbortQuietly(out_);
    Carry(*s);
  }
}

void TcpLayer::Remove(Session& s) {
  s.deadline.Follow(Instant::Never());
  counters_.closed.Inc();
  by_socket_.erase(s.socket.get());
  by_id_.erase(s.id);
  sessions_.erase(s.key);  // frees s
}

// An application thread changed something on the socket: bytes written or
// read, shutdown, close.
void TcpLayer::ServeSocket(const std::shared_ptr<TcpSocketState>& socket) {
  const auto it = by_socket_.find(socket.get());
  if (it == by_socket_.end()) return;  // not (or no longer) a connection here
  Session& s = *it->second;
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
    s.conn->SetCongestion(cc == 0 ? std::string_view(ctx_.config.tcp_cc) : TcpSocketState::kCongestionNames[cc]);
  }
  if (written != s.seen_written) {
    s.conn->OnAppSend(static_cast<std::uint32_t>(written - s.seen_written), ctx_.now, out_);
    s.seen_written = written;
    if (!Carry(s)) return;
  }
  const std::uint64_t consumed = socket->consumed.load(std::memory_order_acquire);
  if (consumed != s.seen_consumed) {
    s.conn->OnAppRead(static_cast<std::uint32_t>(consumed - s.seen_consumed), ctx_.now, out_);
    s.seen_consumed = consumed;
    if (!Carry(s, /*window_update=*/true)) return;
  }
  if (close && !s.close_done) {
    s.close_done = s.shutdown_done = true;
    s.conn->Close(ctx_.now, out_);
  } else if (shutdown && !s.shutdown_done) {
    s.shutdown_done = true;
    s.conn->Shutdown(ctx_.now, out_);
  }
  Carry(s);
}

std::vector<std::string> TcpLayer::SessionLines() const {
  std::vector<std::string> out;
  for (const auto& [key, s] : sessions_) {
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
        " next=", c.NextDeadline().IsNever() ? std::string("never") : absl::StrCat((c.NextDeadline() - ctx_.now).nanos() / 1000000, "ms")));
  }
  return out;
}

// An active open on this shard (the application's connect): the source
// address (bound, or the route's), the local port (bound, or an ephemeral
// one whose flow is steered here and whose 4-tuple is free, RFC 6056-style
// from a random point), then the SYN. 0 or an errno value.
int TcpLayer::Connect(SocketRequest& r, proto::Endpoint& local_out) {
  const proto::Endpoint& remote = r.endpoint;
  IpAddress local = r.bound.addr;
  if (local.IsUnspecified()) {
    local = ip_.SourceFor(remote.addr);
  }
  if (local.IsUnspecified()) return ENETUNREACH;  // no address to send from
  std::uint16_t port = r.bound.port;
  if (port == 0) {
    const auto start =
        static_cast<std::uint32_t>((isn_.Hash(local, 0, remote.addr, remote.port) ^ ctx_.now.nanos()) % 28232);
    for (std::uint32_t i = 0; i < 28232 && port == 0; ++i) {
      const auto candidate = static_cast<std::uint16_t>(32768 + (start + i) % 28232);
      if (ShardForFlow(local, candidate, remote.addr, remote.port, ctx_.config.workers) != ctx_.shard) continue;
      if (sessions_.contains(FlowKey{local, remote.addr, candidate, remote.port})) continue;
      if (listeners_.contains(candidate)) continue;
      port = candidate;
    }
    if (port == 0) return EADDRNOTAVAIL;  // every port in use
  }
  const FlowKey key{local, remote.addr, port, remote.port};
  if (sessions_.contains(key)) return EADDRINUSE;
  if (sessions_.size() >= SessionLimit()) {
    counters_.session_limit_refused.Inc();
    return ENOBUFS;  // --tcp-max-sessions
  }
  TcpSocketState& sock = *r.tcp;
  sock.status.store(TcpSocketState::Status::kConnecting, std::memory_order_release);
  Session& s = AddSession(key, r.tcp);
  counters_.opened_active.Inc();
  const tcp::Endpoints ends{key.local, key.local_port, key.remote, key.remote_port};
  // TCP Fast Open: what the application queued before connecting may ride
  // in the SYN (the cache's cookie), unless Fast Open to the server is off
  // for now; then the SYN is plain and the bytes go after the handshake.
  std::optional<tcp::FastOpenConnect> fo;
  const std::uint64_t written = sock.written.load(std::memory_order_acquire);
  if (r.fastopen && tcp::FastOpenClient(ctx_.config.tcp_fastopen)) {
    fo = ctx_.fabric.fastopen().ForConnect(key.remote, static_cast<std::uint32_t>(written), ctx_.now);
    if (!fo) counters_.fastopen_syn_plain.Inc();
  }
  s.conn = tcp::TcpConnection::Connect(ConfigFor(sock, key.remote), ends,
                                       isn_.Isn(key.local, key.local_port, key.remote, key.remote_port, ctx_.now), ctx_.now,
                                       out_, fo ? &*fo : nullptr);
  if (fo) s.seen_written = written;
  if (written != s.seen_written) {
    s.conn->OnAppSend(static_cast<std::uint32_t>(written - s.seen_written), ctx_.now, out_);
    s.seen_written = written;
  }
  Carry(s);
  local_out = proto::Endpoint{local, port};
  return 0;
}

void TcpLayer::Listen(SocketRequest& r) {
  auto& c = *r.completion;
  const proto::Endpoint& e = r.endpoint;
  if (!e.addr.IsUnspecified() && !ip_.IsLocal(e.addr)) {
    c.result = EADDRNOTAVAIL;
    return;
  }
  auto& on_port = listeners_[e.port];
  for (const ListeningSocket& l : on_port) {
    if (l.addr.is_v6() == e.addr.is_v6() && (l.addr == e.addr || l.addr.IsUnspecified() || e.addr.IsUnspecified())) {
      c.result = EADDRINUSE;
      return;
    }
  }
  on_port.push_back(ListeningSocket{r.tcp, e.addr, 0});
  c.result = 0;
}

void TcpLayer::Unlisten(SocketRequest& r) {
  if (auto it = listeners_.find(r.endpoint.port); it != listeners_.end()) {
    std::erase_if(it->second, [&](const ListeningSocket& l) { return l.socket == r.tcp; });
    if (it->second.empty()) listeners_.erase(it);
  }
  // Handshakes under way for it end with a RST.
  std::vector<Session*> embryos;
  for (auto& [key, s] : sessions_) {
    if (s->listener == r.tcp) embryos.push_back(s.get());
  }
  for (Session* s : embryos) {
    s->listener.reset();
    s->conn->Abort(ctx_.now, out_);
    Carry(*s);
  }
  r.completion->result = 0;
}

void TcpLayer::ServeRequest(SocketRequest& r) {
  auto& c = *r.completion;
  switch (r.kind) {
    case SocketRequest::Kind::kTcpListen:
      Listen(r);
      break;
    case SocketRequest::Kind::kTcpUnlisten:
      Unlisten(r);
      break;
    case SocketRequest::Kind::kTcpConnect:
      c.result = Connect(r, c.local);
      break;
    default:
      c.result = EINVAL;
      break;
  }
  c.done.store(1, std::memory_order_release);
  c.done.notify_all();
}


namespace {
std::string FastOpenColumn(const tcp::TcpConnection& c) {
  const tcp::TcpConnection::FastOpenInfo& fo = c.fastopen();
  if (fo.passive) return "passive";
  if (!fo.active) return "-";
  if (!fo.cookie) return "asked";
  if (!c.synchronized()) return "syn";
  return fo.data_acked ? "sent" : "unacked";
}
}  // namespace

std::vector<TcpSessionInfo> TcpLayer::Sessions() const {
  std::vector<TcpSessionInfo> out;
  for (const auto& [port, listeners] : listeners_) {
    for (const ListeningSocket& l : listeners) {
      TcpSessionInfo i;
      i.local = proto::Endpoint{l.addr, port};
      i.remote = proto::Endpoint::Wildcard(l.addr.is_v6());
      i.state = "LISTEN";
      i.shard = ctx_.shard;
      i.listener = true;
      i.backlog = static_cast<std::uint64_t>(l.socket->backlog);
      {
        std::lock_guard lock(l.socket->accept_mu);
        i.accept_queue = l.socket->accept_queue.size();
      }
      out.push_back(std::move(i));
    }
  }
  for (const auto& [key, s] : sessions_) {
    if (!s->conn) continue;
    const tcp::TcpConnection& c = *s->conn;
    TcpSessionInfo i;
    i.local = proto::Endpoint{key.local, key.local_port};
    i.remote = proto::Endpoint{key.remote, key.remote_port};
    i.state = std::string(c.StateName());
    i.shard = ctx_.shard;
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
    i.pmtu = c.path_mtu();
    i.cc = std::string(c.congestion_name());
    i.recovery = std::string(c.RecoveryPhase());
    i.ecn = !c.ecn_ok()          ? "-"
            : c.accecn_no_ect()  ? "accecn-noect"
            : c.accecn()         ? "accecn"
            : c.ece_pending()    ? "echo"
                                 : "on";
    i.ce_received = c.stats().ecn_ce_received;
    i.fastopen = FastOpenColumn(c);
    i.pacing_rate = c.pacing_rate();
    out.push_back(std::move(i));
  }
  return out;
}

}  // namespace ringstack::engine
