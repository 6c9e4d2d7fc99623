// RFC 3168 ECN in TcpConnection as tables: the handshake's negotiation for
// each mode and each answer (6.1.1), where ECT(0) goes and where it never
// does (6.1.2, 6.1.4-6.1.6), the receiver's ECE echo from a CE mark until
// the sender's CWR (6.1.3), and the sender's one reduction a window with
// CWR on its next new data (6.1.2).
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "protocols/tcp/tcp_connection.h"
#include "tests/unit/tcp_fixture.h"

namespace ringstack::proto::tcp {
namespace {

using namespace fixture;  // NOLINT: the fixture is this file's vocabulary

// Active open: our SYN's flags, then the peer's SYN-ACK with `synack_flags`
// (beyond SYN and ACK); `lose_syn`: our first SYN times out first.
struct ActiveRow {
  std::string name;
  EcnMode mode;
  bool lose_syn;
  std::uint8_t synack_flags;
  std::string syn;  // our (last) SYN, tcpdump-style
  bool agreed;
};

TEST(TcpEcn, ModeNamesRoundTrip) {
  for (const EcnMode m : {EcnMode::kOff, EcnMode::kPassive, EcnMode::kOn, EcnMode::kAccEcn}) {
    EXPECT_EQ(ParseEcnMode(EcnModeName(m)), m);
  }
  EXPECT_EQ(ParseEcnMode("accurate"), std::nullopt);
}

TEST(TcpEcn, ActiveOpenNegotiation) {
  const std::vector<ActiveRow> rows = {
      {"on, ECN-setup SYN-ACK", EcnMode::kOn, false, kEce, "SEW", true},
      {"on, plain SYN-ACK", EcnMode::kOn, false, 0, "SEW", false},
      {"on, SYN-ACK with ECE and CWR (reflected)", EcnMode::kOn, false, kEce | kCwr, "SEW", false},
      {"on, SYN retransmitted plain", EcnMode::kOn, true, kEce, "S", false},
      {"passive asks nothing", EcnMode::kPassive, false, kEce, "S", false},
      {"off asks nothing", EcnMode::kOff, false, kEce, "S", false},
  };
  for (const ActiveRow& r : rows) {
    Fixture f;
    f.c = TcpConnection::Connect(EcnConfig(r.mode), Ends(), SeqNum(kIss), f.now, f.rec.out);
    f.rec.Absorb();
    if (r.lose_syn) {
      f.rec.Take();
      f.now = f.c->NextDeadline();
      f.Timer();
    }
    ASSERT_EQ(f.rec.sent.size(), 1u) << r.name;
    EXPECT_EQ(f.rec.sent[0].h.FlagString(), r.syn) << r.name;
    EXPECT_EQ(f.rec.sent[0].ecn, IpEcn::kNotEct) << r.name;  // 6.1.1: never ECT on a SYN
    f.rec.Take();
    TcpRepr synack = Seg(static_cast<std::uint8_t>(kSyn | kAck | r.synack_flags), kIrs, kIss + 1);
    synack.options.mss = 1000;
    f.In(synack);
    EXPECT_EQ(f.State(), "ESTABLISHED") << r.name;
    EXPECT_EQ(f.c->ecn_ok(), r.agreed) << r.name;
    EXPECT_EQ(f.c->stats().ecn_established, r.agreed ? 1u : 0u) << r.name;
    ASSERT_EQ(f.rec.sent.size(), 1u) << r.name;
    EXPECT_EQ(f.rec.sent[0].h.FlagString(), ".") << r.name;  // the ACK carries no ECN flags
  }
}

// Passive open: the peer's SYN with `syn_flags` (beyond SYN); our SYN-ACK.
struct PassiveRow {
  std::string name;
  EcnMode mode;
  std::uint8_t syn_flags;
  std::string synack;
  bool agreed;
};

TEST(TcpEcn, PassiveOpenNegotiation) {
  const std::vector<PassiveRow> rows = {
      {"passive, ECN-setup SYN", EcnMode::kPassive, kEce | kCwr, "SE.", true},
      {"on, ECN-setup SYN", EcnMode::kOn, kEce | kCwr, "SE.", true},
      {"off, ECN-setup SYN", EcnMode::kOff, kEce | kCwr, "S.", false},
      {"passive, SYN with ECE only", EcnMode::kPassive, kEce, "S.", false},
      {"passive, plain SYN", EcnMode::kPassive, 0, "S.", false},
  };
  for (const PassiveRow& r : rows) {
    Fixture f;
    TcpRepr syn = Seg(static_cast<std::uint8_t>(kSyn | r.syn_flags), kIrs);
    syn.options.mss = 1000;
    f.c = TcpConnection::Accept(EcnConfig(r.mode), Ends(), syn, SeqNum(kIss), f.now, f.rec.out);
    f.rec.Absorb();
    ASSERT_EQ(f.rec.sent.size(), 1u) << r.name;
    EXPECT_EQ(f.rec.sent[0].h.FlagString(), r.synack) << r.name;
    EXPECT_EQ(f.rec.sent[0].ecn, IpEcn::kNotEct) << r.name;
    f.rec.Take();
    // A retransmitted SYN-ACK says the same.
    f.now = f.c->NextDeadline();
    f.Timer();
    ASSERT_EQ(f.rec.sent.size(), 1u) << r.name;
    EXPECT_EQ(f.rec.sent[0].h.FlagString(), r.synack) << r.name;
    f.rec.Take();
    f.In(Seg(kAck, kIrs + 1, kIss + 1));
    EXPECT_EQ(f.State(), "ESTABLISHED") << r.name;
    EXPECT_EQ(f.c->ecn_ok(), r.agreed) << r.name;
    EXPECT_EQ(f.c->stats().ecn_established, r.agreed ? 1u : 0u) << r.name;
  }
}

// An ECN connection (our SYN asked, the peer agreed), MSS 1000, RTT 100 ms.
std::unique_ptr<Fixture> EcnEstablished() {
  auto f = std::make_unique<Fixture>();
  f->c = TcpConnection::Connect(EcnConfig(EcnMode::kOn), Ends(), SeqNum(kIss), f->now, f->rec.out);
  f->rec.Absorb();
  f->now = f->now + Duration::Millis(100);
  TcpRepr synack = Seg(kSyn | kAck | kEce, kIrs, kIss + 1);
  synack.options.mss = 1000;
  f->In(synack);
  f->rec.Take();
  return f;
}

// 6.1.2, 6.1.4, 6.1.5, 6.1.6: ECT(0) on new data; never on pure ACKs,
// retransmissions or window probes.
TEST(TcpEcn, EctOnNewDataOnly) {
  auto f = EcnEstablished();
  f->AppSend(3000);
  ASSERT_EQ(f->rec.sent.size(), 3u);
  for (const auto& s : f->rec.sent) EXPECT_EQ(s.ecn, IpEcn::kEct0);
  f->rec.Take();
  // The peer's data (acknowledging none of ours): our ACK is not ECT.
  TcpRepr data = f->Data(f->PeerSeq(), "hello");
  data.ack = SeqNum(kIss + 1);
  f->In(data);
  f->now = f->c->NextDeadline();
  f->Timer();
  ASSERT_FALSE(f->rec.sent.empty());
  for (const auto& s : f->rec.sent) {
    if (s.len == 0) {
      EXPECT_EQ(s.ecn, IpEcn::kNotEct);
    }
  }
  f->rec.Take();
  // The retransmission timeout: what goes again is not ECT.
  while (f->rec.sent.empty()) {
    f->now = f->c->NextDeadline();
    f->Timer();
  }
  EXPECT_EQ(f->c->stats().timeouts + f->c->stats().tlp_probes, 1u);
  for (const auto& s : f->rec.sent) {
    if (s.h.seq.Before(SeqNum(kIss + 1 + 3000))) {
      EXPECT_EQ(s.ecn, IpEcn::kNotEct) << s.h.seq.value();
    }
  }
  // A zero window with data queued: the probe is not ECT either.
  f->In(Seg(kAck, f->PeerSeq(), kIss + 1 + 3000, /*window=*/0));
  f->AppSend(500);
  f->rec.Take();
  f->now = f->c->NextDeadline();
  f->Timer();
  ASSERT_EQ(f->rec.sent.size(), 1u);
  EXPECT_EQ(f->rec.sent[0].len, 0u);
  EXPECT_EQ(f->rec.sent[0].ecn, IpEcn::kNotEct);
}

// 6.1.3: a CE mark on data makes every ACK carry ECE (the first at once)
// until a segment with CWR comes; a CE mark on that one starts it again.
TEST(TcpEcn, ReceiverEchoesCeUntilCwr) {
  auto f = EcnEstablished();
  std::uint32_t seq = f->PeerSeq();
  f->In(f->Data(seq, std::string(100, 'a')), IpEcn::kCe);
  ASSERT_EQ(f->rec.sent.size(), 1u);  // at once, not delayed
  EXPECT_EQ(f->rec.Take(), "E.");
  EXPECT_EQ(f->c->stats().ecn_ce_received, 1u);
  seq += 100;
  f->In(f->Data(seq, std::string(100, 'b')), IpEcn::kEct0);
  f->now = f->c->NextDeadline();
  f->Timer();
  EXPECT_EQ(f->rec.Take(), "E.");  // still echoing
  seq += 100;
  f->In(f->Data(seq, std::string(100, 'c'), kAck | kPsh | kCwr), IpEcn::kEct0);
  f->now = f->c->NextDeadline();
  f->Timer();
  EXPECT_EQ(f->rec.Take(), ".");  // the sender reduced: no more ECE
  seq += 100;
  f->In(f->Data(seq, std::string(100, 'd'), kAck | kPsh | kCwr), IpEcn::kCe);
  EXPECT_EQ(f->rec.Take(), "E.");
  EXPECT_EQ(f->c->stats().ecn_ce_received, 2u);
  EXPECT_EQ(f->rec.committed, 400u);  // marked data is data
}

// Without ECN agreed, a CE mark (a middlebox's) is no congestion signal of
// ours and an ECE no request: neither changes anything.
TEST(TcpEcn, MarksWithoutEcnAreIgnored) {
  TcpConfig c = EcnConfig(EcnMode::kOff);
  auto f = EstablishedWith(c, /*peer_sack=*/false, 65535, Duration::Millis(100));
  f->In(f->Data(f->PeerSeq(), "x"), IpEcn::kCe);
  f->now = f->c->NextDeadline();
  f->Timer();
  EXPECT_EQ(f->rec.Take(), ".");
  f->AppSend(5000);
  f->rec.Take();
  const std::uint32_t cwnd = f->c->cwnd();
  f->In(Seg(kAck | kEce, f->PeerSeq(), kIss + 1 + 1000));
  EXPECT_GE(f->c->cwnd(), cwnd);
  EXPECT_EQ(f->c->stats().ecn_reductions, 0u);
  EXPECT_EQ(f->c->stats().ecn_ce_received, 0u);
}

// 6.1.2: an ECE halves as a loss would (NewReno: ssthresh half the
// flight, cwnd to it), once a window: the ECEs that follow for data sent
// before the reduction change nothing. The next new data segment carries
// CWR, and only that one. A later window's ECE reduces again.
TEST(TcpEcn, SenderReducesOnceAWindowAndSetsCwr) {
  auto f = EcnEstablished();
  f->AppSend(10'000);  // cwnd: 10 segments
  f->rec.Take();
  const std::uint32_t una = kIss + 1;
  f->In(Seg(kAck | kEce, f->PeerSeq(), una + 1000));
  EXPECT_EQ(f->c->stats().ecn_reductions, 1u);
  EXPECT_EQ(f->c->ssthresh(), 4500u);  // half of the 9000 outstanding
  EXPECT_EQ(f->c->cwnd(), 4500u);
  EXPECT_FALSE(f->c->in_recovery());
  f->rec.Take();  // nothing may go: cwnd below the flight
  // More ECEs for data of the same window: no second reduction.
  for (std::uint32_t k = 2; k <= 6; ++k) f->In(Seg(kAck | kEce, f->PeerSeq(), una + k * 1000));
  EXPECT_EQ(f->c->stats().ecn_reductions, 1u);
  EXPECT_EQ(f->c->stats().retransmits, 0u);
  // The rest acknowledged; new data: the first segment says CWR, the next
  // ones do not.
  f->In(Seg(kAck, f->PeerSeq(), una + 10'000));
  f->rec.Take();
  f->AppSend(3000);
  ASSERT_EQ(f->rec.sent.size(), 3u);
  EXPECT_EQ(f->rec.sent[0].h.FlagString(), "W.");
  EXPECT_EQ(f->rec.sent[1].h.FlagString(), ".");
  EXPECT_EQ(f->rec.sent[2].h.FlagString(), "P.");
  for (const auto& s : f->rec.sent) EXPECT_EQ(s.ecn, IpEcn::kEct0);
  f->rec.Take();
  // An ECE for data sent after the reduction: a new window, a new reduction.
  f->In(Seg(kAck | kEce, f->PeerSeq(), una + 11'000));
  EXPECT_EQ(f->c->stats().ecn_reductions, 2u);
  EXPECT_EQ(f->c->stats().retransmits, 0u);
}

}  // namespace
}  // namespace ringstack::proto::tcp
