// The UDP header (RFC 768): field offsets and a checked view.
//
//   0      7 8     15 16    23 24    31
//  +--------+--------+--------+--------+
//  |     Source      |   Destination   |
//  |      Port       |      Port       |
//  +--------+--------+--------+--------+
//  |     Length      |    Checksum     |
//  +--------+--------+--------+--------+
//
// UdpHeader reads, UdpHeaderMut also writes; Checked() guarantees the 8
// bytes, so no accessor reads or writes out of bounds. length() is the raw
// field, which UdpRepr::Parse validates against the datagram.
#ifndef RINGSTACK_PROTOCOLS_UDP_UDP_HEADER_H_
#define RINGSTACK_PROTOCOLS_UDP_UDP_HEADER_H_

#include <cstdint>
#include <optional>
#include <span>
#include <type_traits>

#include "protocols/common/bytes.h"

namespace ringstack::proto::udp {

inline constexpr std::size_t kHeaderLen = 8;

namespace field {
inline constexpr std::size_t kSrcPort = 0;
inline constexpr std::size_t kDstPort = 2;
inline constexpr std::size_t kLength = 4;
inline constexpr std::size_t kChecksum = 6;
}  // namespace field

template <typename Byte>  // const std::byte: read only; std::byte: read and write
class BasicUdpHeader {
 public:
  static std::optional<BasicUdpHeader> Checked(std::span<Byte> b) {
    if (b.size() < kHeaderLen) return std::nullopt;
    return BasicUdpHeader(b);
  }
  std::uint16_t src_port() const { return LoadBe16(b_.data() + field::kSrcPort); }
  std::uint16_t dst_port() const { return LoadBe16(b_.data() + field::kDstPort); }
  std::uint16_t length() const { return LoadBe16(b_.data() + field::kLength); }
  std::uint16_t checksum() const { return LoadBe16(b_.data() + field::kChecksum); }

  void set_src_port(std::uint16_t v) requires(!std::is_const_v<Byte>) { StoreBe16(b_.data() + field::kSrcPort, v); }
  void set_dst_port(std::uint16_t v) requires(!std::is_const_v<Byte>) { StoreBe16(b_.data() + field::kDstPort, v); }
  void set_length(std::uint16_t v) requires(!std::is_const_v<Byte>) { StoreBe16(b_.data() + field::kLength, v); }
  void set_checksum(std::uint16_t v) requires(!std::is_const_v<Byte>) { StoreBe16(b_.data() + field::kChecksum, v); }

 private:
  explicit BasicUdpHeader(std::span<Byte> b) : b_(b) {}
  std::span<Byte> b_;
};

using UdpHeader = BasicUdpHeader<const std::byte>;
using UdpHeaderMut = BasicUdpHeader<std::byte>;

}  // namespace ringstack::proto::udp

#endif  // RINGSTACK_PROTOCOLS_UDP_UDP_HEADER_H_
