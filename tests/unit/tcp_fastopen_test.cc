// TCP Fast Open (RFC 7413): the option's bytes both ways, the server's
// cookies, the listener's decision for each kind of SYN, and the
// connection's rows — a passive open that takes the SYN's data, an active
// open whose SYN carries data (acknowledged, not acknowledged, timed out)
// or asks for a cookie.
#include <array>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "protocols/tcp/tcp_fastopen.h"
#include "protocols/tcp/tcp_listener.h"
#include "tests/unit/tcp_fixture.h"

namespace ringstack::proto::tcp {
namespace {

using namespace fixture;  // NOLINT: the fixture is this file's vocabulary

std::array<std::byte, 16> Secret(std::uint8_t b = 0x5a) {
  std::array<std::byte, 16> s{};
  s[0] = std::byte{b};
  return s;
}

std::vector<std::byte> V(std::initializer_list<int> bytes) {
  std::vector<std::byte> v;
  for (const int b : bytes) v.push_back(static_cast<std::byte>(b));
  return v;
}

FastOpenCookie Cookie(std::initializer_list<int> bytes) {
  FastOpenCookie c;
  for (const int b : bytes) c.bytes[c.len++] = static_cast<std::byte>(b);
  return c;
}

TEST(TcpFastOpen, OptionParsesRequestAndCookie) {
  // An empty option (kind 34, length 2) asks for a cookie.
  auto o = TcpOptions::Parse(V({34, 2, 1, 1}));
  ASSERT_TRUE(o.ok());
  ASSERT_TRUE(o->fastopen.has_value());
  EXPECT_EQ(o->fastopen->len, 0);
  // An 8-octet cookie.
  o = TcpOptions::Parse(V({34, 10, 1, 2, 3, 4, 5, 6, 7, 8, 1, 1}));
  ASSERT_TRUE(o.ok());
  ASSERT_TRUE(o->fastopen.has_value());
  EXPECT_EQ(*o->fastopen, Cookie({1, 2, 3, 4, 5, 6, 7, 8}));
}

// RFC 7413 4.1.1: 4 to 16 octets; other lengths (odd, too short, too long)
// are no cookie: the option is ignored, the segment kept (as Linux).
TEST(TcpFastOpen, OptionOfAWrongLengthIsIgnored) {
  for (const auto& bytes : {V({34, 5, 1, 2, 3, 0}), V({34, 4, 1, 2}),
                            V({34, 20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18})}) {
    const auto o = TcpOptions::Parse(bytes);
    ASSERT_TRUE(o.ok());
    EXPECT_FALSE(o->fastopen.has_value());
  }
}

TEST(TcpFastOpen, SynOptionsLayOutAsLinux) {
  TcpOptions o;
  o.mss = 1460;
  o.sack_permitted = true;
  o.timestamps = Timestamps{7, 0};
  o.window_scale = 7;
  o.fastopen = Cookie({0xa, 0xb, 0xc, 0xd, 0xe, 0xf, 0x10, 0x11});
  ASSERT_EQ(o.EmitLen(), 32u);
  std::vector<std::byte> out(o.EmitLen());
  o.Emit(out);
  const std::vector<std::byte> want = V({2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 7, 0, 0, 0, 0, 1, 3, 3, 7,
                                         34, 10, 0xa, 0xb, 0xc, 0xd, 0xe, 0xf, 0x10, 0x11, 1, 1});
  EXPECT_EQ(out, want);
  EXPECT_EQ(*TcpOptions::Parse(out), o);
  // A request: the kind, length 2, NOP NOP.
  TcpOptions r;
  r.fastopen = FastOpenCookie{};
  ASSERT_EQ(r.EmitLen(), 4u);
  std::vector<std::byte> req(4);
  r.Emit(req);
  EXPECT_EQ(req, V({34, 2, 1, 1}));
  // The longest cookie still fits beside a SYN's other options.
  o.fastopen->len = 16;
  EXPECT_EQ(o.EmitLen(), 40u);
}

TEST(TcpFastOpen, ModeNamesRoundTrip) {
  for (const FastOpenMode m : {FastOpenMode::kOff, FastOpenMode::kClient, FastOpenMode::kServer, FastOpenMode::kBoth}) {
    EXPECT_EQ(ParseFastOpenMode(FastOpenModeName(m)), m);
  }
  EXPECT_EQ(ParseFastOpenMode("1"), std::nullopt);
  EXPECT_TRUE(FastOpenClient(FastOpenMode::kBoth) && FastOpenServer(FastOpenMode::kBoth));
  EXPECT_FALSE(FastOpenServer(FastOpenMode::kClient));
}

// RFC 7413 4.1.2: a MAC of the client's address under a secret that
// rotates; good in its period and the next, not after.
TEST(TcpFastOpen, CookiesAreTheClientsAndAge) {
  const FastOpenCookies cookies(Secret());
  const IpAddress a(Ipv4Address(0xc0000201)), b(Ipv4Address(0xc0000202));
  const Instant t = kT0;
  const FastOpenCookie c = cookies.Make(a, t);
  EXPECT_EQ(c.len, FastOpenCookies::kLen);
  EXPECT_TRUE(cookies.Check(a, c, t));
  EXPECT_FALSE(cookies.Check(b, c, t));                             // another client's
  EXPECT_FALSE(FastOpenCookies(Secret(0x5b)).Check(a, c, t));       // another secret's
  EXPECT_TRUE(cookies.Check(a, c, t + FastOpenCookies::kRotation));  // the next period
  EXPECT_FALSE(cookies.Check(a, c, t + FastOpenCookies::kRotation * 2));
  FastOpenCookie shorter = c;
  shorter.len = 4;
  EXPECT_FALSE(cookies.Check(a, shorter, t));
  // IPv6 clients too, and their cookies differ from an IPv4 one.
  const IpAddress v6(*Ipv6Address::Parse("2001:db8::1"));
  EXPECT_TRUE(cookies.Check(v6, cookies.Make(v6, t), t));
  EXPECT_FALSE(cookies.Make(v6, t) == c);
}

ListenerLoad Load(std::size_t fastopen_max, std::size_t queued = 0) {
  ListenerLoad l;
  l.backlog = 8;
  l.half_open_limit = 100;
  l.session_limit = 1000;
  l.fastopen_max = fastopen_max;
  l.fastopen_queued = queued;
  return l;
}

TcpRepr Syn(std::optional<FastOpenCookie> cookie) {
  TcpRepr s = Seg(kSyn, kIrs);
  s.options.mss = 1460;
  s.options.fastopen = cookie;
  return s;
}

// RFC 7413 4.2.2, the server's table.
TEST(TcpFastOpen, ListenerTakesGoodCookiesWithinItsQueue) {
  TcpListener l(Secret(1), true);
  l.EnableFastOpen(Secret());
  const FastOpenCookie good = FastOpenCookies(Secret()).Make(Ends().remote, kT0);
  struct Row {
    const char* what;
    std::optional<FastOpenCookie> cookie;
    ListenerLoad load;
    FastOpenVerdict verdict;
    bool take_data;
    bool cookie_out;
  } rows[] = {
      {"no option", std::nullopt, Load(8), FastOpenVerdict::kNone, false, false},
      {"request", FastOpenCookie{}, Load(8), FastOpenVerdict::kRequested, false, true},
      {"good cookie", good, Load(8), FastOpenVerdict::kAccepted, true, false},
      {"bad cookie", Cookie({1, 2, 3, 4, 5, 6, 7, 8}), Load(8), FastOpenVerdict::kBadCookie, false, true},
      {"good cookie, queue full", good, Load(2, 2), FastOpenVerdict::kQueueFull, false, false},
      {"listener takes none", good, Load(0), FastOpenVerdict::kNone, false, false},
  };
  for (const Row& r : rows) {
    SCOPED_TRACE(r.what);
    const ListenOutcome out = l.OnSegment(Syn(r.cookie), Ends(), r.load, Config(), kT0);
    EXPECT_EQ(out.action, ListenAction::kAcceptNew);
    EXPECT_EQ(out.fastopen, r.verdict);
    EXPECT_EQ(out.fastopen_accept.take_data, r.take_data);
    EXPECT_EQ(out.fastopen_accept.cookie.has_value(), r.cookie_out);
    if (r.cookie_out) {
      EXPECT_EQ(*out.fastopen_accept.cookie, good);
    }
  }
  // Fast Open not enabled: nothing.
  TcpListener plain(Secret(1), true);
  EXPECT_EQ(plain.OnSegment(Syn(good), Ends(), Load(8), Config(), kT0).fastopen, FastOpenVerdict::kNone);
}

// A passive open with a good cookie: the SYN's data is readable at once
// and the SYN-ACK acknowledges it; the handshake's ACK then establishes.
TEST(TcpFastOpen, PassiveOpenTakesTheSynsData) {
  Fixture f;
  TcpRepr syn = Syn(Cookie({1, 2, 3, 4, 5, 6, 7, 8}));
  f.payload_store = "hello";
  syn.payload = std::as_bytes(std::span(f.payload_store));
  f.c = TcpConnection::Accept(Config(), Ends(), syn, SeqNum(kIss), f.now, f.rec.out, FastOpenAccept{.take_data = true});
  f.rec.Absorb();
  EXPECT_EQ(f.rec.rx, "hello");
  EXPECT_EQ(f.rec.committed, 5u);
  ASSERT_EQ(f.rec.sent.size(), 1u);
  EXPECT_EQ(f.rec.sent[0].h.FlagString(), "S.");
  EXPECT_EQ(f.rec.sent[0].h.ack.value(), kIrs + 1 + 5);
  EXPECT_FALSE(f.rec.sent[0].h.options.fastopen.has_value());  // a good cookie is not sent back
  EXPECT_TRUE(f.c->fastopen().passive);
  f.rec.Take();
  f.In(Seg(kAck, kIrs + 6, kIss + 1));
  EXPECT_EQ(f.State(), "ESTABLISHED");
  EXPECT_EQ(f.rec.committed, 5u);  // not delivered twice
}

// A request or a bad cookie: the data is not taken; the SYN-ACK (and a
// resent one) brings the cookie the listener made.
TEST(TcpFastOpen, PassiveOpenWithoutAGoodCookieIgnoresTheData) {
  Fixture f;
  TcpRepr syn = Syn(Cookie({9, 9, 9, 9, 9, 9, 9, 9}));
  f.payload_store = "hello";
  syn.payload = std::as_bytes(std::span(f.payload_store));
  const FastOpenCookie fresh = Cookie({1, 2, 3, 4, 5, 6, 7, 8});
  f.c = TcpConnection::Accept(Config(), Ends(), syn, SeqNum(kIss), f.now, f.rec.out,
                              FastOpenAccept{.take_data = false, .cookie = fresh});
  f.rec.Absorb();
  EXPECT_EQ(f.rec.committed, 0u);
  ASSERT_EQ(f.rec.sent.size(), 1u);
  EXPECT_EQ(f.rec.sent[0].h.ack.value(), kIrs + 1);
  ASSERT_TRUE(f.rec.sent[0].h.options.fastopen.has_value());
  EXPECT_EQ(*f.rec.sent[0].h.options.fastopen, fresh);
  f.rec.sent.clear();
  f.In(syn);  // the client's SYN again: our SYN-ACK went missing
  ASSERT_EQ(f.rec.sent.size(), 1u);
  EXPECT_EQ(*f.rec.sent[0].h.options.fastopen, fresh);
}

std::unique_ptr<Fixture> ActiveOpen(std::optional<FastOpenCookie> cookie, std::uint32_t queued,
                                    std::uint16_t mss = 1460) {
  auto f = std::make_unique<Fixture>();
  TcpConfig config = Config();
  config.nodelay = true;
  const FastOpenConnect fo{.cookie = cookie, .queued = queued, .mss = mss};
  f->c = TcpConnection::Connect(config, Ends(), SeqNum(kIss), f->now, f->rec.out, &fo);
  f->rec.Absorb();
  return f;
}

TcpRepr SynAck(std::uint32_t ack, std::optional<FastOpenCookie> cookie = std::nullopt) {
  TcpRepr s = Seg(kSyn | kAck, kIrs, ack);
  s.options.mss = 1460;
  s.options.fastopen = cookie;
  return s;
}

// RFC 7413 4.2.1: with a cookie, the SYN carries the queued data, as much
// as the server's MSS less a SYN's options; its SYN-ACK acknowledging it
// frees it, and the rest follows at once.
TEST(TcpFastOpen, ActiveOpenSendsDataInTheSyn) {
  const FastOpenCookie cookie = Cookie({1, 2, 3, 4, 5, 6, 7, 8});
  auto f = ActiveOpen(cookie, 3000);
  ASSERT_EQ(f->rec.sent.size(), 1u);
  const Recorder::Sent& syn = f->rec.sent[0];
  EXPECT_EQ(syn.h.FlagString(), "S");
  EXPECT_EQ(syn.h.seq.value(), kIss);
  EXPECT_EQ(syn.offset, 0u);
  EXPECT_EQ(syn.len, 1460u - 40u);
  ASSERT_TRUE(syn.h.options.fastopen.has_value());
  EXPECT_EQ(*syn.h.options.fastopen, cookie);
  EXPECT_EQ(f->OurNxt(), kIss + 1 + 1420);
  f->rec.sent.clear();
  f->In(SynAck(kIss + 1 + 1420));
  EXPECT_EQ(f->State(), "ESTABLISHED");
  EXPECT_EQ(f->rec.released, 1420u);
  EXPECT_TRUE(f->c->fastopen().data_acked);
  EXPECT_EQ(f->c->stats().fastopen_active, 1u);
  // The other 1580 bytes go now, from SND.NXT on.
  std::uint32_t more = 0;
  for (const auto& s : f->rec.sent) {
    if (s.len == 0) continue;
    EXPECT_EQ(s.h.seq.value(), kIss + 1 + 1420 + more);
    more += s.len;
  }
  EXPECT_EQ(more, 1580u);
}

// 4.2.2: a SYN-ACK that acknowledges only the SYN: the data goes again
// after the handshake, from the first byte; counted as a failure.
TEST(TcpFastOpen, ActiveOpenResendsDataTheSynAckDidNotAcknowledge) {
  auto f = ActiveOpen(Cookie({1, 2, 3, 4}), 500);
  EXPECT_EQ(f->rec.sent[0].len, 500u);
  f->rec.sent.clear();
  const FastOpenCookie fresh = Cookie({5, 6, 7, 8, 9, 10, 11, 12});
  f->In(SynAck(kIss + 1, fresh));
  EXPECT_EQ(f->State(), "ESTABLISHED");
  EXPECT_EQ(f->rec.released, 0u);
  EXPECT_EQ(f->c->stats().fastopen_active_fail, 1u);
  EXPECT_FALSE(f->c->fastopen().data_acked);
  ASSERT_TRUE(f->c->fastopen().received.has_value());
  EXPECT_EQ(*f->c->fastopen().received, fresh);  // for the cache
  std::uint32_t resent = 0;
  for (const auto& s : f->rec.sent) {
    if (s.len == 0) continue;
    EXPECT_EQ(s.h.seq.value(), kIss + 1 + resent);
    EXPECT_EQ(s.offset, resent);
    resent += s.len;
  }
  EXPECT_EQ(resent, 500u);
}

// Without a cookie the SYN asks for one and carries no data; the data
// waits for the handshake; the SYN-ACK's cookie is kept.
TEST(TcpFastOpen, ActiveOpenWithoutACookieAsksForOne) {
  auto f = ActiveOpen(std::nullopt, 100);
  ASSERT_EQ(f->rec.sent.size(), 1u);
  EXPECT_EQ(f->rec.sent[0].len, 0u);
  ASSERT_TRUE(f->rec.sent[0].h.options.fastopen.has_value());
  EXPECT_EQ(f->rec.sent[0].h.options.fastopen->len, 0);
  f->rec.sent.clear();
  f->In(SynAck(kIss + 1, Cookie({1, 2, 3, 4, 5, 6, 7, 8})));
  EXPECT_TRUE(f->c->fastopen().received.has_value());
  EXPECT_EQ(f->c->stats().fastopen_active + f->c->stats().fastopen_active_fail, 0u);
  std::uint32_t sent = 0;
  for (const auto& s : f->rec.sent) sent += s.len;
  EXPECT_EQ(sent, 100u);
}

// A SYN with data that times out goes again plain (no data, no option: a
// path that drops either still opens); the first SYN's late SYN-ACK,
// acknowledging its data, is still good.
TEST(TcpFastOpen, ASynThatTimesOutGoesAgainPlain) {
  auto f = ActiveOpen(Cookie({1, 2, 3, 4, 5, 6, 7, 8}), 200);
  f->rec.sent.clear();
  f->now = f->now + Duration::Seconds(1);
  f->Timer();
  ASSERT_EQ(f->rec.sent.size(), 1u);
  EXPECT_EQ(f->rec.sent[0].h.FlagString(), "S");
  EXPECT_EQ(f->rec.sent[0].len, 0u);
  EXPECT_FALSE(f->rec.sent[0].h.options.fastopen.has_value());
  EXPECT_TRUE(f->c->fastopen().syn_resent);
  f->rec.sent.clear();
  f->In(SynAck(kIss + 1 + 200));
  EXPECT_EQ(f->State(), "ESTABLISHED");
  EXPECT_EQ(f->rec.released, 200u);
  EXPECT_TRUE(f->c->fastopen().data_acked);
}

// An ICMP report that our SYN with data was too large (it quotes the
// SYN): the SYN goes again at once, plain; the data after the handshake,
// cut to the path.
TEST(TcpFastOpen, ASynTooLargeForThePathGoesAgainPlainAtOnce) {
  auto f = ActiveOpen(Cookie({1, 2, 3, 4, 5, 6, 7, 8}), 3000);
  EXPECT_EQ(f->rec.sent[0].len, 1420u);
  f->rec.sent.clear();
  EXPECT_EQ(f->c->OnPathMtu(1000, SeqNum(kIss), f->now, f->rec.out), PmtuVerdict::kLowered);
  f->rec.Absorb();
  ASSERT_EQ(f->rec.sent.size(), 1u);
  EXPECT_EQ(f->rec.sent[0].h.FlagString(), "S");
  EXPECT_EQ(f->rec.sent[0].len, 0u);
  EXPECT_FALSE(f->rec.sent[0].h.options.fastopen.has_value());
  EXPECT_EQ(f->c->path_mtu(), 1000u);
  // A second report about it changes nothing more.
  EXPECT_EQ(f->c->OnPathMtu(900, SeqNum(kIss), f->now, f->rec.out), PmtuVerdict::kIgnored);
  f->rec.Absorb();
  f->rec.sent.clear();
  f->In(SynAck(kIss + 1));
  EXPECT_EQ(f->State(), "ESTABLISHED");
  EXPECT_EQ(f->c->stats().fastopen_active_fail, 1u);
  std::uint32_t sent = 0;
  for (const auto& s : f->rec.sent) {
    EXPECT_LE(s.len, 1000u - 40u);
    sent += s.len;
  }
  EXPECT_EQ(sent, 3000u);
}

// RFC 7413 4.1.3: an ICMP unreachable about our SYN with data (a path
// that refuses such SYNs): the SYN goes again at once, plain; the owner
// turns Fast Open to the server off. About anything else: nothing (a soft
// error for TCP).
TEST(TcpFastOpen, AnUnreachableAboutTheSynWithDataSendsItAgainPlain) {
  auto f = ActiveOpen(Cookie({1, 2, 3, 4, 5, 6, 7, 8}), 500);
  f->rec.sent.clear();
  EXPECT_FALSE(f->c->OnFastOpenUnreachable(SeqNum(kIss + 1), f->now, f->rec.out));  // not the SYN
  f->rec.Absorb();
  EXPECT_TRUE(f->rec.sent.empty());
  EXPECT_TRUE(f->c->OnFastOpenUnreachable(SeqNum(kIss), f->now, f->rec.out));
  f->rec.Absorb();
  ASSERT_EQ(f->rec.sent.size(), 1u);
  EXPECT_EQ(f->rec.sent[0].h.FlagString(), "S");
  EXPECT_EQ(f->rec.sent[0].len, 0u);
  EXPECT_FALSE(f->rec.sent[0].h.options.fastopen.has_value());
  EXPECT_EQ(f->c->stats().fastopen_syn_icmp, 1u);
  EXPECT_FALSE(f->c->OnFastOpenUnreachable(SeqNum(kIss), f->now, f->rec.out));  // once
  f->rec.Absorb();
  f->rec.sent.clear();
  f->In(SynAck(kIss + 1));
  EXPECT_EQ(f->State(), "ESTABLISHED");
  std::uint32_t sent = 0;
  for (const auto& s : f->rec.sent) sent += s.len;
  EXPECT_EQ(sent, 500u);
  // A plain SYN (no data) takes an unreachable as TCP always has: no change.
  auto plain = ActiveOpen(std::nullopt, 500);
  plain->rec.sent.clear();
  EXPECT_FALSE(plain->c->OnFastOpenUnreachable(SeqNum(kIss), plain->now, plain->rec.out));
  plain->rec.Absorb();
  EXPECT_TRUE(plain->rec.sent.empty());
}

// A small MSS from the server's last SYN-ACK bounds the SYN's data.
TEST(TcpFastOpen, TheServersMssBoundsTheSynsData) {
  auto f = ActiveOpen(Cookie({1, 2, 3, 4}), 3000, 536);
  EXPECT_EQ(f->rec.sent[0].len, 536u - 40u);
}

}  // namespace
}  // namespace ringstack::proto::tcp
