// Value types for link and network addresses: MacAddress, Ipv4Address,
// Ipv6Address, and the interface forms ADDR/LEN. Parsing returns nullopt on
// anything malformed; formatting never fails. Pure values, cheap to copy.
#ifndef RINGSTACK_PROTOCOLS_COMMON_ADDRESS_H_
#define RINGSTACK_PROTOCOLS_COMMON_ADDRESS_H_

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace ringstack::proto {

class MacAddress {
 public:
  constexpr MacAddress() = default;
  constexpr explicit MacAddress(std::array<std::byte, 6> b) : bytes_(b) {}
  // Inline: a parser's MAC fields then load as whole words (out of line,
  // the bytes went through the stack one by one and stalled the copy that
  // read them back: BM_EthernetParse 30 ns -> see bench/README.md).
  static MacAddress FromBytes(const std::byte* p) {
    MacAddress m;
    std::memcpy(m.bytes_.data(), p, 6);
    return m;
  }
  static std::optional<MacAddress> Parse(std::string_view text);  // aa:bb:cc:dd:ee:ff
  static constexpr MacAddress Broadcast() {
    return MacAddress({std::byte{0xff}, std::byte{0xff}, std::byte{0xff}, std::byte{0xff},
                       std::byte{0xff}, std::byte{0xff}});
  }

  void CopyTo(std::byte* p) const { std::memcpy(p, bytes_.data(), 6); }
  std::span<const std::byte, 6> bytes() const { return bytes_; }
  bool IsBroadcast() const { return *this == Broadcast(); }
  bool IsMulticast() const { return (static_cast<unsigned>(bytes_[0]) & 1) != 0; }  // incl. broadcast
  bool IsUnicast() const { return !IsMulticast(); }
  bool IsZero() const { return *this == MacAddress(); }
  std::string ToString() const;
  auto operator<=>(const MacAddress&) const = default;

 private:
  std::array<std::byte, 6> bytes_{};
};

class Ipv4Address {
 public:
  constexpr Ipv4Address() = default;
  constexpr explicit Ipv4Address(std::uint32_t host_order) : value_(host_order) {}
  static Ipv4Address FromBytes(const std::byte* p);
  static std::optional<Ipv4Address> Parse(std::string_view text);  // dotted quad, strict
  static constexpr Ipv4Address Broadcast() { return Ipv4Address(0xffffffffu); }

  void CopyTo(std::byte* p) const;
  constexpr std::uint32_t value() const { return value_; }
  bool IsUnspecified() const { return value_ == 0; }
  bool IsLimitedBroadcast() const { return value_ == 0xffffffffu; }
  bool IsMulticast() const { return (value_ >> 28) == 0xe; }
  bool IsLoopback() const { return (value_ >> 24) == 127; }
  bool IsReserved() const { return (value_ >> 28) == 0xf && !IsLimitedBroadcast(); }
  std::string ToString() const;
  auto operator<=>(const Ipv4Address&) const = default;
  template <typename H>
  friend H AbslHashValue(H h, Ipv4Address a) {
    return H::combine(std::move(h), a.value_);
  }

 private:
  std::uint32_t value_ = 0;
};

class Ipv6Address {
 public:
  constexpr Ipv6Address() = default;
  constexpr explicit Ipv6Address(std::array<std::byte, 16> b) : bytes_(b) {}
  static Ipv6Address FromBytes(const std::byte* p);
  static std::optional<Ipv6Address> Parse(std::string_view text);  // RFC 4291 2.2 text forms

  void CopyTo(std::byte* p) const;
  std::span<const std::byte, 16> bytes() const { return bytes_; }
  bool IsUnspecified() const { return *this == Ipv6Address(); }
  bool IsMulticast() const { return bytes_[0] == std::byte{0xff}; }
  bool IsLinkLocal() const {
    return bytes_[0] == std::byte{0xfe} && (static_cast<unsigned>(bytes_[1]) & 0xc0) == 0x80;
  }
  bool IsLoopback() const;
  std::string ToString() const;  // RFC 5952 canonical form
  auto operator<=>(const Ipv6Address&) const = default;
  template <typename H>
  friend H AbslHashValue(H h, const Ipv6Address& a) {
    return H::combine_contiguous(std::move(h), reinterpret_cast<const unsigned char*>(a.bytes_.data()), 16);
  }

  // RFC 4291 2.7.1: ff02::1:ffXX:XXXX for this address.
  Ipv6Address SolicitedNode() const;
  // fe80::/64 with the modified EUI-64 interface identifier of `mac`
  // (RFC 4291 2.5.1, appendix A).
  static Ipv6Address LinkLocalFromMac(const MacAddress& mac);
  // The first `prefix_len` bits of `prefix` and the rest from `iid`'s low bits.
  static Ipv6Address Combine(const Ipv6Address& prefix, int prefix_len, const Ipv6Address& iid);
  // Well-known groups.
  static Ipv6Address AllNodes();    // ff02::1
  static Ipv6Address AllRouters();  // ff02::2
  static Ipv6Address AllMldv2Routers();  // ff02::16

 private:
  std::array<std::byte, 16> bytes_{};
};

// An IPv4 or IPv6 address, for endpoints that may be either (sockets).
class IpAddress {
 public:
  IpAddress() = default;  // IPv4 0.0.0.0
  IpAddress(Ipv4Address a) : v4_(a) {}  // NOLINT(google-explicit-constructor): a widening
  IpAddress(const Ipv6Address& a) : is_v6_(true), v6_(a) {}  // NOLINT(google-explicit-constructor)
  static std::optional<IpAddress> Parse(std::string_view text);

  bool is_v6() const { return is_v6_; }
  Ipv4Address v4() const { return v4_; }
  const Ipv6Address& v6() const { return v6_; }
  bool IsUnspecified() const { return is_v6_ ? v6_.IsUnspecified() : v4_.IsUnspecified(); }
  bool IsMulticast() const { return is_v6_ ? v6_.IsMulticast() : v4_.IsMulticast(); }
  std::string ToString() const { return is_v6_ ? v6_.ToString() : v4_.ToString(); }
  bool operator==(const IpAddress&) const = default;
  template <typename H>
  friend H AbslHashValue(H h, const IpAddress& a) {
    return a.is_v6_ ? H::combine(std::move(h), true, a.v6_) : H::combine(std::move(h), false, a.v4_);
  }

 private:
  bool is_v6_ = false;
  Ipv4Address v4_;
  Ipv6Address v6_;
};

// An address on an interface with its prefix length: 192.0.2.2/24.
struct Ipv4Interface {
  Ipv4Address address;
  int prefix_len = 32;

  static std::optional<Ipv4Interface> Parse(std::string_view text);
  std::uint32_t mask() const { return prefix_len == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix_len); }
  Ipv4Address network() const { return Ipv4Address(address.value() & mask()); }
  Ipv4Address broadcast() const { return Ipv4Address(address.value() | ~mask()); }
  bool Contains(Ipv4Address a) const { return (a.value() & mask()) == (address.value() & mask()); }
  std::string ToString() const;
  bool operator==(const Ipv4Interface&) const = default;
};

struct Ipv6Interface {
  Ipv6Address address;
  int prefix_len = 128;

  static std::optional<Ipv6Interface> Parse(std::string_view text);
  bool Contains(const Ipv6Address& a) const;
  std::string ToString() const;
  bool operator==(const Ipv6Interface&) const = default;
};

// RFC 1112 6.4 / RFC 2464 7: the Ethernet group address an IP multicast maps to.
MacAddress MulticastMac(Ipv4Address group);
MacAddress MulticastMac(const Ipv6Address& group);

}  // namespace ringstack::proto

#endif  // RINGSTACK_PROTOCOLS_COMMON_ADDRESS_H_
