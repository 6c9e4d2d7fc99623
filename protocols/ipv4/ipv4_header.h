// IPv4 header (RFC 791 3.1).
//
//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |Version|  IHL  |   DSCP    |ECN|          Total Length         |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |         Identification        |Flags|      Fragment Offset    |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |  Time to Live |    Protocol   |         Header Checksum       |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                       Source Address                          |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                    Destination Address                        |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                    Options                    |    Padding    |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Ipv4Header reads, Ipv4HeaderMut also writes. Checked() guarantees the
// fixed 20 bytes; header_len()/total_len() are raw field values that
// Ipv4Repr::Parse validates against the span.
#ifndef RINGSTACK_PROTOCOLS_IPV4_IPV4_HEADER_H_
#define RINGSTACK_PROTOCOLS_IPV4_IPV4_HEADER_H_

#include <cstdint>
#include <optional>
#include <span>
#include <type_traits>

#include "protocols/common/address.h"
#include "protocols/common/bytes.h"

namespace ringstack::proto::ipv4 {

inline constexpr std::size_t kMinHeaderLen = 20;
inline constexpr std::size_t kMaxHeaderLen = 60;
inline constexpr std::uint8_t kProtoIcmp = 1;
inline constexpr std::uint8_t kProtoTcp = 6;
inline constexpr std::uint8_t kProtoUdp = 17;
inline constexpr std::uint8_t kDefaultTtl = 64;

namespace field {
inline constexpr std::size_t kVerIhl = 0;
inline constexpr std::size_t kDscpEcn = 1;
inline constexpr std::size_t kTotalLen = 2;
inline constexpr std::size_t kIdent = 4;
inline constexpr std::size_t kFlagsFrag = 6;
inline constexpr std::size_t kTtl = 8;
inline constexpr std::size_t kProtocol = 9;
inline constexpr std::size_t kChecksum = 10;
inline constexpr std::size_t kSrc = 12;
inline constexpr std::size_t kDst = 16;
}  // namespace field

inline constexpr std::uint16_t kFlagDf = 0x4000;
inline constexpr std::uint16_t kFlagMf = 0x2000;
inline constexpr std::uint16_t kFragOffsetMask = 0x1fff;

template <typename Byte>  // const std::byte: read only; std::byte: read and write
class BasicIpv4Header {
 public:
  static std::optional<BasicIpv4Header> Checked(std::span<Byte> b) {
    if (b.size() < kMinHeaderLen) return std::nullopt;
    return BasicIpv4Header(b);
  }
  std::uint8_t version() const { return Load8(b_.data() + field::kVerIhl) >> 4; }
  std::size_t header_len() const { return (Load8(b_.data() + field::kVerIhl) & 0xf) * 4u; }
  std::uint8_t dscp() const { return Load8(b_.data() + field::kDscpEcn) >> 2; }
  std::uint8_t ecn() const { return Load8(b_.data() + field::kDscpEcn) & 3; }
  std::uint16_t total_len() const { return LoadBe16(b_.data() + field::kTotalLen); }
  std::uint16_t ident() const { return LoadBe16(b_.data() + field::kIdent); }
  bool df() const { return (LoadBe16(b_.data() + field::kFlagsFrag) & kFlagDf) != 0; }
  bool mf() const { return (LoadBe16(b_.data() + field::kFlagsFrag) & kFlagMf) != 0; }
  // In bytes (the field counts 8-byte units).
  std::uint32_t frag_offset() const {
    return (LoadBe16(b_.data() + field::kFlagsFrag) & kFragOffsetMask) * 8u;
  }
  // A fragment: more to come, or not the first (RFC 791 3.2).
  bool is_fragment() const { return (LoadBe16(b_.data() + field::kFlagsFrag) & (kFlagMf | kFragOffsetMask)) != 0; }
  std::uint8_t ttl() const { return Load8(b_.data() + field::kTtl); }
  std::uint8_t protocol() const { return Load8(b_.data() + field::kProtocol); }
  std::uint16_t checksum() const { return LoadBe16(b_.data() + field::kChecksum); }
  Ipv4Address src() const { return Ipv4Address::FromBytes(b_.data() + field::kSrc); }
  Ipv4Address dst() const { return Ipv4Address::FromBytes(b_.data() + field::kDst); }

  void set_total_len(std::uint16_t v) requires(!std::is_const_v<Byte>) {
    StoreBe16(b_.data() + field::kTotalLen, v);
  }
  void set_ident(std::uint16_t v) requires(!std::is_const_v<Byte>) { StoreBe16(b_.data() + field::kIdent, v); }
  void set_checksum(std::uint16_t v) requires(!std::is_const_v<Byte>) { StoreBe16(b_.data() + field::kChecksum, v); }

 private:
  explicit BasicIpv4Header(std::span<Byte> b) : b_(b) {}
  std::span<Byte> b_;
};

using Ipv4Header = BasicIpv4Header<const std::byte>;
using Ipv4HeaderMut = BasicIpv4Header<std::byte>;

}  // namespace ringstack::proto::ipv4

#endif  // RINGSTACK_PROTOCOLS_IPV4_IPV4_HEADER_H_
