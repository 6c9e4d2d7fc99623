#!/usr/bin/env bash
# End-to-end UDP, ringstack vs the Linux kernel, in the same run (issue #5's
# benchmark): request/response round trips per second to a UDP echo service,
# and datagrams per second one way into a discard service.
#
# Namespace A holds the kernel's side of a TAP with ringstack (192.0.2.2,
# --services echo,discard) on the other side, and one end of a veth pair to
# namespace B, where bench/udp_peer serves echo and counts discards on the
# kernel's own stack (198.51.100.2). The client (udp_peer, kernel sockets) runs
# in A against both. Bounded: COUNT datagrams per measurement. ringstack's
# non-zero drop counters are printed to stderr.
#
# usage: sudo [WORKERS=N] [POLL=MODE] bench/e2e_udp.sh [BUILD_DIR] [COUNT] [SIZE]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
count=${2:-20000}
size=${3:-64}
peer_bin=$build/bench/udp_peer
. "$root/bench/e2e_lab.sh"
start_ringstack --ipv6 off --services echo,discard --poll "${POLL:-block}" --workers "${WORKERS:-1}"
ip netns exec "$peer" "$peer_bin" echo 7 600 >/dev/null &
pids+=($!)
ip netns exec "$peer" "$peer_bin" sink 9 600 >"$work/sink" &
pids+=($!)
sink_pid=$!

client() { ip netns exec "$ns" "$peer_bin" "$@"; }
client rr 192.0.2.2 7 200 "$size" >/dev/null      # warm-up: ARP, caches
client rr 198.51.100.2 7 200 "$size" >/dev/null
read -r _ rs_rr _ rs_lost < <(client rr 192.0.2.2 7 "$count" "$size")
read -r _ k_rr _ k_lost < <(client rr 198.51.100.2 7 "$count" "$size")

delivered() {
  kill -USR1 "$rs_pid"
  sleep 0.3
  awk '$1 == "udp_rx_delivered" { print $2 }' "$work/counters"
}
before=$(delivered)
read -r _ rs_sent _ rs_secs < <(client blast 192.0.2.2 9 "$count" "$size")
sleep 0.5
after=$(delivered)
rs_got=$((after - before))
read -r _ k_sent _ k_secs < <(client blast 198.51.100.2 9 "$count" "$size")
sleep 0.5
kill -TERM "$sink_pid"
wait "$sink_pid" 2>/dev/null || true
k_got=$(awk '{ print $2 }' "$work/sink")

grep -E "drop|full" "$work/counters" | grep -v " 0$" >&2 || true
printf '%-34s %14s %14s\n' "($count x $size B)" "ringstack" "kernel"
printf '%-34s %14s %14s\n' "echo round trips/s (lost)" "$rs_rr ($rs_lost)" "$k_rr ($k_lost)"
awk -v a="$rs_got" -v s="$rs_secs" -v b="$k_got" -v t="$k_secs" -v n="$count" 'BEGIN {
  printf "%-34s %14.0f %14.0f\n", "one way: datagrams/s received", a / s, b / t
  printf "%-34s %13.1f%% %13.1f%%\n", "one way: share of sent received", 100 * a / n, 100 * b / n
}'
awk -v a="$rs_rr" -v b="$k_rr" 'BEGIN { printf "ratio kernel/ringstack (round trips/s): %.2f\n", b / a }'
