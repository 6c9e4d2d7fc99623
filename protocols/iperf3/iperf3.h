// The iperf3 protocol (iperf 3.x, as Debian's 3.12 speaks it), as values:
// the control channel's state bytes and JSON messages, the test parameters,
// the results, the UDP datagram header and the receiver's UDP accounting.
// There is no RFC; the reference is iperf3's own source (iperf_api.c,
// iperf_server_api.c, iperf_client_api.c, iperf_udp.c), studied, not copied.
//
// A test, on one TCP control connection (port 5201):
//   client -> server   the cookie: 36 characters of [a-z2-7] and a NUL
//   server -> client   PARAM_EXCHANGE (one signed byte per state)
//   client -> server   the parameters: a 4-byte big-endian length, JSON
//   server -> client   CREATE_STREAMS
//   client -> server   a data connection per stream, each opening with the
//                      cookie (TCP); UDP: a datagram per stream to port 5201
//                      (kUdpConnectMsg), answered with kUdpConnectReply
//   server -> client   TEST_START, TEST_RUNNING; data flows for `time`
//   client -> server   TEST_END
//   server -> client   EXCHANGE_RESULTS; the client sends its results
//                      (length + JSON), the server its own
//   server -> client   DISPLAY_RESULTS
//   client -> server   IPERF_DONE
// A busy server answers a second client's cookie with ACCESS_DENIED; a
// side that gives up sends SERVER_TERMINATE / CLIENT_TERMINATE, or
// SERVER_ERROR followed by two 4-byte error numbers.
// Streams are numbered in the order they are made: 1, 3, 4, 5, ... (iperf3
// skips 2), the same on both sides; results name streams by these ids.
#ifndef RINGSTACK_PROTOCOLS_IPERF3_IPERF3_H_
#define RINGSTACK_PROTOCOLS_IPERF3_IPERF3_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/common/bytes.h"
#include "protocols/common/json.h"
#include "protocols/common/parse_error.h"

namespace ringstack::proto::iperf3 {

inline constexpr std::uint16_t kPort = 5201;
inline constexpr std::size_t kCookieLen = 37;  // 36 characters and a NUL
// A JSON message's length field past this is a broken or hostile peer.
inline constexpr std::uint32_t kMaxJsonLen = 256 * 1024;
inline constexpr int kMaxStreams = 128;  // iperf3's -P limit

enum class State : std::int8_t {
  kTestStart = 1,
  kTestRunning = 2,
  kTestEnd = 4,
  kParamExchange = 9,
  kCreateStreams = 10,
  kServerTerminate = 11,
  kClientTerminate = 12,
  kExchangeResults = 13,
  kDisplayResults = 14,
  kIperfStart = 15,
  kIperfDone = 16,
  kAccessDenied = -1,
  kServerError = -2,
};
// The name iperf3 uses ("TEST_START"), or "state N" for an unknown byte.
std::string StateName(std::int8_t state);
// True for a byte that names a state above.
bool IsKnownState(std::int8_t state);

// The cookie's 36 characters are from this alphabet (iperf3's make_cookie).
inline constexpr std::string_view kCookieAlphabet = "abcdefghijklmnopqrstuvwxyz234567";
// True when `b` is kCookieLen bytes: 36 alphabet characters and a NUL.
bool ValidCookie(Bytes b);
// A cookie from 36 random values (one per character; each taken mod 32).
std::string MakeCookie(const std::uint32_t (&random)[36]);

// A JSON message's 4-byte length field: the length, or nullopt past kMaxJsonLen.
std::optional<std::uint32_t> ParseJsonLength(Bytes four);
// `json` framed for the wire: its length (big-endian) and the text.
std::string FrameJson(const std::string& json);

// The parameters a client sends (iperf_api.c send_parameters). Unknown keys
// are ignored, as iperf3 does; a known key of the wrong type, or a value out
// of range, refuses the whole message.
struct Params {
  bool udp = false;           // "udp" (else "tcp")
  double time = 10;           // "time" seconds (0 with "num"/"blockcount")
  std::uint64_t bytes = 0;    // "num": stop after this many bytes (0: by time)
  std::uint64_t blocks = 0;   // "blockcount"
  int omit = 0;               // "omit" seconds not counted at the start
  int parallel = 1;           // "parallel" streams each way
  bool reverse = false;       // "reverse": the server sends
  bool bidir = false;         // "bidirectional": both send
  std::uint32_t len = 0;      // "len": bytes per write (0: the default)
  std::uint64_t bandwidth = 0;  // "bandwidth" bits/s per stream (0: unlimited; UDP defaults to 1M)
  std::uint32_t window = 0;   // "window": SO_SNDBUF/SO_RCVBUF
  int mss = 0;                // "MSS"
  bool nodelay = false;       // "nodelay"
  std::string congestion;     // "congestion"
  bool get_server_output = false;  // "get_server_output"
  bool udp_counters_64bit = false;  // "udp_counters_64bit"
  std::string client_version;  // "client_version"

  static std::optional<Params> Parse(std::string_view json, std::string* why = nullptr);
  std::string ToJson() const;

  // Who sends: the client unless reverse; both with bidir.
  bool client_sends() const { return bidir || !reverse; }
  bool server_sends() const { return bidir || reverse; }
  // Data connections the client opens: `parallel` each way that sends.
  int stream_count() const { return parallel * (bidir ? 2 : 1); }
  // The write size when `len` is 0: 128 KiB for TCP, 1460 bytes for UDP.
  std::uint32_t block_len() const { return len != 0 ? len : (udp ? 1460u : 128u * 1024u); }
  // Bytes a sender stops after ("num", or "blockcount" blocks); none: the max.
  std::uint64_t byte_limit() const {
    return bytes != 0 ? bytes : blocks != 0 ? blocks * block_len() : UINT64_MAX;
  }
};

// The id of the `index`-th stream made (0-based): 1, 3, 4, 5, ...
constexpr int StreamId(int index) { return index == 0 ? 1 : index + 2; }
// In a test, the streams made first carry data client -> server (when the
// client sends), then those server -> client: the `index`-th is the
// server's sending stream when this is true.
bool ServerSendsOnStream(const Params& p, int index);

struct StreamResult {
  int id = 0;
  std::uint64_t bytes = 0;
  std::int64_t retransmits = -1;  // -1: not known (a receiver, or no TCP info)
  double jitter = 0;              // seconds (UDP)
  std::int64_t errors = 0;        // UDP datagrams lost
  std::int64_t packets = 0;       // UDP datagrams
  double start_time = 0;
  double end_time = 0;
  bool sender = false;  // ringstack's own bookkeeping: not on the wire
};

// The results each side sends (iperf_api.c send_results / get_results).
struct Results {
  double cpu_total = 0, cpu_user = 0, cpu_system = 0;  // percent
  int sender_has_retransmits = -1;  // 1 yes, 0 no, -1 this side did not send
  std::string congestion_used;
  std::vector<StreamResult> streams;
  std::string server_output_text;  // when the client asked for it

  static std::optional<Results> Parse(std::string_view json, std::string* why = nullptr);
  std::string ToJson() const;
};

// The 4 bytes a UDP stream's first datagram carries, and the server's answer
// (iperf3 writes the C int in host order: on x86 the reply's bytes are
// "6789"). Receivers accept either byte order.
inline constexpr std::uint32_t kUdpConnectMsg = 0x36373839;
inline constexpr std::uint32_t kUdpConnectReply = 0x39383736;
void EmitUdpConnectWord(std::uint32_t word, MutableBytes four);
bool IsUdpConnectWord(std::uint32_t word, Bytes four);

// Every UDP data datagram starts with the send time and a counter from 1
// (big-endian): seconds, microseconds, then the counter in 4 bytes, or 8
// with "udp_counters_64bit".
struct UdpHeader {
  std::uint32_t sec = 0;
  std::uint32_t usec = 0;
  std::uint64_t count = 0;
  static std::size_t Len(bool counters64) { return counters64 ? 16 : 12; }
  static Parsed<UdpHeader> Parse(Bytes datagram, bool counters64);
  void Emit(MutableBytes out, bool counters64) const;
};

// A UDP receiver's accounting, as iperf_udp_recv does it: the highest
// counter seen, losses from gaps (an out-of-order arrival takes one back),
// and the RFC 1889 jitter estimate over transit times.
struct UdpReceiver {
  std::uint64_t packets = 0;  // highest counter seen
  std::int64_t errors = 0;
  std::uint64_t out_of_order = 0;
  double jitter = 0;        // seconds
  double prev_transit = 0;
  std::uint64_t bytes = 0;
  // `arrival` and the header's send time in seconds on the same clock.
  void OnDatagram(const UdpHeader& h, std::size_t len, double arrival);
};

}  // namespace ringstack::proto::iperf3

#endif  // RINGSTACK_PROTOCOLS_IPERF3_IPERF3_H_
