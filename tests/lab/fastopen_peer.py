#!/usr/bin/python3
"""Linux's side of the TCP Fast Open lab checks (tests/lab/fastopen_test.sh),
run in the lab namespace with net.ipv4.tcp_fastopen set there.

  fastopen_peer.py client ADDR PORT TEXT   sendto(MSG_FASTOPEN) TEXT (blocking:
                                           in the SYN with a cookie, else after
                                           the handshake), read the echo back:
                                           exit 0 when it equals TEXT
  fastopen_peer.py server PORT LOG SECS    a Linux listener with TCP_FASTOPEN
                                           (queue 16) on [::]:PORT for SECS
                                           seconds: each connection's bytes are
                                           echoed and written to LOG, one line
  fastopen_peer.py mib NAME                this namespace's TcpExt NAME
"""
import signal
import socket
import sys
import time


def client(addr, port, text):
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    data = text.encode()
    signal.alarm(10)  # blocking calls below, bounded
    with socket.socket(family, socket.SOCK_STREAM) as s:
        # Blocking (a timeout would make the socket non-blocking, and the
        # sendto answer EINPROGRESS).
        sent = s.sendto(data, socket.MSG_FASTOPEN, (addr, int(port)))
        s.settimeout(5)
        if sent < len(data):
            s.sendall(data[sent:])
        got = b""
        while len(got) < len(data):
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
    print(f"echoed {got!r}")
    return got == data


def server(port, log, secs):
    deadline = time.monotonic() + float(secs)
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as l:
        l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        l.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        l.setsockopt(socket.IPPROTO_TCP, socket.TCP_FASTOPEN, 16)
        l.bind(("::", int(port)))
        l.listen(16)
        l.settimeout(0.5)
        print("listening", flush=True)
        while time.monotonic() < deadline:
            try:
                conn, _ = l.accept()
            except socket.timeout:
                continue
            with conn:
                conn.settimeout(5)
                got = b""
                try:
                    while True:
                        chunk = conn.recv(4096)
                        if not chunk:
                            break
                        got += chunk
                        conn.sendall(chunk)
                except (socket.timeout, OSError):
                    pass
            with open(log, "a") as f:
                f.write(got.decode(errors="replace") + "\n")
    return True


def mib(name):
    with open("/proc/net/netstat") as f:
        lines = f.read().splitlines()
    for head, values in zip(lines[::2], lines[1::2]):
        if head.startswith("TcpExt:"):
            print(dict(zip(head.split()[1:], values.split()[1:])).get(name, "0"))
            return True
    return False


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    ok = {"client": client, "server": server, "mib": mib}[cmd](*args)
    sys.exit(0 if ok else 1)
