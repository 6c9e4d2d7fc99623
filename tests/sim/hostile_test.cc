// The hostile-input corpus (issue #10), through a whole engine (B) while a
// TCP connection from A to it is live: truncated and oversized headers at
// each layer, bad lengths and checksums, option loops and zero-length
// options, IPv6 extension-header chains (70 long, hop-by-hop out of place,
// routing type 0, a Fragment header cut short), ND and MLD with lying
// lengths and counts, TCP with every flag combination, and, per family,
// overlapping fragments and fragment floods from many sources and from one
// (bounded by --reassembly-mem, evicted, expired). Each case: dropped,
// counted under its named reason (exactly once), the engine alive, the
// connection unaffected (a transfer afterwards is sha-exact), every buffer
// back.
#include <algorithm>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "protocols/common/checksum.h"
#include "protocols/common/parse_error.h"
#include "protocols/ethernet/ethernet_repr.h"
#include "protocols/icmpv6/icmpv6_repr.h"
#include "protocols/ipv4/ipv4_repr.h"
#include "protocols/ipv6/ipv6_repr.h"
#include "protocols/tcp/tcp_repr.h"
#include "protocols/udp/udp_repr.h"
#include "tests/sim/tcp_sim_harness.h"

namespace ringstack::sockets::harness {
namespace {

using Frame = std::vector<std::byte>;
using proto::Ipv4Address;
using proto::Ipv6Address;

const proto::MacAddress kMacA = *proto::MacAddress::Parse("02:00:00:00:00:0a");
const proto::MacAddress kMacB = *proto::MacAddress::Parse("02:00:00:00:00:0b");
const Ipv4Address kA4 = *Ipv4Address::Parse("192.0.2.1"), kB4 = *Ipv4Address::Parse("192.0.2.2");
const Ipv6Address kALinkLocal = *Ipv6Address::Parse("fe80::ff:fe00:a");
const Ipv6Address kBLinkLocal = *Ipv6Address::Parse("fe80::ff:fe00:b");

Frame Eth(std::uint16_t type, std::span<const std::byte> payload) {
  Frame f(14 + payload.size());
  proto::ethernet::EthernetRepr{kMacB, kMacA, type}.Emit(std::span(f).first(14));
  std::copy(payload.begin(), payload.end(), f.data() + 14);
  return f;
}

// IPv4 from A to B carrying `payload` (a valid header; callers break it after).
Frame Ip4(std::uint8_t protocol, std::span<const std::byte> payload) {
  std::vector<std::byte> pkt(20 + payload.size());
  proto::ipv4::Ipv4Repr ip;
  ip.src = kA4;
  ip.dst = kB4;
  ip.protocol = protocol;
  ip.payload_len = static_cast<std::uint16_t>(payload.size());
  ip.Emit(pkt);
  std::copy(payload.begin(), payload.end(), pkt.data() + 20);
  return Eth(0x0800, pkt);
}
void FixIp4Checksum(Frame& f) {
  const std::size_t ihl = (static_cast<unsigned>(f[14]) & 0xf) * 4u;
  proto::StoreBe16(f.data() + 24, 0);
  proto::StoreBe16(f.data() + 24, proto::InternetChecksum(std::span(f).subspan(14, std::min(ihl, f.size() - 14))));
}

// IPv4 with a 4-byte options area holding one option's type and length
// bytes (a UDP header behind), the header checksum right.
Frame Ip4WithOption(std::uint8_t type, std::uint8_t len) {
  std::vector<std::byte> pkt(24 + 8);
  proto::ipv4::Ipv4Repr ip;
  ip.src = kA4;
  ip.dst = kB4;
  ip.protocol = 17;
  ip.payload_len = 8;
  ip.Emit(pkt);  // a 20-byte header: grown to 24 below
  Frame f = Eth(0x0800, pkt);
  f[14] = std::byte{0x46};
  proto::StoreBe16(f.data() + 16, 32);
  f[34] = static_cast<std::byte>(type);
  f[35] = static_cast<std::byte>(len);
  FixIp4Checksum(f);
  return f;
}

// A TCP segment to B from `src` (A by default; 192.0.2.77 never answers,
// so B's replies to it wait on ARP and draw no answer back).
Frame Tcp4(const proto::tcp::TcpRepr& h, Ipv4Address src = kA4) {
  std::vector<std::byte> seg(h.header_len() + h.payload.size());
  std::copy(h.payload.begin(), h.payload.end(), seg.data() + h.header_len());
  h.EmitHeader(seg, src, kB4);
  Frame f = Ip4(6, seg);
  proto::StoreBe32(f.data() + 14 + 12, src.value());
  FixIp4Checksum(f);
  return f;
}
const Ipv4Address kSilent = *Ipv4Address::Parse("192.0.2.77");

// ICMPv6 from A's link-local to `dst` (hop limit 255, checksum right).
Frame Icmp6(std::uint8_t type, std::vector<std::byte> body, const Ipv6Address& dst, std::uint8_t hop_limit = 255) {
  std::vector<std::byte> msg(4 + body.size());
  std::copy(body.begin(), body.end(), msg.data() + 4);
  proto::icmpv6::Icmpv6Repr{type, 0, {}}.EmitHeader(msg, kALinkLocal, dst);
  std::vector<std::byte> pkt(40 + msg.size());
  proto::ipv6::Ipv6Repr ip;
  ip.src = kALinkLocal;
  ip.dst = dst;
  ip.next_header = 58;
  ip.hop_limit = hop_limit;
  ip.payload_len = static_cast<std::uint16_t>(msg.size());
  ip.Emit(pkt);
  std::copy(msg.begin(), msg.end(), pkt.data() + 40);
  return Eth(0x86dd, pkt);
}

// A UDP datagram to B's `port` from `src` (A's address by default) with
// `payload`, checksum right, as the bytes an IP layer fragments.
template <typename Address>
std::vector<std::byte> Udp(const Address& src, const Address& dst, std::uint16_t port, const std::string& payload) {
  std::vector<std::byte> d(8 + payload.size());
  std::memcpy(d.data() + 8, payload.data(), payload.size());
  proto::udp::UdpRepr{40001, port, {}}.EmitHeader(d, src, dst);
  return d;
}

// One IPv4 fragment of datagram `ident` from `src` to B: `data` at `offset`.
Frame Frag4(Ipv4Address src, std::uint16_t ident, std::uint32_t offset, bool more, std::span<const std::byte> data) {
  std::vector<std::byte> pkt(20 + data.size());
  proto::ipv4::Ipv4Repr ip;
  ip.src = src;
  ip.dst = kB4;
  ip.protocol = 17;
  ip.ident = ident;
  ip.mf = more;
  ip.frag_offset = offset;
  ip.payload_len = static_cast<std::uint16_t>(data.size());
  ip.Emit(pkt);
  std::copy(data.begin(), data.end(), pkt.data() + 20);
  return Eth(0x0800, pkt);
}

// One IPv6 fragment (a Fragment header, RFC 8200 4.5) from `src` to B's
// link-local address.
Frame Frag6(const Ipv6Address& src, std::uint32_t ident, std::uint32_t offset, bool more,
            std::span<const std::byte> data) {
  std::vector<std::byte> pkt(48 + data.size());
  proto::ipv6::Ipv6Repr ip;
  ip.src = src;
  ip.dst = kBLinkLocal;
  ip.next_header = proto::ipv6::kFragment;
  ip.payload_len = static_cast<std::uint16_t>(8 + data.size());
  ip.Emit(pkt);
  pkt[40] = std::byte{17};
  proto::StoreBe16(pkt.data() + 42, static_cast<std::uint16_t>(offset | (more ? 1 : 0)));
  proto::StoreBe32(pkt.data() + 44, ident);
  std::copy(data.begin(), data.end(), pkt.data() + 48);
  return Eth(0x86dd, pkt);
}

// IPv6 from A's link-local to B's: Next Header `first`, then `ext` (the
// extension headers as bytes) and an 8-byte UDP header to port 9 behind
// them, when the chain ends there.
Frame Ip6Ext(std::uint8_t first, const std::vector<std::byte>& ext) {
  std::vector<std::byte> pkt(40 + ext.size() + 8);
  proto::ipv6::Ipv6Repr ip;
  ip.src = kALinkLocal;
  ip.dst = kBLinkLocal;
  ip.next_header = first;
  ip.payload_len = static_cast<std::uint16_t>(ext.size() + 8);
  ip.Emit(pkt);
  std::copy(ext.begin(), ext.end(), pkt.data() + 40);
  proto::udp::UdpRepr{40002, 9, {}}.EmitHeader(std::span(pkt).subspan(40 + ext.size()), kALinkLocal, kBLinkLocal);
  return Eth(0x86dd, pkt);
}
// An 8-byte options header (hop-by-hop or destination) naming `next`,
// holding one option `type` with `len` bytes of data (PadN to fill).
std::vector<std::byte> OptionsHeader(std::uint8_t next, std::uint8_t type, std::uint8_t len) {
  std::vector<std::byte> h(8);
  h[0] = static_cast<std::byte>(next);
  h[2] = static_cast<std::byte>(type);
  h[3] = static_cast<std::byte>(len);
  if (len <= 2) {
    h[4 + len] = std::byte{1};  // PadN over the rest
    h[5 + len] = static_cast<std::byte>(2 - len);
  }
  return h;
}

std::vector<std::byte> Bytes(std::initializer_list<int> v) {
  std::vector<std::byte> out;
  for (int b : v) out.push_back(static_cast<std::byte>(b));
  return out;
}

// UDP in IPv4 whose header length field says `words` 32-bit words (the
// checksum fixed, so that field is what is wrong).
Frame Ip4WithHeaderLength(int words) {
  Frame f = Ip4(17, Bytes({0, 1, 0, 2, 0, 8, 0, 0}));
  f[14] = static_cast<std::byte>(0x40 | words);
  FixIp4Checksum(f);
  return f;
}

struct Case {
  std::string name;
  std::function<Frame()> frame;
  std::string counter;  // the named reason it must be counted under, once
};

class Hostile : public ::testing::Test {
 protected:
  void SetUp() override {
    std::tie(c_, s_) = Connect(t_, "192.0.2.2", 7007);
    ASSERT_GE(s_, 0);
    // B's listener stays open for the scans.
    l_ = t_.b().Socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK);
    ASSERT_EQ(t_.b().Bind(l_, Ep("0.0.0.0", 8080)), 0);
    ASSERT_EQ(t_.b().Listen(l_, 16), 0);
    ASSERT_EQ(t_.a().GetSockName(c_, &a_end_), 0);
  }
  void TearDown() override {
    // The connection is unaffected: a transfer each way, exact.
    std::string at_b, at_a;
    const std::string ab = Pattern(300'000, 11), ba = Pattern(200'000, 12);
    ASSERT_TRUE(Exchange(t_, c_, s_, ab, ba, at_b, at_a, engine::Duration::Seconds(60)));
    EXPECT_EQ(Sha(at_b), Sha(ab));
    EXPECT_EQ(Sha(at_a), Sha(ba));
    t_.a().Close(c_);
    t_.b().Close(s_);
    t_.b().Close(l_);
    // Replies parked for 192.0.2.77 go when ARP gives up: every buffer back.
    t_.RunFor(engine::Duration::Seconds(5));
    EXPECT_EQ(t_.engine_b().pool().stats().cls[0].in_use, 0u);
  }
  std::uint64_t B(const std::string& counter) { return t_.engine_b().counter(counter); }
  void Inject(const Frame& f) {
    t_.link_a()->SendBytes(f);
    t_.RunFor(engine::Duration::Millis(2));
  }
  // A segment on the live connection, A -> B, in B's window.
  proto::tcp::TcpRepr OnConnection(std::uint8_t flags) {
    proto::tcp::TcpRepr h;
    h.src_port = a_end_.port;
    h.dst_port = 7007;
    h.flags = flags;
    h.seq = proto::tcp::SeqNum(SessionField("rcv_nxt"));
    h.window = 1000;
    // Timestamps were agreed: without one the segment would be dropped
    // (RFC 7323 3.2) before the step under test.
    h.options.timestamps = proto::tcp::Timestamps{SessionField("ts_recent") + 5, 0};
    return h;
  }
  std::uint32_t SessionField(const std::string& field) {
    for (const std::string& line : t_.engine_b().TcpSessionReport()) {
      const auto at = line.find(" " + field + "=");
      if (line.find(":7007 ") != std::string::npos && at != std::string::npos) {
        return static_cast<std::uint32_t>(std::stoul(line.substr(at + field.size() + 2)));
      }
    }
    ADD_FAILURE() << "no session on 7007";
    return 0;
  }

  TwoEngines t_;
  int c_ = -1, s_ = -1, l_ = -1;
  Endpoint a_end_;
};

TEST_F(Hostile, EachCaseDroppedAndCountedByName) {
  using namespace proto::tcp;  // NOLINT(build/namespaces): flag names
  auto tcp_to = [](std::uint16_t port, std::uint8_t flags) {
    TcpRepr h;
    h.src_port = 40000;
    h.dst_port = port;
    h.flags = flags;
    h.seq = SeqNum(1000);
    h.window = 1000;
    return Tcp4(h);
  };
  const std::vector<Case> cases = {
      {"ethernet: 10 bytes", [] { return Frame(10, std::byte{0x5a}); }, "eth_drop_truncated"},
      {"ipv4: header length 16", [] { return Ip4WithHeaderLength(4); }, "ipv4_drop_bad_header_length"},
      {"ipv4: total length past the frame",
       [] {
         Frame f = Ip4(17, Bytes({0, 1, 0, 2, 0, 8, 0, 0}));
         proto::StoreBe16(f.data() + 16, 1000);
         FixIp4Checksum(f);
         return f;
       },
       "ipv4_drop_bad_total_length"},
      {"ipv4: bad checksum",
       [] {
         Frame f = Ip4(17, Bytes({0, 1, 0, 2, 0, 8, 0, 0}));
         f[24] ^= std::byte{0xff};
         return f;
       },
       "ipv4_drop_bad_checksum"},
      {"ipv4: an option of length 0 (a loop for a naive parser)", [] { return Ip4WithOption(0x07, 0); },
       "ipv4_drop_bad_option"},
      {"ipv4: an option running past the header", [] { return Ip4WithOption(0x44, 40); }, "ipv4_drop_bad_option"},
      {"icmp4: 3 bytes", [] { return Ip4(1, Bytes({8, 0, 0})); }, "icmp4_drop_truncated"},
      {"udp: length past the datagram", [] { return Ip4(17, Bytes({0x9c, 0x40, 0, 9, 0x01, 0, 0, 0})); },
       "udp_drop_bad_total_length"},
      {"tcp: SYN+FIN", [&] { return tcp_to(8080, kSyn | kFin); }, "tcp_drop_bad_flags"},
      {"tcp: SYN+RST", [&] { return tcp_to(8080, kSyn | kRst); }, "tcp_drop_bad_flags"},
      {"tcp: null scan to a listener", [&] { return tcp_to(8080, 0); }, "tcp_drop_listen"},
      {"tcp: xmas scan to a listener", [&] { return tcp_to(8080, kFin | kPsh | kUrg); }, "tcp_drop_listen"},
      {"tcp: null segment on the live connection", [&] { return Tcp4(OnConnection(0)); }, "tcp_no_ack_dropped"},
      {"tcp: xmas on the live connection", [&] { return Tcp4(OnConnection(kFin | kPsh | kUrg)); },
       "tcp_no_ack_dropped"},
      {"tcp: data offset past the segment",
       [&] {
         Frame f = tcp_to(8080, kSyn);
         f[34 + 12] = std::byte{0xf0};  // 60 bytes of header in a 20-byte segment
         return f;
       },
       "tcp_drop_bad_header_length"},
      {"tcp: an option of length 0",
       [&] {
         TcpRepr h;
         h.src_port = 40000;
         h.dst_port = 8080;
         h.flags = kSyn;
         h.seq = SeqNum(1);
         h.window = 1000;
         h.options.mss = 1460;  // rewritten below to kind 2, length 0
         Frame f = Tcp4(h);
         f[34 + 21] = std::byte{0};
         // Checksum: recompute over the pseudo-header.
         std::span<std::byte> seg = std::span(f).subspan(34);
         proto::StoreBe16(seg.data() + 16, 0);
         proto::Checksum c;
         c.AddU32(kA4.value());
         c.AddU32(kB4.value());
         c.AddU16(6);
         c.AddU16(static_cast<std::uint16_t>(seg.size()));
         c.Add(seg);
         proto::StoreBe16(seg.data() + 16, c.Finish());
         return f;
       },
       "tcp_drop_bad_option"},
      {"tcp: bad checksum",
       [&] {
         Frame f = tcp_to(8080, kSyn);
         f[34 + 16] ^= std::byte{0x55};
         return f;
       },
       "tcp_drop_bad_checksum"},
      {"ipv6: payload length past the frame",
       [] {
         Frame f = Icmp6(128, Bytes({0, 1, 0, 1}), kBLinkLocal);
         proto::StoreBe16(f.data() + 14 + 4, 900);
         return f;
       },
       "ipv6_drop_bad_total_length"},
      {"mld: a report saying 777 records with one present",
       [] {
         std::vector<std::byte> body = Bytes({0, 0, 0x03, 0x09});  // reserved, 777 records
         std::vector<std::byte> rec(20);
         rec[0] = std::byte{4};  // CHANGE_TO_EXCLUDE
         const auto group = *Ipv6Address::Parse("ff02::1:ff00:b");
         std::memcpy(rec.data() + 4, group.bytes().data(), 16);
         body.insert(body.end(), rec.begin(), rec.end());
         return Icmp6(143, body, kBLinkLocal, 1);
       },
       "mld_drop_bad_total_length"},
      {"nd: a router advertisement with a zero-length option",
       [] {
         std::vector<std::byte> body(12);  // hop limit, flags, lifetime, reachable, retrans
         for (int b : {1, 0, 0, 0, 0, 0, 0, 0}) body.push_back(static_cast<std::byte>(b));  // SLLA, length 0
         return Icmp6(134, body, *Ipv6Address::Parse("ff02::1"));
       },
       "nd_drop_bad_option"},
      {"nd: a neighbor solicitation cut short", [] { return Icmp6(135, Bytes({0, 0, 0, 0, 0xfe, 0x80}), kBLinkLocal); },
       "nd_drop_truncated"},
      {"ethernet: a 4000-byte frame (past the receive buffer)", [] { return Frame(4000, std::byte{0x5a}); },
       "rx_drop_oversize"},
      {"ipv4: header length 60 in a 28-byte packet", [] { return Ip4WithHeaderLength(15); },
       "ipv4_drop_bad_header_length"},
      {"ipv6: a chain of 70 destination-options headers (a loop for a naive walker)",
       [] {
         std::vector<std::byte> chain;
         for (int i = 0; i < 70; ++i) {
           const auto h = OptionsHeader(i == 69 ? 17 : 60, 1, 2);  // each a PadN, naming the next
           chain.insert(chain.end(), h.begin(), h.end());
         }
         return Ip6Ext(60, chain);
       },
       "ipv6_ext_drop_bad_option"},
      {"ipv6: a destination-options header longer than the packet",
       [] {
         auto h = OptionsHeader(17, 1, 2);
         h[1] = std::byte{200};  // 1608 bytes
         return Ip6Ext(60, h);
       },
       "ipv6_ext_drop_truncated"},
      {"ipv6: a PadN option running past its header", [] { return Ip6Ext(60, OptionsHeader(17, 1, 40)); },
       "ipv6_ext_drop_bad_option"},
      {"ipv6: an unknown option whose type says discard", [] { return Ip6Ext(60, OptionsHeader(17, 0x41, 2)); },
       "ipv6_ext_drop_bad_option"},
      {"ipv6: hop-by-hop after a destination-options header",
       [] {
         auto chain = OptionsHeader(0, 1, 2);
         const auto hbh = OptionsHeader(17, 1, 2);
         chain.insert(chain.end(), hbh.begin(), hbh.end());
         return Ip6Ext(60, chain);
       },
       "ipv6_ext_drop_bad_option"},
      {"ipv6: a type 0 routing header with segments left (RFC 5095)",
       [] {
         std::vector<std::byte> rh(24);  // one address
         rh[0] = std::byte{17};
         rh[1] = std::byte{2};
         rh[2] = std::byte{0};  // type 0
         rh[3] = std::byte{1};  // segments left
         return Ip6Ext(43, rh);
       },
       "ipv6_ext_drop_bad_option"},
      {"ipv6: a fragment header cut short",
       [] {
         Frame f = Ip6Ext(44, {});
         f.resize(14 + 40 + 6);  // 6 of its 8 bytes
         proto::StoreBe16(f.data() + 14 + 4, 6);
         return f;
       },
       "ipv6_ext_drop_truncated"},
  };
  for (const Case& c : cases) {
    const Frame f = c.frame();
    const std::uint64_t before = B(c.counter);
    Inject(f);
    EXPECT_EQ(B(c.counter), before + 1) << c.name << ": not counted under " << c.counter;
  }
}

// Every combination of the eight TCP flags, to a listening port, to a
// closed one and on the live connection: each segment is either taken
// (tcp_rx) or refused by the parser under its reason (tcp_drop_<ParseError>),
// never lost, never a crash. (Drops after the parse, such as
// tcp_drop_listen, come after tcp_rx and are not added again.)
TEST_F(Hostile, EveryTcpFlagCombination) {
  auto rx_or_drop = [&] {
    std::uint64_t n = B("tcp_rx");
    for (int e = 0; e < proto::kParseErrorCount; ++e) {
      n += B(absl::StrCat("tcp_drop_", std::string(proto::ParseErrorName(static_cast<proto::ParseError>(e)))));
    }
    return n;
  };
  const std::uint64_t before = rx_or_drop();
  int sent = 0;
  for (int flags = 0; flags < 256; ++flags) {
    for (const std::uint16_t port : {8080, 9999}) {
      proto::tcp::TcpRepr h;
      h.src_port = static_cast<std::uint16_t>(41000 + flags);
      h.dst_port = port;
      h.flags = static_cast<std::uint8_t>(flags);
      h.seq = proto::tcp::SeqNum(77u * static_cast<unsigned>(flags));
      h.ack = proto::tcp::SeqNum(5);
      h.window = 512;
      t_.link_a()->SendBytes(Tcp4(h, kSilent));
      ++sent;
    }
    proto::tcp::TcpRepr on = OnConnection(static_cast<std::uint8_t>(flags & ~proto::tcp::kRst & ~proto::tcp::kSyn));
    on.seq = on.seq + 100'000u;  // out of window: answered with an ACK at most
    t_.link_a()->SendBytes(Tcp4(on));
    ++sent;
    t_.RunFor(engine::Duration::Millis(1));
  }
  t_.RunFor(engine::Duration::Millis(50));
  EXPECT_EQ(rx_or_drop() - before, static_cast<std::uint64_t>(sent));
  // SYN with FIN or RST, whatever else: 96 combinations, to both ports.
  EXPECT_EQ(B("tcp_drop_bad_flags"), 2u * 96u);
}

// Fragments, IPv4 and IPv6 alike (one body, two families): overlapping
// fragments drop their datagram; a flood of never-completed datagrams from
// many sources stays within --reassembly-mem (the oldest evicted) and does
// not keep a real fragmented datagram out; one source flooding is held to
// its quarter share; everything held expires at the reassembly timeout.
struct FragFamily {
  const char* name;
  int domain;
  const char* any;
  std::string prefix;  // counters: "ipv4" / "ipv6"
  std::size_t limit;   // the engine's --reassembly-mem(6) (the default)
  engine::Duration timeout;
  // A fragment from source number `source` (0: A itself), datagram `ident`.
  std::function<Frame(int source, std::uint32_t ident, std::uint32_t offset, bool more,
                      std::span<const std::byte> data)>
      frag;
  std::function<std::vector<std::byte>(const std::string& payload)> udp_from_a;
};

class HostileFragments : public Hostile, public ::testing::WithParamInterface<int> {
 protected:
  FragFamily Family() {
    if (GetParam() == 4) {
      return {"ipv4", AF_INET, "0.0.0.0", "ipv4", engine::Config{}.reassembly_bytes, engine::Duration::Seconds(30),
              [](int source, std::uint32_t ident, std::uint32_t offset, bool more, std::span<const std::byte> d) {
                const Ipv4Address src = source == 0 ? kA4 : Ipv4Address(kA4.value() + 99 + static_cast<unsigned>(source));
                return Frag4(src, static_cast<std::uint16_t>(ident), offset, more, d);
              },
              [](const std::string& payload) { return Udp(kA4, kB4, 5555, payload); }};
    }
    return {"ipv6", AF_INET6, "::", "ipv6", engine::Config{}.reassembly6_bytes, engine::Duration::Seconds(60),
            [](int source, std::uint32_t ident, std::uint32_t offset, bool more, std::span<const std::byte> d) {
              Ipv6Address src = kALinkLocal;
              if (source != 0) src = *Ipv6Address::Parse("fe80::1:" + std::to_string(source));
              return Frag6(src, ident, offset, more, d);
            },
            [](const std::string& payload) { return Udp(kALinkLocal, kBLinkLocal, 5555, payload); }};
  }
  struct Held {
    std::size_t datagrams, bytes;
  };
  Held HeldNow(int family) {
    const engine::Worker& w = t_.engine_b().worker(0);
    return family == 4 ? Held{w.reassembler4().datagrams(), w.reassembler4().bytes_held()}
                       : Held{w.reassembler6().datagrams(), w.reassembler6().bytes_held()};
  }
  // Sends `datagram` from A in fragments of `piece` bytes (a multiple of 8).
  void SendFragmented(const FragFamily& f, std::uint32_t ident, const std::vector<std::byte>& datagram,
                      std::size_t piece) {
    for (std::size_t at = 0; at < datagram.size(); at += piece) {
      const std::size_t n = std::min(piece, datagram.size() - at);
      t_.link_a()->SendBytes(f.frag(0, ident, static_cast<std::uint32_t>(at), at + n < datagram.size(),
                                    std::span(datagram).subspan(at, n)));
    }
    t_.RunFor(engine::Duration::Millis(2));
  }
  // What B's UDP socket on 5555 has received since the last call.
  std::vector<std::string> Received(int fd) {
    std::vector<std::string> got;
    std::vector<std::byte> buf(70000);
    for (;;) {
      const ssize_t n = t_.b().RecvFrom(fd, buf, nullptr, true);
      if (n < 0) break;
      got.emplace_back(reinterpret_cast<const char*>(buf.data()), static_cast<std::size_t>(n));
    }
    return got;
  }
};

TEST_P(HostileFragments, OverlapsFloodsAndTimeouts) {
  const FragFamily f = Family();
  const int family = GetParam();
  const int u = t_.b().Socket(f.domain, SOCK_DGRAM | SOCK_NONBLOCK);
  ASSERT_EQ(t_.b().Bind(u, Ep(f.any, 5555)), 0);
  const std::string payload = Pattern(3000, 21);
  const std::vector<std::byte> datagram = f.udp_from_a(payload);
  auto counter = [&](const std::string& what) { return B(f.prefix + "_" + what); };

  // 1. A real datagram in three fragments arrives whole.
  SendFragmented(f, 1, datagram, 1232);
  EXPECT_EQ(Received(u), std::vector<std::string>{payload});

  // 2. Overlap: fragment zero, then 8 bytes of it again with other bytes.
  const std::uint64_t overlaps = counter("frag_drop_overlap");
  t_.link_a()->SendBytes(f.frag(0, 2, 0, true, std::span(datagram).first(1232)));
  std::vector<std::byte> other(datagram.begin() + 8, datagram.begin() + 16);
  other[0] ^= std::byte{0xff};
  t_.link_a()->SendBytes(f.frag(0, 2, 8, true, other));
  t_.RunFor(engine::Duration::Millis(2));
  EXPECT_EQ(counter("frag_drop_overlap"), overlaps + 1) << f.name;
  // The datagram is gone: its remaining fragments complete nothing.
  for (std::size_t at = 1232; at < datagram.size(); at += 1232) {
    const std::size_t n = std::min<std::size_t>(1232, datagram.size() - at);
    t_.link_a()->SendBytes(
        f.frag(0, 2, static_cast<std::uint32_t>(at), at + n < datagram.size(), std::span(datagram).subspan(at, n)));
  }
  t_.RunFor(engine::Duration::Millis(2));
  EXPECT_TRUE(Received(u).empty()) << f.name << ": a datagram with overlapping fragments was delivered";
  // An exact duplicate is not an overlap: ignored, the datagram completes.
  t_.link_a()->SendBytes(f.frag(0, 3, 0, true, std::span(datagram).first(1232)));
  SendFragmented(f, 3, datagram, 1232);
  EXPECT_EQ(Received(u), std::vector<std::string>{payload});
  EXPECT_GE(counter("frag_duplicate"), 1u);

  // 3. A flood from 40 sources, 60 first fragments of 1232 bytes each
  // (~3 MB per family over two rounds = past the 4 MiB bound): evictions,
  // never more than the bound held.
  const std::vector<std::byte> junk(1232, std::byte{0x33});
  const std::uint64_t evicted = counter("frag_evicted");
  std::size_t most = 0;
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 60; ++i) {
      for (int source = 1; source <= 40; ++source) {
        t_.link_a()->SendBytes(f.frag(source, 1000u + static_cast<std::uint32_t>(round * 60 + i), 0, true, junk));
      }
      t_.RunFor(engine::Duration::Millis(1));
      most = std::max(most, HeldNow(family).bytes);
    }
  }
  EXPECT_GT(counter("frag_evicted"), evicted) << f.name;
  EXPECT_LE(most, f.limit) << f.name;
  EXPECT_GT(most, f.limit / 2) << f.name << ": the flood should have filled reassembly";
  // ... and a real datagram still gets through (room is made by eviction).
  SendFragmented(f, 4, datagram, 1232);
  EXPECT_EQ(Received(u), std::vector<std::string>{payload}) << f.name;

  // 4. One source past its share (a quarter): its new datagrams dropped
  // by name; others' traffic unaffected.
  const std::uint64_t limited = counter("frag_drop_memory_limit");
  for (int i = 0; i < 1200; ++i) {
    t_.link_a()->SendBytes(f.frag(7, 5000u + static_cast<std::uint32_t>(i), 0, true, junk));
    if (i % 40 == 39) t_.RunFor(engine::Duration::Millis(1));
  }
  t_.RunFor(engine::Duration::Millis(2));
  EXPECT_GT(counter("frag_drop_memory_limit"), limited + 300) << f.name;
  EXPECT_LE(HeldNow(family).bytes, f.limit) << f.name;
  SendFragmented(f, 6, datagram, 1232);
  EXPECT_EQ(Received(u), std::vector<std::string>{payload}) << f.name;

  // 5. The timeout empties it all.
  const std::uint64_t timeouts = counter("reassembly_timeout");
  t_.RunFor(f.timeout + engine::Duration::Seconds(1));
  EXPECT_EQ(HeldNow(family).datagrams, 0u) << f.name;
  EXPECT_EQ(HeldNow(family).bytes, 0u) << f.name;
  EXPECT_GT(counter("reassembly_timeout"), timeouts) << f.name;
  t_.b().Close(u);
}

INSTANTIATE_TEST_SUITE_P(Families, HostileFragments, ::testing::Values(4, 6),
                         [](const auto& info) { return "ipv" + std::to_string(info.param); });

}  // namespace
}  // namespace ringstack::sockets::harness
