// TcpLayer: TCP on one shard. The sessions this shard owns (steered here by
// their 4-tuple), each a protocols/tcp TcpConnection whose outcomes this
// carries out after each call into it (Carry); the listeners (every shard has a copy of each; connections that
// complete go to the listening socket's one accept queue), whose LISTEN
// rules are protocols/tcp's TcpListener and which this carries out; the
// stream sockets' requests (listen, connect) and their data; and the
// segments' way out: built straight from the socket's send ring, joined
// into super-segments when the link cuts them (TSO), handed to IpOutput.
// Payload moves once each way: from the send ring into the segment's
// buffer, from the segment into the receive ring.
#ifndef RINGSTACK_ENGINE_TCP_LAYER_H_
#define RINGSTACK_ENGINE_TCP_LAYER_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "engine/ip_output.h"
#include "engine/shard_context.h"
#include "engine/tcp_counters.h"
#include "engine/tcp_socket.h"
#include "engine/udp_socket.h"
#include "protocols/common/endpoint.h"
#include "protocols/ipv4/ipv4_host.h"
#include "protocols/tcp/tcp_connection.h"
#include "protocols/tcp/tcp_isn.h"
#include "protocols/tcp/tcp_listener.h"
#include "rings/packet_pool.h"

namespace ringstack::engine {

// What the console and TCP_INFO show of a TCP socket on a shard.
struct TcpSessionInfo {
  proto::Endpoint local, remote;
  std::string state;
  int shard = 0;
  bool listener = false;
  std::uint32_t snd_una = 0, snd_nxt = 0, rcv_nxt = 0;
  std::uint64_t snd_wnd = 0, rcv_wnd = 0, cwnd = 0, ssthresh = 0, in_flight = 0, unsent = 0, unread = 0;
  std::uint64_t srtt_us = 0, rto_ms = 0, retransmits = 0, mss = 0;
  std::uint64_t pmtu = 0;  // the path MTU the connection cuts segments for
  std::string cc, recovery;
  std::string ecn;              // "-" not agreed; RFC 3168: "on", "echo" (ECE until the peer's CWR);
                                // RFC 9768: "accecn", "accecn-noect" (the path mangles ECN: Not-ECT sent)
  std::uint64_t ce_received = 0;  // segments that came CE-marked
  // RFC 7413: "-"; "asked" (our SYN asked for a cookie); "sent" (our SYN's
  // data acknowledged); "unacked" (not: sent again after the handshake);
  // "syn" (our SYN carried a cookie and data; no answer yet);
  // "passive" (the peer's SYN data taken).
  std::string fastopen;
  std::uint64_t pacing_rate = 0;  // octets per second; 0: unpaced
  std::uint64_t backlog = 0, accept_queue = 0;  // listeners
};

class TcpLayer {
 public:
  TcpLayer(ShardContext& ctx, IpOutput& ip, CounterSet& counters);
  ~TcpLayer();
  TcpLayer(const TcpLayer&) = delete;
  TcpLayer& operator=(const TcpLayer&) = delete;

  // The link completes checksums and cuts super-segments; set before start.
  void SetLinkOffload(bool on) { link_offload_ = on; }

  // `p` holds a TCP segment from `src` to `dst` (`to_group`: the IP
  // destination was a broadcast or multicast address; `ecn`: the IP
  // header's ECN field).
  void Receive(rings::Packet p, const proto::IpAddress& src, const proto::IpAddress& dst, bool to_group,
               proto::IpEcn ecn = proto::IpEcn::kNotEct);
  // An ICMP error said the path from `local` to `remote` takes IP
  // datagrams of at most `mtu` octets, quoting our segment at `seq`: the
  // connection (on its shard: mailed there) lowers its segment size.
  void OnPathMtu(const proto::Endpoint& local, const proto::Endpoint& remote, std::uint32_t seq, std::uint32_t mtu);
  // A destination unreachable (not about size) quoting our segment at `seq`
  // from `local` to `remote`: soft for TCP (RFC 5461 4.1), but a Fast Open
  // SYN with data goes again plain and Fast Open to the server is off for a
  // while (RFC 7413 4.1.3). Mailed to the connection's shard.
  void OnUnreachable(const proto::Endpoint& local, const proto::Endpoint& remote, std::uint32_t seq);
  // kTcpListen, kTcpUnlisten, kTcpConnect; completes the request.
  void ServeRequest(SocketRequest& r);
  // An application thread changed something on the socket: bytes written
  // or read, shutdown, close.
  void ServeSocket(const std::shared_ptr<TcpSocketState>& socket);
  // A timer this layer armed (TimerLayer::kTcp) fired.
  void OnTimer(std::uint64_t value);
  // Closes (no RST, ECONNABORTED) the connections on IPv4 addresses that
  // `host` no longer holds or has given up.
  void AbortOnLostAddresses(const proto::ipv4::Ipv4Host& host);
  // The end of a poll round: the sockets owed a wake-up are woken, the
  // super-segment being built goes.
  void FlushWakes();
  void FlushTso();

  // For the console and tests; the shard's thread only.
  std::vector<std::string> SessionLines() const;
  std::vector<TcpSessionInfo> Sessions() const;

 private:
  using Packet = rings::Packet;
  struct Session;
  struct FlowKey {
    proto::IpAddress local;
    proto::IpAddress remote;
    std::uint16_t local_port = 0;
    std::uint16_t remote_port = 0;
    bool operator==(const FlowKey&) const = default;
    template <typename H>
    friend H AbslHashValue(H h, const FlowKey& k) {
      return H::combine(std::move(h), k.local, k.remote, k.local_port, k.remote_port);
    }
  };
  struct ListeningSocket {
    std::shared_ptr<TcpSocketState> socket;
    proto::IpAddress addr;  // unspecified: any of ours (of the socket's family)
    int embryonic = 0;      // handshakes under way on this shard
    int fastopen_pending = 0;  // ... of fast-opened connections (already in the accept queue)
  };
  // TCP super-segments (a link that takes offload): the one being built, a
  // TCP header and payload, sent by FlushTso as one frame that the link
  // cuts into `segments` wire segments of `mss` bytes (Linux's TSO/GSO,
  // done here as the connections' segments come).
  struct TsoBuild {
    Packet p;
    FlowKey key;
    proto::tcp::TcpRepr header;  // the first segment's (payload unused)
    proto::tcp::SeqNum next_seq;
    std::uint32_t mss = 0;       // the first segment's payload length
    std::uint32_t segments = 0;
    proto::IpEcn ecn = proto::IpEcn::kNotEct;  // every segment's
    bool closed = false;         // a short, PSH or FIN segment ended it
  };

  // Shard 0 holds segments that another shard owns (reassembled, or behind
  // IPv6 extension headers): it mails them there; true when it did.
  bool ForwardToOwner(Packet& p, const proto::IpAddress& src, const proto::IpAddress& dst, bool to_group,
                      proto::IpEcn ecn);
  void OnListenerSegment(ListeningSocket& l, const proto::tcp::TcpRepr& seg, const FlowKey& key, proto::IpEcn ecn);
  void CountListen(const proto::tcp::ListenOutcome& out);
  void QueueFastOpened(Session& s);
  void LearnFastOpen(Session& s);
  void Listen(SocketRequest& r);
  void Unlisten(SocketRequest& r);
  int Connect(SocketRequest& r, proto::Endpoint& local_out);
  Session& AddSession(const FlowKey& key, std::shared_ptr<TcpSocketState> socket);
  // An ICMP report `m` (kind, local, remote, seq, mtu set) about a
  // connection: mailed to the shard that owns the flow (`mailed`), else
  // the session it concerns here; nullptr when mailed or there is none.
  Session* ReportTarget(ShardMessage m, bool& mailed);
  proto::tcp::TcpConfig ConfigFor(const TcpSocketState& s, const proto::IpAddress& remote);
  // An accepted connection's socket: the listener's buffer sizes and options.
  std::shared_ptr<TcpSocketState> NewChild(ListeningSocket& l);
  ListeningSocket* FindListener(const proto::IpAddress& dst, std::uint16_t port);
  // A session's connection reported an event: the socket learns of it.
  void OnEvent(Session& s, proto::tcp::TcpEvent e);
  // The handshake of a passive open ended (established or not): off the
  // listener's and the shard's half-open counts.
  void EndEmbryo(Session& s);
  // After every call into a session's connection: carries out what it did
  // (out_, in order: segments, bytes placed and committed into the receive
  // ring, bytes released from the send ring, events), takes its stats into
  // the counters and a trace row, then re-arms its timer, or removes the
  // session when the connection closed. A pure ACK of a read's window
  // update goes through the TX thread (`window_update`): the kernel's side
  // of the TAP runs its sender inside the write of an ACK (the ACK releases
  // the next data), and in the TX thread's write that runs beside this
  // worker rather than in it. Measured: a single stream in +15%;
  // request/response and connections send none (bench/README.md). False
  // when the session is gone.
  bool Carry(Session& s, bool window_update = false);
  void Place(TcpSocketState& socket, std::uint32_t offset, proto::Bytes data);
  void Trace(Session& s);
  void Remove(Session& s);
  // A socket's readers (data came) or writers (room came) are woken at the
  // end of this poll round (FlushWakes): a burst of 32 segments into one
  // socket costs one eventfd write or futex wake, not 32.
  void DeferWake(const std::shared_ptr<TcpSocketState>& s, bool readers);

  // The way out (tcp_output.cc). Sends the header, then `len` bytes from
  // `data` at `offset` (the send ring, from SND.UNA's first byte); through
  // the TX thread when `path` says so.
  void Send(const proto::tcp::TcpRepr& h, const FlowKey& key, const rings::ByteRing* data, std::uint32_t offset,
            std::uint32_t len, IpOutput::Path path = IpOutput::Path::kAny, proto::IpEcn ecn = proto::IpEcn::kNotEct);
  // With a link that takes offload: a data segment that continues the one
  // being built (same connection, the next sequence number, the same header
  // but for PSH/FIN, a full segment before it) joins it; else what was
  // built goes (FlushTso) and this segment starts anew.
  bool ExtendTso(const proto::tcp::TcpRepr& h, const FlowKey& key, const rings::ByteRing* data, std::uint32_t offset,
                 std::uint32_t len);
  void SendSegment(Packet p, const FlowKey& key, IpOutput::Path path = IpOutput::Path::kAny,
                   proto::IpEcn ecn = proto::IpEcn::kNotEct);

  // This shard's share of --tcp-max-sessions / --tcp-max-half-open.
  std::size_t SessionLimit() const;
  std::size_t HalfOpenLimit() const;

  ShardContext& ctx_;
  IpOutput& ip_;
  bool link_offload_ = false;
  proto::tcp::TcpOutcome out_;  // what the connection called last did (Carry)
  TsoBuild tso_;
  std::vector<std::shared_ptr<TcpSocketState>> owed_wakes_;
  absl::flat_hash_map<FlowKey, std::unique_ptr<Session>> sessions_;
  absl::flat_hash_map<std::uint32_t, Session*> by_id_;
  absl::flat_hash_map<const TcpSocketState*, Session*> by_socket_;
  absl::flat_hash_map<std::uint16_t, std::vector<ListeningSocket>> listeners_;
  std::uint32_t next_id_ = 1;
  std::size_t half_open_ = 0;  // this shard's handshakes in SYN-RECEIVED
  proto::tcp::IsnGenerator isn_;
  proto::tcp::TcpListener listen_;  // LISTEN's rules and the SYN-cookie secret
  proto::tcp::ChallengeAckLimiter challenge_limiter_;
  DropCounters drop_;
  TcpCounters counters_;
  std::array<Counter*, proto::tcp::kTcpStatCount> stat_{};  // tcp_<TcpStats field>
};

}  // namespace ringstack::engine

#endif  // RINGSTACK_ENGINE_TCP_LAYER_H_
