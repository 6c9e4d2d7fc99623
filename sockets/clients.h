// TCP clients on the stream sockets, for tests and people:
// `ringstack --echo-client ADDR [--echo-bytes N]` connects to ADDR's echo
// port (7), sends N pseudo-random bytes while reading them back, closes its
// side and checks every byte; `ringstack --daytime-client ADDR` connects to
// port 13 and prints what the server says until it closes. Both run once the
// engine is up, retrying the connect while ACD/DAD still hold the address.
#ifndef RINGSTACK_SOCKETS_CLIENTS_H_
#define RINGSTACK_SOCKETS_CLIENTS_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "sockets/api.h"

namespace ringstack::sockets {

struct EchoResult {
  bool ok = false;          // connected, all bytes came back equal, the server closed after us
  std::uint64_t sent = 0;
  std::uint64_t received = 0;
  std::string error;        // why not ok
  double seconds = 0;
};

EchoResult RunEchoClient(Stack& stack, const Endpoint& server, std::uint64_t bytes, std::chrono::seconds deadline);

// The server's text, or an error message starting with "error: ".
std::string RunDaytimeClient(Stack& stack, const Endpoint& server, std::chrono::seconds deadline);

}  // namespace ringstack::sockets

#endif  // RINGSTACK_SOCKETS_CLIENTS_H_
