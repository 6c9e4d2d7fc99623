#!/usr/bin/python3
"""Sends ringstack what a host must silently discard and checks that nothing
answers it, then that the same request sent properly is answered (so the
silence is the discard, not a lost frame or a deaf sniffer):
  broadcast4 DST       an ICMP echo request whose IPv4 source is the
                       subnet's broadcast, 192.0.2.255 (RFC 1122 3.2.1.3)
  overlap6 SRC6 DST6   an ICMPv6 echo request in three fragments, the middle
                       one overlapping both others with the very bytes they
                       carry (RFC 5722: the whole datagram is discarded)

usage: rfc_discards.py IFACE MAC MODE ARGS...
"""
import sys
import time

from scapy.all import (ICMP, IP, AsyncSniffer, Ether, ICMPv6EchoReply, ICMPv6EchoRequest, IPv6,  # noqa: E402
                       IPv6ExtHdrFragment, Raw, conf, sendp)

iface, mac, mode = sys.argv[1], sys.argv[2], sys.argv[3]
conf.verb = 0


def replies(frames, match, wait=2.0):
    """Sends `frames` (a list) and returns the frames `match` accepts that
    come back within `wait` seconds."""
    sniffer = AsyncSniffer(iface=iface, lfilter=match)
    sniffer.start()
    time.sleep(0.3)
    for f in frames:
        sendp(Ether(dst=mac) / f, iface=iface)
    time.sleep(wait)
    return sniffer.stop()


def broadcast4(dst):
    payload = Raw(b"from a broadcast source" * 4)

    def echo_reply(ident):
        return lambda p: ICMP in p and p[ICMP].type == 0 and p[ICMP].id == ident

    bad = replies([IP(src="192.0.2.255", dst=dst) / ICMP(id=0x5151, seq=1) / payload], echo_reply(0x5151))
    good = replies([IP(src="192.0.2.1", dst=dst) / ICMP(id=0x5152, seq=1) / payload], echo_reply(0x5152))
    print(f"from 192.0.2.255: {len(bad)} replies; from 192.0.2.1: {len(good)} replies")
    return len(bad) == 0 and len(good) == 1


def fragments(src, dst, ident, frag_id, cuts):
    """The echo request's upper-layer bytes (ICMPv6 header + 1000 bytes),
    cut into fragments [begin, end) as `cuts` says."""
    data = bytes((i * 7) & 0xff for i in range(1000))
    upper = bytes(IPv6(src=src, dst=dst) / ICMPv6EchoRequest(id=ident, seq=1, data=data))[40:]
    out = []
    for begin, end in cuts:
        more = 1 if end < len(upper) else 0
        out.append(IPv6(src=src, dst=dst, nh=44) /
                   IPv6ExtHdrFragment(nh=58, offset=begin // 8, m=more, id=frag_id) / Raw(upper[begin:end]))
    return out


def overlap6(src, dst):
    def echo_reply(ident):
        return lambda p: ICMPv6EchoReply in p and p[ICMPv6EchoReply].id == ident

    # 1008 bytes: [0, 512), then [256, 768) over both halves, then [512, 1008).
    bad = replies(fragments(src, dst, 0x6161, 0x61610001, [(0, 512), (256, 768), (512, 1008)]), echo_reply(0x6161))
    good = replies(fragments(src, dst, 0x6162, 0x61620001, [(0, 512), (512, 1008)]), echo_reply(0x6162))
    print(f"with an overlapping fragment: {len(bad)} replies; without: {len(good)} replies")
    return len(bad) == 0 and len(good) == 1


if mode == "broadcast4":
    ok = broadcast4(sys.argv[4])
elif mode == "overlap6":
    ok = overlap6(sys.argv[4], sys.argv[5])
else:
    print(__doc__)
    sys.exit(2)
sys.exit(0 if ok else 1)
