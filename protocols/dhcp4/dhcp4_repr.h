// Dhcp4Repr: a validated DHCPv4 message (RFC 2131 section 2, options from
// RFC 2132) with Parse and Emit.
//
//   op htype hlen hops | xid | secs flags | ciaddr | yiaddr | siaddr | giaddr
//   chaddr (16) | sname (64) | file (128) | magic cookie 99.130.83.99 | options
//
// Parse: integrity (236 fixed bytes + cookie, op 1 or 2, Ethernet htype/hlen,
// every option inside the data with the length its type needs), then the
// options ringstack uses are decoded; the message type (53) is required.
// Unknown options are skipped. Option overload (52) is not honoured (its
// options in sname/file are ignored, as many small clients do).
// Emit writes the fixed part, the cookie and the options set here, padded
// to the 300-byte BOOTP minimum (RFC 1542 2.1); never allocates.
#ifndef RINGSTACK_PROTOCOLS_DHCP4_DHCP4_REPR_H_
#define RINGSTACK_PROTOCOLS_DHCP4_DHCP4_REPR_H_

#include <array>
#include <cstdint>
#include <optional>

#include "protocols/common/address.h"
#include "protocols/common/bytes.h"
#include "protocols/common/parse_error.h"
#include "protocols/common/time.h"

namespace ringstack::proto::dhcp4 {

inline constexpr std::uint16_t kServerPort = 67;
inline constexpr std::uint16_t kClientPort = 68;
inline constexpr std::size_t kFixedLen = 236;
inline constexpr std::size_t kMinMessageLen = 300;  // BOOTP minimum, RFC 1542
inline constexpr std::uint32_t kMagicCookie = 0x63825363;
inline constexpr std::uint8_t kOpRequest = 1;
inline constexpr std::uint8_t kOpReply = 2;
inline constexpr std::uint16_t kFlagBroadcast = 0x8000;

enum class MessageType : std::uint8_t {
  kDiscover = 1, kOffer = 2, kRequest = 3, kDecline = 4, kAck = 5, kNak = 6, kRelease = 7, kInform = 8,
};
const char* MessageTypeName(MessageType t);

namespace option {
inline constexpr std::uint8_t kPad = 0;
inline constexpr std::uint8_t kSubnetMask = 1;
inline constexpr std::uint8_t kRouter = 3;
inline constexpr std::uint8_t kDns = 6;
inline constexpr std::uint8_t kRequestedIp = 50;
inline constexpr std::uint8_t kLeaseTime = 51;
inline constexpr std::uint8_t kMessageType = 53;
inline constexpr std::uint8_t kServerId = 54;
inline constexpr std::uint8_t kParameterList = 55;
inline constexpr std::uint8_t kRenewalTime = 58;    // T1
inline constexpr std::uint8_t kRebindingTime = 59;  // T2
inline constexpr std::uint8_t kEnd = 255;
}  // namespace option

struct Dhcp4Repr {
  std::uint8_t op = kOpRequest;
  std::uint32_t xid = 0;
  std::uint16_t secs = 0;
  std::uint16_t flags = 0;
  Ipv4Address ciaddr;
  Ipv4Address yiaddr;
  Ipv4Address siaddr;
  Ipv4Address giaddr;
  MacAddress chaddr;
  MessageType type = MessageType::kDiscover;
  // Options (present when set).
  std::optional<Ipv4Address> subnet_mask;
  std::optional<Ipv4Address> router;  // the first of the list
  std::array<Ipv4Address, 3> dns{};   // the first three of the list
  std::uint8_t dns_count = 0;
  std::optional<Ipv4Address> requested_ip;
  std::optional<Ipv4Address> server_id;
  std::optional<std::uint32_t> lease_time;  // seconds; 0xffffffff is infinite
  std::optional<std::uint32_t> renewal_time;
  std::optional<std::uint32_t> rebinding_time;
  bool request_parameters = false;  // Emit: option 55 asking for 1, 3, 6, 51, 54, 58, 59

  static Parsed<Dhcp4Repr> Parse(Bytes message);
  std::size_t emitted_len() const;
  // out.size() must be emitted_len().
  void Emit(MutableBytes out) const;
  bool operator==(const Dhcp4Repr&) const = default;
};

}  // namespace ringstack::proto::dhcp4

#endif  // RINGSTACK_PROTOCOLS_DHCP4_DHCP4_REPR_H_
