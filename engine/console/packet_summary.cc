#include "engine/console/packet_summary.h"

#include "absl/strings/str_cat.h"
#include "engine/log.h"
#include "protocols/arp/arp_header.h"
#include "protocols/common/address.h"
#include "protocols/common/bytes.h"
#include "protocols/ethernet/ethernet_header.h"
#include "protocols/icmpv4/icmpv4_header.h"
#include "protocols/icmpv6/icmpv6_repr.h"
#include "protocols/ipv4/ipv4_header.h"
#include "protocols/ipv6/ipv6_header.h"
#include "protocols/tcp/tcp_header.h"
#include "protocols/udp/udp_header.h"

namespace ringstack::engine {
namespace {

using Bytes = std::span<const std::byte>;
using proto::Load8;
namespace tcp = proto::tcp;
namespace icmpv6 = proto::icmpv6;

void Tcp(Bytes b, FrameSummary& s) {
  s.layers |= kTraceTcp;
  const auto h = tcp::TcpHeader::Checked(b);
  if (!h) return absl::StrAppend(&s.text, " | tcp truncated (", b.size(), " B)");
  const std::uint8_t flags = h->flags();
  std::string f;
  if (flags & tcp::kSyn) f += 'S';
  if (flags & tcp::kFin) f += 'F';
  if (flags & tcp::kRst) f += 'R';
  if (flags & tcp::kPsh) f += 'P';
  if (flags & tcp::kUrg) f += 'U';
  if (flags & tcp::kEce) f += 'E';
  if (flags & tcp::kCwr) f += 'W';
  if (h->ae()) f += 'e';  // RFC 9768's AE (tcpdump 4.99 shows none)
  if (flags & tcp::kAck) f += '.';
  if (f.empty()) f = "none";
  const std::size_t doff = h->header_len();
  absl::StrAppend(&s.text, " | tcp ", h->src_port(), " > ", h->dst_port(), " [", f, "] seq ", h->seq());
  if (flags & tcp::kAck) absl::StrAppend(&s.text, " ack ", h->ack());
  absl::StrAppend(&s.text, " win ", h->window());
  if (doff < tcp::kMinHeaderLen || doff > b.size()) return absl::StrAppend(&s.text, " bad data offset ", doff);
  absl::StrAppend(&s.text, " len ", b.size() - doff);
}

void Udp(Bytes b, FrameSummary& s) {
  s.layers |= kTraceUdp;
  const auto h = proto::udp::UdpHeader::Checked(b);
  if (!h) return absl::StrAppend(&s.text, " | udp truncated (", b.size(), " B)");
  const std::size_t len = h->length();
  absl::StrAppend(&s.text, " | udp ", h->src_port(), " > ", h->dst_port(), " len ",
                  len >= proto::udp::kHeaderLen ? len - proto::udp::kHeaderLen : 0);
}

// Echo and Echo Reply have one layout in ICMPv4 and ICMPv6 (RFC 792, RFC 4443 4.1).
void Echo(const proto::icmpv4::Icmpv4Header& h, bool request, FrameSummary& s) {
  absl::StrAppend(&s.text, " echo ", request ? "request" : "reply", " id ", h.ident(), " seq ", h.seq(), " len ",
                  h.data().size());
}

void Icmp4(Bytes b, FrameSummary& s) {
  namespace icmpv4 = proto::icmpv4;
  s.layers |= kTraceIcmp4;
  const auto h = icmpv4::Icmpv4Header::Checked(b);
  if (!h) return absl::StrAppend(&s.text, " | icmp4 truncated (", b.size(), " B)");
  const int type = h->type(), code = h->code();
  switch (type) {
    case icmpv4::kTypeEchoReply:
    case icmpv4::kTypeEchoRequest:
      absl::StrAppend(&s.text, " | icmp4");
      return Echo(*h, type == icmpv4::kTypeEchoRequest, s);
    case icmpv4::kTypeDestUnreachable:
      return absl::StrAppend(&s.text, " | icmp4 unreachable code ", code);
    case icmpv4::kTypeTimeExceeded:
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
    case icmpv6::kEchoRequest:
    case icmpv6::kEchoReply:
      if (const auto echo = proto::icmpv4::Icmpv4Header::Checked(b)) {
        absl::StrAppend(&s.text, " | icmp6");
        return Echo(*echo, type == icmpv6::kEchoRequest, s);
      }
      break;
    case icmpv6::kDestUnreachable: return absl::StrAppend(&s.text, " | icmp6 unreachable code ", code);
    case icmpv6::kPacketTooBig: return absl::StrAppend(&s.text, " | icmp6 packet too big");
    case icmpv6::kTimeExceeded: return absl::StrAppend(&s.text, " | icmp6 time exceeded code ", code);
    case icmpv6::kRouterSolicitation: return absl::StrAppend(&s.text, " | icmp6 nd router solicitation");
    case icmpv6::kRouterAdvertisement: return absl::StrAppend(&s.text, " | icmp6 nd router advertisement");
    case icmpv6::kNeighborSolicitation:
      return absl::StrAppend(&s.text, " | icmp6 nd neighbor solicitation who-has ", target());
    case icmpv6::kNeighborAdvertisement:
      return absl::StrAppend(&s.text, " | icmp6 nd neighbor advertisement ", target());
    case icmpv6::kRedirect: return absl::StrAppend(&s.text, " | icmp6 nd redirect");
    case icmpv6::kMldQuery: return absl::StrAppend(&s.text, " | icmp6 mld query");
    case icmpv6::kMldV2Report: return absl::StrAppend(&s.text, " | icmp6 mldv2 report");
    default: break;
  }
  absl::StrAppend(&s.text, " | icmp6 type ", type, " code ", code);
}

void Transport(int protocol, Bytes b, bool v6, FrameSummary& s) {
  switch (protocol) {
    case proto::ipv4::kProtoTcp: return Tcp(b, s);
    case proto::ipv4::kProtoUdp: return Udp(b, s);
    case proto::ipv4::kProtoIcmp: return Icmp4(b, s);
    case proto::ipv6::kIcmpv6: return Icmp6(b, s);
    default: return absl::StrAppend(&s.text, " | ", v6 ? "next header " : "protocol ", protocol);
  }
}

void Ipv4(Bytes b, FrameSummary& s) {
  s.layers |= kTraceIp4;
  const auto h = proto::ipv4::Ipv4Header::Checked(b);
  if (!h) return absl::StrAppend(&s.text, " | ip4 truncated (", b.size(), " B)");
  const std::size_t ihl = h->header_len();
  const std::size_t total = h->total_len();
  absl::StrAppend(&s.text, " | ip4 ", h->src().ToString(), " > ", h->dst().ToString(), " ttl ", h->ttl(), " id ",
                  h->ident(), " len ", total);
  if (h->df()) absl::StrAppend(&s.text, " DF");
  const std::size_t offset = h->frag_offset();
  if (h->is_fragment()) absl::StrAppend(&s.text, " frag ", offset, h->mf() ? "+" : "");
  if (ihl < proto::ipv4::kMinHeaderLen || ihl > b.size() || total < ihl) {
    return absl::StrAppend(&s.text, " bad header length");
  }
  if (offset != 0) return;  // no transport header in a later fragment
  Transport(h->protocol(), b.subspan(ihl, std::min(total, b.size()) - ihl), false, s);
}

void Ipv6(Bytes b, FrameSummary& s) {
  namespace ipv6 = proto::ipv6;
  s.layers |= kTraceIp6;
  const auto h = ipv6::Ipv6Header::Checked(b);
  if (!h) return absl::StrAppend(&s.text, " | ip6 truncated (", b.size(), " B)");
  const std::size_t payload = h->payload_len();
  absl::StrAppend(&s.text, " | ip6 ", h->src().ToString(), " > ", h->dst().ToString(), " hlim ", h->hop_limit(),
                  " len ", payload);
  int next = h->next_header();
  Bytes rest = b.subspan(ipv6::kHeaderLen, std::min(payload, b.size() - ipv6::kHeaderLen));
  // Extension headers (RFC 8200 4): hop-by-hop, routing, fragment, destination options.
  for (int hops = 0; hops < 8; ++hops) {
    if (next == ipv6::kHopByHop || next == ipv6::kRouting || next == ipv6::kDestinationOptions) {
      // Next Header, then Hdr Ext Len in 8-byte units past the first 8.
      if (rest.size() < 8) return absl::StrAppend(&s.text, " ext truncated");
      const std::size_t len = (Load8(rest.data() + 1) + 1u) * 8u;
      if (len > rest.size()) return absl::StrAppend(&s.text, " ext truncated");
      absl::StrAppend(&s.text, next == ipv6::kHopByHop ? " hbh" : next == ipv6::kRouting ? " rthdr" : " dstopt");
      next = Load8(rest.data());
      rest = rest.subspan(len);
    } else if (next == ipv6::kFragment) {
      const auto frag = ipv6::FragmentHeader::Checked(rest);
      if (!frag) return absl::StrAppend(&s.text, " frag truncated");
      absl::StrAppend(&s.text, " frag ", frag->offset(), frag->more() ? "+" : "", " id ", frag->ident());
      next = frag->next_header();
      rest = rest.subspan(ipv6::kFragmentHeaderLen);
      if (frag->offset() != 0) return;
    } else {
      break;
    }
  }
  Transport(next, rest, true, s);
}

void Arp(Bytes b, FrameSummary& s) {
  namespace arp = proto::arp;
  s.layers |= kTraceArp;
  const auto h = arp::ArpHeader::Checked(b);
  if (!h) return absl::StrAppend(&s.text, " | arp truncated (", b.size(), " B)");
  const int op = h->oper();
  if (op == arp::kOpRequest) {
    return absl::StrAppend(&s.text, " | arp who-has ", h->tpa().ToString(), " tell ", h->spa().ToString());
  }
  if (op == arp::kOpReply) {
    return absl::StrAppend(&s.text, " | arp reply ", h->spa().ToString(), " is-at ", h->sha().ToString());
  }
  absl::StrAppend(&s.text, " | arp op ", op);
}

}  // namespace

FrameSummary SummarizeFrame(std::span<const std::byte> frame) {
  namespace ethernet = proto::ethernet;
  FrameSummary s;
  s.layers = kTraceEth;
  absl::StrAppend(&s.text, frame.size(), " B");
  const auto eth = ethernet::EthernetHeader::Checked(frame);
  if (!eth) {
    absl::StrAppend(&s.text, " ethernet truncated");
    return s;
  }
  absl::StrAppend(&s.text, " ", eth->src().ToString(), " > ", eth->dst().ToString());
  switch (eth->ethertype()) {
    case ethernet::kEtherTypeIpv4: Ipv4(eth->payload(), s); break;
    case ethernet::kEtherTypeIpv6: Ipv6(eth->payload(), s); break;
    case ethernet::kEtherTypeArp: Arp(eth->payload(), s); break;
    default: absl::StrAppend(&s.text, " | ethertype 0x", absl::Hex(eth->ethertype(), absl::kZeroPad4)); break;
  }
  return s;
}

}  // namespace ringstack::engine
