// TCP Fast Open (RFC 7413) between two engines on the simulated wire: the
// first connection gets a cookie, the second carries its data in the SYN
// (counted on both sides, delivered once); TCP_FASTOPEN_CONNECT does the
// same through connect + send; a server without Fast Open, or a listener
// whose TCP_FASTOPEN queue is 0, gives no cookie and the data still
// arrives after the handshake.
#include <netinet/tcp.h>

#include <string>

#include "sockets/c_api.h"
#include "tests/sim/tcp_sim_harness.h"

namespace ringstack::sockets {
namespace {

using namespace harness;  // NOLINT: the harness is this file's vocabulary

std::span<const std::byte> B(const std::string& s) { return std::as_bytes(std::span(s)); }

// B listens on `port` (TCP_FASTOPEN `qlen` unless negative).
int Listen(TwoEngines& t, std::uint16_t port, int qlen = -1) {
  const int l = t.b().Socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK);
  EXPECT_EQ(t.b().Bind(l, Ep("0.0.0.0", port)), 0);
  if (qlen >= 0) {
    EXPECT_EQ(t.b().SetSockOpt(l, IPPROTO_TCP, TCP_FASTOPEN, qlen), 0);
  }
  EXPECT_EQ(t.b().Listen(l, 16), 0);
  return l;
}

// Accepts on `l` and reads until `want` bytes came; what came.
std::string AcceptAndRead(TwoEngines& t, int l, std::size_t want, int& s) {
  std::string got;
  std::vector<std::byte> buf(4096);
  t.RunUntil(
      [&] {
        if (s < 0) s = t.b().Accept(l, nullptr);
        if (s < 0) return false;
        for (ssize_t n; (n = t.b().Recv(s, buf, true)) > 0;) got.append(reinterpret_cast<char*>(buf.data()), n);
        return got.size() >= want;
      },
      engine::Duration::Seconds(10));
  return got;
}

void CloseBoth(TwoEngines& t, int c, int s) {
  t.a().Close(c);
  if (s >= 0) t.b().Close(s);
  t.RunFor(engine::Duration::Millis(200));
}

TEST(TcpFastOpenSim, TheSecondConnectionCarriesItsDataInTheSyn) {
  int configured = 0;
  TwoEngines t({}, 1, [&](engine::Config& c) {
    c.tcp_fastopen = configured++ == 0 ? proto::tcp::FastOpenMode::kClient : proto::tcp::FastOpenMode::kServer;
  });
  const int l = Listen(t, 7000);
  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE(round);
    const std::string text = round == 0 ? "asks for a cookie" : "rides in the SYN";
    const int c = t.a().Socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK);
    EXPECT_EQ(t.a().SendFastOpen(c, B(text), Ep("192.0.2.2", 7000)), static_cast<ssize_t>(text.size()));
    int s = -1;
    EXPECT_EQ(AcceptAndRead(t, l, text.size(), s), text);
    t.RunFor(engine::Duration::Millis(100));
    std::vector<std::byte> more(64);
    EXPECT_EQ(t.b().Recv(s, more, true), -1) << "delivered once";
    EXPECT_EQ(errno, EAGAIN);
    // The echo back: the connection works both ways.
    EXPECT_EQ(t.b().Send(s, B(text)), static_cast<ssize_t>(text.size()));
    std::string back;
    t.RunUntil(
        [&] {
          for (ssize_t n; (n = t.a().Recv(c, more, true)) > 0;) back.append(reinterpret_cast<char*>(more.data()), n);
          return back.size() >= text.size();
        },
        engine::Duration::Seconds(5));
    EXPECT_EQ(back, text);
    CloseBoth(t, c, s);
  }
  EXPECT_EQ(t.engine_b().counter("tcp_fastopen_cookie_reqd"), 1u);
  EXPECT_EQ(t.engine_b().counter("tcp_fastopen_passive"), 1u);
  EXPECT_EQ(t.engine_b().counter("tcp_fastopen_passive_fail"), 0u);
  EXPECT_EQ(t.engine_a().counter("tcp_fastopen_active"), 1u);
  EXPECT_EQ(t.engine_a().counter("tcp_fastopen_active_fail"), 0u);
  t.b().Close(l);
}

// RFC 7413 4.2.2: the SYN's data is the application's before the
// handshake completes. 50 ms each way: the SYN with data reaches B at
// +50 ms, the handshake's last ACK at +150 ms; at +60 ms B has accepted
// the connection, read the data and answered, in SYN-RECEIVED still.
TEST(TcpFastOpenSim, TheSynsDataIsReadBeforeTheHandshakeEnds) {
  engine::ImpairConfig slow;
  slow.delay = engine::Duration::Millis(50);
  slow.seed = 3;
  int configured = 0;
  TwoEngines t(slow, 1, [&](engine::Config& c) {
    c.tcp_fastopen = configured++ == 0 ? proto::tcp::FastOpenMode::kClient : proto::tcp::FastOpenMode::kServer;
  });
  const int l = Listen(t, 7005);
  {
    const int c = t.a().Socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK);
    t.a().SendFastOpen(c, B("for a cookie"), Ep("192.0.2.2", 7005));
    int s = -1;
    EXPECT_EQ(AcceptAndRead(t, l, 12, s), "for a cookie");
    CloseBoth(t, c, s);
    t.RunFor(engine::Duration::Millis(500));
  }
  const int c = t.a().Socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK);
  EXPECT_EQ(t.a().SendFastOpen(c, B("early"), Ep("192.0.2.2", 7005)), 5);
  t.RunFor(engine::Duration::Millis(60));
  const int s = t.b().Accept(l, nullptr);
  ASSERT_GE(s, 0) << "accepted at the SYN";
  std::vector<std::byte> buf(64);
  ASSERT_EQ(t.b().Recv(s, buf, true), 5);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(buf.data()), 5), "early");
  Stack::TcpInfo info;
  ASSERT_EQ(t.b().GetTcpInfo(s, &info), 0);
  EXPECT_EQ(info.state, "SYN-RECEIVED");
  EXPECT_EQ(t.b().Send(s, B("reply")), 5);  // goes once the handshake ends
  std::string back;
  t.RunUntil(
      [&] {
        for (ssize_t n; (n = t.a().Recv(c, buf, true)) > 0;) back.append(reinterpret_cast<char*>(buf.data()), n);
        return back.size() >= 5;
      },
      engine::Duration::Seconds(5));
  EXPECT_EQ(back, "reply");
  ASSERT_EQ(t.b().GetTcpInfo(s, &info), 0);
  EXPECT_EQ(info.state, "ESTABLISHED");
  CloseBoth(t, c, s);
  t.b().Close(l);
}

TEST(TcpFastOpenSim, FastOpenConnectSendsTheFirstWriteInTheSyn) {
  int configured = 0;
  TwoEngines t({}, 1, [&](engine::Config& c) {
    c.tcp_fastopen = configured++ == 0 ? proto::tcp::FastOpenMode::kClient : proto::tcp::FastOpenMode::kServer;
  });
  const int l = Listen(t, 7001);
  for (int round = 0; round < 2; ++round) {
    const std::string text = "write " + std::to_string(round);
    const int c = t.a().Socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK);
    ASSERT_EQ(t.a().SetSockOpt(c, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, 1), 0);
    EXPECT_EQ(t.a().Connect(c, Ep("192.0.2.2", 7001)), 0);  // at once: no SYN yet
    Stack::PollFd p{c, POLLOUT, 0};
    EXPECT_EQ(t.a().Poll(std::span(&p, 1), 0), 1);
    EXPECT_EQ(t.a().Connect(c, Ep("192.0.2.2", 7001)), -1);
    EXPECT_EQ(errno, EISCONN);
    EXPECT_EQ(t.a().Send(c, B(text)), static_cast<ssize_t>(text.size()));
    int s = -1;
    EXPECT_EQ(AcceptAndRead(t, l, text.size(), s), text);
    CloseBoth(t, c, s);
  }
  EXPECT_EQ(t.engine_b().counter("tcp_fastopen_passive"), 1u);
  EXPECT_EQ(t.engine_a().counter("tcp_fastopen_active"), 1u);
  t.b().Close(l);
}

// The C face: rs_sendto with MSG_FASTOPEN connects and sends.
TEST(TcpFastOpenSim, CSendtoWithMsgFastOpenConnects) {
  int configured = 0;
  TwoEngines t({}, 1, [&](engine::Config& c) {
    c.tcp_fastopen = configured++ == 0 ? proto::tcp::FastOpenMode::kClient : proto::tcp::FastOpenMode::kServer;
  });
  const int l = Listen(t, 7004);
  rs_attach(&t.a());
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(7004);
  to.sin_addr.s_addr = htonl(0xc0000202);
  for (int round = 0; round < 2; ++round) {
    const std::string text = "from C " + std::to_string(round);
    const int c = rs_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    EXPECT_EQ(rs_sendto(c, text.data(), text.size(), MSG_FASTOPEN, reinterpret_cast<sockaddr*>(&to), sizeof(to)),
              static_cast<ssize_t>(text.size()));
    int s = -1;
    EXPECT_EQ(AcceptAndRead(t, l, text.size(), s), text);
    CloseBoth(t, c, s);
  }
  rs_attach(nullptr);
  EXPECT_EQ(t.engine_a().counter("tcp_fastopen_active"), 1u);
  t.b().Close(l);
}

// No cookie from a server that does not do Fast Open (B: client only, the
// default), nor from a listener that takes none: every SYN asks, the data
// goes after the handshake.
TEST(TcpFastOpenSim, WithoutAServerCookieTheDataFollowsTheHandshake) {
  for (const bool listener_off : {false, true}) {
    SCOPED_TRACE(listener_off ? "TCP_FASTOPEN 0" : "server off");
    int configured = 0;
    TwoEngines t({}, 1, [&](engine::Config& c) {
      c.tcp_fastopen = configured++ == 0 || !listener_off ? proto::tcp::FastOpenMode::kClient
                                                          : proto::tcp::FastOpenMode::kBoth;
    });
    const int l = Listen(t, 7002, listener_off ? 0 : -1);
    for (int round = 0; round < 2; ++round) {
      const std::string text = "plain " + std::to_string(round);
      const int c = t.a().Socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK);
      EXPECT_EQ(t.a().SendFastOpen(c, B(text), Ep("192.0.2.2", 7002)), static_cast<ssize_t>(text.size()));
      int s = -1;
      EXPECT_EQ(AcceptAndRead(t, l, text.size(), s), text);
      CloseBoth(t, c, s);
    }
    EXPECT_EQ(t.engine_b().counter("tcp_fastopen_cookie_reqd"), 0u);
    EXPECT_EQ(t.engine_b().counter("tcp_fastopen_passive"), 0u);
    EXPECT_EQ(t.engine_a().counter("tcp_fastopen_active"), 0u);
    t.b().Close(l);
  }
}

// --tcp-fastopen without the client bit: MSG_FASTOPEN is refused, as Linux
// refuses it (EOPNOTSUPP); TCP_FASTOPEN_CONNECT connects as usual.
TEST(TcpFastOpenSim, ClientOffRefusesFastOpen) {
  TwoEngines t({}, 1, [](engine::Config& c) { c.tcp_fastopen = proto::tcp::FastOpenMode::kOff; });
  const int c = t.a().Socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK);
  EXPECT_EQ(t.a().SendFastOpen(c, B("x"), Ep("192.0.2.2", 7003)), -1);
  EXPECT_EQ(errno, EOPNOTSUPP);
  ASSERT_EQ(t.a().SetSockOpt(c, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, 1), 0);
  EXPECT_EQ(t.a().Connect(c, Ep("192.0.2.2", 7003)), -1);
  EXPECT_EQ(errno, EINPROGRESS);  // a real connect
  t.a().Close(c);
}

}  // namespace
}  // namespace ringstack::sockets
