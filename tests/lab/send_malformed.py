#!/usr/bin/python3
"""Sends the malformed frames of issue #2's acceptance point 3 out of a TAP's
kernel side, at ringstack on the other side. Each frame is addressed to the
engine's MAC so it reaches the parser it is meant to break.

usage: send_malformed.py IFACE ENGINE_MAC
"""
import sys

from scapy.all import ARP, ICMP, IP, IPOption, Ether, Raw, sendp  # noqa: E402

iface, engine_mac = sys.argv[1], sys.argv[2]
src_mac = open(f"/sys/class/net/{iface}/address").read().strip()
eth = Ether(dst=engine_mac, src=src_mac)


def ipv4(**kw):
    return IP(src="192.0.2.1", dst="192.0.2.2", **kw) / ICMP(id=7, seq=1) / Raw(b"x" * 16)


frames = {
    # 10 bytes: not even an Ethernet header. The kernel's packet socket pads a
    # frame shorter than the link header with zeros to 14 bytes (see
    # dev_validate_header), so what arrives is a header with EtherType 0, an
    # 802.3 length: counted as eth_drop_unsupported_type. (A genuinely short
    # frame is covered in tests/sim/flow_test.cc.)
    "truncated_ethernet": bytes(eth)[:10],
    # A bare Ethernet header saying IPv4, with no IPv4 header after it.
    "ethernet_header_only": bytes(Ether(dst=engine_mac, src=src_mac, type=0x0800)),
    # IPv4 header checksum off by one.
    "bad_ipv4_checksum": bytes(eth / ipv4(chksum=0x1234)),
    # IHL 4 (16 bytes): below the minimum of 5.
    "ihl_below_5": bytes(eth / ipv4(ihl=4)),
    # Total length 1400 in a ~60-byte frame.
    "length_past_frame": bytes(eth / ipv4(len=1400)),
    # An IPv4 option (Router Alert) whose length runs past the header.
    "option_past_header": bytes(eth / ipv4(options=[IPOption(b"\x94\x08\x00\x00")])),
    # An ARP EtherType with 28 bytes of garbage (hardware type 0xdead...).
    "garbage_arp": bytes(Ether(dst="ff:ff:ff:ff:ff:ff", src=src_mac, type=0x0806) /
                         Raw(bytes((i * 37 + 0xde) & 0xff for i in range(28)))),
    # ARP cut short after 20 bytes.
    "truncated_arp": bytes(Ether(dst="ff:ff:ff:ff:ff:ff", src=src_mac) /
                           ARP(op=1, psrc="192.0.2.1", pdst="192.0.2.2"))[:14 + 20],
}
for name, frame in frames.items():
    sendp(frame, iface=iface, verbose=False)
    print(f"sent {name} ({len(frame)} bytes)")
