// The Berkeley-like socket API (issue #5), first slice: UDP over IPv4 and
// IPv6. Calls mirror POSIX — -1 and `errno` on failure (EAGAIN, EADDRINUSE,
// EADDRNOTAVAIL, EAFNOSUPPORT, EBADF, ECONNREFUSED, EDESTADDRREQ, EINVAL,
// EMSGSIZE, EMFILE) — so code ports by renaming calls.
//
// Threads: any number of application threads. Control calls (bind, connect,
// close) are requests to the socket's worker and wait for its answer; data
// goes through the socket's rings (engine/udp_socket.h), waking the worker by
// its doorbell and a blocked receiver by an atomic wait. With a `pump` (tests
// on a SimRunner, one thread), waiting runs the pump instead of blocking.
//
// Not yet (issue #5 continues): TCP's listen/accept, socket options beyond
// SO_REUSEADDR and IPV6_V6ONLY, and sockets on shards other than the control
// shard.
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
  explicit Stack(engine::Engine& engine, std::function<void()> pump = {});
  ~Stack();
  Stack(const Stack&) = delete;
  Stack& operator=(const Stack&) = delete;

  // AF_INET or AF_INET6; SOCK_DGRAM, optionally | SOCK_NONBLOCK; protocol 0
  // or IPPROTO_UDP, or IPPROTO_ICMP / IPPROTO_ICMPV6 for an ICMP echo socket
  // (Linux's ping sockets: send echo requests, receive the replies to this
  // socket's identifier, which getsockname shows as the port).
  int Socket(int domain, int type, int protocol = 0);
  // SOL_SOCKET/SO_REUSEADDR and IPPROTO_IPV6/IPV6_V6ONLY, before bind.
  int SetSockOpt(int fd, int level, int name, int value);
  int SetNonBlocking(int fd, bool on);
  int Bind(int fd, const Endpoint& local);
  int Connect(int fd, const Endpoint& remote);
  // `to` null: the connected peer (EDESTADDRREQ if none).
  ssize_t SendTo(int fd, std::span<const std::byte> data, const Endpoint* to);
  ssize_t Send(int fd, std::span<const std::byte> data) { return SendTo(fd, data, nullptr); }
  // Copies one datagram (truncated to `out`, as recvfrom does without
  // MSG_TRUNC) and returns its length copied. `dontwait`: EAGAIN when empty.
  ssize_t RecvFrom(int fd, std::span<std::byte> out, Endpoint* from, bool dontwait = false);
  // poll(2) over ringstack sockets: POLLIN (a datagram, an error or the
  // socket closed), POLLOUT (room to send), POLLERR (a pending error);
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
    std::mutex mu;  // the fields below: several threads may use one socket
    proto::udp::BindOptions options;
    std::optional<Endpoint> local;
    std::optional<Endpoint> peer;
  };
  // The entry for `fd`, or null (errno EBADF).
  std::shared_ptr<Entry> Get(int fd);
  // Posts a request to the control shard and waits for its answer.
  int Call(engine::SocketRequest::Kind kind, const std::shared_ptr<Entry>& e, const Endpoint& endpoint,
           const proto::udp::BindOptions& options, Endpoint* local_out);
  void WakeWorker();
  int Fail(int error);

  engine::Engine& engine_;
  std::function<void()> pump_;
  std::mutex mu_;  // the table
  std::vector<std::shared_ptr<Entry>> fds_;
  std::uint32_t next_id_ = 1;
};

}  // namespace ringstack::sockets

#endif  // RINGSTACK_SOCKETS_API_H_
