// The TCP header (RFC 9293 3.1): field offsets, flag bits, option kinds and
// a checked view (TcpHeader reads, TcpHeaderMut also writes). Checked()
// guarantees the fixed 20 bytes, so no accessor reads or writes out of
// bounds; header_len() is the raw Data Offset, which TcpRepr::Parse
// validates against the segment. tcp_repr.h parses and emits whole headers.
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
//   |  Data |     |A|C|E|U|A|P|R|S|F|                               |
//   | Offset|Rsrvd|E|W|C|R|C|S|S|Y|I|            Window             |
//   |       |     | |R|E|G|K|H|T|N|N|                               |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |           Checksum            |         Urgent Pointer        |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                           [Options]                           |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
#ifndef RINGSTACK_PROTOCOLS_TCP_TCP_HEADER_H_
#define RINGSTACK_PROTOCOLS_TCP_TCP_HEADER_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <type_traits>

#include "protocols/common/bytes.h"

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
// AE (RFC 9768 3.2.2): the lowest bit of the Data Offset octet, once
// reserved; with CWR and ECE it makes Accurate ECN's ACE field.
inline constexpr std::uint8_t kAeBit = 0x01;

// Option kinds (RFC 9293 3.2, RFC 7323, RFC 2018, RFC 7413, RFC 9768).
namespace option {
inline constexpr std::uint8_t kEnd = 0;
inline constexpr std::uint8_t kNop = 1;
inline constexpr std::uint8_t kMss = 2;
inline constexpr std::uint8_t kWindowScale = 3;
inline constexpr std::uint8_t kSackPermitted = 4;
inline constexpr std::uint8_t kSack = 5;
inline constexpr std::uint8_t kTimestamps = 8;
inline constexpr std::uint8_t kFastOpen = 34;  // RFC 7413 4.1.1
inline constexpr std::uint8_t kAccEcn0 = 172;  // RFC 9768 3.2.3: EE0B, ECEB, EE1B
inline constexpr std::uint8_t kAccEcn1 = 174;  // RFC 9768 3.2.3: EE1B, ECEB, EE0B
}  // namespace option

template <typename Byte>  // const std::byte: read only; std::byte: read and write
class BasicTcpHeader {
 public:
  static std::optional<BasicTcpHeader> Checked(std::span<Byte> b) {
    if (b.size() < kMinHeaderLen) return std::nullopt;
    return BasicTcpHeader(b);
  }
  std::uint16_t src_port() const { return LoadBe16(b_.data() + field::kSrcPort); }
  std::uint16_t dst_port() const { return LoadBe16(b_.data() + field::kDstPort); }
  std::uint32_t seq() const { return LoadBe32(b_.data() + field::kSeq); }
  std::uint32_t ack() const { return LoadBe32(b_.data() + field::kAck); }
  // Data Offset in bytes (the field counts 32-bit words).
  std::size_t header_len() const { return (Load8(b_.data() + field::kDataOffset) >> 4) * 4u; }
  std::uint8_t flags() const { return Load8(b_.data() + field::kFlags); }
  bool ae() const { return (Load8(b_.data() + field::kDataOffset) & kAeBit) != 0; }
  std::uint16_t window() const { return LoadBe16(b_.data() + field::kWindow); }
  std::uint16_t checksum() const { return LoadBe16(b_.data() + field::kChecksum); }
  std::uint16_t urgent() const { return LoadBe16(b_.data() + field::kUrgent); }

  void set_src_port(std::uint16_t v) requires(!std::is_const_v<Byte>) { StoreBe16(b_.data() + field::kSrcPort, v); }
  void set_dst_port(std::uint16_t v) requires(!std::is_const_v<Byte>) { StoreBe16(b_.data() + field::kDstPort, v); }
  void set_seq(std::uint32_t v) requires(!std::is_const_v<Byte>) { StoreBe32(b_.data() + field::kSeq, v); }
  void set_ack(std::uint32_t v) requires(!std::is_const_v<Byte>) { StoreBe32(b_.data() + field::kAck, v); }
  // `len` in bytes, a multiple of 4 from 20 to 60; the reserved bits are cleared.
  void set_header_len(std::size_t len) requires(!std::is_const_v<Byte>) {
    Store8(b_.data() + field::kDataOffset, static_cast<std::uint8_t>((len / 4) << 4));
  }
  void set_flags(std::uint8_t v) requires(!std::is_const_v<Byte>) { Store8(b_.data() + field::kFlags, v); }
  // After set_header_len, which clears it.
  void set_ae(bool v) requires(!std::is_const_v<Byte>) {
    const std::uint8_t o = Load8(b_.data() + field::kDataOffset);
    Store8(b_.data() + field::kDataOffset, static_cast<std::uint8_t>(v ? o | kAeBit : o & ~kAeBit));
  }
  void set_window(std::uint16_t v) requires(!std::is_const_v<Byte>) { StoreBe16(b_.data() + field::kWindow, v); }
  void set_checksum(std::uint16_t v) requires(!std::is_const_v<Byte>) { StoreBe16(b_.data() + field::kChecksum, v); }
  void set_urgent(std::uint16_t v) requires(!std::is_const_v<Byte>) { StoreBe16(b_.data() + field::kUrgent, v); }

 private:
  explicit BasicTcpHeader(std::span<Byte> b) : b_(b) {}
  std::span<Byte> b_;
};

using TcpHeader = BasicTcpHeader<const std::byte>;
using TcpHeaderMut = BasicTcpHeader<std::byte>;

}  // namespace ringstack::proto::tcp

#endif  // RINGSTACK_PROTOCOLS_TCP_TCP_HEADER_H_
