// IpOutput: what the transport layers of a shard (TCP, UDP) ask of the IP
// layers below them: send a transport segment or datagram from one address
// to another (the IP header, fragmentation, the next hop's neighbour and the
// Ethernet header are theirs), and what they know of the path: its MTU, the
// source address for a destination, whether an address is this host's.
#ifndef RINGSTACK_ENGINE_IP_OUTPUT_H_
#define RINGSTACK_ENGINE_IP_OUTPUT_H_

#include <cstddef>
#include <cstdint>

#include "protocols/common/address.h"
#include "rings/packet_pool.h"

namespace ringstack::engine {

class IpOutput {
 public:
  // kTxThread: the frame goes through the TX stage's thread even where the
  // shard could write it to the link itself (see TcpLayer's window updates).
  enum class Path { kAny, kTxThread };

  // `p` holds the transport header and payload; `tos` is the IPv4 TOS /
  // IPv6 Traffic Class octet (DSCP and ECN).
  virtual void SendIp(rings::Packet p, const proto::IpAddress& src, const proto::IpAddress& dst,
                      std::uint8_t protocol, Path path = Path::kAny, std::uint8_t tos = 0) = 0;
  // The MTU toward `dst`: the link's, or less where the path said so
  // (IPv6 Packet Too Big, RFC 8201).
  virtual std::size_t PathMtu(const proto::IpAddress& dst) = 0;
  // This host's source address for `dst` (unspecified when it has none).
  virtual proto::IpAddress SourceFor(const proto::IpAddress& dst) const = 0;
  // `addr` is one of this host's usable addresses.
  virtual bool IsLocal(const proto::IpAddress& addr) const = 0;

 protected:
  ~IpOutput() = default;
};

}  // namespace ringstack::engine

#endif  // RINGSTACK_ENGINE_IP_OUTPUT_H_
