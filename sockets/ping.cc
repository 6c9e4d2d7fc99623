#include "sockets/ping.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "protocols/icmpv4/icmpv4_header.h"
#include "protocols/icmpv6/icmpv6_repr.h"

namespace ringstack::sockets {

PingResult Ping(Stack& stack, const proto::IpAddress& to, int count, std::chrono::milliseconds interval,
                std::chrono::milliseconds deadline, const std::function<void(const std::string&)>& print,
                std::size_t payload, const std::function<bool()>& stop, bool send_count_only) {
  using Clock = std::chrono::steady_clock;
  PingResult r;
  const bool v6 = to.is_v6();
  const int protocol = v6 ? static_cast<int>(IPPROTO_ICMPV6) : static_cast<int>(IPPROTO_ICMP);
  const int fd = stack.Socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, protocol);
  if (fd < 0) {
    print(absl::StrFormat("ping %s: socket: %s", to.ToString(), std::strerror(errno)));
    return r;
  }
  const Endpoint dst{to, 0};
  const auto start = Clock::now();
  std::vector<Clock::time_point> sent_at;
  auto next_send = start;
  double total_ms = 0;
  std::vector<std::byte> buf(payload + 64);
  while (r.received < count && Clock::now() - start < deadline && !(stop && stop())) {
    if (Clock::now() >= next_send && !(send_count_only && static_cast<int>(sent_at.size()) >= count)) {
      // An Echo Request (ICMPv6's has ICMPv4's layout): checksum and
      // identifier filled in by the engine, the sequence, `payload` bytes.
      std::vector<std::byte> req(proto::icmpv4::kHeaderLen + payload);
      auto echo = proto::icmpv4::Icmpv4HeaderMut::Checked(req);  // the header's 8 bytes are there
      echo->set_type(v6 ? proto::icmpv6::kEchoRequest : proto::icmpv4::kTypeEchoRequest);
      echo->set_code(0);
      echo->set_seq(static_cast<std::uint16_t>(sent_at.size()));
      for (std::size_t i = proto::icmpv4::kHeaderLen; i < req.size(); ++i) {
        req[i] = std::byte{static_cast<unsigned char>(i)};
      }
      // The time before the call: the reply may be back before it returns.
      sent_at.push_back(Clock::now());
      if (stack.SendTo(fd, req, &dst) > 0) ++r.sent;
      next_send += interval;
    }
    Endpoint from;
    const ssize_t n = stack.RecvFrom(fd, buf, &from, /*dontwait=*/true);
    const auto reply = n > 0 ? proto::icmpv4::Icmpv4Header::Checked(std::span(buf).first(static_cast<std::size_t>(n)))
                             : std::nullopt;
    if (!reply) {
      std::this_thread::sleep_for(std::chrono::microseconds(100));  // rtt resolution, no timed wait here
      continue;
    }
    const std::uint16_t seq = reply->seq();
    if (seq >= sent_at.size()) continue;
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - sent_at[seq]).count();
    r.min_ms = r.received == 0 ? ms : std::min(r.min_ms, ms);
    r.max_ms = std::max(r.max_ms, ms);
    total_ms += ms;
    ++r.received;
    print(absl::StrFormat("ping %s: %d bytes from %s: seq=%d time=%.3f ms", to.ToString(), n,
                          from.addr.ToString(), seq, ms));
  }
  stack.Close(fd);
  r.avg_ms = r.received == 0 ? 0 : total_ms / r.received;
  print(absl::StrFormat("ping %s: %d sent, %d received; rtt min/avg/max %.3f/%.3f/%.3f ms", to.ToString(), r.sent,
                        r.received, r.min_ms, r.avg_ms, r.max_ms));
  return r;
}

}  // namespace ringstack::sockets
