#include "protocols/dhcp4/dhcp4_repr.h"

#include <algorithm>
#include <cstring>

namespace ringstack::proto::dhcp4 {
namespace {

namespace field {
inline constexpr std::size_t kOp = 0;
inline constexpr std::size_t kHtype = 1;
inline constexpr std::size_t kHlen = 2;
inline constexpr std::size_t kXid = 4;
inline constexpr std::size_t kSecs = 8;
inline constexpr std::size_t kFlags = 10;
inline constexpr std::size_t kCiaddr = 12;
inline constexpr std::size_t kYiaddr = 16;
inline constexpr std::size_t kSiaddr = 20;
inline constexpr std::size_t kGiaddr = 24;
inline constexpr std::size_t kChaddr = 28;
inline constexpr std::size_t kCookie = 236;
inline constexpr std::size_t kOptions = 240;
}  // namespace field

constexpr std::uint8_t kParameters[] = {option::kSubnetMask, option::kRouter,    option::kDns,
                                        option::kLeaseTime,  option::kServerId,  option::kRenewalTime,
                                        option::kRebindingTime};

Ipv4Address LoadAddress(const std::byte* p) { return Ipv4Address(LoadBe32(p)); }

// One option of a message into `r` (RFC 2132); false when its length or
// value is wrong. Options this client has no use for are skipped.
bool ReadOption(Dhcp4Repr& r, std::uint8_t code, Bytes value, bool& have_type) {
  const std::byte* v = value.data();
  const std::size_t len = value.size();
  auto need = [len](std::size_t n) { return len == n; };
  switch (code) {
    case option::kMessageType:
      if (!need(1) || Load8(v) < 1 || Load8(v) > 8) return false;
      r.type = static_cast<MessageType>(Load8(v));
      have_type = true;
      break;
    case option::kSubnetMask:
      if (!need(4)) return false;
      r.subnet_mask = LoadAddress(v);
      break;
    case option::kRouter:
      if (len < 4 || len % 4 != 0) return false;
      r.router = LoadAddress(v);
      break;
    case option::kDns:
      if (len < 4 || len % 4 != 0) return false;
      r.dns_count = static_cast<std::uint8_t>(std::min<std::size_t>(len / 4, r.dns.size()));
      for (std::size_t k = 0; k < r.dns_count; ++k) r.dns[k] = LoadAddress(v + 4 * k);
      break;
    case option::kRequestedIp:
      if (!need(4)) return false;
      r.requested_ip = LoadAddress(v);
      break;
    case option::kServerId:
      if (!need(4)) return false;
      r.server_id = LoadAddress(v);
      break;
    case option::kLeaseTime:
      if (!need(4)) return false;
      r.lease_time = LoadBe32(v);
      break;
    case option::kRenewalTime:
      if (!need(4)) return false;
      r.renewal_time = LoadBe32(v);
      break;
    case option::kRebindingTime:
      if (!need(4)) return false;
      r.rebinding_time = LoadBe32(v);
      break;
    case option::kParameterList:
      r.request_parameters = true;
      break;
    default:
      break;  // not ours to understand
  }
  return true;
}

}  // namespace

const char* MessageTypeName(MessageType t) {
  switch (t) {
    case MessageType::kDiscover: return "DISCOVER";
    case MessageType::kOffer: return "OFFER";
    case MessageType::kRequest: return "REQUEST";
    case MessageType::kDecline: return "DECLINE";
    case MessageType::kAck: return "ACK";
    case MessageType::kNak: return "NAK";
    case MessageType::kRelease: return "RELEASE";
    case MessageType::kInform: return "INFORM";
  }
  return "?";
}

Parsed<Dhcp4Repr> Dhcp4Repr::Parse(Bytes m) {
  if (m.size() < field::kOptions) return ParseError::kTruncated;
  const std::uint8_t op = Load8(m.data() + field::kOp);
  if (op != kOpRequest && op != kOpReply) return ParseError::kBadOperation;
  if (Load8(m.data() + field::kHtype) != 1 || Load8(m.data() + field::kHlen) != 6) {
    return ParseError::kBadHardwareType;
  }
  if (LoadBe32(m.data() + field::kCookie) != kMagicCookie) return ParseError::kUnsupportedType;
  Dhcp4Repr r;
  r.op = op;
  r.xid = LoadBe32(m.data() + field::kXid);
  r.secs = LoadBe16(m.data() + field::kSecs);
  r.flags = LoadBe16(m.data() + field::kFlags);
  r.ciaddr = LoadAddress(m.data() + field::kCiaddr);
  r.yiaddr = LoadAddress(m.data() + field::kYiaddr);
  r.siaddr = LoadAddress(m.data() + field::kSiaddr);
  r.giaddr = LoadAddress(m.data() + field::kGiaddr);
  std::array<std::byte, 6> mac;
  std::memcpy(mac.data(), m.data() + field::kChaddr, 6);
  r.chaddr = MacAddress(mac);

  bool have_type = false;
  std::size_t i = field::kOptions;
  while (i < m.size()) {
    const std::uint8_t code = Load8(m.data() + i);
    if (code == option::kPad) {
      ++i;
      continue;
    }
    if (code == option::kEnd) break;
    if (i + 2 > m.size()) return ParseError::kBadOption;
    const std::size_t len = Load8(m.data() + i + 1);
    if (i + 2 + len > m.size()) return ParseError::kBadOption;
    const std::byte* v = m.data() + i + 2;
    if (!ReadOption(r, code, Bytes(v, len), have_type)) return ParseError::kBadOption;
    i += 2 + len;
  }
  if (!have_type) return ParseError::kBadOption;
  return r;
}

std::size_t Dhcp4Repr::emitted_len() const {
  std::size_t n = field::kOptions + 3;  // message type
  if (subnet_mask) n += 6;
  if (router) n += 6;
  if (dns_count != 0) n += 2 + 4u * dns_count;
  if (requested_ip) n += 6;
  if (server_id) n += 6;
  if (lease_time) n += 6;
  if (renewal_time) n += 6;
  if (rebinding_time) n += 6;
  if (request_parameters) n += 2 + sizeof(kParameters);
  n += 1;  // end
  return std::max(n, kMinMessageLen);
}

void Dhcp4Repr::Emit(MutableBytes out) const {
  std::fill(out.begin(), out.end(), std::byte{0});
  std::byte* p = out.data();
  Store8(p + field::kOp, op);
  Store8(p + field::kHtype, 1);
  Store8(p + field::kHlen, 6);
  StoreBe32(p + field::kXid, xid);
  StoreBe16(p + field::kSecs, secs);
  StoreBe16(p + field::kFlags, flags);
  StoreBe32(p + field::kCiaddr, ciaddr.value());
  StoreBe32(p + field::kYiaddr, yiaddr.value());
  StoreBe32(p + field::kSiaddr, siaddr.value());
  StoreBe32(p + field::kGiaddr, giaddr.value());
  std::memcpy(p + field::kChaddr, chaddr.bytes().data(), 6);
  StoreBe32(p + field::kCookie, kMagicCookie);
  std::size_t i = field::kOptions;
  auto put = [&](std::uint8_t code, std::uint8_t len) {
    Store8(p + i, code);
    Store8(p + i + 1, len);
    i += 2;
  };
  auto put_u32 = [&](std::uint8_t code, std::uint32_t v) {
    put(code, 4);
    StoreBe32(p + i, v);
    i += 4;
  };
  put(option::kMessageType, 1);
  Store8(p + i++, static_cast<std::uint8_t>(type));
  if (requested_ip) put_u32(option::kRequestedIp, requested_ip->value());
  if (server_id) put_u32(option::kServerId, server_id->value());
  if (lease_time) put_u32(option::kLeaseTime, *lease_time);
  if (renewal_time) put_u32(option::kRenewalTime, *renewal_time);
  if (rebinding_time) put_u32(option::kRebindingTime, *rebinding_time);
  if (subnet_mask) put_u32(option::kSubnetMask, subnet_mask->value());
  if (router) put_u32(option::kRouter, router->value());
  if (dns_count != 0) {
    put(option::kDns, static_cast<std::uint8_t>(4 * dns_count));
    for (std::size_t k = 0; k < dns_count; ++k) {
      StoreBe32(p + i, dns[k].value());
      i += 4;
    }
  }
  if (request_parameters) {
    put(option::kParameterList, sizeof(kParameters));
    for (std::uint8_t c : kParameters) Store8(p + i++, c);
  }
  Store8(p + i, option::kEnd);
}

}  // namespace ringstack::proto::dhcp4
