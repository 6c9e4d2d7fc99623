#include "sockets/console_commands.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "sockets/iperf3.h"
#include "sockets/ping.h"

namespace ringstack::sockets {
namespace {

using engine::Console;
using engine::ConsoleArgs;
using engine::ConsoleOutput;
using Clock = std::chrono::steady_clock;

bool IntOption(ConsoleArgs& args, std::string_view name, int lo, int hi, int& value, ConsoleOutput& out,
               std::string_view usage, bool& bad) {
  const auto text = args.Option(name);
  if (!text) return true;
  if (!absl::SimpleAtoi(*text, &value) || value < lo || value > hi) {
    Console::UsageError(out, absl::StrCat(std::string(name), " ", Console::Quote(*text), " is not in [", lo, ", ", hi, "]"), usage);
    bad = true;
    return false;
  }
  return true;
}

int PingCommand(Stack& stack, bool v6_only, ConsoleArgs& args, ConsoleOutput& out) {
  const std::string usage = absl::StrCat(v6_only ? "ping6" : "ping", " ADDR [-c COUNT] [-s SIZE] [-i MS]");
  int count = 4, size = 56, interval = 1000;
  bool bad = false;
  IntOption(args, "-c", 1, 1000, count, out, usage, bad);
  if (!bad) IntOption(args, "-s", 0, 65000, size, out, usage, bad);
  if (!bad) IntOption(args, "-i", 10, 10000, interval, out, usage, bad);
  if (bad) return Console::kUsage;
  const auto target = args.Next();
  if (!Console::ArgsDone(args, out, usage)) return Console::kUsage;
  if (!target) return Console::UsageError(out, "which address?", usage);
  const auto addr = proto::IpAddress::Parse(*target);
  if (!addr) return Console::UsageError(out, absl::StrCat(Console::Quote(*target), " is not an IPv4 or IPv6 address"), usage);
  if (v6_only && !addr->is_v6()) return Console::UsageError(out, "ping6 takes an IPv6 address (ping for IPv4)", usage);
  const auto r = Ping(
      stack, *addr, count, std::chrono::milliseconds(interval),
      std::chrono::milliseconds(static_cast<std::int64_t>(count) * interval + 2000),
      [&](const std::string& line) { out.Write(line + "\n"); }, static_cast<std::size_t>(size),
      [&] { return out.cancelled(); }, /*send_count_only=*/true);
  return r.received == count ? Console::kOk : Console::kFailed;
}

// Waits for `events` on `fd` until `until`; false on timeout or cancel.
bool WaitFor(Stack& stack, int fd, short events, Clock::time_point until, ConsoleOutput& out) {
  while (Clock::now() < until && !out.cancelled()) {
    Stack::PollFd p{fd, events, 0};
    if (stack.Poll(std::span(&p, 1), 100) > 0) return true;
  }
  return false;
}

int EchoCommand(Stack& stack, bool tcp, ConsoleArgs& args, ConsoleOutput& out) {
  const std::string usage =
      absl::StrCat(tcp ? "tcp-echo" : "udp-echo", " ADDR PORT TEXT [-t SECONDS]", tcp ? " [--fastopen]" : "");
  int timeout_s = 5;
  bool bad = false;
  const bool fastopen = tcp && args.Flag("--fastopen");
  IntOption(args, "-t", 1, 60, timeout_s, out, usage, bad);
  if (bad) return Console::kUsage;
  const auto target = args.Next();
  const auto port_text = args.Next();
  const auto text = args.Next();
  if (!Console::ArgsDone(args, out, usage)) return Console::kUsage;
  if (!target || !port_text || !text) return Console::UsageError(out, "give an address, a port and a text", usage);
  const auto addr = proto::IpAddress::Parse(*target);
  if (!addr) return Console::UsageError(out, absl::StrCat(Console::Quote(*target), " is not an IPv4 or IPv6 address"), usage);
  int port = 0;
  if (!absl::SimpleAtoi(*port_text, &port) || port < 1 || port > 65535) {
    return Console::UsageError(out, absl::StrCat(Console::Quote(*port_text), " is not a port (1..65535)"), usage);
  }
  if (text->empty()) return Console::UsageError(out, "the text is empty", usage);
  const Endpoint server{*addr, static_cast<std::uint16_t>(port)};
  const auto start = Clock::now();
  const auto until = start + std::chrono::seconds(timeout_s);
  const int fd = stack.Socket(addr->is_v6() ? AF_INET6 : AF_INET, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK);
  if (fd < 0) {
    out.Write(absl::StrCat("error: socket: ", std::strerror(errno), "\n"));
    return Console::kFailed;
  }
  auto fail = [&](const std::string& what) {
    out.Write(absl::StrCat("error: ", *target, " port ", port, ": ", what, "\n"));
    stack.Close(fd);
    return Console::kFailed;
  };
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(text->data()), text->size());
  std::size_t sent = 0;
  if (fastopen) {
    // sendto(MSG_FASTOPEN): the text rides in the SYN when a cookie is cached.
    const ssize_t n = stack.SendFastOpen(fd, bytes, server);
    if (n < 0) return fail(absl::StrCat("connect: ", std::strerror(errno)));
    sent = static_cast<std::size_t>(n);
  } else if (stack.Connect(fd, server) != 0 && errno != EINPROGRESS) {
    return fail(absl::StrCat("connect: ", std::strerror(errno)));
  }
  if (tcp) {
    if (!WaitFor(stack, fd, POLLOUT, until, out)) return fail("connect: timed out");
    int err = 0;
    stack.GetSockOpt(fd, SOL_SOCKET, SO_ERROR, &err);
    if (err != 0) return fail(absl::StrCat("connect: ", std::strerror(err)));
  }
  while (sent < bytes.size()) {
    const ssize_t n = stack.Send(fd, bytes.subspan(sent));
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
    } else if (errno != EAGAIN || !WaitFor(stack, fd, POLLOUT, until, out)) {
      return fail(absl::StrCat("send: ", errno == EAGAIN ? "timed out" : std::strerror(errno)));
    }
  }
  std::string reply;
  std::vector<std::byte> buf(65536);
  while (reply.size() < text->size()) {
    const ssize_t n = stack.Recv(fd, buf, /*dontwait=*/true);
    if (n > 0) {
      reply.append(reinterpret_cast<const char*>(buf.data()), static_cast<std::size_t>(n));
      if (!tcp) break;  // one datagram answers one datagram
      continue;
    }
    if (n == 0) break;  // the server closed
    if (errno != EAGAIN) return fail(absl::StrCat("receive: ", std::strerror(errno)));
    if (!WaitFor(stack, fd, POLLIN, until, out)) break;
  }
  stack.Close(fd);
  const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  if (reply.empty()) {
    out.Write(absl::StrCat("error: ", *target, " port ", port, ": no reply in ", timeout_s, " s\n"));
    return Console::kFailed;
  }
  out.Write(absl::StrFormat("reply from %s port %d (%d bytes, %.3f ms): %s\n", addr->ToString(), port, reply.size(),
                            ms, absl::CHexEscape(reply)));
  return reply == *text ? Console::kOk : Console::kFailed;
}

// An iperf3 client test from ringstack's own stack, its lines as they come;
// the console's client hanging up ends it (CLIENT_TERMINATE).
int Iperf3Command(Stack& stack, ConsoleArgs& args, ConsoleOutput& out) {
  const std::string usage = absl::StrCat("iperf3 ", Iperf3Client::kUsage);
  std::vector<std::string> words;
  while (auto w = args.Next()) words.push_back(*w);
  const auto options = Iperf3Client::ParseArgs(words);
  if (!options.ok()) return Console::UsageError(out, std::string(options.status().message()), usage);
  if (options->params.time > 60 && options->params.bytes == 0 && options->params.blocks == 0) {
    return Console::UsageError(out, "-t: at most 60 s from the console (ringstack --iperf3 runs longer tests)", usage);
  }
  Iperf3Client client(stack, stack.engine().clock(), *options, [&](const std::string& line) { out.Write(line + "\n"); });
  const Iperf3Summary r = client.Run([&] { return out.cancelled(); });
  return r.ok ? Console::kOk : Console::kFailed;
}

}  // namespace

void AddSocketCommands(Console& console, Stack& stack) {
  Stack* s = &stack;
  console.Add("ping", "ping ADDR [-c COUNT] [-s SIZE] [-i MS]",
              "ICMP echo from ringstack's own stack (IPv4 or IPv6); default 4 of 56 bytes, 1 s apart",
              [s](ConsoleArgs& a, ConsoleOutput& o) { return PingCommand(*s, false, a, o); });
  console.Add("ping6", "ping6 ADDR [-c COUNT] [-s SIZE] [-i MS]", "ping over IPv6 only",
              [s](ConsoleArgs& a, ConsoleOutput& o) { return PingCommand(*s, true, a, o); });
  console.Add("tcp-echo", "tcp-echo ADDR PORT TEXT [-t SECONDS] [--fastopen]",
              "connect, send TEXT, show what comes back (\"quote\" spaces; --fastopen: TEXT in the SYN by TCP "
              "Fast Open once a cookie is cached)",
              [s](ConsoleArgs& a, ConsoleOutput& o) { return EchoCommand(*s, true, a, o); });
  console.Add("udp-echo", "udp-echo ADDR PORT TEXT [-t SECONDS]", "send TEXT in a datagram, show the reply",
              [s](ConsoleArgs& a, ConsoleOutput& o) { return EchoCommand(*s, false, a, o); });
  console.Add("iperf3", absl::StrCat("iperf3 ", Iperf3Client::kUsage),
              "an iperf3 client test against ADDR's iperf3 server (TCP or UDP, as iperf3 -c), intervals and summary",
              [s](ConsoleArgs& a, ConsoleOutput& o) { return Iperf3Command(*s, a, o); });
}

}  // namespace ringstack::sockets
