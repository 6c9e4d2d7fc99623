// The TCP-connection fuzz target's input: a script that drives one pure
// TcpConnection (protocols/tcp) with the peer's segments, the
// application's calls and timer ticks, checking the connection's promises
// to its owner as it goes.
//
// Byte 0 is the configuration (kConn* bits); the rest is records, an opcode
// byte (modulo kConnOpCount) and its fields, big-endian:
//   kConnSegment  u8 flags, i16 seq, i16 ack, u16 window, u8 options, u16 len
//                 [2 x u16 per SACK block]: SEQ = the peer's next sequence
//                 number + seq, ACK = one past the highest sequence number
//                 the connection sent + ack (options as stack_script.h's
//                 kOpt* bits); len's low 12 bits the payload length (at
//                 most 1400), bit 12 an AccECN option (three fields from
//                 the window: EE0B 3 x window + 1, ECEB window, EE1B 1),
//                 bit 13 the AE bit, its top two the IP header's ECN field.
//                 The connection asks for Accurate ECN (RFC 9768), as does
//                 the peer's SYN of a passive one: the SYN-ACK's or the
//                 handshake ACK's AE, CWR and ECE agree to it, to RFC
//                 3168's ECN or to none.
//   kConnAdvance  u16 ms: time passes; every deadline on the way fires
//   kConnSend     u16 n: the application queues n bytes
//   kConnRead     u16 n: the application reads up to n bytes
//   kConnShutdown, kConnClose, kConnAbort
//   kConnCongestion u8 which: TCP_CONGESTION (which % 3: newreno, cubic, bbr)
// Checks (abort when broken): the connection transmits only bytes the
// application queued and not yet released, releases no more than was
// queued, places data only inside the window it offered, commits no more
// than was placed, never has SND.UNA past SND.NXT, and says nothing after
// kClosed.
#ifndef RINGSTACK_TESTS_FUZZ_TCP_CONN_SCRIPT_H_
#define RINGSTACK_TESTS_FUZZ_TCP_CONN_SCRIPT_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ringstack::fuzz {

enum ConnOp : std::uint8_t {
  kConnSegment,
  kConnAdvance,
  kConnSend,
  kConnRead,
  kConnShutdown,
  kConnClose,
  kConnAbort,
  kConnCongestion,
  kConnOpCount,
};

enum : std::uint8_t {
  kConnSack = 1,         // recovery "sack" (with kConnNewRenoRecovery: "rack")
  kConnNewRenoRecovery = 2,
  kConnNewRenoCc = 4,    // congestion control newreno (else cubic)
  kConnNoTimestamps = 8,
  kConnPassive = 16,     // opened by Accept from the peer's SYN (else Connect)
  kConnNoDelay = 32,
  kConnSmallBuffer = 64, // a 4 KiB receive buffer
  kConnKeepalive = 128,
};

void PlayConnScript(const std::uint8_t* data, std::size_t size);

// Handshakes both ways, transfers with loss under each recovery strategy,
// zero windows both ways, closes of every kind, resets and timeouts.
std::vector<std::vector<std::uint8_t>> TcpConnSeeds();

}  // namespace ringstack::fuzz

#endif  // RINGSTACK_TESTS_FUZZ_TCP_CONN_SCRIPT_H_
