#!/usr/bin/python3
"""A connected Linux UDP socket sends to a port where ringstack has no socket
and must see ICMP port unreachable as ECONNREFUSED on its next call.

usage: udp_refused.py ADDR PORT      (ADDR v4 or v6)
"""
import socket
import sys

addr, port = sys.argv[1], int(sys.argv[2])
family = socket.AF_INET6 if ":" in addr else socket.AF_INET
s = socket.socket(family, socket.SOCK_DGRAM)
s.settimeout(3)
s.connect((addr, port))
s.send(b"is anyone there?")
try:
    data = s.recv(100)
    print(f"unexpected answer: {data!r}")
    sys.exit(1)
except ConnectionRefusedError:
    print(f"{addr} port {port}: ECONNREFUSED")
    sys.exit(0)
except socket.timeout:
    print(f"{addr} port {port}: no answer, no error")
    sys.exit(1)
