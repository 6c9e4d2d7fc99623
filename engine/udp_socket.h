// The engine side of UDP sockets: what an application thread and the worker
// that owns a socket share (sockets/api.h is the application's face of
// it).
//
// Data: each socket has a receive ring (the worker produces, application
// threads consume under `rx_mu`) and a send ring (application threads produce
// under `tx_mu`, the worker consumes), of whole datagrams in pool buffers.
// Control (open, bind, connect, close) goes to the owning worker's
// SocketInbox as a request with a completion the caller waits on. Waiting
// uses C++20 atomic wait/notify on a sequence number bumped after every
// change a waiter could want, so no wake-up is lost. The worker is woken by
// its stage doorbell after a request or a datagram is queued. Payload bytes
// queued each way are counted against SO_RCVBUF / SO_SNDBUF.
#ifndef RINGSTACK_ENGINE_UDP_SOCKET_H_
#define RINGSTACK_ENGINE_UDP_SOCKET_H_

#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

#include "engine/socket_waiter.h"
#include "engine/tcp_socket.h"
#include "protocols/common/endpoint.h"
#include "protocols/udp/udp_bindings.h"
#include "rings/packet_pool.h"
#include "rings/spsc_ring.h"

namespace ringstack::engine {

struct Datagram {
  rings::Packet payload;
  proto::Endpoint peer;  // from (receive) or to (send)
};

// Linux's defaults (net.core.rmem_default / wmem_default), in payload bytes.
inline constexpr std::size_t kDefaultSocketBuffer = 212992;

struct UdpSocketState : SocketWaiter {
  UdpSocketState(std::uint32_t id_, bool v6_, std::size_t depth, bool icmp_echo_ = false)
      : id(id_), v6(v6_), icmp_echo(icmp_echo_), rx(depth), tx(depth) {}

  const std::uint32_t id;
  const bool v6;
  // An ICMP echo socket (SOCK_DGRAM + IPPROTO_ICMP/ICMPV6, as Linux's ping
  // sockets): datagrams are echo messages; the worker sets the identifier
  // (the socket's "port") on the way out and delivers the replies with it.
  const bool icmp_echo;
  std::mutex rx_mu;  // application side of rx (consumers)
  rings::SpscRing<Datagram> rx;
  std::mutex tx_mu;  // application side of tx (producers)
  rings::SpscRing<Datagram> tx;
  std::atomic<int> pending_error{0};  // e.g. ECONNREFUSED after port unreachable
  std::atomic<bool> closed{false};
  std::atomic<std::uint64_t> rx_dropped{0};  // receive ring or SO_RCVBUF full
  // Payload bytes queued each way against SO_RCVBUF / SO_SNDBUF: the worker
  // adds to rx_bytes and the application takes off; the application adds to
  // tx_bytes and the worker takes off.
  std::atomic<std::size_t> rx_bytes{0}, rcvbuf{kDefaultSocketBuffer};
  std::atomic<std::size_t> tx_bytes{0}, sndbuf{kDefaultSocketBuffer};
  // shutdown(SHUT_RD): receive returns 0 once the queue is empty.
  std::atomic<bool> rd_shut{false};
  // Set while the socket sits in its worker's tx_ready ring (or backlog), so
  // it is queued at most once: the ring never holds more than kMaxSockets.
  std::atomic<bool> tx_scheduled{false};

};

// A control call and its answer.
struct SocketRequest {
  // kOpen..kClose: UDP and ICMP echo sockets. kTcpListen / kTcpUnlisten go
  // to every shard; kTcpConnect to the shard that will own the connection.
  enum class Kind { kOpen, kBind, kConnect, kClose, kTcpListen, kTcpUnlisten, kTcpConnect };
  struct Completion {
    std::atomic<std::uint32_t> done{0};
    int result = 0;  // 0 or an errno value, written before `done`
    proto::Endpoint local;
  };
  Kind kind = Kind::kOpen;
  std::shared_ptr<UdpSocketState> socket;
  std::shared_ptr<TcpSocketState> tcp;
  proto::Endpoint endpoint;
  proto::Endpoint bound;  // kTcpConnect: the socket's bound local endpoint (any parts unset)
  bool fastopen = false;  // kTcpConnect: TCP Fast Open; the send ring holds what the SYN may carry
  proto::udp::BindOptions options;
  std::shared_ptr<Completion> completion;
};

inline constexpr std::size_t kMaxSockets = 1024;

// What application threads hand a worker: control requests, and the sockets
// with datagrams to send (each at most once, see tx_scheduled).
struct SocketInbox {
  explicit SocketInbox(std::size_t depth) : requests(depth), tx_ready(kMaxSockets), tcp_ready(kMaxSockets) {}
  std::mutex mu;  // producers (application threads)
  rings::SpscRing<SocketRequest> requests;
  rings::SpscRing<std::shared_ptr<UdpSocketState>> tx_ready;
  // TCP sockets with news for their worker (written, read, shutdown, close).
  rings::SpscRing<std::shared_ptr<TcpSocketState>> tcp_ready;
};

}  // namespace ringstack::engine

#endif  // RINGSTACK_ENGINE_UDP_SOCKET_H_
