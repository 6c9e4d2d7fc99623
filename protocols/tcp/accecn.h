// Accurate ECN (RFC 9768) where no connection is needed: the handshake's
// ACE codes, the counters a receiver keeps and sends back (the ACE field,
// the AccECN option's fields), and the sender's reading of them, with the
// safety rule for an ACE field that may have wrapped. Pure values;
// TcpConnection applies them (tcp_accecn.cc).
//
// ACE is the three bits AE, CWR, ECE read as one number (AE the high bit).
#ifndef RINGSTACK_PROTOCOLS_TCP_ACCECN_H_
#define RINGSTACK_PROTOCOLS_TCP_ACCECN_H_

#include <cstddef>
#include <cstdint>
#include <optional>

#include "protocols/common/ecn.h"
#include "protocols/tcp/tcp_repr.h"

namespace ringstack::proto::tcp::accecn {

// The values the counters are sent with at the start (3.2.2.1, 3.2.3.1):
// ACE = r.cep + 5, EE0B and EE1B = bytes + 1, ECEB = bytes; never zero at
// first, so a middlebox that zeroes them can be told apart.
inline constexpr std::uint32_t kCepInit = 5;
inline constexpr std::uint32_t kE0bInit = 1;
inline constexpr std::uint32_t kE1bInit = 1;
inline constexpr std::uint32_t kCebInit = 0;
inline constexpr std::uint8_t kAceMask = 0b111;

// The AccECN SYN: AE, CWR and ECE all set.
inline constexpr std::uint8_t kSynAce = 0b111;

// 3.1.2: a server that does AccECN answers any SYN whose ACE is not 000
// (no ECN) or 011 (RFC 3168's ECE + CWR) as an AccECN SYN.
constexpr bool SynAsksAccEcn(std::uint8_t ace) { return ace != 0b000 && ace != 0b011; }

// Tables 2 and 3: the ACE code that feeds back the IP-ECN field a SYN
// arrived with (on the SYN-ACK) or a SYN-ACK arrived with (on the
// handshake's last ACK).
std::uint8_t HandshakeAce(IpEcn arrived);
// The IP-ECN field such a code reports; none for 000, 001, 101 and 111.
std::optional<IpEcn> HandshakeEcn(std::uint8_t ace);

// What a client that asked for AccECN makes of the SYN-ACK's ACE
// (Table 2; 3.1.3: the reserved 101 enters AccECN, the broken 111 and the
// plain 000 give no ECN, 001 is an RFC 3168 server).
enum class SynAckAnswer : std::uint8_t { kNoEcn, kClassic, kAccEcn };
SynAckAnswer ReadSynAck(std::uint8_t ace);

// 3.2.2.3: a handshake packet sent as `sent` reported as having arrived as
// `arrived` passed a path that mangles the IP-ECN field (anything but
// arriving as sent, or an ECT codepoint marked CE); then the end sends no
// ECN-capable packets, its feedback goes on.
constexpr bool Mangled(IpEcn sent, IpEcn arrived) {
  return arrived != sent && (sent == IpEcn::kNotEct || arrived != IpEcn::kCe);
}

// A receiver's counts of what arrived (3.2.1): CE-marked packets and the
// payload bytes of each ECN codepoint.
struct Counters {
  std::uint32_t cep = 0;
  std::uint32_t e0b = 0;
  std::uint32_t e1b = 0;
  std::uint32_t ceb = 0;
  bool operator==(const Counters&) const = default;
};

// One arrival of `segments` packets (more than one for a coalesced
// super-frame) carrying `payload` bytes, all with field `ecn`.
void Count(Counters& r, IpEcn ecn, std::uint32_t payload, std::uint32_t segments);

// The ACE field for the receiver's counts.
constexpr std::uint8_t Ace(const Counters& r) { return static_cast<std::uint8_t>((r.cep + kCepInit) & kAceMask); }

// The AccECN option for the receiver's counts in at most `room` octets
// (2 + 3 a field): order 1 (EE1B first) when ECT(1) bytes outnumber ECT(0)
// ones, else order 0; as many fields as fit, none when not even the kind
// and length do (nullopt).
std::optional<AccEcnOption> MakeOption(const Counters& r, std::size_t room);

// The sender's view: what the peer reported of our packets.
struct Feedback {
  Counters seen;             // s.cep, s.e0b, s.e1b, s.ceb
  bool option_seen = false;  // an AccECN option with fields has come
  bool option_bad = false;   // its first one had EE0B or EE1B zero: options ignored
};

// 3.2.2.5 and Appendix A.2: the CE-marked packets an ACK's `ace` newly
// reports, of `pkts` packets it newly delivers. The field counts modulo 8:
// an ACK that delivers fewer than 8 packets cannot hide a wrap, one that
// delivers more is taken to report as many as it could (the safe value),
// unless the option's CE byte count (`d_ceb`, when the ACK carried one)
// shows fewer than half a segment's worth of bytes per packet so assumed.
std::uint32_t CeDelta(std::uint32_t s_cep, std::uint8_t ace, std::uint32_t pkts, std::optional<std::uint32_t> d_ceb,
                      std::uint32_t mss);

// Takes an option into `fb`: the byte counters move by the 24-bit
// differences the fields show (a field that went back is a reordered ACK:
// ignored). Returns the CE byte difference when the option carried ECEB.
std::optional<std::uint32_t> TakeOption(Feedback& fb, const AccEcnOption& o);

}  // namespace ringstack::proto::tcp::accecn

#endif  // RINGSTACK_PROTOCOLS_TCP_ACCECN_H_
