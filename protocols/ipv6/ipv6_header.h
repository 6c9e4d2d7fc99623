// The IPv6 header (RFC 8200 3): constants, field offsets and a checked view.
//
//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |Version| Traffic Class |           Flow Label                  |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |         Payload Length        |  Next Header  |   Hop Limit   |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                    Source Address (128 bits)                  |
// |                 Destination Address (128 bits)                |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Ipv6Header reads, Ipv6HeaderMut also writes; Checked() guarantees the 40
// bytes, so no accessor reads or writes out of bounds. version() and
// payload_len() are raw fields that Ipv6Repr::Parse validates.
#ifndef RINGSTACK_PROTOCOLS_IPV6_IPV6_HEADER_H_
#define RINGSTACK_PROTOCOLS_IPV6_IPV6_HEADER_H_

#include <cstdint>
#include <optional>
#include <span>
#include <type_traits>

#include "protocols/common/address.h"
#include "protocols/common/bytes.h"

namespace ringstack::proto::ipv6 {

inline constexpr std::size_t kHeaderLen = 40;
inline constexpr std::uint8_t kDefaultHopLimit = 64;
inline constexpr std::size_t kMinMtu = 1280;  // RFC 8200 5

// Next Header values (IANA protocol numbers).
inline constexpr std::uint8_t kHopByHop = 0;
inline constexpr std::uint8_t kTcp = 6;
inline constexpr std::uint8_t kUdp = 17;
inline constexpr std::uint8_t kRouting = 43;
inline constexpr std::uint8_t kFragment = 44;
inline constexpr std::uint8_t kIcmpv6 = 58;
inline constexpr std::uint8_t kNoNextHeader = 59;
inline constexpr std::uint8_t kDestinationOptions = 60;

namespace field {
inline constexpr std::size_t kVersionClassFlow = 0;  // 4 | 8 | 20 bits
inline constexpr std::size_t kPayloadLen = 4;
inline constexpr std::size_t kNextHeader = 6;
inline constexpr std::size_t kHopLimit = 7;
inline constexpr std::size_t kSrc = 8;
inline constexpr std::size_t kDst = 24;
}  // namespace field

template <typename Byte>  // const std::byte: read only; std::byte: read and write
class BasicIpv6Header {
 public:
  static std::optional<BasicIpv6Header> Checked(std::span<Byte> b) {
    if (b.size() < kHeaderLen) return std::nullopt;
    return BasicIpv6Header(b);
  }
  std::uint8_t version() const { return static_cast<std::uint8_t>(first() >> 28); }
  std::uint8_t traffic_class() const { return static_cast<std::uint8_t>(first() >> 20); }
  std::uint32_t flow_label() const { return first() & 0xfffff; }
  std::uint16_t payload_len() const { return LoadBe16(b_.data() + field::kPayloadLen); }
  std::uint8_t next_header() const { return Load8(b_.data() + field::kNextHeader); }
  std::uint8_t hop_limit() const { return Load8(b_.data() + field::kHopLimit); }
  Ipv6Address src() const { return Ipv6Address::FromBytes(b_.data() + field::kSrc); }
  Ipv6Address dst() const { return Ipv6Address::FromBytes(b_.data() + field::kDst); }
  // The addresses' raw bytes (16 each), for hashing without a copy.
  std::span<const std::byte, 16> src_bytes() const { return std::span<const std::byte, 16>(b_.data() + field::kSrc, 16); }
  std::span<const std::byte, 16> dst_bytes() const { return std::span<const std::byte, 16>(b_.data() + field::kDst, 16); }

  // Version 6 with the given class and label.
  void set_version_class_flow(std::uint8_t traffic_class, std::uint32_t flow_label) requires(!std::is_const_v<Byte>) {
    StoreBe32(b_.data(), (6u << 28) | (std::uint32_t{traffic_class} << 20) | (flow_label & 0xfffff));
  }
  void set_payload_len(std::uint16_t v) requires(!std::is_const_v<Byte>) {
    StoreBe16(b_.data() + field::kPayloadLen, v);
  }
  void set_next_header(std::uint8_t v) requires(!std::is_const_v<Byte>) { Store8(b_.data() + field::kNextHeader, v); }
  void set_hop_limit(std::uint8_t v) requires(!std::is_const_v<Byte>) { Store8(b_.data() + field::kHopLimit, v); }
  void set_src(const Ipv6Address& a) requires(!std::is_const_v<Byte>) { a.CopyTo(b_.data() + field::kSrc); }
  void set_dst(const Ipv6Address& a) requires(!std::is_const_v<Byte>) { a.CopyTo(b_.data() + field::kDst); }

 private:
  explicit BasicIpv6Header(std::span<Byte> b) : b_(b) {}
  std::uint32_t first() const { return LoadBe32(b_.data() + field::kVersionClassFlow); }
  std::span<Byte> b_;
};

using Ipv6Header = BasicIpv6Header<const std::byte>;
using Ipv6HeaderMut = BasicIpv6Header<std::byte>;

// The Fragment extension header (RFC 8200 4.5):
//
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |  Next Header  |   Reserved    |      Fragment Offset    |Res|M|
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                         Identification                        |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
inline constexpr std::size_t kFragmentHeaderLen = 8;

template <typename Byte>  // const std::byte: read only; std::byte: read and write
class BasicFragmentHeader {
 public:
  static std::optional<BasicFragmentHeader> Checked(std::span<Byte> b) {
    if (b.size() < kFragmentHeaderLen) return std::nullopt;
    return BasicFragmentHeader(b);
  }
  std::uint8_t next_header() const { return Load8(b_.data()); }
  // In bytes (the field counts 8-byte units, in place in its word).
  std::uint16_t offset() const { return LoadBe16(b_.data() + 2) & 0xfff8; }
  bool more() const { return (LoadBe16(b_.data() + 2) & 1) != 0; }
  std::uint32_t ident() const { return LoadBe32(b_.data() + 4); }

  // All of it: `offset` in bytes, a multiple of 8; the reserved fields zero.
  void Set(std::uint8_t next_header, std::uint16_t offset, bool more, std::uint32_t ident)
    requires(!std::is_const_v<Byte>)
  {
    Store8(b_.data(), next_header);
    Store8(b_.data() + 1, 0);
    StoreBe16(b_.data() + 2, static_cast<std::uint16_t>((offset & 0xfff8) | (more ? 1 : 0)));
    StoreBe32(b_.data() + 4, ident);
  }

 private:
  explicit BasicFragmentHeader(std::span<Byte> b) : b_(b) {}
  std::span<Byte> b_;
};

using FragmentHeader = BasicFragmentHeader<const std::byte>;
using FragmentHeaderMut = BasicFragmentHeader<std::byte>;

}  // namespace ringstack::proto::ipv6

#endif  // RINGSTACK_PROTOCOLS_IPV6_IPV6_HEADER_H_
