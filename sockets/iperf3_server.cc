// Iperf3Server (iperf3.h): the control connection's sequence, the streams
// and the results, one test at a time.
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

struct Iperf3Server::Test {
  std::unique_ptr<Iperf3Control> ctrl;
  std::string cookie;
  std::string client;  // "192.0.2.1 port 40000", for the lines
  iperf::ServerPhase phase = iperf::ServerPhase::kParams;
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
    const bool wanted = test_->phase == iperf::ServerPhase::kCreating && !test_->params.udp && cookie == test_->cookie &&
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
      if (test_->phase == iperf::ServerPhase::kCreating) {
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
      if (test_->phase != iperf::ServerPhase::kRunning || it == test_->streams.end() || it->sending) continue;
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
      if (t.phase == iperf::ServerPhase::kResults) Fill(stack_, s, t.block, budget, UINT64_MAX, false);
    } else {
      Drain(stack_, s, buf_, budget, false);
    }
  }
}

// One round of the test: what came in for the phase (ReadInput), the step
// the sequence takes on it (protocols/iperf3 ServerOnInput), carried out
// (Carry); a phase that outlasts its time, or a control connection closed
// out of turn, is an input too.
bool Iperf3Server::StepTest() {
  Test& t = *test_;
  const Instant now = clock_.Now();
  if (!t.ctrl->Pump()) {
    EndTest(false, t.ctrl->why());
    return true;
  }
  bool moved = false;
  std::optional<Input> in = ReadInput(t, now, moved);
  if (!test_) return true;  // moving data may end the test (a stream broke)
  if (!in) {
    const bool running = t.phase == iperf::ServerPhase::kRunning;
    const Duration limit =
        running ? Duration::Seconds(static_cast<std::int64_t>(t.params.time + t.params.omit)) + kRunGrace : kPhaseLimit;
    if (now - (running ? t.start : t.phase_since) > limit) {
      in = Input{iperf::ServerInput::kTimeLimit};
    } else if (t.ctrl->closed_by_peer() && t.phase != iperf::ServerPhase::kDisplay) {
      in = Input{iperf::ServerInput::kClosed};
    }
  }
  if (in) {
    Carry(t, *in, now);
    return true;
  }
  t.ctrl->Pump();
  return moved;
}

// What came in for the phase this round, read and parsed; none yet.
std::optional<Iperf3Server::Input> Iperf3Server::ReadInput(Test& t, Instant now, bool& moved) {
  switch (t.phase) {
    case iperf::ServerPhase::kParams:
      return ReadParams(t);
    case iperf::ServerPhase::kCreating:
      if (static_cast<int>(t.streams.size()) != t.params.stream_count()) return std::nullopt;
      return Input{iperf::ServerInput::kStreamsReady};
    case iperf::ServerPhase::kRunning:
      moved = MoveData();
      if (!test_) return std::nullopt;
      if (t.measuring && now >= t.next_interval) {
        Report(false);
        t.next_interval = t.next_interval + Duration::Seconds(1);
      }
      return ReadState(t);
    case iperf::ServerPhase::kResults:
      Linger();
      return ReadResults(t);
    case iperf::ServerPhase::kDisplay:
      Linger();
      if (auto in = ReadState(t)) return in;
      // An older client closes instead of sending IPERF_DONE: once what we
      // sent is out, that ends the test as well.
      if (t.ctrl->closed_by_peer() && !t.ctrl->has_output()) return Input{iperf::ServerInput::kClosed};
      return std::nullopt;
    case iperf::ServerPhase::kDone:
      break;
  }
  return std::nullopt;
}

std::optional<Iperf3Server::Input> Iperf3Server::ReadState(Test& t) {
  const auto b = t.ctrl->TakeByte();
  if (!b) return std::nullopt;
  return Input{iperf::ServerInput::kState, *b};
}

// The client's parameters (after PARAM_EXCHANGE), into t.params.
std::optional<Iperf3Server::Input> Iperf3Server::ReadParams(Test& t) {
  bool bad = false;
  auto text = t.ctrl->TakeJson(bad);
  if (bad) return Input{iperf::ServerInput::kBadParams, 0, "the parameters' length field is out of range"};
  if (!text) return std::nullopt;
  std::string why;
  auto params = iperf::Params::Parse(*text, &why);
  if (!params) return Input{iperf::ServerInput::kBadParams, 0, "bad parameters: " + why};
  t.params = *params;
  if (t.params.udp && t.params.bandwidth == 0) t.params.bandwidth = 1'000'000;  // iperf3's UDP default
  return Input{iperf::ServerInput::kParams};
}

// The client's results (after EXCHANGE_RESULTS), checked.
std::optional<Iperf3Server::Input> Iperf3Server::ReadResults(Test& t) {
  bool bad = false;
  auto text = t.ctrl->TakeJson(bad);
  if (bad) return Input{iperf::ServerInput::kBadResults, 0, "the results' length field is out of range"};
  if (!text) return std::nullopt;
  std::string why;
  if (!iperf::Results::Parse(*text, &why)) {
    return Input{iperf::ServerInput::kBadResults, 0, "bad results from the client: " + why};
  }
  return Input{iperf::ServerInput::kResults};
}

// Carries out the sequence's step on `in`.
void Iperf3Server::Carry(Test& t, const Input& in, Instant now) {
  const iperf::ServerStep step = iperf::ServerOnInput(t.phase, in.what, in.state);
  const bool running = t.phase == iperf::ServerPhase::kRunning;
  switch (step.action) {
    case iperf::ServerAction::kCreateStreams:
      t.ctrl->QueueState(State::kCreateStreams);
      break;
    case iperf::ServerAction::kStartTest:
      StartRunning();
      break;
    case iperf::ServerAction::kExchangeResults:
      t.end = now;
      if (!t.measuring) t.measure_start = t.end;
      TakeRetransmits(stack_, t.streams, t.params.udp);
      Report(true);
      t.ctrl->QueueState(State::kExchangeResults);
      break;
    case iperf::ServerAction::kSendResults: {
      iperf::Results mine = OurResults(t.streams, t.params, t.params.server_sends(), t.cpu_at_start,
                                       t.end - t.start, t.end - t.measure_start);
      mine.server_output_text = t.output;
      t.ctrl->Queue(iperf::FrameJson(mine.ToJson()));
      t.ctrl->QueueState(State::kDisplayResults);
      break;
    }
    case iperf::ServerAction::kFinish:
      t.ctrl->Pump();
      EndTest(true, "");
      return;
    case iperf::ServerAction::kClientTerminated:
      EndTest(false, "the client ended the test early (CLIENT_TERMINATE)");
      return;
    case iperf::ServerAction::kClientGone:
      EndTest(false, running ? "the client closed the control connection while the test ran"
                             : "the client closed the control connection");
      return;
    case iperf::ServerAction::kFailParams:
      Fail(kIeRecvParams, in.why);
      return;
    case iperf::ServerAction::kFailResults:
      Fail(kIeRecvResults, in.why);
      return;
    case iperf::ServerAction::kFailUnexpected:
      Fail(kIeMessage, absl::StrCat("unexpected control message ", iperf::StateName(in.state), " in phase ",
                                    std::string(iperf::ServerPhaseName(t.phase))));
      return;
    case iperf::ServerAction::kFailTimeLimit:
      Fail(kIeMessage, running ? "no TEST_END from the client" : "the client went silent");
      return;
    case iperf::ServerAction::kWrongEnd:
      EndTest(false, "expected IPERF_DONE, got " + iperf::StateName(in.state));
      return;
    case iperf::ServerAction::kNone:
      return;
  }
  t.phase = step.next;
  t.phase_since = now;
  t.ctrl->Pump();
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
  if (test_ && test_->phase == iperf::ServerPhase::kRunning) {
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
    if (test_->phase == iperf::ServerPhase::kRunning && !test_->params.udp) {
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

}  // namespace ringstack::sockets
