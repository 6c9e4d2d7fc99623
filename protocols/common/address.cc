#include "protocols/common/address.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include "absl/strings/str_format.h"
#include "protocols/common/bytes.h"

namespace ringstack::proto {
namespace {

std::optional<unsigned> ParseDecimal(std::string_view text, unsigned max) {
  if (text.empty() || text.size() > 3) return std::nullopt;
  if (text.size() > 1 && text[0] == '0') return std::nullopt;  // no octal-looking forms
  unsigned v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size() || v > max) return std::nullopt;
  return v;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Splits "ADDR/LEN" and parses LEN in [0, max_len].
bool SplitPrefix(std::string_view text, std::string_view& addr, int& len, int max_len) {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) return false;
  addr = text.substr(0, slash);
  const auto v = ParseDecimal(text.substr(slash + 1), static_cast<unsigned>(max_len));
  if (!v) return false;
  len = static_cast<int>(*v);
  return true;
}

}  // namespace

std::optional<MacAddress> MacAddress::Parse(std::string_view text) {
  if (text.size() != 17) return std::nullopt;
  std::array<std::byte, 6> b;
  for (int i = 0; i < 6; ++i) {
    const int hi = HexDigit(text[i * 3]);
    const int lo = HexDigit(text[i * 3 + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    if (i < 5 && text[i * 3 + 2] != ':') return std::nullopt;
    b[i] = static_cast<std::byte>(hi * 16 + lo);
  }
  return MacAddress(b);
}


std::string MacAddress::ToString() const {
  return absl::StrFormat("%02x:%02x:%02x:%02x:%02x:%02x", static_cast<unsigned>(bytes_[0]),
                         static_cast<unsigned>(bytes_[1]), static_cast<unsigned>(bytes_[2]),
                         static_cast<unsigned>(bytes_[3]), static_cast<unsigned>(bytes_[4]),
                         static_cast<unsigned>(bytes_[5]));
}

Ipv4Address Ipv4Address::FromBytes(const std::byte* p) { return Ipv4Address(LoadBe32(p)); }

std::optional<Ipv4Address> Ipv4Address::Parse(std::string_view text) {
  std::uint32_t value = 0;
  for (int i = 0; i < 4; ++i) {
    const auto dot = text.find('.');
    if ((i < 3) == (dot == std::string_view::npos)) return std::nullopt;
    const auto octet = ParseDecimal(text.substr(0, dot), 255);
    if (!octet) return std::nullopt;
    value = (value << 8) | *octet;
    text = i < 3 ? text.substr(dot + 1) : std::string_view();
  }
  return Ipv4Address(value);
}

void Ipv4Address::CopyTo(std::byte* p) const { StoreBe32(p, value_); }

std::string Ipv4Address::ToString() const {
  return absl::StrFormat("%u.%u.%u.%u", value_ >> 24, (value_ >> 16) & 0xff, (value_ >> 8) & 0xff,
                         value_ & 0xff);
}

Ipv6Address Ipv6Address::FromBytes(const std::byte* p) {
  std::array<std::byte, 16> b;
  std::memcpy(b.data(), p, 16);
  return Ipv6Address(b);
}

std::optional<Ipv6Address> Ipv6Address::Parse(std::string_view text) {
  if (text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  char buf[INET6_ADDRSTRLEN];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  std::array<std::byte, 16> b;
  if (inet_pton(AF_INET6, buf, b.data()) != 1) return std::nullopt;
  return Ipv6Address(b);
}

void Ipv6Address::CopyTo(std::byte* p) const { std::memcpy(p, bytes_.data(), 16); }

bool Ipv6Address::IsLoopback() const {
  std::array<std::byte, 16> one{};
  one[15] = std::byte{1};
  return bytes_ == one;
}

std::string Ipv6Address::ToString() const {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET6, bytes_.data(), buf, sizeof(buf));  // RFC 5952 form in glibc
  return buf;
}

std::optional<Ipv4Interface> Ipv4Interface::Parse(std::string_view text) {
  std::string_view addr;
  int len = 0;
  if (!SplitPrefix(text, addr, len, 32)) return std::nullopt;
  const auto a = Ipv4Address::Parse(addr);
  if (!a) return std::nullopt;
  return Ipv4Interface{*a, len};
}

std::string Ipv4Interface::ToString() const {
  return absl::StrFormat("%s/%d", address.ToString(), prefix_len);
}

std::optional<Ipv6Interface> Ipv6Interface::Parse(std::string_view text) {
  std::string_view addr;
  int len = 0;
  if (!SplitPrefix(text, addr, len, 128)) return std::nullopt;
  const auto a = Ipv6Address::Parse(addr);
  if (!a) return std::nullopt;
  return Ipv6Interface{*a, len};
}

bool Ipv6Interface::Contains(const Ipv6Address& a) const {
  const auto x = address.bytes();
  const auto y = a.bytes();
  int bits = prefix_len;
  for (int i = 0; i < 16 && bits > 0; ++i, bits -= 8) {
    const unsigned mask = bits >= 8 ? 0xffu : (0xffu << (8 - bits)) & 0xffu;
    if ((static_cast<unsigned>(x[i]) & mask) != (static_cast<unsigned>(y[i]) & mask)) return false;
  }
  return true;
}

std::string Ipv6Interface::ToString() const {
  return absl::StrFormat("%s/%d", address.ToString(), prefix_len);
}

Ipv6Address Ipv6Address::SolicitedNode() const {
  std::array<std::byte, 16> b{};
  b[0] = std::byte{0xff};
  b[1] = std::byte{0x02};
  b[11] = std::byte{0x01};
  b[12] = std::byte{0xff};
  b[13] = bytes_[13];
  b[14] = bytes_[14];
  b[15] = bytes_[15];
  return Ipv6Address(b);
}

Ipv6Address Ipv6Address::LinkLocalFromMac(const MacAddress& mac) {
  const auto m = mac.bytes();
  std::array<std::byte, 16> b{};
  b[0] = std::byte{0xfe};
  b[1] = std::byte{0x80};
  b[8] = m[0] ^ std::byte{0x02};  // the universal/local bit inverted
  b[9] = m[1];
  b[10] = m[2];
  b[11] = std::byte{0xff};
  b[12] = std::byte{0xfe};
  b[13] = m[3];
  b[14] = m[4];
  b[15] = m[5];
  return Ipv6Address(b);
}

Ipv6Address Ipv6Address::Combine(const Ipv6Address& prefix, int prefix_len, const Ipv6Address& iid) {
  std::array<std::byte, 16> b{};
  for (int i = 0; i < 16; ++i) {
    const int bits = std::clamp(prefix_len - 8 * i, 0, 8);
    const unsigned mask = bits == 0 ? 0u : (0xffu << (8 - bits)) & 0xffu;
    b[i] = static_cast<std::byte>((static_cast<unsigned>(prefix.bytes_[i]) & mask) |
                                  (static_cast<unsigned>(iid.bytes_[i]) & ~mask & 0xffu));
  }
  return Ipv6Address(b);
}

std::optional<IpAddress> IpAddress::Parse(std::string_view text) {
  if (text.find(':') != std::string_view::npos) {
    const auto a = Ipv6Address::Parse(text);
    if (!a) return std::nullopt;
    return IpAddress(*a);
  }
  const auto a = Ipv4Address::Parse(text);
  if (!a) return std::nullopt;
  return IpAddress(*a);
}

Ipv6Address Ipv6Address::AllNodes() { return *Parse("ff02::1"); }
Ipv6Address Ipv6Address::AllRouters() { return *Parse("ff02::2"); }
Ipv6Address Ipv6Address::AllMldv2Routers() { return *Parse("ff02::16"); }

MacAddress MulticastMac(Ipv4Address group) {
  const std::uint32_t v = group.value();
  return MacAddress({std::byte{0x01}, std::byte{0x00}, std::byte{0x5e},
                     static_cast<std::byte>((v >> 16) & 0x7f), static_cast<std::byte>(v >> 8),
                     static_cast<std::byte>(v)});
}

MacAddress MulticastMac(const Ipv6Address& group) {
  const auto b = group.bytes();
  return MacAddress({std::byte{0x33}, std::byte{0x33}, b[12], b[13], b[14], b[15]});
}

}  // namespace ringstack::proto
