// LossRecovery: how a TCP sender finds losses and repairs them, a strategy
// chosen per connection as congestion control is (TcpConfig::recovery; a
// peer without SACK gets NewReno whatever was chosen):
//   - NewRenoRecovery (RFC 5681 3.2, RFC 6582): the third duplicate ACK
//     retransmits and begins recovery; cwnd is inflated by each further
//     duplicate and deflated by partial ACKs; SACK blocks are not used;
//   - SackRecovery (RFC 6675): a segment is lost once DupThresh segments
//     above it are SACKed; in recovery, Proportional Rate Reduction (RFC
//     6937) sets cwnd on each ACK;
//   - RackRecovery (RFC 8985): losses by time (RACK's reordering window and
//     its reorder timer) on the same scoreboard, PRR as SackRecovery, and
//     tail loss probes that repair a tail drop without a timeout.
// What all share stays with the connection (tcp_recovery.cc): the SACK
// scoreboard, the recovery phase and its end point, entering and leaving
// recovery, retransmitting a record, a timeout's rewind and D-SACK undo. A
// strategy is a part of its connection, as gVisor's sackRecovery is of its
// sender: it reads and changes the connection's sender state directly (the
// connection names the strategies friends) and sends through it.
//
// Pure (no clock, no I/O); not thread-safe (one worker owns the connection).
#ifndef RINGSTACK_PROTOCOLS_TCP_LOSS_RECOVERY_H_
#define RINGSTACK_PROTOCOLS_TCP_LOSS_RECOVERY_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "protocols/common/time.h"
#include "protocols/tcp/rack.h"
#include "protocols/tcp/scoreboard.h"
#include "protocols/tcp/seq_num.h"
#include "protocols/tcp/tcp_repr.h"

namespace ringstack::proto::tcp {

class TcpConnection;

enum class Recovery { kRack, kSack, kNewReno };
std::string_view RecoveryName(Recovery r);
std::optional<Recovery> ParseRecovery(std::string_view name);

// One ACK as recovery sees it, after the scoreboard, SND.UNA and the send
// window took it.
struct AckFacts {
  std::uint32_t acked = 0;      // bytes newly acknowledged cumulatively
  std::uint32_t delivered = 0;  // ... and by SACK blocks: everything the ACK newly delivered
  bool dsack = false;           // it carried a D-SACK (RFC 2883)
  bool dup_ack = false;         // a duplicate ACK (RFC 5681 2)
  bool exiting = false;         // it ended a recovery
  bool sacked = false;          // its SACK blocks delivered bytes not SACKed before
};

class LossRecovery {
 public:
  explicit LossRecovery(TcpConnection& c) : c_(c) {}
  virtual ~LossRecovery() = default;
  LossRecovery(const LossRecovery&) = delete;
  LossRecovery& operator=(const LossRecovery&) = delete;

  virtual Recovery kind() const = 0;
  // Whether SACK blocks go onto the scoreboard.
  virtual bool UsesSack() const = 0;
  // After an ACK: losses found, recovery begun, cwnd while in it, probes.
  virtual void OnAck(const AckFacts& a, Instant now) = 0;
  // Recovery begins with `flight` bytes outstanding (cwnd and ssthresh set
  // by congestion control already) / ends; `fast`: it was fast recovery,
  // not a timeout's.
  virtual void OnEnter(std::uint32_t flight) = 0;
  virtual void OnExit(bool fast) = 0;
  // True while cwnd is NewReno's inflated window: the budget is cwnd less
  // the whole flight and the hole goes regardless of it.
  virtual bool WindowInflated() const { return false; }
  // Bytes of new data the sender may send past cwnd now: Limited Transmit
  // (RFC 3042, RFC 5681 3.2) on the first two duplicate ACKs.
  virtual std::uint32_t LimitedTransmitWindow() const { return 0; }
  // `bytes` of sequence space sent (new or again).
  virtual void OnSent(std::uint32_t /*bytes*/) {}
  // A segment an ACK newly delivered; an RTT sample taken.
  virtual void OnDelivered(const SentSegment& /*s*/, Instant /*now*/) {}
  virtual void OnRttSample(Duration /*rtt*/) {}
  // A D-SACK block arrived (the connection's undo took it already).
  virtual void OnDsack(const SackBlock& /*b*/) {}
  // New data (`new_data`) or a repair went, not a probe: a probe may be
  // armed, and new data restarts it.
  virtual void AfterSend(Instant /*now*/, bool /*new_data*/) {}
  // The retransmission timer fired (everything outstanding is lost); the
  // connection ended (TIME-WAIT or CLOSED): no timers of the strategy's.
  virtual void OnRto() {}
  virtual void CancelTimers() {}
  // The strategy's own timers (RACK's reorder timer, the tail probe).
  virtual Instant NextDeadline() const { return Instant::Never(); }
  virtual void OnTimer(Instant /*now*/) {}
  // RACK's state, for tests and the console; null for the others.
  virtual const Rack* rack() const { return nullptr; }

 protected:
  TcpConnection& c_;
};

// The strategy for `kind` (NewReno when the peer has no SACK).
std::unique_ptr<LossRecovery> MakeLossRecovery(Recovery kind, bool sack_ok, TcpConnection& c);

}  // namespace ringstack::proto::tcp

#endif  // RINGSTACK_PROTOCOLS_TCP_LOSS_RECOVERY_H_
