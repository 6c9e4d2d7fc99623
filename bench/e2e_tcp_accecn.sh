#!/usr/bin/env bash
# Lossless single-stream throughput with Accurate ECN (RFC 9768) off and on,
# ringstack to ringstack: Linux 6.18 has no switch for AccECN, so both ends
# are engines, A on the lab TAP (192.0.2.3) and B on a second TAP in the
# namespace (198.51.100.2), the kernel routing between them. A's --iperf3
# client runs against B's --services iperf3 with --tcp-ecn off, then
# accecn, at both engines (no CE marks on the path: the cost of the field,
# the option and the counting). The modes alternate within each trial;
# medians of TRIALS.
#
# usage: sudo bench/e2e_tcp_accecn.sh [BUILD_DIR] [SECONDS] [TRIALS]
#   SECONDS per iperf3 run (default 3), TRIALS (default 3). Prints a
#   Markdown table.
set -euo pipefail
[ "$(id -u)" -eq 0 ] || { echo "$(basename "$0"): run as root" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
seconds=${2:-3}
trials=${3:-3}
lab=$root/scripts/lab
bin=$build/engine/ringstack
read -r ns tap < <("$lab" up)
work=$(mktemp -d)
b_pid=""
cleanup() {
  [ -n "$b_pid" ] && { kill -TERM "$b_pid" 2>/dev/null || true; wait "$b_pid" 2>/dev/null || true; }
  "$lab" down "$ns"
  rm -rf "$work"
}
trap cleanup EXIT INT TERM
ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1
ip netns exec "$ns" ip tuntap add dev rsacc mode tap
ip netns exec "$ns" ip addr add 198.51.100.1/24 dev rsacc
ip netns exec "$ns" ip link set rsacc up

# gbits MODE: one run, the receiver's Gbit/s (0 when it failed).
gbits() {
  ip netns exec "$ns" "$bin" --tap rsacc --mac 02:00:00:00:00:05 --ip4 198.51.100.2/24@198.51.100.1 --acd off \
    --ipv6 off --tcp-ecn "$1" --services iperf3 --console off 2>"$work/b.log" &
  b_pid=$!
  for _ in $(seq 50); do grep -q "up on" "$work/b.log" && break; sleep 0.1; done
  sleep 0.3
  timeout $((seconds + 30)) ip netns exec "$ns" "$bin" --tap "$tap" --mac 02:00:00:00:00:03 \
    --ip4 192.0.2.3/24@192.0.2.1 --acd off --ipv6 off --tcp-ecn "$1" --console off \
    --counters-file "$work/a-$1.counters" --iperf3 "198.51.100.2 -t $seconds" 2>&1 |
    awk '/receiver/ { v = $(NF - 2); u = $(NF - 1) } END { if (u == "Mbits/sec") v /= 1000; print v + 0 }'
  kill -TERM "$b_pid"
  wait "$b_pid" 2>/dev/null || true
  b_pid=""
}
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { print (NR ? v[int((NR + 1) / 2)] : 0) }'; }

declare -A runs
for _ in $(seq "$trials"); do
  for mode in off accecn; do runs[$mode]+=" $(gbits "$mode")"; done
done
off=$(median <<<"${runs[off]}")
on=$(median <<<"${runs[accecn]}")
echo "| A -> B | AccECN off (Gbit/s) | AccECN on (Gbit/s) | on / off | runs off | runs on |"
echo "|---|---|---|---|---|---|"
printf '| ringstack -> ringstack | %s | %s | %.2f |%s |%s |\n' "$off" "$on" "$(python3 -c "print($on / $off if $off else 0)")" \
  "${runs[off]}" "${runs[accecn]}"
echo
echo "A's connections with AccECN agreed: $(awk '$1 == "tcp_accecn_established" { print $2 }' "$work/a-accecn.counters")" \
  "(the last run's: its control and data connection)"
