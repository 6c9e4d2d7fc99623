#!/usr/bin/python3
"""Floods ringstack with first fragments that never complete: COUNT frames of
1480 payload bytes, each a new datagram, from SOURCES spoofed on-link senders
(192.0.2.100 and up). Bounded in count; prints how many went out and how long
sending took.

usage: frag_flood.py IFACE DST_MAC DST_IP COUNT SOURCES
"""
import sys
import time

from scapy.all import IP, Ether, Raw, conf, sendp  # noqa: E402

iface, dst_mac, dst_ip = sys.argv[1], sys.argv[2], sys.argv[3]
count, sources = int(sys.argv[4]), int(sys.argv[5])
conf.verb = 0
payload = Raw(b"\xab" * 1480)
frames = [
    Ether(dst=dst_mac) / IP(src=f"192.0.2.{100 + i % sources}", dst=dst_ip, id=i & 0xFFFF, flags="MF",
                            frag=0, proto=17) / payload
    for i in range(count)
]
start = time.monotonic()
sendp(frames, iface=iface)
print(f"sent {count} incomplete first fragments from {sources} sources in {time.monotonic() - start:.1f} s")
