#include "engine/steering.h"

#include <array>

#include "protocols/ethernet/ethernet_header.h"
#include "protocols/ipv4/ipv4_header.h"
#include "protocols/ipv6/ipv6_header.h"
#include "protocols/tcp/tcp_header.h"
#include "protocols/udp/udp_header.h"

namespace ringstack::engine {
namespace {

using proto::Bytes;
using proto::LoadBe32;

std::uint32_t Mix(std::uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return x;
}

// TCP by its 4-tuple, UDP by its destination port, the rest (and what is
// too short to say) to the control shard.
int ByTransport(std::uint8_t proto, std::uint32_t src, std::uint32_t dst, Bytes l4, int shards) {
  if (proto == proto::ipv4::kProtoTcp) {
    const auto tcp = proto::tcp::TcpHeader::Checked(l4);
    if (!tcp) return 0;
    return static_cast<int>(FlowHash(src, dst, tcp->src_port(), tcp->dst_port()) % static_cast<std::uint32_t>(shards));
  }
  if (proto == proto::ipv4::kProtoUdp) {
    const auto udp = proto::udp::UdpHeader::Checked(l4);
    return udp ? ShardForUdpPort(udp->dst_port(), shards) : 0;
  }
  return 0;
}

// Folds a 16-byte IPv6 address into 32 bits for the flow hash.
std::uint32_t Fold6(std::span<const std::byte, 16> a) {
  return LoadBe32(a.data()) ^ LoadBe32(a.data() + 4) ^ LoadBe32(a.data() + 8) ^ LoadBe32(a.data() + 12);
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
    return Fold6(bytes);
  };
  return static_cast<int>(FlowHash(fold(a), fold(b), pa, pb) % static_cast<std::uint32_t>(shards));
}

int ShardFor(Bytes frame, int shards) {
  const auto eth = proto::ethernet::EthernetHeader::Checked(frame);
  if (shards <= 1 || !eth) return 0;
  const Bytes l3 = eth->payload();
  if (eth->ethertype() == proto::ethernet::kEtherTypeIpv4) {
    const auto ip = proto::ipv4::Ipv4Header::Checked(l3);
    if (!ip || ip->version() != 4) return 0;
    const std::size_t ihl = ip->header_len();
    if (ihl < proto::ipv4::kMinHeaderLen || ihl > l3.size()) return 0;
    if (ip->is_fragment()) return 0;  // fragments: shard 0
    return ByTransport(ip->protocol(), ip->src().value(), ip->dst().value(), l3.subspan(ihl), shards);
  }
  if (eth->ethertype() == proto::ethernet::kEtherTypeIpv6) {
    const auto ip = proto::ipv6::Ipv6Header::Checked(l3);
    if (!ip || ip->version() != 6) return 0;
    // Extension headers (fragments included) go to the control shard.
    const std::uint8_t next = ip->next_header();
    if (next != proto::ipv6::kTcp && next != proto::ipv6::kUdp) return 0;
    return ByTransport(next, Fold6(ip->src_bytes()), Fold6(ip->dst_bytes()), l3.subspan(proto::ipv6::kHeaderLen),
                       shards);
  }
  return 0;
}

}  // namespace ringstack::engine
