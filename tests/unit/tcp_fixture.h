// A connection under test and the recorder of what it does, shared by
// the TCP state-table tests and the recovery tests.
#ifndef RINGSTACK_TESTS_UNIT_TCP_FIXTURE_H_
#define RINGSTACK_TESTS_UNIT_TCP_FIXTURE_H_

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "protocols/tcp/tcp_connection.h"
#include "tests/unit/tcp_replay.h"

namespace ringstack::proto::tcp::fixture {

constexpr std::uint32_t kIss = 1000;   // ours
constexpr std::uint32_t kIrs = 50000;  // the peer's
inline const Instant kT0 = Instant::FromNanos(10'000'000'000);

// Records what the connection asks; keeps the receive buffer as a string.
struct Recorder : TcpReplayer {
  struct Sent {
    TcpRepr h;
    std::uint32_t offset;
    std::uint32_t len;
    IpEcn ecn;
  };
  std::vector<Sent> sent;
  std::vector<TcpEvent> events;
  std::string rx;  // [0, committed) readable; past it, placed out of order
  std::uint32_t committed = 0;
  std::uint32_t released = 0;

  void Transmit(const TcpRepr& h, std::uint32_t offset, std::uint32_t len, IpEcn ecn) override {
    sent.push_back({h, offset, len, ecn});
  }
  void Place(std::uint32_t offset, Bytes data) override {
    const std::size_t at = committed + offset;
    if (rx.size() < at + data.size()) rx.resize(at + data.size(), '?');
    std::memcpy(rx.data() + at, data.data(), data.size());
  }
  void Commit(std::uint32_t n) override { committed += n; }
  void Release(std::uint32_t n) override { released += n; }
  void Event(TcpEvent e) override { events.push_back(e); }

  // The replies since the last Take, as tcpdump-style flag strings.
  std::string Take() {
    std::string s;
    for (const Sent& x : sent) s += (s.empty() ? "" : " ") + x.h.FlagString();
    sent.clear();
    return s.empty() ? "none" : s;
  }
  bool Saw(TcpEvent e) const { return std::find(events.begin(), events.end(), e) != events.end(); }
};

inline TcpConfig Config() {
  TcpConfig c;
  c.timestamps = false;  // the tables look at flags and numbers; options have tests of their own
  c.rcv_buf = 65535;
  return c;
}

// The ECN tables' connection: `mode`, no Nagle, NewReno without HyStart
// (so reductions are halvings the rows can name).
inline TcpConfig EcnConfig(EcnMode mode) {
  TcpConfig c = Config();
  c.ecn = mode;
  c.nodelay = true;
  c.congestion = "newreno";
  c.hystart = false;
  return c;
}

inline Endpoints Ends() {
  return Endpoints{IpAddress(Ipv4Address(0xc0000202)), 7, IpAddress(Ipv4Address(0xc0000201)), 40000};
}

// A segment from the peer.
inline TcpRepr Seg(std::uint8_t flags, std::uint32_t seq, std::uint32_t ack = 0, std::uint16_t window = 65535) {
  TcpRepr s;
  s.src_port = 40000;
  s.dst_port = 7;
  s.flags = flags;
  s.seq = SeqNum(seq);
  s.ack = SeqNum(ack);
  s.window = window;
  return s;
}

struct Fixture {
  Recorder rec;
  std::unique_ptr<TcpConnection> c;
  Instant now = kT0;
  std::string payload_store;  // keeps data segments' bytes alive

  std::string State() const { return std::string(c->StateName()); }
  // The peer's next sequence number and what it acknowledges of ours.
  std::uint32_t PeerSeq() const { return c->rcv_nxt().value(); }
  std::uint32_t OurNxt() const { return c->snd_nxt().value(); }
  // Calls into the connection, each recorded.
  void In(const TcpRepr& s, IpEcn ecn = IpEcn::kNotEct) {
    c->OnSegment(s, now, rec.out, ecn);
    rec.Absorb();
  }
  void Timer() {
    c->OnTimer(now, rec.out);
    rec.Absorb();
  }
  void AppSend(std::uint32_t n) {
    c->OnAppSend(n, now, rec.out);
    rec.Absorb();
  }
  void AppRead(std::uint32_t n) {
    c->OnAppRead(n, now, rec.out);
    rec.Absorb();
  }
  void Shutdown() {
    c->Shutdown(now, rec.out);
    rec.Absorb();
  }
  void Close() {
    c->Close(now, rec.out);
    rec.Absorb();
  }
  void AbortQuietly() {
    c->AbortQuietly(rec.out);
    rec.Absorb();
  }
  TcpRepr Data(std::uint32_t seq, const std::string& bytes, std::uint8_t flags = kAck | kPsh) {
    payload_store = bytes;
    TcpRepr s = Seg(flags, seq, OurNxt());
    s.payload = std::as_bytes(std::span(payload_store));
    return s;
  }
};


// The SYN-ACK comes `rtt` after the SYN (the first RTT sample).
inline std::unique_ptr<Fixture> EstablishedWith(const TcpConfig& config, bool peer_sack = false,
                                         std::uint16_t peer_window = 65535, Duration rtt = Duration()) {
  auto f = std::make_unique<Fixture>();
  f->c = TcpConnection::Connect(config, Ends(), SeqNum(kIss), f->now, f->rec.out);
  f->rec.Absorb();
  f->now = f->now + rtt;
  TcpRepr synack = Seg(kSyn | kAck, kIrs, kIss + 1, peer_window);
  synack.options.mss = 1000;
  synack.options.sack_permitted = peer_sack;
  f->In(synack);
  f->rec.Take();
  f->rec.events.clear();
  return f;
}

}  // namespace ringstack::proto::tcp::fixture

#endif  // RINGSTACK_TESTS_UNIT_TCP_FIXTURE_H_
