// The LISTEN state's rules (protocols/tcp/tcp_listener.h) as a table: for
// each load a listener can be under and each class of incoming segment, the
// action, the reason and the reply (RFC 9293 3.10.7.2, RFC 4987 3.6), then
// the cookie's round trip, and TIME-WAIT reuse by a newer SYN (RFC 6191).
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "protocols/tcp/tcp_listener.h"
#include "tests/unit/tcp_fixture.h"

namespace ringstack::proto::tcp::listener_test {
namespace {

using namespace fixture;  // NOLINT: the fixture is this file's vocabulary

const Instant kNow = fixture::kT0;

std::array<std::byte, 16> Secret() {
  std::array<std::byte, 16> s{};
  s[3] = std::byte{0x5a};
  return s;
}

const char* ActionName(ListenAction a) {
  switch (a) {
    case ListenAction::kAcceptNew: return "accept";
    case ListenAction::kSendCookie: return "cookie";
    case ListenAction::kCookieAccepted: return "cookie-accepted";
    case ListenAction::kDrop: return "drop";
    case ListenAction::kReset: return "reset";
  }
  return "?";
}

ListenerLoad Idle() {
  ListenerLoad l;
  l.backlog = 4;
  l.half_open_limit = 100;
  l.session_limit = 1000;
  return l;
}
ListenerLoad BacklogFull() {
  ListenerLoad l = Idle();
  l.accept_queued = 2;
  l.embryonic = 2;
  return l;
}
ListenerLoad HalfOpenFull() {
  ListenerLoad l = Idle();
  l.half_open = 100;
  return l;
}
ListenerLoad SessionsFull() {
  ListenerLoad l = BacklogFull();  // the table's limit wins over the others
  l.sessions = 1000;
  return l;
}
ListenerLoad ZeroBacklog() {  // listen(fd, 0) takes one
  ListenerLoad l = Idle();
  l.backlog = 0;
  return l;
}

struct Row {
  const char* name;
  ListenerLoad (*load)();
  bool syncookies;
  std::uint8_t flags;
  const char* action;
  ListenReason reason;
  const char* reply;  // flags of the reply, "none" when nothing is sent
};

TEST(TcpListener, ListenStateTable) {
  const Row rows[] = {
      // RFC 9293 3.10.7.2 first: an RST is ignored, in any load.
      {"rst", Idle, true, kRst, "drop", ListenReason::kRst, "none"},
      {"rst+ack", Idle, true, kRst | kAck, "drop", ListenReason::kRst, "none"},
      {"syn+rst", Idle, true, kSyn | kRst, "drop", ListenReason::kRst, "none"},
      // Second: an ACK gets <SEQ=SEG.ACK><CTL=RST> (no cookie was sent).
      {"ack", Idle, true, kAck, "reset", ListenReason::kAck, "R"},
      {"ack+data flags", Idle, true, kAck | kPsh, "reset", ListenReason::kAck, "R"},
      {"syn+ack", Idle, true, kSyn | kAck, "reset", ListenReason::kAck, "R"},
      {"fin+ack", Idle, false, kFin | kAck, "reset", ListenReason::kAck, "R"},
      // Third: a SYN, by load.
      {"syn", Idle, true, kSyn, "accept", ListenReason::kNone, "none"},
      {"syn+fin", Idle, true, kSyn | kFin, "accept", ListenReason::kNone, "none"},
      {"syn, backlog 0", ZeroBacklog, false, kSyn, "accept", ListenReason::kNone, "none"},
      {"syn, backlog full, cookies", BacklogFull, true, kSyn, "cookie", ListenReason::kBacklogFull, "S."},
      {"syn, backlog full, no cookies", BacklogFull, false, kSyn, "drop", ListenReason::kBacklogFull, "none"},
      {"syn, half-open full, cookies", HalfOpenFull, true, kSyn, "cookie", ListenReason::kHalfOpenLimit, "S."},
      {"syn, half-open full, no cookies", HalfOpenFull, false, kSyn, "drop", ListenReason::kHalfOpenLimit, "none"},
      {"syn, sessions full, cookies", SessionsFull, true, kSyn, "drop", ListenReason::kSessionLimit, "none"},
      // Fourth: neither SYN nor ACK (null and xmas scans).
      {"null", Idle, true, 0, "drop", ListenReason::kNoSynNoAck, "none"},
      {"fin", Idle, true, kFin, "drop", ListenReason::kNoSynNoAck, "none"},
      {"fin+psh+urg", Idle, true, kFin | kPsh | kUrg, "drop", ListenReason::kNoSynNoAck, "none"},
  };
  for (const Row& r : rows) {
    SCOPED_TRACE(r.name);
    TcpListener listener(Secret(), r.syncookies);
    const ListenOutcome out = listener.OnSegment(Seg(r.flags, kIrs, 4242), Ends(), r.load(), Config(), kNow);
    EXPECT_STREQ(ActionName(out.action), r.action);
    EXPECT_EQ(ListenReasonName(out.reason), ListenReasonName(r.reason));
    const bool sends = out.action == ListenAction::kSendCookie || out.action == ListenAction::kReset;
    EXPECT_EQ(sends ? out.reply.FlagString() : std::string("none"), r.reply);
  }
}

TEST(TcpListener, ResetForAnAckTakesItsSequenceFromTheAck) {
  TcpListener listener(Secret(), false);
  const ListenOutcome out = listener.OnSegment(Seg(kAck, kIrs, 777), Ends(), Idle(), Config(), kNow);
  ASSERT_EQ(out.action, ListenAction::kReset);
  EXPECT_EQ(out.reply.seq, SeqNum(777));  // <SEQ=SEG.ACK><CTL=RST>
  EXPECT_FALSE(out.reply.has_ack());
  EXPECT_EQ(out.reply.src_port, 7);
  EXPECT_EQ(out.reply.dst_port, 40000);
}

// The cookie SYN-ACK's MSS: the peer's, or RFC 9293 3.7.1's default when it
// names none (536; 1220 over IPv6), never more than ours.
TEST(TcpListener, CookieCarriesThePeersMssOrTheDefault) {
  TcpListener listener(Secret(), true);
  TcpRepr syn = Seg(kSyn, kIrs);
  ListenOutcome out = listener.OnSegment(syn, Ends(), BacklogFull(), Config(), kNow);
  ASSERT_EQ(out.action, ListenAction::kSendCookie);
  EXPECT_EQ(out.reply.ack, SeqNum(kIrs + 1));
  // Back with the ACK: the MSS the cookie holds is the table's value at or
  // below 536.
  out = listener.OnSegment(Seg(kAck, kIrs + 1, out.reply.seq.value() + 1), Ends(), BacklogFull(), Config(), kNow);
  ASSERT_EQ(out.action, ListenAction::kCookieAccepted);
  EXPECT_EQ(out.cookie.mss, 536);
  syn.options.mss = 9000;
  TcpConfig ours = Config();
  ours.mss = 1460;
  out = listener.OnSegment(syn, Ends(), BacklogFull(), ours, kNow);
  out = listener.OnSegment(Seg(kAck, kIrs + 1, out.reply.seq.value() + 1), Ends(), BacklogFull(), ours, kNow);
  ASSERT_EQ(out.action, ListenAction::kCookieAccepted);
  EXPECT_EQ(out.cookie.mss, 1460);
  EXPECT_EQ(TcpListener::DefaultPeerMss(true), 1220);
  EXPECT_EQ(TcpListener::DefaultPeerMss(false), 536);
}

// An ACK while cookies are out: ours makes a connection (room permitting),
// a forged or stale one is reset and counted as a failed cookie.
TEST(TcpListener, CookieAckTable) {
  TcpListener listener(Secret(), true);
  const ListenOutcome synack = listener.OnSegment(Seg(kSyn, kIrs), Ends(), BacklogFull(), Config(), kNow);
  ASSERT_EQ(synack.action, ListenAction::kSendCookie);
  const std::uint32_t good = synack.reply.seq.value() + 1;
  ListenerLoad queue_full = Idle();
  queue_full.accept_queued = 4;
  ListenerLoad sessions_full = Idle();
  sessions_full.sessions = 1000;
  struct AckRow {
    const char* name;
    std::uint32_t seq, ack;
    ListenerLoad load;
    Instant at;
    const char* action;
    ListenReason reason;
  };
  const AckRow rows[] = {
      {"good", kIrs + 1, good, Idle(), kNow, "cookie-accepted", ListenReason::kNone},
      {"good, next tick", kIrs + 1, good, Idle(), kNow + SynCookies::kTick, "cookie-accepted", ListenReason::kNone},
      {"good, accept queue full", kIrs + 1, good, queue_full, kNow, "drop", ListenReason::kAcceptQueueFull},
      {"good, sessions full", kIrs + 1, good, sessions_full, kNow, "drop", ListenReason::kSessionLimit},
      {"forged", kIrs + 1, good + 99, Idle(), kNow, "reset", ListenReason::kCookieInvalid},
      // (A peer ISN a few apart may still decode, to another MSS: the cookie
      // checks 3 bits of its 24, as Linux's.)
      {"another peer ISN", kIrs + 1 + 0x10000, good, Idle(), kNow, "reset", ListenReason::kCookieInvalid},
      // Past two ticks nothing is out any more: a plain ACK in LISTEN.
      {"stale", kIrs + 1, good, Idle(), kNow + SynCookies::kTick * 2, "reset", ListenReason::kAck},
  };
  for (const AckRow& r : rows) {
    SCOPED_TRACE(r.name);
    const ListenOutcome out = listener.OnSegment(Seg(kAck, r.seq, r.ack), Ends(), r.load, Config(), r.at);
    EXPECT_STREQ(ActionName(out.action), r.action);
    EXPECT_EQ(ListenReasonName(out.reason), ListenReasonName(r.reason));
  }
  // Without cookies nothing is ever checked: even a good one is reset.
  TcpListener plain(Secret(), false);
  const ListenOutcome out = plain.OnSegment(Seg(kAck, kIrs + 1, good), Ends(), Idle(), Config(), kNow);
  EXPECT_EQ(out.action, ListenAction::kReset);
  EXPECT_EQ(out.reason, ListenReason::kAck);
}

// The options the cookie carried come back through the ACK's TSecr.
TEST(TcpListener, CookieOptionsComeBackThroughTheTimestamp) {
  TcpConfig ours = Config();
  ours.timestamps = true;
  TcpRepr syn = Seg(kSyn, kIrs);
  syn.options.mss = 1460;
  syn.options.window_scale = 7;
  syn.options.sack_permitted = true;
  syn.options.timestamps = Timestamps{555, 0};
  TcpListener listener(Secret(), true);
  const ListenOutcome synack = listener.OnSegment(syn, Ends(), HalfOpenFull(), ours, kNow);
  ASSERT_EQ(synack.action, ListenAction::kSendCookie);
  ASSERT_TRUE(synack.reply.options.timestamps.has_value());
  TcpRepr ack = Seg(kAck, kIrs + 1, synack.reply.seq.value() + 1);
  ack.options.timestamps = Timestamps{556, synack.reply.options.timestamps->tsval};
  const ListenOutcome out = listener.OnSegment(ack, Ends(), Idle(), ours, kNow);
  ASSERT_EQ(out.action, ListenAction::kCookieAccepted);
  EXPECT_EQ(out.cookie.mss, 1460);
  EXPECT_EQ(out.cookie.window_scale, std::optional<std::uint8_t>(7));
  EXPECT_TRUE(out.cookie.sack);
  EXPECT_TRUE(out.cookie.timestamps);
}

TEST(TcpListener, TimeWaitReuseTable) {
  const SeqNum rcv_nxt(kIrs);
  struct ReuseRow {
    const char* name;
    std::uint8_t flags;
    std::uint32_t seq;
    std::optional<std::uint32_t> syn_tsval;     // the SYN's timestamp
    std::optional<std::uint32_t> ts_recent;     // the old incarnation's, when it used them
    bool reuse;
  };
  const ReuseRow rows[] = {
      // Without timestamps: the sequence number decides (RFC 9293 3.6.1).
      {"seq past rcv_nxt", kSyn, kIrs + 1, {}, {}, true},
      {"seq at rcv_nxt", kSyn, kIrs, {}, {}, false},
      {"seq before rcv_nxt", kSyn, kIrs - 100, {}, {}, false},
      // RFC 6191: the old one used timestamps and the SYN has one.
      {"newer tsval, old seq", kSyn, kIrs - 100, 2000, 1000, true},
      {"older tsval, newer seq", kSyn, kIrs + 100, 999, 1000, false},
      {"equal tsval, newer seq", kSyn, kIrs + 1, 1000, 1000, true},
      {"equal tsval, old seq", kSyn, kIrs, 1000, 1000, false},
      {"tsval wrapped past", kSyn, kIrs - 1, 5, 0xfffffff0u, true},
      // The SYN without one: by sequence number.
      {"no tsval in the syn, newer seq", kSyn, kIrs + 1, {}, 1000, true},
      {"no tsval in the syn, old seq", kSyn, kIrs - 1, {}, 1000, false},
      // Not a plain SYN: never.
      {"syn+ack", kSyn | kAck, kIrs + 1, {}, {}, false},
      {"syn+rst", kSyn | kRst, kIrs + 1, {}, {}, false},
      {"ack", kAck, kIrs + 1, {}, {}, false},
  };
  for (const ReuseRow& r : rows) {
    SCOPED_TRACE(r.name);
    TcpRepr syn = Seg(r.flags, r.seq);
    if (r.syn_tsval) syn.options.timestamps = Timestamps{*r.syn_tsval, 0};
    EXPECT_EQ(TcpListener::SynReusesTimeWait(syn, rcv_nxt, r.ts_recent), r.reuse);
  }
}

}  // namespace
}  // namespace ringstack::proto::tcp::listener_test
