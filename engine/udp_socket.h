// The engine side of UDP sockets: what an application thread and the worker
// that owns a socket share (issue #5; sockets/api.h is the application's
// face of it).
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

#include "protocols/udp/udp_bindings.h"
#include "rings/packet_pool.h"
#include "rings/spsc_ring.h"

namespace ringstack::engine {

struct Datagram {
  rings::Packet payload;
  proto::udp::Endpoint peer;  // from (receive) or to (send)
};

// Linux's defaults (net.core.rmem_default / wmem_default), in payload bytes.
inline constexpr std::size_t kDefaultSocketBuffer = 212992;

struct UdpSocketState {
  UdpSocketState(std::uint32_t id_, bool v6_, std::size_t depth, bool icmp_echo_ = false)
      : id(id_),
        v6(v6_),
        icmp_echo(icmp_echo_),
        rx(depth),
        tx(depth),
        event_fd(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}
  ~UdpSocketState() {
    if (event_fd >= 0) close(event_fd);
  }
  UdpSocketState(const UdpSocketState&) = delete;
  UdpSocketState& operator=(const UdpSocketState&) = delete;

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
  // Bumped (and notified) after a datagram arrives, an error is set or the
  // socket closes: what a blocked receiver waits on.
  std::atomic<std::uint32_t> seq{0};
  std::atomic<int> pending_error{0};  // e.g. ECONNREFUSED after port unreachable
  std::atomic<bool> closed{false};
  std::atomic<std::uint64_t> rx_dropped{0};  // receive ring or SO_RCVBUF full
  // Payload bytes queued each way against SO_RCVBUF / SO_SNDBUF: the worker
  // adds to rx_bytes and the application takes off; the application adds to
  // tx_bytes and the worker takes off.
  std::atomic<std::size_t> rx_bytes{0}, rcvbuf{kDefaultSocketBuffer};
  std::atomic<std::size_t> tx_bytes{0}, sndbuf{kDefaultSocketBuffer};
  // Application threads waiting for send room (a blocked sendto, a poll for
  // POLLOUT): the worker wakes them after it takes datagrams off.
  std::atomic<int> tx_waiters{0};
  // shutdown(SHUT_RD): receive returns 0 once the queue is empty.
  std::atomic<bool> rd_shut{false};
  // Set while the socket sits in its worker's tx_ready ring (or backlog), so
  // it is queued at most once: the ring never holds more than kMaxSockets.
  std::atomic<bool> tx_scheduled{false};

  // Readable for poll()/epoll while something is ready; written only while
  // a poller says it waits (`pollers`), so delivery costs no syscall
  // otherwise. -1 if the kernel refused one (then poll() falls back to
  // sleeping in short steps).
  const int event_fd;
  std::atomic<int> pollers{0};
  // Set once an application took the eventfd for its own epoll: from then on
  // every change writes it.
  std::atomic<bool> event_subscribed{false};

  // After the worker pushed onto `rx`: wakes only when the ring went from
  // empty to non-empty. Receivers drain until EAGAIN before they wait, so a
  // datagram pushed behind others is found without a wake-up of its own.
  void WakeIfFirst() {
    if (rx.SizeApprox() <= 1) Wake();
  }
  void Wake() {
    seq.fetch_add(1, std::memory_order_seq_cst);
    seq.notify_all();
    if ((pollers.load(std::memory_order_seq_cst) > 0 || event_subscribed.load(std::memory_order_relaxed)) &&
        event_fd >= 0) {
      const std::uint64_t one = 1;
      [[maybe_unused]] const ssize_t n = write(event_fd, &one, sizeof(one));
    }
  }
};

// A control call and its answer.
struct SocketRequest {
  enum class Kind { kOpen, kBind, kConnect, kClose };
  struct Completion {
    std::atomic<std::uint32_t> done{0};
    int result = 0;  // 0 or an errno value, written before `done`
    proto::udp::Endpoint local;
  };
  Kind kind = Kind::kOpen;
  std::shared_ptr<UdpSocketState> socket;
  proto::udp::Endpoint endpoint;
  proto::udp::BindOptions options;
  std::shared_ptr<Completion> completion;
};

inline constexpr std::size_t kMaxSockets = 1024;

// What application threads hand a worker: control requests, and the sockets
// with datagrams to send (each at most once, see tx_scheduled).
struct SocketInbox {
  explicit SocketInbox(std::size_t depth) : requests(depth), tx_ready(kMaxSockets) {}
  std::mutex mu;  // producers (application threads)
  rings::SpscRing<SocketRequest> requests;
  rings::SpscRing<std::shared_ptr<UdpSocketState>> tx_ready;
};

}  // namespace ringstack::engine

#endif  // RINGSTACK_ENGINE_UDP_SOCKET_H_
