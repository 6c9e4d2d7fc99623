// JSON (protocols/common/json.h) and the iperf3 protocol's values
// (protocols/iperf3/iperf3.h): reader rows, the writer, the parameters and
// results exactly as Debian's iperf3 3.12 sent them in the lab, the UDP
// datagram header and the receiver's loss and jitter accounting.
#include <cstring>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "protocols/common/json.h"
#include "protocols/iperf3/iperf3.h"
#include "protocols/iperf3/iperf3_control.h"

namespace ringstack::proto {
namespace {

TEST(Json, ReadsWhatRfc8259Allows) {
  const auto v = json::Parse(R"( {"a": [1, -2.5e3, 0.25, true, false, null], "b": "x\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00",
                                 "c": {}, "d": [], "e": 0} )");
  ASSERT_TRUE(v);
  ASSERT_TRUE(v->is_object());
  const json::Value* a = v->Find("a");
  ASSERT_NE(a, nullptr);
  ASSERT_EQ(a->items().size(), 6u);
  EXPECT_EQ(a->items()[1].number(), -2500);
  EXPECT_EQ(a->items()[2].number(), 0.25);
  EXPECT_TRUE(a->items()[3].boolean());
  EXPECT_EQ(a->items()[5].type(), json::Value::Type::kNull);
  EXPECT_EQ(v->GetString("b"), "x\"\\/\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_TRUE(v->Find("c")->is_object());
  EXPECT_EQ(v->GetNumber("e"), 0);
  EXPECT_EQ(v->GetNumber("b"), std::nullopt);  // a string, not a number
  EXPECT_EQ(v->Find("zz"), nullptr);
}

TEST(Json, RefusesMalformedTextWhole) {
  const char* const bad[] = {
      "",           "{",          "}",           "[1,]",        "{\"a\":}",    "{\"a\" 1}",   "{a:1}",
      "01",         "1.",         ".5",          "-",           "1e",          "+1",          "0x10",
      "\"\\x\"",    "\"\\u12\"",  "\"\\ud800\"", "\"\\udc00\"", "\"a\nb\"",    "tru",         "nul",
      "[1] [2]",    "{} x",       "\"open",      "1e999",       "NaN",         "[\"\\u00zz\"]",
  };
  for (const char* text : bad) EXPECT_FALSE(json::Parse(text)) << "accepted: " << text;
}

TEST(Json, NestingIsBounded) {
  std::string deep(20, '[');
  deep += std::string(20, ']');
  EXPECT_FALSE(json::Parse(deep));      // past the default 16
  EXPECT_TRUE(json::Parse(deep, 20));
  std::string hostile(100000, '[');     // no recursion to the bottom: refused at 16
  EXPECT_FALSE(json::Parse(hostile));
}

TEST(Json, WriterRoundTrips) {
  json::Value v = json::Value::Object();
  v.Set("n", json::Value::Number(272487624));
  v.Set("f", json::Value::Number(1.000036));
  v.Set("neg", json::Value::Number(-1));
  v.Set("s", json::Value::String("tab\there \"q\" \x01"));
  json::Value& arr = v.Set("a", json::Value::Array());
  arr.Add(json::Value::Bool(true));
  arr.Add(json::Value());
  v.Set("n", json::Value::Number(7));  // replaces
  const std::string text = v.Write();
  EXPECT_EQ(text, R"({"n":7,"f":1.0000359999999999,"neg":-1,"s":"tab\there \"q\" \u0001","a":[true,null]})");
  const auto back = json::Parse(text);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->GetNumber("f"), 1.000036);
  EXPECT_EQ(back->GetString("s"), "tab\there \"q\" \x01");
  EXPECT_EQ(back->Write(), text);
}

// What iperf3 3.12 sent ringstack's server for `iperf3 -c ... -t 1 -R` (the
// lab, `iperf3 -d`), compacted.
constexpr const char* kParams312 =
    R"({"tcp":true,"omit":0,"time":1,"num":0,"blockcount":0,"parallel":1,"reverse":true,"len":131072,)"
    R"("pacing_timer":1000,"client_version":"3.12"})";
// ... and its results, -1 printed as 2^64 - 1.
constexpr const char* kResults312 =
    R"({"cpu_util_total":33.3586276519412,"cpu_util_user":1.723887858438905,"cpu_util_system":31.6347397935023,)"
    R"("sender_has_retransmits":18446744073709551615,"congestion_used":"bbr","streams":[{"id":1,"bytes":272487624,)"
    R"("retransmits":18446744073709551615,"jitter":0,"errors":0,"packets":0,"start_time":0,"end_time":1.000036}]})";

TEST(Iperf3, ParsesTheParametersIperf312Sends) {
  std::string why;
  const auto p = iperf3::Params::Parse(kParams312, &why);
  ASSERT_TRUE(p) << why;
  EXPECT_FALSE(p->udp);
  EXPECT_EQ(p->time, 1);
  EXPECT_TRUE(p->reverse);
  EXPECT_FALSE(p->bidir);
  EXPECT_EQ(p->len, 131072u);
  EXPECT_EQ(p->parallel, 1);
  EXPECT_EQ(p->client_version, "3.12");
  EXPECT_TRUE(p->server_sends());
  EXPECT_FALSE(p->client_sends());
  // What ringstack's client sends parses back the same.
  iperf3::Params q;
  q.udp = true;
  q.parallel = 3;
  q.bidir = true;
  q.bandwidth = 20'000'000;
  q.udp_counters_64bit = true;
  q.congestion = "newreno";
  const auto back = iperf3::Params::Parse(q.ToJson(), &why);
  ASSERT_TRUE(back) << why;
  EXPECT_TRUE(back->udp && back->bidir && back->udp_counters_64bit);
  EXPECT_EQ(back->parallel, 3);
  EXPECT_EQ(back->bandwidth, 20'000'000u);
  EXPECT_EQ(back->len, 1460u);
  EXPECT_EQ(back->congestion, "newreno");
  EXPECT_EQ(back->stream_count(), 6);
}

TEST(Iperf3, RefusesBadParametersWithAReason) {
  struct Row {
    const char* json;
    const char* why;
  };
  const Row rows[] = {
      {"[1]", "not a JSON object"},
      {"{\"tcp\":true", "not a JSON object"},
      {"{\"time\":10}", "no protocol"},
      {"{\"tcp\":true,\"udp\":true}", "both TCP and UDP"},
      {"{\"sctp\":true}", "SCTP"},
      {"{\"tcp\":true,\"parallel\":0}", "\"parallel\""},
      {"{\"tcp\":true,\"parallel\":129}", "\"parallel\""},
      {"{\"tcp\":true,\"parallel\":1.5}", "\"parallel\""},
      {"{\"tcp\":true,\"time\":-1}", "\"time\""},
      {"{\"tcp\":true,\"time\":\"10\"}", "\"time\""},
      {"{\"tcp\":true,\"len\":2000000}", "\"len\""},
      {"{\"udp\":true,\"len\":70000}", "\"len\""},
      {"{\"udp\":true,\"len\":8}", "shorter than the UDP datagram header"},
      {"{\"tcp\":true,\"reverse\":\"yes\"}", "\"reverse\""},
      {"{\"tcp\":true,\"time\":0}", "no end"},
      {"{\"tcp\":true,\"congestion\":7}", "\"congestion\""},
  };
  for (const Row& r : rows) {
    std::string why;
    EXPECT_FALSE(iperf3::Params::Parse(r.json, &why)) << r.json;
    EXPECT_NE(why.find(r.why), std::string::npos) << r.json << " -> " << why;
  }
}

TEST(Iperf3, ResultsOfIperf312AndOurOwnRoundTrip) {
  std::string why;
  const auto r = iperf3::Results::Parse(kResults312, &why);
  ASSERT_TRUE(r) << why;
  EXPECT_EQ(r->sender_has_retransmits, -1);
  EXPECT_EQ(r->congestion_used, "bbr");
  ASSERT_EQ(r->streams.size(), 1u);
  EXPECT_EQ(r->streams[0].id, 1);
  EXPECT_EQ(r->streams[0].bytes, 272487624u);
  EXPECT_EQ(r->streams[0].retransmits, -1);
  EXPECT_DOUBLE_EQ(r->streams[0].end_time, 1.000036);

  iperf3::Results mine;
  mine.cpu_total = 12.5;
  mine.sender_has_retransmits = 1;
  mine.server_output_text = "line one\nline two\n";
  mine.streams.push_back({1, 123456789012ull, 3, 0.0004, 2, 1000, 0, 10.0, true});
  mine.streams.push_back({3, 5, -1, 0, 0, 0, 0, 10.0, false});
  const auto back = iperf3::Results::Parse(mine.ToJson(), &why);
  ASSERT_TRUE(back) << why;
  ASSERT_EQ(back->streams.size(), 2u);
  EXPECT_EQ(back->streams[0].bytes, 123456789012ull);
  EXPECT_EQ(back->streams[0].retransmits, 3);
  EXPECT_EQ(back->streams[0].errors, 2);
  EXPECT_EQ(back->streams[0].packets, 1000);
  EXPECT_DOUBLE_EQ(back->streams[0].jitter, 0.0004);
  EXPECT_EQ(back->streams[1].id, 3);
  EXPECT_EQ(back->streams[1].retransmits, -1);
  EXPECT_EQ(back->server_output_text, mine.server_output_text);

  for (const char* bad : {"{}", R"({"cpu_util_total":1,"cpu_util_user":1,"cpu_util_system":1,"streams":[]})",
                          R"({"cpu_util_total":1,"cpu_util_user":1,"cpu_util_system":1,"sender_has_retransmits":0,)"
                          R"("streams":[{"id":1,"bytes":1}]})",
                          R"({"cpu_util_total":1,"cpu_util_user":1,"cpu_util_system":1,"sender_has_retransmits":0,)"
                          R"("streams":[{"id":1.5,"bytes":1,"retransmits":0,"jitter":0,"errors":0,"packets":0}]})",
                          R"({"cpu_util_total":1,"cpu_util_user":1,"cpu_util_system":1,"sender_has_retransmits":0,)"
                          R"("streams":[{"id":1,"bytes":-4,"retransmits":0,"jitter":0,"errors":0,"packets":0}]})"}) {
    EXPECT_FALSE(iperf3::Results::Parse(bad, &why)) << bad;
  }
}

TEST(Iperf3, CookiesStatesAndFraming) {
  std::uint32_t r[36];
  for (int i = 0; i < 36; ++i) r[i] = static_cast<std::uint32_t>(i * 7919);
  const std::string cookie = iperf3::MakeCookie(r);
  ASSERT_EQ(cookie.size(), iperf3::kCookieLen);
  EXPECT_TRUE(iperf3::ValidCookie(std::as_bytes(std::span(cookie))));
  std::string bad = cookie;
  bad[3] = '1';  // not in [a-z2-7]
  EXPECT_FALSE(iperf3::ValidCookie(std::as_bytes(std::span(bad))));
  bad = cookie;
  bad.back() = 'a';  // no NUL
  EXPECT_FALSE(iperf3::ValidCookie(std::as_bytes(std::span(bad))));
  EXPECT_FALSE(iperf3::ValidCookie(std::as_bytes(std::span(cookie).first(36))));

  EXPECT_EQ(iperf3::StateName(13), "EXCHANGE_RESULTS");
  EXPECT_EQ(iperf3::StateName(-1), "ACCESS_DENIED");
  EXPECT_EQ(iperf3::StateName(99), "state 99");
  EXPECT_TRUE(iperf3::IsKnownState(16));
  EXPECT_FALSE(iperf3::IsKnownState(3));

  const std::string framed = iperf3::FrameJson("{\"a\":1}");
  EXPECT_EQ(framed, std::string("\0\0\0\x07{\"a\":1}", 11));
  EXPECT_EQ(iperf3::ParseJsonLength(std::as_bytes(std::span(framed).first(4))), 7u);
  const std::byte huge[4] = {std::byte{0x7f}, std::byte{0xff}, std::byte{0xff}, std::byte{0xff}};
  EXPECT_EQ(iperf3::ParseJsonLength(huge), std::nullopt);
  const std::byte zero[4] = {};
  EXPECT_EQ(iperf3::ParseJsonLength(zero), std::nullopt);
}

TEST(Iperf3, StreamsAreNumberedAndAssignedAsIperf3Does) {
  EXPECT_EQ(iperf3::StreamId(0), 1);
  EXPECT_EQ(iperf3::StreamId(1), 3);
  EXPECT_EQ(iperf3::StreamId(2), 4);
  iperf3::Params p;
  p.parallel = 2;
  EXPECT_FALSE(iperf3::ServerSendsOnStream(p, 0));
  EXPECT_FALSE(iperf3::ServerSendsOnStream(p, 1));
  p.reverse = true;
  EXPECT_TRUE(iperf3::ServerSendsOnStream(p, 0));
  p.reverse = false;
  p.bidir = true;  // the client's sending streams come first
  EXPECT_FALSE(iperf3::ServerSendsOnStream(p, 1));
  EXPECT_TRUE(iperf3::ServerSendsOnStream(p, 2));
  EXPECT_TRUE(iperf3::ServerSendsOnStream(p, 3));
}

TEST(Iperf3, UdpHeaderAndConnectWords) {
  std::byte d[16];
  iperf3::UdpHeader h{1700000000, 123456, 0x1'0000'0002ull};
  h.Emit(d, true);
  const auto back = iperf3::UdpHeader::Parse(d, true);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->count, 0x1'0000'0002ull);
  EXPECT_EQ(back->usec, 123456u);
  h.Emit(d, false);
  EXPECT_EQ(iperf3::UdpHeader::Parse(d, false)->count, 2u);  // 32 bits
  EXPECT_FALSE(iperf3::UdpHeader::Parse(std::span(d).first(11), false));
  EXPECT_FALSE(iperf3::UdpHeader::Parse(std::span(d).first(15), true));

  std::byte w[4];
  iperf3::EmitUdpConnectWord(iperf3::kUdpConnectReply, w);
  EXPECT_EQ(std::memcmp(w, "6789", 4), 0);  // as iperf3 on x86 writes it
  EXPECT_TRUE(iperf3::IsUdpConnectWord(iperf3::kUdpConnectReply, w));
  EXPECT_TRUE(iperf3::IsUdpConnectWord(iperf3::kUdpConnectReply, std::as_bytes(std::span("9876", 4))));
  EXPECT_FALSE(iperf3::IsUdpConnectWord(iperf3::kUdpConnectReply, std::as_bytes(std::span("6788", 4))));
  EXPECT_FALSE(iperf3::IsUdpConnectWord(iperf3::kUdpConnectReply, std::span(w).first(3)));
}

TEST(Iperf3, UdpReceiverCountsLossReorderingAndJitter) {
  iperf3::UdpReceiver rx;
  auto at = [](std::uint64_t n, double sent) {
    iperf3::UdpHeader h;
    h.sec = static_cast<std::uint32_t>(sent);
    h.usec = static_cast<std::uint32_t>((sent - h.sec) * 1e6 + 0.5);
    h.count = n;
    return h;
  };
  rx.OnDatagram(at(1, 100.0), 1000, 100.001);
  rx.OnDatagram(at(2, 100.01), 1000, 100.011);
  rx.OnDatagram(at(5, 100.04), 1000, 100.041);  // 3 and 4 missing
  EXPECT_EQ(rx.packets, 5u);
  EXPECT_EQ(rx.errors, 2);
  rx.OnDatagram(at(3, 100.02), 1000, 100.045);  // late: one fewer lost
  EXPECT_EQ(rx.errors, 1);
  EXPECT_EQ(rx.out_of_order, 1u);
  EXPECT_EQ(rx.bytes, 4000u);
  // Jitter (RFC 1889 6.3.1): the first transit (1 ms, from 0) gives 1/16
  // of it; equal transits then shrink it by 15/16 each.
  iperf3::UdpReceiver j;
  j.OnDatagram(at(1, 10.0), 100, 10.001);
  EXPECT_NEAR(j.jitter, 0.001 / 16, 1e-7);
  j.OnDatagram(at(2, 10.1), 100, 10.101);
  EXPECT_NEAR(j.jitter, 0.001 / 16 * 15 / 16, 1e-7);
  j.OnDatagram(at(3, 10.2), 100, 10.205);  // 4 ms more transit
  EXPECT_NEAR(j.jitter, 0.001 / 16 * 15 / 16 * 15 / 16 + 0.004 / 16, 1e-6);
}

// The client's control sequence, row by row: each phase's expected state
// and what it leads to, the server's three ways to end a test in any phase,
// and states out of turn.
TEST(Iperf3Control, ClientSequenceRowByRow) {
  using iperf3::ClientAction;
  using iperf3::ClientPhase;
  using iperf3::State;
  struct Row {
    ClientPhase phase;
    bool creating;
    State state;
    ClientAction action;
    ClientPhase next;
  };
  const Row rows[] = {
      // The sequence.
      {ClientPhase::kParamExchange, false, State::kParamExchange, ClientAction::kSendParams, ClientPhase::kCreateStreams},
      {ClientPhase::kCreateStreams, false, State::kCreateStreams, ClientAction::kOpenStreams, ClientPhase::kCreateStreams},
      {ClientPhase::kCreateStreams, true, State::kTestStart, ClientAction::kAwaitRunning, ClientPhase::kStarting},
      {ClientPhase::kStarting, false, State::kTestRunning, ClientAction::kStartTest, ClientPhase::kRunning},
      {ClientPhase::kWaitExchange, false, State::kExchangeResults, ClientAction::kSendResults,
       ClientPhase::kServerResults},
      {ClientPhase::kWaitDisplay, false, State::kDisplayResults, ClientAction::kFinish, ClientPhase::kDone},
      // The server ends it, whatever the phase.
      {ClientPhase::kParamExchange, false, State::kAccessDenied, ClientAction::kAccessDenied,
       ClientPhase::kParamExchange},
      {ClientPhase::kRunning, false, State::kServerTerminate, ClientAction::kServerTerminate, ClientPhase::kRunning},
      {ClientPhase::kWaitExchange, false, State::kServerError, ClientAction::kServerError, ClientPhase::kWaitExchange},
      // Out of turn.
      {ClientPhase::kParamExchange, false, State::kCreateStreams, ClientAction::kUnexpected,
       ClientPhase::kParamExchange},
      {ClientPhase::kCreateStreams, false, State::kTestStart, ClientAction::kUnexpected, ClientPhase::kCreateStreams},
      {ClientPhase::kCreateStreams, true, State::kCreateStreams, ClientAction::kUnexpected,
       ClientPhase::kCreateStreams},
      {ClientPhase::kStarting, false, State::kTestStart, ClientAction::kUnexpected, ClientPhase::kStarting},
      {ClientPhase::kRunning, false, State::kTestRunning, ClientAction::kUnexpected, ClientPhase::kRunning},
      {ClientPhase::kRunning, false, State::kExchangeResults, ClientAction::kUnexpected, ClientPhase::kRunning},
      {ClientPhase::kWaitDisplay, false, State::kExchangeResults, ClientAction::kUnexpected,
       ClientPhase::kWaitDisplay},
      {ClientPhase::kServerResults, false, State::kDisplayResults, ClientAction::kUnexpected,
       ClientPhase::kServerResults},
      {ClientPhase::kWaitExchange, false, State::kClientTerminate, ClientAction::kUnexpected,
       ClientPhase::kWaitExchange},
  };
  for (const Row& r : rows) {
    const auto step = iperf3::ClientOnState(r.phase, r.creating, static_cast<std::int8_t>(r.state));
    EXPECT_EQ(step.action, r.action) << iperf3::ClientPhaseName(r.phase) << " "
                                     << iperf3::StateName(static_cast<std::int8_t>(r.state));
    EXPECT_EQ(step.next, r.next) << iperf3::ClientPhaseName(r.phase) << " "
                                 << iperf3::StateName(static_cast<std::int8_t>(r.state));
  }
  // A byte that names no state is out of turn too.
  EXPECT_EQ(iperf3::ClientOnState(ClientPhase::kStarting, false, 77).action, ClientAction::kUnexpected);
}

// The server's side: (phase, what came) -> (action, next phase).
TEST(Iperf3Control, ServerSequenceRowByRow) {
  using iperf3::ServerAction;
  using iperf3::ServerInput;
  using iperf3::ServerPhase;
  using iperf3::State;
  struct Row {
    ServerPhase phase;
    ServerInput input;
    State state;  // for ServerInput::kState
    ServerAction action;
    ServerPhase next;
  };
  constexpr State kNo = State::kTestStart;  // unused when the input is not a state byte
  const Row rows[] = {
      // The sequence.
      {ServerPhase::kParams, ServerInput::kParams, kNo, ServerAction::kCreateStreams, ServerPhase::kCreating},
      {ServerPhase::kCreating, ServerInput::kStreamsReady, kNo, ServerAction::kStartTest, ServerPhase::kRunning},
      {ServerPhase::kRunning, ServerInput::kState, State::kTestEnd, ServerAction::kExchangeResults,
       ServerPhase::kResults},
      {ServerPhase::kResults, ServerInput::kResults, kNo, ServerAction::kSendResults, ServerPhase::kDisplay},
      {ServerPhase::kDisplay, ServerInput::kState, State::kIperfDone, ServerAction::kFinish, ServerPhase::kDone},
      // An older client closes instead of IPERF_DONE.
      {ServerPhase::kDisplay, ServerInput::kClosed, kNo, ServerAction::kFinish, ServerPhase::kDone},
      // Bad input.
      {ServerPhase::kParams, ServerInput::kBadParams, kNo, ServerAction::kFailParams, ServerPhase::kDone},
      {ServerPhase::kResults, ServerInput::kBadResults, kNo, ServerAction::kFailResults, ServerPhase::kDone},
      // The client ends it, or goes.
      {ServerPhase::kRunning, ServerInput::kState, State::kClientTerminate, ServerAction::kClientTerminated,
       ServerPhase::kDone},
      {ServerPhase::kCreating, ServerInput::kState, State::kClientTerminate, ServerAction::kClientTerminated,
       ServerPhase::kDone},
      {ServerPhase::kParams, ServerInput::kClosed, kNo, ServerAction::kClientGone, ServerPhase::kDone},
      {ServerPhase::kRunning, ServerInput::kClosed, kNo, ServerAction::kClientGone, ServerPhase::kDone},
      {ServerPhase::kResults, ServerInput::kClosed, kNo, ServerAction::kClientGone, ServerPhase::kDone},
      // Time limits, in any phase.
      {ServerPhase::kCreating, ServerInput::kTimeLimit, kNo, ServerAction::kFailTimeLimit, ServerPhase::kDone},
      {ServerPhase::kRunning, ServerInput::kTimeLimit, kNo, ServerAction::kFailTimeLimit, ServerPhase::kDone},
      {ServerPhase::kDisplay, ServerInput::kTimeLimit, kNo, ServerAction::kFailTimeLimit, ServerPhase::kDone},
      // Out of turn.
      {ServerPhase::kRunning, ServerInput::kState, State::kIperfDone, ServerAction::kFailUnexpected,
       ServerPhase::kDone},
      {ServerPhase::kCreating, ServerInput::kState, State::kTestEnd, ServerAction::kFailUnexpected,
       ServerPhase::kDone},
      {ServerPhase::kDisplay, ServerInput::kState, State::kTestEnd, ServerAction::kWrongEnd, ServerPhase::kDone},
      // Nothing for the phase: it stays.
      {ServerPhase::kParams, ServerInput::kResults, kNo, ServerAction::kNone, ServerPhase::kParams},
      {ServerPhase::kRunning, ServerInput::kStreamsReady, kNo, ServerAction::kNone, ServerPhase::kRunning},
      {ServerPhase::kDone, ServerInput::kState, State::kTestEnd, ServerAction::kNone, ServerPhase::kDone},
  };
  for (const Row& r : rows) {
    const auto step = iperf3::ServerOnInput(r.phase, r.input, static_cast<std::int8_t>(r.state));
    const std::string row = std::string(iperf3::ServerPhaseName(r.phase)) + " input " +
                            std::to_string(static_cast<int>(r.input)) + " " +
                            iperf3::StateName(static_cast<std::int8_t>(r.state));
    EXPECT_EQ(step.action, r.action) << row;
    EXPECT_EQ(step.next, r.next) << row;
  }
}

}  // namespace
}  // namespace ringstack::proto
