#!/usr/bin/env python3
"""Random lines at a running engine's console socket (issue #9): command
words, flags and raw bytes mixed, some lines over the length limit. Every line
must get an answer (text, NUL, a status 0/1/2) and the socket must stay open.
usage: console_fuzz.py SOCKET COUNT SEED"""
import random
import socket
import sys

WORDS = ["show", "tcp", "udp", "arp", "nd", "counters", "interfaces", "addresses", "routes", "rings", "pool",
         "threads", "--json", "--all", "--prometheus", "--scopes", "capture", "status", "stop", "log", "level",
         "trace", "off", "help", "-c", "-s", "-i", "-t", "ping", "ping6", "tcp-echo", "udp-echo", "192.0.2.1",
         "2001:db8::1", "0", "99999", "\"", "\\", "=", "tcp=", "debug", "ip4"]


def answer(sock, buf):
    """Reads up to and including the NUL + status + newline; returns (status, rest of buf)."""
    while True:
        nul = buf.find(b"\0")
        if nul >= 0:
            nl = buf.find(b"\n", nul)
            if nl >= 0:
                return int(buf[nul + 1:nl]), buf[nl + 1:]
        chunk = sock.recv(65536)
        if not chunk:
            raise SystemExit("console closed the connection")
        buf += chunk


def main():
    path, count, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rng = random.Random(seed)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(20)
    sock.connect(path)
    buf = b""
    statuses = {0: 0, 1: 0, 2: 0}
    for _ in range(count):
        parts = []
        for _ in range(rng.randrange(0, 7)):
            if rng.random() < 0.25:
                parts.append(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 16))).replace(b"\n", b"."))
            else:
                parts.append(rng.choice(WORDS).encode())
        line = b" ".join(parts)
        if b"capture" in line and b"start" in line:
            continue  # no stray files
        if b"ping" in line or b"echo" in line:
            line = b"help " + line  # no network waits: the lab checks those on their own
        if rng.random() < 0.01:
            line = b"x" * 5000  # over the limit
        if not line.strip():
            continue
        sock.sendall(line + b"\n")
        status, buf = answer(sock, buf)
        if status not in statuses:
            raise SystemExit(f"status {status} for {line!r}")
        statuses[status] += 1
    print(f"{count} lines (seed {seed}): {statuses}")


main()
