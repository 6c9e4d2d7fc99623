// The whole-stack fuzz target's input: a script that a harness plays against
// a fresh in-process engine over a SimLink, acting as the Linux peer on the
// wire and as the application on the engine's sockets.
//
// The engine (192.0.2.2/24, 2001:db8:0:1::2/64, MAC 02:00:00:00:00:01, as in
// tests/vectors) listens on TCP port 80 (IPv4 and IPv6) and has UDP port 7
// bound on both families; the peer is 192.0.2.1 / 2001:db8:0:1::1 (MAC
// 52:54:00:12:34:56) and answers the engine's ARP and neighbour
// solicitations itself. Byte 0 chooses the engine's configuration (loss
// recovery, congestion control, SYN cookies, workers); the rest is records,
// each an opcode byte (taken modulo kOpCount) and its fields, big-endian. A
// record cut short by the input's end ends the script.
//
//   kFrame    u16 len, bytes             a raw Ethernet frame from the peer
//   kOpen     u8 conn, u8 how            the peer opens connection `conn`
//                                        (0..3) to port 80: SYN, the engine's
//                                        SYN-ACK, ACK (how: bit 0 IPv6, bit 1
//                                        no options, bit 2 no final ACK)
//   kSegment  u8 conn, u8 flags, i16 seq, i16 ack, u16 window, u8 options,
//             u16 len                    a TCP segment on `conn`: SEQ = the
//                                        peer's SND.NXT + seq, ACK = the
//                                        highest byte the engine sent + ack,
//                                        `len` payload bytes; options as
//                                        kOpt* say, SACK blocks taking
//                                        2 x u16 (below that byte) each
//   kAdvance  u16 ms                     virtual time passes
//   kApp      u8 conn, u8 action, u16 n  the application on the engine side
//   kConnect  u8 conn, u8 how            the engine's application connects
//                                        to the peer (how: bit 0 IPv6, bit 1
//                                        the peer refuses with RST, bit 2 no
//                                        options, bit 3 no SYN-ACK at all)
//   kDatagram u8 how, u16 len            a UDP datagram to port 7 (bit 0 IPv6)
//
// The segment's sequence space is tracked per connection from the frames
// the engine sends, so fuzzed segments land in the window, on the edges and
// just outside them, and reach ESTABLISHED, recovery, reassembly and close.
// Segments the harness builds carry correct checksums, so the replay build
// (checksums verified) reaches TCP as the libFuzzer build does.
#ifndef RINGSTACK_TESTS_FUZZ_STACK_SCRIPT_H_
#define RINGSTACK_TESTS_FUZZ_STACK_SCRIPT_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace ringstack::fuzz {

enum StackOp : std::uint8_t { kFrame, kOpen, kSegment, kAdvance, kApp, kConnect, kDatagram, kOpCount };

// kSegment's options byte.
enum : std::uint8_t {
  kOptTimestamps = 1,   // TSval from the peer's clock, TSecr the engine's last
  kOptSack1 = 2,        // one SACK block (two with kOptSack2 too)
  kOptSack2 = 4,
  kOptMss = 8,          // MSS 536
  kOptWindowScale = 16, // shift 7
  kOptSackPermitted = 32,
  kOptOldTimestamp = 64,   // TSval far in the past (PAWS)
  kOptZeroEcho = 128,      // TSecr 0
};

// kApp's actions on the engine's socket for a connection.
enum AppAction : std::uint8_t {
  kAppRead,        // read up to n bytes (0: all that is there)
  kAppStopReading, // the automatic reader stops (the receive window closes)
  kAppResume,      // ... and reads again
  kAppWrite,       // queue n bytes to send
  kAppShutdown,    // shutdown(SHUT_WR)
  kAppClose,       // close()
  kAppNoDelay,     // TCP_NODELAY on
  kAppCongestion,  // TCP_CONGESTION: n even newreno, odd cubic
  kAppEcho,        // echo what is read (toggles)
  kAppActionCount,
};

// Engine configuration byte (byte 0).
enum : std::uint8_t {
  kCfgRecoverySack = 1,     // --tcp-recovery sack (with kCfgRecoveryNewReno: rack)
  kCfgRecoveryNewReno = 2,  // --tcp-recovery newreno
  kCfgNewReno = 4,          // --tcp-cc newreno
  kCfgNoSynCookies = 8,     // --tcp-syncookies off
  kCfgTwoWorkers = 16,
  kCfgDhcp = 32,            // the DHCPv4 client runs too
};

// Reads a script's big-endian fields; every read fails once the input runs
// out (both script formats use it).
class ScriptReader {
 public:
  ScriptReader(const std::uint8_t* p, std::size_t n) : p_(p), n_(n) {}
  bool U8(std::uint8_t& v) {
    if (n_ == 0) return false;
    v = *p_++;
    --n_;
    return true;
  }
  bool U16(std::uint16_t& v) {
    std::uint8_t hi, lo;
    if (!U8(hi) || !U8(lo)) return false;
    v = static_cast<std::uint16_t>((hi << 8) | lo);
    return true;
  }
  bool Take(std::size_t len, std::span<const std::uint8_t>& out) {
    if (n_ < len) return false;
    out = {p_, len};
    p_ += len;
    n_ -= len;
    return true;
  }
  bool empty() const { return n_ == 0; }

 private:
  const std::uint8_t* p_;
  std::size_t n_;
};

// Appends records to a script (for seeds and tests).
class ScriptWriter {
 public:
  explicit ScriptWriter(std::uint8_t config = 0) { bytes_.push_back(config); }
  ScriptWriter& Frame(const std::vector<std::uint8_t>& frame);
  ScriptWriter& Open(int conn, std::uint8_t how = 0);
  ScriptWriter& Segment(int conn, std::uint8_t flags, int seq, int ack, std::uint16_t window, std::uint8_t options,
                        std::uint16_t len, const std::vector<std::pair<std::uint16_t, std::uint16_t>>& sack = {});
  // A pure ACK of everything the engine sent, with timestamps.
  ScriptWriter& Ack(int conn, std::uint16_t window = 65535) {
    return Segment(conn, 0x10, 0, 0, window, kOptTimestamps, 0);
  }
  ScriptWriter& Data(int conn, std::uint16_t len, std::uint8_t flags = 0x18) {
    return Segment(conn, flags, 0, 0, 65535, kOptTimestamps, len);
  }
  ScriptWriter& Advance(std::uint16_t ms);
  ScriptWriter& App(int conn, AppAction action, std::uint16_t n = 0);
  ScriptWriter& Connect(int conn, std::uint8_t how = 0);
  ScriptWriter& Datagram(std::uint8_t how, std::uint16_t len);
  const std::vector<std::uint8_t>& bytes() const { return bytes_; }

 private:
  void U8(std::uint8_t v) { bytes_.push_back(v); }
  void U16(std::uint16_t v) {
    U8(static_cast<std::uint8_t>(v >> 8));
    U8(static_cast<std::uint8_t>(v));
  }
  std::vector<std::uint8_t> bytes_;
};

// What one played script did, for the replay's summary.
struct ScriptStats {
  std::uint64_t records = 0;
  std::uint64_t frames_to_engine = 0;
  std::uint64_t frames_from_engine = 0;
  std::uint64_t established = 0;   // connections the harness saw reach ESTABLISHED
};

// Plays `data` on a fresh engine; aborts (RS_FUZZ_CHECK) when the engine
// sends a frame that does not parse, or holds packet buffers once idle.
// `counters`, when not null, gets the engine's counters added.
ScriptStats PlayStackScript(const std::uint8_t* data, std::size_t size,
                            std::map<std::string, std::uint64_t>* counters = nullptr);

// The seeds: every scapy vector as a raw frame, and scripted conversations
// (handshakes both ways, data both ways, loss and recovery under each
// strategy, reordering, zero windows, every way to close, resets, SYN
// cookies, UDP).
std::vector<std::vector<std::uint8_t>> StackSeeds();

}  // namespace ringstack::fuzz

#endif  // RINGSTACK_TESTS_FUZZ_STACK_SCRIPT_H_
