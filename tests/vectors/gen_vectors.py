#!/usr/bin/python3
"""Generates tests/vectors/vectors.h: wire byte vectors made by scapy, an
oracle independent of ringstack's own emitters.

Run from the repository root:  /usr/bin/python3 tests/vectors/gen_vectors.py
(python3-scapy from Debian; scripts/setup installs it). The output is committed
so builds do not need scapy.
"""
import os
import sys

from scapy.all import ARP, BOOTP, DHCP, ICMP, IP, TCP, UDP, Ether, IPOption_Router_Alert, Raw  # noqa: E402
from scapy.layers.inet6 import (  # noqa: E402
    ICMPv6EchoReply, ICMPv6EchoRequest, ICMPv6MLDMultAddrRec, ICMPv6MLQuery2, ICMPv6MLReport2,
    ICMPv6ND_NA, ICMPv6ND_NS, ICMPv6ND_RA, ICMPv6ND_Redirect, ICMPv6ND_RS, ICMPv6DestUnreach, ICMPv6PacketTooBig,
    ICMPv6TimeExceeded, ICMPv6ParamProblem, IPv6ExtHdrFragment, ICMPv6NDOptDstLLAddr, ICMPv6NDOptMTU,
    ICMPv6NDOptPrefixInfo, ICMPv6NDOptRDNSS, ICMPv6NDOptSrcLLAddr, IPv6, IPv6ExtHdrDestOpt,
    IPv6ExtHdrHopByHop, IPv6ExtHdrRouting, HBHOptUnknown, PadN, RouterAlert)

MAC_A = "02:00:00:00:00:01"
MAC_B = "52:54:00:12:34:56"
XID = 0x5EED0001
PARAMS = [1, 3, 6, 51, 54, 58, 59]


def chaddr(mac):
    return bytes.fromhex(mac.replace(":", "")) + b"\x00" * 10


def dhcp_client(options, flags=0x8000, ciaddr="0.0.0.0"):
    """A client message as ringstack emits it (BOOTP + DHCP, padded to 300)."""
    return BOOTP(op=1, xid=XID, flags=flags, ciaddr=ciaddr, chaddr=chaddr(MAC_A)) / DHCP(options=options)


def dhcp_server(msg_type, extra):
    """A server reply from 192.0.2.1 offering 192.0.2.50/24, broadcast on the link."""
    return (Ether(dst="ff:ff:ff:ff:ff:ff", src=MAC_B) /
            IP(src="192.0.2.1", dst="255.255.255.255", id=7, ttl=64) / UDP(sport=67, dport=68) /
            BOOTP(op=2, xid=XID, flags=0x8000, yiaddr="192.0.2.50", siaddr="192.0.2.1", chaddr=chaddr(MAC_A)) /
            DHCP(options=[("message-type", msg_type), ("server_id", "192.0.2.1")] + extra + ["end"]))


LEASE = [("lease_time", 120), ("renewal_time", 60), ("rebinding_time", 105), ("subnet_mask", "255.255.255.0"),
         ("router", "192.0.2.1"), ("name_server", "192.0.2.53", "198.51.100.53")]


def frames():
    yield ("kArpRequest",
           "Ethernet broadcast + ARP who-has 192.0.2.2 tell 192.0.2.1",
           Ether(dst="ff:ff:ff:ff:ff:ff", src=MAC_B) /
           ARP(op=1, hwsrc=MAC_B, psrc="192.0.2.1", hwdst="00:00:00:00:00:00", pdst="192.0.2.2"))
    yield ("kArpReply",
           "ARP is-at: 192.0.2.2 is at 02:00:00:00:00:01",
           Ether(dst=MAC_B, src=MAC_A) /
           ARP(op=2, hwsrc=MAC_A, psrc="192.0.2.2", hwdst=MAC_B, pdst="192.0.2.1"))
    yield ("kIcmpEchoRequest",
           "IPv4 (id 0x1234, DF, ttl 64) + ICMP echo request id 0x4242 seq 7, 32 payload bytes",
           Ether(dst=MAC_A, src=MAC_B) /
           IP(src="192.0.2.1", dst="192.0.2.2", id=0x1234, flags="DF", ttl=64) /
           ICMP(type=8, code=0, id=0x4242, seq=7) / Raw(bytes(range(32))))
    yield ("kIcmpEchoReply",
           "the reply ringstack must send to kIcmpEchoRequest (ident 0, no DF, ttl 64)",
           Ether(dst=MAC_B, src=MAC_A) /
           IP(src="192.0.2.2", dst="192.0.2.1", id=0, flags=0, ttl=64) /
           ICMP(type=0, code=0, id=0x4242, seq=7) / Raw(bytes(range(32))))
    yield ("kIpv4WithOptions",
           "IPv4 with a Router Alert option (IHL 6) carrying an ICMP echo request",
           Ether(dst=MAC_A, src=MAC_B) /
           IP(src="192.0.2.1", dst="192.0.2.2", id=1, ttl=1, options=[IPOption_Router_Alert()]) /
           ICMP(type=8, id=1, seq=1) / Raw(b"hi"))
    yield ("kIcmpEchoRequestPadded",
           "a short echo request padded by the link to 60 bytes (total length < frame)",
           Ether(dst=MAC_A, src=MAC_B) /
           IP(src="192.0.2.1", dst="192.0.2.2", id=2, ttl=64) /
           ICMP(type=8, id=9, seq=1) / Raw(b"ab"))
    yield ("kArpProbe",
           "RFC 5227 ARP probe for 192.0.2.2 (sender IP 0.0.0.0), broadcast",
           Ether(dst="ff:ff:ff:ff:ff:ff", src=MAC_A) /
           ARP(op=1, hwsrc=MAC_A, psrc="0.0.0.0", hwdst="00:00:00:00:00:00", pdst="192.0.2.2"))
    yield ("kArpAnnouncement",
           "RFC 5227 ARP announcement of 192.0.2.2 (sender and target IP both it), broadcast",
           Ether(dst="ff:ff:ff:ff:ff:ff", src=MAC_A) /
           ARP(op=1, hwsrc=MAC_A, psrc="192.0.2.2", hwdst="00:00:00:00:00:00", pdst="192.0.2.2"))
    udp = (IP(src="192.0.2.1", dst="192.0.2.2", id=0x77, ttl=64) / UDP(sport=40000, dport=9) /
           Raw(b"is anyone there?"))
    yield ("kUdpToClosedPort",
           "IPv4 + UDP 40000 -> 9 (no socket there) with 16 payload bytes",
           Ether(dst=MAC_A, src=MAC_B) / udp)
    yield ("kIcmpPortUnreachable",
           "the reply ringstack must send to kUdpToClosedPort: port unreachable quoting its header + 8 bytes",
           Ether(dst=MAC_B, src=MAC_A) / IP(src="192.0.2.2", dst="192.0.2.1", id=0, ttl=64) /
           ICMP(type=3, code=3) / Raw(bytes(udp)[:28]))
    yield ("kDhcpDiscover",
           "the DHCP message (BOOTP+options, padded to 300) of ringstack's DISCOVER, xid 0x5eed0001",
           dhcp_client([("message-type", "discover"), ("param_req_list", PARAMS), "end"]))
    yield ("kDhcpRequestSelecting",
           "ringstack's REQUEST for the offered 192.0.2.50 from server 192.0.2.1",
           dhcp_client([("message-type", "request"), ("requested_addr", "192.0.2.50"), ("server_id", "192.0.2.1"),
                        ("param_req_list", PARAMS), "end"]))
    yield ("kDhcpRequestRenewing",
           "ringstack's RENEWING REQUEST: ciaddr set, no requested address or server id, unicast (no flag)",
           dhcp_client([("message-type", "request"), ("param_req_list", PARAMS), "end"], flags=0,
                       ciaddr="192.0.2.50"))
    yield ("kDhcpDecline",
           "ringstack's DECLINE of 192.0.2.50 to server 192.0.2.1",
           dhcp_client([("message-type", "decline"), ("requested_addr", "192.0.2.50"), ("server_id", "192.0.2.1"),
                        "end"], flags=0))
    yield ("kDhcpOffer",
           "frame: server 192.0.2.1 offers 192.0.2.50/24, lease 120 s, T1 60, T2 105, router, 2 DNS",
           dhcp_server("offer", LEASE))
    yield ("kDhcpAck",
           "frame: server 192.0.2.1 acknowledges 192.0.2.50/24, same options as the offer",
           dhcp_server("ack", LEASE))
    yield ("kDhcpNak",
           "frame: server 192.0.2.1 refuses (NAK)",
           dhcp_server("nak", []))


# IPv6: ringstack is MAC_A, so its link-local is fe80::ff:fe00:1 (EUI-64);
# the peer (MAC_B) is fe80::5054:ff:fe12:3456; the lab prefix 2001:db8:0:1::/64.
LL_A = "fe80::ff:fe00:1"
LL_B = "fe80::5054:ff:fe12:3456"
SNM_A = "ff02::1:ff00:1"
MAC_SNM_A = "33:33:ff:00:00:01"
G_A = "2001:db8:0:1::2"
G_B = "2001:db8:0:1::1"


def frames6():
    echo = ICMPv6EchoRequest(id=0x4242, seq=7, data=bytes(range(32)))
    yield ("kIpv6EchoRequest", "IPv6 (hop limit 64) + ICMPv6 echo request id 0x4242 seq 7, 32 bytes",
           Ether(dst=MAC_A, src=MAC_B) / IPv6(src=G_B, dst=G_A, hlim=64) / echo)
    yield ("kIpv6EchoReply", "the reply ringstack must send to kIpv6EchoRequest",
           Ether(dst=MAC_B, src=MAC_A) / IPv6(src=G_A, dst=G_B, hlim=64) /
           ICMPv6EchoReply(id=0x4242, seq=7, data=bytes(range(32))))
    yield ("kNdDadProbe", "DAD: NS for tentative fe80::ff:fe00:1 from :: to its solicited-node group",
           Ether(dst=MAC_SNM_A, src=MAC_A) / IPv6(src="::", dst=SNM_A, hlim=255) / ICMPv6ND_NS(tgt=LL_A))
    yield ("kNdNsFromPeer", "NS from the peer's link-local for ours, with its link-layer address",
           Ether(dst=MAC_SNM_A, src=MAC_B) / IPv6(src=LL_B, dst=SNM_A, hlim=255) / ICMPv6ND_NS(tgt=LL_A) /
           ICMPv6NDOptSrcLLAddr(lladdr=MAC_B))
    yield ("kNdNaSolicited", "ringstack's answer to kNdNsFromPeer: NA S=1 O=1 with its link-layer address",
           Ether(dst=MAC_B, src=MAC_A) / IPv6(src=LL_A, dst=LL_B, hlim=255) /
           ICMPv6ND_NA(R=0, S=1, O=1, tgt=LL_A) / ICMPv6NDOptDstLLAddr(lladdr=MAC_A))
    yield ("kNdNaDefendsStatic", "an unsolicited NA from the peer for 2001:db8:0:1::2 (it owns it), to all nodes",
           Ether(dst="33:33:00:00:00:01", src=MAC_B) / IPv6(src=G_A, dst="ff02::1", hlim=255) /
           ICMPv6ND_NA(R=0, S=0, O=1, tgt=G_A) / ICMPv6NDOptDstLLAddr(lladdr=MAC_B))
    yield ("kNdNaFromPeerGlobal", "the peer's NA for 2001:db8:0:1::1 answering ringstack's NS: S=1 O=1, its MAC",
           Ether(dst=MAC_A, src=MAC_B) / IPv6(src=G_B, dst=G_A, hlim=255) /
           ICMPv6ND_NA(R=0, S=1, O=1, tgt=G_B) / ICMPv6NDOptDstLLAddr(lladdr=MAC_B))
    yield ("kNdRs", "RS from ringstack's link-local to all routers, with its link-layer address",
           Ether(dst="33:33:00:00:00:02", src=MAC_A) / IPv6(src=LL_A, dst="ff02::2", hlim=255) /
           ICMPv6ND_RS() / ICMPv6NDOptSrcLLAddr(lladdr=MAC_A))
    yield ("kNdRa", "RA from fe80::1: lifetime 1800, 2001:db8:0:1::/64 L A 86400/14400, MTU 1500, RDNSS",
           Ether(dst="33:33:00:00:00:01", src=MAC_B) / IPv6(src="fe80::1", dst="ff02::1", hlim=255) /
           ICMPv6ND_RA(chlim=64, routerlifetime=1800, prf=0) / ICMPv6NDOptSrcLLAddr(lladdr=MAC_B) /
           ICMPv6NDOptMTU(mtu=1500) /
           ICMPv6NDOptPrefixInfo(prefix="2001:db8:0:1::", prefixlen=64, L=1, A=1, validlifetime=86400,
                                 preferredlifetime=14400) /
           ICMPv6NDOptRDNSS(lifetime=600, dns=["2001:db8::53"]))
    yield ("kNdRedirect", "Redirect from router fe80::1: 2001:db8:2::7 is better reached via fe80::99 (TLLA)",
           Ether(dst=MAC_A, src=MAC_B) / IPv6(src="fe80::1", dst=G_A, hlim=255) /
           ICMPv6ND_Redirect(tgt="fe80::99", dst="2001:db8:2::7") /
           ICMPv6NDOptDstLLAddr(lladdr="52:54:00:00:00:99"))
    udp6 = IPv6(src=G_B, dst=G_A, hlim=64) / UDP(sport=40000, dport=9) / Raw(b"is anyone there?")
    yield ("kUdp6ToClosedPort", "IPv6 + UDP 40000 -> 9 (no socket there)", Ether(dst=MAC_A, src=MAC_B) / udp6)
    yield ("kIcmpv6PortUnreachable", "the reply ringstack must send to kUdp6ToClosedPort: the whole datagram quoted",
           Ether(dst=MAC_B, src=MAC_A) / IPv6(src=G_A, dst=G_B, hlim=64) / ICMPv6DestUnreach(code=4) / Raw(bytes(udp6)))
    yield ("kIcmpv6PacketTooBig", "Packet Too Big (MTU 1280) from a router about ringstack's packet to 2001:db8:2::7",
           Ether(dst=MAC_A, src=MAC_B) / IPv6(src="2001:db8:0:1::1", dst=G_A, hlim=64) /
           ICMPv6PacketTooBig(mtu=1280) / Raw(bytes(IPv6(src=G_A, dst="2001:db8:2::7", plen=1400, nh=58))))
    yield ("kIcmpv6TimeExceeded", "Time Exceeded (hop limit) from a router about ringstack's packet",
           Ether(dst=MAC_A, src=MAC_B) / IPv6(src="2001:db8:0:1::1", dst=G_A, hlim=64) /
           ICMPv6TimeExceeded(code=0) / Raw(bytes(IPv6(src=G_A, dst="2001:db8:2::7", plen=8, nh=58, hlim=1))))
    yield ("kMldv2ReportJoin", "MLDv2 report (hop-by-hop Router Alert) joining ff02::1:ff00:1",
           Ether(dst="33:33:00:00:00:16", src=MAC_A) / IPv6(src=LL_A, dst="ff02::16", hlim=1) /
           IPv6ExtHdrHopByHop(options=[RouterAlert()]) /
           ICMPv6MLReport2(records=[ICMPv6MLDMultAddrRec(rtype=4, dst=SNM_A)]))
    yield ("kMldv2ReportJoinFromUnspecified", "the same join, sent from :: while the link-local is tentative",
           Ether(dst="33:33:00:00:00:16", src=MAC_A) / IPv6(src="::", dst="ff02::16", hlim=1) /
           IPv6ExtHdrHopByHop(options=[RouterAlert()]) /
           ICMPv6MLReport2(records=[ICMPv6MLDMultAddrRec(rtype=4, dst=SNM_A)]))
    yield ("kNdDadProbeSlaac", "DAD: NS for the tentative SLAAC address 2001:db8:0:1:0:ff:fe00:1 from ::",
           Ether(dst=MAC_SNM_A, src=MAC_A) / IPv6(src="::", dst=SNM_A, hlim=255) /
           ICMPv6ND_NS(tgt="2001:db8:0:1:0:ff:fe00:1"))
    yield ("kMldv2GeneralQuery", "MLDv2 general query from fe80::1, max response 10 s",
           Ether(dst="33:33:00:00:00:01", src=MAC_B) / IPv6(src="fe80::1", dst="ff02::1", hlim=1) /
           IPv6ExtHdrHopByHop(options=[RouterAlert()]) / ICMPv6MLQuery2(mrd=10000))
    yield ("kIpv6ExtChain", "hop-by-hop (PadN) + destination options (PadN) + routing type 0 segments left 0 + echo",
           Ether(dst=MAC_A, src=MAC_B) / IPv6(src=G_B, dst=G_A, hlim=64) /
           IPv6ExtHdrHopByHop(options=[PadN(optdata=b"\0\0\0\0")]) /
           IPv6ExtHdrDestOpt(options=[PadN(optdata=b"\0\0\0\0")]) /
           IPv6ExtHdrRouting(type=0, segleft=0, addresses=["2001:db8::9"]) /
           ICMPv6EchoRequest(id=1, seq=1, data=b"chain"))
    unknown = (IPv6(src=G_B, dst=G_A, hlim=64) /
               IPv6ExtHdrHopByHop(options=[HBHOptUnknown(otype=0x87, optdata=b"\0\0\0\0")]) /
               ICMPv6EchoRequest(id=1, seq=2))
    yield ("kIpv6UnknownOption", "hop-by-hop with unknown option 0x87 (action 10: discard + Parameter Problem)",
           Ether(dst=MAC_A, src=MAC_B) / unknown)
    yield ("kIcmpv6ParamProblem", "the reply ringstack must send to kIpv6UnknownOption: code 2, pointer 42",
           Ether(dst=MAC_B, src=MAC_A) / IPv6(src=G_A, dst=G_B, hlim=64) / ICMPv6ParamProblem(code=2, ptr=42) /
           Raw(bytes(unknown)))
    yield ("kIpv6FirstFragment", "a first fragment (offset 0, M, id 0x77) of an ICMPv6 echo request",
           Ether(dst=MAC_A, src=MAC_B) / IPv6(src=G_B, dst=G_A, hlim=64) /
           IPv6ExtHdrFragment(nh=58, offset=0, m=1, id=0x77) / Raw(bytes(range(16))))


def frames_tcp():
    """TCP segments: what Linux sends (SYN with its option order) and what
    ringstack emits (the SYN+ACK, a data segment with SACK blocks, a RST)."""
    yield ("kTcpSyn",
           "IPv4 + TCP SYN 192.0.2.1:40000 -> 192.0.2.2:7, seq 0x11223344, win 64240, "
           "MSS 1460, SACK-permitted, TS 12345/0, NOP, WS 7 (Linux's order)",
           Ether(dst=MAC_A, src=MAC_B) / IP(src="192.0.2.1", dst="192.0.2.2", id=0x100, flags="DF", ttl=64) /
           TCP(sport=40000, dport=7, seq=0x11223344, flags="S", window=64240,
               options=[("MSS", 1460), ("SAckOK", b""), ("Timestamp", (12345, 0)), ("NOP", None), ("WScale", 7)]))
    yield ("kTcpSynAck",
           "IPv4 + TCP SYN+ACK 192.0.2.2:7 -> 192.0.2.1:40000, seq 0x55667788 ack 0x11223345, win 65535, "
           "MSS 1460, SACK-permitted, TS 1000/12345, NOP, WS 7",
           Ether(dst=MAC_B, src=MAC_A) / IP(src="192.0.2.2", dst="192.0.2.1", id=0, flags="DF", ttl=64) /
           TCP(sport=7, dport=40000, seq=0x55667788, ack=0x11223345, flags="SA", window=65535,
               options=[("MSS", 1460), ("SAckOK", b""), ("Timestamp", (1000, 12345)), ("NOP", None), ("WScale", 7)]))
    yield ("kTcpDataSack6",
           "IPv6 + TCP PSH+ACK 2001:db8:0:1::1:40000 -> ::2:7, seq 0x11223345 ack 0x55667789, win 501, "
           "NOP NOP TS 12400/1000, NOP NOP SACK [0x55667790, 0x556677a0) [0x556677b0, 0x556677c0), 10 bytes",
           Ether(dst=MAC_A, src=MAC_B) / IPv6(src="2001:db8:0:1::1", dst="2001:db8:0:1::2", hlim=64) /
           TCP(sport=40000, dport=7, seq=0x11223345, ack=0x55667789, flags="PA", window=501,
               options=[("NOP", None), ("NOP", None), ("Timestamp", (12400, 1000)), ("NOP", None), ("NOP", None),
                        ("SAck", (0x55667790, 0x556677a0, 0x556677b0, 0x556677c0))]) /
           Raw(b"hello, tcp"))
    yield ("kTcpRst",
           "IPv4 + TCP RST+ACK 192.0.2.2:7 -> 192.0.2.1:40001, seq 0 ack 0x11223345, win 0",
           Ether(dst=MAC_B, src=MAC_A) / IP(src="192.0.2.2", dst="192.0.2.1", id=0, flags="DF", ttl=64) /
           TCP(sport=7, dport=40001, seq=0, ack=0x11223345, flags="RA", window=0))


def c_array(name, comment, data):
    lines = [f"// {comment}", f"inline constexpr unsigned char {name}[] = {{"]
    for i in range(0, len(data), 12):
        chunk = ", ".join(f"0x{b:02x}" for b in data[i:i + 12])
        lines.append(f"    {chunk},")
    lines.append("};")
    return "\n".join(lines)


def main():
    out = ["// Generated by tests/vectors/gen_vectors.py with scapy; do not edit.",
           "// Regenerate: /usr/bin/python3 tests/vectors/gen_vectors.py",
           "#ifndef RINGSTACK_TESTS_VECTORS_VECTORS_H_",
           "#define RINGSTACK_TESTS_VECTORS_VECTORS_H_",
           "",
           "namespace ringstack::vectors {",
           ""]
    for name, comment, pkt in list(frames()) + list(frames6()) + list(frames_tcp()):
        data = bytes(pkt)
        if name == "kIcmpEchoRequestPadded":
            # The link pads the 44-byte frame to the 60-byte Ethernet minimum;
            # the IP total length (30) still covers only the real datagram.
            data = data + b"\x00" * (60 - len(data))
        if name.startswith("kDhcp") and not name.startswith(("kDhcpOffer", "kDhcpAck", "kDhcpNak")):
            data = data + b"\x00" * max(0, 300 - len(data))  # the BOOTP minimum ringstack pads to
        out.append(c_array(name, comment, data))
        out.append("")
    out += ["}  // namespace ringstack::vectors", "",
            "#endif  // RINGSTACK_TESTS_VECTORS_VECTORS_H_", ""]
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "vectors.h")
    with open(path, "w") as f:
        f.write("\n".join(out))
    print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
