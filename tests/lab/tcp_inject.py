#!/usr/bin/python3
"""Blind injections into a live TCP connection (RFC 5961, RFC 7323 PAWS):
a Linux client talks to ringstack's echo at ADDR:7 while scapy, on the
client's side of the TAP, learns the connection's numbers from one segment
and forges segments as an off-path attacker with a good guess would: a RST
in the window but not at RCV.NXT, a SYN, data whose ACK is beyond what
ringstack sent (one with a plausible timestamp, one with a far-future one
that, taken as TS.Recent before the ACK is checked, would make PAWS drop
every later segment of the client's), and data with an old timestamp. None may reset the
connection or reach the application: the echo of what the client sends
afterwards must be exactly its own bytes.

usage: tcp_inject.py IFACE DST_MAC ADDR
"""
import socket
import sys
import threading
import time

from scapy.all import IP, TCP, AsyncSniffer, Ether, Raw, conf, get_if_hwaddr  # noqa: E402

iface, dst_mac, addr = sys.argv[1], sys.argv[2], sys.argv[3]
conf.verb = 0


def echo(s, data):
    s.sendall(data)
    got = b""
    s.settimeout(5)
    while len(got) < len(data):
        chunk = s.recv(65536)
        if not chunk:
            raise SystemExit(f"connection closed after {got!r}")
        got += chunk
    return got


s = socket.create_connection((addr, 7), timeout=5)
port = s.getsockname()[1]
started = threading.Event()
sniffed = []
sniffer = AsyncSniffer(iface=iface, filter=f"tcp and src port {port} and dst port 7",
                       prn=sniffed.append, store=False, started_callback=started.set)
sniffer.start()
if not started.wait(10):
    raise SystemExit("the sniffer did not start within 10 s")
assert echo(s, b"before ") == b"before "


def carried_before():
    return any(p.haslayer(TCP) and bytes(p[TCP].payload) == b"before " for p in sniffed)


deadline = time.monotonic() + 5
while not carried_before() and time.monotonic() < deadline:
    time.sleep(0.05)
sniffer.stop()
ours = [p for p in sniffed if p.haslayer(TCP)]
if not carried_before():
    raise SystemExit(f"the client's data segment was not sniffed ({len(ours)} segments)")
last = ours[-1][TCP]
seq = last.seq + len(bytes(last.payload))  # the client's next sequence number
ack = last.ack                             # what ringstack has sent so far
tsval = dict((k, v) for k, v in last.options if isinstance(k, str)).get("Timestamp", (0, 0))[0]
src_mac = get_if_hwaddr(iface)


def forge(flags, seq_, ack_, ts, payload=b""):
    opts = [("NOP", None), ("NOP", None), ("Timestamp", (ts, 0))]
    frame = Ether(src=src_mac, dst=dst_mac) / IP(src="192.0.2.1", dst=addr) / TCP(
        sport=port, dport=7, flags=flags, seq=seq_, ack=ack_, window=500, options=opts)
    if payload:
        frame = frame / Raw(payload)
    return frame


sock = conf.L2socket(iface=iface)
sock.send(forge("R", seq + 1000, 0, tsval + 1))                             # in window, not RCV.NXT
sock.send(forge("S", seq + 5000, 0, tsval + 1))                             # SYN on a live connection
sock.send(forge("PA", seq, (ack + 100000) & 0xFFFFFFFF, tsval + 1, b"INJECTED"))  # ACK past SND.MAX
sock.send(forge("PA", seq, (ack + 100000) & 0xFFFFFFFF, (tsval + 0x40000000) & 0xFFFFFFFF,
                b"FUTURETS"))                                               # ... with a far-future TSval
sock.send(forge("PA", seq, ack, (tsval - 1000) & 0xFFFFFFFF, b"OLDSTAMP"))  # PAWS: an old timestamp
sock.close()
# The forged frames left before the client's next data: the engine takes them first.
got = echo(s, b"after")
s.close()
print(f"injected 5 segments into port {port}; echo afterwards {got!r}")
sys.exit(0 if got == b"after" else 1)
