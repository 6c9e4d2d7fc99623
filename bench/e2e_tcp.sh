#!/usr/bin/env bash
# End-to-end TCP, ringstack vs the Linux kernel, in the same run (issue #6's
# benchmark): single-stream throughput Linux -> ringstack (into discard) and
# ringstack -> Linux (out of chargen), 1-byte request/response rate against
# echo, and connections per second (connect, one byte echoed, close).
#
# Namespace A holds the kernel's side of a TAP with ringstack (192.0.2.2,
# --services echo,discard,chargen) on the other side, and one end of a veth
# pair to namespace B, where bench/tcp_peer serves the same three on the
# kernel's own stack (198.51.100.2: discard 5009, echo 5010, source 5011).
# The clients (tcp_peer, kernel sockets) run in A against both. Bounded:
# BYTES per throughput run, COUNT per rate.
#
# usage: sudo [WORKERS=N] [POLL=MODE] bench/e2e_tcp.sh [BUILD_DIR] [BYTES] [COUNT]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
bytes=${2:-500000000}
count=${3:-5000}
peer_bin=$build/bench/tcp_peer
. "$root/bench/e2e_lab.sh"
start_ringstack --ipv6 off --services echo,discard,chargen --poll "${POLL:-block}" --workers "${WORKERS:-1}"
ip netns exec "$peer" "$peer_bin" serve 5009 900 &
pids+=($!)
sleep 0.5

client() { ip netns exec "$ns" "$peer_bin" "$@"; }
field() { awk -v k="$1" '{ for (i = 1; i < NF; ++i) if ($i == k) print $(i + 1) }'; }
client rr 192.0.2.2 7 100 >/dev/null      # warm-up: ARP, caches
client rr 198.51.100.2 5010 100 >/dev/null

rs_in=$(client push 192.0.2.2 9 "$bytes" | field mbit/s)
k_in=$(client push 198.51.100.2 5009 "$bytes" | field mbit/s)
rs_out=$(client pull 192.0.2.2 19 "$bytes" | field mbit/s)
k_out=$(client pull 198.51.100.2 5011 "$bytes" | field mbit/s)
rs_rr=$(client rr 192.0.2.2 7 "$count" | field rr/s)
k_rr=$(client rr 198.51.100.2 5010 "$count" | field rr/s)
rs_cps=$(client cps 192.0.2.2 7 "$count" | field conn/s)
k_cps=$(client cps 198.51.100.2 5010 "$count" | field conn/s)

kill -USR1 "$rs_pid"
sleep 0.5
grep -E "tcp_(retransmits|drop|syn_backlog)|rx_ring._full|pool_empty" "$work/counters" | grep -v " 0$" >&2 || true

printf '%-40s %12s %12s %8s\n' "(workers ${WORKERS:-1}, $bytes B, $count ops)" ringstack kernel ratio
row() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%-40s %12.0f %12.0f %8.2f\n", n, a, b, (b > 0 ? a / b : 0) }'; }
row "Linux -> stack, Mbit/s (discard)" "$rs_in" "$k_in"
row "stack -> Linux, Mbit/s (chargen)" "$rs_out" "$k_out"
row "1-byte request/response per second" "$rs_rr" "$k_rr"
row "connections per second" "$rs_cps" "$k_cps"
