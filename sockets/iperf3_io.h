// What the iperf3 server and client share: the phases' time limits, the
// I/O budget, iperf3's error numbers, and the stream I/O, pacing and
// results helpers. Internal to sockets/iperf3*.cc.
#ifndef RINGSTACK_SOCKETS_IPERF3_IO_H_
#define RINGSTACK_SOCKETS_IPERF3_IO_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "engine/clock.h"
#include "protocols/iperf3/iperf3.h"
#include "sockets/api.h"
#include "sockets/iperf3.h"

namespace ringstack::sockets::iperf3_io {

using engine::Duration;
using engine::Instant;
namespace iperf = proto::iperf3;

inline constexpr Duration kPhaseLimit = Duration::Seconds(10);  // every phase but the data one
inline constexpr Duration kRunGrace = Duration::Seconds(30);    // the data phase: `time` + this
inline constexpr std::size_t kIoBudget = 16u << 20;             // bytes moved per Step before others get a turn
// UDP datagrams a paced stream sends per Step: after a stall the sender
// catches up in steps, not in one burst a receiver's queue would drop.
inline constexpr int kUdpBurst = 32;
// iperf_api.h's error numbers, sent after SERVER_ERROR (the client prints
// its own text for them).
inline constexpr std::int32_t kIeRecvParams = 114;   // "unable to receive parameters from client"
inline constexpr std::int32_t kIeRecvResults = 117;  // "unable to receive results"
inline constexpr std::int32_t kIeMessage = 110;      // "received an unknown control message"

inline double Seconds(Duration d) { return static_cast<double>(d.nanos()) / 1e9; }
inline double SecondsOf(Instant t) { return static_cast<double>(t.nanos()) / 1e9; }

// Process CPU seconds (user, system), for the results' cpu_util fields.
std::pair<double, double> CpuSeconds();

// SERVER_ERROR and iperf3's error number (and errno 0), as sent.
std::string ServerError(std::int32_t iperf_errno);

// The wildcard address of `domain`, `port`.
Endpoint Any(int domain, std::uint16_t port);

// One interval or summary line: "[  5]   0.00-1.00   sec   112 MBytes   941 Mbits/sec".
std::string Line(const std::string& id, double from, double to, double bytes, const std::string& extra = "");

// Reads what a TCP stream has; false when it is gone.
bool Drain(Stack& stack, Iperf3Stream& s, std::vector<std::byte>& buf, std::size_t& budget, bool count);

// Writes blocks to a TCP stream until it would block; false when it is gone.
bool Fill(Stack& stack, Iperf3Stream& s, const std::vector<std::byte>& block, std::size_t& budget,
          std::uint64_t limit, bool count = true);

// A UDP datagram: the header, then the block's bytes.
std::size_t UdpDatagram(Iperf3Stream& s, Instant now, bool counters64, std::vector<std::byte>& block);

// How many UDP bytes a paced sender may have sent `elapsed` into the test.
std::uint64_t UdpAllowance(std::uint64_t rate_bps, Duration elapsed);

// The next time a paced UDP sender may send a `len`-byte datagram.
Instant UdpNextSend(const Iperf3Stream& s, std::uint64_t rate_bps, std::size_t len, Instant start);

// Sends what a paced UDP stream may have sent by `now` (`elapsed` into the
// test), at most kUdpBurst datagrams; `to` null on a connected socket.
void SendPacedUdp(Stack& stack, Iperf3Stream& s, const iperf::Params& p, Duration elapsed, Instant now,
                  std::vector<std::byte>& block, std::size_t& budget, const Endpoint* to);

// The sending TCP streams' retransmissions at the test's end (TCP_INFO).
void TakeRetransmits(Stack& stack, std::vector<Iperf3Stream>& streams, bool udp);

// This side's results: CPU use over the test (`wall` long, from
// `cpu_at_start`), and each stream's counts over the `measured` time.
iperf::Results OurResults(const std::vector<Iperf3Stream>& streams, const iperf::Params& p, bool we_send,
                          std::pair<double, double> cpu_at_start, Duration wall, Duration measured);

// Waits for one of `fds`, at most `wait` (and 100 ms); a wait under a
// millisecond (a paced UDP sender's next datagram) is a sleep, not a spin.
void WaitForWork(Stack& stack, std::vector<Stack::PollFd> fds, Duration wait);

}  // namespace ringstack::sockets::iperf3_io

#endif  // RINGSTACK_SOCKETS_IPERF3_IO_H_
