#include "engine/steering.h"

#include <array>

#include "protocols/ethernet/ethernet_header.h"
#include "protocols/ipv4/ipv4_header.h"

namespace ringstack::engine {
namespace {

using proto::Bytes;
using proto::LoadBe16;
using proto::LoadBe32;

std::uint32_t Mix(std::uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return x;
}

int ByTransport(std::uint8_t proto, std::uint32_t src, std::uint32_t dst, Bytes l4, int shards) {
  if (l4.size() < 4) return 0;
  const std::uint16_t sport = LoadBe16(l4.data());
  const std::uint16_t dport = LoadBe16(l4.data() + 2);
  if (proto == proto::ipv4::kProtoTcp) {
    return static_cast<int>(FlowHash(src, dst, sport, dport) % static_cast<std::uint32_t>(shards));
  }
  if (proto == proto::ipv4::kProtoUdp) return ShardForUdpPort(dport, shards);
  return 0;
}

// Folds a 16-byte IPv6 address into 32 bits for the flow hash.
std::uint32_t Fold6(const std::byte* p) {
  return LoadBe32(p) ^ LoadBe32(p + 4) ^ LoadBe32(p + 8) ^ LoadBe32(p + 12);
}

}  // namespace

int ShardForUdpPort(std::uint16_t port, int shards) {
  if (shards <= 1 || port == 68) return 0;  // the DHCPv4 client lives on the control shard
  return static_cast<int>(Mix(port) % static_cast<std::uint32_t>(shards));
}

std::uint32_t FlowHash(std::uint32_t addr_a, std::uint32_t addr_b, std::uint16_t port_a,
                       std::uint16_t port_b) {
  // Order-independent combination: (a, b) and (b, a) hash alike.
  const std::uint32_t addrs = Mix(addr_a) + Mix(addr_b);
  const std::uint32_t ports = Mix(port_a) + Mix(port_b);
  return Mix(addrs ^ (ports * 0x9e3779b1u));
}

int ShardForFlow(const proto::IpAddress& a, std::uint16_t pa, const proto::IpAddress& b, std::uint16_t pb,
                 int shards) {
  if (shards <= 1) return 0;
  auto fold = [](const proto::IpAddress& x) {
    if (!x.is_v6()) return x.v4().value();
    std::array<std::byte, 16> bytes;
    x.v6().CopyTo(bytes.data());
    return Fold6(bytes.data());
  };
  return static_cast<int>(FlowHash(fold(a), fold(b), pa, pb) % static_cast<std::uint32_t>(shards));
}

int ShardFor(Bytes frame, int shards) {
  if (shards <= 1 || frame.size() < proto::ethernet::kHeaderLen) return 0;
  const std::uint16_t type = LoadBe16(frame.data() + proto::ethernet::field::kEtherType);
  const Bytes l3 = frame.subspan(proto::ethernet::kHeaderLen);
  if (type == proto::ethernet::kEtherTypeIpv4) {
    if (l3.size() < proto::ipv4::kMinHeaderLen) return 0;
    const std::size_t ihl = (static_cast<unsigned>(l3[0]) & 0xf) * 4u;
    if ((static_cast<unsigned>(l3[0]) >> 4) != 4 || ihl < proto::ipv4::kMinHeaderLen || ihl > l3.size()) return 0;
    const std::uint16_t frag = LoadBe16(l3.data() + proto::ipv4::field::kFlagsFrag);
    if ((frag & (proto::ipv4::kFlagMf | proto::ipv4::kFragOffsetMask)) != 0) return 0;  // fragments: shard 0
    return ByTransport(static_cast<std::uint8_t>(l3[proto::ipv4::field::kProtocol]),
                       LoadBe32(l3.data() + proto::ipv4::field::kSrc),
                       LoadBe32(l3.data() + proto::ipv4::field::kDst), l3.subspan(ihl), shards);
  }
  if (type == proto::ethernet::kEtherTypeIpv6) {
    constexpr std::size_t kIpv6HeaderLen = 40;
    if (l3.size() < kIpv6HeaderLen || (static_cast<unsigned>(l3[0]) >> 4) != 6) return 0;
    const auto next = static_cast<std::uint8_t>(l3[6]);
    // Extension headers (fragments included) go to the control shard.
    if (next != proto::ipv4::kProtoTcp && next != proto::ipv4::kProtoUdp) return 0;
    return ByTransport(next, Fold6(l3.data() + 8), Fold6(l3.data() + 24), l3.subspan(kIpv6HeaderLen), shards);
  }
  return 0;
}

}  // namespace ringstack::engine
