// Iperf3Client (iperf3.h): a test against an iperf3 server, its options
// parsed as iperf3's own client takes them.
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
using namespace iperf3_io;  // NOLINT(google-build-using-namespace): the shared helpers are this file's vocabulary

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

// One state byte from the server: what iperf3's sequence
// (protocols/iperf3/iperf3_control.h) makes of it in this phase, carried out.
void Iperf3Client::OnServerState(std::uint8_t byte, Instant now) {
  const auto state = static_cast<std::int8_t>(byte);
  const iperf::ClientStep step = iperf::ClientOnState(phase_, creating_, state);
  switch (step.action) {
    case iperf::ClientAction::kSendParams:
      ctrl_->Queue(iperf::FrameJson(options_.params.ToJson()));
      break;
    case iperf::ClientAction::kOpenStreams:
      creating_ = true;
      OpenStreams();
      break;
    case iperf::ClientAction::kAwaitRunning:
      break;
    case iperf::ClientAction::kStartTest:
      cpu_at_start_ = CpuSeconds();
      StartRunning();
      return;  // StartRunning enters the phase and its clock
    case iperf::ClientAction::kSendResults:
      SendResults();
      break;
    case iperf::ClientAction::kFinish:
      ctrl_->QueueState(State::kIperfDone);
      return Finish(true, "");
    case iperf::ClientAction::kAccessDenied:
      return Finish(false, "the server is busy running a test (ACCESS_DENIED)");
    case iperf::ClientAction::kServerError:  // two 4-byte numbers follow: not needed
      return Finish(false, "the server reported an error (SERVER_ERROR)");
    case iperf::ClientAction::kServerTerminate:
      return Finish(false, "the server ended the test (SERVER_TERMINATE)");
    case iperf::ClientAction::kUnexpected:
      return Finish(false, "unexpected control message " + iperf::StateName(state));
  }
  if (done_ || step.next == phase_) return;
  phase_ = step.next;
  phase_since_ = now;
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

// iperf3's options that take a number: its range, and the suffix base (1:
// a plain number, whole unless the base is given; 1000 for rates, 1024 for
// sizes).
struct NumericOption {
  const char* flag;
  const char* what;
  double lo, hi, base;
  void (*set)(Iperf3ClientOptions& o, double v);
};
constexpr NumericOption kNumericOptions[] = {
    {"-t", "seconds", 1, 86400, 1, [](Iperf3ClientOptions& o, double v) { o.params.time = v; }},
    {"-P", "a stream count", 1, iperf::kMaxStreams, 1,
     [](Iperf3ClientOptions& o, double v) { o.params.parallel = static_cast<int>(v); }},
    {"-p", "a port", 1, 65535, 1,
     [](Iperf3ClientOptions& o, double v) { o.server.port = static_cast<std::uint16_t>(v); }},
    {"-O", "seconds", 0, 600, 1, [](Iperf3ClientOptions& o, double v) { o.params.omit = static_cast<int>(v); }},
    {"-i", "seconds", 0, 60, 1, [](Iperf3ClientOptions& o, double v) { o.interval_s = static_cast<int>(v); }},
    {"-b", "a rate in bits/s (K/M/G)", 1, 1e12, 1000,
     [](Iperf3ClientOptions& o, double v) { o.params.bandwidth = static_cast<std::uint64_t>(v); }},
    {"-l", "a length (K/M)", 16, 1 << 20, 1024,
     [](Iperf3ClientOptions& o, double v) { o.params.len = static_cast<std::uint32_t>(v); }},
    {"-n", "a byte count (K/M/G)", 1, 1e15, 1024,
     [](Iperf3ClientOptions& o, double v) { o.params.bytes = static_cast<std::uint64_t>(v); }},
    {"-w", "a window (K/M)", 2048, 1 << 30, 1024,
     [](Iperf3ClientOptions& o, double v) { o.params.window = static_cast<std::uint32_t>(v); }},
};

// Options without a value.
struct SwitchOption {
  const char* flag;
  bool iperf::Params::*field;
};
constexpr SwitchOption kSwitchOptions[] = {
    {"-R", &iperf::Params::reverse},
    {"--bidir", &iperf::Params::bidir},
    {"-u", &iperf::Params::udp},
    {"-N", &iperf::Params::nodelay},
};

// `text` as option `opt` takes it.
absl::Status SetNumeric(const NumericOption& opt, const std::string& text, Iperf3ClientOptions& o) {
  const auto d = Scaled(text, opt.base == 1 ? 1000 : opt.base);
  if (!d || *d < opt.lo || *d > opt.hi || (opt.base == 1 && *d != std::floor(*d))) {
    return absl::InvalidArgumentError(
        absl::StrCat(opt.flag, ": '", text, "' is not ", opt.what, " (", opt.lo, " to ", opt.hi, ")"));
  }
  opt.set(o, *d);
  return absl::OkStatus();
}

// The rules between options, once all are read.
absl::Status CheckCombination(const iperf::Params& p) {
  if (p.reverse && p.bidir) return absl::InvalidArgumentError("-R and --bidir exclude each other");
  if (p.udp && p.len != 0 && (p.len < iperf::UdpHeader::Len(false) || p.len > 65507)) {
    return absl::InvalidArgumentError("-l: a UDP length is 16 to 65507 bytes");
  }
  if (!p.udp && p.bandwidth != 0) return absl::InvalidArgumentError("-b paces UDP only here (add -u)");
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Iperf3ClientOptions> Iperf3Client::ParseArgs(const std::vector<std::string>& words) {
  Iperf3ClientOptions o;
  o.server.port = iperf::kPort;
  bool have_addr = false;
  for (std::size_t i = 0; i < words.size(); ++i) {
    const std::string& w = words[i];
    const auto numeric = std::find_if(std::begin(kNumericOptions), std::end(kNumericOptions),
                                      [&](const NumericOption& n) { return w == n.flag; });
    const auto flag = std::find_if(std::begin(kSwitchOptions), std::end(kSwitchOptions),
                                   [&](const SwitchOption& f) { return w == f.flag; });
    if (numeric != std::end(kNumericOptions) || w == "-C") {
      if (i + 1 >= words.size()) {
        return absl::InvalidArgumentError(
            absl::StrCat(w, " needs ", w == "-C" ? "a congestion control name" : numeric->what));
      }
      const std::string& v = words[++i];
      if (w == "-C") {
        o.params.congestion = v;
      } else if (absl::Status s = SetNumeric(*numeric, v, o); !s.ok()) {
        return s;
      }
    } else if (flag != std::end(kSwitchOptions)) {
      o.params.*(flag->field) = true;
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
  if (absl::Status s = CheckCombination(o.params); !s.ok()) return s;
  return o;
}

}  // namespace ringstack::sockets
