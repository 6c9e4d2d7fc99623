// Ethernet II header (IEEE 802.3 frame with an EtherType, RFC 894 framing).
//
//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                    Destination MAC Address                    |
// +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                               |                               |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
// |                      Source MAC Address                       |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |           EtherType           |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// A zero-copy view: Checked() guarantees 14 readable bytes, after which no
// accessor reads out of bounds.
#ifndef RINGSTACK_PROTOCOLS_ETHERNET_ETHERNET_HEADER_H_
#define RINGSTACK_PROTOCOLS_ETHERNET_ETHERNET_HEADER_H_

#include <cstdint>
#include <optional>

#include "protocols/common/address.h"
#include "protocols/common/bytes.h"

namespace ringstack::proto::ethernet {

inline constexpr std::size_t kHeaderLen = 14;
inline constexpr std::uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr std::uint16_t kEtherTypeArp = 0x0806;
inline constexpr std::uint16_t kEtherTypeIpv6 = 0x86dd;
inline constexpr std::uint16_t kMinEtherType = 0x0600;  // below: an 802.3 length

namespace field {
inline constexpr std::size_t kDst = 0;
inline constexpr std::size_t kSrc = 6;
inline constexpr std::size_t kEtherType = 12;
}  // namespace field

class EthernetHeader {
 public:
  static std::optional<EthernetHeader> Checked(Bytes frame) {
    if (frame.size() < kHeaderLen) return std::nullopt;
    return EthernetHeader(frame);
  }
  MacAddress dst() const { return MacAddress::FromBytes(b_.data() + field::kDst); }
  MacAddress src() const { return MacAddress::FromBytes(b_.data() + field::kSrc); }
  std::uint16_t ethertype() const { return LoadBe16(b_.data() + field::kEtherType); }
  Bytes payload() const { return b_.subspan(kHeaderLen); }

 private:
  explicit EthernetHeader(Bytes b) : b_(b) {}
  Bytes b_;
};

}  // namespace ringstack::proto::ethernet

#endif  // RINGSTACK_PROTOCOLS_ETHERNET_ETHERNET_HEADER_H_
