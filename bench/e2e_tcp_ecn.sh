#!/usr/bin/env bash
# Lossless single-stream throughput with ECN (RFC 3168) off and on, both
# ways: Debian's iperf3 client in the lab namespace against ringstack's
# `--services iperf3` (192.0.2.2, over the TAP) and against the kernel's
# iperf3 -s (198.51.100.2, over a veth), in one run. The client's
# net.ipv4.tcp_ecn decides: 0 asks nothing, 1 asks, and both servers agree
# when asked (ringstack's --tcp-ecn passive default, the kernel's tcp_ecn=2).
# The modes alternate within each trial, so drift hits both alike; medians
# of TRIALS, and ECN-on over ECN-off per target and direction.
#
# usage: sudo bench/e2e_tcp_ecn.sh [BUILD_DIR] [SECONDS] [TRIALS]
#   SECONDS per iperf3 run (default 3), TRIALS (default 3). Prints a
#   Markdown table.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
seconds=${2:-3}
trials=${3:-3}
. "$root/bench/e2e_lab.sh"

ip netns exec "$peer" iperf3 -s -D -I "$work/iperf3-kernel.pid" >/dev/null
start_ringstack --services iperf3
pids+=("$(cat "$work/iperf3-kernel.pid")")

declare -A runs
for _ in $(seq "$trials"); do
  for ecn in 0 1; do
    ip netns exec "$ns" sysctl -qw "net.ipv4.tcp_ecn=$ecn"
    for target in 192.0.2.2 198.51.100.2; do
      runs[$target,in,$ecn]+=" $(gbits "$target")"
      runs[$target,out,$ecn]+=" $(gbits "$target" -R)"
    done
  done
done
ecn_connections=$(awk '$1 == "tcp_ecn_established" { print $2 }' <(kill -USR1 "$rs_pid"; sleep 0.5; cat "$work/counters"))

echo "| target | direction | ECN off (Gbit/s) | ECN on (Gbit/s) | on / off | runs off | runs on |"
echo "|---|---|---|---|---|---|---|"
for target in 192.0.2.2 198.51.100.2; do
  name=$([ "$target" = 192.0.2.2 ] && echo ringstack || echo "Linux (veth)")
  for dir in in out; do
    off=$(median <<<"${runs[$target,$dir,0]}")
    on=$(median <<<"${runs[$target,$dir,1]}")
    ratio=$(awk -v a="$on" -v b="$off" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
    label=$([ "$dir" = in ] && echo "client -> server" || echo "server -> client (-R)")
    echo "| $name | $label | $off | $on | $ratio |${runs[$target,$dir,0]} |${runs[$target,$dir,1]} |"
  done
done
echo
echo "ringstack's connections with ECN agreed: ${ecn_connections:-0} (asked on $((trials * 2 * 2)): each run's control and data connection)"
