#include "sockets/services.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "absl/strings/str_cat.h"

namespace ringstack::sockets {
namespace {

struct Known {
  const char* name;
  std::uint16_t port;
};
constexpr Known kServices[] = {{"echo", 7}, {"discard", 9}, {"daytime", 13}, {"chargen", 19}};

}  // namespace

std::string Services::Chargen(std::size_t line, std::size_t len) {
  std::string out;
  out.reserve(len);
  while (out.size() < len) {
    for (std::size_t i = 0; i < 72 && out.size() < len; ++i) out.push_back(static_cast<char>(' ' + (line + i) % 95));
    if (out.size() < len) out.push_back('\r');
    if (out.size() < len) out.push_back('\n');
    ++line;
  }
  return out;
}

std::string Services::Daytime() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[64];
  std::strftime(buf, sizeof(buf), "%a %b %e %H:%M:%S %Y\r\n", &tm);
  return buf;
}

absl::Status Services::Start(const std::vector<std::string>& names, bool ipv6) {
  for (const std::string& name : names) {
    if (name == "iperf3") {
      if (iperf3_) continue;
      iperf3_ = std::make_unique<Iperf3Server>(stack_, stack_.engine().clock(), [](const std::string& line) {
        std::fprintf(stderr, "ringstack: %s\n", line.c_str());
      });
      if (absl::Status s = iperf3_->Open(ipv6); !s.ok()) {
        iperf3_.reset();
        return s;
      }
      iperf3_thread_ = std::thread([this] { iperf3_->Run(iperf3_stop_); });
      continue;
    }
    const Known* k = nullptr;
    for (const Known& s : kServices) {
      if (name == s.name) k = &s;
    }
    if (k == nullptr) return absl::InvalidArgumentError(absl::StrCat("unknown service '", name, "'"));
    for (const int domain : {AF_INET, AF_INET6}) {
      if (domain == AF_INET6 && !ipv6) continue;
      // TCP: a listener and its accepting thread.
      const int l = stack_.Socket(domain, SOCK_STREAM);
      if (l < 0) return absl::InternalError(absl::StrCat(name, ": socket: ", std::strerror(errno)));
      if (domain == AF_INET6) stack_.SetSockOpt(l, IPPROTO_IPV6, IPV6_V6ONLY, 1);
      const Endpoint tcp_any{domain == AF_INET6 ? proto::IpAddress(proto::Ipv6Address())
                                                : proto::IpAddress(proto::Ipv4Address()),
                             k->port};
      if (stack_.Bind(l, tcp_any) != 0 || stack_.Listen(l, 128) != 0) {
        const int err = errno;
        stack_.Close(l);
        return absl::FailedPreconditionError(
            absl::StrCat(name, ": cannot listen on TCP port ", k->port, ": ", std::strerror(err)));
      }
      fds_.push_back(l);
      threads_.emplace_back([this, l, name] { Accept(l, name); });
      const int fd = stack_.Socket(domain, SOCK_DGRAM);
      if (fd < 0) return absl::InternalError(absl::StrCat(name, ": socket: ", std::strerror(errno)));
      if (domain == AF_INET6) stack_.SetSockOpt(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1);
      const Endpoint any{domain == AF_INET6 ? proto::IpAddress(proto::Ipv6Address())
                                            : proto::IpAddress(proto::Ipv4Address()),
                         k->port};
      if (stack_.Bind(fd, any) != 0) {
        const int err = errno;
        stack_.Close(fd);
        return absl::FailedPreconditionError(
            absl::StrCat(name, ": cannot bind UDP port ", k->port, ": ", std::strerror(err)));
      }
      fds_.push_back(fd);
      threads_.emplace_back([this, fd, name] { Serve(fd, name); });
    }
  }
  return absl::OkStatus();
}

void Services::Serve(int fd, std::string name) {
  std::vector<std::byte> buf(65536);
  std::size_t line = 0;
  for (;;) {
    Endpoint from;
    const ssize_t n = stack_.RecvFrom(fd, buf, &from);
    if (n < 0) {
      if (errno == EBADF) return;  // closed by Stop()
      continue;                    // e.g. ECONNREFUSED from an earlier reply
    }
    if (name == "echo") {
      stack_.SendTo(fd, std::span<const std::byte>(buf.data(), static_cast<std::size_t>(n)), &from);
    } else if (name == "daytime") {
      const std::string text = Daytime();
      stack_.SendTo(fd, std::as_bytes(std::span(text)), &from);
    } else if (name == "chargen") {
      // RFC 864: a datagram of a random number (0 to 512) of characters;
      // the length here follows the request's, so a test can predict it.
      const std::string text = Chargen(line++, static_cast<std::size_t>(n) % 513);
      stack_.SendTo(fd, std::as_bytes(std::span(text)), &from);
    }
    // discard: nothing.
  }
}

void Services::Accept(int listener, std::string name) {
  for (;;) {
    const int fd = stack_.Accept(listener, nullptr);
    if (fd < 0) {
      if (errno == EBADF || errno == EINVAL) return;  // closed by Stop()
      continue;
    }
    std::lock_guard lock(mu_);
    if (stopping_ || static_cast<int>(connections_.size()) >= kMaxConnections) {
      stack_.Close(fd);
      continue;
    }
    for (auto it = connection_threads_.begin(); it != connection_threads_.end();) {
      if (it->done.load(std::memory_order_acquire)) {
        it->thread.join();
        it = connection_threads_.erase(it);
      } else {
        ++it;
      }
    }
    connections_.push_back(fd);
    Connection& c = connection_threads_.emplace_back();
    c.thread = std::thread([this, fd, name, &c] {
      ServeConnection(fd, name);
      c.done.store(true, std::memory_order_release);
    });
  }
}

// One TCP connection: echo returns what it reads, discard reads, daytime
// writes the time and closes, chargen writes lines until the peer goes.
void Services::ServeConnection(int fd, std::string name) {
  std::vector<std::byte> buf(16384);
  if (name == "daytime") {
    // The time, our FIN, then whatever the client sent read to its FIN: a
    // close with unread data would reset the connection (and a reset may
    // overtake the time at the client).
    const std::string text = Daytime();
    stack_.Send(fd, std::as_bytes(std::span(text)));
    stack_.Shutdown(fd, SHUT_WR);
    while (stack_.Recv(fd, buf) > 0) {
    }
  } else if (name == "chargen") {
    std::size_t line = 0;
    for (;;) {
      const std::string text = Chargen(line, 74 * 64);  // 64 lines at a time
      line += 64;
      if (stack_.Send(fd, std::as_bytes(std::span(text))) < 0) break;  // the peer closed (EPIPE, ECONNRESET)
    }
  } else {
    for (;;) {
      const ssize_t n = stack_.Recv(fd, buf);
      if (n <= 0) break;  // EOF, reset or shut down by Stop()
      if (name == "echo" && stack_.Send(fd, std::span<const std::byte>(buf.data(), static_cast<std::size_t>(n))) < 0) {
        break;
      }
    }
  }
  std::lock_guard lock(mu_);
  std::erase(connections_, fd);
  stack_.Close(fd);
}

void Services::Stop() {
  if (iperf3_thread_.joinable()) {
    iperf3_stop_.store(true, std::memory_order_release);
    iperf3_thread_.join();
  }
  if (iperf3_) iperf3_->Close();
  iperf3_.reset();
  for (const int fd : fds_) stack_.Close(fd);
  for (std::thread& t : threads_) t.join();
  fds_.clear();
  threads_.clear();
  std::list<Connection> connection_threads;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    for (const int fd : connections_) stack_.Shutdown(fd, SHUT_RDWR);  // wakes their threads
    connection_threads.swap(connection_threads_);
  }
  for (Connection& c : connection_threads) c.thread.join();
}

}  // namespace ringstack::sockets
