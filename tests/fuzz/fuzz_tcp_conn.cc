// libFuzzer target: one TCP connection (protocols/tcp/tcp_connection.h)
// driven by a script of the peer's segments, application calls and timer
// ticks (tcp_conn_script.h), checking what it asks of its owner.
#include <cstdint>
#include <vector>

#include "tests/fuzz/tcp_conn_script.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ringstack::fuzz::PlayConnScript(data, size);
  return 0;
}

// The replay driver's seeds (standalone_main.cc).
std::vector<std::vector<std::uint8_t>> FuzzTargetSeeds() { return ringstack::fuzz::TcpConnSeeds(); }
