#!/usr/bin/env bash
# Lab test (issue #8): iperf3 between ringstack and Debian's iperf3 3.12,
# both ways. Linux's iperf3 client against `--services iperf3` (TCP, -R,
# -P 4, --bidir, UDP each way, IPv6, a second client while busy, broken
# clients, JSON results read by Python), then ringstack's own client
# (`--iperf3`) against Linux's `iperf3 -s` in the same modes. Each test runs
# 2 s; the figures are checked loosely (this is interoperability, not the
# benchmark: scripts/bench is). TAP-style output.
#
# usage: tests/lab/iperf3_test.sh BUILD_DIR
set -uo pipefail
source "$(dirname "$0")/lab_lib.sh" "${1:-}"

sock=$work/console.sock
says_usage() {
  local out rc
  out=$(c iperf3 192.0.2.1 -P 500 2>&1)
  rc=$?
  echo "rc=$rc: $out"
  [ "$rc" -eq 2 ] && grep -q -- "-P" <<<"$out"
}

read -r ns tap < <("$lab" up) || exit 1
namespaces+=("$ns")

# Linux's iperf3 server, for ringstack's client (the console's, then --iperf3).
"$lab" exec "$ns" iperf3 -s -D -I "$work/iperf3s.pid" --logfile "$work/iperf3s.log"
wait_for 10 test -s "$work/iperf3s.pid"
pids+=("$(cat "$work/iperf3s.pid")")
iperf3s_listens() { "$lab" exec "$ns" ss -Hltn 'sport = :5201' | grep -q .; }
wait_for 10 iperf3s_listens

# The floors are shares of the kernel's own figure, measured here in this
# run: Linux to Linux over a veth pair between two namespaces of this run,
# one TCP stream for 2 s, the median of three. ringstack does 0.5-1.2x of
# it (bench/README.md); a quarter catches a regression without failing on a
# loaded machine. The kernel is measured again next to the checks of
# ringstack's own client, at the end: a load beside the run changes over its
# minutes (a figure taken when the machine was quieter failed an inbound
# check by 0.1%).
# The namespaces are made here, in the script's own shell, so its cleanup
# removes them (kernel_mbps runs in a command substitution's subshell).
extra_netns+=("rs-k$$-a" "rs-k$$-b")
kernel_veth() {
  local a=rs-k$$-a b=rs-k$$-b
  ip netns add "$a" && ip netns add "$b" || return 1
  ip link add "vk$$a" netns "$a" type veth peer name "vk$$b" netns "$b" || return 1
  ip -n "$a" addr add 198.51.100.1/24 dev "vk$$a" && ip -n "$b" addr add 198.51.100.2/24 dev "vk$$b" || return 1
  ip -n "$a" link set "vk$$a" up && ip -n "$b" link set "vk$$b" up
}
kernel_run() {  # kernel_run N: one 2 s stream, its Mbit/s
  local a=rs-k$$-a b=rs-k$$-b
  rm -f "$work/kernel_s.pid"
  ip netns exec "$b" iperf3 -s -1 -D -I "$work/kernel_s.pid" --logfile "$work/kernel_s.log" || return 1
  listens() { ip netns exec "$b" ss -Hltn 'sport = :5201' | grep -q .; }
  wait_for 10 listens || return 1
  ip netns exec "$a" timeout 30 iperf3 -J -t 2 -c 198.51.100.2 >"$work/kernel$1.json" 2>&1 || return 1
  gone() { ! ip netns exec "$b" ss -Hltn 'sport = :5201' | grep -q .; }
  wait_for 10 gone
  python3 -c 'import json, sys; print(int(json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"] / 1e6))' \
    "$work/kernel$1.json"
}
kernel_mbps() {  # the median of three runs (one 2 s run swung 11.5-20.5 Gbit/s within a CI run)
  local runs=() i v
  for i in 1 2 3; do
    v=$(kernel_run "$i") || return 1
    runs+=("$v")
  done
  printf '%s\n' "${runs[@]}" | sort -n | sed -n 2p
}
kernel_veth || { echo "not ok - a veth pair for the kernel's own figure"; exit 1; }
kernel=$(kernel_mbps) || { echo "not ok - the kernel's own iperf3 figure over veth (see $work/kernel*.json)"; exit 1; }
echo "# the kernel over veth: $kernel Mbit/s (one stream, the median of three)"
floor=$((kernel / 4))    # single streams and -P: a quarter of the kernel's stream
floor_bidir=$((kernel / 10))  # each way of --bidir shares the CPUs with the other

# ------------------------------------------------- Linux's client, our server
"$lab" exec "$ns" "$bin" --tap "$tap" --mac 02:00:00:00:00:02 --ip4 192.0.2.2/24 --ip6 2001:db8:0:1::2/64 \
  --acd off --poll block --workers 2 --services iperf3 --console "$sock" --counters-file "$work/server.counters" \
  2>"$work/server.log" &
server_pid=$!
pids+=("$server_pid")
up() {
  for _ in $(seq 50); do
    grep -q "console on" "$work/server.log" && "$lab" exec "$ns" ping -6 -c 1 -W 1 2001:db8:0:1::2 >/dev/null 2>&1 &&
      return 0
    sleep 0.2
  done
  cat "$work/server.log"
  return 1
}
check "engine starts with --services iperf3" up

# iperf_ok NAME MIN_MBPS ARGS...: Linux's iperf3 -J against ringstack, no
# error, and every direction that carried data at MIN_MBPS or more.
iperf_ok() {
  local name=$1 min=$2
  shift 2
  "$lab" exec "$ns" timeout 30 iperf3 -J -t 2 "$@" >"$work/$name.json" 2>&1
  python3 - "$work/$name.json" "$min" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
if "error" in r:
    sys.exit("iperf3 error: " + r["error"])
end, want = r["end"], float(sys.argv[2])
udp = r["start"]["test_start"]["protocol"] == "UDP"
for key in ("sum_received", "sum_received_bidir_reverse", "sum"):
    if key in end and (key != "sum" or udp):
        bps = end[key]["bits_per_second"] / 1e6
        lost = end[key].get("lost_percent", 0)
        print(f"{key}: {bps:.0f} Mbit/s, lost {lost:.2f}%")
        if bps < want:
            sys.exit(f"{key} {bps:.1f} Mbit/s < {want}")
        if udp and lost > 1:
            sys.exit(f"{key} lost {lost}%")
print("streams:", len(end["streams"]))
EOF
}
check "TCP, Linux -> ringstack: >= 0.25x the kernel's $kernel Mbit/s" iperf_ok tcp "$floor" -c 192.0.2.2
check "TCP -R, ringstack -> Linux: >= 0.25x the kernel" iperf_ok tcp_r "$floor" -c 192.0.2.2 -R
check "TCP -P 4: four streams, >= 0.25x the kernel's one" \
  bash -c "$(declare -f iperf_ok); work=$work lab=$lab ns=$ns; out=\$(iperf_ok tcp_p4 $floor -c 192.0.2.2 -P 4) || exit 1; echo \"\$out\"; grep -q 'streams: 4' <<<\"\$out\""
check "TCP --bidir: both ways at once, each >= 0.1x the kernel's stream" iperf_ok tcp_bidir "$floor_bidir" -c 192.0.2.2 --bidir
check "UDP -b 50M, Linux -> ringstack, under 1% lost" iperf_ok udp 45 -c 192.0.2.2 -u -b 50M
# -w 1M: Linux's iperf3 client first reads its UDP socket some 40 ms after
# TEST_RUNNING; the default buffer (212 KB) holds 34 ms of 50 Mbit/s.
check "UDP -R -b 50M, ringstack -> Linux, under 1% lost" iperf_ok udp_r 45 -c 192.0.2.2 -u -b 50M -R -w 1M
check "IPv6, -P 2 -R: >= 0.25x the kernel" iperf_ok tcp6 "$floor" -c 2001:db8:0:1::2 -P 2 -R
check "UDP over IPv6 --bidir" iperf_ok udp6 9 -c 2001:db8:0:1::2 -u -b 10M --bidir

busy() {
  # --forceflush: its lines reach the file as they are printed.
  "$lab" exec "$ns" timeout 30 iperf3 --forceflush -c 192.0.2.2 -t 4 >"$work/first.txt" 2>&1 &
  local first=$!
  # Its data stream connected: the server is running its test.
  wait_for 10 grep -q 'connected to 192.0.2.2' "$work/first.txt" || return 1
  local out
  out=$("$lab" exec "$ns" timeout 10 iperf3 -c 192.0.2.2 -t 1 2>&1)
  echo "second: $out"
  wait "$first"
  local rc=$?
  tail -n 3 "$work/first.txt"
  grep -q "the server is busy" <<<"$out" && [ "$rc" -eq 0 ] && grep -q "iperf Done" "$work/first.txt"
}
check "a second client while a test runs is told the server is busy; the first completes" busy

broken() {
  # A cookie, then parameters that are no JSON: SERVER_ERROR (0xfe) comes back.
  "$lab" exec "$ns" /usr/bin/python3 - <<'EOF'
import socket, struct, sys
s = socket.create_connection(("192.0.2.2", 5201), timeout=5)
s.sendall(b"a" * 36 + b"\0")
assert s.recv(1) == b"\x09", "no PARAM_EXCHANGE"
s.sendall(struct.pack("!I", 9) + b"{\"tcp\":tr")
got = s.recv(16)
print("answer:", got)
assert got[:1] == b"\xfe", got
# Not iperf3 at all: closed without a word.
t = socket.create_connection(("192.0.2.2", 5201), timeout=5)
t.sendall(b"GET / HTTP/1.0\r\n\r\n" + b"x" * 19)
assert t.recv(16) == b"", "answered garbage"
# Cookie, then silence, then gone: the server is free again at once.
u = socket.create_connection(("192.0.2.2", 5201), timeout=5)
u.sendall(b"b" * 36 + b"\0")
assert u.recv(1) == b"\x09"
u.close()
EOF
}
check "broken clients: bad parameters answered with SERVER_ERROR, garbage closed" broken
check "the server then runs a test" iperf_ok tcp_after "$floor" -c 192.0.2.2
check "the server's log: tests done and ended, intervals" \
  bash -c "n=\$(grep -c 'iperf3: test [0-9]* done' $work/server.log); echo \"\$n tests done\"; [ \"\$n\" -ge 9 ] && grep -q 'ended: bad parameters' $work/server.log && grep -q 'iperf3: \[SUM\]   1.00-2.00   sec' $work/server.log"

console_client() {
  local out rc
  out=$(c iperf3 192.0.2.1 -t 1 -P 2)
  rc=$?
  echo "rc=$rc"
  echo "$out" | tail -n 4
  [ "$rc" -eq 0 ] && grep -q "SUM.*receiver" <<<"$out" && grep -q "0.00-1.00" <<<"$out"
}
check "the console's iperf3 against Linux's server" console_client
check "the console's iperf3 with bad arguments: status 2 and why" says_usage
no_leftovers() {
  c show tcp --json | python3 -c '
import json, sys
rows = [r for r in json.load(sys.stdin) if r["state"] not in ("TIME-WAIT",)]
print(rows)
sys.exit(1 if rows else 0)'
}
check "no iperf3 connection left but TIME-WAIT" no_leftovers

# With TAP offload (the default) the kernel vouches only for what it built:
# a frame with a bad TCP or UDP checksum, written to the TAP by a raw socket
# (no offload metadata), is still checked and dropped.
bad_checksums() {
  "$lab" exec "$ns" /usr/bin/python3 - "$tap" <<'EOF2'
import sys
from scapy.all import Ether, IP, TCP, UDP, Raw, sendp, conf
conf.verb = 0
eth = Ether(dst="02:00:00:00:00:02")
sendp([eth / IP(src="192.0.2.1", dst="192.0.2.2") / TCP(sport=40001, dport=5201, flags="S", chksum=0x1234),
       eth / IP(src="192.0.2.1", dst="192.0.2.2") / UDP(sport=40001, dport=5201, chksum=0x1234) / Raw(b"x" * 20)],
      iface=sys.argv[1])
EOF2
  both_counted() {
    c show counters >"$work/bad.counters" &&
      counter_at_least "$work/bad.counters" tcp_drop_bad_checksum 1 &&
      counter_at_least "$work/bad.counters" udp_drop_bad_checksum 1
  }
  wait_for 5 both_counted
}
check "offload on: bad TCP and UDP checksums from outside the kernel's stack still dropped" bad_checksums
kill -TERM "$server_pid"
wait "$server_pid"
check "the server stops cleanly, every buffer back" \
  bash -c "tail -n 3 $work/server.log; grep -q 'stopped cleanly' $work/server.log && grep -q '^pool_standard_in_use 0$' $work/server.counters && grep -q '^pool_large_in_use 0$' $work/server.counters"
# The tests above ran over the offload path: super-frames both ways, the
# kernel's checksums trusted and none of ours wrong, no header refused.
offload_used() {
  local f=$work/server.counters
  counter_at_least "$f" rx_gso_frames 100 && counter_at_least "$f" tx_gso_frames 100 &&
    counter_at_least "$f" tcp_tx_tso 100 && counter_at_least "$f" rx_csum_trusted 100 &&
    ! grep -E "^rx_vnet_drop_[a-z_]+ [1-9]" "$f" && grep "^tcp_drop_bad_checksum 1$" "$f" &&
    grep "^udp_drop_bad_checksum 1$" "$f"
}
check "TAP offload at work: super-frames each way, kernel checksums trusted, nothing refused" offload_used

# And without offload: one wire frame per read and write, checksums ours.
"$lab" exec "$ns" "$bin" --tap "$tap" --tap-offload off --mac 02:00:00:00:00:02 --ip4 192.0.2.2/24 \
  --acd off --ipv6 off --poll block --services iperf3 --console off --counters-file "$work/plain.counters" \
  2>"$work/plain.log" &
plain_pid=$!
pids+=("$plain_pid")
plain_up() {
  for _ in $(seq 50); do
    "$lab" exec "$ns" ping -c 1 -W 1 192.0.2.2 >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  cat "$work/plain.log"
  return 1
}
check "--tap-offload off: engine starts" plain_up
# Without offload every segment is a frame through the TAP, and a read or
# write each: ringstack did 0.07-0.08x of the kernel's (offloaded) stream
# here with a build running beside it; the floor is a third of that.
check "--tap-offload off: TCP, Linux -> ringstack, >= 0.025x the kernel" iperf_ok plain $((kernel / 40)) -c 192.0.2.2 -t 1
check "--tap-offload off: TCP -R, ringstack -> Linux, >= 0.025x the kernel" iperf_ok plain_r $((kernel / 40)) -c 192.0.2.2 -t 1 -R
kill -TERM "$plain_pid"
wait "$plain_pid"
check "--tap-offload off: no offload counters, a clean stop" \
  bash -c "grep -q 'stopped cleanly' $work/plain.log && ! grep -qE '^(rx_gso_frames|tx_gso_frames|tcp_tx_tso) [1-9]' $work/plain.counters"

# ------------------------------------------------- our client, Linux's server

# client NAME ARGS: ringstack --iperf3 "ARGS" exits 0; its summary lines in NAME.log
client() {
  local name=$1
  shift
  timeout 40 "$lab" exec "$ns" "$bin" --tap "$tap" --mac 02:00:00:00:00:02 --ip4 192.0.2.2/24 \
    --ip6 2001:db8:0:1::2/64 --acd off --poll block --console off --iperf3 "$*" 2>"$work/$name.log"
  local rc=$?
  grep -E "sender|receiver|UDP:|error" "$work/$name.log"
  [ "$rc" -eq 0 ]
}
# mbps_at_least NAME MIN: every "receiver" summary line of NAME at MIN Mbit/s or more
mbps_at_least() {
  grep 'receiver$' "$work/$1.log" | awk -v min="$2" '
    { for (i = 1; i <= NF; i++) if ($i ~ /bits\/sec/) { v = $(i - 1); u = $i } 
      m = u == "Gbits/sec" ? v * 1000 : u == "Mbits/sec" ? v : u == "Kbits/sec" ? v / 1000 : 0
      print m " Mbit/s"; if (m < min) bad = 1; n++ }
    END { exit (bad || n == 0) }'
}
# The kernel again, next to these checks (see kernel_mbps above).
gone() { ! ip netns exec "rs-k$$-b" ss -Hltn 'sport = :5201' | grep -q .; }
wait_for 10 gone
kernel=$(kernel_mbps) || { echo "not ok - the kernel's own iperf3 figure over veth, again (see $work/kernel*.json)"; exit 1; }
echo "# the kernel over veth, again: $kernel Mbit/s (one stream, the median of three)"
floor=$((kernel / 4))
check "ringstack -> Linux, TCP" bash -c "$(declare -f client mbps_at_least); work=$work lab=$lab ns=$ns tap=$tap bin=$bin; client c_tcp 192.0.2.1 -t 2 && mbps_at_least c_tcp $floor"
check "Linux -> ringstack, TCP -R" bash -c "$(declare -f client mbps_at_least); work=$work lab=$lab ns=$ns tap=$tap bin=$bin; client c_tcp_r 192.0.2.1 -t 2 -R && mbps_at_least c_tcp_r $floor"
check "TCP -P 2 --bidir" bash -c "$(declare -f client mbps_at_least); work=$work lab=$lab ns=$ns tap=$tap bin=$bin; client c_bidir 192.0.2.1 -t 2 -P 2 --bidir && mbps_at_least c_bidir $((floor_bidir / 2))"
check "UDP -b 50M each way, nothing lost" bash -c "$(declare -f client); work=$work lab=$lab ns=$ns tap=$tap bin=$bin; client c_udp 192.0.2.1 -t 2 -u -b 50M && grep -q 'lost 0 of' $work/c_udp.log && client c_udp_r 192.0.2.1 -t 2 -u -b 50M -R && grep -q 'lost 0 of' $work/c_udp_r.log"
check "IPv6, TCP" bash -c "$(declare -f client mbps_at_least); work=$work lab=$lab ns=$ns tap=$tap bin=$bin; client c_tcp6 2001:db8:0:1::1 -t 2 && mbps_at_least c_tcp6 $floor"
# Each of ringstack's client tests above (c_tcp, c_tcp_r, c_bidir, c_udp, c_udp_r, c_tcp6) ended with a
# receiver summary on Linux's server, and none with an error.
check "Linux's server saw the tests end well" bash -c "tail -n 5 $work/iperf3s.log; n=\$(grep -c 'receiver\$' $work/iperf3s.log); echo \"\$n receiver summaries\"; [ \"\$n\" -ge 6 ] && ! grep -qi 'error' $work/iperf3s.log"
no_server() {
  timeout 40 "$lab" exec "$ns" "$bin" --tap "$tap" --ip4 192.0.2.2/24 --acd off --ipv6 off --console off \
    --iperf3 "192.0.2.1 -p 5999 -t 1" 2>"$work/c_none.log"
  local rc=$?
  tail -n 2 "$work/c_none.log"
  [ "$rc" -eq 1 ] && grep -q "cannot connect to 192.0.2.1 port 5999" "$work/c_none.log"
}
check "no server on the port: exit 1, why" no_server
check "bad --iperf3 arguments: exit 2 and one line" exit2_says "--iperf3: -R and --bidir exclude each other" \
  "$bin" --tap "$tap" --ip4 192.0.2.2/24 --iperf3 "192.0.2.1 -R --bidir"

echo "# $failures failed"
[ "$failures" -eq 0 ]
