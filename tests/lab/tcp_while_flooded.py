#!/usr/bin/python3
"""A real client during a SYN flood: for SECONDS, connections to ADDR:PORT
(an echo service) one after another, each sending SIZE random bytes and
reading them back. Exit 0 if at least MIN connections completed and none
returned wrong data (a connection that times out counts as failed).

usage: tcp_while_flooded.py ADDR PORT SIZE SECONDS MIN
"""
import os
import socket
import sys
import time

addr, port, size, seconds, want = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
done = failed = 0
start = time.monotonic()
while time.monotonic() - start < seconds:
    data = os.urandom(size)
    try:
        with socket.create_connection((addr, port), timeout=10) as s:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            got = b""
            while len(got) < size:
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
        if got == data:
            done += 1
        else:
            failed += 1
            print(f"connection {done + failed}: {len(got)} of {size} bytes back, equal={got == data}")
    except OSError as e:
        failed += 1
        print(f"connection {done + failed}: {e}")
print(f"{done} connections echoed {size} bytes correctly, {failed} failed, in {time.monotonic() - start:.1f} s")
sys.exit(0 if done >= want and failed == 0 else 1)
