// udp_peer: the kernel-side half of bench/e2e_udp.sh, on ordinary Linux
// sockets. Bounded in count and time.
//
//   udp_peer echo PORT SECONDS          echo every datagram back (a kernel-stack
//                                       echo server to compare ringstack's with)
//   udp_peer rr ADDR PORT COUNT SIZE    COUNT request/response round trips, one
//                                       in flight; prints "rr/s <n> lost <n>"
//   udp_peer blast ADDR PORT COUNT SIZE COUNT datagrams as fast as sendto goes;
//                                       prints "sent <n> seconds <s>"
//   udp_peer sink PORT SECONDS          count what arrives; prints "received <n>"
//   udp_peer mixed ADDR PORT COUNT WINDOW
//                                       COUNT datagrams of sizes cycling 1..8000
//                                       (large ones fragmented by IP), up to WINDOW
//                                       unanswered; checks each echo's bytes;
//                                       prints "sent <n> received <n> corrupt <n>"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
volatile std::sig_atomic_t g_stop = 0;
void OnTerm(int) { g_stop = 1; }

int Fail(const char* what) {
  std::fprintf(stderr, "udp_peer: %s: %s\n", what, std::strerror(errno));
  return 2;
}

bool Resolve(const char* addr, int port, sockaddr_storage& ss, socklen_t& len) {
  std::memset(&ss, 0, sizeof(ss));
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, addr, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<std::uint16_t>(port));
    len = sizeof(sockaddr_in);
    return true;
  }
  if (inet_pton(AF_INET6, addr, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<std::uint16_t>(port));
    len = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

int Bound(int port) {
  const int fd = socket(AF_INET6, SOCK_DGRAM, 0);
  if (fd < 0) return -1;
  const int off = 0;
  setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));  // v4 and v6
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_port = htons(static_cast<std::uint16_t>(port));
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) return -1;
  return fd;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: udp_peer echo|sink PORT SECONDS | rr|blast ADDR PORT COUNT SIZE\n");
    return 2;
  }
  const std::string mode = argv[1];
  std::vector<char> buf(65536);
  if (mode == "echo" || mode == "sink") {
    const int fd = Bound(std::atoi(argv[2]));
    if (fd < 0) return Fail("bind");
    const auto end = Clock::now() + std::chrono::seconds(std::atoi(argv[3]));
    long received = 0;
    std::signal(SIGTERM, OnTerm);  // stop and report
    while (Clock::now() < end && g_stop == 0) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      sockaddr_storage from{};
      socklen_t len = sizeof(from);
      const ssize_t n = recvfrom(fd, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n < 0) continue;
      ++received;
      if (mode == "echo") {
        sendto(fd, buf.data(), static_cast<size_t>(n), 0, reinterpret_cast<sockaddr*>(&from), len);
      }
    }
    std::printf("received %ld\n", received);
    std::fflush(stdout);
    return 0;
  }
  if (argc < 6) return Fail("usage");
  sockaddr_storage to{};
  socklen_t to_len = 0;
  if (!Resolve(argv[2], std::atoi(argv[3]), to, to_len)) return Fail("address");
  const long count = std::atol(argv[4]);
  const std::size_t size = static_cast<std::size_t>(std::atol(argv[5]));
  const int fd = socket(to.ss_family, SOCK_DGRAM, 0);
  if (fd < 0) return Fail("socket");
  if (connect(fd, reinterpret_cast<sockaddr*>(&to), to_len) != 0) return Fail("connect");
  std::vector<char> msg(size, 'r');
  const auto start = Clock::now();
  if (mode == "rr") {
    long done = 0, lost = 0;
    for (long i = 0; i < count; ++i) {
      if (send(fd, msg.data(), msg.size(), 0) < 0) return Fail("send");
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 200) <= 0 || recv(fd, buf.data(), buf.size(), 0) < 0) {
        ++lost;  // a lost round trip costs 200 ms; the count shows it
        continue;
      }
      ++done;
    }
    const double s = std::chrono::duration<double>(Clock::now() - start).count();
    std::printf("rr/s %.0f lost %ld\n", static_cast<double>(done) / s, lost);
    return 0;
  }
  if (mode == "mixed") {
    // The size and content of datagram i follow from i, so an echo is checked
    // against what was sent; the first 4 bytes carry i.
    const long window = static_cast<long>(size);
    auto make = [](long i, std::vector<char>& out) {
      const std::size_t len = 4 + static_cast<std::size_t>((i * 7919) % 7997);  // 4..8000 bytes
      out.resize(len);
      std::memcpy(out.data(), &i, 4);
      for (std::size_t k = 4; k < len; ++k) out[k] = static_cast<char>((i * 31 + static_cast<long>(k)) & 0xff);
    };
    long sent = 0, received = 0, corrupt = 0, in_flight = 0;
    std::vector<char> expect;
    auto quiet_since = Clock::now();
    // Until everything is sent and then 300 ms pass without an echo (or 2 s
    // of silence at any point).
    while (Clock::now() - quiet_since < (sent < count ? std::chrono::milliseconds(2000)
                                                       : std::chrono::milliseconds(300))) {
      if (sent < count && in_flight < window) {
        make(sent, msg);
        if (send(fd, msg.data(), msg.size(), 0) >= 0) {
          ++sent;
          ++in_flight;
        }
        continue;
      }
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) {
        if (sent < count) in_flight = std::max(0L, in_flight - 1);  // 50 ms silent: stop waiting for one
        continue;
      }
      const ssize_t n = recv(fd, buf.data(), buf.size(), 0);
      if (n < 4) continue;
      quiet_since = Clock::now();
      long i = 0;
      std::memcpy(&i, buf.data(), 4);
      make(i, expect);
      if (static_cast<std::size_t>(n) != expect.size() || std::memcmp(buf.data(), expect.data(), expect.size()) != 0) {
        ++corrupt;
      }
      ++received;
      in_flight = std::max(0L, in_flight - 1);
    }
    std::printf("sent %ld received %ld corrupt %ld\n", sent, received, corrupt);
    return 0;
  }
  if (mode == "blast") {
    long sent = 0;
    for (long i = 0; i < count; ++i) {
      if (send(fd, msg.data(), msg.size(), 0) >= 0) ++sent;
    }
    const double s = std::chrono::duration<double>(Clock::now() - start).count();
    std::printf("sent %ld seconds %.3f\n", sent, s);
    return 0;
  }
  std::fprintf(stderr, "udp_peer: unknown mode '%s'\n", mode.c_str());
  return 2;
}
