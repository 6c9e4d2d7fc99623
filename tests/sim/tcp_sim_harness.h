// Two whole engines on one simulated wire under a virtual clock, with a
// socket-API Stack on each, and helpers to connect and move data between
// them: shared by the TCP simulation tests.
#ifndef RINGSTACK_TESTS_SIM_TCP_SIM_HARNESS_H_
#define RINGSTACK_TESTS_SIM_TCP_SIM_HARNESS_H_

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <functional>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "engine/engine.h"
#include "engine/link/sim.h"
#include "engine/runner.h"
#include "gtest/gtest.h"
#include "protocols/common/sha256.h"
#include "sockets/api.h"

namespace ringstack::sockets::harness {

inline Endpoint Ep(const char* addr, std::uint16_t port) { return Endpoint{*proto::IpAddress::Parse(addr), port}; }

inline engine::Config Cfg(const char* mac, const char* ip4, const char* ip6, int workers) {
  engine::RawFlags f;
  f.tap = "sim0";
  f.mac = mac;
  f.ip4 = ip4;
  f.ip6 = ip6;
  f.acd = "off";
  f.workers = workers;
  return *engine::ParseConfig(f, 1);
}

// Engine A (192.0.2.1, 2001:db8::1) and engine B (192.0.2.2, 2001:db8::2)
// on one simulated wire, run by one SimRunner; a Stack on each.
class TwoEngines {
 public:
  // `tweak` adjusts both engines' configurations (TCP flags, traces);
  // `offload`: both ends of the wire take offload (SimLink::SetOffload), so
  // both engines send TCP super-segments with partial checksums.
  explicit TwoEngines(const engine::ImpairConfig& impair = {}, int b_workers = 1,
                      const std::function<void(engine::Config&)>& tweak = {}, bool offload = false) {
    engine::ImpairConfig back = impair;
    back.seed = impair.seed * 7919 + 1;
    auto [la, lb] = engine::SimLink::Pair(clock_, impair, back);
    la->SetOffload(offload);
    lb->SetOffload(offload);
    link_a_ = la.get();
    link_b_ = lb.get();
    engine::Config ca = Cfg("02:00:00:00:00:0a", "192.0.2.1/24", "2001:db8::1/64", 1);
    engine::Config cb = Cfg("02:00:00:00:00:0b", "192.0.2.2/24", "2001:db8::2/64", b_workers);
    if (tweak) {
      tweak(ca);
      tweak(cb);
    }
    a_ = std::move(*engine::Engine::CreateWithLink(ca, std::move(la), clock_));
    b_ = std::move(*engine::Engine::CreateWithLink(cb, std::move(lb), clock_));
    std::vector<engine::Stage*> stages = a_->stages();
    for (engine::Stage* s : b_->stages()) stages.push_back(s);
    runner_ = std::make_unique<engine::SimRunner>(stages, clock_,
                                                  std::vector<rings::PacketPool*>{&a_->pool(), &b_->pool()});
    sa_ = std::make_unique<Stack>(*a_, [this] { runner_->Settle(); });
    sb_ = std::make_unique<Stack>(*b_, [this] { runner_->Settle(); });
    runner_->RunFor(engine::Duration::Seconds(3));  // IPv6 DAD
  }
  ~TwoEngines() {
    sa_.reset();
    sb_.reset();
    runner_->RunFor(engine::Duration::Millis(10));
    runner_.reset();
  }
  Stack& a() { return *sa_; }
  Stack& b() { return *sb_; }
  engine::Engine& engine_a() { return *a_; }
  engine::Engine& engine_b() { return *b_; }
  void RunFor(engine::Duration d) { runner_->RunFor(d); }
  engine::Instant Now() const { return clock_.Now(); }
  // A's end of the wire: frames sent on it arrive at B (for forged ones).
  engine::SimLink* link_a() { return link_a_; }
  // B's end: frames sent on it arrive at A.
  engine::SimLink* link_b() { return link_b_; }
  // Frames A (B) sent that the simulated bottleneck's queue dropped.
  std::uint64_t tail_dropped_a() const { return link_a_->tail_dropped(); }
  std::uint64_t tail_dropped_b() const { return link_b_->tail_dropped(); }
  // Steps virtual time (1 ms at a time) until `done`, at most `limit`.
  bool RunUntil(const std::function<bool()>& done, engine::Duration limit) {
    return runner_->RunUntil(done, limit);
  }

 private:
  engine::VirtualClock clock_;
  engine::SimLink* link_a_ = nullptr;
  engine::SimLink* link_b_ = nullptr;
  std::unique_ptr<engine::Engine> a_, b_;
  std::unique_ptr<engine::SimRunner> runner_;
  std::unique_ptr<Stack> sa_, sb_;
};

inline std::string Sha(const std::string& s) {
  proto::Sha256 h;
  h.Update(std::as_bytes(std::span(s)));
  const auto d = h.Finish();
  std::string hex;
  for (std::byte b : d) {
    static const char* kHex = "0123456789abcdef";
    hex += kHex[static_cast<unsigned>(b) >> 4];
    hex += kHex[static_cast<unsigned>(b) & 15];
  }
  return hex;
}

inline std::string Pattern(std::size_t n, unsigned seed) {
  std::string s(n, '\0');
  std::mt19937 r(seed);
  for (char& c : s) c = static_cast<char>(r());
  return s;
}

// Runs until B's listener `l` has accepted A's connecting socket `c`
// (into `s`) and `c` is writable; false at `limit`.
inline bool WaitConnected(TwoEngines& t, int l, int c, int& s, engine::Duration limit) {
  return t.RunUntil(
      [&] {
        if (s < 0) s = t.b().Accept(l, nullptr);
        Stack::PollFd p{c, POLLOUT, 0};
        return s >= 0 && t.a().Poll(std::span(&p, 1), 0) == 1;
      },
      limit);
}

// A connection from A to B's listener on `port`: {client fd on A, server fd on B}.
inline std::pair<int, int> Connect(TwoEngines& t, const char* to, std::uint16_t port, int family = AF_INET) {
  const int l = t.b().Socket(family, SOCK_STREAM | SOCK_NONBLOCK);
  EXPECT_EQ(t.b().Bind(l, Ep(family == AF_INET ? "0.0.0.0" : "::", port)), 0);
  EXPECT_EQ(t.b().Listen(l, 16), 0);
  const int c = t.a().Socket(family, SOCK_STREAM | SOCK_NONBLOCK);
  EXPECT_EQ(t.a().Connect(c, Ep(to, port)), -1);
  EXPECT_EQ(errno, EINPROGRESS);
  int s = -1;
  EXPECT_TRUE(WaitConnected(t, l, c, s, engine::Duration::Seconds(30)));
  int err = -1;
  EXPECT_EQ(t.a().GetSockOpt(c, SOL_SOCKET, SO_ERROR, &err), 0);
  EXPECT_EQ(err, 0);
  t.b().Close(l);
  return {c, s};
}

// Both directions at once: A sends `ab`, B sends `ba`; each shuts its
// sending side when done and reads to EOF. True when both saw EOF in time.
inline bool Exchange(TwoEngines& t, int c, int s, const std::string& ab, const std::string& ba, std::string& got_at_b,
              std::string& got_at_a, engine::Duration limit) {
  std::size_t sent_a = 0, sent_b = 0;
  bool eof_a = false, eof_b = false, shut_a = false, shut_b = false;
  std::vector<std::byte> buf(65536);
  auto pump = [&](Stack& st, int fd, const std::string& out, std::size_t& sent, bool& shut, std::string& in,
                  bool& eof) {
    while (sent < out.size()) {
      const ssize_t n = st.Send(fd, std::as_bytes(std::span(out).subspan(sent)));
      if (n <= 0) break;
      sent += static_cast<std::size_t>(n);
    }
    if (sent == out.size() && !shut) {
      shut = true;
      st.Shutdown(fd, SHUT_WR);
    }
    for (;;) {
      const ssize_t n = st.Recv(fd, buf, /*dontwait=*/true);
      if (n > 0) {
        in.append(reinterpret_cast<const char*>(buf.data()), static_cast<std::size_t>(n));
        continue;
      }
      if (n == 0) eof = true;
      break;
    }
  };
  return t.RunUntil(
      [&] {
        pump(t.a(), c, ab, sent_a, shut_a, got_at_a, eof_a);
        pump(t.b(), s, ba, sent_b, shut_b, got_at_b, eof_b);
        return eof_a && eof_b;
      },
      limit);
}

}  // namespace ringstack::sockets::harness

#endif  // RINGSTACK_TESTS_SIM_TCP_SIM_HARNESS_H_
