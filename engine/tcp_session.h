// TcpLayer::Session: one TCP connection on its shard — the protocols/tcp
// connection, the socket it serves and the sink between them (payload from
// the socket's send ring into segments, from segments into its receive
// ring). The behaviour is in tcp_layer.cc.
#ifndef RINGSTACK_ENGINE_TCP_SESSION_H_
#define RINGSTACK_ENGINE_TCP_SESSION_H_

#include <cstdio>
#include <cstring>
#include <memory>

#include "engine/tcp_layer.h"
#include "engine/timer_wheel.h"

namespace ringstack::engine {

struct TcpLayer::Session final : proto::tcp::TcpSink {
  Session(TcpLayer& layer_, const FlowKey& key_, std::uint32_t id_, std::shared_ptr<TcpSocketState> socket_)
      : layer(layer_), key(key_), id(id_), socket(std::move(socket_)) {}
  ~Session() override {
    if (trace != nullptr) std::fclose(trace);
  }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void Transmit(const proto::tcp::TcpRepr& h, std::uint32_t offset, std::uint32_t len) override {
    layer.Send(h, key, &socket->send, offset, len);
  }
  void Place(std::uint32_t offset, proto::Bytes data) override {
    // Into the receive ring's free space, `offset` past its write position.
    const auto spans = socket->recv.WritableSpans();
    if (offset + data.size() > spans.size()) return;  // past the window: cannot happen
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
  void Commit(std::uint32_t n) override {
    socket->recv.CommitWrite(n);
    layer.DeferWake(socket, /*readers=*/true);
  }
  void Release(std::uint32_t n) override {
    socket->send.CommitRead(n);
    layer.DeferWake(socket, /*readers=*/false);
  }
  void Event(proto::tcp::TcpEvent e) override { layer.OnEvent(*this, e); }

  TcpLayer& layer;
  const FlowKey key;
  const std::uint32_t id;
  std::shared_ptr<TcpSocketState> socket;
  std::shared_ptr<TcpSocketState> listener;  // a passive open not yet in its accept queue
  std::unique_ptr<proto::tcp::TcpConnection> conn;
  std::uint64_t seen_written = 0;
  std::uint64_t seen_consumed = 0;
  bool shutdown_done = false;
  bool close_done = false;
  bool closed = false;
  TimerWheel::TimerId timer;
  Instant timer_at = Instant::Never();
  int congestion = 0;                  // the socket's TCP_CONGESTION as last applied
  proto::tcp::TcpStats seen_stats;     // what the counters have of this connection's stats
  std::FILE* trace = nullptr;          // --tcp-trace: this connection's CSV
  Instant trace_start;
  std::uint32_t trace_cwnd = 0, trace_pipe = 0, trace_una = 0;  // the last row's, to skip repeats
};

}  // namespace ringstack::engine

#endif  // RINGSTACK_ENGINE_TCP_SESSION_H_
