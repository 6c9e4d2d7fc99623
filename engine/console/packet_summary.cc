#include "engine/console/packet_summary.h"

#include "absl/strings/str_cat.h"
#include "engine/log.h"
#include "protocols/common/address.h"
#include "protocols/common/bytes.h"

namespace ringstack::engine {
namespace {

using Bytes = std::span<const std::byte>;
using proto::Load8;
using proto::LoadBe16;
using proto::LoadBe32;

void Tcp(Bytes b, FrameSummary& s) {
  s.layers |= kTraceTcp;
  if (b.size() < 20) return absl::StrAppend(&s.text, " | tcp truncated (", b.size(), " B)");
  const std::uint8_t flags = Load8(b.data() + 13);
  std::string f;
  if (flags & 0x02) f += 'S';
  if (flags & 0x01) f += 'F';
  if (flags & 0x04) f += 'R';
  if (flags & 0x08) f += 'P';
  if (flags & 0x20) f += 'U';
  if (flags & 0x40) f += 'E';
  if (flags & 0x80) f += 'W';
  if (flags & 0x10) f += '.';
  if (f.empty()) f = "none";
  const std::size_t doff = (Load8(b.data() + 12) >> 4) * 4u;
  absl::StrAppend(&s.text, " | tcp ", LoadBe16(b.data()), " > ", LoadBe16(b.data() + 2), " [", f, "] seq ",
                  LoadBe32(b.data() + 4));
  if (flags & 0x10) absl::StrAppend(&s.text, " ack ", LoadBe32(b.data() + 8));
  absl::StrAppend(&s.text, " win ", LoadBe16(b.data() + 14));
  if (doff < 20 || doff > b.size()) return absl::StrAppend(&s.text, " bad data offset ", doff);
  absl::StrAppend(&s.text, " len ", b.size() - doff);
}

void Udp(Bytes b, FrameSummary& s) {
  s.layers |= kTraceUdp;
  if (b.size() < 8) return absl::StrAppend(&s.text, " | udp truncated (", b.size(), " B)");
  absl::StrAppend(&s.text, " | udp ", LoadBe16(b.data()), " > ", LoadBe16(b.data() + 2), " len ",
                  LoadBe16(b.data() + 4) >= 8 ? LoadBe16(b.data() + 4) - 8 : 0);
}

void Icmp4(Bytes b, FrameSummary& s) {
  s.layers |= kTraceIcmp4;
  if (b.size() < 8) return absl::StrAppend(&s.text, " | icmp4 truncated (", b.size(), " B)");
  const int type = Load8(b.data()), code = Load8(b.data() + 1);
  switch (type) {
    case 0:
    case 8:
      return absl::StrAppend(&s.text, " | icmp4 echo ", type == 8 ? "request" : "reply", " id ",
                             LoadBe16(b.data() + 4), " seq ", LoadBe16(b.data() + 6), " len ", b.size() - 8);
    case 3:
      return absl::StrAppend(&s.text, " | icmp4 unreachable code ", code);
    case 11:
      return absl::StrAppend(&s.text, " | icmp4 time exceeded code ", code);
    default:
      return absl::StrAppend(&s.text, " | icmp4 type ", type, " code ", code);
  }
}

void Icmp6(Bytes b, FrameSummary& s) {
  s.layers |= kTraceIcmp6;
  if (b.size() < 4) return absl::StrAppend(&s.text, " | icmp6 truncated (", b.size(), " B)");
  const int type = Load8(b.data()), code = Load8(b.data() + 1);
  auto target = [&]() -> std::string {
    return b.size() >= 24 ? proto::Ipv6Address::FromBytes(b.data() + 8).ToString() : std::string("truncated");
  };
  switch (type) {
    case 128:
    case 129:
      if (b.size() < 8) break;
      return absl::StrAppend(&s.text, " | icmp6 echo ", type == 128 ? "request" : "reply", " id ",
                             LoadBe16(b.data() + 4), " seq ", LoadBe16(b.data() + 6), " len ", b.size() - 8);
    case 1: return absl::StrAppend(&s.text, " | icmp6 unreachable code ", code);
    case 2: return absl::StrAppend(&s.text, " | icmp6 packet too big");
    case 3: return absl::StrAppend(&s.text, " | icmp6 time exceeded code ", code);
    case 133: return absl::StrAppend(&s.text, " | icmp6 nd router solicitation");
    case 134: return absl::StrAppend(&s.text, " | icmp6 nd router advertisement");
    case 135: return absl::StrAppend(&s.text, " | icmp6 nd neighbor solicitation who-has ", target());
    case 136: return absl::StrAppend(&s.text, " | icmp6 nd neighbor advertisement ", target());
    case 137: return absl::StrAppend(&s.text, " | icmp6 nd redirect");
    case 130: return absl::StrAppend(&s.text, " | icmp6 mld query");
    case 143: return absl::StrAppend(&s.text, " | icmp6 mldv2 report");
    default: break;
  }
  absl::StrAppend(&s.text, " | icmp6 type ", type, " code ", code);
}

void Transport(int protocol, Bytes b, bool v6, FrameSummary& s) {
  switch (protocol) {
    case 6: return Tcp(b, s);
    case 17: return Udp(b, s);
    case 1: return Icmp4(b, s);
    case 58: return Icmp6(b, s);
    default: return absl::StrAppend(&s.text, " | ", v6 ? "next header " : "protocol ", protocol);
  }
}

void Ipv4(Bytes b, FrameSummary& s) {
  s.layers |= kTraceIp4;
  if (b.size() < 20) return absl::StrAppend(&s.text, " | ip4 truncated (", b.size(), " B)");
  const std::size_t ihl = (Load8(b.data()) & 0xf) * 4u;
  const std::size_t total = LoadBe16(b.data() + 2);
  const std::uint16_t frag = LoadBe16(b.data() + 6);
  absl::StrAppend(&s.text, " | ip4 ", proto::Ipv4Address::FromBytes(b.data() + 12).ToString(), " > ",
                  proto::Ipv4Address::FromBytes(b.data() + 16).ToString(), " ttl ", Load8(b.data() + 8), " id ",
                  LoadBe16(b.data() + 4), " len ", total);
  if (frag & 0x4000) absl::StrAppend(&s.text, " DF");
  const std::size_t offset = (frag & 0x1fff) * 8u;
  if ((frag & 0x2000) || offset != 0) absl::StrAppend(&s.text, " frag ", offset, (frag & 0x2000) ? "+" : "");
  if (ihl < 20 || ihl > b.size() || total < ihl) return absl::StrAppend(&s.text, " bad header length");
  if (offset != 0) return;  // no transport header in a later fragment
  Transport(Load8(b.data() + 9), b.subspan(ihl, std::min(total, b.size()) - ihl), false, s);
}

void Ipv6(Bytes b, FrameSummary& s) {
  s.layers |= kTraceIp6;
  if (b.size() < 40) return absl::StrAppend(&s.text, " | ip6 truncated (", b.size(), " B)");
  const std::size_t payload = LoadBe16(b.data() + 4);
  absl::StrAppend(&s.text, " | ip6 ", proto::Ipv6Address::FromBytes(b.data() + 8).ToString(), " > ",
                  proto::Ipv6Address::FromBytes(b.data() + 24).ToString(), " hlim ", Load8(b.data() + 7), " len ",
                  payload);
  int next = Load8(b.data() + 6);
  Bytes rest = b.subspan(40, std::min(payload, b.size() - 40));
  // Extension headers (RFC 8200 4): hop-by-hop, routing, fragment, destination options.
  for (int hops = 0; hops < 8; ++hops) {
    if (next == 0 || next == 43 || next == 60) {
      if (rest.size() < 8) return absl::StrAppend(&s.text, " ext truncated");
      const std::size_t len = (Load8(rest.data() + 1) + 1u) * 8u;
      if (len > rest.size()) return absl::StrAppend(&s.text, " ext truncated");
      absl::StrAppend(&s.text, next == 0 ? " hbh" : next == 43 ? " rthdr" : " dstopt");
      next = Load8(rest.data());
      rest = rest.subspan(len);
    } else if (next == 44) {
      if (rest.size() < 8) return absl::StrAppend(&s.text, " frag truncated");
      const std::uint16_t off = LoadBe16(rest.data() + 2);
      absl::StrAppend(&s.text, " frag ", (off & 0xfff8), (off & 1) ? "+" : "", " id ", LoadBe32(rest.data() + 4));
      next = Load8(rest.data());
      rest = rest.subspan(8);
      if ((off & 0xfff8) != 0) return;
    } else {
      break;
    }
  }
  Transport(next, rest, true, s);
}

void Arp(Bytes b, FrameSummary& s) {
  s.layers |= kTraceArp;
  if (b.size() < 28) return absl::StrAppend(&s.text, " | arp truncated (", b.size(), " B)");
  const int op = LoadBe16(b.data() + 6);
  const auto spa = proto::Ipv4Address::FromBytes(b.data() + 14).ToString();
  const auto tpa = proto::Ipv4Address::FromBytes(b.data() + 24).ToString();
  if (op == 1) return absl::StrAppend(&s.text, " | arp who-has ", tpa, " tell ", spa);
  if (op == 2) {
    return absl::StrAppend(&s.text, " | arp reply ", spa, " is-at ",
                           proto::MacAddress::FromBytes(b.data() + 8).ToString());
  }
  absl::StrAppend(&s.text, " | arp op ", op);
}

}  // namespace

FrameSummary SummarizeFrame(std::span<const std::byte> frame) {
  FrameSummary s;
  s.layers = kTraceEth;
  absl::StrAppend(&s.text, frame.size(), " B");
  if (frame.size() < 14) {
    absl::StrAppend(&s.text, " ethernet truncated");
    return s;
  }
  absl::StrAppend(&s.text, " ", proto::MacAddress::FromBytes(frame.data() + 6).ToString(), " > ",
                  proto::MacAddress::FromBytes(frame.data()).ToString());
  const std::uint16_t type = LoadBe16(frame.data() + 12);
  const Bytes payload = frame.subspan(14);
  switch (type) {
    case 0x0800: Ipv4(payload, s); break;
    case 0x86dd: Ipv6(payload, s); break;
    case 0x0806: Arp(payload, s); break;
    default: absl::StrAppend(&s.text, " | ethertype 0x", absl::Hex(type, absl::kZeroPad4)); break;
  }
  return s;
}

}  // namespace ringstack::engine
