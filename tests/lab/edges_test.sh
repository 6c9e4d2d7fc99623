#!/usr/bin/env bash
# Lab test (#23): behaviour at the edges, against real Linux peers (scapy
# where Linux cannot be made to do it): a reader that stops mid-transfer
# (zero window, Linux's probes, resume); simultaneous close; a RST in each
# synchronized state; an ARP conflict and a DHCP lease expiry with
# connections open; packet-pool exhaustion under load. TAP-style output.
#
# usage: tests/lab/edges_test.sh BUILD_DIR
set -uo pipefail
source "$(dirname "$0")/lab_lib.sh" "${1:-}"

sock=$work/console.sock
py() { "$lab" exec "$ns" /usr/bin/python3 "$@"; }

# start NAME ARGS...: the engine in $ns on $tap with its console at $sock.
start() {
  local name=$1
  shift
  rm -f "$sock"
  "$lab" exec "$ns" "$bin" --tap "$tap" --mac 02:00:00:00:00:02 --console "$sock" --poll block \
    --counters-file "$work/$name.counters" "$@" 2>"$work/$name.log" &
  engine_pid=$!
  engine_name=$name
  pids+=("$engine_pid")
  wait_for 10 grep -q "console on" "$work/$name.log" && return 0
  cat "$work/$name.log"
  return 1
}

# The state of the connection from 192.0.2.1:PORT in the console, or "gone".
state_of() {
  c show tcp --all --json | python3 -c "
import json, sys
rows = [r for r in json.load(sys.stdin) if r['remote'] == '192.0.2.1:$1']
print(rows[0]['state'] if rows else 'gone')"
}
state_is() { [ "$(state_of "$1")" = "$2" ]; }

# nc_port ADDR: the local port of Linux's connection to ADDR:7.
nc_port() {
  "$lab" exec "$ns" ss -Htn state established "dst $1 and dport = :7" | awk '{ split($3, a, ":"); print a[2] }' |
    head -n 1
}
# stop_nc PID: the `sleep | nc` pipeline started (with setsid) as PID: its
# whole process group.
stop_nc() {
  kill -TERM -- "-$1" 2>/dev/null
  wait "$1" 2>/dev/null
}
nc_up() { [ -n "$(nc_port "$1")" ]; }
established_to() {  # established_to ADDR: Linux's connection to ADDR:7, ESTABLISHED in ringstack's console
  port=""
  if ! wait_for 10 nc_up "$1"; then
    echo "Linux has no connection to $1:7: $(cat "$work/nc_$1.err" 2>/dev/null)"
    "$lab" exec "$ns" ss -tan
    "$lab" exec "$ns" ip neigh show dev "$tap"
    return 1
  fi
  port=$(nc_port "$1")
  wait_for 5 state_is "$port" ESTABLISHED || { echo "port $port: $(state_of "$port")"; c show tcp --all; return 1; }
}

# in_dhcp CMD...: CMD with the helpers pointed at the DHCP namespace's engine.
in_dhcp() {
  local ns=$dns tap=$dtap sock=$dsock engine_pid=$dhcp_pid engine_name=dhcp
  "$@"
}

# --- a DHCP lease that expires with a connection open --------------------------
# dnsmasq's shortest lease is 2 minutes; once the lease is bound dnsmasq
# stops, so the renewals (T1 8 s) and rebinds go unanswered and the lease
# runs out. It runs in a namespace of its own beside the other checks; its
# expiry is checked at the end.
read -r dns dtap < <("$lab" up) || exit 1
namespaces+=("$dns")
dsock=$work/dhcp.sock
"$lab" exec "$dns" dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts --port=0 \
  --user=root --group=root --interface="$dtap" --bind-interfaces \
  --dhcp-range=192.0.2.50,192.0.2.60,255.255.255.0,2m --dhcp-option=option:T1,8 \
  --dhcp-leasefile="$work/dnsmasq.leases" --log-facility="$work/dnsmasq.log" &
dnsmasq_pid=$!
pids+=("$dnsmasq_pid")
wait_for 10 grep -qs "started" "$work/dnsmasq.log"
"$lab" exec "$dns" "$bin" --tap "$dtap" --mac 02:00:00:00:00:02 --console "$dsock" --poll block \
  --counters-file "$work/dhcp.counters" --dhcp4 --acd off --ipv6 off --services echo 2>"$work/dhcp.log" &
dhcp_pid=$!
pids+=("$dhcp_pid")
check "engine starts with --dhcp4 and echo" wait_for 10 grep -q "console on" "$work/dhcp.log"
check "the lease is bound" wait_for 20 grep -q "dhcp4: bound" "$work/dhcp.log"
addr=$(sed -n 's/.*dhcp4: bound \([0-9.]*\)\/24.*/\1/p' "$work/dhcp.log" | head -n 1)
kill "$dnsmasq_pid"
# dnsmasq pings an address before offering it, so Linux may hold a failed
# neighbour entry for it: it can reach the lease once a ping comes back.
reachable() { "$lab" exec "$dns" ping -c 1 -W 1 "$1" >/dev/null 2>&1; }
wait_for 10 reachable "${addr:-192.0.2.50}"
setsid bash -c "sleep 300 | \"$lab\" exec $dns nc ${addr:-192.0.2.50} 7 >/dev/null 2>$work/nc_${addr:-192.0.2.50}.err; echo \"nc exited \$?\" >>$work/nc_${addr:-192.0.2.50}.err" &
dhcp_nc_pid=$!
pgroups+=("$dhcp_nc_pid")
check "a connection to the leased $addr is ESTABLISHED" in_dhcp established_to "${addr:-192.0.2.50}"
dhcp_port=$port

# --- a reader that stops mid-transfer -----------------------------------------
read -r ns tap < <("$lab" up) || exit 1
namespaces+=("$ns")
check "engine starts with echo, daytime and chargen (tcp=debug)" \
  start tcp --ip4 192.0.2.2/24 --acd off --ipv6 off --services echo,daytime,chargen --log-level info,tcp=debug
"$lab" exec "$ns" tcpdump -i "$tap" -w "$work/zw.pcap" -U 'tcp port 7' 2>"$work/zw.tcpdump" &
tcpdump_pid=$!
pids+=("$tcpdump_pid")
wait_for 10 grep -q "listening on" "$work/zw.tcpdump"
check "a reader that stops mid-transfer: Linux's sends stall, then 64 MB come back whole (sha256)" \
  py "$root/tests/lab/zero_window.py" 192.0.2.2 7 67108864
kill -INT "$tcpdump_pid"
wait "$tcpdump_pid"
zero_window_seen() {  # in the capture: ringstack's zero window, Linux's probes, the window reopening
  local zero probes updates
  zero=$(tshark -r "$work/zw.pcap" -Y 'ip.src == 192.0.2.2 && tcp.window_size_value == 0' 2>/dev/null | wc -l)
  # Linux probes a zero window with a bare segment one below SND.UNA
  # (tcp_xmit_probe_skb), which tshark calls a keep-alive.
  probes=$(tshark -r "$work/zw.pcap" -Y 'ip.src == 192.0.2.1 && (tcp.analysis.zero_window_probe || tcp.analysis.keep_alive)' \
    2>/dev/null | wc -l)
  updates=$(tshark -r "$work/zw.pcap" -Y 'ip.src == 192.0.2.2 && tcp.analysis.window_update' 2>/dev/null | wc -l)
  echo "zero windows from ringstack: $zero; Linux's zero-window probes: $probes; ringstack's window updates: $updates"
  [ "$zero" -ge 1 ] && [ "$probes" -ge 1 ] && [ "$updates" -ge 1 ]
}
check "the capture shows ringstack's zero window, Linux's probes and the window reopening (tshark)" zero_window_seen

# --- RSTs in each synchronized state, simultaneous close -----------------------
# ESTABLISHED: Linux itself resets (close with SO_LINGER 0).
linux_rst_ok() {
  local port
  port=$(py - <<'EOF'
import socket, struct
s = socket.create_connection(("192.0.2.2", 7), timeout=5)
s.sendall(b"x")
assert s.recv(1) == b"x"
print(s.getsockname()[1])
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()  # a RST, not a FIN
EOF
  ) || return 1
  echo "Linux's port $port reset its connection"
  wait_for 5 state_is "$port" gone && wait_for 5 grep -q "192.0.2.1:$port: reset" "$work/tcp.log"
}
check "a RST from Linux in ESTABLISHED: the connection goes, its socket sees ECONNRESET" linux_rst_ok
# The other states through a scapy peer on Linux's address; the kernel's own
# RSTs for those ports (it has no socket for them) are dropped.
"$lab" exec "$ns" nft -f - <<'EOF'
table ip rs_edges {
  chain out {
    type filter hook output priority 0;
    ip daddr 192.0.2.2 tcp sport 41000-41099 tcp flags rst drop
  }
}
EOF
port=41000
for state in close-wait fin-wait-1 fin-wait-2 last-ack closing time-wait; do
  port=$((port + 1))
  rst_ok() {  # rst_ok STATE PORT: gone after the RST; ECONNRESET only where RFC 9293 3.10.7.4 says
    py "$root/tests/lab/tcp_states.py" "$tap" 02:00:00:00:00:02 192.0.2.2 "$sock" "$ctl" "rst-$1" "$2" || return 1
    case "$1" in
      close-wait | fin-wait-1 | fin-wait-2) wait_for 5 grep -q "192.0.2.1:$2: reset" "$work/tcp.log" ;;
      *) wait_for 5 grep -q "192.0.2.1:$2: closed" "$work/tcp.log" && ! grep -q "192.0.2.1:$2: reset" "$work/tcp.log" ;;
    esac
  }
  case "$state" in
    close-wait | fin-wait-1 | fin-wait-2) want="the connection goes, its socket sees ECONNRESET" ;;
    *) want="the connection goes quietly (no ECONNRESET)" ;;
  esac
  check "a RST in ${state^^}: $want" rst_ok "$state" "$port"
done
check "simultaneous close: both FINs cross, CLOSING, then TIME-WAIT" \
  py "$root/tests/lab/tcp_states.py" "$tap" 02:00:00:00:00:02 192.0.2.2 "$sock" "$ctl" simultaneous 41090
check "SIGTERM: clean exit after the resets" stop_clean

# --- an ARP conflict with a connection open ----------------------------------
check "engine starts with ACD on and echo" start acd --ip4 192.0.2.2/24 --ipv6 off --services echo
check "ACD claims 192.0.2.2" wait_for 15 grep -q "192.0.2.2/24: claimed" "$work/acd.log"
setsid bash -c "sleep 60 | \"$lab\" exec $ns nc 192.0.2.2 7 >/dev/null 2>$work/nc_192.0.2.2.err" &
nc_pid=$!
pgroups+=("$nc_pid")
wait_for 10 nc_up 192.0.2.2
port=$(nc_port 192.0.2.2)
check "the connection from Linux is ESTABLISHED (port ${port:-none})" wait_for 5 state_is "${port:-0}" ESTABLISHED
py "$root/tests/lab/arp_claim.py" "$tap" 192.0.2.2 02:00:00:00:00:99 >>"$work/log" 2>&1
defended() {
  counter_ge arp_acd_defend 1 &&
    "$lab" exec "$ns" ip neigh show 192.0.2.2 dev "$tap" | grep -q "lladdr 02:00:00:00:00:02"
}
check "one claim from another host: defended (an announcement; Linux maps 192.0.2.2 back to ringstack)" \
  wait_for 5 defended
check "after the defence the connection is still ESTABLISHED" state_is "$port" ESTABLISHED
py "$root/tests/lab/arp_claim.py" "$tap" 192.0.2.2 02:00:00:00:00:99 >>"$work/log" 2>&1
given_up() {
  counter_ge arp_acd_conflict 1 && counter_ge tcp_aborted_address_lost 1 && state_is "$port" gone &&
    grep -q "192.0.2.1:$port: aborted: 192.0.2.2 is no longer this host's" "$work/acd.log"
}
check "a second claim within 10 s: the address given up, its connection aborted (logged, counted)" \
  wait_for 5 given_up
stop_nc "$nc_pid"
check "SIGTERM: clean exit after the conflict" stop_clean

# --- packet-pool exhaustion under load ----------------------------------------
# 256 buffers, and a 20 ms delay stage that holds every frame in one: a
# 1 Gbit/s UDP blast needs far more than the pool has.
check "engine starts with --pool-buffers 256 and a 20 ms delay" \
  start pool --ip4 192.0.2.2/24 --acd off --ipv6 off --services iperf3 --pool-buffers 256 --tap-offload off \
  --impair delay=20ms,seed=3
"$lab" exec "$ns" timeout 30 iperf3 -c 192.0.2.2 -u -b 1G -l 1400 -t 3 >"$work/blast.txt" 2>&1
check "the pool ran dry under the blast: drops counted" counter_ge rx_drop_no_buffer 1
check "after the blast: ping answered, every one" bash -c \
  "\"$lab\" exec $ns ping -n -c 10 -i 0.05 192.0.2.2 | tee /dev/stderr | grep -q ' 10 received'"
check "after the blast: a TCP test runs" bash -c \
  "\"$lab\" exec $ns timeout 30 iperf3 -c 192.0.2.2 -t 1 | tee /dev/stderr | grep -q 'receiver'"
check "SIGTERM: clean exit, every buffer back in the pool" stop_clean

# --- the lease's end -------------------------------------------------------------
expired() {
  grep -q "dhcp4: lost $addr" "$work/dhcp.log" && counter_ge dhcp4_lost 1 && counter_ge tcp_aborted_address_lost 1 &&
    state_is "$dhcp_port" gone &&
    grep -q "192.0.2.1:$dhcp_port: aborted: $addr is no longer this host's" "$work/dhcp.log"
}
check "the lease expires unrenewed: the address goes, the connection is aborted (logged, counted)" \
  in_dhcp wait_for 150 expired
stop_nc "$dhcp_nc_pid"
check "SIGTERM: clean exit after the lease expired" in_dhcp stop_clean

echo "# $failures failed"
[ "$failures" -eq 0 ]
