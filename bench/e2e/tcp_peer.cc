// tcp_peer: the kernel-side tools of bench/e2e_tcp.sh, on ordinary Linux
// sockets. Bounded in bytes, count and time.
//
//   tcp_peer serve PORT SECONDS         a kernel-stack server of all three:
//                                       discard on PORT, echo on PORT+1,
//                                       chargen-like source on PORT+2
//   tcp_peer push ADDR PORT BYTES       send BYTES to a discard service;
//                                       prints "bytes <n> seconds <s> mbit/s <r>"
//   tcp_peer pull ADDR PORT BYTES       read BYTES from a source (chargen);
//                                       prints the same
//   tcp_peer rr ADDR PORT COUNT         COUNT 1-byte request/responses to an
//                                       echo service; prints "rr/s <n>"
//   tcp_peer cps ADDR PORT COUNT        COUNT connections (connect, 1 byte
//                                       echoed, close); prints "conn/s <n>"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

int Connect(const char* addr, int port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<std::uint16_t>(port));
  if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
    std::fprintf(stderr, "tcp_peer: bad address %s\n", addr);
    std::exit(2);
  }
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
    std::perror("tcp_peer: connect");
    std::exit(1);
  }
  return fd;
}

int Listen(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<std::uint16_t>(port));
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0 || listen(fd, 128) != 0) {
    std::perror("tcp_peer: listen");
    std::exit(1);
  }
  return fd;
}

void Serve(int port, int seconds) {
  const int fds[3] = {Listen(port), Listen(port + 1), Listen(port + 2)};
  const auto end = Clock::now() + std::chrono::seconds(seconds);
  std::vector<std::thread> threads;
  while (Clock::now() < end) {
    pollfd p[3] = {{fds[0], POLLIN, 0}, {fds[1], POLLIN, 0}, {fds[2], POLLIN, 0}};
    if (poll(p, 3, 200) <= 0) continue;
    for (int k = 0; k < 3; ++k) {
      if (!(p[k].revents & POLLIN)) continue;
      const int c = accept(fds[k], nullptr, nullptr);
      if (c < 0) continue;
      threads.emplace_back([c, k] {
        std::vector<char> buf(1 << 16, 'x');
        if (k == 2) {  // source until the reader goes
          while (send(c, buf.data(), buf.size(), MSG_NOSIGNAL) > 0) {
          }
        } else {
          for (;;) {
            const ssize_t n = recv(c, buf.data(), buf.size(), 0);
            if (n <= 0) break;
            if (k == 1 && send(c, buf.data(), static_cast<std::size_t>(n), MSG_NOSIGNAL) != n) break;
          }
        }
        close(c);
      });
    }
  }
  for (auto& t : threads) t.join();
}

void Push(const char* addr, int port, long long bytes) {
  const int fd = Connect(addr, port);
  std::vector<char> buf(1 << 16, 'p');
  const auto start = Clock::now();
  long long sent = 0;
  while (sent < bytes) {
    const ssize_t n = send(fd, buf.data(), static_cast<std::size_t>(std::min<long long>(buf.size(), bytes - sent)), 0);
    if (n <= 0) break;
    sent += n;
  }
  shutdown(fd, SHUT_WR);
  char c;
  while (recv(fd, &c, 1, 0) > 0) {
  }
  const double s = Since(start);
  std::printf("bytes %lld seconds %.3f mbit/s %.0f\n", sent, s, sent * 8 / s / 1e6);
  close(fd);
}

void Pull(const char* addr, int port, long long bytes) {
  const int fd = Connect(addr, port);
  std::vector<char> buf(1 << 16);
  const auto start = Clock::now();
  long long got = 0;
  while (got < bytes) {
    const ssize_t n = recv(fd, buf.data(), buf.size(), 0);
    if (n <= 0) break;
    got += n;
  }
  const double s = Since(start);
  std::printf("bytes %lld seconds %.3f mbit/s %.0f\n", got, s, got * 8 / s / 1e6);
  close(fd);
}

void RequestResponse(const char* addr, int port, int count) {
  const int fd = Connect(addr, port);
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  char c = 'r';
  const auto start = Clock::now();
  int done = 0;
  for (; done < count; ++done) {
    if (send(fd, &c, 1, 0) != 1 || recv(fd, &c, 1, 0) != 1) break;
  }
  std::printf("rr/s %.0f\n", done / Since(start));
  close(fd);
}

void ConnectionsPerSecond(const char* addr, int port, int count) {
  const auto start = Clock::now();
  int done = 0;
  for (; done < count && Since(start) < 60; ++done) {
    const int fd = Connect(addr, port);
    char c = 'c';
    if (send(fd, &c, 1, 0) != 1 || recv(fd, &c, 1, 0) != 1) {
      close(fd);
      break;
    }
    close(fd);
  }
  std::printf("conn/s %.0f\n", done / Since(start));
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "serve" && argc == 4) {
    Serve(std::atoi(argv[2]), std::atoi(argv[3]));
  } else if (mode == "push" && argc == 5) {
    Push(argv[2], std::atoi(argv[3]), std::atoll(argv[4]));
  } else if (mode == "pull" && argc == 5) {
    Pull(argv[2], std::atoi(argv[3]), std::atoll(argv[4]));
  } else if (mode == "rr" && argc == 5) {
    RequestResponse(argv[2], std::atoi(argv[3]), std::atoi(argv[4]));
  } else if (mode == "cps" && argc == 5) {
    ConnectionsPerSecond(argv[2], std::atoi(argv[3]), std::atoi(argv[4]));
  } else {
    std::fprintf(stderr, "usage: tcp_peer serve PORT SECONDS | push|pull ADDR PORT BYTES | rr|cps ADDR PORT COUNT\n");
    return 2;
  }
  return 0;
}
