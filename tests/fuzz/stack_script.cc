// Plays a whole-stack fuzz script (stack_script.h): a fresh engine per
// input, the harness as the wire's peer and as the engine's application.
#include "tests/fuzz/stack_script.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <memory>
#include <optional>
#include <span>
#include <utility>

#include "engine/engine.h"
#include "engine/link/sim.h"
#include "engine/runner.h"
#include "protocols/arp/arp_repr.h"
#include "protocols/common/bytes.h"
#include "protocols/common/checksum.h"
#include "protocols/ethernet/ethernet_repr.h"
#include "protocols/icmpv6/icmpv6_repr.h"
#include "protocols/icmpv6/nd/nd_repr.h"
#include "protocols/ipv4/ipv4_repr.h"
#include "protocols/ipv6/ipv6_repr.h"
#include "protocols/tcp/tcp_repr.h"
#include "sockets/api.h"
#include "tests/fuzz/fuzz_common.h"

namespace ringstack::fuzz {
namespace {

using engine::Duration;
using proto::IpAddress;
using proto::Ipv4Address;
using proto::Ipv6Address;
using proto::MacAddress;
using proto::tcp::SeqNum;
using proto::tcp::TcpRepr;
using Frame = std::vector<std::byte>;

constexpr std::size_t kSlots = 16;
constexpr std::uint16_t kListenPort = 80;
constexpr std::uint16_t kUdpPort = 7;
constexpr std::uint16_t kPassiveBase = 40000;  // the peer's port for slot k: 40000 + k
constexpr std::uint16_t kActiveBase = 9000;    // a port the peer listens on, for the engine's connects
constexpr std::uint16_t kMaxPayload = 1400;
constexpr std::size_t kMaxReadPerPump = 256 * 1024;
// Virtual time one script may spend (kAdvance past it is ignored), so no
// input runs long in real time.
constexpr Duration kMaxScriptTime = Duration::Seconds(600);

const MacAddress kEngineMac = *MacAddress::Parse("02:00:00:00:00:01");
const MacAddress kPeerMac = *MacAddress::Parse("52:54:00:12:34:56");
const Ipv4Address kEngine4 = *Ipv4Address::Parse("192.0.2.2");
const Ipv4Address kPeer4 = *Ipv4Address::Parse("192.0.2.1");
const Ipv6Address kEngine6 = *Ipv6Address::Parse("2001:db8:0:1::2");
const Ipv6Address kPeer6 = *Ipv6Address::Parse("2001:db8:0:1::1");

using Reader = ScriptReader;

// One TCP connection as the peer sees it.
struct Slot {
  bool used = false;     // has a sequence space
  bool v6 = false;
  bool active = false;   // the engine connected out (the peer listens)
  std::uint16_t peer_port = 0;
  std::uint16_t engine_port = 0;  // 0 until the engine's SYN names it
  SeqNum snd_nxt;        // the peer's next sequence number
  SeqNum engine_nxt;     // one past the highest sequence number the engine sent
  bool engine_seen = false;
  std::uint32_t ts_recent = 0;  // the engine's latest TSval
  int fd = -1;           // the engine's socket for it
  bool reading = true;
  bool echo = false;
  bool synack_answered = false;
  std::uint8_t connect_how = 0;
};

// The Ethernet and IP headers of a frame from the peer to the engine
// carrying `l4_len` bytes of `protocol`.
void EmitPeerHeaders(Frame& f, bool v6, std::uint8_t protocol, std::size_t l4_len, bool df) {
  proto::ethernet::EthernetRepr{kEngineMac, kPeerMac, v6 ? std::uint16_t{0x86dd} : std::uint16_t{0x0800}}.Emit(
      proto::MutableBytes(f.data(), 14));
  if (v6) {
    proto::ipv6::Ipv6Repr ip;
    ip.src = kPeer6;
    ip.dst = kEngine6;
    ip.next_header = protocol;
    ip.payload_len = static_cast<std::uint16_t>(l4_len);
    ip.Emit(proto::MutableBytes(f.data() + 14, proto::ipv6::kHeaderLen));
  } else {
    proto::ipv4::Ipv4Repr ip;
    ip.src = kPeer4;
    ip.dst = kEngine4;
    ip.protocol = protocol;
    ip.df = df;
    ip.payload_len = static_cast<std::uint16_t>(l4_len);
    ip.Emit(proto::MutableBytes(f.data() + 14, proto::ipv4::kMinHeaderLen));
  }
}

engine::Config MakeConfig(std::uint8_t cfg) {
  engine::RawFlags f;
  f.tap = "fuzz0";
  f.mac = kEngineMac.ToString();
  f.ip4 = "192.0.2.2/24";
  f.gw4 = "192.0.2.1";
  f.ip6 = "2001:db8:0:1::2/64";
  f.acd = "off";
  f.log_level = "error";  // no start-up lines per input
  f.dhcp4 = (cfg & kCfgDhcp) != 0;
  f.workers = (cfg & kCfgTwoWorkers) != 0 ? 2 : 1;
  f.pool_buffers = 512;
  f.tcp_max_half_open = 4;  // a few SYNs reach the SYN-cookie path
  f.tcp_rto_min = 200;
  const bool sack = (cfg & kCfgRecoverySack) != 0, newreno = (cfg & kCfgRecoveryNewReno) != 0;
  f.tcp_recovery = sack && !newreno ? "sack" : (newreno && !sack ? "newreno" : "rack");
  f.tcp_cc = (cfg & kCfgNewReno) != 0 ? "newreno" : "cubic";
  f.tcp_syncookies = (cfg & kCfgNoSynCookies) != 0 ? "off" : "on";
  auto config = engine::ParseConfig(f, 1);
  RS_FUZZ_CHECK(config.ok());
  return *config;
}

class Player {
 public:
  explicit Player(std::uint8_t cfg);
  void Play(Reader& in);
  // Closes every socket, lets the engine go idle and checks that every
  // packet buffer is back in the pool.
  void Finish();
  ScriptStats stats() const { return stats_; }
  void AddCounters(std::map<std::string, std::uint64_t>& out) const {
    engine_->counters().ForEach([&](std::string_view name, std::uint64_t v) { out[std::string(name)] += v; });
  }

 private:
  bool Record(Reader& in);
  bool DoOpen(Reader& in);
  bool DoSegment(Reader& in);
  bool DoApp(Reader& in);
  bool DoConnect(Reader& in);
  bool DoDatagram(Reader& in);
  // Lets the engine and the application work without time passing, then
  // lets `d` of virtual time pass, answering the engine as the peer would.
  void Step();
  void Run(Duration d);
  void Drain();
  void OnEngineFrame(const Frame& f);
  void OnEngineTcp(const TcpRepr& seg, bool v6);
  void AnswerArp(const proto::arp::ArpRepr& arp);
  void AnswerNs(const Frame& f, const proto::ipv6::Ipv6Repr& ip);
  void AppPump();
  void AcceptAll(int listen_fd);
  void ReadSlot(Slot& s);
  void EchoUdp(int fd);
  void SendSegment(Slot& s, const TcpRepr& tcp, std::size_t payload_len);
  void SendToEngine(const Frame& f);
  Slot& SlotFor(std::uint8_t conn) { return slots_[conn % kSlots]; }
  std::uint32_t TsVal() const { return static_cast<std::uint32_t>(clock_.Now().nanos() / 1000000) + 1000000u; }

  engine::VirtualClock clock_;
  std::unique_ptr<engine::SimLink> peer_;
  std::unique_ptr<engine::Engine> engine_;
  std::unique_ptr<engine::SimRunner> runner_;
  std::unique_ptr<sockets::Stack> stack_;
  std::array<int, 2> listeners_{-1, -1};
  std::array<int, 2> udp_{-1, -1};
  std::array<Slot, kSlots> slots_;
  std::vector<std::byte> read_buf_ = std::vector<std::byte>(16384);
  ScriptStats stats_;
  engine::Instant start_ = clock_.Now();
};

Player::Player(std::uint8_t cfg) {
  auto [p, mine] = engine::SimLink::Pair(clock_);
  peer_ = std::move(p);
  auto e = engine::Engine::CreateWithLink(MakeConfig(cfg), std::move(mine), clock_);
  RS_FUZZ_CHECK(e.ok());
  engine_ = std::move(*e);
  runner_ = std::make_unique<engine::SimRunner>(engine_->stages(), clock_,
                                                std::vector<rings::PacketPool*>{&engine_->pool()});
  stack_ = std::make_unique<sockets::Stack>(*engine_, [this] { runner_->Settle(); });
  for (int v6 = 0; v6 < 2; ++v6) {
    const int domain = v6 ? AF_INET6 : AF_INET;
    const sockets::Endpoint any = sockets::Endpoint::Wildcard(v6, kListenPort);
    int l = stack_->Socket(domain, SOCK_STREAM | SOCK_NONBLOCK);
    if (v6) stack_->SetSockOpt(l, IPPROTO_IPV6, IPV6_V6ONLY, 1);
    stack_->SetSockOpt(l, SOL_SOCKET, SO_RCVBUF, 4096);  // small: the window closes soon
    RS_FUZZ_CHECK(stack_->Bind(l, any) == 0 && stack_->Listen(l, 4) == 0);
    listeners_[v6] = l;
    int u = stack_->Socket(domain, SOCK_DGRAM | SOCK_NONBLOCK);
    if (v6) stack_->SetSockOpt(u, IPPROTO_IPV6, IPV6_V6ONLY, 1);
    RS_FUZZ_CHECK(stack_->Bind(u, sockets::Endpoint{any.addr, kUdpPort}) == 0);
    udp_[v6] = u;
  }
  Run(Duration::Seconds(3));  // IPv6 duplicate address detection
}

void Player::Finish() {
  stack_.reset();  // closes every socket
  Run(Duration::Seconds(5));  // long enough for ARP retries to run out, so parked packets go
  const rings::PoolStats pool = engine_->pool().stats();
  for (const auto& c : pool.cls) RS_FUZZ_CHECK(c.in_use == 0);
}

void Player::Play(Reader& in) {
  while (!in.empty() && Record(in)) {
    ++stats_.records;
    Step();
  }
}

bool Player::Record(Reader& in) {
  std::uint8_t op;
  if (!in.U8(op)) return false;
  switch (op % kOpCount) {
    case kFrame: {
      std::uint16_t len;
      std::span<const std::uint8_t> bytes;
      if (!in.U16(len) || !in.Take(std::min<std::size_t>(len, 2048), bytes)) return false;
      SendToEngine(Frame(reinterpret_cast<const std::byte*>(bytes.data()),
                         reinterpret_cast<const std::byte*>(bytes.data()) + bytes.size()));
      return true;
    }
    case kOpen:
      return DoOpen(in);
    case kSegment:
      return DoSegment(in);
    case kAdvance: {
      std::uint16_t ms;
      if (!in.U16(ms)) return false;
      if (clock_.Now() - start_ < kMaxScriptTime) Run(Duration::Millis(ms));
      return true;
    }
    case kApp:
      return DoApp(in);
    case kConnect:
      return DoConnect(in);
    default:
      return DoDatagram(in);
  }
}

proto::tcp::TcpOptions SynOptions(bool none) {
  proto::tcp::TcpOptions o;
  if (none) return o;
  o.mss = 1460;
  o.window_scale = 7;
  o.sack_permitted = true;
  return o;
}

bool Player::DoOpen(Reader& in) {
  std::uint8_t conn, how;
  if (!in.U8(conn) || !in.U8(how)) return false;
  Slot& s = SlotFor(conn);
  const int index = static_cast<int>(conn % kSlots);
  s = Slot{};
  s.used = true;
  s.v6 = (how & 1) != 0;
  s.peer_port = static_cast<std::uint16_t>(kPassiveBase + index);
  s.engine_port = kListenPort;
  s.snd_nxt = SeqNum(0x10000000u * static_cast<std::uint32_t>(index + 1));
  TcpRepr syn;
  syn.flags = proto::tcp::kSyn;
  syn.seq = s.snd_nxt;
  syn.window = 65535;
  syn.options = SynOptions((how & 2) != 0);
  if ((how & 2) == 0) syn.options.timestamps = proto::tcp::Timestamps{TsVal(), 0};
  SendSegment(s, syn, 0);
  s.snd_nxt = s.snd_nxt + 1;
  Step();
  if ((how & 4) == 0 && s.engine_seen) {
    TcpRepr ack;
    ack.flags = proto::tcp::kAck;
    ack.seq = s.snd_nxt;
    ack.ack = s.engine_nxt;
    ack.window = 512;  // x 128: 64 KiB
    if ((how & 2) == 0) ack.options.timestamps = proto::tcp::Timestamps{TsVal(), s.ts_recent};
    SendSegment(s, ack, 0);
  }
  return true;
}

bool Player::DoSegment(Reader& in) {
  std::uint8_t conn, flags, opts;
  std::uint16_t seq, ack, window, len;
  if (!in.U8(conn) || !in.U8(flags) || !in.U16(seq) || !in.U16(ack) || !in.U16(window) || !in.U8(opts) ||
      !in.U16(len)) {
    return false;
  }
  Slot& s = SlotFor(conn);
  if (!s.used) {  // a fresh passive connection's space: the segment may be its SYN
    s = Slot{};
    s.used = true;
    s.peer_port = static_cast<std::uint16_t>(kPassiveBase + conn % kSlots);
    s.engine_port = kListenPort;
    s.snd_nxt = SeqNum(0x01000000u * (conn + 1u));
  }
  TcpRepr t;
  t.flags = flags;
  t.seq = s.snd_nxt + static_cast<std::uint32_t>(static_cast<std::int16_t>(seq));
  t.ack = s.engine_nxt + static_cast<std::uint32_t>(static_cast<std::int16_t>(ack));
  t.window = window;
  if ((flags & proto::tcp::kUrg) != 0) t.urgent = len;
  proto::tcp::TcpOptions& o = t.options;
  if ((opts & kOptTimestamps) != 0) o.timestamps = proto::tcp::Timestamps{TsVal(), s.ts_recent};
  if ((opts & kOptOldTimestamp) != 0) o.timestamps = proto::tcp::Timestamps{TsVal() - 0x40000000u, s.ts_recent};
  if ((opts & kOptZeroEcho) != 0 && o.timestamps) o.timestamps->tsecr = 0;
  if ((opts & kOptMss) != 0) o.mss = 536;
  if ((opts & kOptWindowScale) != 0) o.window_scale = 7;
  if ((opts & kOptSackPermitted) != 0) o.sack_permitted = true;
  const int blocks = ((opts & kOptSack1) != 0 ? 1 : 0) + ((opts & kOptSack2) != 0 ? 2 : 0);
  for (int b = 0; b < blocks; ++b) {
    std::uint16_t below, size;
    if (!in.U16(below) || !in.U16(size)) return false;
    const SeqNum left = s.engine_nxt - below;
    o.sack[o.sack_count++] = proto::tcp::SackBlock{left, left + size};
  }
  const std::size_t payload = std::min<std::size_t>(len, kMaxPayload - t.options.EmitLen());
  SendSegment(s, t, payload);
  // In order: the peer's next sequence number moves past it.
  if (static_cast<std::int16_t>(seq) == 0 && (flags & proto::tcp::kRst) == 0) {
    s.snd_nxt = t.seq + static_cast<std::uint32_t>(payload) + ((flags & proto::tcp::kSyn) != 0 ? 1u : 0u) +
                ((flags & proto::tcp::kFin) != 0 ? 1u : 0u);
  }
  return true;
}

bool Player::DoApp(Reader& in) {
  std::uint8_t conn, action;
  std::uint16_t n;
  if (!in.U8(conn) || !in.U8(action) || !in.U16(n)) return false;
  Slot& s = SlotFor(conn);
  if (s.fd < 0) return true;
  switch (action % kAppActionCount) {
    case kAppRead: {
      std::size_t want = n == 0 ? read_buf_.size() : std::min<std::size_t>(n, read_buf_.size());
      stack_->Recv(s.fd, std::span(read_buf_).first(want), true);
      break;
    }
    case kAppStopReading:
      s.reading = false;
      break;
    case kAppResume:
      s.reading = true;
      break;
    case kAppWrite: {
      std::vector<std::byte> data(n);
      for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::byte>(i * 7);
      stack_->Send(s.fd, data);
      break;
    }
    case kAppShutdown:
      stack_->Shutdown(s.fd, SHUT_WR);
      break;
    case kAppClose:
      stack_->Close(s.fd);
      s.fd = -1;
      break;
    case kAppNoDelay:
      stack_->SetSockOpt(s.fd, IPPROTO_TCP, TCP_NODELAY, 1);
      break;
    case kAppCongestion:
      stack_->SetCongestion(s.fd, (n & 1) == 0 ? "newreno" : "cubic");
      break;
    default:
      s.echo = !s.echo;
      break;
  }
  return true;
}

bool Player::DoConnect(Reader& in) {
  std::uint8_t conn, how;
  if (!in.U8(conn) || !in.U8(how)) return false;
  Slot& s = SlotFor(conn);
  if (s.fd >= 0) stack_->Close(s.fd);
  const int index = static_cast<int>(conn % kSlots);
  s = Slot{};
  s.used = true;
  s.active = true;
  s.v6 = (how & 1) != 0;
  s.connect_how = how;
  s.peer_port = static_cast<std::uint16_t>(kActiveBase + index);
  s.snd_nxt = SeqNum(0x20000000u + 0x01000000u * static_cast<std::uint32_t>(index));
  s.fd = stack_->Socket(s.v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK);
  const sockets::Endpoint to{s.v6 ? IpAddress(kPeer6) : IpAddress(kPeer4), s.peer_port};
  const int rc = stack_->Connect(s.fd, to);
  RS_FUZZ_CHECK(rc == 0 || errno == EINPROGRESS);
  return true;
}

bool Player::DoDatagram(Reader& in) {
  std::uint8_t how;
  std::uint16_t len;
  if (!in.U8(how) || !in.U16(len)) return false;
  const bool v6 = (how & 1) != 0;
  const std::size_t n = std::min<std::size_t>(len, kMaxPayload);
  const std::size_t ip_len = v6 ? proto::ipv6::kHeaderLen : proto::ipv4::kMinHeaderLen;
  Frame f(14 + ip_len + 8 + n);
  for (std::size_t i = 0; i < n; ++i) f[14 + ip_len + 8 + i] = static_cast<std::byte>(i + how);
  std::byte* udp = f.data() + 14 + ip_len;
  proto::StoreBe16(udp, static_cast<std::uint16_t>(41000 + (how >> 1)));
  proto::StoreBe16(udp + 2, kUdpPort);
  proto::StoreBe16(udp + 4, static_cast<std::uint16_t>(8 + n));
  proto::Checksum c;
  if (v6) {
    proto::AddPseudoHeader(c, kPeer6, kEngine6, 17, static_cast<std::uint32_t>(8 + n));
  } else {
    proto::AddPseudoHeader(c, kPeer4, kEngine4, 17, static_cast<std::uint32_t>(8 + n));
  }
  c.Add(proto::Bytes(udp, 8 + n));
  const std::uint16_t sum = c.Finish();
  proto::StoreBe16(udp + 6, sum == 0 ? 0xffff : sum);
  EmitPeerHeaders(f, v6, 17, 8 + n, /*df=*/false);
  SendToEngine(f);
  return true;
}

void Player::SendSegment(Slot& s, const TcpRepr& tcp_in, std::size_t payload_len) {
  TcpRepr tcp = tcp_in;
  tcp.src_port = s.peer_port;
  tcp.dst_port = s.engine_port;
  const std::size_t ip_len = s.v6 ? proto::ipv6::kHeaderLen : proto::ipv4::kMinHeaderLen;
  const std::size_t seg_len = tcp.header_len() + payload_len;
  Frame f(14 + ip_len + seg_len);
  std::byte* seg = f.data() + 14 + ip_len;
  for (std::size_t i = 0; i < payload_len; ++i) {
    seg[tcp.header_len() + i] = static_cast<std::byte>(tcp.seq.value() + i);
  }
  EmitPeerHeaders(f, s.v6, 6, seg_len, /*df=*/true);
  if (s.v6) {
    tcp.EmitHeader(proto::MutableBytes(seg, seg_len), kPeer6, kEngine6);
  } else {
    tcp.EmitHeader(proto::MutableBytes(seg, seg_len), kPeer4, kEngine4);
  }
  SendToEngine(f);
}

void Player::SendToEngine(const Frame& f) {
  peer_->SendBytes(f);
  ++stats_.frames_to_engine;
}

void Player::Step() {
  // A few rounds: the application's calls make frames, the peer's answers
  // (ARP, ND, SYN-ACKs) make more work.
  for (int round = 0; round < 4; ++round) {
    runner_->Settle();
    const std::uint64_t before = stats_.frames_from_engine + stats_.frames_to_engine;
    Drain();
    AppPump();
    runner_->Settle();
    Drain();
    if (stats_.frames_from_engine + stats_.frames_to_engine == before) break;
  }
}

void Player::Run(Duration d) {
  const engine::Instant end = clock_.Now() + d;
  for (;;) {
    Step();
    if (clock_.Now() >= end) return;
    // In steps, so the peer answers the engine's solicitations in time.
    runner_->RunUntil(std::min(end, clock_.Now() + Duration::Millis(20)));
  }
}

void Player::Drain() {
  while (auto f = peer_->ReceiveBytes()) {
    ++stats_.frames_from_engine;
    OnEngineFrame(*f);
  }
}

void Player::OnEngineFrame(const Frame& f) {
  const auto eth = proto::ethernet::EthernetRepr::Parse(f);
  RS_FUZZ_CHECK(eth.ok());  // everything the engine sends is well formed
  const proto::Bytes payload = proto::Bytes(f).subspan(proto::ethernet::kHeaderLen);
  if (eth->ethertype == 0x0806) {
    const auto arp = proto::arp::ArpRepr::Parse(payload);
    RS_FUZZ_CHECK(arp.ok());
    AnswerArp(*arp);
  } else if (eth->ethertype == 0x0800) {
    const auto ip = proto::ipv4::Ipv4Repr::Parse(payload);
    RS_FUZZ_CHECK(ip.ok());
    if (ip->protocol != 6 || ip->is_fragment() || ip->dst != kPeer4) return;
    const auto tcp = TcpRepr::Parse(payload.subspan(ip->parsed_header_len, ip->payload_len), ip->src, ip->dst);
    RS_FUZZ_CHECK(tcp.ok());
    OnEngineTcp(*tcp, false);
  } else if (eth->ethertype == 0x86dd) {
    const auto ip = proto::ipv6::Ipv6Repr::Parse(payload);
    RS_FUZZ_CHECK(ip.ok());
    if (ip->next_header == 58) AnswerNs(f, *ip);
    if (ip->next_header != 6 || ip->dst != kPeer6) return;
    const auto tcp = TcpRepr::Parse(payload.subspan(proto::ipv6::kHeaderLen, ip->payload_len), ip->src, ip->dst);
    RS_FUZZ_CHECK(tcp.ok());
    OnEngineTcp(*tcp, true);
  }
}

void Player::OnEngineTcp(const TcpRepr& seg, bool v6) {
  for (Slot& s : slots_) {
    if (!s.used || s.v6 != v6 || s.peer_port != seg.dst_port) continue;
    if (s.engine_port == 0 && s.active && seg.syn() && !seg.has_ack()) s.engine_port = seg.src_port;
    if (s.engine_port != seg.src_port) continue;
    const SeqNum end = seg.seq + seg.seg_len();
    if (!s.engine_seen || end.After(s.engine_nxt)) s.engine_nxt = end;
    s.engine_seen = true;
    if (seg.options.timestamps) s.ts_recent = seg.options.timestamps->tsval;
    if (seg.syn() && seg.has_ack() && !s.active) ++stats_.established;
    // The engine's SYN: the peer, listening, answers as its script says.
    if (s.active && seg.syn() && !seg.has_ack() && !s.synack_answered && (s.connect_how & 8) == 0) {
      s.synack_answered = true;
      TcpRepr reply;
      reply.seq = s.snd_nxt;
      reply.ack = seg.seq + 1;
      if ((s.connect_how & 2) != 0) {
        reply.flags = proto::tcp::kRst | proto::tcp::kAck;
        reply.seq = SeqNum(0);
      } else {
        reply.flags = proto::tcp::kSyn | proto::tcp::kAck;
        reply.window = 65535;
        reply.options = SynOptions((s.connect_how & 4) != 0);
        if ((s.connect_how & 4) == 0 && seg.options.timestamps) {
          reply.options.timestamps = proto::tcp::Timestamps{TsVal(), seg.options.timestamps->tsval};
        }
        s.snd_nxt = s.snd_nxt + 1;
        ++stats_.established;
      }
      SendSegment(s, reply, 0);
    }
    return;
  }
}

void Player::AnswerArp(const proto::arp::ArpRepr& arp) {
  if (arp.oper != proto::arp::kOpRequest || arp.tpa == kEngine4 || arp.spa != kEngine4) return;
  // The peer answers for every address of the link but the engine's own.
  proto::arp::ArpRepr reply;
  reply.oper = proto::arp::kOpReply;
  reply.sha = kPeerMac;
  reply.spa = arp.tpa;
  reply.tha = kEngineMac;
  reply.tpa = kEngine4;
  Frame f(14 + proto::arp::kPacketLen);
  proto::ethernet::EthernetRepr{kEngineMac, kPeerMac, 0x0806}.Emit(proto::MutableBytes(f.data(), 14));
  reply.Emit(proto::MutableBytes(f.data() + 14, proto::arp::kPacketLen));
  SendToEngine(f);
}

void Player::AnswerNs(const Frame& f, const proto::ipv6::Ipv6Repr& ip) {
  const proto::Bytes icmp = proto::Bytes(f).subspan(14 + proto::ipv6::kHeaderLen);
  if (icmp.size() < 24 || static_cast<std::uint8_t>(icmp[0]) != 135 || ip.src.IsUnspecified()) return;
  const Ipv6Address target = Ipv6Address::FromBytes(icmp.data() + 8);
  if (target == kEngine6 || target.IsLinkLocal()) return;
  proto::nd::NeighborAdvertisement na;
  na.solicited = true;
  na.override_flag = true;
  na.target = target;
  na.options.target_ll = kPeerMac;
  const std::size_t body = na.body_len();
  Frame out(14 + proto::ipv6::kHeaderLen + 4 + body);
  proto::ethernet::EthernetRepr{kEngineMac, kPeerMac, 0x86dd}.Emit(proto::MutableBytes(out.data(), 14));
  proto::ipv6::Ipv6Repr reply;
  reply.src = target;
  reply.dst = ip.src;
  reply.next_header = 58;
  reply.hop_limit = 255;
  reply.payload_len = static_cast<std::uint16_t>(4 + body);
  reply.Emit(proto::MutableBytes(out.data() + 14, proto::ipv6::kHeaderLen));
  std::byte* msg = out.data() + 14 + proto::ipv6::kHeaderLen;
  na.Emit(proto::MutableBytes(msg + 4, body));
  proto::icmpv6::Icmpv6Repr header;
  header.type = 136;
  header.EmitHeader(proto::MutableBytes(msg, 4 + body), reply.src, reply.dst);
  SendToEngine(out);
}

void Player::AppPump() {
  if (!stack_) return;
  for (int l : listeners_) AcceptAll(l);
  for (Slot& s : slots_) {
    if (s.fd >= 0 && s.reading) ReadSlot(s);
  }
  for (int u : udp_) EchoUdp(u);
}

void Player::AcceptAll(int listen_fd) {
  for (;;) {
    sockets::Endpoint peer;
    const int fd = stack_->Accept(listen_fd, &peer);
    if (fd < 0) return;
    stack_->SetNonBlocking(fd, true);
    const int index = peer.port - kPassiveBase;
    if (index < 0 || index >= static_cast<int>(kSlots)) {
      stack_->Close(fd);
      continue;
    }
    Slot& s = slots_[static_cast<std::size_t>(index)];
    if (s.fd >= 0) stack_->Close(s.fd);
    s.fd = fd;
  }
}

void Player::ReadSlot(Slot& s) {
  std::size_t total = 0;
  while (total < kMaxReadPerPump) {
    const ssize_t n = stack_->Recv(s.fd, read_buf_, true);
    if (n <= 0) return;
    total += static_cast<std::size_t>(n);
    if (s.echo) stack_->Send(s.fd, std::span(read_buf_).first(static_cast<std::size_t>(n)));
  }
}

void Player::EchoUdp(int fd) {
  for (int i = 0; i < 64; ++i) {
    sockets::Endpoint from;
    const ssize_t n = stack_->RecvFrom(fd, read_buf_, &from, true);
    if (n < 0) return;
    stack_->SendTo(fd, std::span(read_buf_).first(static_cast<std::size_t>(n)), &from);
  }
}

}  // namespace

ScriptStats PlayStackScript(const std::uint8_t* data, std::size_t size, std::map<std::string, std::uint64_t>* counters) {
  if (size == 0) return {};
  Reader in(data + 1, size - 1);
  Player player(data[0]);
  player.Play(in);
  player.Finish();
  ScriptStats stats = player.stats();
  if (counters != nullptr) player.AddCounters(*counters);
  return stats;
}

}  // namespace ringstack::fuzz
