// The engine side of TCP sockets: what application threads and
// the worker that owns a connection share. sockets/api.h is the
// application's face of it; engine/tcp_layer.cc the shard's.
//
// Data: two ByteRings. `send` holds the bytes from SND.UNA's first data byte
// on: application threads append (under send_mu), the worker reads segments
// out of it at offsets and releases what the peer acknowledged — nothing is
// kept elsewhere for retransmission. `recv` is the receive buffer: the worker
// places in-order and out-of-order bytes into its free space and commits
// them as they become contiguous; application threads read (under recv_mu).
// Counters of bytes written and read tell the worker what changed when it
// is scheduled (an application call puts the socket on its worker's ready
// ring once, ringing the doorbell only then).
//
// State the worker sets (status, error, peer_closed) is read by application
// threads after a Wake. Listening sockets hold the accept queue that every
// shard's listener fills.
#ifndef RINGSTACK_ENGINE_TCP_SOCKET_H_
#define RINGSTACK_ENGINE_TCP_SOCKET_H_

#include <atomic>
#include <string_view>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>

#include "engine/socket_waiter.h"
#include "protocols/common/endpoint.h"
#include "protocols/udp/udp_bindings.h"
#include "rings/byte_ring.h"

namespace ringstack::engine {

// Per-connection buffer sizes by default (SO_SNDBUF / SO_RCVBUF before
// connect or listen change them), powers of two as ByteRing needs.
inline constexpr std::size_t kDefaultTcpBuffer = 256 * 1024;

struct TcpSocketState : SocketWaiter {
  enum class Status : int { kIdle, kListening, kConnecting, kConnected, kClosed };

  TcpSocketState(std::uint32_t id_, bool v6_, std::size_t snd_cap, std::size_t rcv_cap)
      : id(id_), v6(v6_), send(snd_cap), recv(rcv_cap) {}

  const std::uint32_t id;
  const bool v6;
  rings::ByteRing send;
  rings::ByteRing recv;
  std::mutex send_mu;  // application writers
  std::mutex recv_mu;  // application readers
  // The worker's own: a wake-up of readers / writers owed at the end of its
  // poll round (TcpLayer::DeferWake), so a burst of segments wakes once.
  bool wake_readers_owed = false;
  bool wake_writers_owed = false;
  std::atomic<std::uint64_t> written{0};   // bytes applications put in `send`, ever
  std::atomic<std::uint64_t> consumed{0};  // bytes applications took from `recv`, ever

  std::atomic<Status> status{Status::kIdle};
  std::atomic<int> error{0};              // ECONNREFUSED, ECONNRESET, ETIMEDOUT: for the next call / SO_ERROR
  std::atomic<bool> peer_closed{false};   // the peer's FIN: reads return 0 once `recv` is empty
  std::atomic<bool> send_closed{false};   // no more sending (shutdown(SHUT_WR), close, or the connection ended)

  // Application requests the worker acts on when it serves the socket.
  std::atomic<bool> shutdown_requested{false};
  std::atomic<bool> close_requested{false};
  std::atomic<bool> scheduled{false};  // on its worker's ready ring (at most once)

  // Options (set by the application before connect/listen; the worker reads
  // them when it makes the connection).
  std::atomic<bool> nodelay{false};
  std::atomic<bool> keepalive{false};
  std::atomic<int> keepalive_idle_s{7200}, keepalive_interval_s{75}, keepalive_count{9};
  // TCP_CONGESTION: 0 the engine's --tcp-cc, else an index into kCongestionNames.
  static constexpr std::string_view kCongestionNames[] = {"", "cubic", "newreno", "reno", "bbr"};
  std::atomic<int> congestion{0};
  // kTcpEcn (sockets/api.h): -1 the engine's --tcp-ecn, else Linux's
  // net.ipv4.tcp_ecn numbers: 0 off, 1 on (ask), 2 passive, 3 Accurate ECN.
  std::atomic<int> ecn{-1};
  // TCP_FASTOPEN on a listener: how many fast-opened connections may be in
  // their handshake at once (-1: its backlog; 0: none).
  std::atomic<int> fastopen_qlen{-1};
  // The options above from `o` (an accepted connection takes its
  // listener's; a socket remade for new buffer sizes keeps its own).
  void CopyOptionsFrom(const TcpSocketState& o) {
    nodelay.store(o.nodelay.load());
    keepalive.store(o.keepalive.load());
    keepalive_idle_s.store(o.keepalive_idle_s.load());
    keepalive_interval_s.store(o.keepalive_interval_s.load());
    keepalive_count.store(o.keepalive_count.load());
    congestion.store(o.congestion.load());
    ecn.store(o.ecn.load());
    fastopen_qlen.store(o.fastopen_qlen.load());
  }

  // Endpoints, set by the worker before status leaves kConnecting (or for
  // accepted sockets before they are queued).
  std::mutex ends_mu;
  proto::Endpoint local;
  proto::Endpoint remote;
  int shard = -1;

  // A listening socket's accept queue: connections established by any
  // shard's listener, bounded by `backlog` (with the handshakes under way).
  std::mutex accept_mu;
  std::deque<std::shared_ptr<TcpSocketState>> accept_queue;
  int backlog = 0;
};

}  // namespace ringstack::engine

#endif  // RINGSTACK_ENGINE_TCP_SOCKET_H_
