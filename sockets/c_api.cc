#include "sockets/c_api.h"

#include <arpa/inet.h>

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "sockets/api.h"

static_assert(RS_TCP_ECN == ringstack::sockets::kTcpEcn, "c_api.h and api.h name one option");

namespace {

std::atomic<ringstack::sockets::Stack*> g_stack{nullptr};

ringstack::sockets::Stack* StackOrFail() {
  ringstack::sockets::Stack* s = g_stack.load(std::memory_order_acquire);
  if (s == nullptr) errno = ENETDOWN;  // no engine attached
  return s;
}

// sockaddr -> Endpoint; false (EINVAL / EAFNOSUPPORT set) when malformed.
bool ToEndpoint(const sockaddr* a, socklen_t len, ringstack::sockets::Endpoint& out) {
  namespace proto = ringstack::proto;
  if (a == nullptr) {
    errno = EINVAL;
    return false;
  }
  if (a->sa_family == AF_INET && len >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(a);
    out = {proto::IpAddress(proto::Ipv4Address(ntohl(in->sin_addr.s_addr))), ntohs(in->sin_port)};
    return true;
  }
  if (a->sa_family == AF_INET6 && len >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(a);
    out = {proto::IpAddress(proto::Ipv6Address::FromBytes(reinterpret_cast<const std::byte*>(&in6->sin6_addr))),
           ntohs(in6->sin6_port)};
    return true;
  }
  errno = (a->sa_family == AF_INET || a->sa_family == AF_INET6) ? EINVAL : EAFNOSUPPORT;
  return false;
}

void FromEndpoint(const ringstack::sockets::Endpoint& e, sockaddr* a, socklen_t* len) {
  if (a == nullptr || len == nullptr) return;
  sockaddr_storage ss{};
  socklen_t n = 0;
  if (e.addr.is_v6()) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(e.port);
    e.addr.v6().CopyTo(reinterpret_cast<std::byte*>(&in6->sin6_addr));
    n = sizeof(sockaddr_in6);
  } else {
    auto* in = reinterpret_cast<sockaddr_in*>(&ss);
    in->sin_family = AF_INET;
    in->sin_port = htons(e.port);
    in->sin_addr.s_addr = htonl(e.addr.v4().value());
    n = sizeof(sockaddr_in);
  }
  std::memcpy(a, &ss, std::min(n, *len));  // truncated as getsockname(2) does
  *len = n;
}

}  // namespace

void rs_attach(ringstack::sockets::Stack* stack) { g_stack.store(stack, std::memory_order_release); }

extern "C" {

int rs_socket(int domain, int type, int protocol) {
  auto* s = StackOrFail();
  return s == nullptr ? -1 : s->Socket(domain, type, protocol);
}

int rs_setsockopt(int fd, int level, int name, const void* value, socklen_t len) {
  auto* s = StackOrFail();
  if (s == nullptr) return -1;
  if (level == IPPROTO_TCP && name == TCP_CONGESTION) {
    if (value == nullptr || len <= 0) {
      errno = EINVAL;
      return -1;
    }
    const auto* text = static_cast<const char*>(value);
    return s->SetCongestion(fd, std::string_view(text, strnlen(text, static_cast<std::size_t>(len))));
  }
  if (value == nullptr || len < static_cast<socklen_t>(sizeof(int))) {
    errno = EINVAL;
    return -1;
  }
  int v = 0;
  std::memcpy(&v, value, sizeof(v));
  return s->SetSockOpt(fd, level, name, v);
}

int rs_getsockopt(int fd, int level, int name, void* value, socklen_t* len) {
  auto* s = StackOrFail();
  if (s == nullptr) return -1;
  if (level == IPPROTO_TCP && name == TCP_CONGESTION && value != nullptr && len != nullptr && *len > 0) {
    std::string algo;
    if (s->GetCongestion(fd, algo) != 0) return -1;
    // As Linux: the name, NUL-padded to the buffer (TCP_CA_NAME_MAX is 16).
    const auto n = std::min(static_cast<std::size_t>(*len), std::size_t{16});
    std::memset(value, 0, n);
    std::memcpy(value, algo.data(), std::min(algo.size(), n));
    *len = static_cast<socklen_t>(n);
    return 0;
  }
  if (value == nullptr || len == nullptr || *len < static_cast<socklen_t>(sizeof(int))) {
    errno = EINVAL;
    return -1;
  }
  int v = 0;
  if (s->GetSockOpt(fd, level, name, &v) != 0) return -1;
  std::memcpy(value, &v, sizeof(v));
  *len = sizeof(int);
  return 0;
}

int rs_fcntl(int fd, int cmd, int arg) {
  auto* s = StackOrFail();
  if (s == nullptr) return -1;
  if (cmd == F_GETFL) {
    const int on = s->GetNonBlocking(fd);
    return on < 0 ? -1 : (O_RDWR | (on != 0 ? O_NONBLOCK : 0));
  }
  if (cmd == F_SETFL) return s->SetNonBlocking(fd, (arg & O_NONBLOCK) != 0);
  errno = EINVAL;
  return -1;
}

int rs_bind(int fd, const sockaddr* addr, socklen_t len) {
  auto* s = StackOrFail();
  ringstack::sockets::Endpoint e;
  if (s == nullptr || !ToEndpoint(addr, len, e)) return -1;
  return s->Bind(fd, e);
}

int rs_connect(int fd, const sockaddr* addr, socklen_t len) {
  auto* s = StackOrFail();
  ringstack::sockets::Endpoint e;
  if (s == nullptr || !ToEndpoint(addr, len, e)) return -1;
  return s->Connect(fd, e);
}

ssize_t rs_sendto(int fd, const void* buf, size_t len, int flags, const sockaddr* to, socklen_t tolen) {
  auto* s = StackOrFail();
  if (s == nullptr) return -1;
  if ((flags & ~(MSG_NOSIGNAL | MSG_FASTOPEN)) != 0) {
    errno = EOPNOTSUPP;
    return -1;
  }
  const auto data = std::span(static_cast<const std::byte*>(buf), len);
  if (to == nullptr) return s->SendTo(fd, data, nullptr);
  ringstack::sockets::Endpoint e;
  if (!ToEndpoint(to, tolen, e)) return -1;
  // MSG_FASTOPEN: connect and send, the data in the SYN (RFC 7413).
  if ((flags & MSG_FASTOPEN) != 0) return s->SendFastOpen(fd, data, e);
  return s->SendTo(fd, data, &e);
}

ssize_t rs_send(int fd, const void* buf, size_t len, int flags) { return rs_sendto(fd, buf, len, flags, nullptr, 0); }

ssize_t rs_recvfrom(int fd, void* buf, size_t len, int flags, sockaddr* from, socklen_t* fromlen) {
  auto* s = StackOrFail();
  if (s == nullptr) return -1;
  if ((flags & ~(MSG_DONTWAIT | MSG_TRUNC)) != 0) {
    errno = EOPNOTSUPP;
    return -1;
  }
  ringstack::sockets::Endpoint e;
  const ssize_t n = s->RecvFrom(fd, std::span(static_cast<std::byte*>(buf), len), &e, (flags & MSG_DONTWAIT) != 0,
                                (flags & MSG_TRUNC) != 0);
  if (n >= 0) FromEndpoint(e, from, fromlen);
  return n;
}

ssize_t rs_recv(int fd, void* buf, size_t len, int flags) { return rs_recvfrom(fd, buf, len, flags, nullptr, nullptr); }

int rs_shutdown(int fd, int how) {
  auto* s = StackOrFail();
  return s == nullptr ? -1 : s->Shutdown(fd, how);
}

int rs_poll(pollfd* fds, nfds_t n, int timeout_ms) {
  auto* s = StackOrFail();
  if (s == nullptr) return -1;
  std::vector<ringstack::sockets::Stack::PollFd> p(n);
  for (nfds_t i = 0; i < n; ++i) p[i] = {fds[i].fd, fds[i].events, 0};
  const int ready = s->Poll(p, timeout_ms);
  for (nfds_t i = 0; i < n; ++i) fds[i].revents = p[i].revents;
  return ready;
}

int rs_getsockname(int fd, sockaddr* addr, socklen_t* len) {
  auto* s = StackOrFail();
  ringstack::sockets::Endpoint e;
  if (s == nullptr || s->GetSockName(fd, &e) != 0) return -1;
  FromEndpoint(e, addr, len);
  return 0;
}

int rs_getpeername(int fd, sockaddr* addr, socklen_t* len) {
  auto* s = StackOrFail();
  ringstack::sockets::Endpoint e;
  if (s == nullptr || s->GetPeerName(fd, &e) != 0) return -1;
  FromEndpoint(e, addr, len);
  return 0;
}

int rs_close(int fd) {
  auto* s = StackOrFail();
  return s == nullptr ? -1 : s->Close(fd);
}

}  // extern "C"
