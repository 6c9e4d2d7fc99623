// The Berkeley-like socket API (issue #5): UDP and ICMP echo sockets over
// IPv4 and IPv6 (TCP's stream sockets come with issue #6). Calls mirror
// POSIX — -1 and `errno` on failure (EAGAIN, EACCES, EADDRINUSE,
// EADDRNOTAVAIL, EAFNOSUPPORT, EBADF, ECONNREFUSED, EDESTADDRREQ, EINVAL,
// EMSGSIZE, EMFILE, ENOTCONN, ENOPROTOOPT, EOPNOTSUPP, EPIPE) — so code
// ports by renaming calls.
//
// Threads: any number of application threads. A UDP socket lives on the
// worker shard its local port is steered to: bind sends its request there
// (an ephemeral port, for bind to port 0, connect or the first sendto, is
// taken on a shard chosen round robin, among the ports steered to it).
// Control calls (bind, connect, close) are requests to that worker and wait
// for its answer; data goes through the socket's rings (engine/udp_socket.h),
// waking the worker by its doorbell and a blocked caller by an atomic wait
// (the worker wakes a blocked receiver when a datagram comes and a blocked
// sender when it takes datagrams off). With a `pump` (tests on a SimRunner,
// one thread), waiting runs the pump instead of blocking.
#ifndef RINGSTACK_SOCKETS_API_H_
#define RINGSTACK_SOCKETS_API_H_

#include <sys/types.h>

#include <cstddef>
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "engine/engine.h"
#include "engine/udp_socket.h"
#include "protocols/udp/udp_bindings.h"

namespace ringstack::sockets {

using Endpoint = proto::udp::Endpoint;

class Stack {
 public:
  // `pump`, when given, is run while a call waits (a SimRunner's Settle).
  // Close the sockets (or destroy the Stack) before the engine stops: close
  // waits for the socket's worker.
  explicit Stack(engine::Engine& engine, std::function<void()> pump = {});
  ~Stack();
  Stack(const Stack&) = delete;
  Stack& operator=(const Stack&) = delete;

  // AF_INET or AF_INET6; SOCK_DGRAM, optionally | SOCK_NONBLOCK; protocol 0
  // or IPPROTO_UDP, or IPPROTO_ICMP / IPPROTO_ICMPV6 for an ICMP echo socket
  // (Linux's ping sockets: send echo requests, receive the replies to this
  // socket's identifier, which getsockname shows as the port).
  int Socket(int domain, int type, int protocol = 0);
  // SOL_SOCKET: SO_REUSEADDR, SO_BROADCAST (needed to send to a broadcast
  // address: EACCES otherwise), SO_RCVBUF and SO_SNDBUF (payload bytes
  // queued each way; as on Linux the value is doubled, then kept within
  // [2048, 8 MiB]; a datagram past SO_RCVBUF is dropped and counted, a send
  // past SO_SNDBUF blocks or says EAGAIN); IPPROTO_IPV6: IPV6_V6ONLY
  // (before bind, else EINVAL). ENOPROTOOPT for the rest.
  int SetSockOpt(int fd, int level, int name, int value);
  // The options above, and SO_TYPE, SO_ERROR (the pending error, cleared).
  int GetSockOpt(int fd, int level, int name, int* value);
  // fcntl(O_NONBLOCK) alike.
  int SetNonBlocking(int fd, bool on);
  int GetNonBlocking(int fd);
  int Bind(int fd, const Endpoint& local);
  int Connect(int fd, const Endpoint& remote);
  // `to` null: the connected peer (EDESTADDRREQ if none).
  ssize_t SendTo(int fd, std::span<const std::byte> data, const Endpoint* to);
  ssize_t Send(int fd, std::span<const std::byte> data) { return SendTo(fd, data, nullptr); }
  // Copies one datagram (truncated to `out`; the rest is discarded) and
  // returns the length copied, or with `full_length` (MSG_TRUNC) the
  // datagram's whole length. `dontwait`: EAGAIN when empty.
  ssize_t RecvFrom(int fd, std::span<std::byte> out, Endpoint* from, bool dontwait = false,
                   bool full_length = false);
  ssize_t Recv(int fd, std::span<std::byte> out, bool dontwait = false) { return RecvFrom(fd, out, nullptr, dontwait); }
  // shutdown(2) on a connected datagram socket (ENOTCONN otherwise):
  // SHUT_RD — receive returns 0 once the queue is empty (blocked receivers
  // wake); SHUT_WR — send says EPIPE; SHUT_RDWR both.
  int Shutdown(int fd, int how);
  // Stream calls: EOPNOTSUPP on datagram sockets (TCP brings them).
  int Listen(int fd, int backlog);
  int Accept(int fd, Endpoint* peer);
  // poll(2) over ringstack sockets: POLLIN (a datagram, an error or the
  // socket closed), POLLOUT (room in the send ring and under SO_SNDBUF),
  // POLLERR (a pending error);
  // `timeout_ms` < 0 waits for ever. Returns how many entries have revents.
  struct PollFd {
    int fd;
    short events;
    short revents;
  };
  int Poll(std::span<PollFd> fds, int timeout_ms);
  // An eventfd that is readable whenever the socket may have news, for an
  // application's own epoll: after it fires, drain it (read 8 bytes) and
  // call RecvFrom with dontwait until EAGAIN. -1 (EBADF) for a bad fd.
  int EventFd(int fd);
  int GetSockName(int fd, Endpoint* out);
  int GetPeerName(int fd, Endpoint* out);
  int Close(int fd);

 private:
  struct Entry {
    std::shared_ptr<engine::UdpSocketState> state;
    std::atomic<bool> nonblocking{false};
    std::atomic<bool> wr_shut{false};
    std::mutex bind_mu;  // one bind or connect at a time (held across the worker's answer)
    std::mutex mu;  // the fields below: several threads may use one socket
    proto::udp::BindOptions options;
    bool broadcast = false;
    std::optional<Endpoint> local;
    std::optional<Endpoint> peer;
    int shard = -1;  // the worker that owns it, once bound (ICMP echo: 0)
  };
  // The entry for `fd`, or null (errno EBADF).
  std::shared_ptr<Entry> Get(int fd);
  // Posts a request to `shard` and waits for its answer.
  int Call(engine::SocketRequest::Kind kind, int shard, const std::shared_ptr<Entry>& e, const Endpoint& endpoint,
           const proto::udp::BindOptions& options, Endpoint* local_out);
  void WakeWorker(int shard);
  // The shard for a socket binding `port` (0: the next in turn).
  int ShardFor(std::uint16_t port);
  // Sleeps until `seq` moves from `seen` (or runs the pump once).
  void WaitFor(const std::atomic<std::uint32_t>& seq, std::uint32_t seen);
  int Fail(int error);

  engine::Engine& engine_;
  std::function<void()> pump_;
  std::mutex mu_;  // the table
  std::vector<std::shared_ptr<Entry>> fds_;
  std::uint32_t next_id_ = 1;
  std::atomic<std::uint32_t> next_shard_{0};
};

}  // namespace ringstack::sockets

#endif  // RINGSTACK_SOCKETS_API_H_
