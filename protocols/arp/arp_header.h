// ARP packet for Ethernet and IPv4 (RFC 826).
//
//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |        Hardware Type (1)      |     Protocol Type (0x0800)    |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |  HW Len (6)   | Proto Len (4) |           Operation           |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                Sender Hardware Address (6 bytes)              |
// +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                               | Sender Protocol Address (4)   |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                               |                               |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
// |                Target Hardware Address (6 bytes)              |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                 Target Protocol Address (4)                   |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Checked() guarantees the 28 bytes are there.
#ifndef RINGSTACK_PROTOCOLS_ARP_ARP_HEADER_H_
#define RINGSTACK_PROTOCOLS_ARP_ARP_HEADER_H_

#include <cstdint>
#include <optional>

#include "protocols/common/address.h"
#include "protocols/common/bytes.h"

namespace ringstack::proto::arp {

inline constexpr std::size_t kPacketLen = 28;
inline constexpr std::uint16_t kHardwareEthernet = 1;
inline constexpr std::uint16_t kProtocolIpv4 = 0x0800;
inline constexpr std::uint16_t kOpRequest = 1;
inline constexpr std::uint16_t kOpReply = 2;

namespace field {
inline constexpr std::size_t kHtype = 0;
inline constexpr std::size_t kPtype = 2;
inline constexpr std::size_t kHlen = 4;
inline constexpr std::size_t kPlen = 5;
inline constexpr std::size_t kOper = 6;
inline constexpr std::size_t kSha = 8;
inline constexpr std::size_t kSpa = 14;
inline constexpr std::size_t kTha = 18;
inline constexpr std::size_t kTpa = 24;
}  // namespace field

class ArpHeader {
 public:
  static std::optional<ArpHeader> Checked(Bytes b) {
    if (b.size() < kPacketLen) return std::nullopt;
    return ArpHeader(b);
  }
  std::uint16_t htype() const { return LoadBe16(b_.data() + field::kHtype); }
  std::uint16_t ptype() const { return LoadBe16(b_.data() + field::kPtype); }
  std::uint8_t hlen() const { return Load8(b_.data() + field::kHlen); }
  std::uint8_t plen() const { return Load8(b_.data() + field::kPlen); }
  std::uint16_t oper() const { return LoadBe16(b_.data() + field::kOper); }
  MacAddress sha() const { return MacAddress::FromBytes(b_.data() + field::kSha); }
  Ipv4Address spa() const { return Ipv4Address::FromBytes(b_.data() + field::kSpa); }
  MacAddress tha() const { return MacAddress::FromBytes(b_.data() + field::kTha); }
  Ipv4Address tpa() const { return Ipv4Address::FromBytes(b_.data() + field::kTpa); }

 private:
  explicit ArpHeader(Bytes b) : b_(b) {}
  Bytes b_;
};

}  // namespace ringstack::proto::arp

#endif  // RINGSTACK_PROTOCOLS_ARP_ARP_HEADER_H_
