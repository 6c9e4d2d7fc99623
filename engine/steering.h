// Flow steering: which worker shard a received frame belongs to (DESIGN.md,
// "Shard choice"). TCP by a symmetric hash of the 4-tuple, UDP by the local
// (destination) port, everything else (ARP, ICMP, ND, MLD, DHCP, IP fragments,
// anything malformed) to shard 0, the control shard. Reads only what it must
// and never trusts a length it has not checked.
#ifndef RINGSTACK_ENGINE_STEERING_H_
#define RINGSTACK_ENGINE_STEERING_H_

#include <cstdint>

#include "protocols/common/address.h"
#include "protocols/common/bytes.h"

namespace ringstack::engine {

int ShardFor(proto::Bytes frame, int shards);

// The shard UDP datagrams to local `port` are steered to (DHCP's client port
// 68 to the control shard).
int ShardForUdpPort(std::uint16_t port, int shards);

// The symmetric 4-tuple hash: the same for both directions of a connection,
// so an active open can pick a local port that lands on its own shard.
std::uint32_t FlowHash(std::uint32_t addr_a, std::uint32_t addr_b, std::uint16_t port_a,
                       std::uint16_t port_b);

// The shard a TCP flow between a:pa and b:pb is steered to (either way
// round), as ShardFor computes it from a received segment.
int ShardForFlow(const proto::IpAddress& a, std::uint16_t pa, const proto::IpAddress& b, std::uint16_t pb,
                 int shards);

}  // namespace ringstack::engine

#endif  // RINGSTACK_ENGINE_STEERING_H_
