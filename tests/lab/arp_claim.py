#!/usr/bin/python3
"""Another host claims an address: one ARP announcement (RFC 5227 2.3: sender
and target IP the address) from a MAC that is not ringstack's.

usage: arp_claim.py IFACE ADDRESS MAC
"""
import sys

from scapy.all import ARP, Ether, sendp, conf  # noqa: E402

iface, addr, mac = sys.argv[1:4]
conf.verb = 0
sendp(Ether(src=mac, dst="ff:ff:ff:ff:ff:ff") /
      ARP(op=1, hwsrc=mac, psrc=addr, hwdst="00:00:00:00:00:00", pdst=addr), iface=iface)
print(f"{mac} announced {addr} on {iface}")
