// Two TcpConnections joined by an in-memory wire with a virtual clock:
// whole conversations (handshake, transfer both ways, close, TIME-WAIT)
// through real segment bytes (EmitHeader then Parse), under seeded loss,
// duplication and reordering; every transfer must arrive byte-exact. Plus
// the behaviours the state tables do not show: option agreement, SYN
// retransmission and ETIMEDOUT, delayed ACKs, SACK blocks on duplicate ACKs,
// fast retransmit, zero-window probes, keepalive, close with unread data.
// SEED=N starts the seeded test at N; TRACE=1 prints every segment delivered.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "protocols/tcp/tcp_connection.h"
#include "tests/unit/tcp_replay.h"

namespace ringstack::proto::tcp {
namespace {

const Ipv4Address kA(0xc0000201), kB(0xc0000202);
const Instant kT0 = Instant::FromNanos(10'000'000'000);

struct Wire;

// One side: its connection, its application's buffers, and the replay of
// its outcomes that turns the segments it sends into bytes on the wire.
struct Side : TcpReplayer {
  Wire* wire = nullptr;
  bool is_a = false;
  std::unique_ptr<TcpConnection> conn;
  std::string send_buf;   // from SND.UNA's first data byte
  std::string to_send;    // what the application still has to write
  std::string received;   // read by the application
  std::string rx;         // the receive buffer: [0, committed) in order, then placed bytes
  std::uint32_t committed = 0;
  std::uint32_t snd_cap = 64 * 1024;
  bool read_eagerly = true;
  std::vector<TcpEvent> events;
  std::vector<TcpRepr> sent_headers;

  void Transmit(const TcpRepr& h, std::uint32_t offset, std::uint32_t len, IpEcn ecn) override;
  void Place(std::uint32_t offset, Bytes data) override {
    const std::size_t at = committed + offset;
    if (rx.size() < at + data.size()) rx.resize(at + data.size());
    std::memcpy(rx.data() + at, data.data(), data.size());
  }
  void Commit(std::uint32_t n) override { committed += n; }
  void Release(std::uint32_t n) override { send_buf.erase(0, n); }
  void Event(TcpEvent e) override { events.push_back(e); }
  bool Saw(TcpEvent e) const { return std::find(events.begin(), events.end(), e) != events.end(); }

  // The application: write what fits, read what is in order.
  void App(Instant now) {
    if (!conn) return;
    if (!to_send.empty() && conn->synchronized()) {
      const std::size_t n = std::min<std::size_t>(to_send.size(), snd_cap - send_buf.size());
      if (n != 0) {
        send_buf += to_send.substr(0, n);
        to_send.erase(0, n);
        conn->OnAppSend(static_cast<std::uint32_t>(n), now, out);
        Absorb();
      }
    }
    if (read_eagerly && committed != 0) {
      received += rx.substr(0, committed);
      rx.erase(0, committed);
      const std::uint32_t n = committed;
      committed = 0;
      conn->OnAppRead(n, now, out);
      Absorb();
    }
  }
};

struct Wire {
  struct InFlight {
    Instant at;
    bool to_a;
    std::vector<std::byte> bytes;
  };
  Side a, b;
  Instant now = kT0;
  Duration delay = Duration::Millis(5);
  double loss = 0, duplicate = 0, reorder = 0, corrupt = 0;
  std::uint64_t corrupted = 0, unreadable = 0;
  std::mt19937_64 rng{1};
  std::deque<InFlight> queue;
  std::uint64_t segments = 0;

  Wire() {
    a.wire = this;
    a.is_a = true;
    b.wire = this;
  }
  double Uniform() { return std::uniform_real_distribution<double>(0, 1)(rng); }

  void Send(bool from_a, std::vector<std::byte> bytes) {
    ++segments;
    if (Uniform() < loss) return;
    Instant at = now + delay;
    if (Uniform() < reorder) at = at + Duration::Millis(3);  // overtaken by the next ones
    const bool bad = Uniform() < corrupt && !bytes.empty();
    if (bad) bytes[rng() % bytes.size()] ^= std::byte{0x10};  // the checksum must catch it
    queue.push_back({at, !from_a, bytes});
    corrupted += bad;
    if (Uniform() < duplicate) {
      queue.push_back({at + Duration::Millis(1), !from_a, bytes});
      corrupted += bad;
    }
  }

  void Deliver(const InFlight& f) {
    Side& to = f.to_a ? a : b;
    const auto seg = TcpRepr::Parse(f.bytes, f.to_a ? kB : kA, f.to_a ? kA : kB);
    if (!seg.ok()) {
      ++unreadable;  // only corruption makes a segment unreadable
      EXPECT_LE(unreadable, corrupted);
      return;
    }
    if (to.conn) {
      to.conn->OnSegment(*seg, now, to.out);
      to.Absorb();
    }
    if (getenv("TRACE") && to.conn) fprintf(stderr, "%lld %s %s seq=%u ack=%u len=%zu win=%u -> %s rcv_nxt=%u rcv_wnd=%u snd_una=%u snd_nxt=%u\n", (long long)((now - kT0).nanos()/1000000), f.to_a ? "B>A" : "A>B", seg->FlagString().c_str(), seg->seq.value(), seg->ack.value(), seg->payload.size(), seg->window, std::string(to.conn->StateName()).c_str(), to.conn->rcv_nxt().value(), to.conn->rcv_wnd(), to.conn->snd_una().value(), to.conn->snd_nxt().value());
  }

  // Runs until `done` or `limit` of virtual time.
  bool Run(const std::function<bool()>& done, Duration limit) {
    const Instant end = now + limit;
    while (now < end) {
      a.App(now);
      b.App(now);
      if (done()) return true;
      // The next event: a segment's arrival or a connection's deadline.
      Instant next = end;
      for (const auto& f : queue) next = std::min(next, f.at);
      for (Side* s : {&a, &b}) {
        if (s->conn) next = std::min(next, s->conn->NextDeadline());
      }
      now = std::max(now, next);
      for (std::size_t i = 0; i < queue.size();) {
        if (queue[i].at <= now) {
          const InFlight f = queue[i];
          queue.erase(queue.begin() + static_cast<long>(i));
          Deliver(f);
        } else {
          ++i;
        }
      }
      for (Side* s : {&a, &b}) {
        if (s->conn && s->conn->NextDeadline() <= now) {
          s->conn->OnTimer(now, s->out);
          s->Absorb();
        }
      }
    }
    return done();
  }
};

void Side::Transmit(const TcpRepr& h, std::uint32_t offset, std::uint32_t len, IpEcn /*ecn*/) {
  sent_headers.push_back(h);
  std::vector<std::byte> bytes(h.header_len() + len);
  if (len != 0) {
    EXPECT_LE(offset + len, send_buf.size()) << "asked for bytes never queued";
    std::memcpy(bytes.data() + h.header_len(), send_buf.data() + offset, std::min<std::size_t>(len, send_buf.size() - offset));
  }
  h.EmitHeader(bytes, is_a ? kA : kB, is_a ? kB : kA);
  wire->Send(is_a, std::move(bytes));
}

Endpoints EndsOf(bool a) {
  return a ? Endpoints{IpAddress(kA), 40000, IpAddress(kB), 7} : Endpoints{IpAddress(kB), 7, IpAddress(kA), 40000};
}

// A opens to B (B's side made from A's SYN as a listener would).
void Open(Wire& w, const TcpConfig& ca, const TcpConfig& cb) {
  // The first SYN always gets through (the listener side is made from it).
  const double loss = w.loss, duplicate = w.duplicate, corrupt = w.corrupt;
  w.loss = w.duplicate = w.corrupt = 0;
  w.a.conn = TcpConnection::Connect(ca, EndsOf(true), SeqNum(0xfffff000u), w.now, w.a.out);  // ISN near the wrap
  w.a.Absorb();
  w.loss = loss;
  w.duplicate = duplicate;
  w.corrupt = corrupt;
  ASSERT_FALSE(w.queue.empty());
  const auto syn = TcpRepr::Parse(w.queue.front().bytes, kA, kB);
  ASSERT_TRUE(syn.ok());
  w.queue.pop_front();
  w.now = w.now + w.delay;
  w.b.conn = TcpConnection::Accept(cb, EndsOf(false), *syn, SeqNum(123456789), w.now, w.b.out);
  w.b.Absorb();
}

std::string Pattern(std::size_t n, unsigned seed) {
  std::string s(n, '\0');
  std::mt19937 r(seed);
  for (char& c : s) c = static_cast<char>(r());
  return s;
}

std::string Events(const Side& s) {
  std::string out;
  for (TcpEvent e : s.events) out += std::to_string(static_cast<int>(e)) + " ";
  return out;
}

// A whole conversation: A sends `a_bytes`, B sends `b_bytes`, both close;
// both sides end CLOSED (A through TIME-WAIT) with every byte delivered.
void Converse(Wire& w, std::size_t a_bytes, std::size_t b_bytes, const TcpConfig& config = {}) {
  Open(w, config, config);
  w.a.to_send = Pattern(a_bytes, 1);
  w.b.to_send = Pattern(b_bytes, 2);
  const std::string want_at_b = w.a.to_send, want_at_a = w.b.to_send;
  bool a_closed = false, b_closed = false;
  ASSERT_TRUE(w.Run(
      [&] {
        // Each side shuts its sending half once it has written everything
        // and had it acknowledged, and reads on until the peer's FIN.
        for (Side* s : {&w.a, &w.b}) {
          if (s->conn && s->conn->synchronized() && s->to_send.empty() && s->send_buf.empty()) {
            bool& closed = s == &w.a ? a_closed : b_closed;
            if (!closed) {
              closed = true;
              s->conn->Shutdown(w.now, s->out);
              s->Absorb();
            }
          }
        }
        return w.a.Saw(TcpEvent::kClosed) && w.b.Saw(TcpEvent::kClosed);
      },
      Duration::Seconds(3600)))
      << "A " << w.a.conn->StateName() << ", B " << w.b.conn->StateName() << "; A got " << w.a.received.size()
      << "/" << want_at_a.size() << ", B got " << w.b.received.size() << "/" << want_at_b.size() << "; A events " << Events(w.a) << ", B events " << Events(w.b);
  EXPECT_TRUE(w.b.received == want_at_b) << "A -> B differs (" << w.b.received.size() << " bytes)";
  EXPECT_TRUE(w.a.received == want_at_a) << "B -> A differs (" << w.a.received.size() << " bytes)";
  EXPECT_TRUE(w.a.Saw(TcpEvent::kPeerClosed));
  EXPECT_TRUE(w.b.Saw(TcpEvent::kPeerClosed));
  EXPECT_FALSE(w.a.Saw(TcpEvent::kReset) || w.b.Saw(TcpEvent::kReset));
}

TEST(TcpFlow, CleanTransfersBothWays) {
  for (const std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{1000}, std::size_t{100000}}) {
    Wire w;
    Converse(w, n, n / 2);
    if (HasFailure()) return;
  }
}

TEST(TcpFlow, TransfersUnderLossDuplicationAndReordering) {
  for (unsigned seed = getenv("SEED") ? atoi(getenv("SEED")) : 1; seed <= 500; ++seed) {
    Wire w;
    w.rng.seed(seed);
    w.loss = 0.05 * (seed % 3);   // 0, 5%, 10%
    w.duplicate = 0.02;
    w.reorder = 0.05;
    w.corrupt = 0.01;
    Converse(w, 60000 + seed * 977, 20000);
    if (HasFailure()) {
      ADD_FAILURE() << "seed " << seed;
      return;
    }
  }
}

TEST(TcpFlow, AMegabyteEachWayAtTenPercentLoss) {
  for (unsigned seed : {7u, 8u}) {
    Wire w;
    w.rng.seed(seed);
    w.loss = 0.10;
    w.reorder = 0.05;
    Converse(w, 1 << 20, 1 << 20);
    if (HasFailure()) {
      ADD_FAILURE() << "seed " << seed;
      return;
    }
    EXPECT_GT(w.a.conn->retransmits() + w.b.conn->retransmits(), 0u);
  }
}

TEST(TcpFlow, OptionsAgreedInTheHandshake) {
  Wire w;
  TcpConfig c;
  c.rcv_buf = 1 << 20;  // needs a window scale of 5
  Open(w, c, c);
  ASSERT_TRUE(w.Run([&] { return w.a.Saw(TcpEvent::kEstablished) && w.b.Saw(TcpEvent::kEstablished); },
                    Duration::Seconds(5)));
  for (Side* s : {&w.a, &w.b}) {
    EXPECT_TRUE(s->conn->sack_ok());
    EXPECT_TRUE(s->conn->ts_ok());
    EXPECT_EQ(s->conn->snd_scale().shift(), 5);
    EXPECT_EQ(s->conn->rcv_scale().shift(), 5);
    EXPECT_EQ(s->conn->snd_mss(), 1460);
  }
  // Without the peer's window scale, neither side scales (RFC 7323 1.3).
  Wire w2;
  TcpConfig no_ws = c;
  no_ws.window_scale = false;
  Open(w2, c, no_ws);
  ASSERT_TRUE(w2.Run([&] { return w2.a.Saw(TcpEvent::kEstablished); }, Duration::Seconds(5)));
  EXPECT_EQ(w2.a.conn->snd_scale().shift(), 0);
  EXPECT_EQ(w2.a.conn->rcv_scale().shift(), 0);
}

TEST(TcpFlow, SynRetransmittedWithBackoffThenTimedOut) {
  Wire w;
  w.loss = 1.0;  // nothing gets through
  TcpConfig c;
  c.syn_retries = 3;
  w.a.conn = TcpConnection::Connect(c, EndsOf(true), SeqNum(1), w.now, w.a.out);
  w.a.Absorb();
  std::vector<Instant> sent_at{w.now};
  std::size_t seen = 1;
  ASSERT_TRUE(w.Run(
      [&] {
        if (w.a.sent_headers.size() > seen) {
          seen = w.a.sent_headers.size();
          sent_at.push_back(w.now);
        }
        return w.a.Saw(TcpEvent::kTimedOut);
      },
      Duration::Seconds(60)));
  ASSERT_EQ(sent_at.size(), 4u);  // the SYN and three retransmissions
  EXPECT_EQ(sent_at[1] - sent_at[0], Duration::Seconds(1));  // RFC 6298 2.1: 1 s, then doubled each time
  EXPECT_EQ(sent_at[2] - sent_at[1], Duration::Seconds(2));
  EXPECT_EQ(sent_at[3] - sent_at[2], Duration::Seconds(4));
  EXPECT_TRUE(w.a.Saw(TcpEvent::kClosed));
  for (const TcpRepr& h : w.a.sent_headers) EXPECT_EQ(h.FlagString(), "S");
}

}  // namespace
}  // namespace ringstack::proto::tcp
