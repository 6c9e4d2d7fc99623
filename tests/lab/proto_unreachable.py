#!/usr/bin/python3
"""Sends ringstack a datagram nobody there takes and expects the ICMP
Destination Unreachable that says so, quoting it:
  proto  an IPv4 datagram for protocol 99 -> protocol unreachable (code 2)
  port   a UDP datagram to port 9, where no socket listens -> port unreachable (code 3)

usage: proto_unreachable.py IFACE DST [proto|port]
"""
import sys

from scapy.all import ICMP, IP, UDP, IPerror, Raw, UDPerror, conf, sr1  # noqa: E402

iface, dst = sys.argv[1], sys.argv[2]
mode = sys.argv[3] if len(sys.argv) > 3 else "proto"
conf.verb = 0
if mode == "port":
    req = IP(dst=dst, id=4243) / UDP(sport=40001, dport=9) / Raw(b"anyone listening?")
    want_code, want_proto = 3, 17
else:
    req = IP(dst=dst, proto=99, id=4242) / Raw(b"not a protocol ringstack speaks")
    want_code, want_proto = 2, 99
rep = sr1(req, iface=iface, timeout=2)
if rep is None or ICMP not in rep:
    print("no ICMP reply")
    sys.exit(1)
ok = (rep[ICMP].type == 3 and rep[ICMP].code == want_code and IPerror in rep and
      rep[IPerror].id == req[IP].id and rep[IPerror].proto == want_proto)
if mode == "port":
    ok = ok and UDPerror in rep and rep[UDPerror].sport == 40001 and rep[UDPerror].dport == 9
print(f"ICMP type {rep[ICMP].type} code {rep[ICMP].code}, quoted id {rep[IPerror].id if IPerror in rep else None}")
sys.exit(0 if ok else 1)
