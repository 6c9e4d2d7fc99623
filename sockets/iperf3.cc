#include "sockets/iperf3.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "sockets/iperf3_io.h"

namespace ringstack::sockets {
namespace iperf = proto::iperf3;
using engine::Duration;
using engine::Instant;
using iperf::State;

namespace iperf3_io {

std::pair<double, double> CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return {u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6, u.ru_stime.tv_sec + u.ru_stime.tv_usec / 1e6};
}

std::string ServerError(std::int32_t iperf_errno) {
  std::string s(9, '\0');
  s[0] = static_cast<char>(static_cast<std::int8_t>(State::kServerError));
  proto::StoreBe32(reinterpret_cast<std::byte*>(s.data() + 1), static_cast<std::uint32_t>(iperf_errno));
  proto::StoreBe32(reinterpret_cast<std::byte*>(s.data() + 5), 0);
  return s;
}

Endpoint Any(int domain, std::uint16_t port) { return Endpoint::Wildcard(domain == AF_INET6, port); }

std::string Line(const std::string& id, double from, double to, double bytes, const std::string& extra) {
  const double secs = to - from;
  return absl::StrFormat("[%3s] %6.2f-%-6.2f sec  %11s  %14s%s", id, from, to, Iperf3Bytes(bytes),
                         Iperf3Bits(secs > 0 ? bytes * 8 / secs : 0), extra);
}

bool Drain(Stack& stack, Iperf3Stream& s, std::vector<std::byte>& buf, std::size_t& budget, bool count) {
  while (budget > 0) {
    const ssize_t n = stack.Recv(s.fd, buf, true);
    if (n > 0) {
      if (count) {
        s.bytes += static_cast<std::uint64_t>(n);
        s.interval_bytes += static_cast<std::uint64_t>(n);
      }
      budget -= std::min(budget, static_cast<std::size_t>(n));
      continue;
    }
    return n < 0 && errno == EAGAIN;
  }
  return true;
}

bool Fill(Stack& stack, Iperf3Stream& s, const std::vector<std::byte>& block, std::size_t& budget,
          std::uint64_t limit, bool count) {
  while (budget > 0 && s.sent_total < limit) {
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(block.size(), limit - s.sent_total));
    const ssize_t n = stack.Send(s.fd, std::span(block).first(want));
    if (n > 0) {
      if (count) {
        s.bytes += static_cast<std::uint64_t>(n);
        s.interval_bytes += static_cast<std::uint64_t>(n);
        s.sent_total += static_cast<std::uint64_t>(n);
      }
      budget -= std::min(budget, static_cast<std::size_t>(n));
      continue;
    }
    return n < 0 && errno == EAGAIN;
  }
  return true;
}

std::size_t UdpDatagram(Iperf3Stream& s, Instant now, bool counters64, std::vector<std::byte>& block) {
  iperf::UdpHeader h;
  const std::int64_t us = now.nanos() / 1000;
  h.sec = static_cast<std::uint32_t>(us / 1'000'000);
  h.usec = static_cast<std::uint32_t>(us % 1'000'000);
  h.count = ++s.packets_sent;
  h.Emit(block, counters64);
  return block.size();
}

std::uint64_t UdpAllowance(std::uint64_t rate_bps, Duration elapsed) {
  if (rate_bps == 0) return UINT64_MAX;
  return static_cast<std::uint64_t>(static_cast<double>(rate_bps) / 8 * Seconds(elapsed));
}

Instant UdpNextSend(const Iperf3Stream& s, std::uint64_t rate_bps, std::size_t len, Instant start) {
  if (rate_bps == 0) return start;
  const double at = static_cast<double>(s.sent_total + len) * 8 / static_cast<double>(rate_bps);
  return start + Duration::Nanos(static_cast<std::int64_t>(at * 1e9));
}

void SendPacedUdp(Stack& stack, Iperf3Stream& s, const iperf::Params& p, Duration elapsed, Instant now,
                  std::vector<std::byte>& block, std::size_t& budget, const Endpoint* to) {
  const std::uint64_t allowed = UdpAllowance(p.bandwidth, elapsed);
  for (int burst = 0; burst < kUdpBurst && budget > 0 && s.sent_total + block.size() <= allowed &&
                      s.sent_total < p.byte_limit();
       ++burst) {
    UdpDatagram(s, now, p.udp_counters_64bit, block);
    if (stack.SendTo(s.fd, block, to) < 0) {
      --s.packets_sent;
      break;
    }
    s.sent_total += block.size();
    s.bytes += block.size();
    s.interval_bytes += block.size();
    budget -= std::min(budget, block.size());
  }
}

void TakeRetransmits(Stack& stack, std::vector<Iperf3Stream>& streams, bool udp) {
  if (udp) return;
  for (Iperf3Stream& s : streams) {
    Stack::TcpInfo info;
    if (s.sending && stack.GetTcpInfo(s.fd, &info) == 0) s.retransmits = static_cast<std::int64_t>(info.retransmits);
  }
}

iperf::Results OurResults(const std::vector<Iperf3Stream>& streams, const iperf::Params& p, bool we_send,
                          std::pair<double, double> cpu_at_start, Duration wall, Duration measured) {
  iperf::Results r;
  const auto cpu = CpuSeconds();
  const double secs = std::max(1e-9, Seconds(wall));
  r.cpu_user = 100 * (cpu.first - cpu_at_start.first) / secs;
  r.cpu_system = 100 * (cpu.second - cpu_at_start.second) / secs;
  r.cpu_total = r.cpu_user + r.cpu_system;
  r.sender_has_retransmits = we_send ? 1 : -1;
  for (const Iperf3Stream& s : streams) {
    iperf::StreamResult sr;
    sr.id = s.id;
    sr.bytes = s.bytes;
    sr.retransmits = s.sending ? (p.udp ? 0 : std::max<std::int64_t>(s.retransmits, 0)) : -1;
    if (p.udp) {
      sr.jitter = s.rx.jitter;
      sr.errors = s.rx.errors;
      sr.packets = static_cast<std::int64_t>(s.sending ? s.packets_sent : s.rx.packets);
    }
    sr.end_time = Seconds(measured);
    r.streams.push_back(sr);
  }
  return r;
}

void WaitForWork(Stack& stack, std::vector<Stack::PollFd> fds, Duration wait) {
  if (wait.nanos() <= 0) return;
  if (wait < Duration::Millis(1)) {
    std::this_thread::sleep_for(std::chrono::nanoseconds(wait.nanos()));
    return;
  }
  stack.Poll(fds, static_cast<int>(std::min<std::int64_t>(wait.nanos() / 1'000'000, 100)));
}

}  // namespace iperf3_io

std::string Iperf3Bytes(double bytes) {
  const char* units[] = {"Bytes", "KBytes", "MBytes", "GBytes", "TBytes"};
  int u = 0;
  while (bytes >= 1024 && u < 4) {
    bytes /= 1024;
    ++u;
  }
  // Three significant digits, as iperf3 prints them.
  const int digits = u == 0 ? 0 : bytes < 9.995 ? 2 : bytes < 99.95 ? 1 : 0;
  return absl::StrFormat("%.*f %s", digits, bytes, units[u]);
}

std::string Iperf3Bits(double bits) {
  const char* units[] = {"bits/sec", "Kbits/sec", "Mbits/sec", "Gbits/sec", "Tbits/sec"};
  int u = 0;
  while (bits >= 1000 && u < 4) {
    bits /= 1000;
    ++u;
  }
  const int digits = bits < 9.995 ? 2 : bits < 99.95 ? 1 : 0;
  return absl::StrFormat("%.*f %s", digits, bits, units[u]);
}

// ------------------------------------------------------------------ control

Iperf3Control::Iperf3Control(Stack& stack, int fd) : stack_(stack), fd_(fd) {
  stack_.SetSockOpt(fd_, IPPROTO_TCP, TCP_NODELAY, 1);
}

bool Iperf3Control::Pump() {
  if (!why_.empty()) return false;
  while (!out_.empty()) {
    const ssize_t n = stack_.Send(fd_, std::as_bytes(std::span(out_)));
    if (n > 0) {
      out_.erase(0, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EAGAIN) break;
    why_ = absl::StrCat("control connection: send: ", std::strerror(errno));
    return false;
  }
  if (eof_) return true;
  std::byte buf[4096];
  for (;;) {
    const ssize_t n = stack_.Recv(fd_, buf, true);
    if (n > 0) {
      in_.append(reinterpret_cast<const char*>(buf), static_cast<std::size_t>(n));
      if (in_.size() > proto::iperf3::kMaxJsonLen + 64) {
        why_ = "control connection: the peer sent more than any message holds";
        return false;
      }
      continue;
    }
    if (n == 0) {
      eof_ = true;  // what came before may still be read
      break;
    }
    if (errno == EAGAIN) break;
    why_ = absl::StrCat("control connection: ", std::strerror(errno));
    return false;
  }
  return true;
}

std::optional<std::int8_t> Iperf3Control::TakeByte() {
  if (in_.empty()) return std::nullopt;
  const auto b = static_cast<std::int8_t>(in_[0]);
  in_.erase(0, 1);
  return b;
}

std::optional<std::string> Iperf3Control::TakeBytes(std::size_t n) {
  if (in_.size() < n) return std::nullopt;
  std::string s = in_.substr(0, n);
  in_.erase(0, n);
  return s;
}

std::optional<std::string> Iperf3Control::TakeJson(bool& bad) {
  bad = false;
  if (in_.size() < 4) return std::nullopt;
  const auto len = iperf::ParseJsonLength(std::as_bytes(std::span(in_).first(4)));
  if (!len) {
    bad = true;
    return std::nullopt;
  }
  if (in_.size() < 4 + *len) return std::nullopt;
  std::string s = in_.substr(4, *len);
  in_.erase(0, 4 + *len);
  return s;
}

}  // namespace ringstack::sockets
