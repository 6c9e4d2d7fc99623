// iperf3 (sockets/iperf3.h) between two simulated engines on virtual time:
// ringstack's client against ringstack's server in every mode (TCP, -R,
// -P, --bidir, UDP both ways, IPv6), over a 100 Mbit/s bottleneck so the
// figures mean something; and the server against hostile or broken clients
// (garbage cookie, bad parameters, a lying length, a second client while
// busy, a client that goes silent): each ends in an error state, never a
// hang, and the next test runs.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "protocols/iperf3/iperf3.h"
#include "sockets/iperf3.h"
#include "tests/sim/tcp_sim_harness.h"

namespace ringstack::sockets::harness {
namespace {

using engine::Duration;
namespace iperf = proto::iperf3;

engine::ImpairConfig Bottleneck() { return *engine::ImpairConfig::Parse("rate=100mbit,queue=256K"); }

class Iperf3Sim : public ::testing::Test {
 protected:
  Iperf3Sim() : t_(Bottleneck()), server_(t_.b(), t_.engine_b().clock(), Log(server_lines_)) {}
  void SetUp() override { ASSERT_TRUE(server_.Open(true).ok()); }

  static Iperf3Out Log(std::vector<std::string>& into) {
    return [&into](const std::string& line) { into.push_back(line); };
  }
  // Runs a client test (iperf3-style arguments) to its end, stepping both
  // sides each virtual millisecond.
  Iperf3Summary RunClient(const std::vector<std::string>& args) {
    auto options = Iperf3Client::ParseArgs(args);
    EXPECT_TRUE(options.ok()) << options.status();
    client_lines_.clear();
    Iperf3Client client(t_.a(), t_.engine_a().clock(), *options, Log(client_lines_));
    const engine::Instant until = t_.Now() + Duration::Seconds(60);
    while (!client.done() && t_.Now() < until) {
      while (server_.Step() || client.Step()) {
      }
      t_.RunFor(Duration::Millis(1));
    }
    EXPECT_TRUE(client.done()) << "the client test did not end";
    SettleServer();
    return client.summary();
  }
  void SettleServer() {
    for (int i = 0; i < 200 && server_.busy(); ++i) {
      server_.Step();
      t_.RunFor(Duration::Millis(1));
    }
  }
  bool ServerSaid(const std::string& text) const {
    for (const std::string& l : server_lines_) {
      if (l.find(text) != std::string::npos) return true;
    }
    return false;
  }
  // A raw control connection from A, its cookie sent.
  int RawClient(const std::string& cookie) {
    const int fd = t_.a().Socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK);
    t_.a().Connect(fd, Ep("192.0.2.2", iperf::kPort));
    Stack::PollFd pfd{fd, POLLOUT, 0};
    for (int i = 0; i < 100 && t_.a().Poll(std::span(&pfd, 1), 0) == 0; ++i) {
      server_.Step();
      t_.RunFor(Duration::Millis(1));
    }
    EXPECT_EQ(t_.a().Send(fd, std::as_bytes(std::span(cookie))), static_cast<ssize_t>(cookie.size()));
    return fd;
  }
  // Steps the server for `d` of virtual time; returns what `fd` received.
  std::string StepAndRead(int fd, Duration d) {
    std::string got;
    const engine::Instant until = t_.Now() + d;
    while (t_.Now() < until) {
      server_.Step();
      t_.RunFor(Duration::Millis(1));
      std::byte buf[512];
      for (;;) {
        const ssize_t n = t_.a().Recv(fd, buf, true);
        if (n <= 0) break;
        got.append(reinterpret_cast<const char*>(buf), static_cast<std::size_t>(n));
      }
    }
    return got;
  }
  static std::string Cookie(char c) { return std::string(36, c) + '\0'; }

  TwoEngines t_;
  std::vector<std::string> server_lines_, client_lines_;
  Iperf3Server server_;
};

TEST_F(Iperf3Sim, TcpEachWayAndInParallel) {
  struct Row {
    std::vector<std::string> args;
    bool client_sends, server_sends;
  };
  const Row rows[] = {
      {{"192.0.2.2", "-t", "2"}, true, false},
      {{"192.0.2.2", "-t", "2", "-R"}, false, true},
      {{"192.0.2.2", "-t", "2", "-P", "3"}, true, false},
      {{"192.0.2.2", "-t", "2", "--bidir"}, true, true},
      {{"2001:db8::2", "-t", "2", "-P", "2", "-R"}, false, true},
  };
  int done = 0;
  for (const Row& r : rows) {
    const Iperf3Summary s = RunClient(r.args);
    const std::string what = r.args.size() > 3 ? r.args[3] : "plain";
    ASSERT_TRUE(s.ok) << what << ": " << s.error;
    EXPECT_EQ(server_.tests_done(), ++done) << what;
    EXPECT_NEAR(s.seconds, 2.0, 0.05) << what;
    // Through a 100 Mbit/s bottleneck: each way that sends fills most of it
    // (both ways share the wire with the other's ACKs).
    if (r.client_sends) {
      EXPECT_GT(s.sent_mbps(), 60) << what;
      EXPECT_LT(s.sent_mbps(), 101) << what;
      // The server counts what arrived before TEST_END: all but what was in flight.
      EXPECT_LE(s.sent_received, s.sent) << what;
      EXPECT_GT(s.sent_received, s.sent * 9 / 10) << what;
    } else {
      EXPECT_EQ(s.sent, 0u) << what;
    }
    if (r.server_sends) {
      EXPECT_GT(s.received_mbps(), 60) << what;
      EXPECT_LE(s.received, s.received_sent) << what;
      EXPECT_GT(s.received, s.received_sent * 9 / 10) << what;
    } else {
      EXPECT_EQ(s.received, 0u) << what;
    }
  }
  // Interval reports, a line per stream and a sum, on both sides.
  EXPECT_TRUE(ServerSaid("[  1]   0.00-1.00   sec")) << server_lines_.back();
  EXPECT_TRUE(ServerSaid("[SUM]   1.00-2.00   sec"));
  EXPECT_TRUE(ServerSaid("(reverse: ringstack sends)"));
  bool client_interval = false;
  for (const std::string& l : client_lines_) client_interval |= l.find("1.00-2.00   sec") != std::string::npos;
  EXPECT_TRUE(client_interval);
  // Every buffer back once the connections are gone.
  t_.RunFor(Duration::Seconds(130));  // past TIME-WAIT
  EXPECT_EQ(t_.engine_a().pool().stats().cls[0].in_use, 0u);
  EXPECT_EQ(t_.engine_b().pool().stats().cls[0].in_use, 0u);
}

TEST_F(Iperf3Sim, UdpEachWayIsPacedAndLossless) {
  const Iperf3Summary up = RunClient({"192.0.2.2", "-u", "-b", "20M", "-t", "2"});
  ASSERT_TRUE(up.ok) << up.error;
  EXPECT_NEAR(up.sent_mbps(), 20, 1);       // paced at -b
  EXPECT_EQ(up.lost, 0);
  EXPECT_GT(up.packets, 3000);              // 20 Mbit/s of 1460-byte datagrams for 2 s: ~3400
  EXPECT_EQ(up.sent_received, up.sent);     // nothing lost on a clean wire
  const Iperf3Summary down = RunClient({"192.0.2.2", "-u", "-b", "10M", "-t", "2", "-R", "-l", "1000"});
  ASSERT_TRUE(down.ok) << down.error;
  EXPECT_NEAR(down.received_mbps(), 10, 0.6);
  EXPECT_EQ(down.lost, 0);
  EXPECT_GT(down.packets, 2400);            // 10 Mbit/s of 1000-byte datagrams for 2 s: 2500
  EXPECT_LT(down.jitter_ms, 1.0);
  const Iperf3Summary both = RunClient({"2001:db8::2", "-u", "-b", "5M", "-t", "2", "--bidir", "-P", "2"});
  ASSERT_TRUE(both.ok) << both.error;
  EXPECT_NEAR(both.sent_mbps(), 10, 0.6);  // two streams of 5M each way
  EXPECT_NEAR(both.received_mbps(), 10, 0.6);
  EXPECT_EQ(server_.tests_done(), 3);
}

TEST_F(Iperf3Sim, BrokenClientsEndInAnErrorAndTheNextTestRuns) {
  // Not iperf3: 37 bytes that are no cookie. Closed, no test begun.
  int fd = RawClient(std::string(37, '!'));
  EXPECT_EQ(StepAndRead(fd, Duration::Millis(200)), "");
  EXPECT_EQ(t_.a().Recv(fd, std::span<std::byte>(), true), 0);  // closed
  t_.a().Close(fd);
  EXPECT_EQ(server_.tests_done() + server_.tests_failed(), 0);

  // Parameters that are no JSON: SERVER_ERROR, with iperf3's error number.
  fd = RawClient(Cookie('a'));
  EXPECT_EQ(StepAndRead(fd, Duration::Millis(200)), std::string(1, '\x09'));  // PARAM_EXCHANGE
  const std::string bad = iperf::FrameJson("{\"tcp\":tru");
  t_.a().Send(fd, std::as_bytes(std::span(bad)));
  std::string got = StepAndRead(fd, Duration::Millis(200));
  ASSERT_GE(got.size(), 5u);
  EXPECT_EQ(static_cast<std::int8_t>(got[0]), static_cast<std::int8_t>(iperf::State::kServerError));
  EXPECT_EQ(got.substr(1, 4), std::string("\0\0\0\x72", 4));  // 114: "unable to receive parameters"
  t_.a().Close(fd);
  EXPECT_EQ(server_.tests_failed(), 1);
  EXPECT_NE(server_.last_error().find("bad parameters"), std::string::npos) << server_.last_error();

  // A length field past any message: refused at once, nothing buffered.
  fd = RawClient(Cookie('b'));
  StepAndRead(fd, Duration::Millis(200));
  t_.a().Send(fd, std::as_bytes(std::span("\x7f\xff\xff\xff{", 5)));
  got = StepAndRead(fd, Duration::Millis(200));
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(static_cast<std::int8_t>(got[0]), static_cast<std::int8_t>(iperf::State::kServerError));
  t_.a().Close(fd);
  EXPECT_EQ(server_.tests_failed(), 2);

  // A client that sends its cookie and goes silent: the server gives up
  // after 10 s (virtual) and is free again; meanwhile a second client is
  // told the server is busy.
  fd = RawClient(Cookie('c'));
  StepAndRead(fd, Duration::Millis(200));
  EXPECT_TRUE(server_.busy());
  const int second = RawClient(Cookie('d'));
  got = StepAndRead(second, Duration::Millis(200));
  EXPECT_EQ(got, std::string(1, '\xff'));  // ACCESS_DENIED
  t_.a().Close(second);
  StepAndRead(fd, Duration::Seconds(11));
  EXPECT_FALSE(server_.busy());
  EXPECT_EQ(server_.tests_failed(), 3);
  EXPECT_NE(server_.last_error().find("went silent"), std::string::npos) << server_.last_error();
  t_.a().Close(fd);

  // An unknown state byte in the middle of a test.
  fd = RawClient(Cookie('e'));
  StepAndRead(fd, Duration::Millis(200));
  const std::string params = iperf::FrameJson("{\"tcp\":true,\"time\":5,\"parallel\":1}");
  t_.a().Send(fd, std::as_bytes(std::span(params)));
  EXPECT_EQ(StepAndRead(fd, Duration::Millis(200)), std::string(1, '\x0a'));  // CREATE_STREAMS
  const int stream = RawClient(Cookie('e'));
  EXPECT_EQ(StepAndRead(fd, Duration::Millis(200)), std::string("\x01\x02", 2));  // TEST_START, TEST_RUNNING
  t_.a().Send(fd, std::as_bytes(std::span("\x63", 1)));  // "state 99"
  got = StepAndRead(fd, Duration::Millis(200));
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(static_cast<std::int8_t>(got[0]), static_cast<std::int8_t>(iperf::State::kServerError));
  EXPECT_NE(server_.last_error().find("state 99"), std::string::npos) << server_.last_error();
  t_.a().Close(stream);
  t_.a().Close(fd);

  // And then a real test runs.
  const Iperf3Summary s = RunClient({"192.0.2.2", "-t", "1"});
  EXPECT_TRUE(s.ok) << s.error;
  EXPECT_EQ(server_.tests_done(), 1);
}

TEST(Iperf3Args, ParsedAsIperf3SpellsThem) {
  auto o = Iperf3Client::ParseArgs({"2001:db8::2", "-t", "5", "-P", "4", "-R", "-l", "64K", "-p", "5202", "-O", "1"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->server.port, 5202);
  EXPECT_EQ(o->params.time, 5);
  EXPECT_EQ(o->params.parallel, 4);
  EXPECT_TRUE(o->params.reverse);
  EXPECT_EQ(o->params.len, 65536u);
  EXPECT_EQ(o->params.omit, 1);
  o = Iperf3Client::ParseArgs({"192.0.2.2", "-u", "-b", "1.5G", "-n", "10M"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->params.bandwidth, 1'500'000'000u);
  EXPECT_EQ(o->params.bytes, 10u << 20);
  struct Bad {
    std::vector<std::string> args;
    const char* says;
  };
  const Bad bad[] = {
      {{}, "a server address is needed"},
      {{"nowhere"}, "not an IPv4 or IPv6 address"},
      {{"192.0.2.2", "-P", "0"}, "-P"},
      {{"192.0.2.2", "-P", "129"}, "-P"},
      {{"192.0.2.2", "-t"}, "-t needs"},
      {{"192.0.2.2", "-t", "ten"}, "-t"},
      {{"192.0.2.2", "-R", "--bidir"}, "exclude each other"},
      {{"192.0.2.2", "-b", "10M"}, "UDP only"},
      {{"192.0.2.2", "-u", "-l", "8"}, "-l"},
      {{"192.0.2.2", "-x"}, "unknown option -x"},
      {{"192.0.2.2", "192.0.2.3"}, "one server address only"},
  };
  for (const Bad& b : bad) {
    const auto r = Iperf3Client::ParseArgs(b.args);
    ASSERT_FALSE(r.ok()) << b.says;
    EXPECT_NE(std::string(r.status().message()).find(b.says), std::string::npos) << r.status();
  }
}

}  // namespace
}  // namespace ringstack::sockets::harness
