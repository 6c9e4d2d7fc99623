#!/usr/bin/python3
"""An Accurate ECN (RFC 9768) client written with scapy, against ringstack's
echo service with --tcp-ecn accecn: an encoder and decoder of the ACE field
and the AccECN option apart from ringstack's own.

usage: accecn_peer.py IFACE ENGINE_MAC ENGINE_IP SPORT

The peer is 192.0.2.1 (the kernel's address in the lab namespace); the
caller drops the kernel's own RSTs for SPORT with nftables. It sends an
AccECN SYN (AE, CWR, ECE) and expects the SYN-ACK to feed back that it came
Not-ECT (ACE 010) with an AccECN option of EE0B 1, ECEB 0, EE1B 1; completes
the handshake feeding back the SYN-ACK's field; sends 100 bytes ECT(0) and
two of 100 bytes marked CE, and expects ringstack's segments to count them
(ACE 5 + 2 = 7) with the option's bytes (EE0B 101, ECEB 200). It
acknowledges the echo as it comes, the ACK of its last bytes with an ACE
that reports one CE mark of ringstack's and an option to match, then
resets. Prints what it saw; exits 0 when every expectation held.
"""
import sys
import time

from scapy.all import IP, TCP  # noqa: E402
from scapy_tcp import Peer, fail

iface, engine_mac, engine_ip, sport = sys.argv[1:5]
ISS = 1000
NOT_ECT, ECT0, CE = 0, 2, 3
peer = Peer(iface, engine_mac, engine_ip, int(sport), 7)


def ace_flags(ace):
    """AE, CWR, ECE for an ACE value, as scapy's flag letters (AE is 'N')."""
    return ("N" if ace & 4 else "") + ("C" if ace & 2 else "") + ("E" if ace & 1 else "")


def ace_of(t):
    f = int(t.flags)
    return (4 if f & 0x100 else 0) | (2 if f & 0x80 else 0) | (1 if f & 0x40 else 0)


def accecn_option(t):
    """The AccECN option's (kind, fields) or None."""
    for kind, value in t.options:
        if kind in (172, 174):
            raw = bytes(value)
            return kind, [int.from_bytes(raw[i:i + 3], "big") for i in range(0, len(raw) - len(raw) % 3, 3)]
    return None


def send(flags, seq, ack, payload=b"", ecn=NOT_ECT, options=()):
    peer.send(flags, seq, ack, payload, window=65535, ecn=ecn, options=options)


def receive(want, seconds=5):
    return peer.receive(want, seconds)


send("S" + ace_flags(0b111), ISS, 0, options=[("MSS", 1460)])
p = receive(lambda t: t.flags.S and t.flags.A)
synack = p[TCP]
opt = accecn_option(synack)
print(f"SYN-ACK: ACE {ace_of(synack):03b}, IP ECN {p[IP].tos & 3}, option {opt}")
if ace_of(synack) != 0b010:
    fail("the SYN-ACK does not say the SYN came Not-ECT (ACE 010)")
if opt != (172, [1, 0, 1]):
    fail("the SYN-ACK's AccECN option is not EE0B 1, ECEB 0, EE1B 1")
rcv = synack.seq + 1
seq = ISS + 1
send("A" + ace_flags(0b010), seq, rcv)  # Table 3: the SYN-ACK came Not-ECT

echoed = b""
last = None
opt = None
for payload, ecn in ((b"a" * 100, ECT0), (b"b" * 100, CE), (b"c" * 100, CE)):
    send("PA" + ace_flags(0b101), seq, rcv, payload, ecn)
    seq += len(payload)
# Data segments carry the option when the counts changed since it last went,
# pure ACKs always: the newest option seen is what ringstack reports.
deadline = time.monotonic() + 5
while time.monotonic() < deadline and (last is None or last[TCP].ack != seq or len(echoed) < 300 or opt is None):
    p = receive(lambda t: True)
    t = p[TCP]
    print(f"  seq {t.seq - rcv} ack {t.ack - ISS - 1} len {len(t.payload)} ACE {ace_of(t):03b} "
          f"IP ECN {p[IP].tos & 3} option {accecn_option(t)}")
    if len(t.payload) and t.seq == rcv + len(echoed):
        echoed += bytes(t.payload)
        if p[IP].tos & 3 != ECT0:
            fail(f"ringstack's data went with IP ECN {p[IP].tos & 3}, not ECT(0)")
        if len(echoed) < 300:
            send("A" + ace_flags(0b101), seq, rcv + len(echoed))  # none of it CE
        else:
            # The last of it: one CE mark of ringstack's reported, ACE 6, and
            # an option of EE0B 201, ECEB 100 (as if 100 of the 300 bytes
            # came CE), on the ACK that delivers it (only such are read).
            fields = (1 + 200).to_bytes(3, "big") + (100).to_bytes(3, "big") + (1).to_bytes(3, "big")
            send("A" + ace_flags(0b110), seq, rcv + len(echoed), options=[(172, fields)])
    if accecn_option(t) is not None:
        opt = accecn_option(t)
    last = p
t = last[TCP]
print(f"after 100 bytes ECT(0) and 200 CE: ACK {t.ack - ISS - 1}, ACE {ace_of(t):03b}, option {opt}, "
      f"{len(echoed)} bytes echoed")
if t.ack != seq or ace_of(t) != 0b111:
    fail("ringstack's last segment does not count the two CE marks (ACE 111)")
if opt is None or opt[0] != 172 or opt[1][:2] != [101, 200]:
    fail("the AccECN option does not say EE0B 101, ECEB 200")
if echoed != b"a" * 100 + b"b" * 100 + b"c" * 100:
    fail("the echo did not come back whole")

time.sleep(0.2)
send("R", seq, 0)
print("ok")
