// TcpOutcome: what a TcpConnection did during one call (a segment, a timer,
// an application call), in the order it did it — segments to send, bytes to
// place in the receive buffer, bytes readable or acknowledged, events. The
// connection only appends; its owner carries the actions out after the call
// returns, in order: an offset is relative to the buffers as the actions
// before it leave them. `closed()` says the connection reached CLOSED and
// may be freed once the actions are done.
//
// The owner keeps one TcpOutcome for all its connections and clears it after
// each call, so the vector's capacity is reused and a call allocates only
// when it does more than any call before it. Not thread-safe.
#ifndef RINGSTACK_PROTOCOLS_TCP_TCP_OUTCOME_H_
#define RINGSTACK_PROTOCOLS_TCP_TCP_OUTCOME_H_

#include <cstdint>
#include <span>
#include <variant>
#include <vector>

#include "protocols/common/bytes.h"
#include "protocols/common/ecn.h"
#include "protocols/tcp/tcp_repr.h"

namespace ringstack::proto::tcp {

// What a connection tells its owner beyond the data actions.
enum class TcpEvent {
  kEstablished,  // the handshake completed (connect returns; accept may take it)
  kPeerClosed,   // the peer's FIN: after the bytes before it, reads return 0
  kReset,        // ECONNRESET: the peer reset a synchronized connection
  kRefused,      // ECONNREFUSED: RST answering our SYN
  kTimedOut,     // ETIMEDOUT: retransmissions (or keepalives) went unanswered
  kAborted,      // ECONNABORTED: the local address was taken away (AbortQuietly)
  kClosed,       // the connection is over (CLOSED); the owner may free it
};

// Send a segment: `header` (its payload empty) with `len` bytes from the send
// buffer starting `offset` bytes past its first byte, in an IP packet whose
// ECN field is `ecn` (RFC 3168 6.1.2: ECT(0) on new data only).
struct TcpTransmit {
  TcpRepr header;
  std::uint32_t offset = 0;
  std::uint32_t len = 0;
  IpEcn ecn = IpEcn::kNotEct;
};
// Put `data` (a view into the segment being processed) into the receive
// buffer `offset` bytes past its committed end (always within the window the
// connection advertised).
struct TcpPlace {
  std::uint32_t offset = 0;
  Bytes data;
};
// `n` more bytes of the receive buffer are in order: readable by the app.
struct TcpCommit {
  std::uint32_t n = 0;
};
// The first `n` bytes of the send buffer are acknowledged: free them.
struct TcpRelease {
  std::uint32_t n = 0;
};
using TcpAction = std::variant<TcpTransmit, TcpPlace, TcpCommit, TcpRelease, TcpEvent>;

class TcpOutcome {
 public:
  std::span<const TcpAction> actions() const { return actions_; }
  bool empty() const { return actions_.empty(); }
  bool closed() const { return closed_; }
  void Clear() {
    actions_.clear();
    closed_ = false;
  }

  void Transmit(const TcpRepr& header, std::uint32_t offset, std::uint32_t len, IpEcn ecn = IpEcn::kNotEct) {
    actions_.emplace_back(TcpTransmit{header, offset, len, ecn});
  }
  void Place(std::uint32_t offset, Bytes data) { actions_.emplace_back(TcpPlace{offset, data}); }
  void Commit(std::uint32_t n) { actions_.emplace_back(TcpCommit{n}); }
  void Release(std::uint32_t n) { actions_.emplace_back(TcpRelease{n}); }
  void Event(TcpEvent e) {
    actions_.emplace_back(e);
    if (e == TcpEvent::kClosed) closed_ = true;
  }

 private:
  std::vector<TcpAction> actions_;
  bool closed_ = false;
};

}  // namespace ringstack::proto::tcp

#endif  // RINGSTACK_PROTOCOLS_TCP_TCP_OUTCOME_H_
