// The TCP header (RFC 9293 3.1): field offsets and flag bits. tcp_repr.h
// parses and emits it; nothing here reads memory.
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |          Source Port          |       Destination Port        |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                        Sequence Number                        |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                    Acknowledgment Number                      |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |  Data |       |C|E|U|A|P|R|S|F|                               |
//   | Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |
//   |       |       |R|E|G|K|H|T|N|N|                               |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |           Checksum            |         Urgent Pointer        |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                           [Options]                           |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
#ifndef RINGSTACK_PROTOCOLS_TCP_TCP_HEADER_H_
#define RINGSTACK_PROTOCOLS_TCP_TCP_HEADER_H_

#include <cstddef>
#include <cstdint>

namespace ringstack::proto::tcp {

inline constexpr std::size_t kMinHeaderLen = 20;
inline constexpr std::size_t kMaxHeaderLen = 60;
inline constexpr std::size_t kMaxOptionsLen = kMaxHeaderLen - kMinHeaderLen;

namespace field {
inline constexpr std::size_t kSrcPort = 0;
inline constexpr std::size_t kDstPort = 2;
inline constexpr std::size_t kSeq = 4;
inline constexpr std::size_t kAck = 8;
inline constexpr std::size_t kDataOffset = 12;  // high nibble, in 32-bit words
inline constexpr std::size_t kFlags = 13;
inline constexpr std::size_t kWindow = 14;
inline constexpr std::size_t kChecksum = 16;
inline constexpr std::size_t kUrgent = 18;
inline constexpr std::size_t kOptions = 20;
}  // namespace field

// Control bits (RFC 9293 3.1; CWR and ECE from RFC 3168).
inline constexpr std::uint8_t kFin = 0x01;
inline constexpr std::uint8_t kSyn = 0x02;
inline constexpr std::uint8_t kRst = 0x04;
inline constexpr std::uint8_t kPsh = 0x08;
inline constexpr std::uint8_t kAck = 0x10;
inline constexpr std::uint8_t kUrg = 0x20;
inline constexpr std::uint8_t kEce = 0x40;
inline constexpr std::uint8_t kCwr = 0x80;

// Option kinds (RFC 9293 3.2, RFC 7323, RFC 2018).
namespace option {
inline constexpr std::uint8_t kEnd = 0;
inline constexpr std::uint8_t kNop = 1;
inline constexpr std::uint8_t kMss = 2;
inline constexpr std::uint8_t kWindowScale = 3;
inline constexpr std::uint8_t kSackPermitted = 4;
inline constexpr std::uint8_t kSack = 5;
inline constexpr std::uint8_t kTimestamps = 8;
}  // namespace option

}  // namespace ringstack::proto::tcp

#endif  // RINGSTACK_PROTOCOLS_TCP_TCP_HEADER_H_
