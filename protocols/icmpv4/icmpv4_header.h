// ICMPv4 message header (RFC 792); Echo and Echo Reply layout shown.
//
//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |     Type      |     Code      |          Checksum             |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |           Identifier          |        Sequence Number        |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |     Data ...
// +-+-+-+-+-
//
// Checked() guarantees the 8-byte header (every ICMPv4 message has one: the
// second word is type-specific).
#ifndef RINGSTACK_PROTOCOLS_ICMPV4_ICMPV4_HEADER_H_
#define RINGSTACK_PROTOCOLS_ICMPV4_ICMPV4_HEADER_H_

#include <cstdint>
#include <optional>

#include "protocols/common/bytes.h"

namespace ringstack::proto::icmpv4 {

inline constexpr std::size_t kHeaderLen = 8;
inline constexpr std::uint8_t kTypeEchoReply = 0;
inline constexpr std::uint8_t kTypeDestUnreachable = 3;
inline constexpr std::uint8_t kTypeEchoRequest = 8;
inline constexpr std::uint8_t kTypeTimeExceeded = 11;
inline constexpr std::uint8_t kTypeParameterProblem = 12;

namespace field {
inline constexpr std::size_t kType = 0;
inline constexpr std::size_t kCode = 1;
inline constexpr std::size_t kChecksum = 2;
inline constexpr std::size_t kIdent = 4;
inline constexpr std::size_t kSeq = 6;
inline constexpr std::size_t kRest = 4;
}  // namespace field

class Icmpv4Header {
 public:
  static std::optional<Icmpv4Header> Checked(Bytes b) {
    if (b.size() < kHeaderLen) return std::nullopt;
    return Icmpv4Header(b);
  }
  std::uint8_t type() const { return Load8(b_.data() + field::kType); }
  std::uint8_t code() const { return Load8(b_.data() + field::kCode); }
  std::uint16_t checksum() const { return LoadBe16(b_.data() + field::kChecksum); }
  std::uint16_t ident() const { return LoadBe16(b_.data() + field::kIdent); }
  std::uint16_t seq() const { return LoadBe16(b_.data() + field::kSeq); }
  std::uint32_t rest() const { return LoadBe32(b_.data() + field::kRest); }
  Bytes data() const { return b_.subspan(kHeaderLen); }

 private:
  explicit Icmpv4Header(Bytes b) : b_(b) {}
  Bytes b_;
};

}  // namespace ringstack::proto::icmpv4

#endif  // RINGSTACK_PROTOCOLS_ICMPV4_ICMPV4_HEADER_H_
