#!/usr/bin/python3
"""Generates tests/vectors/vectors.h: wire byte vectors made by scapy, an
oracle independent of ringstack's own emitters.

Run from the repository root:  /usr/bin/python3 tests/vectors/gen_vectors.py
(python3-scapy from Debian; scripts/setup installs it). The output is committed
so builds do not need scapy.
"""
import os
import sys

from scapy.all import ARP, BOOTP, DHCP, ICMP, IP, UDP, Ether, IPOption_Router_Alert, Raw  # noqa: E402

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
    for name, comment, pkt in frames():
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
