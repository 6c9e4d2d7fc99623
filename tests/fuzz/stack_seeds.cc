// The whole-stack fuzz target's seeds (stack_script.h): every scapy vector
// as a raw frame, and conversations written with ScriptWriter that take
// TCP through each state, recovery strategy and way to close, so mutations
// start deep in the stack. Sequence offsets assume the engine's initial
// window (10 segments of 1448 bytes with timestamps); a seed whose guess is
// off still drives the connection, only less precisely.
#include <cstdint>
#include <vector>

#include "tests/fuzz/stack_script.h"
#include "tests/vectors/vectors.h"

namespace ringstack::fuzz {

ScriptWriter& ScriptWriter::Frame(const std::vector<std::uint8_t>& frame) {
  U8(kFrame);
  U16(static_cast<std::uint16_t>(frame.size()));
  bytes_.insert(bytes_.end(), frame.begin(), frame.end());
  return *this;
}

ScriptWriter& ScriptWriter::Open(int conn, std::uint8_t how) {
  U8(kOpen);
  U8(static_cast<std::uint8_t>(conn));
  U8(how);
  return *this;
}

ScriptWriter& ScriptWriter::Segment(int conn, std::uint8_t flags, int seq, int ack, std::uint16_t window,
                                    std::uint8_t options, std::uint16_t len,
                                    const std::vector<std::pair<std::uint16_t, std::uint16_t>>& sack) {
  if (!sack.empty()) options = static_cast<std::uint8_t>(options | (sack.size() >= 2 ? kOptSack2 : kOptSack1));
  if (sack.size() == 3) options = static_cast<std::uint8_t>(options | kOptSack1);
  U8(kSegment);
  U8(static_cast<std::uint8_t>(conn));
  U8(flags);
  U16(static_cast<std::uint16_t>(static_cast<std::int16_t>(seq)));
  U16(static_cast<std::uint16_t>(static_cast<std::int16_t>(ack)));
  U16(window);
  U8(options);
  U16(len);
  const std::size_t blocks = ((options & kOptSack1) != 0 ? 1 : 0) + ((options & kOptSack2) != 0 ? 2 : 0);
  for (std::size_t b = 0; b < blocks; ++b) {
    const auto [below, size] = b < sack.size() ? sack[b] : std::pair<std::uint16_t, std::uint16_t>{0, 0};
    U16(below);
    U16(size);
  }
  return *this;
}

ScriptWriter& ScriptWriter::Advance(std::uint16_t ms) {
  U8(kAdvance);
  U16(ms);
  return *this;
}

ScriptWriter& ScriptWriter::App(int conn, AppAction action, std::uint16_t n) {
  U8(kApp);
  U8(static_cast<std::uint8_t>(conn));
  U8(action);
  U16(n);
  return *this;
}

ScriptWriter& ScriptWriter::Connect(int conn, std::uint8_t how) {
  U8(kConnect);
  U8(static_cast<std::uint8_t>(conn));
  U8(how);
  return *this;
}

ScriptWriter& ScriptWriter::Datagram(std::uint8_t how, std::uint16_t len) {
  U8(kDatagram);
  U8(how);
  U16(len);
  return *this;
}

namespace {

constexpr std::uint8_t kA = 0x10, kF = 0x01, kR = 0x04, kS = 0x02, kP = 0x08;
constexpr int kMss = 1448;  // 1460 less timestamps

template <std::size_t N>
std::vector<std::uint8_t> V(const unsigned char (&a)[N]) {
  return std::vector<std::uint8_t>(a, a + N);
}

// The engine sends 10 segments; the peer loses the second and SACKs the
// rest with three duplicate ACKs, then acknowledges everything.
std::vector<std::uint8_t> RecoverySeed(std::uint8_t config, std::uint8_t open_how) {
  ScriptWriter w(config);
  w.Open(0, open_how).App(0, kAppWrite, 30000);
  const int una = -10 * kMss;  // the first byte sent
  for (int k = 1; k <= 3; ++k) {
    w.Segment(0, kA, 0, una + kMss, 65535, kOptTimestamps, 0,
              {{static_cast<std::uint16_t>((10 - 2) * kMss), static_cast<std::uint16_t>(k * kMss)}});
  }
  w.Advance(5).Ack(0).Advance(300).Ack(0).Advance(300).Ack(0).App(0, kAppClose).Advance(50).Ack(0);
  w.Segment(0, kF | kA, 0, 0, 65535, kOptTimestamps, 0).Advance(100);
  return w.bytes();
}

void ConversationSeeds(std::vector<std::vector<std::uint8_t>>& out) {
  // Data both ways, the peer closes first (CLOSE-WAIT, LAST-ACK).
  out.push_back(ScriptWriter()
                    .Open(0)
                    .App(0, kAppEcho)
                    .Data(0, 100)
                    .Advance(50)
                    .Ack(0)
                    .Data(0, 1400)
                    .Data(0, 1400)
                    .Advance(50)
                    .Ack(0)
                    .Segment(0, kF | kA, 0, 0, 65535, kOptTimestamps, 0)
                    .App(0, kAppClose)
                    .Advance(10)
                    .Ack(0)
                    .bytes());
  // IPv6, no options; the engine closes first (FIN-WAIT-1/2, TIME-WAIT),
  // then the same port opens again (RFC 6191 reuse).
  out.push_back(ScriptWriter(kCfgTwoWorkers)
                    .Open(1, 1 | 2)
                    .Segment(1, kP | kA, 0, 0, 8192, 0, 536)
                    .App(1, kAppWrite, 3000)
                    .Segment(1, kA, 0, 0, 8192, 0, 0)
                    .App(1, kAppShutdown)
                    .Segment(1, kA, 0, 0, 8192, 0, 0)
                    .Segment(1, kF | kA, 0, 0, 8192, 0, 0)
                    .Advance(2000)
                    .Open(1, 1)
                    .Data(1, 10)
                    .bytes());
  // Loss recovery by each strategy, with and without SACK.
  out.push_back(RecoverySeed(0, 0));
  out.push_back(RecoverySeed(kCfgRecoverySack, 0));
  out.push_back(RecoverySeed(kCfgRecoveryNewReno | kCfgNewReno, 0));
  out.push_back(RecoverySeed(0, 2));
  // Timeouts: nothing acknowledged, backing off; then all of it.
  out.push_back(ScriptWriter(kCfgNewReno)
                    .Open(2)
                    .App(2, kAppNoDelay)
                    .App(2, kAppWrite, 5000)
                    .Advance(1500)
                    .Advance(3000)
                    .Advance(6000)
                    .Segment(2, kA, 0, -2000, 65535, kOptTimestamps, 0)
                    .Ack(2)
                    .bytes());
  // The peer's window closes: persist probes, then it opens.
  out.push_back(ScriptWriter()
                    .Open(0)
                    .Ack(0, 0)
                    .App(0, kAppWrite, 5000)
                    .Advance(500)
                    .Advance(1000)
                    .Advance(2000)
                    .Ack(0, 0)
                    .Ack(0, 512)
                    .Advance(100)
                    .Ack(0)
                    .bytes());
  // The engine's window closes (the application stops reading): the peer
  // probes, the application reads again, a window update follows.
  ScriptWriter zero;
  zero.Open(3).App(3, kAppStopReading);
  for (int i = 0; i < 8; ++i) zero.Data(3, 1400);
  zero.Advance(300).Segment(3, kA, 0, 0, 65535, kOptTimestamps, 1).Advance(300).App(3, kAppRead, 100);
  zero.App(3, kAppResume).Advance(10).Data(3, 1400).App(3, kAppClose).Advance(10);
  out.push_back(zero.bytes());
  // Out of order: two segments past a gap, the gap, a duplicate (D-SACK),
  // a FIN past a gap.
  out.push_back(ScriptWriter()
                    .Open(0)
                    .Segment(0, kA, 1400, 0, 65535, kOptTimestamps, 1400)
                    .Segment(0, kA, 2800, 0, 65535, kOptTimestamps, 1400)
                    .Segment(0, kF | kA, 5600, 0, 65535, kOptTimestamps, 100)
                    .Data(0, 1400)
                    .Segment(0, kA, -1400, 0, 65535, kOptTimestamps, 1400)
                    .Segment(0, kA, 2800, 0, 65535, kOptTimestamps, 1400)
                    .Segment(0, kF | kA, 0, 0, 65535, kOptTimestamps, 100)
                    .Advance(50)
                    .bytes());
  // Simultaneous close: both FINs cross (CLOSING), then TIME-WAIT runs out.
  out.push_back(ScriptWriter()
                    .Open(0)
                    .App(0, kAppShutdown)
                    .Segment(0, kF | kA, 0, -1, 65535, kOptTimestamps, 0)
                    .Ack(0)
                    .Advance(61000)
                    .bytes());
  // Resets and RFC 5961: an in-window RST (challenge), a SYN in
  // ESTABLISHED, an old timestamp (PAWS), data without ACK, an exact RST.
  out.push_back(ScriptWriter()
                    .Open(0)
                    .Segment(0, kR, 100, 0, 0, 0, 0)
                    .Segment(0, kS, 0, 0, 65535, kOptTimestamps, 0)
                    .Segment(0, kA, 0, 0, 65535, kOptOldTimestamp, 100)
                    .Segment(0, kP, 0, 0, 65535, kOptTimestamps, 100)
                    .Segment(0, kA, 0, 0, 65535, 0, 100)
                    .Segment(0, kA | 0x20 | 0x40 | 0x80, 0, 2000, 65535, kOptTimestamps | kOptZeroEcho, 10)
                    .Segment(0, kR, 0, 0, 0, 0, 0)
                    .Advance(10)
                    .bytes());
  // Active opens: a full exchange, a refusal, a peer that never answers.
  out.push_back(ScriptWriter()
                    .Connect(4)
                    .App(4, kAppWrite, 2000)
                    .Ack(4)
                    .Data(4, 500)
                    .Segment(4, kF | kA, 0, 0, 65535, kOptTimestamps, 0)
                    .App(4, kAppClose)
                    .Ack(4)
                    .Connect(5, 2)
                    .Connect(6, 1 | 8)
                    .Advance(3000)
                    .Advance(30000)
                    .bytes());
  // A SYN flood past the half-open limit: SYN cookies, then one returns.
  ScriptWriter flood;
  for (int k = 0; k < 7; ++k) flood.Open(k, 4);
  flood.Segment(6, kA, 0, 0, 512, kOptTimestamps, 20).Advance(4000);
  out.push_back(flood.bytes());
  ScriptWriter nocookies(kCfgNoSynCookies);
  for (int k = 0; k < 7; ++k) nocookies.Open(k, 5);
  out.push_back(nocookies.Advance(2000).bytes());
  // UDP echo on both families.
  out.push_back(ScriptWriter().Datagram(0, 64).Datagram(1, 1200).Datagram(2, 0).Advance(10).bytes());
  // An ACK acknowledging what was never sent, and data past the window.
  out.push_back(ScriptWriter()
                    .Open(0)
                    .Segment(0, kA, 0, 5000, 65535, kOptTimestamps, 0)
                    .Segment(0, kA, 30000, 0, 65535, kOptTimestamps, 1000)
                    .Segment(0, kA, -30000, 0, 65535, kOptTimestamps, 1000)
                    .bytes());
}

}  // namespace

std::vector<std::vector<std::uint8_t>> StackSeeds() {
  namespace v = ringstack::vectors;
  std::vector<std::vector<std::uint8_t>> out;
  const std::vector<std::vector<std::uint8_t>> frames = {
      V(v::kArpRequest), V(v::kArpReply), V(v::kIcmpEchoRequest), V(v::kIcmpEchoReply),
      V(v::kIpv4WithOptions), V(v::kIcmpEchoRequestPadded), V(v::kArpProbe), V(v::kArpAnnouncement),
      V(v::kUdpToClosedPort), V(v::kIpv6EchoRequest), V(v::kNdNsFromPeer), V(v::kNdNaDefendsStatic), V(v::kNdRa),
      V(v::kMldv2GeneralQuery), V(v::kIpv6ExtChain), V(v::kIpv6UnknownOption), V(v::kTcpSyn), V(v::kTcpSynAck),
      V(v::kTcpDataSack6), V(v::kTcpRst)};
  for (const auto& f : frames) out.push_back(ScriptWriter().Frame(f).Advance(10).bytes());
  for (const auto& f : {V(v::kDhcpOffer), V(v::kDhcpAck), V(v::kDhcpNak)}) {
    out.push_back(ScriptWriter(kCfgDhcp).Advance(100).Frame(f).Advance(10).bytes());
  }
  ConversationSeeds(out);
  return out;
}

}  // namespace ringstack::fuzz
