#!/usr/bin/env bash
# Lab test: path MTU discovery against Linux. The lab namespace routes to a
# far namespace over a veth of MTU 1280 (IPv4 and IPv6), and the far host
# offers an MSS of a 1500-byte path (a route advmss), so ringstack's
# full-sized segments reach a narrower link one hop away: RFC 1191 (Don't
# Fragment on IPv4 TCP, the router's Fragmentation Needed) and RFC 8201
# (Packet Too Big) must lower ringstack's segment size. 20 MB each way
# through ringstack's echo, sha256-exact, and the far host reassembles no
# fragment. Then the router drops those ICMP errors (nftables): with
# --tcp-mtu-probing off nothing comes back (a black hole), with blackhole
# the transfer completes, and the time it took is printed; with on, probes
# raise the size again. TAP-style output.
#
# usage: tests/lab/pmtu_test.sh BUILD_DIR
set -uo pipefail
source "$(dirname "$0")/lab_lib.sh" "${1:-}"

sock=$work/console.sock

read -r ns tap < <("$lab" up) || exit 1
namespaces+=("$ns")
far=$("$lab" far "$ns") || exit 1
veth=$(ip -n "$ns" -o link show type veth | awk -F': ' '{ sub(/@.*/, "", $2); print $2; exit }')
ip -n "$ns" link set "$veth" mtu 1280
ip -n "$far" link set eth0 mtu 1280
ip -n "$far" route replace default via 198.51.100.1 advmss 1460
ip -n "$far" -6 route replace default via 2001:db8:2::1 advmss 1440

# start NAME ARGS...: the engine in $ns on $tap, echo on, both families
# routed through the lab namespace.
start() {
  local name=$1
  shift
  rm -f "$sock"
  "$lab" exec "$ns" "$bin" --tap "$tap" --mac 02:00:00:00:00:02 --console "$sock" --poll block \
    --ip4 192.0.2.2/24@192.0.2.1 --acd off --ip6 2001:db8:0:1::2/64 --gw6 2001:db8:0:1::1 --services echo \
    --counters-file "$work/$name.counters" "$@" 2>"$work/$name.log" &
  engine_pid=$!
  engine_name=$name
  pids+=("$engine_pid")
  # Up once the console answers and the IPv6 address has passed DAD.
  wait_for 10 grep -q "console on" "$work/$name.log" && wait_for 10 v6_preferred && return 0
  cat "$work/$name.log"
  return 1
}
v6_preferred() { c show addresses 2>/dev/null | grep -q '2001:db8:0:1::2/64 *preferred'; }

echo_from_far() {  # echo_from_far ADDR BYTES TIMEOUT_S: the far host through ringstack's echo
  "$lab" exec "$far" /usr/bin/python3 "$root/tests/lab/tcp_echo_check.py" "$1" 7 "$2" "$3"
}

reassembled() {  # reassembled V: the far host's IPv4 (4) or IPv6 (6) reassembly requests
  if [ "$1" = 4 ]; then
    "$lab" exec "$far" awk '/^Ip: [0-9]/ { print $15 }' /proc/net/snmp
  else
    "$lab" exec "$far" awk '$1 == "Ip6ReasmReqds" { print $2 }' /proc/net/snmp6
  fi
}
no_fragments() {  # no_fragments V
  local n
  n=$(reassembled "$1")
  echo "far host IPv$1 ReasmReqds = $n (want 0)"
  [ "$n" = 0 ]
}

# The path is real: Linux's own 1400-byte ping with DF set is refused by it.
path_narrow() {
  local out
  out=$("$lab" exec "$far" ping -n -c 1 -W 2 -M do -s 1372 198.51.100.1 2>&1)
  echo "$out"
  grep -qi "message too long\|mtu" <<<"$out"
}
check "the far host's path is 1280: a 1400-byte ping with DF is refused" path_narrow

# --- ICMP reports arrive ---------------------------------------------------------
# Two workers: a report reaches the control shard and is mailed to the
# connection's shard when another owns it.
check "engine starts (echo; IPv4 and IPv6 through the router namespace; two workers)" start icmp --workers 2
check "IPv4: the far host echoes 20 MB through ringstack across the 1280 link, sha256 equal" \
  echo_from_far 192.0.2.2 20000000 120
check "IPv4: the far host reassembled no fragment (ringstack's segments carried DF)" no_fragments 4
v4_counted() {
  counter_ge icmp4_rx_frag_needed 1 && counter_ge tcp_pmtu_lowered 1
}
check "IPv4: Fragmentation Needed counted and the segment size lowered (tcp_pmtu_lowered)" v4_counted
check "IPv6: the far host echoes 20 MB through ringstack across the 1280 link, sha256 equal" \
  echo_from_far 2001:db8:0:1::2 20000000 120
check "IPv6: the far host reassembled no fragment" no_fragments 6
v6_counted() {
  counter_ge icmp6_rx_packet_too_big 1 && counter_ge tcp_pmtu_lowered 2
}
check "IPv6: Packet Too Big counted and the segment size lowered" v6_counted
# A new connection starts at the size the cache holds: no new report needed.
cached_start() {
  local before after
  before=$(counter icmp4_rx_frag_needed)
  echo_from_far 192.0.2.2 2000000 60 || return 1
  after=$(counter icmp4_rx_frag_needed)
  echo "Fragmentation Needed before $before (want >= 1: the cache was filled), after $after (want equal)"
  [ "$before" -ge 1 ] && [ "$before" = "$after" ]
}
check "IPv4: a second connection starts at the cached path MTU (no new Fragmentation Needed)" cached_start
check "SIGTERM: clean exit" stop_clean

# --- a black hole: the router's ICMP errors dropped -------------------------------
nft_table="rs_pmtu_$$"
"$lab" exec "$ns" nft -f - <<EOF
table inet $nft_table {
  chain out {
    type filter hook output priority 0; policy accept;
    icmp type destination-unreachable icmp code frag-needed drop
    icmpv6 type packet-too-big drop
  }
}
EOF
check "engine starts with --tcp-mtu-probing off" start hole_off --tcp-mtu-probing off
hole_real() {  # nothing large gets through, and nothing says why
  ! echo_from_far 192.0.2.2 200000 5
}
check "the black hole is real: with probing off, 200 KB do not come back in 5 s" hole_real
check "SIGTERM: clean exit" stop_clean

check "engine starts with --tcp-mtu-probing blackhole" start hole --tcp-mtu-probing blackhole
timed_echo() {  # timed_echo ADDR: 20 MB each way, and the time it took
  local t0 t1
  t0=$(date +%s.%N)
  echo_from_far "$1" 20000000 120 || return 1
  t1=$(date +%s.%N)
  echo "through the black hole: $(python3 -c "print(f'{$t1 - $t0:.2f}')") s"
}
check "IPv4 through the black hole: 20 MB each way, sha256 equal" timed_echo 192.0.2.2
check "IPv6 through the black hole: 20 MB each way, sha256 equal" timed_echo 2001:db8:0:1::2
hole_counted() {
  grep "through the black hole" "$work/log"
  counter_ge tcp_mtu_blackholes 2
}
check "found by timeouts (tcp_mtu_blackholes), not by ICMP" hole_counted
check "SIGTERM: clean exit" stop_clean

# Probing on: after the black hole, single larger segments search back up
# (1024 works, 1459 is the ceiling: 1242 is lost on a 1240 path, then 1133,
# 1187, ... get through).
check "engine starts with --tcp-mtu-probing on" start probe --tcp-mtu-probing on
check "IPv4 through the black hole, probing: 20 MB each way, sha256 equal" timed_echo 192.0.2.2
check "IPv6 through the black hole, probing: 20 MB each way, sha256 equal" timed_echo 2001:db8:0:1::2
probes_counted() {
  local sent lost
  sent=$(counter tcp_mtu_probes)
  lost=$(counter tcp_mtu_probes_lost)
  echo "probes $sent, lost $lost (want some of each, and some acknowledged)"
  [ "$sent" -ge 3 ] && [ "$lost" -ge 1 ] && [ "$((sent - lost))" -ge 1 ]
}
check "probes sent, one lost (too large for the path), others acknowledged (the size rose)" probes_counted
check "SIGTERM: clean exit" stop_clean

echo "# $failures failed"
[ "$failures" -eq 0 ]
