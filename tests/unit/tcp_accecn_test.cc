// Accurate ECN (RFC 9768) as tables: the handshake's codes and fallbacks
// (3.1, Tables 2 and 3, 3.1.3), the counters and their wire forms (ACE,
// the AccECN option in both orders, byte vectors), the sender's reading
// with the wrap safety rule (Appendix A.2), the mangling tests (3.2.2.3,
// 3.2.3.2.4), and a connection's side of each: what it sends, when it
// ACKs at once, when it reduces.
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "protocols/tcp/accecn.h"
#include "protocols/tcp/tcp_connection.h"
#include "tests/unit/tcp_fixture.h"

namespace ringstack::proto::tcp {
namespace {

using namespace fixture;  // NOLINT: the fixture is this file's vocabulary

TEST(AccEcnCodes, HandshakeFeedbackRoundTrips) {
  struct Row {
    IpEcn ecn;
    std::uint8_t ace;
  };
  for (const Row r : {Row{IpEcn::kNotEct, 0b010}, Row{IpEcn::kEct1, 0b011}, Row{IpEcn::kEct0, 0b100},
                      Row{IpEcn::kCe, 0b110}}) {
    EXPECT_EQ(accecn::HandshakeAce(r.ecn), r.ace);
    EXPECT_EQ(accecn::HandshakeEcn(r.ace), r.ecn);
  }
  for (const std::uint8_t ace : {0b000, 0b001, 0b101, 0b111}) EXPECT_EQ(accecn::HandshakeEcn(ace), std::nullopt);
}

TEST(AccEcnCodes, SynAckAnswersAndSynRequests) {
  using A = accecn::SynAckAnswer;
  const A want[8] = {A::kNoEcn,  A::kClassic, A::kAccEcn, A::kAccEcn,
                     A::kAccEcn, A::kAccEcn,  A::kAccEcn, A::kNoEcn};
  const bool asks[8] = {false, true, true, false, true, true, true, true};
  for (std::uint8_t ace = 0; ace < 8; ++ace) {
    EXPECT_EQ(accecn::ReadSynAck(ace), want[ace]) << int{ace};
    EXPECT_EQ(accecn::SynAsksAccEcn(ace), asks[ace]) << int{ace};
  }
  EXPECT_FALSE(accecn::Mangled(IpEcn::kNotEct, IpEcn::kNotEct));
  EXPECT_TRUE(accecn::Mangled(IpEcn::kNotEct, IpEcn::kCe));
  EXPECT_FALSE(accecn::Mangled(IpEcn::kEct0, IpEcn::kCe));  // a mark is no mangling
  EXPECT_TRUE(accecn::Mangled(IpEcn::kEct0, IpEcn::kEct1));
  EXPECT_TRUE(accecn::Mangled(IpEcn::kEct0, IpEcn::kNotEct));
}

TEST(AccEcnCounters, CountAceAndOption) {
  accecn::Counters r;
  EXPECT_EQ(accecn::Ace(r), 5);
  accecn::Count(r, IpEcn::kEct0, 1000, 1);
  accecn::Count(r, IpEcn::kCe, 3000, 3);  // a super-frame of three
  accecn::Count(r, IpEcn::kNotEct, 500, 1);
  accecn::Count(r, IpEcn::kCe, 0, 1);     // a marked pure ACK
  EXPECT_EQ(r, (accecn::Counters{.cep = 4, .e0b = 1000, .e1b = 0, .ceb = 3000}));
  EXPECT_EQ(accecn::Ace(r), 1);  // 4 + 5, modulo 8
  // Order 0 while ECT(0) bytes lead; the fields that fit.
  struct Row {
    std::size_t room;
    std::optional<std::uint8_t> fields;
  };
  for (const Row row : {Row{40, 3}, Row{12, 3}, Row{11, 3}, Row{8, 2}, Row{5, 1}, Row{4, 0}, Row{1, std::nullopt}}) {
    const auto o = accecn::MakeOption(r, row.room);
    ASSERT_EQ(o.has_value(), row.fields.has_value()) << row.room;
    if (!o) continue;
    EXPECT_FALSE(o->order1);
    EXPECT_EQ(o->fields, *row.fields) << row.room;
    const std::uint32_t want[3] = {1001, 3000, 1};  // EE0B, ECEB, EE1B with their initial values
    for (std::size_t i = 0; i < o->fields; ++i) EXPECT_EQ(o->field[i], want[i]) << row.room << " " << i;
  }
  accecn::Count(r, IpEcn::kEct1, 5000, 5);
  const auto o1 = accecn::MakeOption(r, 40);
  ASSERT_TRUE(o1);
  EXPECT_TRUE(o1->order1);
  EXPECT_EQ(o1->field[0], 5001u);  // EE1B first
  EXPECT_EQ(o1->field[2], 1001u);
}

TEST(AccEcnFeedback, CeDeltaWithTheWrapSafetyRule) {
  struct Row {
    std::string name;
    std::uint32_t s_cep;
    std::uint8_t ace;
    std::uint32_t pkts;
    std::optional<std::uint32_t> d_ceb;
    std::uint32_t want;
  };
  const std::vector<Row> rows = {
      {"no change", 0, 5, 3, std::nullopt, 0},
      {"two marks", 0, 7, 3, std::nullopt, 2},
      {"across the wrap", 6, 4, 3, std::nullopt, 1},  // 6 + 5 = 11 = 3 (mod 8); 4 - 3 = 1
      {"7 packets: the field alone", 0, 6, 7, std::nullopt, 1},
      {"20 packets, no option: as many as could be", 0, 6, 20, std::nullopt, 17},
      {"20 packets, option shows no CE bytes", 0, 6, 20, 0u, 1},
      {"20 packets, option shows one segment's worth", 0, 6, 20, 1000u, 1},
      {"20 packets, option shows 17 segments' worth", 0, 6, 20, 17000u, 17},
  };
  for (const Row& r : rows) EXPECT_EQ(accecn::CeDelta(r.s_cep, r.ace, r.pkts, r.d_ceb, 1000), r.want) << r.name;
}

TEST(AccEcnFeedback, OptionFieldsMoveTheCounters) {
  accecn::Feedback fb;
  AccEcnOption o{.order1 = false, .fields = 3, .field = {1 + 2000, 700, 1}};
  EXPECT_EQ(accecn::TakeOption(fb, o), 700u);
  EXPECT_EQ(fb.seen, (accecn::Counters{.cep = 0, .e0b = 2000, .e1b = 0, .ceb = 700}));
  // A reordered (older) option changes nothing; a later one adds its difference.
  o.field = {1 + 1500, 600, 1};
  EXPECT_EQ(accecn::TakeOption(fb, o), std::nullopt);
  EXPECT_EQ(fb.seen.e0b, 2000u);
  o.field = {1 + 2500, 900, 1};
  EXPECT_EQ(accecn::TakeOption(fb, o), 200u);
  // 24-bit fields wrap: 0xfffff0 + 0x20 arrives as 0x10.
  accecn::Feedback w;
  w.option_seen = true;
  w.seen.ceb = 0xfffff0;
  EXPECT_EQ(accecn::TakeOption(w, AccEcnOption{.order1 = false, .fields = 2, .field = {1, 0x10, 0}}), 0x20u);
  EXPECT_EQ(w.seen.ceb, 0x1000010u);
  // A first option with EE0B zero was zeroed on the way: options ignored.
  accecn::Feedback z;
  EXPECT_EQ(accecn::TakeOption(z, AccEcnOption{.order1 = false, .fields = 3, .field = {0, 0, 0}}), std::nullopt);
  EXPECT_TRUE(z.option_bad);
  EXPECT_EQ(accecn::TakeOption(z, AccEcnOption{.order1 = false, .fields = 3, .field = {5, 5, 5}}), std::nullopt);
}

// Byte vectors: the AE bit and both option kinds, parsed and emitted.
TEST(AccEcnRepr, AeBitAndOptionOnTheWire) {
  TcpRepr h = Seg(kAck, 1, 2);
  h.set_ace(0b110);
  h.options.accecn = AccEcnOption{.order1 = false, .fields = 3, .field = {0x010203, 0x040506, 0x070809}};
  std::vector<std::byte> seg(h.header_len());
  const Ipv4Address a(0xc0000201), b(0xc0000202);
  h.EmitHeader(seg, a, b);
  ASSERT_EQ(seg.size(), 32u);
  EXPECT_EQ(static_cast<int>(seg[12]), 0x81);  // data offset 8 words, AE
  EXPECT_EQ(static_cast<int>(seg[13]), 0x90);  // CWR, ACK
  const std::uint8_t want[12] = {1, 172, 11, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  for (std::size_t i = 0; i < 12; ++i) EXPECT_EQ(static_cast<int>(seg[20 + i]), want[i]) << i;
  const auto back = TcpRepr::Parse(seg, a, b);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->ace(), 0b110);
  EXPECT_EQ(back->FlagString(), "We.");
  EXPECT_EQ(back->options.accecn, h.options.accecn);
  // Kind 174 with two fields; a length that is no whole field is ignored.
  const std::byte opts[12] = {std::byte{174}, std::byte{8}, std::byte{0}, std::byte{0}, std::byte{9},
                              std::byte{0},   std::byte{1}, std::byte{2}, std::byte{172}, std::byte{4},
                              std::byte{1},   std::byte{1}};
  const auto parsed = TcpOptions::Parse(opts);
  ASSERT_TRUE(parsed);
  ASSERT_TRUE(parsed->accecn);
  EXPECT_TRUE(parsed->accecn->order1);
  EXPECT_EQ(parsed->accecn->fields, 2);
  EXPECT_EQ(parsed->accecn->field[0], 9u);
  EXPECT_EQ(parsed->accecn->field[1], 0x102u);
  // SACK blocks come first: with timestamps and three blocks no room is left.
  TcpOptions full;
  full.timestamps = Timestamps{1, 2};
  full.sack_count = 3;
  EXPECT_EQ(full.AccEcnRoom(), 0u);
  full.accecn = AccEcnOption{.order1 = false, .fields = 3, .field = {1, 0, 1}};
  EXPECT_EQ(full.EmitLen(), 40u);  // the option left out
  full.sack_count = 2;
  EXPECT_EQ(full.AccEcnRoom(), 8u);
}

TcpConfig AccConfig(EcnMode mode = EcnMode::kAccEcn) { return EcnConfig(mode); }

// Active open in accecn mode: the SYN, then a SYN-ACK with `ace`
// arriving with `ecn`; the mode agreed and our handshake ACK.
struct AccActiveRow {
  std::string name;
  std::uint8_t ace;
  IpEcn ecn;
  std::string mode;  // "accecn", "ecn" or "none"
  std::string ack;   // our ACK's flags
  bool mangled;
};

TEST(AccEcnConnection, ActiveOpenTable) {
  const std::vector<AccActiveRow> rows = {
      {"AccECN, SYN arrived Not-ECT, SYN-ACK Not-ECT", 0b010, IpEcn::kNotEct, "accecn", "W.", false},
      {"AccECN, SYN-ACK arrived ECT(0)", 0b010, IpEcn::kEct0, "accecn", "e.", false},
      {"AccECN, SYN-ACK arrived CE", 0b010, IpEcn::kCe, "accecn", "We.", false},
      {"AccECN, our SYN reported CE: mangled", 0b110, IpEcn::kNotEct, "accecn", "W.", true},
      {"AccECN, reserved 101 (3.1.3)", 0b101, IpEcn::kNotEct, "accecn", "W.", false},
      {"RFC 3168 server", 0b001, IpEcn::kNotEct, "ecn", ".", false},
      {"no ECN", 0b000, IpEcn::kNotEct, "none", ".", false},
      {"broken 111", 0b111, IpEcn::kNotEct, "none", ".", false},
  };
  for (const AccActiveRow& r : rows) {
    Fixture f;
    f.c = TcpConnection::Connect(AccConfig(), Ends(), SeqNum(kIss), f.now, f.rec.out);
    f.rec.Absorb();
    ASSERT_EQ(f.rec.sent.size(), 1u);
    EXPECT_EQ(f.rec.sent[0].h.FlagString(), "SEWe") << r.name;
    EXPECT_EQ(f.rec.sent[0].ecn, IpEcn::kNotEct);
    f.rec.Take();
    TcpRepr synack = Seg(kSyn | kAck, kIrs, kIss + 1);
    synack.set_ace(r.ace);
    synack.options.mss = 1000;
    f.In(synack, r.ecn);
    EXPECT_EQ(f.State(), "ESTABLISHED") << r.name;
    const std::string mode = f.c->accecn() ? "accecn" : f.c->ecn_ok() ? "ecn" : "none";
    EXPECT_EQ(mode, r.mode) << r.name;
    EXPECT_EQ(f.c->accecn_no_ect(), r.mangled) << r.name;
    EXPECT_EQ(f.c->stats().accecn_fallback, r.mode == "accecn" ? 0u : 1u) << r.name;
    ASSERT_EQ(f.rec.sent.size(), 1u) << r.name;
    EXPECT_EQ(f.rec.sent[0].h.FlagString(), r.ack) << r.name;  // Table 3: the SYN-ACK's field fed back
    // Data after it carries the count (5: 0b101) or, RFC 3168, no flag.
    f.rec.Take();
    f.AppSend(100);
    ASSERT_EQ(f.rec.sent.size(), 1u) << r.name;
    const std::uint8_t want_ace = r.mode != "accecn" ? 0 : r.ecn == IpEcn::kCe ? 6 : 5;
    EXPECT_EQ(f.rec.sent[0].h.ace(), want_ace) << r.name;
    EXPECT_EQ(f.rec.sent[0].ecn, r.mode == "none" || r.mangled ? IpEcn::kNotEct : IpEcn::kEct0) << r.name;
  }
}

TEST(AccEcnConnection, RetransmittedSynAsksForNothing) {
  Fixture f;
  f.c = TcpConnection::Connect(AccConfig(), Ends(), SeqNum(kIss), f.now, f.rec.out);
  f.rec.Absorb();
  f.rec.Take();
  f.now = f.c->NextDeadline();
  f.Timer();
  EXPECT_EQ(f.rec.Take(), "S");
}

// Passive open: the peer's SYN with `ace`, arriving with `ecn`; our
// SYN-ACK and its resends (3.2.3.2.2).
struct AccPassiveRow {
  std::string name;
  EcnMode mode;
  std::uint8_t ace;
  IpEcn ecn;
  std::string synack, resend1, resend2;
  bool option;
};

TEST(AccEcnConnection, PassiveOpenTable) {
  const std::vector<AccPassiveRow> rows = {
      {"AccECN SYN, Not-ECT", EcnMode::kAccEcn, 0b111, IpEcn::kNotEct, "SW.", "SW.", "S.", true},
      {"AccECN SYN, ECT(0)", EcnMode::kAccEcn, 0b111, IpEcn::kEct0, "Se.", "Se.", "S.", true},
      {"AccECN SYN, CE", EcnMode::kAccEcn, 0b111, IpEcn::kCe, "SWe.", "SWe.", "S.", true},
      {"any other code asks for AccECN (3.1.2)", EcnMode::kAccEcn, 0b100, IpEcn::kNotEct, "SW.", "SW.", "S.", true},
      {"RFC 3168 SYN", EcnMode::kAccEcn, 0b011, IpEcn::kNotEct, "SE.", "SE.", "SE.", false},
      {"AccECN SYN, passive mode: RFC 3168", EcnMode::kPassive, 0b111, IpEcn::kNotEct, "SE.", "SE.", "SE.", false},
      {"plain SYN", EcnMode::kAccEcn, 0b000, IpEcn::kNotEct, "S.", "S.", "S.", false},
  };
  for (const AccPassiveRow& r : rows) {
    Fixture f;
    TcpRepr syn = Seg(kSyn, kIrs);
    syn.set_ace(r.ace);
    syn.options.mss = 1000;
    f.c = TcpConnection::Accept(AccConfig(r.mode), Ends(), syn, SeqNum(kIss), f.now, f.rec.out, {}, r.ecn);
    f.rec.Absorb();
    ASSERT_EQ(f.rec.sent.size(), 1u) << r.name;
    EXPECT_EQ(f.rec.sent[0].h.FlagString(), r.synack) << r.name;
    EXPECT_EQ(f.rec.sent[0].h.options.accecn.has_value(), r.option) << r.name;
    EXPECT_EQ(f.rec.sent[0].ecn, IpEcn::kNotEct) << r.name;
    f.rec.Take();
    for (const std::string* want : {&r.resend1, &r.resend2}) {
      f.now = f.c->NextDeadline();
      f.Timer();
      ASSERT_EQ(f.rec.sent.size(), 1u) << r.name;
      EXPECT_EQ(f.rec.sent[0].h.FlagString(), *want) << r.name;
      EXPECT_FALSE(f.rec.sent[0].h.options.accecn.has_value()) << r.name;
      f.rec.Take();
    }
  }
}

// The handshake's last ACK feeds back our (Not-ECT) SYN-ACK: as sent, or
// zeroed / changed on the way, which stops our ECT (3.2.2.3).
TEST(AccEcnConnection, HandshakeAckChecks) {
  struct Row {
    std::string name;
    std::uint8_t ace;
    bool no_ect;
  };
  for (const Row& r : {Row{"Not-ECT fed back", 0b010, false}, Row{"ACE zeroed", 0b000, true},
                       Row{"fed back ECT(0): mangled", 0b100, true}, Row{"unused code 111", 0b111, false}}) {
    Fixture f;
    TcpRepr syn = Seg(kSyn, kIrs);
    syn.set_ace(0b111);
    syn.options.mss = 1000;
    f.c = TcpConnection::Accept(AccConfig(), Ends(), syn, SeqNum(kIss), f.now, f.rec.out);
    f.rec.Absorb();
    f.rec.Take();
    TcpRepr ack = Seg(kAck, kIrs + 1, kIss + 1);
    ack.set_ace(r.ace);
    f.In(ack);
    EXPECT_EQ(f.State(), "ESTABLISHED") << r.name;
    EXPECT_TRUE(f.c->accecn()) << r.name;
    EXPECT_EQ(f.c->accecn_no_ect(), r.no_ect) << r.name;
    EXPECT_EQ(f.c->stats().accecn_mangled, r.no_ect ? 1u : 0u) << r.name;
    EXPECT_EQ(f.c->stats().accecn_established, 1u) << r.name;
    f.AppSend(100);
    ASSERT_EQ(f.rec.sent.size(), 1u) << r.name;
    EXPECT_EQ(f.rec.sent[0].ecn, r.no_ect ? IpEcn::kNotEct : IpEcn::kEct0) << r.name;
    EXPECT_EQ(f.rec.sent[0].h.ace(), 5) << r.name;  // the feedback goes on
  }
}

// An AccECN connection (our SYN asked, the peer agreed), MSS 1000, RTT 100 ms.
std::unique_ptr<Fixture> AccEstablished() {
  auto f = std::make_unique<Fixture>();
  f->c = TcpConnection::Connect(AccConfig(), Ends(), SeqNum(kIss), f->now, f->rec.out);
  f->rec.Absorb();
  f->now = f->now + Duration::Millis(100);
  TcpRepr synack = Seg(kSyn | kAck, kIrs, kIss + 1);
  synack.set_ace(0b010);
  synack.options.mss = 1000;
  f->In(synack);
  f->rec.Take();
  return f;
}

// 3.2.2.5: the receiver's counts on every ACK; an ACK at once when the
// field changes between data packets or two CE marks await one.
TEST(AccEcnConnection, ReceiverCountsAndAcksAtOnce) {
  auto f = AccEstablished();
  std::uint32_t seq = f->PeerSeq();
  f->In(f->Data(seq, std::string(100, 'a')), IpEcn::kEct0);
  ASSERT_EQ(f->rec.sent.size(), 1u);  // Not-ECT (the SYN-ACK) to ECT(0): a change
  EXPECT_EQ(f->rec.sent[0].h.ace(), 5);
  f->rec.Take();
  seq += 100;
  f->In(f->Data(seq, std::string(100, 'b')), IpEcn::kEct0);
  EXPECT_EQ(f->rec.sent.size(), 0u);  // no change: delayed
  seq += 100;
  f->In(f->Data(seq, std::string(300, 'c')), IpEcn::kCe);
  ASSERT_EQ(f->rec.sent.size(), 1u);
  EXPECT_EQ(f->rec.sent[0].h.ace(), 6);
  ASSERT_TRUE(f->rec.sent[0].h.options.accecn);
  const AccEcnOption& o = *f->rec.sent[0].h.options.accecn;
  EXPECT_EQ(o.fields, 3);
  EXPECT_EQ(o.field[0], 201u);  // EE0B: 200 bytes + 1
  EXPECT_EQ(o.field[1], 300u);  // ECEB
  EXPECT_EQ(o.field[2], 1u);    // EE1B
  EXPECT_EQ(f->rec.sent[0].h.FlagString(), "We.");  // 6 = 0b110: AE and CWR, no RFC 3168 ECE echo
  f->rec.Take();
  EXPECT_EQ(f->c->stats().ecn_ce_received, 1u);
  EXPECT_EQ(f->rec.committed, 500u);
}

// The sender: CE marks the ACE field reports reduce cwnd once a window;
// the count is kept; no CWR flag is ever set by the sender for it.
TEST(AccEcnConnection, SenderReducesOnceAWindow) {
  auto f = AccEstablished();
  f->AppSend(10'000);
  for (const auto& s : f->rec.sent) EXPECT_EQ(s.h.ace(), 5);
  f->rec.Take();
  const std::uint32_t una = kIss + 1;
  TcpRepr ack = Seg(kAck, f->PeerSeq(), una + 2000);
  ack.set_ace(6);  // one CE packet
  f->In(ack);
  EXPECT_EQ(f->c->stats().accecn_ce_delivered, 1u);
  EXPECT_EQ(f->c->stats().ecn_reductions, 1u);
  const std::uint32_t cwnd = f->c->cwnd();
  ack = Seg(kAck, f->PeerSeq(), una + 4000);
  ack.set_ace(1);  // three more (6 -> 1 across the wrap), the same window
  f->In(ack);
  EXPECT_EQ(f->c->stats().accecn_ce_delivered, 4u);
  EXPECT_EQ(f->c->stats().ecn_reductions, 1u);
  EXPECT_GE(f->c->cwnd(), cwnd - 1000);
  for (const auto& s : f->rec.sent) EXPECT_EQ(s.h.ace(), 5) << "our ACE counts what we received, not CWR";
  // A reordered ACK (nothing new delivered) is not read.
  ack = Seg(kAck, f->PeerSeq(), una + 4000);
  ack.set_ace(3);
  f->In(ack);
  EXPECT_EQ(f->c->stats().accecn_ce_delivered, 4u);
}

}  // namespace
}  // namespace ringstack::proto::tcp
