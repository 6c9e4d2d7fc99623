#include "sockets/clients.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <thread>
#include <vector>

namespace ringstack::sockets {
namespace {

// A connected socket, retrying refusals and unreachability (an address
// still in ACD or DAD) until the deadline; -1 with `error` set otherwise.
int ConnectBy(Stack& stack, const Endpoint& server, std::chrono::steady_clock::time_point until,
              std::string& error) {
  for (;;) {
    const int fd = stack.Socket(server.addr.is_v6() ? AF_INET6 : AF_INET, SOCK_STREAM);
    if (fd < 0) {
      error = std::string("socket: ") + std::strerror(errno);
      return -1;
    }
    if (stack.Connect(fd, server) == 0) return fd;
    const int err = errno;
    stack.Close(fd);
    const bool retry = err == ENETUNREACH || err == ECONNREFUSED || err == ETIMEDOUT || err == EADDRNOTAVAIL;
    if (!retry || std::chrono::steady_clock::now() >= until) {
      error = std::string("connect: ") + std::strerror(err);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

// The byte at `i` of the stream the echo client sends (an LCG, so both
// directions can be checked without keeping a copy).
std::byte PatternByte(std::uint64_t i) {
  return static_cast<std::byte>((i * 2654435761u + (i >> 13)) >> 7);
}

}  // namespace

EchoResult RunEchoClient(Stack& stack, const Endpoint& server, std::uint64_t bytes, std::chrono::seconds deadline) {
  EchoResult r;
  const auto start = std::chrono::steady_clock::now();
  const auto until = start + deadline;
  const int fd = ConnectBy(stack, server, until, r.error);
  if (fd < 0) return r;
  std::string write_error;
  std::thread writer([&] {
    std::vector<std::byte> chunk(16384);
    while (r.sent < bytes) {
      const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), bytes - r.sent));
      for (std::size_t i = 0; i < n; ++i) chunk[i] = PatternByte(r.sent + i);
      const ssize_t w = stack.Send(fd, std::span<const std::byte>(chunk.data(), n));
      if (w <= 0) {
        write_error = std::string("send: ") + std::strerror(errno);
        return;
      }
      r.sent += static_cast<std::uint64_t>(w);
    }
    stack.Shutdown(fd, SHUT_WR);  // our FIN after the data
  });
  std::vector<std::byte> buf(65536);
  bool mismatch = false;
  for (;;) {
    const ssize_t n = stack.Recv(fd, buf);
    if (n < 0) {
      r.error = std::string("recv: ") + std::strerror(errno);
      break;
    }
    if (n == 0) break;  // the server's FIN
    for (ssize_t i = 0; i < n && !mismatch; ++i) {
      if (buf[static_cast<std::size_t>(i)] != PatternByte(r.received + static_cast<std::uint64_t>(i))) {
        mismatch = true;
        r.error = "byte " + std::to_string(r.received + static_cast<std::uint64_t>(i)) + " came back different";
      }
    }
    r.received += static_cast<std::uint64_t>(n);
  }
  writer.join();
  stack.Close(fd);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (r.error.empty() && !write_error.empty()) r.error = write_error;
  if (r.error.empty() && r.received != bytes) r.error = "the server closed early";
  r.ok = r.error.empty();
  return r;
}

std::string RunDaytimeClient(Stack& stack, const Endpoint& server, std::chrono::seconds deadline) {
  std::string error;
  const int fd = ConnectBy(stack, server, std::chrono::steady_clock::now() + deadline, error);
  if (fd < 0) return "error: " + error;
  std::string text;
  std::vector<std::byte> buf(1024);
  for (;;) {
    const ssize_t n = stack.Recv(fd, buf);
    if (n < 0) {
      text = std::string("error: recv: ") + std::strerror(errno);
      break;
    }
    if (n == 0 || text.size() > 4096) break;
    text.append(reinterpret_cast<const char*>(buf.data()), static_cast<std::size_t>(n));
  }
  stack.Close(fd);
  return text;
}

}  // namespace ringstack::sockets
