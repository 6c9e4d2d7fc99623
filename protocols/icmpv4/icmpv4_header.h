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
// Icmpv4Header reads, Icmpv4HeaderMut also writes. Checked() guarantees the
// 8-byte header (every ICMPv4 message has one: the second word is
// type-specific). ICMPv6's Echo (RFC 4443 4.1) has the same layout.
#ifndef RINGSTACK_PROTOCOLS_ICMPV4_ICMPV4_HEADER_H_
#define RINGSTACK_PROTOCOLS_ICMPV4_ICMPV4_HEADER_H_

#include <cstdint>
#include <optional>
#include <span>
#include <type_traits>

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

template <typename Byte>  // const std::byte: read only; std::byte: read and write
class BasicIcmpv4Header {
 public:
  static std::optional<BasicIcmpv4Header> Checked(std::span<Byte> b) {
    if (b.size() < kHeaderLen) return std::nullopt;
    return BasicIcmpv4Header(b);
  }
  std::uint8_t type() const { return Load8(b_.data() + field::kType); }
  std::uint8_t code() const { return Load8(b_.data() + field::kCode); }
  std::uint16_t checksum() const { return LoadBe16(b_.data() + field::kChecksum); }
  std::uint16_t ident() const { return LoadBe16(b_.data() + field::kIdent); }
  std::uint16_t seq() const { return LoadBe16(b_.data() + field::kSeq); }
  std::uint32_t rest() const { return LoadBe32(b_.data() + field::kRest); }
  Bytes data() const { return b_.subspan(kHeaderLen); }

  void set_type(std::uint8_t v) requires(!std::is_const_v<Byte>) { Store8(b_.data() + field::kType, v); }
  void set_code(std::uint8_t v) requires(!std::is_const_v<Byte>) { Store8(b_.data() + field::kCode, v); }
  void set_checksum(std::uint16_t v) requires(!std::is_const_v<Byte>) { StoreBe16(b_.data() + field::kChecksum, v); }
  void set_ident(std::uint16_t v) requires(!std::is_const_v<Byte>) { StoreBe16(b_.data() + field::kIdent, v); }
  void set_seq(std::uint16_t v) requires(!std::is_const_v<Byte>) { StoreBe16(b_.data() + field::kSeq, v); }
  void set_rest(std::uint32_t v) requires(!std::is_const_v<Byte>) { StoreBe32(b_.data() + field::kRest, v); }

 private:
  explicit BasicIcmpv4Header(std::span<Byte> b) : b_(b) {}
  std::span<Byte> b_;
};

using Icmpv4Header = BasicIcmpv4Header<const std::byte>;
using Icmpv4HeaderMut = BasicIcmpv4Header<std::byte>;

}  // namespace ringstack::proto::icmpv4

#endif  // RINGSTACK_PROTOCOLS_ICMPV4_ICMPV4_HEADER_H_
