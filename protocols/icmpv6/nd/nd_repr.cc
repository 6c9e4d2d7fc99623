#include "protocols/icmpv6/nd/nd_repr.h"

#include <algorithm>
#include <cstring>

namespace ringstack::proto::nd {
namespace {

constexpr std::uint8_t kOptSourceLl = 1;
constexpr std::uint8_t kOptTargetLl = 2;
constexpr std::uint8_t kOptPrefix = 3;
constexpr std::uint8_t kOptMtu = 5;
constexpr std::uint8_t kOptRdnss = 25;

MacAddress LoadMac(const std::byte* p) {
  std::array<std::byte, 6> m;
  std::memcpy(m.data(), p, 6);
  return MacAddress(m);
}

}  // namespace

Parsed<Options> ParseOptions(Bytes b) {
  Options o;
  std::size_t i = 0;
  while (i < b.size()) {
    if (i + 2 > b.size()) return ParseError::kBadOption;
    const std::uint8_t type = Load8(b.data() + i);
    const std::size_t len = 8 * std::size_t{Load8(b.data() + i + 1)};
    // RFC 4861 4.6: "Nodes MUST silently discard an ND packet that contains
    // an option with length zero."
    if (len == 0 || i + len > b.size()) return ParseError::kBadOption;
    const std::byte* v = b.data() + i;
    switch (type) {
      case kOptSourceLl:
      case kOptTargetLl:
        if (len != 8) return ParseError::kBadOption;  // Ethernet: 6 bytes + 2
        (type == kOptSourceLl ? o.source_ll : o.target_ll) = LoadMac(v + 2);
        break;
      case kOptMtu:
        if (len != 8) return ParseError::kBadOption;
        o.mtu = LoadBe32(v + 4);
        break;
      case kOptPrefix: {
        if (len != 32) return ParseError::kBadOption;
        PrefixInfo p;
        p.prefix_len = Load8(v + 2);
        if (p.prefix_len > 128) return ParseError::kBadOption;
        p.on_link = (Load8(v + 3) & 0x80) != 0;
        p.autonomous = (Load8(v + 3) & 0x40) != 0;
        p.valid_lifetime = LoadBe32(v + 4);
        p.preferred_lifetime = LoadBe32(v + 8);
        p.prefix = Ipv6Address::FromBytes(v + 16);
        if (o.prefix_count < o.prefixes.size()) o.prefixes[o.prefix_count++] = p;
        break;
      }
      case kOptRdnss: {
        if (len < 24 || (len - 8) % 16 != 0) return ParseError::kBadOption;  // RFC 8106 5.1
        o.rdnss_lifetime = LoadBe32(v + 4);
        for (std::size_t k = 8; k < len && o.rdnss_count < o.rdnss.size(); k += 16) {
          o.rdnss[o.rdnss_count++] = Ipv6Address::FromBytes(v + k);
        }
        break;
      }
      default:
        break;  // 4.6: unrecognised options are ignored
    }
    i += len;
  }
  return o;
}

std::size_t Options::emitted_len() const {
  std::size_t n = 0;
  if (source_ll) n += 8;
  if (target_ll) n += 8;
  if (mtu) n += 8;
  n += 32u * prefix_count;
  if (rdnss_count != 0) n += 8 + 16u * rdnss_count;
  return n;
}

void Options::Emit(MutableBytes out) const {
  std::fill(out.begin(), out.end(), std::byte{0});
  std::byte* p = out.data();
  auto ll = [&p](std::uint8_t type, const MacAddress& mac) {
    Store8(p, type);
    Store8(p + 1, 1);
    std::memcpy(p + 2, mac.bytes().data(), 6);
    p += 8;
  };
  if (source_ll) ll(kOptSourceLl, *source_ll);
  if (target_ll) ll(kOptTargetLl, *target_ll);
  if (mtu) {
    Store8(p, kOptMtu);
    Store8(p + 1, 1);
    StoreBe32(p + 4, *mtu);
    p += 8;
  }
  for (std::size_t k = 0; k < prefix_count; ++k) {
    const PrefixInfo& x = prefixes[k];
    Store8(p, kOptPrefix);
    Store8(p + 1, 4);
    Store8(p + 2, x.prefix_len);
    Store8(p + 3, static_cast<std::uint8_t>((x.on_link ? 0x80 : 0) | (x.autonomous ? 0x40 : 0)));
    StoreBe32(p + 4, x.valid_lifetime);
    StoreBe32(p + 8, x.preferred_lifetime);
    x.prefix.CopyTo(p + 16);
    p += 32;
  }
  if (rdnss_count != 0) {
    Store8(p, kOptRdnss);
    Store8(p + 1, static_cast<std::uint8_t>(1 + 2 * rdnss_count));
    StoreBe32(p + 4, rdnss_lifetime);
    for (std::size_t k = 0; k < rdnss_count; ++k) rdnss[k].CopyTo(p + 8 + 16 * k);
  }
}

Parsed<RouterSolicitation> RouterSolicitation::Parse(Bytes body) {
  if (body.size() < 4) return ParseError::kTruncated;  // 6.1.1: ICMP length >= 8
  auto o = ParseOptions(body.subspan(4));
  if (!o) return o.error();
  return RouterSolicitation{*o};
}

void RouterSolicitation::Emit(MutableBytes body) const {
  StoreBe32(body.data(), 0);
  options.Emit(body.subspan(4));
}

Parsed<RouterAdvertisement> RouterAdvertisement::Parse(Bytes body) {
  if (body.size() < 12) return ParseError::kTruncated;  // 6.1.2: ICMP length >= 16
  RouterAdvertisement ra;
  ra.cur_hop_limit = Load8(body.data());
  ra.managed = (Load8(body.data() + 1) & 0x80) != 0;
  ra.other = (Load8(body.data() + 1) & 0x40) != 0;
  ra.router_lifetime = LoadBe16(body.data() + 2);
  ra.reachable_time = LoadBe32(body.data() + 4);
  ra.retrans_timer = LoadBe32(body.data() + 8);
  auto o = ParseOptions(body.subspan(12));
  if (!o) return o.error();
  ra.options = *o;
  return ra;
}

void RouterAdvertisement::Emit(MutableBytes body) const {
  Store8(body.data(), cur_hop_limit);
  Store8(body.data() + 1, static_cast<std::uint8_t>((managed ? 0x80 : 0) | (other ? 0x40 : 0)));
  StoreBe16(body.data() + 2, router_lifetime);
  StoreBe32(body.data() + 4, reachable_time);
  StoreBe32(body.data() + 8, retrans_timer);
  options.Emit(body.subspan(12));
}

Parsed<NeighborSolicitation> NeighborSolicitation::Parse(Bytes body) {
  if (body.size() < 20) return ParseError::kTruncated;  // 7.1.1: ICMP length >= 24
  NeighborSolicitation ns;
  ns.target = Ipv6Address::FromBytes(body.data() + 4);
  if (ns.target.IsMulticast()) return ParseError::kBadOption;
  auto o = ParseOptions(body.subspan(20));
  if (!o) return o.error();
  ns.options = *o;
  return ns;
}

void NeighborSolicitation::Emit(MutableBytes body) const {
  StoreBe32(body.data(), 0);
  target.CopyTo(body.data() + 4);
  options.Emit(body.subspan(20));
}

Parsed<NeighborAdvertisement> NeighborAdvertisement::Parse(Bytes body) {
  if (body.size() < 20) return ParseError::kTruncated;  // 7.1.2: ICMP length >= 24
  NeighborAdvertisement na;
  const std::uint8_t flags = Load8(body.data());
  na.router = (flags & 0x80) != 0;
  na.solicited = (flags & 0x40) != 0;
  na.override_flag = (flags & 0x20) != 0;
  na.target = Ipv6Address::FromBytes(body.data() + 4);
  if (na.target.IsMulticast()) return ParseError::kBadOption;
  auto o = ParseOptions(body.subspan(20));
  if (!o) return o.error();
  na.options = *o;
  return na;
}

void NeighborAdvertisement::Emit(MutableBytes body) const {
  StoreBe32(body.data(), static_cast<std::uint32_t>((router ? 0x80u : 0) | (solicited ? 0x40u : 0) |
                                                    (override_flag ? 0x20u : 0))
                             << 24);
  target.CopyTo(body.data() + 4);
  options.Emit(body.subspan(20));
}

Parsed<Redirect> Redirect::Parse(Bytes body) {
  if (body.size() < 36) return ParseError::kTruncated;  // 8.1: ICMP length >= 40
  Redirect r;
  r.target = Ipv6Address::FromBytes(body.data() + 4);
  r.destination = Ipv6Address::FromBytes(body.data() + 20);
  if (r.destination.IsMulticast()) return ParseError::kBadOption;
  auto o = ParseOptions(body.subspan(36));
  if (!o) return o.error();
  r.options = *o;
  return r;
}

}  // namespace ringstack::proto::nd
