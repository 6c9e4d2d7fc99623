#!/usr/bin/python3
"""Sends an IPv4 datagram for protocol 99 to ringstack and expects an ICMP
Destination Unreachable (protocol unreachable, code 2) quoting it.

usage: proto_unreachable.py IFACE DST
"""
import sys

from scapy.all import ICMP, IP, IPerror, Raw, conf, sr1  # noqa: E402

iface, dst = sys.argv[1], sys.argv[2]
conf.verb = 0
req = IP(dst=dst, proto=99, id=4242) / Raw(b"not a protocol ringstack speaks")
rep = sr1(req, iface=iface, timeout=2)
if rep is None or ICMP not in rep:
    print("no ICMP reply")
    sys.exit(1)
ok = (rep[ICMP].type == 3 and rep[ICMP].code == 2 and IPerror in rep and
      rep[IPerror].id == 4242 and rep[IPerror].proto == 99)
print(f"ICMP type {rep[ICMP].type} code {rep[ICMP].code}, quoted id {rep[IPerror].id if IPerror in rep else None}")
sys.exit(0 if ok else 1)
