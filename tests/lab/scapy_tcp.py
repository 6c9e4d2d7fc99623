"""A scapy TCP peer for the lab scripts (tcp_states.py, accecn_peer.py):
segments from the lab kernel's address to ringstack over the TAP, and
ringstack's segments back. The caller drops the kernel's own RSTs for the
peer's port with nftables (the kernel has no socket for it)."""
import sys
import time

from scapy.all import IP, TCP, Ether, conf  # noqa: E402


def fail(msg):
    print(f"FAIL: {msg}")
    sys.exit(1)


class Peer:
    def __init__(self, iface, engine_mac, engine_ip, sport, dport, src="192.0.2.1"):
        conf.verb = 0
        self.engine_mac, self.engine_ip, self.src = engine_mac, engine_ip, src
        self.sport, self.dport = sport, dport
        self.l2 = conf.L2socket(iface=iface, filter=f"tcp and src host {engine_ip} and dst port {sport}")

    def send(self, flags, seq, ack, payload=b"", window=1000, ecn=0, options=()):
        """One segment to ringstack; `ecn` is the IP header's ECN field."""
        frame = Ether(dst=self.engine_mac) / IP(src=self.src, dst=self.engine_ip, tos=ecn) / TCP(
            sport=self.sport, dport=self.dport, flags=flags, seq=seq, ack=ack, window=window, options=list(options))
        if payload:
            frame = frame / payload
        self.l2.send(frame)

    def receive(self, want, seconds=5):
        """The next frame from ringstack whose TCP segment satisfies want(tcp)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            p = self.l2.recv()
            if p is None or not p.haslayer(TCP):
                continue
            t = p[TCP]
            if t.sport == self.dport and t.dport == self.sport and want(t):
                return p
        fail(f"no segment as expected from ringstack within {seconds} s")
