// A ping client on ICMP echo sockets (issue #5): `ringstack --ping ADDR`
// runs it once the engine is up. It sends an echo request every interval
// until `count` replies came back or the deadline passed — so the time an
// address spends in ACD or DAD at start costs only the first requests — and
// prints a line per reply and a summary, as ping does.
#ifndef RINGSTACK_SOCKETS_PING_H_
#define RINGSTACK_SOCKETS_PING_H_

#include <chrono>
#include <functional>
#include <string>

#include "sockets/api.h"

namespace ringstack::sockets {

struct PingResult {
  int sent = 0;
  int received = 0;
  double min_ms = 0;
  double avg_ms = 0;
  double max_ms = 0;
};

PingResult Ping(Stack& stack, const proto::IpAddress& to, int count, std::chrono::milliseconds interval,
                std::chrono::milliseconds deadline, const std::function<void(const std::string&)>& print);

}  // namespace ringstack::sockets

#endif  // RINGSTACK_SOCKETS_PING_H_
