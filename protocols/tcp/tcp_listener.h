// TcpListener: the LISTEN state's rules (RFC 9293 3.10.7.2) for every
// listening port of one owner, pure. For a segment that no connection takes,
// on a port someone listens on:
//   - an RST is ignored;
//   - a SYN makes a new connection (SYN-RECEIVED), unless the owner's session
//     table is full (dropped: the peer sends it again), or the listener's
//     backlog or the owner's half-open limit is reached: then a SYN cookie
//     answers it (RFC 4987 3.6; no state kept) or, without cookies, it is
//     dropped;
//   - an ACK returning one of our cookies makes a connection, ESTABLISHED at
//     once (dropped when the accept queue or the session table is full: the
//     peer sends it again); any other ACK gets a reset;
//   - a segment with neither SYN nor ACK (a null or xmas scan) is dropped.
// Also: when a SYN may start a new incarnation of a connection in TIME-WAIT
// (RFC 6191), and the MSS a peer takes when its SYN names none (RFC 9293
// 3.7.1). The owner keeps the connections, accept queues and counters and
// carries the outcome out; this keeps the SYN-cookie secret and when it last
// sent a cookie (only then can an ACK be one). Not thread-safe: one owner.
//
// TCP Fast Open (RFC 7413 4.2), once enabled and where the listener takes
// it (`ListenerLoad::fastopen_max`): a SYN with a good cookie, while fewer
// than that many fast-opened connections are still in SYN-RECEIVED, opens
// with its data taken (the owner queues it for accept at once); a SYN
// asking for a cookie, or with a bad one, opens as usual, its data
// ignored, and the SYN-ACK carries a good cookie; past the limit, a plain
// open (no cookie: the client falls back, as Linux's). A SYN answered by a
// SYN cookie takes no Fast Open.
#ifndef RINGSTACK_PROTOCOLS_TCP_TCP_LISTENER_H_
#define RINGSTACK_PROTOCOLS_TCP_TCP_LISTENER_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>

#include "protocols/common/time.h"
#include "protocols/tcp/seq_num.h"
#include "protocols/tcp/syn_cookie.h"
#include "protocols/tcp/tcp_connection.h"
#include "protocols/tcp/tcp_fastopen.h"
#include "protocols/tcp/tcp_repr.h"

namespace ringstack::proto::tcp {

// What the rules weigh, as the owner counts it when the segment comes.
struct ListenerLoad {
  std::size_t backlog = 1;        // listen()'s backlog (0 counts as 1)
  std::size_t accept_queued = 0;  // established, waiting for accept()
  std::size_t embryonic = 0;      // this listener's handshakes under way
  std::size_t half_open = 0;      // the owner's handshakes under way, all listeners
  std::size_t half_open_limit = std::numeric_limits<std::size_t>::max();
  std::size_t sessions = 0;       // connections the owner holds
  std::size_t session_limit = std::numeric_limits<std::size_t>::max();
  std::size_t fastopen_queued = 0;  // fast-opened connections of this listener in SYN-RECEIVED
  std::size_t fastopen_max = 0;     // their limit; 0: the listener takes no Fast Open
};

// What the listener did with a SYN's Fast Open option.
enum class FastOpenVerdict {
  kNone,       // no option, or Fast Open not taken here
  kAccepted,   // a good cookie: the data is taken
  kRequested,  // an empty option: the SYN-ACK brings a cookie
  kBadCookie,  // not ours (or too old): the data is ignored, the SYN-ACK brings a good one
  kQueueFull,  // a good cookie past the limit: a plain open
};

enum class ListenAction {
  kAcceptNew,       // TcpConnection::Accept: SYN-RECEIVED
  kSendCookie,      // send `reply` (a SYN-ACK whose ISS is a cookie); keep nothing
  kCookieAccepted,  // TcpConnection::FromCookie with `cookie`: ESTABLISHED
  kDrop,            // nothing sent; `reason` says why
  kReset,           // send `reply` (an RST)
};

enum class ListenReason {
  kNone,
  kSessionLimit,     // the owner's session table is full
  kBacklogFull,      // accept queue + handshakes reached the backlog
  kHalfOpenLimit,    // the owner's handshakes reached their limit
  kAcceptQueueFull,  // a good cookie, but no room to queue its connection
  kCookieInvalid,    // an ACK while cookies were out, not one of ours (or too old)
  kRst,              // an RST: ignored
  kNoSynNoAck,       // neither SYN nor ACK
  kAck,              // an ACK (or SYN+ACK) that no handshake expects: reset
};
inline constexpr std::size_t kListenReasonCount = 9;
std::string_view ListenReasonName(ListenReason r);

struct ListenOutcome {
  ListenAction action = ListenAction::kDrop;
  ListenReason reason = ListenReason::kNone;  // why dropped or reset, or why a cookie answered
  TcpRepr reply;                              // kSendCookie, kReset
  CookieOptions cookie;                       // kCookieAccepted: what the cookie held
  FastOpenVerdict fastopen = FastOpenVerdict::kNone;  // kAcceptNew
  FastOpenAccept fastopen_accept;                      // ... for TcpConnection::Accept
};

class TcpListener {
 public:
  // `syncookies`: answer a SYN past the limits with a cookie (else drop it).
  TcpListener(const std::array<std::byte, 16>& cookie_secret, bool syncookies)
      : cookies_(cookie_secret), syncookies_(syncookies) {}
  // Fast Open with cookies made from `secret` (the same on every shard).
  void EnableFastOpen(const std::array<std::byte, 16>& secret) { fastopen_.emplace(secret); }

  // `seg` arrived for `ends.local`:`ends.local_port`, where a socket
  // listens, and no connection has its 4-tuple. `config`: what a
  // connection accepted there would have (the cookie's MSS and timestamps).
  ListenOutcome OnSegment(const TcpRepr& seg, const Endpoints& ends, const ListenerLoad& load,
                          const TcpConfig& config, Instant now);

  // RFC 6191: a SYN (no ACK) for a connection in TIME-WAIT starts a new
  // incarnation when it is newer: by timestamp when the old one used them
  // (`ts_recent`, the last TSval it saw) and the SYN has one (TSval past
  // it; equal: by sequence number), else by sequence number (past
  // `rcv_nxt`).
  static bool SynReusesTimeWait(const TcpRepr& syn, SeqNum rcv_nxt, std::optional<std::uint32_t> ts_recent);

  // RFC 9293 3.7.1: the MSS a peer takes when its SYN names none.
  static std::uint16_t DefaultPeerMss(bool v6) { return v6 ? 1220 : 536; }

 private:
  ListenOutcome OnSyn(const TcpRepr& syn, const Endpoints& ends, const ListenerLoad& load, const TcpConfig& config,
                      Instant now);
  ListenOutcome OnAck(const TcpRepr& ack, const Endpoints& ends, const ListenerLoad& load, Instant now);
  bool CookiesOut(Instant now) const;
  // A SYN to be accepted: what its Fast Open option earns.
  void FastOpen(const TcpRepr& syn, const Endpoints& ends, const ListenerLoad& load, Instant now,
                ListenOutcome& out) const;

  SynCookies cookies_;
  bool syncookies_;
  Instant cookie_sent_at_ = Instant::Never();
  std::optional<FastOpenCookies> fastopen_;
};

}  // namespace ringstack::proto::tcp

#endif  // RINGSTACK_PROTOCOLS_TCP_TCP_LISTENER_H_
