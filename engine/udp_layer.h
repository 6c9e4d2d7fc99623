// UdpLayer: UDP on one shard, and the ICMP echo ("ping") sockets beside it.
// The sockets whose local ports are steered to this shard (sockets/api.cc
// sends bind and connect there; an ephemeral port is chosen among this
// shard's), their bindings and lookups (protocols/udp's UdpBindings), the
// delivery of received datagrams into their queues, the sending of what
// they queued, and ICMP errors for connected sockets. ICMP echo sockets
// live on the control shard, where ICMP arrives.
//
// What no socket takes is the IP layers' to answer (port unreachable), as
// is a datagram for the DHCPv4 client, which sits on IPv4.
#ifndef RINGSTACK_ENGINE_UDP_LAYER_H_
#define RINGSTACK_ENGINE_UDP_LAYER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "engine/counters.h"
#include "engine/ip_output.h"
#include "engine/shard_context.h"
#include "engine/udp_socket.h"
#include "protocols/common/endpoint.h"
#include "protocols/udp/udp_repr.h"

namespace ringstack::engine {

// What the console shows of a UDP or ICMP echo socket on a shard.
struct UdpSocketInfo {
  proto::Endpoint local, remote;  // remote unspecified unless connected
  int shard = 0;
  bool icmp_echo = false;
  std::uint64_t rx_queued = 0, tx_queued = 0, rx_dropped = 0;
};

// The UDP layer's counters on one shard, exported as "udp_<name>".
struct UdpCounters {
  Counter rx_delivered;      // datagrams queued to a socket (a group datagram once per socket)
  Counter rx_no_socket;      // datagrams no socket was bound for
  Counter drop_rcvbuf_full;  // datagrams past a socket's SO_RCVBUF or queue
  Counter tx;                // datagrams sent
};

inline constexpr CounterField<UdpCounters> kUdpCounterFields[] = {
    {"udp_rx_no_socket", &UdpCounters::rx_no_socket},
    {"udp_rx_delivered", &UdpCounters::rx_delivered},
    {"udp_drop_rcvbuf_full", &UdpCounters::drop_rcvbuf_full},
    {"udp_tx", &UdpCounters::tx},
};

class UdpLayer {
 public:
  // `seed`: for the ephemeral ports' random start (RFC 6056).
  UdpLayer(ShardContext& ctx, IpOutput& ip, CounterSet& counters, std::uint64_t seed);
  UdpLayer(const UdpLayer&) = delete;
  UdpLayer& operator=(const UdpLayer&) = delete;

  // The datagram at `offset` in `p`, from `src` to `dst`, checked (the
  // checksum unless the link vouched for it); nullopt, counted
  // "udp_drop_<reason>", when malformed.
  std::optional<proto::udp::UdpRepr> Parse(const rings::Packet& p, std::size_t offset, const proto::IpAddress& src,
                                           const proto::IpAddress& dst);
  // Hands `udp` (parsed from `p`) to the socket bound for it, moving `p`
  // trimmed to the payload, or for a group destination a copy to every
  // socket that takes it. False (`p` untouched, counted udp_rx_no_socket)
  // when no socket does.
  bool Receive(rings::Packet& p, const proto::udp::UdpRepr& udp, const proto::IpAddress& src,
               const proto::IpAddress& dst, bool group);
  // `p` holds an ICMP echo reply message (ICMPv6's when `v6`) from `from`;
  // true when an echo socket with its identifier took it.
  bool ReceiveEchoReply(rings::Packet& p, bool v6, const proto::IpAddress& from);
  // Shard 0 holds a datagram (reassembled, or behind IPv6 extension
  // headers) for a port another shard owns: `m`, with `p` in it, is mailed
  // there (true); false when the port is shard 0's own.
  bool ForwardToOwner(rings::Packet& p, std::uint16_t dst_port, ShardMessage&& m);
  // An ICMP error about a datagram from `local` to `remote`: a socket
  // connected between them fails its next call with `error` (ICMP comes
  // to shard 0; the socket's shard is mailed).
  void ErrorToSocket(const proto::Endpoint& local, const proto::Endpoint& remote, int error);
  // kOpen, kBind, kConnect, kClose; completes the request.
  void ServeRequest(SocketRequest& r);
  // Sends what sockets queued: those left from the last round first, then
  // those the inbox names, up to `budget` datagrams; the work done.
  std::size_t ServeSending(SocketInbox& inbox, std::size_t budget);

  std::vector<UdpSocketInfo> Sockets() const;  // the shard's thread only

 private:
  // Into `s`'s queue, within its SO_RCVBUF (false: dropped, counted on the
  // socket as rx_dropped), waking its readers.
  bool Enqueue(UdpSocketState& s, rings::Packet p, const proto::Endpoint& from);
  // Enqueue, counted udp_rx_delivered or udp_drop_rcvbuf_full.
  void Push(UdpSocketState& s, rings::Packet p, const proto::Endpoint& from);
  // Sends what `s` queued, up to the budget; keeps it for the next round
  // when it has more.
  void Drain(std::shared_ptr<UdpSocketState> s, std::size_t budget, std::size_t& done);
  void SendDatagram(UdpSocketState& socket, Datagram d);
  void SendEcho(UdpSocketState& socket, Datagram d);
  // Binds `id` (kBind's endpoint, or the wildcard for a connect) to a port
  // of this shard's; 0 or an errno value.
  int Bind(SocketRequest& r, const proto::Endpoint& e);
  void OpenEcho(SocketRequest& r);

  ShardContext& ctx_;
  IpOutput& ip_;
  proto::udp::UdpBindings bindings_;
  absl::flat_hash_map<std::uint32_t, std::shared_ptr<UdpSocketState>> sockets_;
  std::vector<std::shared_ptr<UdpSocketState>> tx_backlog_;
  // ICMP echo sockets by (IPv6?, identifier), and each one's identifier.
  absl::flat_hash_map<std::pair<bool, std::uint16_t>, std::uint32_t> echo_idents_;
  absl::flat_hash_map<std::uint32_t, std::uint16_t> echo_ident_of_;
  std::uint16_t next_echo_ident_ = 0x5200;
  DropCounters drop_;
  UdpCounters counters_;
};

}  // namespace ringstack::engine

#endif  // RINGSTACK_ENGINE_UDP_LAYER_H_
