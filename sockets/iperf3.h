// iperf3 on the socket API: a server (`--services iperf3`, port
// 5201, TCP and UDP, IPv4 and IPv6) and a client (`ringstack --iperf3 "ADDR
// [-t S] [-P N] [-R] [--bidir] [-u] [-b RATE] [-l LEN] [-n BYTES]"`, and the
// console's `iperf3`), both interoperating with Debian's iperf3 3.12. The
// wire protocol is protocols/iperf3; this is the part that moves bytes.
//
// Both sides are state machines over non-blocking sockets: Step() does what
// can be done now (accept, read, write, answer, report) and says when it
// next needs a call; PollSet() names the sockets to wait on. A thread drives
// them with Stack::Poll (Run / the services' thread); tests on a SimRunner
// step them between RunFor calls, on virtual time (every time is read from
// the engine's clock).
//
// The server runs one test at a time; a second client's cookie is answered
// ACCESS_DENIED. A malformed or unexpected control message ends the test
// with SERVER_ERROR (and a line saying why), never a hang: every phase but
// the data phase has a 10 s limit, and the data phase ends `time` + 30 s
// after it began if no TEST_END came. Interval reports (one a second, per
// stream and summed) and each test's summary go to the `out` callback.
#ifndef RINGSTACK_SOCKETS_IPERF3_H_
#define RINGSTACK_SOCKETS_IPERF3_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/clock.h"
#include "protocols/iperf3/iperf3.h"
#include "protocols/iperf3/iperf3_control.h"
#include "sockets/api.h"

namespace ringstack::sockets {

using Iperf3Out = std::function<void(const std::string& line)>;

// One data stream of a test, either side.
struct Iperf3Stream {
  int fd = -1;
  int id = 0;
  bool sending = false;
  Endpoint peer;  // UDP on the server: the client's socket (all share one)
  std::uint64_t bytes = 0;           // since the measurement began
  std::uint64_t interval_bytes = 0;  // in the interval being reported
  std::uint64_t packets_sent = 0;    // UDP sender: the datagram counter
  std::uint64_t sent_total = 0;      // UDP sender pacing: everything sent since the start
  proto::iperf3::UdpReceiver rx;     // UDP receiver
  std::uint64_t retransmits_at_start = 0;
  std::int64_t retransmits = -1;     // TCP sender, at the end
};

// A non-blocking control connection: bytes in, bytes out, framing.
class Iperf3Control {
 public:
  // Sets TCP_NODELAY: the messages are a few bytes each, and a state byte
  // held back by Nagle behind an unacknowledged one stalls the other side.
  Iperf3Control(Stack& stack, int fd);
  int fd() const { return fd_; }
  // Reads what has come and writes what is queued. False once the
  // connection is gone (closed by the peer, reset); why() says which.
  bool Pump();
  void Queue(std::string bytes) { out_ += bytes; }
  void QueueState(proto::iperf3::State s) { out_ += static_cast<char>(static_cast<std::int8_t>(s)); }
  bool has_output() const { return !out_.empty(); }
  // The next state byte, if one came.
  std::optional<std::int8_t> TakeByte();
  // The next n bytes, if they came.
  std::optional<std::string> TakeBytes(std::size_t n);
  // The next length-framed JSON message, if whole; a bad length sets `bad`.
  std::optional<std::string> TakeJson(bool& bad);
  const std::string& why() const { return why_; }
  bool closed_by_peer() const { return eof_; }

 private:
  Stack& stack_;
  int fd_;
  std::string in_, out_;
  bool eof_ = false;
  std::string why_;
};

class Iperf3Server {
 public:
  Iperf3Server(Stack& stack, const engine::Clock& clock, Iperf3Out out);
  ~Iperf3Server();
  Iperf3Server(const Iperf3Server&) = delete;
  Iperf3Server& operator=(const Iperf3Server&) = delete;

  // Listens on TCP and binds UDP on `port` (IPv4, and IPv6 when `ipv6`).
  absl::Status Open(bool ipv6, std::uint16_t port = proto::iperf3::kPort);
  // Does what can be done now; true when it moved anything (call again at
  // once), false when it waits: then for the sockets of PollSet() or until
  // NextDeadline().
  bool Step();
  engine::Instant NextDeadline() const;
  std::vector<Stack::PollFd> PollSet() const;
  // Runs Step/Poll until `stop` is set (checked every 100 ms at least).
  void Run(const std::atomic<bool>& stop);
  void Close();

  int tests_done() const { return tests_done_; }      // ended with IPERF_DONE
  int tests_failed() const { return tests_failed_; }  // ended any other way
  const std::string& last_error() const { return last_error_; }
  bool busy() const { return test_ != nullptr; }

 private:
  struct Pending {
    int fd;
    std::string got;
    engine::Instant since;
  };
  struct Test;
  void AcceptNew();
  bool ServePending();
  bool ServeUdp();
  // What came to the server for its sequence (protocols/iperf3's
  // ServerOnInput), with the state byte and, for a failure, the reason.
  struct Input {
    proto::iperf3::ServerInput what;
    std::int8_t state = 0;
    std::string why;
  };
  bool StepTest();
  std::optional<Input> ReadInput(Test& t, engine::Instant now, bool& moved);
  std::optional<Input> ReadState(Test& t);
  std::optional<Input> ReadParams(Test& t);
  std::optional<Input> ReadResults(Test& t);
  void Carry(Test& t, const Input& in, engine::Instant now);
  bool MoveData();
  void Linger();
  void StartRunning();
  void Report(bool final);
  void EndTest(bool ok, const std::string& why);
  void Fail(int iperf_errno, const std::string& why);

  Stack& stack_;
  const engine::Clock& clock_;
  Iperf3Out out_;
  std::vector<int> listeners_, udp_;
  std::vector<Pending> pending_;
  std::unique_ptr<Test> test_;
  int tests_done_ = 0, tests_failed_ = 0, test_number_ = 0;
  std::string last_error_;
  std::vector<std::byte> buf_;
};

struct Iperf3ClientOptions {
  Endpoint server;
  proto::iperf3::Params params;
  int interval_s = 1;  // 0: no interval reports
};

// What a finished client test measured, summed over its streams, per direction.
struct Iperf3Summary {
  bool ok = false;
  std::string error;
  double seconds = 0;
  std::uint64_t sent = 0;          // client -> server: what the client sent
  std::uint64_t sent_received = 0; // ... and what the server says it received
  std::uint64_t received = 0;      // server -> client: what the client received
  std::uint64_t received_sent = 0; // ... and what the server says it sent
  std::int64_t retransmits = 0;    // the client's sending TCP streams
  double jitter_ms = 0;            // UDP, the receiving side's (mean over streams)
  std::int64_t lost = 0, packets = 0;  // UDP datagrams, the receiving side's
  double sent_mbps() const { return seconds > 0 ? static_cast<double>(sent) * 8 / seconds / 1e6 : 0; }
  double received_mbps() const { return seconds > 0 ? static_cast<double>(received) * 8 / seconds / 1e6 : 0; }
};

class Iperf3Client {
 public:
  Iperf3Client(Stack& stack, const engine::Clock& clock, Iperf3ClientOptions options, Iperf3Out out);
  ~Iperf3Client();
  Iperf3Client(const Iperf3Client&) = delete;
  Iperf3Client& operator=(const Iperf3Client&) = delete;

  bool Step();
  engine::Instant NextDeadline() const;
  std::vector<Stack::PollFd> PollSet() const;
  bool done() const { return done_; }
  const Iperf3Summary& summary() const { return summary_; }
  // Steps and polls until done or `stop`, then waits (at most 2 s) for the
  // server to close the control connection, and closes it.
  Iperf3Summary Run(const std::function<bool()>& stop = {});
  // Closes the control connection (a stepped client, once done).
  void Close();

  // "ADDR [-p PORT] [-t S] [-P N] [-R] [--bidir] [-u] [-b RATE[KMG]] [-l LEN[KM]] [-n BYTES[KMG]] [-O S]
  // [-i S] [-C CC] [-N]": the options as iperf3 spells them.
  static absl::StatusOr<Iperf3ClientOptions> ParseArgs(const std::vector<std::string>& words);
  static constexpr const char* kUsage =
      "ADDR [-p PORT] [-t SECONDS] [-P STREAMS] [-R | --bidir] [-u [-b RATE]] [-l LEN] [-n BYTES] [-O SECONDS] "
      "[-i SECONDS] [-C CC] [-N]";

 private:
  using Phase = proto::iperf3::ClientPhase;
  bool StepControl();
  bool StepConnect(engine::Instant now);
  bool StepRunning(engine::Instant now);
  bool ReadServer(engine::Instant now);
  void OnServerState(std::uint8_t byte, engine::Instant now);
  bool ConnectFailed(engine::Instant now, int err);
  int Connected(int fd);
  bool OpenStreams();
  bool MoveData();
  void StartRunning();
  void Report();
  void SendResults();
  // The server's results beside ours; false (and finished) when they are bad.
  bool ShowResults(const std::string& text);
  void Finish(bool ok, const std::string& why);
  bool Ended() const;

  Stack& stack_;
  const engine::Clock& clock_;
  Iperf3ClientOptions options_;
  Iperf3Out out_;
  int ctrl_fd_ = -1;
  std::unique_ptr<Iperf3Control> ctrl_;  // once connected
  std::string cookie_;
  Phase phase_;
  std::vector<Iperf3Stream> streams_;
  engine::Instant phase_since_, start_, measure_start_, next_interval_, end_;
  bool measuring_ = false;
  bool creating_ = false;  // CREATE_STREAMS came: streams are being opened
  std::pair<double, double> cpu_at_start_;
  bool stream_open_ = true;  // the last stream made is connected (TCP) or answered (UDP)
  engine::Instant opening_since_, retry_at_;
  std::vector<std::byte> buf_, block_;
  bool done_ = false;
  Iperf3Summary summary_;
};

// "1.10 GBytes", "941 Mbits/sec": iperf3's units (bytes in powers of 1024,
// bits in powers of 1000).
std::string Iperf3Bytes(double bytes);
std::string Iperf3Bits(double bits_per_second);

}  // namespace ringstack::sockets

#endif  // RINGSTACK_SOCKETS_IPERF3_H_
