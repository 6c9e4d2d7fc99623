// The Berkeley-like socket API: UDP and ICMP echo sockets and TCP stream
// sockets over IPv4 and IPv6. Calls mirror
// POSIX — -1 and `errno` on failure (EAGAIN, EACCES, EADDRINUSE,
// EADDRNOTAVAIL, EAFNOSUPPORT, EALREADY, EBADF, ECONNREFUSED, ECONNRESET,
// EDESTADDRREQ, EINPROGRESS, EINVAL, EISCONN, EMSGSIZE, EMFILE, ENOTCONN,
// ENOPROTOOPT, EOPNOTSUPP, EPIPE, ETIMEDOUT) — so code ports by renaming
// calls.
//
// TCP: a connection lives on the shard its 4-tuple is steered to (connect
// picks a shard in turn and the worker an ephemeral port that steers
// there); listen installs the listener on every shard, and connections
// established on any of them queue on the listening socket for accept.
// Data goes through the socket's two byte rings (engine/tcp_socket.h);
// send and recv copy once, block (or EAGAIN) on full/empty rings, and
// schedule the socket with its worker (the doorbell only when it was not
// already scheduled).
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
#include <string>
#include <vector>

#include "engine/engine.h"
#include "engine/udp_socket.h"
#include "protocols/udp/udp_bindings.h"

namespace ringstack::sockets {

// ringstack's own IPPROTO_TCP option (Linux sets ECN per host only, with
// net.ipv4.tcp_ecn): this connection's ECN, in that sysctl's numbers — 0
// off, 1 on (our SYN asks for RFC 3168's), 2 passive (agreed when the peer
// asks), 3 Accurate ECN (RFC 9768, asked and agreed; RFC 3168's when that
// is what the peer speaks) — instead of the engine's --tcp-ecn. Linux uses
// no option number this high.
inline constexpr int kTcpEcn = 0x5201;  // RS_TCP_ECN in c_api.h

using Endpoint = proto::Endpoint;

class Stack {
 public:
  // `pump`, when given, is run while a call waits (a SimRunner's Settle).
  // Close the sockets (or destroy the Stack) before the engine stops: close
  // waits for the socket's worker.
  explicit Stack(engine::Engine& engine, std::function<void()> pump = {});
  ~Stack();
  Stack(const Stack&) = delete;
  Stack& operator=(const Stack&) = delete;
  engine::Engine& engine() { return engine_; }

  // AF_INET or AF_INET6; SOCK_STREAM (protocol 0 or IPPROTO_TCP), or
  // SOCK_DGRAM, optionally | SOCK_NONBLOCK; protocol 0
  // or IPPROTO_UDP, or IPPROTO_ICMP / IPPROTO_ICMPV6 for an ICMP echo socket
  // (Linux's ping sockets: send echo requests, receive the replies to this
  // socket's identifier, which getsockname shows as the port).
  int Socket(int domain, int type, int protocol = 0);
  // SOL_SOCKET: SO_REUSEADDR, SO_BROADCAST (needed to send to a broadcast
  // address: EACCES otherwise), SO_RCVBUF and SO_SNDBUF (payload bytes
  // queued each way; as on Linux the value is doubled, then kept within
  // [2048, 8 MiB]; a datagram past SO_RCVBUF is dropped and counted, a send
  // past SO_SNDBUF blocks or says EAGAIN); IPPROTO_IPV6: IPV6_V6ONLY
  // (before bind, else EINVAL). TCP also: IPPROTO_TCP/TCP_NODELAY,
  // SO_KEEPALIVE with TCP_KEEPIDLE / TCP_KEEPINTVL / TCP_KEEPCNT (seconds,
  // count), SO_RCVBUF / SO_SNDBUF sizing the byte rings (before connect or
  // listen), kTcpEcn (above; before connect or listen), TCP_FASTOPEN (a
  // listener's queue of fast-opened handshakes: 0 takes no Fast Open; by
  // default its backlog, when --tcp-fastopen allows servers),
  // TCP_FASTOPEN_CONNECT (before connect: connect returns 0 at once and
  // the SYN goes with the first send, carrying its data, or the first
  // recv). ENOPROTOOPT for the rest.
  int SetSockOpt(int fd, int level, int name, int value);
  // The options above, and SO_TYPE, SO_ERROR (the pending error, cleared).
  int GetSockOpt(int fd, int level, int name, int* value);
  // TCP_CONGESTION by name ("cubic", "newreno", "reno"): ENOENT for an
  // unknown one (as Linux); a connection switches at once, keeping cwnd and
  // ssthresh; accepted connections take their listener's.
  int SetCongestion(int fd, std::string_view name);
  // The algorithm a TCP socket uses (its own choice or the engine's --tcp-cc).
  int GetCongestion(int fd, std::string& name);
  // fcntl(O_NONBLOCK) alike.
  int SetNonBlocking(int fd, bool on);
  int GetNonBlocking(int fd);
  int Bind(int fd, const Endpoint& local);
  int Connect(int fd, const Endpoint& remote);
  // `to` null: the connected peer (EDESTADDRREQ if none).
  ssize_t SendTo(int fd, std::span<const std::byte> data, const Endpoint* to);
  // sendto(MSG_FASTOPEN) on an unconnected TCP socket (RFC 7413): connects
  // to `to` with `data` queued first, so the SYN carries it when the
  // engine's cookie cache holds a cookie for the server (else the SYN asks
  // for one and the data follows the handshake). Blocking: returns once
  // connected and all is queued (or the connect's error); non-blocking:
  // the bytes queued. EOPNOTSUPP when --tcp-fastopen allows no client,
  // EISCONN / EALREADY on a connected or connecting socket; a datagram
  // socket sends as SendTo.
  ssize_t SendFastOpen(int fd, std::span<const std::byte> data, const Endpoint& to);
  ssize_t Send(int fd, std::span<const std::byte> data) { return SendTo(fd, data, nullptr); }
  // Copies one datagram (truncated to `out`; the rest is discarded) and
  // returns the length copied, or with `full_length` (MSG_TRUNC) the
  // datagram's whole length. `dontwait`: EAGAIN when empty.
  ssize_t RecvFrom(int fd, std::span<std::byte> out, Endpoint* from, bool dontwait = false,
                   bool full_length = false);
  ssize_t Recv(int fd, std::span<std::byte> out, bool dontwait = false) { return RecvFrom(fd, out, nullptr, dontwait); }
  // shutdown(2) on a connected socket (ENOTCONN otherwise): SHUT_RD —
  // receive returns 0 once the queue is empty (blocked receivers wake);
  // SHUT_WR — send says EPIPE (TCP: a FIN follows the queued data);
  // SHUT_RDWR both.
  int Shutdown(int fd, int how);
  // TCP: listen (an unbound socket gets an ephemeral port; backlog capped
  // at 4096) and accept (the peer's address in `peer` if not null; EAGAIN
  // when non-blocking and none is queued). EOPNOTSUPP on datagram sockets.
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
  // TCP_INFO alike: a connected stream socket's state, windows, cwnd, srtt,
  // retransmits (asked of the worker that owns it; ENOTCONN when there is
  // no connection, EOPNOTSUPP on datagram sockets).
  struct TcpInfo {
    Endpoint local, remote;
    std::string state;  // RFC 9293's name: "ESTABLISHED", "FIN-WAIT-1", ...
    std::uint32_t snd_una = 0, snd_nxt = 0, rcv_nxt = 0;
    std::uint64_t snd_wnd = 0, rcv_wnd = 0;  // bytes
    std::uint64_t cwnd = 0, ssthresh = 0, in_flight = 0;  // bytes
    std::uint64_t unsent = 0, unread = 0;  // bytes queued each way
    std::uint64_t srtt_us = 0, rto_ms = 0, retransmits = 0, mss = 0;
    std::string congestion;  // "cubic", "newreno", ...
    std::string recovery;    // the loss recovery phase
  };
  int GetTcpInfo(int fd, TcpInfo* out);
  int GetSockName(int fd, Endpoint* out);
  int GetPeerName(int fd, Endpoint* out);
  int Close(int fd);

 private:
  struct Entry {
    std::shared_ptr<engine::UdpSocketState> state;   // datagram sockets
    std::shared_ptr<engine::TcpSocketState> tcp;     // stream sockets
    engine::SocketWaiter& waiter() { return tcp ? static_cast<engine::SocketWaiter&>(*tcp) : *state; }
    std::atomic<bool> rd_shut{false};  // TCP shutdown(SHUT_RD)
    std::atomic<bool> nonblocking{false};
    std::atomic<bool> wr_shut{false};
    std::mutex bind_mu;  // one bind or connect at a time (held across the worker's answer)
    std::mutex mu;  // the fields below: several threads may use one socket
    proto::udp::BindOptions options;
    bool broadcast = false;
    std::optional<Endpoint> local;
    std::optional<Endpoint> peer;
    bool fastopen_connect = false;        // TCP_FASTOPEN_CONNECT
    std::optional<Endpoint> fastopen_peer;  // ... its connect, until the first send or recv
    std::atomic<bool> fastopen_deferred{false};  // fastopen_peer is set (read without `mu`)
    int shard = -1;  // the worker that owns it, once bound (ICMP echo: 0)
  };
  // The entry for `fd`, or null (errno EBADF).
  std::shared_ptr<Entry> Get(int fd);
  // Posts a request to `shard` and waits for its answer.
  int Post(int shard, engine::SocketRequest r, Endpoint* local_out);
  int Call(engine::SocketRequest::Kind kind, int shard, const std::shared_ptr<Entry>& e, const Endpoint& endpoint,
           const proto::udp::BindOptions& options, Endpoint* local_out);
  // A new descriptor for `e` (EMFILE past kMaxSockets).
  int AddEntry(std::shared_ptr<Entry> e);
  // TCP (stream.cc).
  int StreamSetOpt(Entry& e, int level, int name, int value);
  int StreamGetOpt(Entry& e, int level, int name, int* value);
  int StreamBind(Entry& e, const Endpoint& local);
  int StreamListen(const std::shared_ptr<Entry>& e, int backlog);
  int StreamAccept(const std::shared_ptr<Entry>& e, Endpoint* peer);
  int StreamConnect(const std::shared_ptr<Entry>& e, const Endpoint& remote);
  // The connect request to the owning worker (0 or an errno value), and
  // the wait for its handshake (0, or -1 and errno).
  int StreamPostConnect(const std::shared_ptr<Entry>& e, const Endpoint& remote, bool fastopen);
  int StreamWaitConnected(const std::shared_ptr<Entry>& e);
  // TCP Fast Open (stream.cc).
  bool FastOpenClient() const;
  ssize_t FastOpen(const std::shared_ptr<Entry>& e, std::span<const std::byte> data, const Endpoint& remote);
  std::optional<Endpoint> TakeFastOpenPeer(Entry& e);
  ssize_t StreamSend(const std::shared_ptr<Entry>& e, std::span<const std::byte> data);
  ssize_t StreamRecv(const std::shared_ptr<Entry>& e, std::span<std::byte> out, bool dontwait);
  int StreamShutdown(Entry& e, int how);
  void StreamClose(const std::shared_ptr<Entry>& e);
  short StreamReady(Entry& e, short events);
  // Puts the socket on its worker's ready ring (the doorbell only if it was
  // not there already).
  void ScheduleTcp(const std::shared_ptr<engine::TcpSocketState>& s);
  void WakeWorker(int shard);
  // The shard for a socket binding `port` (0: the next in turn).
  int ShardFor(std::uint16_t port);
  bool IsBroadcast(proto::Ipv4Address a);
  int WaitForSendRoom(engine::UdpSocketState& s, bool nonblocking);
  ssize_t QueueDatagram(const std::shared_ptr<engine::UdpSocketState>& state, int shard,
                        std::span<const std::byte> data, const Endpoint& to, bool nonblocking);
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
