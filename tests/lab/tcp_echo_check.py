#!/usr/bin/python3
"""Sends N random bytes to a TCP echo service and reads them back, checking
that what returns is byte-for-byte what went (sha256), then that the
service closes its side after ours (half-close both ways).

usage: tcp_echo_check.py ADDR PORT BYTES [TIMEOUT_S]
Prints "sent N, received N, sha256 ok, R MB/s"; exit 0 on success.
"""
import hashlib
import os
import socket
import sys
import threading
import time

addr, port, total = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
timeout = float(sys.argv[4]) if len(sys.argv) > 4 else 120
family = socket.AF_INET6 if ":" in addr else socket.AF_INET
s = socket.socket(family, socket.SOCK_STREAM)
s.settimeout(timeout)
s.connect((addr, port))
seed = os.urandom(1 << 16)
sent_hash, got_hash = hashlib.sha256(), hashlib.sha256()
got = 0
error = []


def reader():
    global got
    try:
        while True:
            chunk = s.recv(1 << 16)
            if not chunk:
                return
            got_hash.update(chunk)
            got += len(chunk)
    except Exception as e:  # noqa: BLE001 - reported below
        error.append(e)


t = threading.Thread(target=reader)
start = time.time()
t.start()
left = total
while left > 0:
    chunk = seed[: min(len(seed), left)]
    s.sendall(chunk)
    sent_hash.update(chunk)
    left -= len(chunk)
s.shutdown(socket.SHUT_WR)
t.join(timeout)
secs = time.time() - start
ok = not error and not t.is_alive() and got == total and got_hash.digest() == sent_hash.digest()
print(f"sent {total}, received {got}, sha256 {'ok' if ok else 'MISMATCH'}, {total / secs / 1e6:.1f} MB/s"
      + (f", error {error[0]}" if error else ""))
sys.exit(0 if ok else 1)
