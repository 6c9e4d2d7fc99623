#!/usr/bin/env bash
# Lab test (issue #9): the console of an engine attached to a TAP in a fresh
# namespace, driven with ringstack-ctl against real Linux peers (ping, socat
# echo servers, nc); the pcap capture read back with tshark; the per-packet
# trace; several clients at once and random input. TAP-style output.
#
# usage: tests/lab/console_test.sh BUILD_DIR
set -uo pipefail
source "$(dirname "$0")/lab_lib.sh" "${1:-}"

sock=$work/console.sock

# start NAME ARGS...: the engine in $ns on $tap; waits for its console.
start() {
  local name=$1
  shift
  "$lab" exec "$ns" "$bin" --tap "$tap" --mac 02:00:00:00:00:02 --ip4 192.0.2.2/24 --ip6 2001:db8:0:1::2/64 \
    --acd off --poll block --counters-file "$work/$name.counters" "$@" 2>"$work/$name.log" &
  engine_pid=$!
  pids+=("$engine_pid")
  for _ in $(seq 50); do
    grep -q "console on" "$work/$name.log" 2>/dev/null && return 0
    kill -0 "$engine_pid" 2>/dev/null || break
    sleep 0.1
  done
  cat "$work/$name.log"
  return 1
}

json_ok() {  # json_ok CMD...: ringstack-ctl CMD --json exits 0 and prints JSON
  c "$@" --json | python3 -c 'import json, sys; json.load(sys.stdin)'
}

says() {  # says WANT_RC WANT_TEXT CMD...: ringstack-ctl's status and a line of its output
  local rc_want=$1 want=$2 out rc
  shift 2
  out=$(c "$@" 2>&1)
  rc=$?
  echo "rc=$rc: $out"
  [ "$rc" -eq "$rc_want" ] && grep -q -- "$want" <<<"$out"
}


read -r ns tap < <("$lab" up) || exit 1
namespaces+=("$ns")
linux_mac=$(ip -n "$ns" -br link show "$tap" | awk '{ print $3 }')
check "engine starts with --console PATH, --pcap and services" \
  start main --console "$sock" --pcap "$work/start.pcap" --services echo,discard --workers 2 --fuse on
pid=$engine_pid

# Some traffic for the caches and counters.
"$lab" exec "$ns" ping -n -q -c 5 -i 0.05 192.0.2.2 >/dev/null
"$lab" exec "$ns" ping -6 -n -q -c 3 -i 0.1 -w 10 2001:db8:0:1::2 >/dev/null

table_ok() {  # table_ok WHAT: status 0 and a first line that is a header of upper-case column names
  local out rc
  out=$(c show "$1" 2>&1)
  rc=$?
  echo "rc=$rc: $out"
  [ "$rc" -eq 0 ] && head -n 1 <<<"$out" | grep -qE '^[A-Z][A-Z0-9_]*( +[A-Z0-9_/%]+)* *$'
}
for show in interfaces addresses routes arp nd tcp udp counters rings pool reassembly threads; do
  check "show $show: a table, status 0" table_ok "$show"
  check "show $show --json parses" json_ok show "$show"
done
check "capture status --json and log level --json parse" bash -c "$(declare -f c json_ok); sock=$sock ctl=$ctl; json_ok capture status && json_ok log level"
check "show arp: Linux's address and MAC" says 0 "192.0.2.1 *$linux_mac *reachable" show arp
check "show nd: Linux's IPv6 neighbour" says 0 "2001:db8:0:1::1 *$linux_mac" show nd
check "show addresses: the static and link-local ones" \
  bash -c "$(declare -f c); sock=$sock ctl=$ctl; out=\$(c show addresses); echo \"\$out\"; grep -q '192.0.2.2/24 *preferred *static' <<<\"\$out\" && grep -q 'fe80::ff:fe00:2/64 .*link-local' <<<\"\$out\""
check "show routes: the on-link IPv4 net" says 0 "192.0.2.0/24 *on-link" show routes
check "show interfaces: up, frames both ways" says 0 "$tap  *02:00:00:00:00:02 *1500 *up" show interfaces
check "show threads: rx, w0, w1, timer, tx" \
  bash -c "$(declare -f c); sock=$sock ctl=$ctl; out=\$(c show threads); echo \"\$out\"; for s in rx w0 w1 timer tx; do grep -q \"^\$s \" <<<\"\$out\" || exit 1; done"
# --fuse on: rx, w0 and timer on one thread (one tid, rs-fused0), w1 on
# another, tx on its own; no rs-rx thread.
fused_threads_ok() {
  local out
  out=$(c show threads)
  echo "$out"
  [ "$(awk '$2 == "rs-fused0" { print $1 }' <<<"$out" | sort | tr '\n' ' ')" = "rx timer w0 " ] &&
    awk '$1 == "tx" && $2 == "rs-tx" { found = 1 } END { exit !found }' <<<"$out" &&
    [ "$(awk '$2 == "rs-fused0" { print $3 }' <<<"$out" | sort -u | wc -l)" -eq 1 ] &&
    awk '$1 == "w1" && $2 == "rs-fused1" { found = 1 } END { exit !found }' <<<"$out" &&
    [ "$(ps -L -o comm= -p "$pid" | grep -c '^rs-fused')" -eq 2 ] &&
    ! ps -L -o comm= -p "$pid" | grep -q '^rs-rx'
}
check "show threads --fuse on: rx, w0, timer on rs-fused0 (one tid), w1 on rs-fused1, tx on rs-tx" fused_threads_ok
check "show udp: the services' sockets" says 0 "0.0.0.0:9 " show udp
check "show tcp --listening: the services' listeners on each shard" says 0 "^0.0.0.0:7  *\*  *LISTEN  *1" show tcp --listening
check "show counters icmp4: only ICMPv4's" \
  bash -c "$(declare -f c); sock=$sock ctl=$ctl; out=\$(c show counters icmp4); echo \"\$out\"; grep -q icmp4_rx_echo_request <<<\"\$out\" && ! grep -q '^arp' <<<\"\$out\""
check "show counters --prometheus: samples per scope" says 0 'ringstack_icmp4_rx_echo_request_total{scope="w0"} 5' show counters --prometheus

# A live TCP connection from Linux to the echo service.
# (bash -c, not a subshell: a subshell would run the cleanup trap on exit.)
bash -c "sleep 8 | \"$lab\" exec $ns nc -q 1 192.0.2.2 7 >/dev/null" &
nc_pid=$!
tcp_live_ok() {
  local out
  out=$(c show tcp --json)
  echo "$out"
  python3 -c '
import json, sys
rows = json.loads(sys.argv[1])
est = [r for r in rows if r["state"] == "ESTABLISHED" and r["remote"].startswith("192.0.2.1:") and r["local"] == "192.0.2.2:7"]
assert len(est) == 1, rows
assert est[0]["cwnd"] > 0 and est[0]["rcv_wnd"] > 0 and est[0]["shard"] in (0, 1), est
' "$out"
}
check "show tcp: the connection from Linux, ESTABLISHED, with its shard, windows and cwnd" wait_for 8 tcp_live_ok
wait "$nc_pid"

# The console's own clients, against Linux.
"$lab" exec "$ns" socat TCP-LISTEN:7777,reuseaddr,fork EXEC:cat 2>/dev/null &
pids+=($!)
"$lab" exec "$ns" socat UDP-RECVFROM:7778,fork EXEC:cat 2>/dev/null &
pids+=($!)
socats_listen() {
  "$lab" exec "$ns" ss -Hltn 'sport = :7777' | grep -q . && "$lab" exec "$ns" ss -Hlun 'sport = :7778' | grep -q .
}
wait_for 10 socats_listen
check "ping 192.0.2.1 -c 3: 3 replies, status 0" says 0 "3 sent, 3 received" ping 192.0.2.1 -c 3 -i 100
check "ping -s 1400: large echoes" says 0 "1408 bytes from 192.0.2.1" ping 192.0.2.1 -c 2 -s 1400 -i 100
check "ping6 2001:db8:0:1::1: replies" says 0 "2 received" ping6 2001:db8:0:1::1 -c 2 -i 100
check "ping to nobody: status 1" says 1 "0 received" ping 192.0.2.99 -c 2 -i 100
check "tcp-echo to Linux (socat): the text back" says 0 "): hello from ringstack$" tcp-echo 192.0.2.1 7777 "hello from ringstack"
check "udp-echo to Linux (socat): the text back" says 0 "): datagram text$" udp-echo 192.0.2.1 7778 "datagram text"
check "tcp-echo to a closed port: refused, status 1" says 1 "Connection refused" tcp-echo 192.0.2.1 7779 x

# Errors: one line with a hint, status 2; the engine unaffected.
check "unknown command: a hint, status 2" says 2 "unknown command 'shwo'; did you mean 'show'" shwo arp
check "show what?: the choices" says 2 "show what? one of: interfaces" show tpc
check "bad argument: the usage" says 2 "usage: ping ADDR" ping nowhere
check "ping6 with an IPv4 address: refused" says 2 "ping6 takes an IPv6 address" ping6 192.0.2.1
check "no engine at the socket: status 3" bash -c "\"$ctl\" -s $work/none.sock show arp; [ \$? -eq 3 ]"

# Commands from stdin, several per connection.
check "commands from stdin: each answered" \
  bash -c "n=\$(printf 'show pool\nshow rings\nhelp\n' | \"$ctl\" -s $sock | tee /dev/stderr | grep -c '^CLASS\|^RING\|^show pool'); [ \"\$n\" -eq 3 ]"

# Several clients at once, one of them in a slow ping.
many_ok() {
  local rcs=() p
  c ping 192.0.2.1 -c 5 -i 200 >"$work/slowping" 2>&1 &
  local slow=$!
  for i in $(seq 12); do
    c show counters --json >"$work/many.$i" 2>&1 &
    rcs+=($!)
  done
  for p in "${rcs[@]}"; do wait "$p" || return 1; done
  for i in $(seq 12); do python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$work/many.$i" || return 1; done
  wait "$slow" && grep -q "5 received" "$work/slowping"
}
check "12 clients at once while another pings: all answered" many_ok

check "500 random lines over the socket: each answered, status 0/1/2" \
  python3 "$root/tests/lab/console_fuzz.py" "$sock" 500 "$RANDOM"
check "still serving after the random lines: Linux pings, show works" \
  bash -c "\"$lab\" exec $ns ping -n -q -c 20 -i 0.01 192.0.2.2 | grep -q ' 20 received' && $(declare -f c); sock=$sock ctl=$ctl; c show counters >/dev/null"

# Log levels and the per-packet trace, switched while running.
check "log level tcp=debug: TCP events in the log" bash -c \
  "$(declare -f c); sock=$sock ctl=$ctl; c log level tcp=debug | grep -q 'tcp  *debug' && echo hi | \"$lab\" exec $ns nc -q 1 192.0.2.2 7 && $(declare -f wait_for); wait_for 5 grep -q 'tcp 192.0.2.2:7 192.0.2.1:[0-9]*: established' $work/main.log"
check "log level console=debug icmp=debug: console commands and ICMP errors in the log" bash -c \
  "$(declare -f c); sock=$sock ctl=$ctl; c log level console=debug icmp=debug >/dev/null && c show pool >/dev/null && echo x | \"$lab\" exec $ns nc -u -w 1 192.0.2.2 4444; $(declare -f wait_for); wait_for 5 grep -q \"console: 'show pool'\" $work/main.log && wait_for 5 grep -q 'icmp4: unreachable (code 3) to 192.0.2.1' $work/main.log"
c log level info >/dev/null
# Counted from the lines already there: the random console lines above may
# have switched a trace on (and Linux's pings after them traced).
trace_ok() {
  c trace off >/dev/null
  local before n
  before=$(grep -c "ringstack: [RT]X .*icmp4 echo" "$work/main.log")
  c trace icmp4 | grep -q "trace: icmp4" || return 1
  "$lab" exec "$ns" ping -n -q -c 2 -i 0.1 192.0.2.2 >/dev/null
  traced() { [ "$(grep -c "ringstack: [RT]X .*icmp4 echo" "$work/main.log")" -ge $((before + 4)) ]; }
  wait_for 5 traced
  c trace off >/dev/null
  n=$(grep -c "ringstack: [RT]X .*icmp4 echo" "$work/main.log")
  # Replies back to ping mean the engine handled both pings' frames: any
  # trace line of theirs would be written by then.
  "$lab" exec "$ns" ping -n -q -c 2 -i 0.1 192.0.2.2 >/dev/null
  c show pool >/dev/null
  grep "ringstack: [RT]X .*icmp4 echo" "$work/main.log" | tail -n +$((before + 1))
  echo "trace lines: $before before, $((n - before)) while on, $(($(grep -c "ringstack: [RT]X .*icmp4 echo" "$work/main.log") - n)) after"
  tail -n +$((before + 1)) <(grep "ringstack: [RT]X .*icmp4 echo" "$work/main.log") |
    grep -q "RX .*192.0.2.1 > 192.0.2.2 .*icmp4 echo request" &&
    tail -n +$((before + 1)) <(grep "ringstack: [RT]X .*icmp4 echo" "$work/main.log") |
    grep -q "TX .*192.0.2.2 > 192.0.2.1 .*icmp4 echo reply" &&
    [ "$((n - before))" -eq 4 ] && [ "$(grep -c "ringstack: [RT]X .*icmp4 echo" "$work/main.log")" -eq "$n" ]
}
check "trace icmp4: one line per echo each way, none once off" trace_ok

# Capture from the console: the frames of the window, as tshark reads them.
# The window's own count (what `capture stop` says it wrote, none dropped)
# is exact; the RX+TX counters are read just outside the window, so they
# grow by at least as much (a frame such as Linux's neighbour probe can pass
# between a counter read and the window's edge: equality failed so under a
# loaded machine).
capture_window_ok() {
  local before after frames stopped written dropped
  before=$(( $(counter rx_frames) + $(counter tx_frames) ))
  c capture stop >/dev/null  # the --pcap one
  c capture start "$work/window.pcap" || return 1
  "$lab" exec "$ns" ping -n -q -c 20 -i 0.01 192.0.2.2 >/dev/null
  stopped=$(c capture stop) || return 1
  echo "$stopped"
  after=$(( $(counter rx_frames) + $(counter tx_frames) ))
  written=$(sed -n 's/.*stopped: \([0-9]*\) frames.*/\1/p' <<<"$stopped")
  dropped=$(sed -n 's/.* \([0-9]*\) dropped.*/\1/p' <<<"$stopped")
  frames=$(tshark -r "$work/window.pcap" 2>/dev/null | wc -l)
  echo "tshark: $frames frames; the capture: ${written:-?} written, ${dropped:-?} dropped; counters: $((after - before))"
  [ -n "$written" ] && [ "$frames" -eq "$written" ] && [ "$dropped" = 0 ] && [ "$((after - before))" -ge "$frames" ] &&
    [ "$(tshark -r "$work/window.pcap" -Y 'icmp.type == 8' 2>/dev/null | wc -l)" -eq 20 ] &&
    [ "$(tshark -r "$work/window.pcap" -Y 'icmp.type == 0' 2>/dev/null | wc -l)" -eq 20 ]
}
check "capture start/stop: tshark reads every frame the window wrote, none dropped, the pings all there" capture_window_ok
check "capture to an unwritable place: status 1, says why" says 1 "cannot write" capture start /proc/nope/x.pcap

# A second engine on the same console path is refused, with the reason.
second_console() {
  local out rc
  out=$(timeout 10 "$lab" exec "$ns" "$bin" --tap rsother0 --ip4 198.51.100.2/24 --acd off --console "$sock" 2>&1)
  rc=$?
  echo "rc=$rc: $out"
  [ "$rc" -eq 2 ] && tail -n 1 <<<"$out" | grep -q "error: --console: another ringstack serves a console at $sock"
}
check "second engine on a served console path: exit 2, says so" second_console

check_stop() {  # clean exit; the console socket removed; --pcap file = every frame counted
  kill -TERM "$pid"
  wait "$pid" || return 1
  [ ! -e "$sock" ] || return 1
  local rx tx frames
  rx=$(awk '$1 == "rx_frames" { print $2 }' "$work/main.counters")
  tx=$(awk '$1 == "tx_frames" { print $2 }' "$work/main.counters")
  grep -q "^pool_standard_in_use 0$" "$work/main.counters" || return 1
  # The --pcap capture ran from the start until 'capture stop': some of the
  # frames counted, each of them readable.
  frames=$(tshark -r "$work/start.pcap" 2>/dev/null | wc -l)
  echo "start.pcap: $frames frames; rx_frames ${rx:-none}, tx_frames ${tx:-none}"
  [ "${rx:-0}" -gt 0 ] && [ "${tx:-0}" -gt 0 ] && [ "$frames" -gt 0 ] && [ "$frames" -le $((rx + tx)) ]
}
check "SIGTERM: clean exit, console socket removed, counters and the --pcap capture agree" check_stop

# --pcap from the start to the exit: exactly the frames counted.
read -r ns tap < <("$lab" up) || exit 1
namespaces+=("$ns")
pcap_exit_ok() {
  start pcap --console "$work/p.sock" --pcap "$work/all.pcap" --services echo || return 1
  local p=$engine_pid
  "$lab" exec "$ns" ping -n -q -c 50 -i 0.01 192.0.2.2 >/dev/null
  head -c 200000 /dev/urandom | "$lab" exec "$ns" nc -q 1 192.0.2.2 7 >/dev/null
  kill -TERM "$p"
  wait "$p" || return 1
  local rx tx frames
  rx=$(awk '$1 == "rx_frames" { print $2 }' "$work/pcap.counters")
  tx=$(awk '$1 == "tx_frames" { print $2 }' "$work/pcap.counters")
  frames=$(tshark -r "$work/all.pcap" 2>/dev/null | wc -l)
  echo "tshark: $frames frames; rx_frames $rx + tx_frames $tx"
  # 100 frames are the pings; the 200 KB echo takes ~300 more, or ~50 with
  # --tap-offload (the default), whose frames carry up to 64 KiB.
  [ "$frames" -eq $((rx + tx)) ] && [ "$((rx + tx))" -gt 120 ] &&
    [ "$(tshark -r "$work/all.pcap" -Y 'tcp.flags.syn == 1' 2>/dev/null | wc -l)" -eq 2 ]
}
check "--pcap FILE: tshark counts exactly rx_frames + tx_frames at exit" pcap_exit_ok
check "--pcap to an unwritable place: exit 2, one line" exit2_says "--pcap: cannot write /proc/nope/x.pcap" \
  "$lab" exec "$ns" "$bin" --tap rsbad0 --ip4 192.0.2.9/24 --acd off --console off --pcap /proc/nope/x.pcap

# The default console path, found by ringstack-ctl -t TAP.
read -r ns tap < <("$lab" up --tap "rsctl$$") || exit 1
namespaces+=("$ns")
default_ok() {
  "$lab" exec "$ns" "$bin" --tap "$tap" --ip4 192.0.2.2/24 --acd off --poll block 2>"$work/default.log" &
  local p=$!
  pids+=("$p")
  for _ in $(seq 50); do grep -q "console on" "$work/default.log" && break; sleep 0.1; done
  cat "$work/default.log"
  "$ctl" -t "$tap" show interfaces | grep -q "^$tap " || return 1
  [ -S "/run/ringstack/$tap.sock" ] || return 1
  kill -TERM "$p"
  wait "$p"
  [ ! -e "/run/ringstack/$tap.sock" ]
}
check "default console /run/ringstack/TAP.sock; ringstack-ctl -t TAP finds it" default_ok

# Bad flags: one line, exit 2.
check "--trace with an unknown layer: exit 2" exit2_says "'ip5' is not a layer" "$bin" --tap rsx0 --trace ip5
check "--log-level with an unknown level: exit 2" exit2_says "'loud' is not a level" "$bin" --tap rsx0 --log-level tcp=loud
check "--pcap-size too small: exit 2" exit2_says "at least 64K" "$bin" --tap rsx0 --pcap-size 1K

[ "$failures" -eq 0 ]
