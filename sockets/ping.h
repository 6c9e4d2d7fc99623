// A ping client on ICMP echo sockets: `ringstack --ping ADDR`
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

// `payload`: data bytes after the 8-byte echo header (ping -s, default 56).
// `stop`: asked between sends; true ends the run early (a console client
// that left). `send_count_only`: send `count` requests and no more, as
// ping -c does (else: keep sending until `count` replies came).
PingResult Ping(Stack& stack, const proto::IpAddress& to, int count, std::chrono::milliseconds interval,
                std::chrono::milliseconds deadline, const std::function<void(const std::string&)>& print,
                std::size_t payload = 56, const std::function<bool()>& stop = {}, bool send_count_only = false);

}  // namespace ringstack::sockets

#endif  // RINGSTACK_SOCKETS_PING_H_
