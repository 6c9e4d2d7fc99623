#!/usr/bin/python3
"""A scripted TCP peer (scapy) that puts one of ringstack's connections in a
given synchronized state, checks the state in ringstack's console, then
sends what the scenario says and checks the outcome.

usage: tcp_states.py IFACE ENGINE_MAC ENGINE_IP CONSOLE_SOCKET CTL SCENARIO SPORT

The peer is 192.0.2.1 (the kernel's address in the lab namespace); the
caller drops the kernel's own RSTs for SPORT with nftables. Scenarios:
  rst-<state>  state one of close-wait, last-ack, fin-wait-1, fin-wait-2,
               closing, time-wait: a RST at RCV.NXT; the connection must go
               (RFC 9293 3.10.7.4 second).
  simultaneous both FINs cross (ringstack's unacknowledged when ours
               arrives): CLOSING, then TIME-WAIT once ours is acknowledged.
Prints what it saw; exits 0 when every expectation held.
"""
import json
import subprocess
import sys
import time

from scapy.all import TCP  # noqa: E402
from scapy_tcp import Peer, fail

iface, engine_mac, engine_ip, sock_path, ctl, scenario, sport = sys.argv[1:8]
sport = int(sport)
PEER = "192.0.2.1"

# The service each state is reached through: daytime (13) closes first,
# echo (7) closes after our FIN, chargen (19) keeps writing after it.
SERVICE = {"close-wait": 19, "last-ack": 7, "fin-wait-1": 13, "fin-wait-2": 13, "closing": 13,
           "time-wait": 13, "simultaneous": 13}


def session_state():
    """The connection's state in ringstack's console, or None when it is gone."""
    out = subprocess.run([ctl, "-s", sock_path, "show", "tcp", "--all", "--json"], capture_output=True,
                         text=True, timeout=10, check=True).stdout
    for row in json.loads(out):
        if row["remote"] == f"{PEER}:{sport}" and row["local"].endswith(f":{dport}"):
            return row["state"]
    return None


def wait_state(want, seconds=5):
    deadline = time.monotonic() + seconds
    state = session_state()
    while state != want and time.monotonic() < deadline:
        time.sleep(0.05)
        state = session_state()
    print(f"ringstack's state: {state} (want {want})")
    if state != want:
        fail(f"state {state}, not {want}")


FIN, SYN, RST, ACK, PSH = 0x01, 0x02, 0x04, 0x10, 0x08
state = scenario.removeprefix("rst-")
dport = SERVICE[state]
iss = 1000000 + sport
peer = Peer(iface, engine_mac, engine_ip, sport, dport, PEER)
send = peer.send


def receive(want, seconds=5):
    """The next segment from ringstack for which want(tcp) holds."""
    return peer.receive(want, seconds)[TCP]


# Handshake.
send("S", iss, 0)
synack = receive(lambda t: t.flags & SYN and t.flags & ACK)
snd_nxt = iss + 1
rcv_nxt = synack.seq + 1
send("A", snd_nxt, rcv_nxt)

if dport == 13:
    # daytime: the date, then its FIN; both unacknowledged: FIN-WAIT-1.
    data_len = 0
    fin = receive(lambda t: t.flags & FIN)
    rcv_nxt = fin.seq + len(bytes(fin.payload)) + 1  # past its FIN
    if state == "fin-wait-1":
        wait_state("FIN-WAIT-1")
    elif state == "fin-wait-2":
        send("A", snd_nxt, rcv_nxt)
        wait_state("FIN-WAIT-2")
    elif state in ("closing", "simultaneous"):
        # Our FIN acknowledges its data but not its FIN: the FINs crossed.
        send("FA", snd_nxt, rcv_nxt - 1)
        snd_nxt += 1
        receive(lambda t: t.flags & ACK and t.ack == snd_nxt)
        wait_state("CLOSING")
        if state == "simultaneous":
            send("A", snd_nxt, rcv_nxt)
            wait_state("TIME-WAIT")
            print("both FINs crossed: CLOSING, then TIME-WAIT")
            sys.exit(0)
    elif state == "time-wait":
        send("A", snd_nxt, rcv_nxt)
        send("FA", snd_nxt, rcv_nxt)
        snd_nxt += 1
        receive(lambda t: t.flags & ACK and t.ack == snd_nxt)
        wait_state("TIME-WAIT")
elif dport == 19:
    # chargen: our FIN; it keeps writing (CLOSE-WAIT) into our small window.
    send("FA", snd_nxt, rcv_nxt, window=100)
    snd_nxt += 1
    receive(lambda t: t.flags & ACK and t.ack == snd_nxt)
    wait_state("CLOSE-WAIT")
elif dport == 7:
    # echo: our FIN; echo closes too and its FIN waits for our ACK (LAST-ACK).
    send("FA", snd_nxt, rcv_nxt)
    snd_nxt += 1
    fin = receive(lambda t: t.flags & FIN)
    rcv_nxt = fin.seq + len(bytes(fin.payload))  # its FIN stays unacknowledged
    wait_state("LAST-ACK")

# The RST at RCV.NXT (ringstack's view: our next sequence number).
send("R", snd_nxt, 0, window=0)
wait_state(None)
print(f"a RST in {state.upper()}: the connection is gone")
sys.exit(0)
