// TcpLayer::Session: one TCP connection on its shard — the protocols/tcp
// connection, the socket it serves (payload from its send ring into
// segments, from segments into its receive ring) and what the layer has
// carried out for it. The behaviour is in tcp_layer.cc.
#ifndef RINGSTACK_ENGINE_TCP_SESSION_H_
#define RINGSTACK_ENGINE_TCP_SESSION_H_

#include <cstdio>
#include <memory>

#include "engine/tcp_layer.h"
#include "engine/deadline.h"

namespace ringstack::engine {

struct TcpLayer::Session {
  Session(TcpLayer& layer_, const FlowKey& key_, std::uint32_t id_, std::shared_ptr<TcpSocketState> socket_)
      : layer(layer_),
        key(key_),
        id(id_),
        socket(std::move(socket_)),
        deadline(layer_.ctx_.wheel, TimerCookie(TimerLayer::kTcp, id_)) {}
  ~Session() {
    if (trace != nullptr) std::fclose(trace);
  }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  TcpLayer& layer;
  const FlowKey key;
  const std::uint32_t id;
  std::shared_ptr<TcpSocketState> socket;
  std::shared_ptr<TcpSocketState> listener;  // a passive open still in its handshake
  bool fastopen_child = false;                // ... already in the accept queue (RFC 7413 data taken)
  std::unique_ptr<proto::tcp::TcpConnection> conn;
  std::uint64_t seen_written = 0;
  std::uint64_t seen_consumed = 0;
  bool shutdown_done = false;
  bool close_done = false;
  Deadline deadline;  // follows the connection's NextDeadline
  int congestion = 0;                  // the socket's TCP_CONGESTION as last applied
  proto::tcp::TcpStats seen_stats;     // what the counters have of this connection's stats
  std::FILE* trace = nullptr;          // --tcp-trace: this connection's CSV
  Instant trace_start;
  std::uint32_t trace_cwnd = 0, trace_pipe = 0, trace_una = 0;  // the last row's, to skip repeats
};

}  // namespace ringstack::engine

#endif  // RINGSTACK_ENGINE_TCP_SESSION_H_
