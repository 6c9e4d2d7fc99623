#!/usr/bin/python3
"""Opens N TCP connections to an echo service one after another: each
connects, sends a line, reads it back and closes. Bounded in count and time.

usage: tcp_many.py ADDR PORT N
Prints "N connections, N echoed, R per second"; exit 0 if all N echoed.
"""
import socket
import sys
import time

addr, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
family = socket.AF_INET6 if ":" in addr else socket.AF_INET
ok = 0
start = time.time()
for i in range(n):
    if time.time() - start > 120:
        break
    try:
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.settimeout(5)
            s.connect((addr, port))
            msg = f"connection {i}\n".encode()
            s.sendall(msg)
            got = b""
            while len(got) < len(msg):
                chunk = s.recv(len(msg) - len(got))
                if not chunk:
                    break
                got += chunk
            ok += got == msg
    except OSError as e:
        print(f"connection {i}: {e}")
secs = time.time() - start
print(f"{n} connections, {ok} echoed, {ok / secs:.0f} per second")
sys.exit(0 if ok == n else 1)
