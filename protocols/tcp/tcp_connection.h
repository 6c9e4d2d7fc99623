// TcpConnection: one TCP connection's state machine (RFC 9293), a plain
// state class: segments, application calls and `now` in; what it did out,
// appended to the caller's TcpOutcome (segments to send, bytes to place,
// events) for the caller to carry out once the call returns — it never
// calls back into its owner. It owns no bytes: the
// owner keeps the send buffer (from SND.UNA's first data byte on) and the
// receive buffer (from RCV.NXT's byte on) and the connection names offsets
// into them, so data is copied once each way and nothing is kept for
// retransmission but the send buffer itself (DESIGN.md, "Buffers").
//
// States are one struct each in a std::variant (RFC 9293 3.3.2); segment
// arrival follows RFC 9293 3.10.7 step by step (tcp_input.cc), output,
// timers and application calls are in tcp_output.cc. Options: MSS, window
// scale and timestamps (RFC 7323, with RTTM and PAWS), SACK-permitted and
// SACK blocks both ways (RFC 2018) with D-SACK (RFC 2883).
//
// Loss recovery is a strategy (loss_recovery.h), by `TcpConfig::recovery`:
// RACK-TLP (RFC 8985; the default), RFC 6675's DupThresh rule, or NewReno
// (RFC 5681 / 6582; a peer without SACK gets it whatever was chosen); the
// SACK-based two retransmit by NextSeg and pace recovery by Proportional
// Rate Reduction (RFC 6937). What they share is here (tcp_recovery.cc):
// the scoreboard, the recovery phase, and D-SACKs that show every
// retransmission of an episode was needless undoing its reduction (RFC 2883
// with RFC 9438 4.9).
// A timeout (RFC 6298) deems everything outstanding lost and resends it
// under slow start, unless F-RTO (RFC 5682) shows it spurious and undoes
// it. Congestion control is pluggable (congestion.h: CUBIC by
// default, NewReno; HyStart++, ABC) and grows cwnd only while the sender
// uses it (RFC 7661). RFC 5961 challenge ACKs share a rate limit. Delayed
// ACKs (every second full segment, at most `delayed_ack` late), Nagle
// unless `nodelay`, receiver and sender SWS avoidance (RFC 9293 3.8.6.2),
// zero-window probes, keepalive. ECN (RFC 3168, tcp_ecn.cc) and Accurate
// ECN (RFC 9768, tcp_accecn.cc) by `TcpConfig::ecn`. Path MTU (tcp_pmtu.cc): the segment size follows the
// path's MTU as ICMP reports it (RFC 1191, RFC 8201; validated as RFC 5927
// says) and, by `TcpConfig::mtu_probing`, a black hole that drops large
// segments without a word (RFC 4821). TCP Fast Open (RFC 7413,
// tcp_fastopen_conn.cc): data in the SYN, both ways, as the owner's cookie
// cache and listener decide (FastOpenConnect, FastOpenAccept).
//
// Allocates only when more segments are in flight than ever before (the
// scoreboard grows), and once for an AccECN connection's counters (kept
// apart: few connections use them); not thread-safe (one worker owns it).
#ifndef RINGSTACK_PROTOCOLS_TCP_TCP_CONNECTION_H_
#define RINGSTACK_PROTOCOLS_TCP_TCP_CONNECTION_H_

#include <concepts>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <variant>

#include "protocols/common/address.h"
#include "protocols/common/bytes.h"
#include "protocols/common/ecn.h"
#include "protocols/common/overloaded.h"
#include "protocols/common/time.h"
#include "protocols/tcp/accecn.h"
#include "protocols/tcp/assembler.h"
#include "protocols/tcp/congestion.h"
#include "protocols/tcp/loss_recovery.h"
#include "protocols/tcp/rtt.h"
#include "protocols/tcp/scoreboard.h"
#include "protocols/tcp/seq_num.h"
#include "protocols/tcp/syn_cookie.h"
#include "protocols/tcp/tcp_outcome.h"
#include "protocols/tcp/tcp_repr.h"

namespace ringstack::proto::tcp {

// RFC 5961 7: challenge ACKs (and PAWS's answering ACKs) are limited to
// about `per_second` across the connections that share one limiter (a
// worker's). The budget of each second is drawn from [per_second / 2,
// 3 * per_second / 2) (as Linux does since CVE-2016-5696): a fixed global
// count let an off-path attacker learn, by exhausting it, whether his
// guesses hit a connection.
class ChallengeAckLimiter {
 public:
  explicit ChallengeAckLimiter(int per_second = 1000, std::uint64_t seed = 1)
      : per_second_(per_second), rng_(seed | 1) {}
  bool Allow(Instant now);
  int budget() const { return budget_; }  // this second's

 private:
  int per_second_;
  std::uint64_t rng_;
  bool started_ = false;
  Instant window_start_;
  int budget_ = 0;
  int sent_ = 0;
};

// What a connection did, for counters, the console and tests.
struct TcpStats {
  std::uint64_t retransmits = 0;       // segments sent again, for any reason
  std::uint64_t timeouts = 0;          // RTO expiries with data outstanding
  std::uint64_t fast_recoveries = 0;   // recovery episodes begun by loss detection
  std::uint64_t rack_marked = 0;       // segments RACK deemed lost
  std::uint64_t dupthresh_marked = 0;  // segments RFC 6675 IsLost deemed lost
  std::uint64_t tlp_probes = 0;        // tail loss probes sent
  std::uint64_t tlp_recoveries = 0;    // probes that repaired a loss (cwnd reduced)
  std::uint64_t dsacks = 0;            // D-SACK blocks received
  std::uint64_t undos = 0;             // reductions undone as spurious
  std::uint64_t frto_spurious = 0;     // timeouts F-RTO showed spurious (RFC 5682; undone)
  std::uint64_t challenge_acks = 0;    // RFC 5961 challenge ACKs sent
  std::uint64_t challenge_limited = 0; // ... and held back by the rate limit
  std::uint64_t paws_dropped = 0;      // RFC 7323 5: old timestamps
  std::uint64_t ts_missing_dropped = 0;  // RFC 7323 3.2: no timestamp once agreed
  std::uint64_t no_ack_dropped = 0;    // RFC 9293 3.10.7.4 fifth: in window, ACK bit off
  std::uint64_t ecn_established = 0;   // connections established with ECN agreed (RFC 3168 6.1.1)
  std::uint64_t ecn_ce_received = 0;   // segments received with CE marked (echoed with ECE)
  std::uint64_t ecn_reductions = 0;    // cwnd reductions for an ECE (at most one a window)
  std::uint64_t pmtu_lowered = 0;      // segment size lowered by an ICMP path MTU report
  std::uint64_t pmtu_ignored = 0;      // ... reports about no segment in flight (RFC 5927)
  std::uint64_t mtu_blackholes = 0;    // segment size lowered after timeouts (RFC 4821 black hole)
  std::uint64_t mtu_probes = 0;        // RFC 4821 probes sent (larger segments after a black hole)
  std::uint64_t mtu_probes_lost = 0;   // ... lost (the size stays; no congestion reduction)
  std::uint64_t fastopen_active = 0;   // our SYN's data acknowledged by the SYN-ACK (RFC 7413)
  std::uint64_t fastopen_active_fail = 0;  // ... not acknowledged: sent again after the handshake
  std::uint64_t fastopen_syn_icmp = 0;  // our SYN with data drew an ICMP error: sent again plain
  std::uint64_t accecn_established = 0;  // connections established with Accurate ECN (RFC 9768)
  std::uint64_t accecn_fallback = 0;   // asked for AccECN, agreed RFC 3168 ECN or none
  std::uint64_t accecn_ce_delivered = 0;  // CE-marked packets of ours the peer's ACE field reported
  std::uint64_t accecn_ce_bytes = 0;   // ... their bytes, by the peer's AccECN option
  std::uint64_t accecn_mangled = 0;    // handshake feedback showed IP-ECN mangled or ACE zeroed: no ECT sent
  std::uint64_t accecn_option_bad = 0;  // the peer's first AccECN option was zeroed: its options ignored
};

// TcpStats' fields by name, for counters ("tcp_" + name) and reports.
inline constexpr std::pair<std::string_view, std::uint64_t TcpStats::*> kTcpStatFields[] = {
    {"retransmits", &TcpStats::retransmits},
    {"timeouts", &TcpStats::timeouts},
    {"fast_recoveries", &TcpStats::fast_recoveries},
    {"rack_marked", &TcpStats::rack_marked},
    {"dupthresh_marked", &TcpStats::dupthresh_marked},
    {"tlp_probes", &TcpStats::tlp_probes},
    {"tlp_recoveries", &TcpStats::tlp_recoveries},
    {"dsacks", &TcpStats::dsacks},
    {"undos", &TcpStats::undos},
    {"frto_spurious", &TcpStats::frto_spurious},
    {"challenge_acks", &TcpStats::challenge_acks},
    {"challenge_limited", &TcpStats::challenge_limited},
    {"paws_dropped", &TcpStats::paws_dropped},
    {"ts_missing_dropped", &TcpStats::ts_missing_dropped},
    {"no_ack_dropped", &TcpStats::no_ack_dropped},
    {"ecn_established", &TcpStats::ecn_established},
    {"ecn_ce_received", &TcpStats::ecn_ce_received},
    {"ecn_reductions", &TcpStats::ecn_reductions},
    {"pmtu_lowered", &TcpStats::pmtu_lowered},
    {"pmtu_ignored", &TcpStats::pmtu_ignored},
    {"mtu_blackholes", &TcpStats::mtu_blackholes},
    {"mtu_probes", &TcpStats::mtu_probes},
    {"mtu_probes_lost", &TcpStats::mtu_probes_lost},
    {"fastopen_active", &TcpStats::fastopen_active},
    {"fastopen_active_fail", &TcpStats::fastopen_active_fail},
    {"fastopen_syn_icmp", &TcpStats::fastopen_syn_icmp},
    {"accecn_established", &TcpStats::accecn_established},
    {"accecn_fallback", &TcpStats::accecn_fallback},
    {"accecn_ce_delivered", &TcpStats::accecn_ce_delivered},
    {"accecn_ce_bytes", &TcpStats::accecn_ce_bytes},
    {"accecn_mangled", &TcpStats::accecn_mangled},
    {"accecn_option_bad", &TcpStats::accecn_option_bad},
};
inline constexpr std::size_t kTcpStatCount = std::size(kTcpStatFields);

// ECN: not at all; RFC 3168's when the peer asks (our SYN does not:
// Linux's tcp_ecn=2); RFC 3168's asked for in our SYN as well; Accurate
// ECN (RFC 9768) asked for in our SYN and agreed to when asked, RFC 3168's
// when that is what the peer asks or answers. The values are Linux's
// net.ipv4.tcp_ecn numbers, which the kTcpEcn socket option takes.
enum class EcnMode { kOff = 0, kOn = 1, kPassive = 2, kAccEcn = 3 };
std::string_view EcnModeName(EcnMode m);
std::optional<EcnMode> ParseEcnMode(std::string_view name);

// RFC 4821 black-hole detection: none; or repeated timeouts of a segment
// larger than the base size lower the segment size (Linux's
// net.ipv4.tcp_mtu_probing=1, whose number this is); or that, then probes
// back up (7.2's search, with real data) and again every ten minutes.
enum class MtuProbing { kOff = 0, kBlackhole = 1, kOn = 2 };
std::string_view MtuProbingName(MtuProbing m);
std::optional<MtuProbing> ParseMtuProbing(std::string_view name);

// What an ICMP path MTU report did to a connection.
enum class PmtuVerdict {
  kLowered,    // the segment size went down; too-large segments in flight went again
  kUnchanged,  // no smaller than the size in use
  kIgnored,    // about no segment in flight (RFC 5927 4.1.3), or no connection yet
};

struct TcpConfig {
  std::uint16_t mss = 1460;                   // what we can receive (MTU - IP - TCP headers)
  std::uint32_t rcv_buf = 256 * 1024;         // receive buffer capacity (SO_RCVBUF)
  bool window_scale = true;                   // RFC 7323 window scaling
  bool sack = true;                           // RFC 2018
  bool timestamps = true;                     // RFC 7323
  bool nodelay = false;                       // TCP_NODELAY: no Nagle
  Duration delayed_ack = Duration::Millis(40);  // <= 200 ms (RFC 1122 4.2.3.2 says < 500)
  Duration msl = Duration::Seconds(30);       // TIME-WAIT lasts 2 * MSL
  RtoConfig rto{Duration::Seconds(1), Duration::Millis(200), Duration::Seconds(120), Duration::Millis(1)};
  int syn_retries = 6;                        // SYN / SYN-ACK retransmissions before ETIMEDOUT
  int data_retries = 15;                      // RTO expiries in a row before ETIMEDOUT
  bool keepalive = false;                     // SO_KEEPALIVE
  Duration keepalive_idle = Duration::Seconds(7200);
  Duration keepalive_interval = Duration::Seconds(75);
  int keepalive_count = 9;
  std::string_view congestion = "cubic";      // MakeCongestionControl's names
  bool hystart = true;                        // RFC 9406 slow-start exit
  Recovery recovery = Recovery::kRack;
  bool frto = true;                           // RFC 5682 F-RTO after a timeout, with SACK (Linux's tcp_frto)
  bool pacing = false;                        // pace CUBIC / NewReno too (BBR always paces)
  EcnMode ecn = EcnMode::kPassive;            // RFC 3168
  MtuProbing mtu_probing = MtuProbing::kOff;  // RFC 4821
  std::uint32_t path_mtu = 0;                 // the path's MTU known at open (IP datagram); 0: the link's
  Duration max_ack_delay = Duration::Millis(200);  // the peer's, for the tail probe (RFC 8985 7.2)
  Duration non_validated_period = Duration::Seconds(300);  // RFC 7661 4.4
  ChallengeAckLimiter* challenge_limiter = nullptr;  // shared; null: unlimited
};

// A visitor case for several states: `[](const OneOf<A, B> auto&) {...}`.
// A visit names every state in some case, so adding a state makes each
// visit that forgets it a compile error.
template <typename S, typename... States>
concept OneOf = (std::same_as<S, States> || ...);

// TCP Fast Open (RFC 7413) for an active open: the cookie the owner's
// cache holds for the server (none: our SYN asks for one), the bytes the
// application queued before the SYN (they start the send buffer), and the
// MSS the server offered before (0: unknown).
struct FastOpenConnect {
  std::optional<FastOpenCookie> cookie;
  std::uint32_t queued = 0;
  std::uint16_t mss = 0;
};

// ... and for a passive open, as the listener decided: the SYN's data is
// taken (its cookie was good), and the cookie our SYN-ACK carries.
struct FastOpenAccept {
  bool take_data = false;
  std::optional<FastOpenCookie> cookie;
};

struct Endpoints {
  IpAddress local;
  std::uint16_t local_port = 0;
  IpAddress remote;
  std::uint16_t remote_port = 0;
};

class TcpConnection {
 public:
  // RFC 9293 3.3.2 states. Each holds what only it needs.
  struct Closed {};
  struct SynSent {
    int retries = 0;
    bool ecn = false;     // our SYN asked for ECN (ECE and CWR); a retransmitted one does not
    bool accecn = false;  // ... for Accurate ECN (AE as well)
  };
  struct SynReceived {
    int retries = 0;
    bool passive = false;  // opened by Accept: a RST or SYN sends it back to LISTEN (the embryo goes)
  };
  struct Established {};
  struct FinWait1 {};
  struct FinWait2 {};
  struct CloseWait {};
  struct Closing {};
  struct LastAck {};
  struct TimeWait { Instant until; };
  using State = std::variant<Closed, SynSent, SynReceived, Established, FinWait1, FinWait2, CloseWait, Closing,
                             LastAck, TimeWait>;

  // Active open (RFC 9293 3.10.1): sends the SYN, enters SYN-SENT.
  // With `fastopen`, the SYN carries its option (RFC 7413 3): with a cookie,
  // as much of the queued data as a segment of the MSS the server offered
  // before (or RFC 9293's default) takes; without, a cookie request.
  static std::unique_ptr<TcpConnection> Connect(const TcpConfig& config, const Endpoints& ends, SeqNum iss,
                                                Instant now, TcpOutcome& out, const FastOpenConnect* fastopen = nullptr);
  // Passive open, from a listener's SYN (3.10.7.2): sends SYN-ACK, enters
  // SYN-RECEIVED. `fastopen.take_data`: the SYN's data is in the receive
  // buffer at once, and the SYN-ACK acknowledges it.
  // `syn_ecn`: the SYN's IP-ECN field, which an AccECN SYN-ACK feeds back.
  static std::unique_ptr<TcpConnection> Accept(const TcpConfig& config, const Endpoints& ends, const TcpRepr& syn,
                                               SeqNum iss, Instant now, TcpOutcome& out,
                                               const FastOpenAccept& fastopen = {}, IpEcn syn_ecn = IpEcn::kNotEct);

  // SYN cookies (syn_cookie.h): the stateless SYN-ACK for `syn` with ISS
  // `cookie` (options as `o` says, within what `config` allows) ...
  static TcpRepr CookieSynAck(const TcpConfig& config, const TcpRepr& syn, SeqNum cookie, const CookieOptions& o,
                              Instant now);
  // ... and the connection its returning ACK makes: ESTABLISHED at once,
  // the ACK's own data processed.
  static std::unique_ptr<TcpConnection> FromCookie(const TcpConfig& config, const Endpoints& ends, const TcpRepr& ack,
                                                   const CookieOptions& o, Instant now, TcpOutcome& out);

  // RFC 9293 3.10.7: a segment for this connection, which came in an IP
  // packet with ECN field `ecn`.
  void OnSegment(const TcpRepr& seg, Instant now, TcpOutcome& out, IpEcn ecn = IpEcn::kNotEct);
  // Work due at `now` (retransmission, delayed ACK, persist, keepalive,
  // TIME-WAIT's end).
  void OnTimer(Instant now, TcpOutcome& out);
  Instant NextDeadline() const;

  // The application appended `n` bytes to the send buffer.
  void OnAppSend(std::uint32_t n, Instant now, TcpOutcome& out);
  // The application read `n` bytes from the receive buffer.
  void OnAppRead(std::uint32_t n, Instant now, TcpOutcome& out);
  // shutdown(SHUT_WR): a FIN after what is queued (3.10.4 CLOSE).
  void Shutdown(Instant now, TcpOutcome& out);
  // close(): Shutdown, unless received data was never read: then a RST
  // (RFC 9293 3.10.4 allows it; Linux does so, RFC 2525 2.17).
  void Close(Instant now, TcpOutcome& out);
  // TCP_CONGESTION: another algorithm from now on (cwnd and ssthresh carry
  // over); false for an unknown name.
  bool SetCongestion(std::string_view name);
  // RFC 1191 / RFC 8201: the path takes IP datagrams of at most `mtu`
  // octets, as an ICMP Fragmentation Needed / Packet Too Big quoting our
  // segment at `seq` said. Believed only for a segment in flight (RFC 5927
  // 4.1.3: SND.UNA <= seq < SND.NXT); a lower size resends at once, in
  // pieces, what no longer fits, without a congestion reduction (the
  // segments were not lost to congestion).
  PmtuVerdict OnPathMtu(std::uint32_t mtu, SeqNum seq, Instant now, TcpOutcome& out);
  // An ICMP destination unreachable quoting our segment at `seq`: true when
  // it was our Fast Open SYN with data, which then goes again at once,
  // plain (RFC 7413 4.1.3: a path that refuses SYNs with data); else
  // nothing (a soft error for TCP, RFC 5461 4.1).
  bool OnFastOpenUnreachable(SeqNum seq, Instant now, TcpOutcome& out);
  // ABORT (3.10.5): a RST if synchronized, then CLOSED.
  void Abort(Instant now, TcpOutcome& out);
  // The local address is no longer this host's (a lost DHCP lease, an
  // address given up to a conflicting host): CLOSED at once, without the
  // RST that could not be sent from it; the owner hears kAborted.
  void AbortQuietly(TcpOutcome& out);
  // RFC 9293 3.10.7.1: the answer to a segment no connection takes (none
  // for a RST).
  static std::optional<TcpRepr> ResetFor(const TcpRepr& seg);

  const State& state() const { return state_; }
  std::string_view StateName() const;
  bool synchronized() const;
  const Endpoints& endpoints() const { return ends_; }

  // The TCB (RFC 9293 3.3.1), for tests and the console.
  SeqNum iss() const { return snd_.iss; }
  SeqNum irs() const { return rcv_.irs; }
  SeqNum snd_una() const { return snd_.una; }
  SeqNum snd_nxt() const { return snd_.nxt; }
  std::uint32_t snd_wnd() const { return snd_.wnd; }
  SeqNum rcv_nxt() const { return rcv_.nxt; }
  std::uint32_t rcv_wnd() const;
  std::uint16_t snd_mss() const { return snd_mss_; }
  std::uint16_t peer_mss() const { return peer_mss_; }
  // The IP datagram size the segments are cut for: the path's MTU as far
  // as this connection knows it (the peer's MSS may keep them smaller).
  std::uint32_t path_mtu() const { return path_mss_ + HeaderOverhead(); }
  WindowScale snd_scale() const { return snd_scale_; }
  WindowScale rcv_scale() const { return rcv_scale_; }
  bool sack_ok() const { return sack_ok_; }
  bool ts_ok() const { return ts_ok_; }
  bool ecn_ok() const { return ecn_ok_; }
  // Accurate ECN agreed (RFC 9768); then ecn_ok() too.
  bool accecn() const { return accecn_ != nullptr; }
  // ... and sending ECT withheld: the handshake showed the path mangles
  // the IP-ECN field or zeroes ACE (3.2.2.3).
  bool accecn_no_ect() const { return accecn_ != nullptr && accecn_->no_ect; }
  // AccECN's counts: of what arrived (r.*), of what the peer reported (s.*).
  const accecn::Counters* accecn_received() const { return accecn_ ? &accecn_->rcvd : nullptr; }
  const accecn::Feedback* accecn_feedback() const { return accecn_ ? &accecn_->fb : nullptr; }
  // RFC 3168 6.1.3: the receiver sets ECE on its ACKs until the peer's CWR.
  bool ece_pending() const { return ece_pending_; }
  std::uint32_t ts_recent() const { return ts_recent_; }
  std::uint32_t cwnd() const { return cc_->cwnd(); }
  std::uint32_t ssthresh() const { return cc_->ssthresh(); }
  const RttEstimator& rtt() const { return rtt_; }
  std::uint32_t unsent() const;    // queued bytes not yet sent
  std::uint32_t in_flight() const;  // SND.NXT - SND.UNA
  std::uint64_t retransmits() const { return stats_.retransmits; }
  const TcpStats& stats() const { return stats_; }
  std::string_view congestion_name() const { return cc_->name(); }
  const CongestionControl& congestion() const { return *cc_; }
  // The rate segments are paced at now, octets per second (0: unpaced).
  std::uint64_t pacing_rate() const { return PacingRate(); }
  // Open; in fast recovery (losses found by the strategy); or recovering
  // from a retransmission timeout.
  enum class Phase { kOpen, kFast, kRto };
  bool in_recovery() const { return phase_ != Phase::kOpen; }
  std::string_view RecoveryPhase() const;
  // RFC 6675 pipe: octets the sender believes are in the network.
  std::uint32_t pipe() const { return sb_.Pipe(in_flight()); }
  const Scoreboard& scoreboard() const { return sb_; }
  const LossRecovery& recovery() const { return *recovery_; }
  // Bytes readable by the application (committed, not read).
  std::uint32_t unread() const { return rcv_.unread; }

  // What TCP Fast Open did on this connection, for the owner's cookie
  // cache, counters and the console.
  struct FastOpenInfo {
    bool active = false;      // our SYN carried the option (a cookie, or asking for one)
    bool passive = false;     // the peer's SYN data was taken
    std::uint32_t syn_data = 0;  // bytes our first SYN carried
    bool syn_resent = false;  // our SYN went again (without data or option)
    bool data_acked = false;  // the SYN-ACK acknowledged our SYN's data
    std::optional<FastOpenCookie> cookie;    // active: sent; passive: our SYN-ACK's
    std::optional<FastOpenCookie> received;  // active: the SYN-ACK's
  };
  const FastOpenInfo& fastopen() const { return fo_; }

 private:
  template <typename S>
  static bool Is(const State& s) {
    return std::holds_alternative<S>(s);
  }
  TcpConnection(const TcpConfig& config, const Endpoints& ends, SeqNum iss, Instant now);
  // A synchronized state but TIME-WAIT: data, FINs and RSTs may go.
  bool Sending() const;
  // For one public call: where what the connection does goes (`out_`); a
  // call made inside another (Close's Shutdown) keeps the outer one's.
  class Call {
   public:
    Call(TcpConnection& c, TcpOutcome& out) : c_(c), outer_(c.out_) { c.out_ = &out; }
    ~Call() { c_.out_ = outer_; }
    Call(const Call&) = delete;
    Call& operator=(const Call&) = delete;

   private:
    TcpConnection& c_;
    TcpOutcome* outer_;
  };

  // tcp_input.cc: RFC 9293 3.10.7, by step.
  void OnSegmentInSynSent(const TcpRepr& seg, Instant now, IpEcn ecn);
  bool SegmentAcceptable(const TcpRepr& seg) const;
  bool CheckSequence(const TcpRepr& seg, Instant now);
  bool CheckRst(const TcpRepr& seg, Instant now);
  bool CheckSyn(const TcpRepr& seg, Instant now);
  bool CheckAck(const TcpRepr& seg, Instant now);
  void ProcessAckOfData(const TcpRepr& seg, Instant now);
  bool OnSackBlocks(const TcpRepr& seg, std::uint32_t& delivered, Instant now);
  std::uint32_t OnNewAck(const TcpRepr& seg, std::uint32_t& delivered, Instant now);
  void ProcessText(const TcpRepr& seg, Instant now);
  void ProcessFin(const TcpRepr& seg, Instant now);
  void UpdateSendWindow(const TcpRepr& seg);
  bool PawsReject(const TcpRepr& seg, Instant now);
  void SendChallengeAck(Instant now);

  // tcp_recovery.cc: what the loss recovery strategies share
  // (loss_recovery.h), which reach the sender through these.
  friend class NewRenoRecovery;
  friend class SackRecovery;
  friend class RackRecovery;
  bool IsDsack(const TcpRepr& seg) const;
  void OnDsack(const SackBlock& b);
  // `not_counted`: bytes of the flight left out of the reduction (Limited
  // Transmit's).
  void EnterRecovery(Instant now, std::uint32_t not_counted = 0);
  void ExitRecovery();
  void ArmUndo();
  void Undo();
  void RetransmitRecord(std::size_t i, Instant now);
  // RFC 5682 F-RTO's steps 2 and 3 on an ACK after a timeout (`orig`: it
  // delivered data sent before the timeout and never retransmitted).
  void Frto(const AckFacts& a, bool orig, Instant now);
  // F-RTO sent new data (step 2) and waits for the ACK that tells: the
  // records deemed lost are not resent meanwhile.
  bool FrtoHolding() const { return frto_ && phase_ == Phase::kRto && snd_.nxt.After(recover_); }
  void TrackRound(std::uint32_t delivered, Instant now);
  bool Validated(Instant now) const;
  Duration SamplePeriod() const;
  void CheckNonValidated(Instant now);
  void TakeOptions(const TcpOptions& o, bool syn);
  void TakeTimestamp(const TcpRepr& seg);
  Duration TsSample(const TcpRepr& seg, Instant now) const;

  // tcp_pmtu.cc: path MTU.
  // IP and TCP header octets (without options) around a segment's data.
  std::uint32_t HeaderOverhead() const { return ends_.local.is_v6() ? 60u : 40u; }
  // snd_mss_ from the peer's MSS and the path's.
  void UpdateSndMss();
  // Records too large for the segment size now are deemed lost and go
  // again (split): RFC 1191 6.4's immediate retransmission.
  void ResendTooLarge(Instant now);
  // RFC 4821 black hole: the `rto_count_`th timeout in a row of a segment
  // larger than the base size lowers the segment size.
  void DetectBlackhole(Instant now);
  // RFC 4821 7.2 (MtuProbing::kOn): sends one segment of the next size to
  // try, of real data, when the windows and the queue allow; true if it did.
  bool SendProbe(std::uint32_t queued, std::uint32_t usable, Instant now);
  // The probe's fate: acknowledged (the size rises) ...
  void OnProbeAcked(Instant now);
  // ... or lost (the search lowers its ceiling); true when the first loss
  // not yet resent is the probe's, which is no congestion signal (7.6.2).
  bool ProbeLost(Instant now);
  // The probe in flight, if any, failed (a timeout; resent in pieces).
  void FailProbe(Instant now);
  void EndProbe(Instant now);

  // tcp_fastopen_conn.cc: RFC 7413.
  // An active open's: the cookie and how much of the queued data its SYN takes.
  void StartFastOpen(const FastOpenConnect& fo);
  // The Fast Open option of our SYN (the first only) or SYN-ACK.
  void FastOpenSynOptions(TcpRepr& h, std::uint8_t flags) const;
  // Takes a SYN's data into the receive buffer (a good cookie).
  void TakeSynData(const TcpRepr& syn);
  // The SYN-ACK to our SYN: what of our SYN's data it acknowledged is
  // released; the rest goes again after the handshake (RFC 7413 4.2.2).
  void OnFastOpenSynAck(const TcpRepr& seg);
  // The SYN times out: it goes again without data or option.
  void OnFastOpenSynTimeout();
  // An ICMP report says our SYN with data was too large: it goes again
  // plain at once.
  PmtuVerdict FastOpenSynTooBig(std::uint32_t mtu, Instant now);
  // Our SYN again at once, without data or option.
  void ResendSynPlain(Instant now);

  // tcp_rate.cc: delivery rate samples (draft-cheng-iccrg-delivery-rate-
  // estimation) for model-based congestion control, and pacing.
  // The marks a segment sent now carries.
  RateMark MarkForSend(Instant now);
  // A segment this ACK newly delivered (cumulatively or by SACK).
  void OnRateDelivered(const SentSegment& s, Instant now);
  // The ACK's rate sample to congestion control, when it delivered data.
  void TakeRateSample(std::uint32_t delivered, Instant now);
  // The sender ran out of data with room in cwnd: samples until what is in
  // flight now is delivered are application-limited.
  void MarkAppLimited();
  // Octets per second to pace at now (0: unpaced).
  std::uint64_t PacingRate() const;
  // Pacing holds the next segment back (and arms the deadline).
  bool PacingHolds(Instant now);
  // `len` octets went: the next may go len / rate later.
  void Paced(std::uint32_t len, Instant now);

  // tcp_ecn.cc: RFC 3168 ECN.
  std::uint8_t SynFlags() const;
  std::uint8_t SynAckFlags() const;
  void OnEcnMarks(const TcpRepr& seg, IpEcn ecn, Instant now);
  void OnEce(Instant now);
  // The one reduction a window (RFC 3168 6.1.2; RFC 9768 leaves the
  // response to congestion control, this is the classic one).
  void ReduceForEcn(Instant now);
  // The ECN feedback of an ACK that newly delivered `delivered` bytes.
  void OnEcnFeedback(const TcpRepr& seg, std::uint32_t delivered, Instant now);

  // tcp_accecn.cc: Accurate ECN (RFC 9768).
  struct AccEcnState {
    accecn::Counters rcvd;                 // r.*: what arrived
    accecn::Feedback fb;                   // s.*: what the peer reported of ours
    IpEcn handshake_ecn = IpEcn::kNotEct;  // the SYN's field (server) or the SYN-ACK's (client), fed back
    IpEcn last_ecn = IpEcn::kNotEct;       // the last data segment's field (change-triggered ACKs)
    std::uint32_t ce_unacked = 0;          // CE packets since our last ACK (increment-triggered ACKs)
    bool echo_handshake = false;           // client: our pure ACKs feed back the SYN-ACK's field until
                                           // the peer's next segment or our first data
    bool handshake_read = false;           // server: the handshake's last ACK was read
    bool no_ect = false;                   // 3.2.2.3: send Not-ECT (feedback goes on)
    accecn::Counters optioned;             // the counts our last option carried
    bool optioned_once = false;
  };
  // Our next segment (`len` data octets) carries the option: a pure ACK
  // always, data when the counts changed since the last one did.
  bool AccEcnOptionDue(std::uint32_t len) const {
    return accecn_ && (len == 0 || !accecn_->optioned_once || !(accecn_->rcvd == accecn_->optioned));
  }
  // A SYN asking for AccECN: answered so (server, `config_.ecn` kAccEcn).
  void AcceptAccEcn(IpEcn syn_ecn);
  // Our AccECN SYN's answer (the SYN-ACK, its IP-ECN field): AccECN, RFC
  // 3168 ECN or none.
  void OnAccEcnSynAck(const TcpRepr& seg, IpEcn ecn);
  // AE on our SYN; ACE and the option on the rest we send (`len` data octets).
  void AccEcnHeader(TcpRepr& h, std::uint32_t len);
  void OnAccEcnMarks(const TcpRepr& seg, IpEcn ecn, Instant now);
  void OnAccEcnFeedback(const TcpRepr& seg, std::uint32_t delivered, Instant now);
  // The peer's option into our view of its counts; the CE byte difference.
  std::optional<std::uint32_t> TakeAccEcnOption(const AccEcnOption& o);
  // Server: the handshake's last ACK feeds back our SYN-ACK's field.
  void ReadHandshakeAck(const TcpRepr& seg);
  // A loss reduction also answers the peer's congestion signal (RFC 3168
  // 6.1.2: CWR on the next new data; no ECN reduction in this window).
  void EcnOnLossReduction();

  // tcp_output.cc.
  void Output(Instant now);
  // Sends what NextSeg allows (RFC 6675 4): lost segments first, then new
  // data. A tail probe sends one new segment past cwnd.
  bool SendData(Instant now, bool probe = false);
  // ACK, or ACK and PSH, for `len` new bytes of `queued` (`usable` the
  // windows allow, `room` a segment's).
  std::uint8_t PushFlags(std::uint32_t len, std::uint32_t queued, std::uint32_t usable, std::uint32_t room,
                         bool probe);
  // Sends `len` new bytes (and the FIN) at SND.NXT and moves it on.
  void SendNewData(std::uint8_t flags, std::uint32_t len, bool fin_now, Instant now);
  // <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> (SND.NXT never moves back: a
  // timeout resends what the scoreboard deems lost instead).
  void SendAck(Instant now) { SendSegment(kAck, snd_.nxt, 0, now); }
  void SendSegment(std::uint8_t flags, SeqNum seq, std::uint32_t len, Instant now, bool syn_options = false,
                   IpEcn ecn = IpEcn::kNotEct);
  void SendSyn(std::uint8_t flags, Instant now);
  void SendRst(SeqNum seq, Instant now);
  void Retransmit(Instant now);
  void ScheduleAck(Instant now, bool quick);
  void ArmRetransmit(Instant now);
  void EnterTimeWait(Instant now);
  void EnterClosed(TcpEvent why);
  Instant KeepaliveDue() const;
  std::uint16_t AdvertisedWindowField();
  std::uint32_t TsVal(Instant now) const;
  std::uint32_t SendWindowLimit() const;
  // The payload a segment may carry: the peer's MSS less our per-segment
  // options (timestamps).
  std::uint32_t EffectiveMss() const { return snd_mss_ - (ts_ok_ ? 12u : 0u); }
  // The payload the next data segment may carry: the peer's MSS less the
  // options it will carry now (timestamps and any SACK blocks), so a
  // segment never needs IP fragmentation (RFC 9293 3.7.1).
  std::uint32_t SegmentRoom() const;
  // The SACK blocks our next segment carries: a pending D-SACK, then the
  // assembler's ranges (RFC 2018 4, RFC 2883 4).
  std::uint8_t SackOptions(std::span<SackBlock, TcpOptions::kMaxSackBlocks> out) const;

  TcpConfig config_;
  Endpoints ends_;
  TcpOutcome* out_ = nullptr;  // the current call's (Call)
  State state_;
  std::unique_ptr<CongestionControl> cc_;
  RttEstimator rtt_;
  Assembler ooo_;

  // Send sequence variables (RFC 9293 3.3.1) and the send buffer's marks.
  struct Send {
    SeqNum iss;
    SeqNum una;
    SeqNum nxt;
    std::uint32_t wnd = 0;
    SeqNum wl1, wl2;
    std::uint32_t max_wnd = 0;  // the largest window the peer offered (RFC 5961 5.2)
    SeqNum buf_seq;             // the send buffer's first byte ...
    std::uint32_t queued = 0;   // ... and its length
    bool fin_queued = false;    // the application closed its side
    bool fin_sent = false;
    SeqNum pushed;              // the end of the last segment sent with PSH
    SeqNum fin_seq;             // the FIN's sequence number, once sent
  };
  // Receive sequence variables and the receive buffer's.
  struct Receive {
    SeqNum irs;
    SeqNum nxt;
    SeqNum adv;                 // RCV.NXT + the window last advertised (the right edge never moves left)
    std::uint32_t unread = 0;   // receive buffer bytes committed and not read
    bool fin = false;           // the peer's FIN is in
    bool has_ooo_fin = false;   // a FIN came with out-of-order data ...
    SeqNum ooo_fin;             // ... at this sequence number
  };
  Send snd_;
  Receive rcv_;
  bool closed_by_app_ = false;  // close(), not shutdown: later data is answered with RST

  // Options agreed.
  std::uint16_t snd_mss_ = 536;     // min(peer_mss_, path_mss_): what a segment's data and options may take
  std::uint16_t peer_mss_ = 536;    // the peer's MSS option (RFC 9293 3.7.1's default without it)
  std::uint16_t path_mss_ = 65495;  // the path's MTU less the IP and TCP headers
  // RFC 4821 search (MtuProbing::kOn), begun by a black hole.
  struct MtuSearch {
    std::uint16_t low = 0;              // a segment size known to get through
    std::uint16_t high = 0;             // the largest not known to be lost (low == high: none)
    Instant next = Instant::Never();    // when the next probe may go
    bool out = false;                   // a probe in flight, of [start, end) ...
    SeqNum start, end;
    std::uint16_t size = 0;             // ... at this segment size
  };
  MtuSearch search_;
  WindowScale snd_scale_, rcv_scale_;
  bool ws_ok_ = false, sack_ok_ = false, ts_ok_ = false;
  bool ecn_ok_ = false;          // RFC 3168 6.1.1: agreed in the handshake (or RFC 9768's)
  std::unique_ptr<AccEcnState> accecn_;  // Accurate ECN, when agreed
  bool ece_pending_ = false;     // receiver: ECE on our ACKs until a CWR comes (6.1.3)
  bool cwr_pending_ = false;     // sender: CWR on our next new data segment (6.1.2)
  bool ecn_window_ = false;      // sender: reduced; no second reduction before ...
  SeqNum ecn_recover_;           // ... SND.UNA passes the end of the segment that said CWR
  std::uint32_t ts_recent_ = 0;  // RFC 7323 4.3
  std::int64_t ts_offset_ = 0;

  // Retransmission and recovery.
  Instant rto_at_ = Instant::Never();
  int rto_count_ = 0;  // expiries since the last forward progress
  bool timing_ = false;  // an RTT sample is running (without timestamps)
  SeqNum timed_seq_;
  Instant timed_at_;
  Scoreboard sb_;  // [SND.UNA, SND.NXT) as sent
  std::unique_ptr<LossRecovery> recovery_;  // NewReno until SACK is agreed
  Phase phase_ = Phase::kOpen;
  SeqNum recover_;  // recovery ends when SND.UNA reaches it (RFC 6582 / 6675)
  // F-RTO (RFC 5682).
  bool frto_ = false;            // judging the last timeout
  bool frto_new_ = false;        // ... and sending new data in place of the lost (step 2)
  bool orig_delivered_ = false;  // this ACK delivered a record sent before the timeout, never resent
  // Undo: retransmissions of the latest reduction not yet shown needless.
  bool undo_armed_ = false;
  SeqNum undo_marker_;
  int undo_retrans_ = 0;
  // RFC 7661: rounds, pipeACK and whether the sender is using cwnd.
  SeqNum round_end_;
  std::uint32_t round_acked_ = 0;
  std::uint32_t pipe_ack_ = 0;
  Instant pipe_ack_at_ = Instant::Never();  // when pipe_ack_ was sampled
  Instant limited_at_ = Instant::Never();   // when cwnd last held data back
  Instant nvp_since_ = Instant::Never();
  TcpStats stats_;
  FastOpenInfo fo_;
  // Delivery rate estimation (tcp_rate.cc).
  struct RateState {
    std::uint64_t delivered = 0;     // octets delivered, ever
    Instant delivered_at;            // when that last moved
    Instant first_sent_at;           // the start of the current send interval
    std::uint64_t app_limited = 0;   // delivered mark ending an app-limited stretch; 0: none
    Duration min_rtt;                // the lowest segment RTT seen (zero: none yet)
  };
  RateState rate_;
  // This ACK's sample so far: the newest segment it delivered.
  struct PendingSample {
    bool valid = false;
    std::uint64_t prior_delivered = 0;
    Instant prior_at;
    Duration send_elapsed;
    bool app_limited = false;
    Duration rtt;  // the newest segment's, from its transmit time (zero: retransmitted)
  };
  PendingSample rs_;
  Duration ack_rtt_;  // this ACK's RTT sample (zero: none)
  // Pacing: when the next segment may go, and whether the sender waits for it.
  Instant pace_at_;
  bool pace_wait_ = false;
  // PAWS (RFC 7323 5.5): when TS.Recent was last set.
  Instant ts_recent_at_;
  // A D-SACK (RFC 2883) for the next ACK: a duplicate arrived.
  bool dsack_pending_ = false;
  SackBlock dsack_;

  // ACKs and probes.
  Instant ack_at_ = Instant::Never();  // a delayed ACK is due
  int unacked_segments_ = 0;           // full segments received since our last ACK
  Instant persist_at_ = Instant::Never();  // zero-window probe or SWS override
  bool force_send_ = false;                 // the SWS override is sending
  int persist_backoff_ = 0;
  Instant keepalive_at_ = Instant::Never();
  int keepalive_probes_ = 0;
  Instant last_heard_;
};

}  // namespace ringstack::proto::tcp

#endif  // RINGSTACK_PROTOCOLS_TCP_TCP_CONNECTION_H_
