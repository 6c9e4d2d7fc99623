#!/usr/bin/python3
"""A reader that stops mid-transfer, against ringstack's TCP echo service.

usage: zero_window.py ADDR PORT TOTAL_BYTES

Linux sends TOTAL_BYTES of random data without reading the echo: the echo's
replies fill Linux's receive buffer and ringstack's send ring, ringstack's
echo stops reading, its receive window closes and Linux's sends stall (it
probes the zero window meanwhile). After the stall has held for 3 s the
client reads again while it sends the rest; every byte must come back in
order (sha256 equal). Exit 0 when the sends stalled and the data came back
whole.
"""
import hashlib
import os
import socket
import sys
import threading
import time

addr, port, total = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
data = os.urandom(total)
s = socket.create_connection((addr, port), timeout=60)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 256 * 1024)  # fills sooner
s.setblocking(False)

sent = 0
stalled_since = None
stall_seen = False
deadline = time.monotonic() + 60
while sent < total and time.monotonic() < deadline:
    try:
        sent += s.send(data[sent:sent + 65536])
        stalled_since = None
    except BlockingIOError:
        now = time.monotonic()
        stalled_since = stalled_since or now
        if now - stalled_since >= 3:  # the windows are shut; Linux has been probing
            stall_seen = True
            break
        time.sleep(0.01)
print(f"sent {sent} of {total} bytes before the stall; stalled: {stall_seen}")
if not stall_seen:
    sys.exit("the sender never stalled: the reader's window never closed")

s.settimeout(60)


def send_rest():
    s.sendall(data[sent:])
    s.shutdown(socket.SHUT_WR)


sender = threading.Thread(target=send_rest)
sender.start()
h = hashlib.sha256()
got = 0
while got < total:
    chunk = s.recv(1 << 20)
    if not chunk:
        break
    h.update(chunk)
    got += len(chunk)
sender.join()
s.close()
want = hashlib.sha256(data).hexdigest()
print(f"received {got} bytes, sha256 {'equal' if h.hexdigest() == want else 'DIFFERENT'}")
sys.exit(0 if got == total and h.hexdigest() == want else 1)
