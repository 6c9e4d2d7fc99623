// Plays a TCP-connection fuzz script (tcp_conn_script.h) and builds its seeds.
#include "tests/fuzz/tcp_conn_script.h"

#include <algorithm>
#include <array>
#include <memory>
#include <utility>

#include "protocols/tcp/tcp_connection.h"
#include "tests/unit/tcp_replay.h"
#include "tests/fuzz/fuzz_common.h"
#include "tests/fuzz/stack_script.h"

namespace ringstack::fuzz {
namespace {

using proto::Duration;
using proto::Instant;
using proto::tcp::SeqNum;
using proto::tcp::TcpConnection;
using proto::tcp::TcpEvent;
using proto::tcp::TcpRepr;

constexpr std::uint32_t kPeerIss = 0x7fff0000u;  // the sequence space wraps soon after
constexpr std::uint16_t kMaxPayload = 1400;

using ConnReader = ScriptReader;

// The owner's side: the send and receive buffers as counts, checked
// against what the connection asks of them.
class Owner : public proto::tcp::TcpReplayer {
 public:
  explicit Owner(std::uint32_t rcv_buf) : rcv_buf_(rcv_buf) {}
  void Transmit(const TcpRepr& h, std::uint32_t offset, std::uint32_t len, proto::IpEcn /*ecn*/) override {
    RS_FUZZ_CHECK(!closed_);
    RS_FUZZ_CHECK(static_cast<std::uint64_t>(offset) + len <= queued_ - released_);
    const SeqNum end = h.seq + len + (h.syn() ? 1u : 0u) + (h.fin() ? 1u : 0u);
    if (!seen_ || end.After(highest_)) highest_ = end;
    seen_ = true;
    if (h.options.timestamps) ts_recent_ = h.options.timestamps->tsval;
  }
  void Place(std::uint32_t offset, proto::Bytes data) override {
    RS_FUZZ_CHECK(!closed_);
    RS_FUZZ_CHECK(committed_ - read_ + offset + data.size() <= rcv_buf_);
    placed_end_ = std::max<std::uint64_t>(placed_end_, committed_ + offset + data.size());
  }
  void Commit(std::uint32_t n) override {
    RS_FUZZ_CHECK(committed_ + n <= placed_end_);
    committed_ += n;
  }
  void Release(std::uint32_t n) override {
    RS_FUZZ_CHECK(released_ + n <= queued_);
    released_ += n;
  }
  void Event(TcpEvent e) override {
    RS_FUZZ_CHECK(!closed_);
    if (e == TcpEvent::kClosed) closed_ = true;
  }

  void Queue(std::uint32_t n) { queued_ += n; }
  std::uint32_t Read(std::uint32_t n) {
    const auto take = static_cast<std::uint32_t>(std::min<std::uint64_t>(n, committed_ - read_));
    read_ += take;
    return take;
  }
  bool closed() const { return closed_; }
  SeqNum highest() const { return highest_; }
  std::uint32_t ts_recent() const { return ts_recent_; }

 private:
  std::uint32_t rcv_buf_;
  std::uint64_t queued_ = 0, released_ = 0;
  std::uint64_t committed_ = 0, read_ = 0, placed_end_ = 0;
  bool closed_ = false;
  bool seen_ = false;
  SeqNum highest_;
  std::uint32_t ts_recent_ = 0;
};

class ConnPlayer {
 public:
  explicit ConnPlayer(std::uint8_t cfg);
  void Play(ConnReader& in);

 private:
  bool Record(ConnReader& in);
  bool Segment(ConnReader& in);
  void Advance(Duration d);
  void Check() const { RS_FUZZ_CHECK(!conn_->snd_una().After(conn_->snd_nxt())); }
  std::uint32_t TsVal() const { return static_cast<std::uint32_t>(now_.nanos() / 1000000); }

  proto::tcp::TcpConfig config_;
  proto::tcp::ChallengeAckLimiter limiter_;
  std::unique_ptr<Owner> owner_;
  std::unique_ptr<TcpConnection> conn_;
  Instant now_ = Instant::FromNanos(5'000'000'000);
  SeqNum peer_nxt_ = SeqNum(kPeerIss);
  std::array<std::byte, kMaxPayload> payload_{};
};

proto::tcp::Endpoints Ends() {
  return {proto::IpAddress(proto::Ipv4Address(0xc0000202)), 80, proto::IpAddress(proto::Ipv4Address(0xc0000201)),
          40000};
}

ConnPlayer::ConnPlayer(std::uint8_t cfg) {
  for (std::size_t i = 0; i < payload_.size(); ++i) payload_[i] = static_cast<std::byte>(i);
  const bool sack = (cfg & kConnSack) != 0, newreno = (cfg & kConnNewRenoRecovery) != 0;
  config_.recovery = sack && !newreno ? proto::tcp::Recovery::kSack
                     : newreno && !sack ? proto::tcp::Recovery::kNewReno
                                        : proto::tcp::Recovery::kRack;
  config_.congestion = (cfg & kConnNewRenoCc) != 0 ? "newreno" : "cubic";
  config_.timestamps = (cfg & kConnNoTimestamps) == 0;
  config_.nodelay = (cfg & kConnNoDelay) != 0;
  config_.rcv_buf = (cfg & kConnSmallBuffer) != 0 ? 4096 : 65536;
  config_.keepalive = (cfg & kConnKeepalive) != 0;
  config_.keepalive_idle = Duration::Seconds(10);
  config_.keepalive_interval = Duration::Seconds(2);
  config_.keepalive_count = 3;
  config_.challenge_limiter = &limiter_;
  config_.ecn = proto::tcp::EcnMode::kAccEcn;
  owner_ = std::make_unique<Owner>(config_.rcv_buf);
  if ((cfg & kConnPassive) != 0) {
    TcpRepr syn;
    syn.src_port = 40000;
    syn.dst_port = 80;
    syn.flags = proto::tcp::kSyn;
    syn.set_ace(0b111);
    syn.seq = peer_nxt_;
    syn.window = 65535;
    syn.options.mss = 1460;
    syn.options.window_scale = 7;
    syn.options.sack_permitted = true;
    syn.options.timestamps = proto::tcp::Timestamps{TsVal(), 0};
    conn_ = TcpConnection::Accept(config_, Ends(), syn, SeqNum(1000), now_, owner_->out);
    owner_->Absorb();
  } else {
    conn_ = TcpConnection::Connect(config_, Ends(), SeqNum(1000), now_, owner_->out);
    owner_->Absorb();
    peer_nxt_ = peer_nxt_ - 1;  // the script's SYN-ACK takes kPeerIss - 1 .. kPeerIss
  }
  if (!conn_) return;
  if ((cfg & kConnPassive) != 0) peer_nxt_ = peer_nxt_ + 1;
}

void ConnPlayer::Play(ConnReader& in) {
  if (!conn_) return;
  while (!owner_->closed() && Record(in)) Check();
}

bool ConnPlayer::Record(ConnReader& in) {
  std::uint8_t op, which;
  std::uint16_t n;
  if (!in.U8(op)) return false;
  switch (op % kConnOpCount) {
    case kConnSegment:
      return Segment(in);
    case kConnAdvance:
      if (!in.U16(n)) return false;
      Advance(Duration::Millis(n));
      return true;
    case kConnSend:
      if (!in.U16(n)) return false;
      owner_->Queue(n);
      conn_->OnAppSend(n, now_, owner_->out);
      owner_->Absorb();
      return true;
    case kConnRead:
      if (!in.U16(n)) return false;
      conn_->OnAppRead(owner_->Read(n), now_, owner_->out);
      owner_->Absorb();
      return true;
    case kConnShutdown:
      conn_->Shutdown(now_, owner_->out);
      owner_->Absorb();
      return true;
    case kConnClose:
      conn_->Close(now_, owner_->out);
      owner_->Absorb();
      return true;
    case kConnAbort:
      conn_->Abort(now_, owner_->out);
      owner_->Absorb();
      return true;
    default:
      if (!in.U8(which)) return false;
      static constexpr const char* kNames[] = {"newreno", "cubic", "bbr"};  // bbr: rate samples and pacing
      RS_FUZZ_CHECK(conn_->SetCongestion(kNames[which % 3]));
      return true;
  }
}

bool ConnPlayer::Segment(ConnReader& in) {
  std::uint8_t flags, opts;
  std::uint16_t seq, ack, window, len;
  if (!in.U8(flags) || !in.U16(seq) || !in.U16(ack) || !in.U16(window) || !in.U8(opts) || !in.U16(len)) {
    return false;
  }
  TcpRepr t;
  t.src_port = 40000;
  t.dst_port = 80;
  t.flags = flags;
  t.seq = peer_nxt_ + static_cast<std::uint32_t>(static_cast<std::int16_t>(seq));
  t.ack = owner_->highest() + static_cast<std::uint32_t>(static_cast<std::int16_t>(ack));
  t.window = window;
  auto& o = t.options;
  if ((opts & kOptTimestamps) != 0) o.timestamps = proto::tcp::Timestamps{TsVal(), owner_->ts_recent()};
  if ((opts & kOptOldTimestamp) != 0) o.timestamps = proto::tcp::Timestamps{TsVal() - 0x40000000u, 0};
  if ((opts & kOptZeroEcho) != 0 && o.timestamps) o.timestamps->tsecr = 0;
  if ((opts & kOptMss) != 0) o.mss = 1460;
  if ((opts & kOptWindowScale) != 0) o.window_scale = 7;
  if ((opts & kOptSackPermitted) != 0) o.sack_permitted = true;
  const int blocks = ((opts & kOptSack1) != 0 ? 1 : 0) + ((opts & kOptSack2) != 0 ? 2 : 0);
  for (int b = 0; b < blocks; ++b) {
    std::uint16_t below, size;
    if (!in.U16(below) || !in.U16(size)) return false;
    const SeqNum left = owner_->highest() - below;
    o.sack[o.sack_count++] = proto::tcp::SackBlock{left, left + size};
  }
  if ((len & 0x1000) != 0) {
    o.accecn = proto::tcp::AccEcnOption{.order1 = false, .fields = 3, .field = {(3u * window + 1) & 0xffffff, window, 1}};
  }
  t.ae = (len & 0x2000) != 0;
  const std::size_t payload = std::min<std::size_t>(len & 0x0fff, kMaxPayload);
  t.payload = proto::Bytes(payload_.data(), payload);
  conn_->OnSegment(t, now_, owner_->out, static_cast<proto::IpEcn>(len >> 14));
  owner_->Absorb();
  if (static_cast<std::int16_t>(seq) == 0 && !t.rst()) peer_nxt_ = t.seq + t.seg_len();
  return true;
}

void ConnPlayer::Advance(Duration d) {
  const Instant end = now_ + d;
  for (int fired = 0; fired < 10000 && !owner_->closed(); ++fired) {
    const Instant due = conn_->NextDeadline();
    if (due > end) break;
    now_ = std::max(now_, due);
    conn_->OnTimer(now_, owner_->out);
    owner_->Absorb();
  }
  now_ = end;
}

// Appends records for seeds.
class ConnWriter {
 public:
  explicit ConnWriter(std::uint8_t cfg) { b_.push_back(cfg); }
  ConnWriter& Seg(std::uint8_t flags, int seq, int ack, std::uint16_t window, std::uint8_t opts, std::uint16_t len,
                  std::vector<std::pair<std::uint16_t, std::uint16_t>> sack = {}) {
    if (sack.size() == 1) opts |= kOptSack1;
    if (sack.size() == 2) opts |= kOptSack2;
    if (sack.size() == 3) opts |= kOptSack1 | kOptSack2;
    U8(kConnSegment);
    U8(flags);
    U16(static_cast<std::uint16_t>(static_cast<std::int16_t>(seq)));
    U16(static_cast<std::uint16_t>(static_cast<std::int16_t>(ack)));
    U16(window);
    U8(opts);
    U16(len);
    for (const auto& [below, size] : sack) {
      U16(below);
      U16(size);
    }
    return *this;
  }
  ConnWriter& Op(ConnOp op, std::uint16_t n) {
    U8(op);
    U16(n);
    return *this;
  }
  ConnWriter& Op(ConnOp op) {
    U8(op);
    return *this;
  }
  ConnWriter& Congestion(std::uint8_t which) {
    U8(kConnCongestion);
    U8(which);
    return *this;
  }
  std::vector<std::uint8_t> bytes() const { return b_; }

 private:
  void U8(std::uint8_t v) { b_.push_back(v); }
  void U16(std::uint16_t v) {
    U8(static_cast<std::uint8_t>(v >> 8));
    U8(static_cast<std::uint8_t>(v));
  }
  std::vector<std::uint8_t> b_;
};

constexpr std::uint8_t kA = 0x10, kF = 0x01, kR = 0x04, kS = 0x02, kP = 0x08, kE = 0x40, kW = 0x80;

// Established: the peer's SYN-ACK to our SYN (with options unless `bare`),
// or its ACK of our SYN-ACK (kConnPassive).
ConnWriter Opened(std::uint8_t cfg, bool bare = false) {
  ConnWriter w(cfg);
  if ((cfg & kConnPassive) != 0) return std::move(w.Seg(kA, 0, 0, 65535, kOptTimestamps, 0));
  const std::uint8_t opts = bare ? 0 : (kOptTimestamps | kOptMss | kOptWindowScale | kOptSackPermitted);
  w.Seg(kS | kA, 0, 0, 65535, opts, 0);
  return w;
}

}  // namespace

void PlayConnScript(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return;
  ConnReader in(data + 1, size - 1);
  ConnPlayer player(data[0]);
  player.Play(in);
}

std::vector<std::vector<std::uint8_t>> TcpConnSeeds() {
  std::vector<std::vector<std::uint8_t>> out;
  const int mss = 1448;  // the SYN-ACK's MSS 1460 less timestamps
  // Transfers with loss under each strategy: the second segment lost, three
  // SACKed duplicates, then everything acknowledged.
  for (int cfg : {0, int{kConnSack}, kConnNewRenoRecovery | kConnNewRenoCc, int{kConnNoTimestamps}}) {
    ConnWriter w = Opened(static_cast<std::uint8_t>(cfg));
    w.Op(kConnSend, 20000);
    for (int k = 1; k <= 3; ++k) {
      w.Seg(kA, 0, -9 * mss, 65535, kOptTimestamps, 0,
            {{static_cast<std::uint16_t>(8 * mss), static_cast<std::uint16_t>(k * mss)}});
    }
    w.Op(kConnAdvance, 20).Seg(kA, 0, 0, 65535, kOptTimestamps, 0).Op(kConnAdvance, 500);
    w.Seg(kA, 0, 0, 65535, kOptTimestamps, 0).Op(kConnClose).Seg(kF | kA, 0, 0, 65535, kOptTimestamps, 0);
    w.Op(kConnAdvance, 60000);
    out.push_back(w.bytes());
  }
  // Passive: data in, out of order and duplicated, the window closing
  // (small buffer, nobody reading), probes, reading, the peer's FIN.
  out.push_back(ConnWriter(kConnPassive | kConnSmallBuffer)
                    .Seg(kA, 0, 0, 65535, kOptTimestamps, 0)
                    .Seg(kA, 1000, 0, 65535, kOptTimestamps, 1000)
                    .Seg(kA, 0, 0, 65535, kOptTimestamps, 1000)
                    .Seg(kA, 0, 0, 65535, kOptTimestamps, 1400)
                    .Seg(kA, 0, 0, 65535, kOptTimestamps, 1400)
                    .Seg(kA, -1000, 0, 65535, kOptTimestamps, 500)
                    .Op(kConnAdvance, 300)
                    .Seg(kA, 0, 0, 65535, kOptTimestamps, 1)
                    .Op(kConnRead, 4000)
                    .Seg(kF | kA, 0, 0, 65535, kOptTimestamps, 0)
                    .Op(kConnClose)
                    .Seg(kA, 0, 0, 65535, kOptTimestamps, 0)
                    .bytes());
  // Timeouts with nothing acknowledged; the peer's zero window and probes;
  // keepalive on an idle connection; resets and challenges.
  out.push_back(Opened(kConnNoDelay).Op(kConnSend, 3000).Op(kConnAdvance, 1500).Op(kConnAdvance, 4000)
                    .Op(kConnAdvance, 30000).bytes());
  out.push_back(Opened(0).Seg(kA, 0, 0, 0, kOptTimestamps, 0).Op(kConnSend, 3000).Op(kConnAdvance, 2000)
                    .Op(kConnAdvance, 4000).Seg(kA, 0, 0, 1000, kOptTimestamps, 0).bytes());
  out.push_back(Opened(kConnKeepalive).Op(kConnAdvance, 11000).Op(kConnAdvance, 3000).Op(kConnAdvance, 10000)
                    .bytes());
  out.push_back(Opened(0)
                    .Seg(kR, 100, 0, 0, 0, 0)
                    .Seg(kS, 0, 0, 65535, kOptTimestamps, 0)
                    .Seg(kA, 0, 0, 65535, kOptOldTimestamp, 100)
                    .Seg(kA, 0, 5000, 65535, kOptTimestamps, 0)
                    .Seg(0, 0, 0, 65535, kOptTimestamps, 10)
                    .Seg(kR, 0, 0, 0, 0, 0)
                    .bytes());
  // Closes: ours first (FIN-WAIT-1/2, TIME-WAIT), both at once (CLOSING).
  out.push_back(Opened(kConnPassive).Op(kConnShutdown).Seg(kA, 0, 0, 65535, kOptTimestamps, 0)
                    .Seg(kF | kA, 0, 0, 65535, kOptTimestamps, 0).Op(kConnAdvance, 60000).bytes());
  out.push_back(Opened(0).Op(kConnShutdown).Seg(kF | kA, 0, -1, 65535, kOptTimestamps, 0)
                    .Seg(kA, 0, 0, 65535, kOptTimestamps, 0).Op(kConnAdvance, 60000).bytes());
  // A SYN that is never answered; an RST to our SYN.
  out.push_back(ConnWriter(0).Op(kConnAdvance, 60000).Op(kConnAdvance, 60000).bytes());
  out.push_back(ConnWriter(0).Seg(kR | kA, 0, 0, 0, 0, 0).bytes());
  // No options at all (NewReno's duplicate ACKs), and a switch of algorithm.
  ConnWriter bare = Opened(kConnNewRenoRecovery, true);
  bare.Op(kConnSend, 10000);
  for (int k = 0; k < 4; ++k) bare.Seg(kA, 0, -8 * mss, 65535, 0, 0);
  bare.Op(kConnCongestion).Seg(kA, 0, 0, 65535, 0, 0);
  out.push_back(bare.bytes());
  // BBR (rate samples, pacing deadlines) through a loss and its recovery.
  ConnWriter bbr = Opened(kConnSack | kConnNewRenoRecovery);
  bbr.Congestion(2).Op(kConnSend, 30000).Op(kConnAdvance, 2);
  for (int k = 1; k <= 4; ++k) {
    bbr.Seg(kA, 0, -12 * mss, 65535, kOptTimestamps, 0,
            {{static_cast<std::uint16_t>(11 * mss), static_cast<std::uint16_t>(k * mss)}});
    bbr.Op(kConnAdvance, 3);
  }
  bbr.Seg(kA, 0, 0, 65535, kOptTimestamps, 0).Op(kConnAdvance, 50).Seg(kA, 0, 0, 65535, kOptTimestamps, 0);
  out.push_back(bbr.bytes());
  // Accurate ECN: the SYN-ACK agrees (ACE 010); data both ways, some of
  // the peer's marked CE; ACKs whose ACE and option report marks of ours.
  constexpr std::uint16_t kAe = 0x2000, kAccOpt = 0x1000, kCe = 0xc000, kEct0 = 0x8000;
  ConnWriter acc(kConnSack);
  acc.Seg(kS | kA | kW, 0, 0, 65535, kOptTimestamps | kOptMss | kOptWindowScale | kOptSackPermitted, 0);
  acc.Op(kConnSend, 12000);
  acc.Seg(kA | kP | kE, 0, -8 * mss, 65535, kOptTimestamps, kEct0 | kAe | 500);  // ACE 5: no marks yet
  acc.Seg(kA | kP | kE, 0, -8 * mss, 65535, kOptTimestamps, kCe | kAe | 500);
  acc.Seg(kA | kW, 0, -6 * mss, 600, kOptTimestamps, kAccOpt | kAe);             // ACE 6: one mark
  acc.Seg(kA | kE, 0, -2 * mss, 900, kOptTimestamps, kAccOpt | kAe);             // ACE 5: seven more (a wrap)
  acc.Seg(kA | kW | kE, 0, 0, 1200, kOptTimestamps, kAccOpt | kAe | kCe | 100);
  acc.Op(kConnAdvance, 200).Op(kConnClose).Seg(kF | kA, 0, 0, 65535, kOptTimestamps, kAe);
  acc.Op(kConnAdvance, 60000);
  out.push_back(acc.bytes());
  return out;
}

}  // namespace ringstack::fuzz
