// The TCP state machine (protocols/tcp/tcp_connection.h) as tables: for
// each RFC 9293 state (a fixture such as Established() or FinWait1()) and
// each class of incoming segment, the next state, the reply and the events,
// against RFC 9293 3.10.7 and RFC 5961. Then the handshakes, the closes,
// timers and windows one behaviour at a time.
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "protocols/tcp/tcp_connection.h"
#include "tests/unit/tcp_fixture.h"

namespace ringstack::proto::tcp {
namespace {

using namespace fixture;  // NOLINT: the fixture is this file's vocabulary

std::unique_ptr<Fixture> SynSent() {
  auto f = std::make_unique<Fixture>();
  f->c = TcpConnection::Connect(Config(), Ends(), SeqNum(kIss), f->now, f->rec.out);
  f->rec.Absorb();
  f->rec.Take();
  return f;
}

std::unique_ptr<Fixture> SynReceived() {
  auto f = std::make_unique<Fixture>();
  TcpRepr syn = Seg(kSyn, kIrs);
  syn.options.mss = 1460;
  f->c = TcpConnection::Accept(Config(), Ends(), syn, SeqNum(kIss), f->now, f->rec.out);
  f->rec.Absorb();
  f->rec.Take();
  return f;
}

// SYN-RECEIVED from a simultaneous open (active: a RST there is a refusal).
std::unique_ptr<Fixture> SynReceivedActive() {
  auto f = SynSent();
  f->In(Seg(kSyn, kIrs));
  f->rec.Take();
  return f;
}

// SYN-RECEIVED with the application's close queued (RFC 9293 3.10.4: the
// FIN waits for ESTABLISHED).
std::unique_ptr<Fixture> SynReceivedClosed() {
  auto f = SynReceived();
  f->Shutdown();
  f->rec.Take();
  return f;
}

std::unique_ptr<Fixture> Established() {
  auto f = SynSent();
  TcpRepr synack = Seg(kSyn | kAck, kIrs, kIss + 1);
  synack.options.mss = 1460;
  f->In(synack);
  f->rec.Take();
  f->rec.events.clear();
  return f;
}

std::unique_ptr<Fixture> FinWait1() {
  auto f = Established();
  f->Shutdown();
  f->rec.Take();
  return f;
}

std::unique_ptr<Fixture> FinWait2() {
  auto f = FinWait1();
  f->In(Seg(kAck, f->PeerSeq(), f->OurNxt()));
  f->rec.Take();
  return f;
}

std::unique_ptr<Fixture> CloseWait() {
  auto f = Established();
  f->In(Seg(kFin | kAck, f->PeerSeq(), f->OurNxt()));
  f->rec.Take();
  f->rec.events.clear();
  return f;
}

std::unique_ptr<Fixture> LastAck() {
  auto f = CloseWait();
  f->Shutdown();
  f->rec.Take();
  return f;
}

std::unique_ptr<Fixture> Closing() {
  auto f = FinWait1();
  // The peer's FIN acknowledges everything but our FIN.
  f->In(Seg(kFin | kAck, f->PeerSeq(), f->OurNxt() - 1));
  f->rec.Take();
  f->rec.events.clear();
  return f;
}

std::unique_ptr<Fixture> TimeWait() {
  auto f = FinWait2();
  f->In(Seg(kFin | kAck, f->PeerSeq(), f->OurNxt()));
  f->rec.Take();
  f->rec.events.clear();
  return f;
}

TEST(TcpFixtures, ReachTheirStates) {
  EXPECT_EQ(SynSent()->State(), "SYN-SENT");
  EXPECT_EQ(SynReceived()->State(), "SYN-RECEIVED");
  EXPECT_EQ(Established()->State(), "ESTABLISHED");
  EXPECT_EQ(FinWait1()->State(), "FIN-WAIT-1");
  EXPECT_EQ(FinWait2()->State(), "FIN-WAIT-2");
  EXPECT_EQ(CloseWait()->State(), "CLOSE-WAIT");
  EXPECT_EQ(LastAck()->State(), "LAST-ACK");
  EXPECT_EQ(Closing()->State(), "CLOSING");
  EXPECT_EQ(TimeWait()->State(), "TIME-WAIT");
}

// A row: a segment class built against the fixture, and what must follow.
struct Row {
  const char* state;
  std::function<std::unique_ptr<Fixture>()> make;
  const char* segment;
  std::function<TcpRepr(Fixture&)> build;
  const char* next_state;
  const char* reply;  // flag strings of what is sent, "none" for silence
  std::vector<TcpEvent> events;
};

void RunRows(const std::vector<Row>& rows) {
  for (const Row& r : rows) {
    auto f = r.make();
    f->In(r.build(*f));
    EXPECT_EQ(f->State(), r.next_state) << r.state << " + " << r.segment;
    EXPECT_EQ(f->rec.Take(), r.reply) << r.state << " + " << r.segment;
    EXPECT_EQ(f->rec.events, r.events) << r.state << " + " << r.segment;
  }
}

// Segment classes, relative to the fixture's RCV.NXT and SND.NXT.
TcpRepr SynIn(Fixture& f) { return Seg(kSyn, f.PeerSeq()); }
TcpRepr SynAckIn(Fixture& f) { return Seg(kSyn | kAck, f.PeerSeq(), f.OurNxt()); }
TcpRepr AckIn(Fixture& f) { return Seg(kAck, f.PeerSeq(), f.OurNxt()); }
TcpRepr AckOfUnsent(Fixture& f) { return Seg(kAck, f.PeerSeq(), f.OurNxt() + 100); }
TcpRepr RstExact(Fixture& f) { return Seg(kRst, f.PeerSeq()); }
TcpRepr RstInWindow(Fixture& f) { return Seg(kRst, f.PeerSeq() + 100); }
TcpRepr RstOutOfWindow(Fixture& f) { return Seg(kRst, f.PeerSeq() + 200000); }
TcpRepr FinIn(Fixture& f) { return Seg(kFin | kAck, f.PeerSeq(), f.OurNxt()); }
TcpRepr DataInWindow(Fixture& f) { return f.Data(f.PeerSeq(), "hello"); }
TcpRepr DataOutOfWindow(Fixture& f) { return f.Data(f.PeerSeq() + 200000, "far"); }
TcpRepr OldDuplicate(Fixture& f) { return f.Data(f.PeerSeq() - 10, "old"); }

using E = TcpEvent;

// RFC 9293 3.10.7.4 for the synchronized states, with RFC 5961's RST and
// SYN rules: a SYN anywhere gets a challenge ACK; only a RST exactly at
// RCV.NXT resets, one elsewhere in the window gets a challenge ACK, one
// outside it nothing; an ACK of data never sent is answered with an ACK.
TEST(TcpStateTable, Established) {
  RunRows({
      {"ESTABLISHED", Established, "SYN", SynIn, "ESTABLISHED", ".", {}},
      {"ESTABLISHED", Established, "SYN+ACK", SynAckIn, "ESTABLISHED", ".", {}},
      {"ESTABLISHED", Established, "ACK", AckIn, "ESTABLISHED", "none", {}},
      {"ESTABLISHED", Established, "ACK of unsent data", AckOfUnsent, "ESTABLISHED", ".", {}},
      {"ESTABLISHED", Established, "RST at RCV.NXT", RstExact, "CLOSED", "none", {E::kReset, E::kClosed}},
      {"ESTABLISHED", Established, "RST in window", RstInWindow, "ESTABLISHED", ".", {}},
      {"ESTABLISHED", Established, "RST out of window", RstOutOfWindow, "ESTABLISHED", "none", {}},
      {"ESTABLISHED", Established, "FIN", FinIn, "CLOSE-WAIT", ".", {E::kPeerClosed}},
      {"ESTABLISHED", Established, "data in window", DataInWindow, "ESTABLISHED", "none", {}},  // delayed ACK
      {"ESTABLISHED", Established, "data out of window", DataOutOfWindow, "ESTABLISHED", ".", {}},
      {"ESTABLISHED", Established, "old duplicate", OldDuplicate, "ESTABLISHED", ".", {}},
  });
}

TEST(TcpStateTable, FinWait1) {
  RunRows({
      {"FIN-WAIT-1", FinWait1, "SYN", SynIn, "FIN-WAIT-1", ".", {}},
      {"FIN-WAIT-1", FinWait1, "ACK of our FIN", AckIn, "FIN-WAIT-2", "none", {}},
      {"FIN-WAIT-1", FinWait1, "ACK of unsent data", AckOfUnsent, "FIN-WAIT-1", ".", {}},
      {"FIN-WAIT-1", FinWait1, "RST at RCV.NXT", RstExact, "CLOSED", "none", {E::kReset, E::kClosed}},
      {"FIN-WAIT-1", FinWait1, "RST in window", RstInWindow, "FIN-WAIT-1", ".", {}},
      {"FIN-WAIT-1", FinWait1, "RST out of window", RstOutOfWindow, "FIN-WAIT-1", "none", {}},
      {"FIN-WAIT-1", FinWait1, "FIN acking ours", FinIn, "TIME-WAIT", ".", {E::kPeerClosed}},
      {"FIN-WAIT-1", FinWait1, "FIN not acking ours",
       [](Fixture& f) { return Seg(kFin | kAck, f.PeerSeq(), f.OurNxt() - 1); }, "CLOSING", ".", {E::kPeerClosed}},
      {"FIN-WAIT-1", FinWait1, "data in window, our FIN not yet acked",
       [](Fixture& f) {
         TcpRepr d = f.Data(f.PeerSeq(), "hello");
         d.ack = SeqNum(f.OurNxt() - 1);
         return d;
       },
       "FIN-WAIT-1", "none", {}},
      {"FIN-WAIT-1", FinWait1, "data in window acking our FIN", DataInWindow, "FIN-WAIT-2", "none", {}},
      {"FIN-WAIT-1", FinWait1, "data out of window", DataOutOfWindow, "FIN-WAIT-1", ".", {}},
  });
}

TEST(TcpStateTable, FinWait2) {
  RunRows({
      {"FIN-WAIT-2", FinWait2, "SYN", SynIn, "FIN-WAIT-2", ".", {}},
      {"FIN-WAIT-2", FinWait2, "ACK", AckIn, "FIN-WAIT-2", "none", {}},
      {"FIN-WAIT-2", FinWait2, "RST at RCV.NXT", RstExact, "CLOSED", "none", {E::kReset, E::kClosed}},
      {"FIN-WAIT-2", FinWait2, "RST in window", RstInWindow, "FIN-WAIT-2", ".", {}},
      {"FIN-WAIT-2", FinWait2, "FIN", FinIn, "TIME-WAIT", ".", {E::kPeerClosed}},
      {"FIN-WAIT-2", FinWait2, "data in window", DataInWindow, "FIN-WAIT-2", "none", {}},
      {"FIN-WAIT-2", FinWait2, "old duplicate", OldDuplicate, "FIN-WAIT-2", ".", {}},
  });
}

TEST(TcpStateTable, CloseWait) {
  RunRows({
      {"CLOSE-WAIT", CloseWait, "SYN", SynIn, "CLOSE-WAIT", ".", {}},
      {"CLOSE-WAIT", CloseWait, "ACK", AckIn, "CLOSE-WAIT", "none", {}},
      {"CLOSE-WAIT", CloseWait, "RST at RCV.NXT", RstExact, "CLOSED", "none", {E::kReset, E::kClosed}},
      {"CLOSE-WAIT", CloseWait, "RST in window", RstInWindow, "CLOSE-WAIT", ".", {}},
      {"CLOSE-WAIT", CloseWait, "FIN again (old)",
       [](Fixture& f) { return Seg(kFin | kAck, f.PeerSeq() - 1, f.OurNxt()); }, "CLOSE-WAIT", ".", {}},
      // Data after the peer's FIN is past it: nothing to deliver.
      {"CLOSE-WAIT", CloseWait, "data in window", DataInWindow, "CLOSE-WAIT", "none", {}},
  });
}

TEST(TcpStateTable, ClosingLastAckTimeWait) {
  RunRows({
      {"CLOSING", Closing, "ACK of our FIN", AckIn, "TIME-WAIT", "none", {}},
      {"CLOSING", Closing, "ACK short of our FIN",
       [](Fixture& f) { return Seg(kAck, f.PeerSeq(), f.OurNxt() - 1); }, "CLOSING", "none", {}},
      {"CLOSING", Closing, "RST at RCV.NXT", RstExact, "CLOSED", "none", {E::kClosed}},
      {"CLOSING", Closing, "SYN", SynIn, "CLOSING", ".", {}},
      {"LAST-ACK", LastAck, "ACK of our FIN", AckIn, "CLOSED", "none", {E::kClosed}},
      {"LAST-ACK", LastAck, "RST at RCV.NXT", RstExact, "CLOSED", "none", {E::kClosed}},
      {"LAST-ACK", LastAck, "RST in window", RstInWindow, "LAST-ACK", ".", {}},
      {"LAST-ACK", LastAck, "SYN", SynIn, "LAST-ACK", ".", {}},
      // TIME-WAIT: a retransmitted FIN is ACKed (and the wait restarts).
      {"TIME-WAIT", TimeWait, "retransmitted FIN",
       [](Fixture& f) { return Seg(kFin | kAck, f.PeerSeq() - 1, f.OurNxt()); }, "TIME-WAIT", ".", {}},
      {"TIME-WAIT", TimeWait, "RST at RCV.NXT", RstExact, "CLOSED", "none", {E::kClosed}},
      {"TIME-WAIT", TimeWait, "SYN", SynIn, "TIME-WAIT", ".", {}},
      {"TIME-WAIT", TimeWait, "ACK", AckIn, "TIME-WAIT", "none", {}},
  });
}

// RFC 9293 3.10.7.3 (SYN-SENT) and 3.10.7.4 for SYN-RECEIVED.
TEST(TcpStateTable, Handshake) {
  RunRows({
      {"SYN-SENT", SynSent, "SYN+ACK acking our SYN",
       [](Fixture&) { return Seg(kSyn | kAck, kIrs, kIss + 1); }, "ESTABLISHED", ".", {E::kEstablished}},
      {"SYN-SENT", SynSent, "SYN (simultaneous open)", [](Fixture&) { return Seg(kSyn, kIrs); }, "SYN-RECEIVED",
       "S.", {}},
      {"SYN-SENT", SynSent, "ACK of something else", [](Fixture&) { return Seg(kAck, kIrs, kIss + 7); }, "SYN-SENT",
       "R", {}},
      {"SYN-SENT", SynSent, "ACK at ISS", [](Fixture&) { return Seg(kAck, kIrs, kIss); }, "SYN-SENT", "R", {}},
      {"SYN-SENT", SynSent, "RST+ACK acking our SYN", [](Fixture&) { return Seg(kRst | kAck, 0, kIss + 1); },
       "CLOSED", "none", {E::kRefused, E::kClosed}},
      {"SYN-SENT", SynSent, "RST without ACK", [](Fixture&) { return Seg(kRst, 0); }, "SYN-SENT", "none", {}},
      {"SYN-SENT", SynSent, "plain ACK of our SYN", [](Fixture&) { return Seg(kAck, kIrs, kIss + 1); }, "SYN-SENT",
       "none", {}},
      {"SYN-RECEIVED", SynReceived, "ACK of our SYN", AckIn, "ESTABLISHED", "none", {E::kEstablished}},
      {"SYN-RECEIVED", SynReceived, "ACK of something else", AckOfUnsent, "SYN-RECEIVED", "R", {}},
      {"SYN-RECEIVED", SynReceived, "the peer's SYN again", [](Fixture&) { return Seg(kSyn, kIrs); },
       "SYN-RECEIVED", "S.", {}},
      {"SYN-RECEIVED", SynReceived, "RST at RCV.NXT", RstExact, "CLOSED", "none", {E::kClosed}},
      {"SYN-RECEIVED", SynReceived, "RST in window", RstInWindow, "SYN-RECEIVED", ".", {}},
      {"SYN-RECEIVED", SynReceived, "a new SYN in window", [](Fixture& f) { return Seg(kSyn, f.PeerSeq() + 5); },
       "CLOSED", "none", {E::kClosed}},
      {"SYN-RECEIVED (simultaneous open)", SynReceivedActive, "RST at RCV.NXT", RstExact, "CLOSED", "none",
       {E::kRefused, E::kClosed}},
      {"SYN-RECEIVED (simultaneous open)", SynReceivedActive, "ACK of our SYN", AckIn, "ESTABLISHED", "none",
       {E::kEstablished}},
      {"SYN-RECEIVED, close queued", SynReceivedClosed, "ACK of our SYN", AckIn, "FIN-WAIT-1", "F.",
       {E::kEstablished}},
  });
}

// --- Behaviours, one at a time -------------------------------------------


TEST(TcpConnection, DelayedAckAfterTheDelayOrOnTheSecondFullSegment) {
  auto f = Established();
  f->In(f->Data(f->PeerSeq(), "small"));
  EXPECT_EQ(f->rec.Take(), "none");
  EXPECT_EQ(f->c->NextDeadline(), f->now + Duration::Millis(40));
  f->now = f->now + Duration::Millis(39);
  f->Timer();
  EXPECT_EQ(f->rec.Take(), "none");
  f->now = f->now + Duration::Millis(1);
  f->Timer();
  EXPECT_EQ(f->rec.Take(), ".");
  // Two full segments (the peer's MSS is 1460): the second is ACKed at once.
  const std::string full(1460, 'x');
  f->In(f->Data(f->PeerSeq(), full));
  EXPECT_EQ(f->rec.Take(), "none");
  f->In(f->Data(f->PeerSeq(), full));
  EXPECT_EQ(f->rec.Take(), ".");
  EXPECT_EQ(f->rec.committed, 5u + 2 * 1460);
}

// A super-frame (TAP offload: up to 64 KiB in one segment) is the full
// segments it carries: ten of them are acknowledged at once (the old rule
// counted the frame as one segment and left a lone frame to the 40 ms
// timer, stalling a sender whose window it filled); one and a half are one.
TEST(TcpConnection, ASuperFrameCountsTheFullSegmentsItCarries) {
  auto f = Established();
  f->In(f->Data(f->PeerSeq(), std::string(10 * 1460, 'x')));
  EXPECT_EQ(f->rec.Take(), ".");
  f->In(f->Data(f->PeerSeq(), std::string(1460 + 730, 'y')));
  EXPECT_EQ(f->rec.Take(), "none");
  EXPECT_EQ(f->c->NextDeadline(), f->now + Duration::Millis(40));
  EXPECT_EQ(f->rec.committed, 10u * 1460 + 1460 + 730);
}

TEST(TcpConnection, OutOfOrderDataIsAckedAtOnceWithSackBlocks) {
  TcpConfig c = Config();
  auto f = EstablishedWith(c, /*peer_sack=*/true);
  const std::uint32_t nxt = f->PeerSeq();
  f->In(f->Data(nxt + 100, std::string(50, 'b')));
  ASSERT_EQ(f->rec.sent.size(), 1u);
  const TcpRepr& dup = f->rec.sent[0].h;
  EXPECT_EQ(dup.ack, SeqNum(nxt));  // still waiting for nxt
  ASSERT_EQ(dup.options.sack_count, 1);
  EXPECT_EQ(dup.options.sack[0], (SackBlock{SeqNum(nxt + 100), SeqNum(nxt + 150)}));
  f->rec.Take();
  // The hole fills: RCV.NXT runs over both, ACKed at once.
  f->In(f->Data(nxt, std::string(100, 'a')));
  ASSERT_EQ(f->rec.sent.size(), 1u);
  EXPECT_EQ(f->rec.sent[0].h.ack, SeqNum(nxt + 150));
  EXPECT_EQ(f->rec.sent[0].h.options.sack_count, 0);
  EXPECT_EQ(f->rec.rx.substr(0, f->rec.committed), std::string(100, 'a') + std::string(50, 'b'));
}

TEST(TcpConnection, ThreeDuplicateAcksRetransmitAtOnce) {
  TcpConfig c = Config();
  c.nodelay = true;
  c.congestion = "newreno";
  auto f = EstablishedWith(c);
  f->AppSend(10 * 1000);  // ten segments at the peer's MSS of 1000
  ASSERT_EQ(f->rec.sent.size(), 10u);
  f->rec.Take();
  const std::uint32_t una = f->c->snd_una().value();
  const std::uint32_t cwnd = f->c->cwnd();
  for (int i = 0; i < 2; ++i) f->In(Seg(kAck, f->PeerSeq(), una));
  EXPECT_EQ(f->rec.Take(), "none");
  f->In(Seg(kAck, f->PeerSeq(), una));  // the third
  ASSERT_EQ(f->rec.sent.size(), 1u);
  EXPECT_EQ(f->rec.sent[0].h.seq, SeqNum(una));
  EXPECT_EQ(f->rec.sent[0].len, 1000u);
  EXPECT_EQ(f->c->retransmits(), 1u);
  // RFC 5681 3.2: ssthresh = FlightSize / 2, cwnd = ssthresh + 3 SMSS.
  EXPECT_EQ(f->c->ssthresh(), 5000u);
  EXPECT_EQ(f->c->cwnd(), 8000u);
  EXPECT_LT(f->c->ssthresh(), cwnd);
}

TEST(TcpConnection, RetransmitsOnTimeoutThenGivesUp) {
  TcpConfig c = Config();
  c.data_retries = 2;
  auto f = EstablishedWith(c);
  f->AppSend(300);
  ASSERT_EQ(f->rec.Take(), "P.");
  const Instant rto = f->c->NextDeadline();
  // The handshake measured an RTT of 0 (same instant): RTO is the 200 ms floor.
  EXPECT_EQ(rto, f->now + Duration::Millis(200));
  f->now = rto;
  f->Timer();
  ASSERT_EQ(f->rec.sent.size(), 1u);
  EXPECT_EQ(f->rec.sent[0].h.seq, SeqNum(kIss + 1));  // from SND.UNA again
  EXPECT_EQ(f->rec.sent[0].len, 300u);
  f->rec.Take();
  EXPECT_EQ(f->c->cwnd(), 1000u);  // RFC 5681 3.1: one segment
  f->now = f->c->NextDeadline();
  f->Timer();
  EXPECT_EQ(f->rec.Take(), "P.");
  f->now = f->c->NextDeadline();
  f->Timer();
  EXPECT_EQ(f->State(), "CLOSED");
  EXPECT_EQ(f->rec.events, (std::vector<TcpEvent>{TcpEvent::kTimedOut, TcpEvent::kClosed}));
}

TEST(TcpConnection, NagleHoldsSmallWritesWhileDataIsInFlight) {
  auto f = EstablishedWith(Config());
  f->AppSend(10);
  EXPECT_EQ(f->rec.Take(), "P.");  // nothing in flight: goes
  f->AppSend(10);
  f->AppSend(10);
  EXPECT_EQ(f->rec.Take(), "none");  // held until the ACK
  f->In(Seg(kAck, f->PeerSeq(), kIss + 11));
  ASSERT_EQ(f->rec.sent.size(), 1u);
  EXPECT_EQ(f->rec.sent[0].len, 20u);  // the two coalesced
  // TCP_NODELAY: each goes at once.
  TcpConfig nd = Config();
  nd.nodelay = true;
  auto g = EstablishedWith(nd);
  g->AppSend(10);
  g->AppSend(10);
  EXPECT_EQ(g->rec.Take(), "P. P.");
}

TEST(TcpConnection, ZeroWindowIsProbedUntilItOpens) {
  auto f = EstablishedWith(Config(), false, /*peer_window=*/0);
  f->AppSend(500);
  EXPECT_EQ(f->rec.Take(), "none");  // no window
  const Instant probe = f->c->NextDeadline();
  EXPECT_GT(probe, f->now);
  f->now = probe;
  f->Timer();
  ASSERT_EQ(f->rec.sent.size(), 1u);
  EXPECT_EQ(f->rec.sent[0].h.seq, SeqNum(kIss));  // SND.UNA - 1: the peer answers with its window
  EXPECT_EQ(f->rec.sent[0].len, 0u);
  f->rec.Take();
  EXPECT_GT(f->c->NextDeadline() - f->now, probe - kT0);  // backed off
  f->In(Seg(kAck, f->PeerSeq(), kIss + 1, 4000));  // the window opens
  ASSERT_EQ(f->rec.sent.size(), 1u);
  EXPECT_EQ(f->rec.sent[0].len, 500u);
}

// RFC 9293 3.8.6.2.1: a usable window below a segment (and below half the
// largest the peer offered) holds the data back, but not for ever — the
// override timeout sends what fits, so a lost window update cannot stall.
TEST(TcpConnection, SenderSwsOverrideSendsASmallWindowAfterATimeout) {
  auto f = EstablishedWith(Config());  // the peer offered 65535
  f->In(Seg(kAck, f->PeerSeq(), kIss + 1, 100));  // now only 100 bytes
  f->AppSend(5000);
  EXPECT_EQ(f->rec.Take(), "none");
  const Instant override_at = f->c->NextDeadline();
  ASSERT_FALSE(override_at.IsNever());
  f->now = override_at;
  f->Timer();
  ASSERT_EQ(f->rec.sent.size(), 1u);
  EXPECT_EQ(f->rec.sent[0].len, 100u);
}

TEST(TcpConnection, ReceiveWindowClosesAndReopensPastTheSwsThreshold) {
  TcpConfig c = Config();
  c.rcv_buf = 4000;
  auto f = EstablishedWith(c);
  f->In(f->Data(f->PeerSeq(), std::string(1000, 'a')));
  f->In(f->Data(f->PeerSeq(), std::string(1000, 'b')));  // a second full segment: ACKed
  ASSERT_FALSE(f->rec.sent.empty());
  EXPECT_EQ(f->rec.sent.back().h.window, 2000);  // 4000 less the 2000 unread
  f->rec.Take();
  f->In(f->Data(f->PeerSeq(), std::string(1000, 'c')));
  f->In(f->Data(f->PeerSeq(), std::string(1000, 'd')));
  ASSERT_FALSE(f->rec.sent.empty());
  EXPECT_EQ(f->rec.sent.back().h.window, 0);
  f->rec.Take();
  // More data now is outside the window: ACKed (with window 0) and dropped.
  f->In(f->Data(f->PeerSeq(), "e"));
  EXPECT_EQ(f->rec.Take(), ".");
  EXPECT_EQ(f->rec.committed, 4000u);
  // Reading 500 bytes: below min(RCV.BUFF / 2, MSS) = 1000, no update yet.
  f->AppRead(500);
  EXPECT_EQ(f->rec.Take(), "none");
  f->AppRead(500);
  ASSERT_EQ(f->rec.sent.size(), 1u);
  EXPECT_EQ(f->rec.sent[0].h.window, 1000);
}

// A read sends a window update only when the window offered would at least
// double (Linux's rule): with half the buffer still open to the peer, its
// next data segment's ACK carries the new edge.
TEST(TcpConnection, ReadsUpdateTheWindowOnlyWhenItWouldDouble) {
  TcpConfig c = Config();
  c.rcv_buf = 8000;
  auto f = EstablishedWith(c);
  for (int i = 0; i < 2; ++i) f->In(f->Data(f->PeerSeq(), std::string(1000, 'a')));
  ASSERT_FALSE(f->rec.sent.empty());
  EXPECT_EQ(f->rec.sent.back().h.window, 6000);
  f->rec.Take();
  // 6000 offered; reading 2000 could offer 8000: not double, no update.
  f->AppRead(2000);
  EXPECT_EQ(f->rec.Take(), "none");
  // Fill to 6000 unread (2000 offered), then read 4000: 6000 >= 2 x 2000.
  for (int i = 0; i < 6; ++i) f->In(f->Data(f->PeerSeq(), std::string(1000, 'b')));
  ASSERT_FALSE(f->rec.sent.empty());
  EXPECT_EQ(f->rec.sent.back().h.window, 2000);
  f->rec.Take();
  f->AppRead(4000);
  ASSERT_EQ(f->rec.sent.size(), 1u);
  EXPECT_EQ(f->rec.sent[0].h.window, 6000);
}

TEST(TcpConnection, KeepaliveProbesThenTimesOut) {
  TcpConfig c = Config();
  c.keepalive = true;
  c.keepalive_idle = Duration::Seconds(10);
  c.keepalive_interval = Duration::Seconds(2);
  c.keepalive_count = 3;
  auto f = EstablishedWith(c);
  EXPECT_EQ(f->c->NextDeadline(), f->now + Duration::Seconds(10));
  for (int i = 0; i < 3; ++i) {
    f->now = f->c->NextDeadline();
    f->Timer();
    ASSERT_EQ(f->rec.sent.size(), 1u) << i;
    EXPECT_EQ(f->rec.sent[0].h.seq, SeqNum(kIss));  // <SEQ=SND.UNA-1>
    f->rec.Take();
  }
  // An answer would reset the count; none came.
  f->now = f->c->NextDeadline();
  f->Timer();
  EXPECT_EQ(f->State(), "CLOSED");
  EXPECT_TRUE(f->rec.Saw(TcpEvent::kTimedOut));
}

TEST(TcpConnection, CloseWithUnreadDataResets) {
  auto f = Established();
  f->In(f->Data(f->PeerSeq(), "never read"));
  f->rec.Take();
  f->Close();
  EXPECT_EQ(f->rec.Take(), "R");
  EXPECT_EQ(f->State(), "CLOSED");
  // Data after close() (not shutdown) is answered with a RST too.
  auto g = Established();
  g->Close();
  EXPECT_EQ(g->State(), "FIN-WAIT-1");
  g->rec.Take();
  g->In(g->Data(g->PeerSeq(), "late"));
  EXPECT_EQ(g->rec.Take(), "R");
  EXPECT_EQ(g->State(), "CLOSED");
}

// RFC 9293 3.10.7.4's acceptability test, fourth case: a segment that
// starts below RCV.NXT but ends inside the window is acceptable; its old
// bytes are trimmed and the new ones taken (a retransmission that overlaps
// what already arrived).
TEST(TcpConnection, DataStraddlingRcvNxtIsTrimmedAndTaken) {
  auto f = Established();
  const std::uint32_t rcv_nxt = f->PeerSeq();
  f->In(f->Data(rcv_nxt - 3, "oldnew"));
  EXPECT_EQ(f->PeerSeq(), rcv_nxt + 3);
  EXPECT_EQ(f->rec.committed, 3u);
  EXPECT_EQ(f->rec.rx.substr(0, 3), "new");
  EXPECT_EQ(f->State(), "ESTABLISHED");
}

// The local address taken away (a lost lease, an ARP conflict): CLOSED in
// every state, no segment sent (not even the RST an ABORT would send), the
// owner told kAborted then kClosed; a closed connection stays silent.
TEST(TcpStateTable, AbortQuietlyInEveryState) {
  for (auto make : {SynSent, SynReceived, Established, FinWait1, FinWait2, CloseWait, LastAck, Closing, TimeWait}) {
    auto f = make();
    const std::string before = f->State();
    f->rec.events.clear();
    f->AbortQuietly();
    EXPECT_EQ(f->rec.Take(), "none") << before;
    EXPECT_EQ(f->State(), "CLOSED") << before;
    EXPECT_EQ(f->rec.events, (std::vector<TcpEvent>{TcpEvent::kAborted, TcpEvent::kClosed})) << before;
    EXPECT_EQ(f->c->NextDeadline(), Instant::Never()) << before;
    f->rec.events.clear();
    f->AbortQuietly();
    EXPECT_TRUE(f->rec.events.empty()) << before;
  }
}

TEST(TcpConnection, TimeWaitLastsTwoMsl) {
  auto f = TimeWait();
  EXPECT_EQ(f->c->NextDeadline(), f->now + Duration::Seconds(60));
  f->now = f->now + Duration::Seconds(59);
  f->Timer();
  EXPECT_EQ(f->State(), "TIME-WAIT");
  f->now = f->now + Duration::Seconds(1);
  f->Timer();
  EXPECT_EQ(f->State(), "CLOSED");
  EXPECT_EQ(f->rec.events, (std::vector<TcpEvent>{TcpEvent::kClosed}));
}

// RFC 7323 4.3: TS.Recent starts as the SYN-ACK's TSval whatever its value
// (a clock past 2^31 included), and our segments echo it.
TEST(TcpConnection, TimestampsEchoThePeersClockFromTheStart) {
  TcpConfig c = Config();
  c.timestamps = true;
  auto f = std::make_unique<Fixture>();
  f->c = TcpConnection::Connect(c, Ends(), SeqNum(kIss), f->now, f->rec.out);
  f->rec.Absorb();
  ASSERT_TRUE(f->rec.sent[0].h.options.timestamps.has_value());
  const std::uint32_t our_tsval = f->rec.sent[0].h.options.timestamps->tsval;
  f->rec.Take();
  TcpRepr synack = Seg(kSyn | kAck, kIrs, kIss + 1);
  synack.options.timestamps = Timestamps{0x90000000u, our_tsval};
  f->In(synack);
  ASSERT_EQ(f->rec.sent.size(), 1u);
  ASSERT_TRUE(f->c->ts_ok());
  EXPECT_EQ(f->rec.sent[0].h.options.timestamps->tsecr, 0x90000000u);
}

// RFC 7323 4.1 on a sub-millisecond path: an echo in the millisecond it
// was sent is a sample of one millisecond (as Linux), so the handshake's
// RTT replaces the initial 1 s RTO on both sides (it stood until a later
// echo crossed a millisecond: a black hole or a loss right after the
// handshake waited a whole second).
TEST(TcpConnection, AnEchoWithinTheMillisecondIsAnRttSample) {
  TcpConfig c = Config();
  c.timestamps = true;
  {
    Fixture f;  // active: the SYN-ACK echoes our SYN's TSval 300 us later
    f.c = TcpConnection::Connect(c, Ends(), SeqNum(kIss), f.now, f.rec.out);
    f.rec.Absorb();
    const std::uint32_t our_tsval = f.rec.sent[0].h.options.timestamps->tsval;
    f.now = f.now + Duration::Micros(300);
    TcpRepr synack = Seg(kSyn | kAck, kIrs, kIss + 1);
    synack.options.timestamps = Timestamps{777, our_tsval};
    f.In(synack);
    EXPECT_EQ(f.c->rtt().srtt(), Duration::Millis(1));
    EXPECT_EQ(f.c->rtt().rto(), c.rto.min);
  }
  {
    Fixture f;  // passive: the handshake's ACK echoes our SYN-ACK's
    TcpRepr syn = Seg(kSyn, kIrs);
    syn.options.timestamps = Timestamps{777, 0};
    f.c = TcpConnection::Accept(c, Ends(), syn, SeqNum(kIss), f.now, f.rec.out);
    f.rec.Absorb();
    const std::uint32_t our_tsval = f.rec.sent[0].h.options.timestamps->tsval;
    f.now = f.now + Duration::Micros(300);
    TcpRepr ack = Seg(kAck, kIrs + 1, kIss + 1);
    ack.options.timestamps = Timestamps{778, our_tsval};
    f.In(ack);
    EXPECT_EQ(f.State(), "ESTABLISHED");
    EXPECT_EQ(f.c->rtt().srtt(), Duration::Millis(1));
    EXPECT_EQ(f.c->rtt().rto(), c.rto.min);
  }
}

TEST(TcpConnection, SegmentsForNoConnectionAreReset) {
  // RFC 9293 3.10.7.1.
  const auto to_syn = TcpConnection::ResetFor(Seg(kSyn, 777));
  ASSERT_TRUE(to_syn.has_value());
  EXPECT_EQ(to_syn->FlagString(), "R.");
  EXPECT_EQ(to_syn->seq, SeqNum(0));
  EXPECT_EQ(to_syn->ack, SeqNum(778));  // SEG.SEQ + SEG.LEN (the SYN counts)
  EXPECT_EQ(to_syn->dst_port, 40000);
  const auto to_ack = TcpConnection::ResetFor(Seg(kAck, 777, 4242));
  ASSERT_TRUE(to_ack.has_value());
  EXPECT_EQ(to_ack->FlagString(), "R");
  EXPECT_EQ(to_ack->seq, SeqNum(4242));  // <SEQ=SEG.ACK>
  EXPECT_FALSE(TcpConnection::ResetFor(Seg(kRst, 777)).has_value());
}

}  // namespace
}  // namespace ringstack::proto::tcp
