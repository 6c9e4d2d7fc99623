#!/usr/bin/python3
"""Linux's side of the ECN lab checks (tests/lab/ecn_test.sh), run in the
lab namespace with net.ipv4.tcp_ecn set there.

  ecn_peer.py negotiated ADDR PORT     connect, echo a line, and read the
                                       socket's TCP_INFO: exit 0 when its
                                       options have TCPI_OPT_ECN
  ecn_peer.py send ADDR PORT BYTES     send BYTES (to a discard service)
  ecn_peer.py recv ADDR PORT BYTES     read BYTES (from a chargen service)
"""
import socket
import sys
import time


# struct tcp_info (linux/tcp.h): tcpi_options is its sixth octet.
TCPI_OPT_TIMESTAMPS, TCPI_OPT_SACK, TCPI_OPT_WSCALE, TCPI_OPT_ECN = 1, 2, 4, 8


def options(s):
    o = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)[5]
    names = [n for bit, n in ((TCPI_OPT_TIMESTAMPS, "ts"), (TCPI_OPT_SACK, "sack"), (TCPI_OPT_WSCALE, "wscale"),
                              (TCPI_OPT_ECN, "ecn")) if o & bit]
    return o, names


def negotiated(addr, port):
    with socket.create_connection((addr, port), timeout=5) as s:
        s.sendall(b"ecn?\n")
        got = b""
        while len(got) < 5:
            chunk = s.recv(100)
            if not chunk:
                break
            got += chunk
        opts, names = options(s)
    print(f"echoed {got!r}; Linux's TCP_INFO options: {' '.join(names)}")
    return got == b"ecn?\n" and (opts & TCPI_OPT_ECN) != 0


def send(addr, port, total):
    start = time.monotonic()
    with socket.create_connection((addr, port), timeout=10) as s:
        block = bytes(range(256)) * 256
        sent = 0
        while sent < total:
            n = min(len(block), total - sent)
            s.sendall(block[:n])
            sent += n
        s.shutdown(socket.SHUT_WR)
        s.settimeout(10)
        s.recv(1)  # the server's close
    print(f"sent {sent} bytes in {time.monotonic() - start:.2f} s")
    return sent == total


def recv(addr, port, total):
    start = time.monotonic()
    got = 0
    with socket.create_connection((addr, port), timeout=10) as s:
        while got < total:
            chunk = s.recv(min(65536, total - got))
            if not chunk:
                break
            got += len(chunk)
    print(f"received {got} bytes in {time.monotonic() - start:.2f} s")
    return got == total


def main():
    cmd = sys.argv[1]
    if cmd == "negotiated":
        ok = negotiated(sys.argv[2], int(sys.argv[3]))
    elif cmd == "send":
        ok = send(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif cmd == "recv":
        ok = recv(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        sys.exit(__doc__)
    sys.exit(0 if ok else 1)


main()
