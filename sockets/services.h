// The small services of --services, on the socket API:
// echo (RFC 862, port 7), discard (RFC 863, 9), daytime (RFC 867, 13) and
// chargen (RFC 864, 19), each over UDP and TCP, IPv4 and, when the engine
// runs IPv6, IPv6 (one socket per family, IPV6_V6ONLY); and iperf3 (5201,
// sockets/iperf3.h: its own thread steps the server, lines to stderr). A thread per UDP
// socket blocks in recvfrom; a thread per TCP listener in accept, and a
// thread per TCP connection (at most kMaxConnections at once; more are
// closed at once). Stop() closes the listeners and sockets and shuts the
// connections down, which wakes and ends every thread.
#ifndef RINGSTACK_SOCKETS_SERVICES_H_
#define RINGSTACK_SOCKETS_SERVICES_H_

#include <mutex>
#include <string>
#include <thread>
#include <list>
#include <memory>
#include <atomic>
#include <vector>

#include "absl/status/status.h"
#include "sockets/api.h"
#include "sockets/iperf3.h"

namespace ringstack::sockets {

class Services {
 public:
  explicit Services(Stack& stack) : stack_(stack) {}
  ~Services() { Stop(); }

  // `names` from: echo, discard, daytime, chargen, iperf3. Binds every socket
  // before it returns, so a bind failure is an error here.
  absl::Status Start(const std::vector<std::string>& names, bool ipv6);
  void Stop();

  // One chargen datagram's text (RFC 864: the rotating 72-character lines
  // of the 95 printable ASCII characters), `len` bytes from line `line`.
  static std::string Chargen(std::size_t line, std::size_t len);
  // RFC 867 suggests no format; this is the one inetd uses: "Tue Dec  1
  // 18:35:00 2026\r\n", in UTC.
  static std::string Daytime();

 private:
  static constexpr int kMaxConnections = 256;
  void Serve(int fd, std::string name);
  void Accept(int listener, std::string name);
  void ServeConnection(int fd, std::string name);

  Stack& stack_;
  std::vector<int> fds_;
  std::vector<std::thread> threads_;
  std::mutex mu_;  // the connections
  std::vector<int> connections_;
  // A thread per connection; a finished one is joined when the next
  // connection comes (else each would keep its stack until Stop: the soak
  // saw RSS grow ~8 KB per connection).
  struct Connection {
    std::thread thread;
    std::atomic<bool> done{false};
  };
  std::list<Connection> connection_threads_;
  bool stopping_ = false;
  std::unique_ptr<Iperf3Server> iperf3_;
  std::atomic<bool> iperf3_stop_{false};
  std::thread iperf3_thread_;
};

}  // namespace ringstack::sockets

#endif  // RINGSTACK_SOCKETS_SERVICES_H_
