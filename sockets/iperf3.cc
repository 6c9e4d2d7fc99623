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

namespace ringstack::sockets {
namespace iperf = proto::iperf3;
using engine::Duration;
using engine::Instant;
using iperf::State;

namespace {

constexpr Duration kPhaseLimit = Duration::Seconds(10);  // every phase but the data one
constexpr Duration kRunGrace = Duration::Seconds(30);    // the data phase: `time` + this
constexpr std::size_t kIoBudget = 16u << 20;             // bytes moved per Step before others get a turn
// UDP datagrams a paced stream sends per Step: after a stall the sender
// catches up in steps, not in one burst a receiver's queue would drop.
constexpr int kUdpBurst = 32;
// iperf_api.h's error numbers, sent after SERVER_ERROR (the client prints
// its own text for them).
constexpr std::int32_t kIeRecvParams = 114;   // "unable to receive parameters from client"
constexpr std::int32_t kIeRecvResults = 117;  // "unable to receive results"
constexpr std::int32_t kIeMessage = 110;      // "received an unknown control message"

double Seconds(Duration d) { return static_cast<double>(d.nanos()) / 1e9; }
double SecondsOf(Instant t) { return static_cast<double>(t.nanos()) / 1e9; }

// Process CPU seconds (user, system), for the results' cpu_util fields.
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

Endpoint Any(int domain, std::uint16_t port) {
  return Endpoint{domain == AF_INET6 ? proto::IpAddress(proto::Ipv6Address()) : proto::IpAddress(proto::Ipv4Address()),
                  port};
}

// One interval or summary line: "[  5]   0.00-1.00   sec   112 MBytes   941 Mbits/sec".
std::string Line(const std::string& id, double from, double to, double bytes, const std::string& extra = "") {
  const double secs = to - from;
  return absl::StrFormat("[%3s] %6.2f-%-6.2f sec  %11s  %14s%s", id, from, to, Iperf3Bytes(bytes),
                         Iperf3Bits(secs > 0 ? bytes * 8 / secs : 0), extra);
}

// Reads what a TCP stream has; false when it is gone.
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

// Writes blocks to a TCP stream until it would block; false when it is gone.
bool Fill(Stack& stack, Iperf3Stream& s, const std::vector<std::byte>& block, std::size_t& budget,
          std::uint64_t limit, bool count = true) {
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

// A UDP datagram: the header, then the block's bytes.
std::size_t UdpDatagram(Iperf3Stream& s, Instant now, bool counters64, std::vector<std::byte>& block) {
  iperf::UdpHeader h;
  const std::int64_t us = now.nanos() / 1000;
  h.sec = static_cast<std::uint32_t>(us / 1'000'000);
  h.usec = static_cast<std::uint32_t>(us % 1'000'000);
  h.count = ++s.packets_sent;
  h.Emit(block, counters64);
  return block.size();
}

// How many UDP bytes a paced sender may have sent `elapsed` into the test.
std::uint64_t UdpAllowance(std::uint64_t rate_bps, Duration elapsed) {
  if (rate_bps == 0) return UINT64_MAX;
  return static_cast<std::uint64_t>(static_cast<double>(rate_bps) / 8 * Seconds(elapsed));
}

// The next time a paced UDP sender may send a `len`-byte datagram.
Instant UdpNextSend(const Iperf3Stream& s, std::uint64_t rate_bps, std::size_t len, Instant start) {
  if (rate_bps == 0) return start;
  const double at = static_cast<double>(s.sent_total + len) * 8 / static_cast<double>(rate_bps);
  return start + Duration::Nanos(static_cast<std::int64_t>(at * 1e9));
}

// Sends what a paced UDP stream may have sent by `now` (`elapsed` into the
// test), at most kUdpBurst datagrams; `to` null on a connected socket.
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

// The sending TCP streams' retransmissions at the test's end (TCP_INFO).
void TakeRetransmits(Stack& stack, std::vector<Iperf3Stream>& streams, bool udp) {
  if (udp) return;
  for (Iperf3Stream& s : streams) {
    Stack::TcpInfo info;
    if (s.sending && stack.GetTcpInfo(s.fd, &info) == 0) s.retransmits = static_cast<std::int64_t>(info.retransmits);
  }
}

// This side's results: CPU use over the test (`wall` long, from
// `cpu_at_start`), and each stream's counts over the `measured` time.
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

// Waits for one of `fds`, at most `wait` (and 100 ms); a wait under a
// millisecond (a paced UDP sender's next datagram) is a sleep, not a spin.
void WaitForWork(Stack& stack, std::vector<Stack::PollFd> fds, Duration wait) {
  if (wait.nanos() <= 0) return;
  if (wait < Duration::Millis(1)) {
    std::this_thread::sleep_for(std::chrono::nanoseconds(wait.nanos()));
    return;
  }
  stack.Poll(fds, static_cast<int>(std::min<std::int64_t>(wait.nanos() / 1'000'000, 100)));
}

}  // namespace

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

// ------------------------------------------------------------------- server

struct Iperf3Server::Test {
  enum class Phase { kParams, kCreating, kRunning, kResults, kDisplay };
  std::unique_ptr<Iperf3Control> ctrl;
  std::string cookie;
  std::string client;  // "192.0.2.1 port 40000", for the lines
  Phase phase = Phase::kParams;
  Instant phase_since, start, measure_start, next_interval, end;
  bool measuring = false;
  iperf::Params params;
  std::vector<Iperf3Stream> streams;
  std::vector<std::byte> block;
  std::pair<double, double> cpu_at_start;
  std::string output;  // the lines, for a client that asked for them
};

Iperf3Server::Iperf3Server(Stack& stack, const engine::Clock& clock, Iperf3Out out)
    : stack_(stack), clock_(clock), out_(std::move(out)), buf_(256 * 1024) {}

Iperf3Server::~Iperf3Server() { Close(); }

absl::Status Iperf3Server::Open(bool ipv6, std::uint16_t port) {
  for (const int domain : {AF_INET, AF_INET6}) {
    if (domain == AF_INET6 && !ipv6) continue;
    const int l = stack_.Socket(domain, SOCK_STREAM | SOCK_NONBLOCK);
    if (l < 0) return absl::InternalError(absl::StrCat("iperf3: socket: ", std::strerror(errno)));
    if (domain == AF_INET6) stack_.SetSockOpt(l, IPPROTO_IPV6, IPV6_V6ONLY, 1);
    if (stack_.Bind(l, Any(domain, port)) != 0 || stack_.Listen(l, 128) != 0) {
      const int err = errno;
      stack_.Close(l);
      return absl::FailedPreconditionError(
          absl::StrCat("iperf3: cannot listen on TCP port ", port, ": ", std::strerror(err)));
    }
    listeners_.push_back(l);
    const int u = stack_.Socket(domain, SOCK_DGRAM | SOCK_NONBLOCK);
    if (u < 0) return absl::InternalError(absl::StrCat("iperf3: socket: ", std::strerror(errno)));
    if (domain == AF_INET6) stack_.SetSockOpt(u, IPPROTO_IPV6, IPV6_V6ONLY, 1);
    stack_.SetSockOpt(u, SOL_SOCKET, SO_RCVBUF, 4 << 20);
    stack_.SetSockOpt(u, SOL_SOCKET, SO_SNDBUF, 4 << 20);
    if (stack_.Bind(u, Any(domain, port)) != 0) {
      const int err = errno;
      stack_.Close(u);
      return absl::FailedPreconditionError(
          absl::StrCat("iperf3: cannot bind UDP port ", port, ": ", std::strerror(err)));
    }
    udp_.push_back(u);
  }
  return absl::OkStatus();
}

void Iperf3Server::Close() {
  if (test_) EndTest(false, "the server stopped");
  for (const Pending& p : pending_) stack_.Close(p.fd);
  pending_.clear();
  for (const int fd : listeners_) stack_.Close(fd);
  for (const int fd : udp_) stack_.Close(fd);
  listeners_.clear();
  udp_.clear();
}

void Iperf3Server::AcceptNew() {
  for (const int l : listeners_) {
    for (;;) {
      const int fd = stack_.Accept(l, nullptr);
      if (fd < 0) break;
      stack_.SetNonBlocking(fd, true);
      if (pending_.size() >= 64) {  // a flood of connections that never send a cookie
        stack_.Close(fd);
        continue;
      }
      pending_.push_back(Pending{fd, {}, clock_.Now()});
    }
  }
}

// Connections whose cookie is still coming: the control connection of a new
// test, a data stream of the running one, or a client turned away.
bool Iperf3Server::ServePending() {
  bool moved = false;
  const Instant now = clock_.Now();
  for (std::size_t i = 0; i < pending_.size();) {
    Pending& p = pending_[i];
    std::byte buf[iperf::kCookieLen];
    const std::size_t want = iperf::kCookieLen - p.got.size();
    const ssize_t n = stack_.Recv(p.fd, std::span(buf).first(want), true);
    if (n > 0) {
      p.got.append(reinterpret_cast<const char*>(buf), static_cast<std::size_t>(n));
      moved = true;
    }
    const bool gone = n == 0 || (n < 0 && errno != EAGAIN);
    if (p.got.size() < iperf::kCookieLen && !gone && now - p.since < kPhaseLimit) {
      ++i;
      continue;
    }
    const int fd = p.fd;
    const std::string cookie = p.got;
    pending_.erase(pending_.begin() + static_cast<std::ptrdiff_t>(i));
    moved = true;
    if (cookie.size() < iperf::kCookieLen || !iperf::ValidCookie(std::as_bytes(std::span(cookie)))) {
      stack_.Close(fd);  // not iperf3, or gave up
      continue;
    }
    if (!test_) {
      test_ = std::make_unique<Test>();
      test_->ctrl = std::make_unique<Iperf3Control>(stack_, fd);
      test_->cookie = cookie;
      test_->phase_since = now;
      Endpoint peer;
      stack_.GetPeerName(fd, &peer);
      test_->client = absl::StrCat(peer.addr.ToString(), " port ", peer.port);
      ++test_number_;
      out_(absl::StrCat("iperf3: test ", test_number_, ": accepted connection from ", test_->client));
      test_->ctrl->QueueState(State::kParamExchange);
      continue;
    }
    const bool wanted = test_->phase == Test::Phase::kCreating && !test_->params.udp && cookie == test_->cookie &&
                        static_cast<int>(test_->streams.size()) < test_->params.stream_count();
    if (!wanted) {
      // Busy with another client's test (or a stray stream): say so, as iperf3 does.
      const char denied = static_cast<char>(static_cast<std::int8_t>(State::kAccessDenied));
      stack_.Send(fd, std::as_bytes(std::span(&denied, 1)));
      stack_.Close(fd);
      continue;
    }
    Iperf3Stream s;
    s.fd = fd;
    const int index = static_cast<int>(test_->streams.size());
    s.id = iperf::StreamId(index);
    s.sending = iperf::ServerSendsOnStream(test_->params, index);
    if (test_->params.window != 0) {
      stack_.SetSockOpt(fd, SOL_SOCKET, s.sending ? SO_SNDBUF : SO_RCVBUF, static_cast<int>(test_->params.window));
    }
    if (test_->params.nodelay) stack_.SetSockOpt(fd, IPPROTO_TCP, TCP_NODELAY, 1);
    if (!test_->params.congestion.empty()) stack_.SetCongestion(fd, test_->params.congestion);
    Endpoint local, peer;
    stack_.GetSockName(fd, &local);
    stack_.GetPeerName(fd, &peer);
    out_(absl::StrFormat("iperf3: [%3d] local %s port %d connected to %s port %d (%s)", s.id, local.addr.ToString(),
                         local.port, peer.addr.ToString(), peer.port, s.sending ? "sending" : "receiving"));
    test_->streams.push_back(s);
  }
  return moved;
}

// Datagrams on port 5201: a UDP stream's hello while streams are being made,
// its data while the test runs; anything else is dropped.
bool Iperf3Server::ServeUdp() {
  bool moved = false;
  for (const int u : udp_) {
    for (int k = 0; k < 4096; ++k) {
      Endpoint from;
      const ssize_t n = stack_.RecvFrom(u, buf_, &from, true);
      if (n < 0) break;
      moved = true;
      if (!test_ || !test_->params.udp) continue;
      const auto data = std::span(buf_).first(static_cast<std::size_t>(n));
      auto it = std::find_if(test_->streams.begin(), test_->streams.end(),
                             [&](const Iperf3Stream& s) { return s.peer == from; });
      if (test_->phase == Test::Phase::kCreating) {
        if (it != test_->streams.end() || static_cast<int>(test_->streams.size()) >= test_->params.stream_count()) {
          continue;
        }
        Iperf3Stream s;
        s.fd = u;
        s.peer = from;
        const int index = static_cast<int>(test_->streams.size());
        s.id = iperf::StreamId(index);
        s.sending = iperf::ServerSendsOnStream(test_->params, index);
        std::byte reply[4];
        iperf::EmitUdpConnectWord(iperf::kUdpConnectReply, reply);
        stack_.SendTo(u, reply, &from);
        out_(absl::StrFormat("iperf3: [%3d] UDP stream from %s port %d (%s)", s.id, from.addr.ToString(), from.port,
                             s.sending ? "sending" : "receiving"));
        test_->streams.push_back(s);
        continue;
      }
      if (test_->phase != Test::Phase::kRunning || it == test_->streams.end() || it->sending) continue;
      const auto h = iperf::UdpHeader::Parse(data, test_->params.udp_counters_64bit);
      if (!h) continue;
      if (test_->measuring) {
        it->rx.OnDatagram(*h, data.size(), SecondsOf(clock_.Now()));
        it->bytes += data.size();
        it->interval_bytes += data.size();
      }
    }
  }
  return moved;
}

void Iperf3Server::Fail(int iperf_errno, const std::string& why) {
  test_->ctrl->Queue(ServerError(iperf_errno));
  test_->ctrl->Pump();
  EndTest(false, why);
}

void Iperf3Server::EndTest(bool ok, const std::string& why) {
  if (!test_) return;
  for (const Iperf3Stream& s : test_->streams) {
    if (!test_->params.udp) stack_.Close(s.fd);
  }
  stack_.Close(test_->ctrl->fd());
  if (ok) {
    ++tests_done_;
    out_(absl::StrCat("iperf3: test ", test_number_, " done"));
  } else {
    ++tests_failed_;
    last_error_ = why;
    out_(absl::StrCat("iperf3: test ", test_number_, " ended: ", why));
  }
  test_.reset();
}

void Iperf3Server::StartRunning() {
  Test& t = *test_;
  t.phase = Test::Phase::kRunning;
  t.start = clock_.Now();
  t.measuring = t.params.omit == 0;
  t.measure_start = t.start + Duration::Seconds(t.params.omit);
  t.next_interval = t.measure_start + Duration::Seconds(1);
  t.cpu_at_start = CpuSeconds();
  t.block.assign(t.params.block_len(), std::byte{0});
  for (std::size_t i = 0; i < t.block.size(); ++i) t.block[i] = static_cast<std::byte>('0' + i % 10);
  t.ctrl->QueueState(State::kTestStart);
  t.ctrl->QueueState(State::kTestRunning);
  out_(absl::StrFormat("iperf3: test %d: %s, %d stream%s%s, %s, %d s", test_number_, t.params.udp ? "UDP" : "TCP",
                       t.params.parallel, t.params.parallel == 1 ? "" : "s",
                       t.params.bidir ? " each way" : t.params.reverse ? " (reverse: ringstack sends)" : "",
                       Iperf3Bytes(t.params.block_len()) + " blocks", static_cast<int>(t.params.time)));
  out_("iperf3: [ ID] Interval           Transfer         Bitrate");
}

bool Iperf3Server::MoveData() {
  Test& t = *test_;
  const Instant now = clock_.Now();
  if (!t.measuring && now >= t.measure_start) {
    t.measuring = true;  // the omitted seconds are over: count from here
    for (Iperf3Stream& s : t.streams) {
      s.bytes = s.interval_bytes = 0;
      s.rx = {};
    }
  }
  std::size_t budget = kIoBudget;
  const std::size_t before = budget;
  for (Iperf3Stream& s : t.streams) {
    if (t.params.udp) {
      if (s.sending) SendPacedUdp(stack_, s, t.params, now - t.start, now, t.block, budget, &s.peer);
      continue;
    }
    const bool alive =
        s.sending ? Fill(stack_, s, t.block, budget, t.params.byte_limit()) : Drain(stack_, s, buf_, budget, true);
    if (!alive) {
      Fail(kIeMessage, absl::StrCat("stream ", s.id, ": the connection broke"));
      return true;
    }
  }
  if (!t.measuring) {
    for (Iperf3Stream& s : t.streams) s.bytes = s.interval_bytes = 0;
  }
  return budget != before;
}

void Iperf3Server::Report(bool final) {
  Test& t = *test_;
  const double from = final ? 0 : Seconds(t.next_interval - t.measure_start) - 1;
  const double to = final ? Seconds(t.end - t.measure_start) : Seconds(t.next_interval - t.measure_start);
  std::uint64_t sum = 0;
  std::vector<std::string> lines;
  if (final) lines.push_back("iperf3: - - - - - - - - - - - - - - - - - - - - - - - - -");
  for (Iperf3Stream& s : t.streams) {
    const std::uint64_t bytes = final ? s.bytes : s.interval_bytes;
    sum += bytes;
    std::string extra = final ? (s.sending ? "  sender" : "  receiver") : "";
    if (t.params.udp && !s.sending) {
      extra = absl::StrFormat("  %.3f ms  %d/%d (%.2g%%)%s", s.rx.jitter * 1000, s.rx.errors, s.rx.packets,
                              s.rx.packets ? 100.0 * static_cast<double>(s.rx.errors) / static_cast<double>(s.rx.packets)
                                           : 0.0,
                              extra);
    }
    lines.push_back("iperf3: " + Line(absl::StrCat(s.id), from, to, static_cast<double>(bytes), extra));
    s.interval_bytes = 0;
  }
  if (t.streams.size() > 1) lines.push_back("iperf3: " + Line("SUM", from, to, static_cast<double>(sum)));
  for (const std::string& l : lines) {
    out_(l);
    if (t.params.get_server_output) absl::StrAppend(&t.output, l.substr(8), "\n");
  }
}

// After TEST_END, until the test is over: TCP bytes still coming are read
// and dropped (the client's last writes), and, until the client's results
// come, the sending streams go on sending (uncounted). iperf3 3.12 clients
// drain their streams after TEST_END with blocking reads of whole blocks
// and read the control connection only between them: with nothing more
// coming, one would wait for ever (the kernel's deep send buffers hide this
// against a Linux server).
void Iperf3Server::Linger() {
  Test& t = *test_;
  if (t.params.udp) return;
  std::size_t budget = kIoBudget;
  for (Iperf3Stream& s : t.streams) {
    if (s.sending) {
      if (t.phase == Test::Phase::kResults) Fill(stack_, s, t.block, budget, UINT64_MAX, false);
    } else {
      Drain(stack_, s, buf_, budget, false);
    }
  }
}

bool Iperf3Server::StepTest() {
  Test& t = *test_;
  const Instant now = clock_.Now();
  if (!t.ctrl->Pump()) {
    EndTest(false, t.ctrl->why());
    return true;
  }
  bool moved = false;
  switch (t.phase) {
    case Test::Phase::kParams: {
      bool bad = false;
      auto text = t.ctrl->TakeJson(bad);
      if (bad) {
        Fail(kIeRecvParams, "the parameters' length field is out of range");
        return true;
      }
      if (!text) break;
      std::string why;
      auto params = iperf::Params::Parse(*text, &why);
      if (!params) {
        Fail(kIeRecvParams, "bad parameters: " + why);
        return true;
      }
      t.params = *params;
      if (t.params.udp && t.params.bandwidth == 0) t.params.bandwidth = 1'000'000;  // iperf3's UDP default
      t.phase = Test::Phase::kCreating;
      t.phase_since = now;
      t.ctrl->QueueState(State::kCreateStreams);
      moved = true;
      break;
    }
    case Test::Phase::kCreating:
      if (static_cast<int>(t.streams.size()) == t.params.stream_count()) {
        StartRunning();
        moved = true;
      }
      break;
    case Test::Phase::kRunning: {
      moved = MoveData();
      if (!test_) return true;
      if (t.measuring && now >= t.next_interval) {
        Report(false);
        t.next_interval = t.next_interval + Duration::Seconds(1);
      }
      if (auto b = t.ctrl->TakeByte()) {
        moved = true;
        if (*b == static_cast<std::int8_t>(State::kClientTerminate)) {
          EndTest(false, "the client ended the test early (CLIENT_TERMINATE)");
          return true;
        }
        if (*b != static_cast<std::int8_t>(State::kTestEnd)) {
          Fail(kIeMessage, "unexpected control message " + iperf::StateName(*b) + " while the test ran");
          return true;
        }
        t.end = now;
        if (!t.measuring) t.measure_start = t.end;
        TakeRetransmits(stack_, t.streams, t.params.udp);
        Report(true);
        t.phase = Test::Phase::kResults;
        t.phase_since = now;
        t.ctrl->QueueState(State::kExchangeResults);
      } else if (t.ctrl->closed_by_peer()) {
        EndTest(false, "the client closed the control connection while the test ran");
        return true;
      }
      break;
    }
    case Test::Phase::kResults: {
      Linger();
      bool bad = false;
      auto text = t.ctrl->TakeJson(bad);
      if (bad) {
        Fail(kIeRecvResults, "the results' length field is out of range");
        return true;
      }
      if (!text) break;
      std::string why;
      const auto theirs = iperf::Results::Parse(*text, &why);
      if (!theirs) {
        Fail(kIeRecvResults, "bad results from the client: " + why);
        return true;
      }
      iperf::Results mine = OurResults(t.streams, t.params, t.params.server_sends(), t.cpu_at_start, t.end - t.start,
                                       t.end - t.measure_start);
      mine.server_output_text = t.output;
      t.ctrl->Queue(iperf::FrameJson(mine.ToJson()));
      t.ctrl->QueueState(State::kDisplayResults);
      t.phase = Test::Phase::kDisplay;
      t.phase_since = now;
      moved = true;
      break;
    }
    case Test::Phase::kDisplay:
      Linger();
      if (auto b = t.ctrl->TakeByte()) {
        if (*b == static_cast<std::int8_t>(State::kIperfDone)) {
          t.ctrl->Pump();
          EndTest(true, "");
        } else {
          EndTest(false, "expected IPERF_DONE, got " + iperf::StateName(*b));
        }
        return true;
      }
      if (t.ctrl->closed_by_peer() && !t.ctrl->has_output()) {
        EndTest(true, "");  // an older client closes instead of IPERF_DONE
        return true;
      }
      break;
  }
  if (!test_) return true;
  // No phase may stall the server.
  const bool running = t.phase == Test::Phase::kRunning;
  const Duration limit =
      running ? Duration::Seconds(static_cast<std::int64_t>(t.params.time + t.params.omit)) + kRunGrace : kPhaseLimit;
  if (now - (running ? t.start : t.phase_since) > limit) {
    Fail(kIeMessage, running ? "no TEST_END from the client" : "the client went silent");
    return true;
  }
  if (!running && t.ctrl->closed_by_peer() && t.phase != Test::Phase::kDisplay) {
    EndTest(false, "the client closed the control connection");
    return true;
  }
  t.ctrl->Pump();
  return moved;
}

bool Iperf3Server::Step() {
  AcceptNew();
  bool moved = ServePending();
  moved |= ServeUdp();
  if (test_) moved |= StepTest();
  return moved;
}

Instant Iperf3Server::NextDeadline() const {
  Instant at = clock_.Now() + Duration::Millis(100);
  if (test_ && test_->phase == Test::Phase::kRunning) {
    at = std::min(at, test_->next_interval);
    if (test_->params.udp) {
      for (const Iperf3Stream& s : test_->streams) {
        if (s.sending) at = std::min(at, UdpNextSend(s, test_->params.bandwidth, test_->block.size(), test_->start));
      }
    }
  }
  return at;
}

std::vector<Stack::PollFd> Iperf3Server::PollSet() const {
  std::vector<Stack::PollFd> fds;
  for (const int fd : listeners_) fds.push_back({fd, POLLIN, 0});
  for (const int fd : udp_) fds.push_back({fd, POLLIN, 0});
  for (const Pending& p : pending_) fds.push_back({p.fd, POLLIN, 0});
  if (test_) {
    fds.push_back({test_->ctrl->fd(), static_cast<short>(POLLIN | (test_->ctrl->has_output() ? POLLOUT : 0)), 0});
    if (test_->phase == Test::Phase::kRunning && !test_->params.udp) {
      for (const Iperf3Stream& s : test_->streams) fds.push_back({s.fd, static_cast<short>(s.sending ? POLLOUT : POLLIN), 0});
    }
  }
  return fds;
}

void Iperf3Server::Run(const std::atomic<bool>& stop) {
  while (!stop.load(std::memory_order_acquire)) {
    if (Step()) continue;
    WaitForWork(stack_, PollSet(), NextDeadline() - clock_.Now());
  }
}

// ------------------------------------------------------------------- client

enum class Iperf3Client::Phase {
  kConnect,
  kParamExchange,
  kCreateStreams,
  kStarting,
  kRunning,
  kWaitExchange,
  kServerResults,
  kWaitDisplay,
  kDone
};

Iperf3Client::Iperf3Client(Stack& stack, const engine::Clock& clock, Iperf3ClientOptions options, Iperf3Out out)
    : stack_(stack),
      clock_(clock),
      options_(std::move(options)),
      out_(std::move(out)),
      phase_(Phase::kConnect),
      buf_(256 * 1024) {
  std::random_device rd;
  std::uint32_t r[36];
  for (auto& v : r) v = rd();
  cookie_ = iperf::MakeCookie(r);
  if (options_.params.udp && options_.params.bandwidth == 0) options_.params.bandwidth = 1'000'000;
  options_.params.len = options_.params.block_len();
  phase_since_ = clock_.Now();
}

Iperf3Client::~Iperf3Client() {
  for (const Iperf3Stream& s : streams_) stack_.Close(s.fd);
  Close();
}

void Iperf3Client::Finish(bool ok, const std::string& why) {
  if (done_) return;
  done_ = true;
  phase_ = Phase::kDone;
  summary_.ok = ok;
  summary_.error = why;
  if (!ok) out_("iperf3: error: " + why);
  for (Iperf3Stream& s : streams_) {
    stack_.Close(s.fd);
    s.fd = -1;
  }
  streams_.clear();
  if (ctrl_) ctrl_->Pump();
  ctrl_.reset();
  // The control connection is shut for sending, not closed: Run waits for
  // the server to close its side, so our last word (IPERF_DONE) is known to
  // have arrived before the engine may stop (a server that never hears it
  // stays busy).
  if (ctrl_fd_ >= 0) stack_.Shutdown(ctrl_fd_, SHUT_WR);
}

void Iperf3Client::Close() {
  if (ctrl_fd_ >= 0) stack_.Close(ctrl_fd_);
  ctrl_fd_ = -1;
}

bool Iperf3Client::Ended() const {
  const iperf::Params& p = options_.params;
  const Instant now = clock_.Now();
  if (p.bytes != 0 || p.blocks != 0) {
    std::uint64_t moved = 0;
    for (const Iperf3Stream& s : streams_) moved += s.sending ? s.sent_total : s.bytes;
    return moved >= p.byte_limit();
  }
  return now - start_ >= Duration::Nanos(static_cast<std::int64_t>((p.time + p.omit) * 1e9));
}

// A non-blocking connect's progress: 1 connected, 0 still going, -1 failed
// (errno set).
int Iperf3Client::Connected(int fd) {
  Stack::PollFd pfd{fd, POLLOUT, 0};
  if (stack_.Poll(std::span(&pfd, 1), 0) == 0) return 0;
  int err = 0;
  if (stack_.GetSockOpt(fd, SOL_SOCKET, SO_ERROR, &err) != 0) return -1;
  if (err != 0) {
    errno = err;
    return -1;
  }
  return (pfd.revents & POLLOUT) != 0 ? 1 : 0;
}

// Opens the streams one at a time, in the order the server numbers them:
// a TCP stream connects and sends the cookie; a UDP one sends its hello and
// waits for the server's reply (an iperf3 server makes a new socket for the
// next stream once one connects).
bool Iperf3Client::OpenStreams() {
  const iperf::Params& p = options_.params;
  const int domain = options_.server.addr.is_v6() ? AF_INET6 : AF_INET;
  if (!streams_.empty() && !stream_open_) {
    Iperf3Stream& s = streams_.back();
    if (p.udp) {
      std::byte reply[16];
      const ssize_t n = stack_.Recv(s.fd, reply, true);
      if (n < 4 || !iperf::IsUdpConnectWord(iperf::kUdpConnectReply, std::span(reply).first(4))) {
        if (clock_.Now() - opening_since_ > Duration::Seconds(5)) Finish(false, "no answer to a UDP stream's hello");
        return done_;
      }
    } else {
      const int c = Connected(s.fd);
      if (c == 0) {
        if (clock_.Now() - opening_since_ > kPhaseLimit) Finish(false, absl::StrCat("stream ", s.id, ": connect timed out"));
        return done_;
      }
      if (c < 0 || stack_.Send(s.fd, std::as_bytes(std::span(cookie_))) != static_cast<ssize_t>(cookie_.size())) {
        Finish(false, absl::StrCat("stream ", s.id, ": cannot connect or send the cookie: ", std::strerror(errno)));
        return true;
      }
    }
    stream_open_ = true;
    Endpoint local;
    stack_.GetSockName(s.fd, &local);
    out_(absl::StrFormat("iperf3: [%3d] local %s port %d connected to %s port %d", s.id, local.addr.ToString(),
                         local.port, options_.server.addr.ToString(), options_.server.port));
  }
  if (static_cast<int>(streams_.size()) == p.stream_count()) return false;
  const int index = static_cast<int>(streams_.size());
  Iperf3Stream s;
  s.id = iperf::StreamId(index);
  s.sending = !iperf::ServerSendsOnStream(p, index);
  s.fd = stack_.Socket(domain, (p.udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK);
  if (s.fd < 0) {
    Finish(false, absl::StrCat("socket: ", std::strerror(errno)));
    return true;
  }
  if (p.window != 0) stack_.SetSockOpt(s.fd, SOL_SOCKET, s.sending ? SO_SNDBUF : SO_RCVBUF, static_cast<int>(p.window));
  if (p.udp) {
    stack_.SetSockOpt(s.fd, SOL_SOCKET, SO_RCVBUF, 4 << 20);
    stack_.SetSockOpt(s.fd, SOL_SOCKET, SO_SNDBUF, 4 << 20);
  }
  if (!p.udp && p.nodelay) stack_.SetSockOpt(s.fd, IPPROTO_TCP, TCP_NODELAY, 1);
  if (!p.udp && !p.congestion.empty()) stack_.SetCongestion(s.fd, p.congestion);
  if (stack_.Connect(s.fd, options_.server) != 0 && errno != EINPROGRESS) {
    const int err = errno;
    stack_.Close(s.fd);
    Finish(false, absl::StrCat("stream ", s.id, ": connect: ", std::strerror(err)));
    return true;
  }
  if (p.udp) {
    std::byte hello[4];
    iperf::EmitUdpConnectWord(iperf::kUdpConnectMsg, hello);
    stack_.Send(s.fd, hello);
  }
  streams_.push_back(s);
  stream_open_ = false;
  opening_since_ = clock_.Now();
  return true;
}

bool Iperf3Client::MoveData() {
  const iperf::Params& p = options_.params;
  const Instant now = clock_.Now();
  if (!measuring_ && now >= measure_start_) {
    measuring_ = true;
    for (Iperf3Stream& s : streams_) {
      s.bytes = s.interval_bytes = 0;
      s.rx = {};
    }
  }
  std::size_t budget = kIoBudget;
  const std::size_t before = budget;
  for (Iperf3Stream& s : streams_) {
    if (p.udp) {
      if (s.sending) {
        SendPacedUdp(stack_, s, p, now - start_, now, block_, budget, nullptr);
      } else {
        for (int k = 0; k < 4096; ++k) {
          const ssize_t n = stack_.Recv(s.fd, buf_, true);
          if (n < 0) break;
          const auto data = std::span(buf_).first(static_cast<std::size_t>(n));
          const auto h = iperf::UdpHeader::Parse(data, p.udp_counters_64bit);
          budget -= std::min(budget, data.size());
          if (!h || !measuring_) continue;
          s.rx.OnDatagram(*h, data.size(), SecondsOf(clock_.Now()));
          s.bytes += data.size();
          s.interval_bytes += data.size();
        }
      }
      continue;
    }
    const bool alive = s.sending ? Fill(stack_, s, block_, budget, p.byte_limit()) : Drain(stack_, s, buf_, budget, true);
    if (!alive) {
      Finish(false, absl::StrCat("stream ", s.id, ": the connection broke"));
      return true;
    }
  }
  if (!measuring_) {
    for (Iperf3Stream& s : streams_) s.bytes = s.interval_bytes = 0;
  }
  return budget != before;
}

void Iperf3Client::Report() {
  const double from = Seconds(next_interval_ - measure_start_) - options_.interval_s;
  const double to = Seconds(next_interval_ - measure_start_);
  std::uint64_t sum = 0;
  for (Iperf3Stream& s : streams_) {
    sum += s.interval_bytes;
    std::string extra;
    if (options_.params.udp && !s.sending) {
      extra = absl::StrFormat("  %.3f ms  %d/%d", s.rx.jitter * 1000, s.rx.errors, s.rx.packets);
    }
    out_("iperf3: " + Line(absl::StrCat(s.id), from, to, static_cast<double>(s.interval_bytes), extra));
    s.interval_bytes = 0;
  }
  if (streams_.size() > 1) out_("iperf3: " + Line("SUM", from, to, static_cast<double>(sum)));
}

bool Iperf3Client::ShowResults(const std::string& text) {
  std::string why;
  const auto theirs = iperf::Results::Parse(text, &why);
  if (!theirs) {
    Finish(false, "bad results from the server: " + why);
    return false;
  }
  // Each stream's two ends: ours and what the server measured.
  summary_.seconds = Seconds(end_ - measure_start_);
  out_("iperf3: - - - - - - - - - - - - - - - - - - - - - - - - -");
  int udp_receivers = 0;
  for (const Iperf3Stream& s : streams_) {
    const iperf::StreamResult* peer = nullptr;
    for (const iperf::StreamResult& r : theirs->streams) {
      if (r.id == s.id) peer = &r;
    }
    const std::uint64_t other = peer != nullptr ? peer->bytes : 0;
    const std::uint64_t sent = s.sending ? s.bytes : other;
    const std::uint64_t received = s.sending ? other : s.bytes;
    if (s.sending) {
      summary_.sent += sent;
      summary_.sent_received += received;
      summary_.retransmits += std::max<std::int64_t>(s.retransmits, 0);
    } else {
      summary_.received += received;
      summary_.received_sent += sent;
    }
    if (options_.params.udp) {
      // The receiving end's jitter and losses: the server's for our sending
      // streams, ours for the others.
      iperf::StreamResult rx;
      if (s.sending) {
        if (peer != nullptr) rx = *peer;
      } else {
        rx.jitter = s.rx.jitter;
        rx.errors = s.rx.errors;
        rx.packets = static_cast<std::int64_t>(s.rx.packets);
      }
      summary_.jitter_ms += rx.jitter * 1000;
      summary_.lost += rx.errors;
      summary_.packets += rx.packets;
      ++udp_receivers;
    }
    const std::string id = absl::StrCat(s.id);
    const bool retr = s.sending && !options_.params.udp;
    out_("iperf3: " + Line(id, 0, summary_.seconds, static_cast<double>(sent),
                           retr ? absl::StrCat("  ", s.retransmits, " retr  sender") : "  sender"));
    out_("iperf3: " + Line(id, 0, summary_.seconds, static_cast<double>(received), "  receiver"));
  }
  if (udp_receivers > 0) summary_.jitter_ms /= udp_receivers;
  if (streams_.size() > 1) {
    if (options_.params.client_sends()) {
      out_("iperf3: " + Line("SUM", 0, summary_.seconds, static_cast<double>(summary_.sent), "  sender"));
      out_("iperf3: " + Line("SUM", 0, summary_.seconds, static_cast<double>(summary_.sent_received), "  receiver"));
    }
    if (options_.params.server_sends()) {
      out_("iperf3: " + Line("SUM", 0, summary_.seconds, static_cast<double>(summary_.received_sent),
                             "  sender (server)"));
      out_("iperf3: " + Line("SUM", 0, summary_.seconds, static_cast<double>(summary_.received), "  receiver"));
    }
  }
  if (options_.params.udp) {
    out_(absl::StrFormat("iperf3: UDP: jitter %.3f ms, lost %d of %d datagrams", summary_.jitter_ms, summary_.lost,
                         summary_.packets));
  }
  if (!theirs->server_output_text.empty()) out_("iperf3: the server's output:\n" + theirs->server_output_text);
  return true;
}

void Iperf3Client::StartRunning() {
  phase_ = Phase::kRunning;
  start_ = clock_.Now();
  measure_start_ = start_ + Duration::Seconds(options_.params.omit);
  measuring_ = options_.params.omit == 0;
  next_interval_ = measure_start_ + Duration::Seconds(std::max(options_.interval_s, 1));
  block_.assign(options_.params.block_len(), std::byte{0});
  for (std::size_t i = 0; i < block_.size(); ++i) block_[i] = static_cast<std::byte>('0' + i % 10);
  stream_open_ = true;  // a UDP reply still on its way is read as data (too short: ignored)
  out_("iperf3: [ ID] Interval           Transfer         Bitrate");
}

void Iperf3Client::SendResults() {
  const iperf::Results mine = OurResults(streams_, options_.params, options_.params.client_sends(), cpu_at_start_,
                                         end_ - start_, end_ - measure_start_);
  ctrl_->Queue(iperf::FrameJson(mine.ToJson()));
}

// While our address is still being probed (ACD, DAD) or the server is
// starting, a refused or unreachable connect is tried again for a while, as
// the echo client does.
bool Iperf3Client::ConnectFailed(Instant now, int err) {
  stack_.Close(ctrl_fd_);
  ctrl_fd_ = -1;
  const bool retry = err == ENETUNREACH || err == ECONNREFUSED || err == ETIMEDOUT || err == EADDRNOTAVAIL;
  if (retry && now - phase_since_ < kPhaseLimit) {
    retry_at_ = now + Duration::Millis(200);
    return false;
  }
  Finish(false, absl::StrCat("cannot connect to ", options_.server.addr.ToString(), " port ", options_.server.port,
                             ": ", std::strerror(err)));
  return true;
}

bool Iperf3Client::StepControl() {
  const Instant now = clock_.Now();
  if (phase_ == Phase::kConnect) return StepConnect(now);
  if (!ctrl_->Pump()) {
    Finish(false, ctrl_->why());
    return true;
  }
  bool moved = false;
  if (phase_ == Phase::kCreateStreams && creating_) moved |= OpenStreams();
  if (done_) return true;
  if (phase_ == Phase::kRunning) {
    moved |= StepRunning(now);
    if (done_) return true;
  }
  if (phase_ == Phase::kWaitExchange || phase_ == Phase::kServerResults || phase_ == Phase::kWaitDisplay) {
    // The test is over: what the server still sends is read and dropped,
    // so its sends never block on us.
    std::size_t budget = kIoBudget;
    for (Iperf3Stream& s : streams_) {
      if (!s.sending && !options_.params.udp) Drain(stack_, s, buf_, budget, false);
    }
  }
  moved |= ReadServer(now);
  if (done_) return true;
  if (ctrl_->closed_by_peer()) {
    Finish(false, "the server closed the control connection");
    return true;
  }
  if (phase_ != Phase::kRunning && now - phase_since_ > kPhaseLimit) {
    Finish(false, "the server went silent");
    return true;
  }
  ctrl_->Pump();
  return moved;
}

// The control connection: opened, then (once connected) the cookie sent.
bool Iperf3Client::StepConnect(Instant now) {
  if (now < retry_at_) return false;
  if (ctrl_fd_ < 0) {
    const int domain = options_.server.addr.is_v6() ? AF_INET6 : AF_INET;
    ctrl_fd_ = stack_.Socket(domain, SOCK_STREAM | SOCK_NONBLOCK);
    if (ctrl_fd_ < 0) {
      Finish(false, absl::StrCat("socket: ", std::strerror(errno)));
      return true;
    }
    if (stack_.Connect(ctrl_fd_, options_.server) != 0 && errno != EINPROGRESS) return ConnectFailed(now, errno);
  }
  const int c = Connected(ctrl_fd_);
  if (c < 0) return ConnectFailed(now, errno);
  if (c == 0) {
    if (now - phase_since_ > kPhaseLimit) return ConnectFailed(now, ETIMEDOUT);
    return false;
  }
  ctrl_ = std::make_unique<Iperf3Control>(stack_, ctrl_fd_);
  ctrl_->Queue(cookie_);
  out_(absl::StrCat("iperf3: connected to ", options_.server.addr.ToString(), " port ", options_.server.port));
  phase_ = Phase::kParamExchange;
  phase_since_ = now;
  return true;
}

// The test: data moved, interval reports, and at the end TEST_END.
bool Iperf3Client::StepRunning(Instant now) {
  bool moved = MoveData();
  if (done_) return true;
  if (measuring_ && options_.interval_s > 0 && now >= next_interval_) {
    Report();
    next_interval_ = next_interval_ + Duration::Seconds(options_.interval_s);
  }
  if (Ended()) {
    end_ = now;
    if (!measuring_) measure_start_ = end_;
    TakeRetransmits(stack_, streams_, options_.params.udp);
    ctrl_->QueueState(State::kTestEnd);
    phase_ = Phase::kWaitExchange;
    phase_since_ = now;
    moved = true;
  }
  return moved;
}

// What the server says: its results (a JSON object) while they are due,
// else state bytes; ends the test on an error state or one out of turn.
bool Iperf3Client::ReadServer(Instant now) {
  bool moved = false;
  while (!done_) {
    if (phase_ == Phase::kServerResults) {
      bool bad = false;
      auto text = ctrl_->TakeJson(bad);
      if (bad) {
        Finish(false, "the server's results have a bad length field");
        return true;
      }
      if (!text) break;
      if (!ShowResults(*text)) return true;
      phase_ = Phase::kWaitDisplay;
      phase_since_ = now;
      moved = true;
      continue;
    }
    const auto b = ctrl_->TakeByte();
    if (!b) break;
    moved = true;
    OnServerState(*b, now);
  }
  return moved;
}

// One state byte from the server, in the phase the client is in (iperf3's
// sequence: PARAM_EXCHANGE, CREATE_STREAMS, TEST_START, TEST_RUNNING, then
// after the client's TEST_END: EXCHANGE_RESULTS, DISPLAY_RESULTS).
void Iperf3Client::OnServerState(std::uint8_t byte, Instant now) {
  const auto state = static_cast<State>(byte);
  switch (state) {
    case State::kAccessDenied: return Finish(false, "the server is busy running a test (ACCESS_DENIED)");
    case State::kServerError:  // two 4-byte numbers follow: not needed
      return Finish(false, "the server reported an error (SERVER_ERROR)");
    case State::kServerTerminate: return Finish(false, "the server ended the test (SERVER_TERMINATE)");
    default: break;
  }
  if (phase_ == Phase::kParamExchange && state == State::kParamExchange) {
    ctrl_->Queue(iperf::FrameJson(options_.params.ToJson()));
    phase_ = Phase::kCreateStreams;
    phase_since_ = now;
  } else if (phase_ == Phase::kCreateStreams && state == State::kCreateStreams && !creating_) {
    creating_ = true;
    OpenStreams();
  } else if (phase_ == Phase::kCreateStreams && state == State::kTestStart && creating_) {
    phase_ = Phase::kStarting;
    phase_since_ = now;
  } else if (phase_ == Phase::kStarting && state == State::kTestRunning) {
    cpu_at_start_ = CpuSeconds();
    StartRunning();
  } else if (phase_ == Phase::kWaitExchange && state == State::kExchangeResults) {
    SendResults();
    phase_ = Phase::kServerResults;
    phase_since_ = now;
  } else if (phase_ == Phase::kWaitDisplay && state == State::kDisplayResults) {
    ctrl_->QueueState(State::kIperfDone);
    Finish(true, "");
  } else {
    Finish(false, "unexpected control message " + iperf::StateName(byte));
  }
}

bool Iperf3Client::Step() {
  if (done_) return false;
  return StepControl();
}

Instant Iperf3Client::NextDeadline() const {
  Instant at = clock_.Now() + Duration::Millis(100);
  if (phase_ == Phase::kConnect) at = std::min(at, retry_at_);
  if (phase_ == Phase::kRunning) {
    at = std::min(at, next_interval_);
    const iperf::Params& p = options_.params;
    if (p.bytes == 0 && p.blocks == 0) {
      at = std::min(at, start_ + Duration::Nanos(static_cast<std::int64_t>((p.time + p.omit) * 1e9)));
    }
    if (p.udp) {
      for (const Iperf3Stream& s : streams_) {
        if (s.sending) at = std::min(at, UdpNextSend(s, p.bandwidth, block_.size(), start_));
      }
    }
  }
  return at;
}

std::vector<Stack::PollFd> Iperf3Client::PollSet() const {
  std::vector<Stack::PollFd> fds;
  if (!ctrl_) {
    if (ctrl_fd_ >= 0) fds.push_back({ctrl_fd_, POLLOUT, 0});
    return fds;
  }
  fds.push_back({ctrl_->fd(), static_cast<short>(POLLIN | (ctrl_->has_output() ? POLLOUT : 0)), 0});
  for (const Iperf3Stream& s : streams_) {
    if (phase_ == Phase::kCreateStreams && !stream_open_ && &s == &streams_.back()) {
      fds.push_back({s.fd, static_cast<short>(options_.params.udp ? POLLIN : POLLOUT), 0});
    } else if (options_.params.udp) {
      if (!s.sending) fds.push_back({s.fd, POLLIN, 0});
    } else if (phase_ == Phase::kRunning) {
      fds.push_back({s.fd, static_cast<short>(s.sending ? POLLOUT : POLLIN), 0});
    }
  }
  return fds;
}

Iperf3Summary Iperf3Client::Run(const std::function<bool()>& stop) {
  while (!done_) {
    if (stop && stop()) {
      if (ctrl_) ctrl_->QueueState(State::kClientTerminate);
      Finish(false, "interrupted");
      break;
    }
    if (Step()) continue;
    WaitForWork(stack_, PollSet(), NextDeadline() - clock_.Now());
  }
  // Linger (at most 2 s) until the server has closed the control connection.
  const Instant until = clock_.Now() + Duration::Seconds(2);
  while (ctrl_fd_ >= 0 && clock_.Now() < until) {
    std::byte buf[64];
    const ssize_t n = stack_.Recv(ctrl_fd_, buf, true);
    if (n == 0 || (n < 0 && errno != EAGAIN)) break;
    if (n < 0) {
      Stack::PollFd pfd{ctrl_fd_, POLLIN, 0};
      stack_.Poll(std::span(&pfd, 1), 100);
    }
  }
  Close();
  return summary_;
}

namespace {

// "100M", "1.5G", "64K": iperf3's suffixes (K/M/G: powers of 1000 for
// rates, 1024 for sizes).
std::optional<double> Scaled(const std::string& s, double k) {
  if (s.empty()) return std::nullopt;
  double mult = 1;
  std::string num = s;
  switch (s.back()) {
    case 'k': case 'K': mult = k; break;
    case 'm': case 'M': mult = k * k; break;
    case 'g': case 'G': mult = k * k * k; break;
    default: break;
  }
  if (mult != 1) num.pop_back();
  double v = 0;
  if (!absl::SimpleAtod(num, &v) || !std::isfinite(v) || v < 0) return std::nullopt;
  return v * mult;
}

}  // namespace

absl::StatusOr<Iperf3ClientOptions> Iperf3Client::ParseArgs(const std::vector<std::string>& words) {
  Iperf3ClientOptions o;
  o.server.port = iperf::kPort;
  bool have_addr = false;
  iperf::Params& p = o.params;
  for (std::size_t i = 0; i < words.size(); ++i) {
    const std::string& w = words[i];
    auto value = [&](const char* what) -> absl::StatusOr<std::string> {
      if (i + 1 >= words.size()) return absl::InvalidArgumentError(absl::StrCat(w, " needs ", what));
      return words[++i];
    };
    auto whole = [&](const char* what, double lo, double hi, double k = 1) -> absl::StatusOr<double> {
      auto v = value(what);
      if (!v.ok()) return v.status();
      const auto d = Scaled(*v, k == 1 ? 1000 : k);
      if (!d || *d < lo || *d > hi || (k == 1 && *d != std::floor(*d))) {
        return absl::InvalidArgumentError(absl::StrCat(w, ": '", *v, "' is not ", what, " (", lo, " to ", hi, ")"));
      }
      return *d;
    };
    if (w == "-t") {
      auto v = whole("seconds", 1, 86400);
      if (!v.ok()) return v.status();
      p.time = *v;
    } else if (w == "-P") {
      auto v = whole("a stream count", 1, iperf::kMaxStreams);
      if (!v.ok()) return v.status();
      p.parallel = static_cast<int>(*v);
    } else if (w == "-p") {
      auto v = whole("a port", 1, 65535);
      if (!v.ok()) return v.status();
      o.server.port = static_cast<std::uint16_t>(*v);
    } else if (w == "-O") {
      auto v = whole("seconds", 0, 600);
      if (!v.ok()) return v.status();
      p.omit = static_cast<int>(*v);
    } else if (w == "-i") {
      auto v = whole("seconds", 0, 60);
      if (!v.ok()) return v.status();
      o.interval_s = static_cast<int>(*v);
    } else if (w == "-R") {
      p.reverse = true;
    } else if (w == "--bidir") {
      p.bidir = true;
    } else if (w == "-u") {
      p.udp = true;
    } else if (w == "-N") {
      p.nodelay = true;
    } else if (w == "-b") {
      auto v = whole("a rate in bits/s (K/M/G)", 1, 1e12, 1000);
      if (!v.ok()) return v.status();
      p.bandwidth = static_cast<std::uint64_t>(*v);
    } else if (w == "-l") {
      auto v = whole("a length (K/M)", 16, 1 << 20, 1024);
      if (!v.ok()) return v.status();
      p.len = static_cast<std::uint32_t>(*v);
    } else if (w == "-n") {
      auto v = whole("a byte count (K/M/G)", 1, 1e15, 1024);
      if (!v.ok()) return v.status();
      p.bytes = static_cast<std::uint64_t>(*v);
    } else if (w == "-w") {
      auto v = whole("a window (K/M)", 2048, 1 << 30, 1024);
      if (!v.ok()) return v.status();
      p.window = static_cast<std::uint32_t>(*v);
    } else if (w == "-C") {
      auto v = value("a congestion control name");
      if (!v.ok()) return v.status();
      p.congestion = *v;
    } else if (!w.empty() && w[0] == '-') {
      return absl::InvalidArgumentError(absl::StrCat("unknown option ", w, " (usage: ", kUsage, ")"));
    } else if (!have_addr) {
      const auto a = proto::IpAddress::Parse(w);
      if (!a) return absl::InvalidArgumentError(absl::StrCat("'", w, "' is not an IPv4 or IPv6 address"));
      o.server.addr = *a;
      have_addr = true;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("one server address only ('", w, "' is a second)"));
    }
  }
  if (!have_addr) return absl::InvalidArgumentError(absl::StrCat("a server address is needed (usage: ", kUsage, ")"));
  if (p.reverse && p.bidir) return absl::InvalidArgumentError("-R and --bidir exclude each other");
  if (p.udp && p.len != 0 && (p.len < iperf::UdpHeader::Len(false) || p.len > 65507)) {
    return absl::InvalidArgumentError("-l: a UDP length is 16 to 65507 bytes");
  }
  if (!p.udp && p.bandwidth != 0) return absl::InvalidArgumentError("-b paces UDP only here (add -u)");
  return o;
}

}  // namespace ringstack::sockets
