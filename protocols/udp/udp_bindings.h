// UdpBindings: which UDP socket a shard delivers a datagram to, and the
// bind/connect rules that keep that unambiguous (a plain state class: ids
// in, ids and errno values out).
//
// bind (RFC 6056 for ephemeral ports; Linux's rules for conflicts):
//   - port 0 picks an ephemeral port: Algorithm 3 of RFC 6056 ("simple
//     hash-based": a secret-keyed offset per local address, then a running
//     counter) in [first, last], skipping ports in use and ports the caller's
//     predicate refuses (the owning shard must be the port's shard);
//   - two sockets may share a port only if both set SO_REUSEADDR, or their
//     local addresses differ and neither is the wildcard; an IPv6 wildcard
//     socket without IPV6_V6ONLY also holds the port for IPv4.
// connect: the socket then only receives from that peer.
// Lookup, most specific first: a connected socket whose four-tuple matches;
// a socket bound to the datagram's destination address; a wildcard socket of
// the same family; an IPv6 wildcard socket that takes IPv4 (dual-stack).
// Errors are POSIX errno values: EADDRINUSE, EINVAL, EAFNOSUPPORT.
#ifndef RINGSTACK_PROTOCOLS_UDP_UDP_BINDINGS_H_
#define RINGSTACK_PROTOCOLS_UDP_UDP_BINDINGS_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "protocols/common/address.h"
#include "protocols/common/endpoint.h"

namespace ringstack::proto::udp {

using SocketId = std::uint32_t;

struct BindOptions {
  bool reuse_addr = false;  // SO_REUSEADDR
  bool v6only = false;      // IPV6_V6ONLY (IPv6 sockets)
  bool v6 = false;          // the socket's family (AF_INET6)
};

class UdpBindings {
 public:
  explicit UdpBindings(std::uint64_t secret, std::uint16_t first_ephemeral = 49152,
                       std::uint16_t last_ephemeral = 65535)
      : secret_(secret), first_(first_ephemeral), last_(last_ephemeral) {}

  // 0 or an errno value. `local.port` 0 picks an ephemeral port for which
  // `port_ok` is true. The chosen endpoint is then local(s).
  int Bind(SocketId s, Endpoint local, const BindOptions& opt,
           absl::FunctionRef<bool(std::uint16_t)> port_ok = [](std::uint16_t) { return true; });
  // Filters the socket to `remote` (it must be bound). 0 or an errno value.
  int Connect(SocketId s, const Endpoint& remote);
  void Close(SocketId s);

  std::optional<Endpoint> local(SocketId s) const;
  std::optional<Endpoint> peer(SocketId s) const;
  std::size_t size() const { return sockets_.size(); }

  // The socket a unicast datagram from `src` to `dst` goes to; nullopt: none
  // (ICMP port unreachable).
  std::optional<SocketId> Lookup(const Endpoint& dst, const Endpoint& src) const;
  // Broadcast and multicast: every socket that would take it (RFC 1122
  // 4.1.3.5 leaves that to the stack; Linux delivers to all SO_REUSEADDR
  // sharers).
  void LookupAll(const Endpoint& dst, const Endpoint& src, absl::FunctionRef<void(SocketId)> each) const;

 private:
  struct Binding {
    Endpoint local;
    std::optional<Endpoint> peer;
    BindOptions opt;
  };
  bool Conflicts(const Binding& a, const Binding& b) const;
  bool PortFree(const Binding& candidate) const;
  // How well `b` matches: 0 no, else higher is more specific.
  static int Match(const Binding& b, const Endpoint& dst, const Endpoint& src);

  std::uint64_t secret_;
  std::uint16_t first_;
  std::uint16_t last_;
  std::uint32_t next_ephemeral_ = 0;
  absl::flat_hash_map<SocketId, Binding> sockets_;
  absl::flat_hash_map<std::uint16_t, std::vector<SocketId>> by_port_;
};

}  // namespace ringstack::proto::udp

#endif  // RINGSTACK_PROTOCOLS_UDP_UDP_BINDINGS_H_
