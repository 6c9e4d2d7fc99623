#!/usr/bin/python3
"""Echo payload check, independent of ping: sends ICMP echo requests with
random payloads of several sizes (0 to 1472 bytes) from the kernel side of
the TAP and checks each reply carries the same identifier, sequence number
and bytes. Exit 1 on any mismatch or missing reply.

usage: echo_payload.py IFACE DST
"""
import os
import sys

from scapy.all import ICMP, IP, Raw, conf, sr1  # noqa: E402

iface, dst = sys.argv[1], sys.argv[2]
conf.verb = 0
bad = 0
for seq, size in enumerate([0, 1, 63, 64, 100, 511, 1000, 1472]):
    payload = os.urandom(size)
    req = IP(dst=dst) / ICMP(type=8, id=0x5151, seq=seq) / Raw(payload)
    rep = sr1(req, iface=iface, timeout=2)
    if rep is None or ICMP not in rep:
        print(f"size {size}: no reply")
        bad += 1
        continue
    got = bytes(rep[ICMP].payload)
    ok = rep[ICMP].type == 0 and rep[ICMP].id == 0x5151 and rep[ICMP].seq == seq and got == payload
    print(f"size {size}: {'ok' if ok else 'MISMATCH'}")
    bad += not ok
sys.exit(1 if bad else 0)
