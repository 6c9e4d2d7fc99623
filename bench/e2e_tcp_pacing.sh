#!/usr/bin/env bash
# Lossless single-stream throughput with pacing off and on, both ways:
# Debian's iperf3 client in the lab namespace against ringstack's
# `--services iperf3` (192.0.2.2, over the TAP) started as CUBIC unpaced
# (the default), CUBIC with `--tcp-pacing on`, and `--tcp-cc bbr` (paced
# by its model), and against the kernel's iperf3 -s (198.51.100.2, over a
# veth) for scale. Pacing acts on what ringstack sends: the server ->
# client (-R) rows. The modes alternate within each trial, so drift hits
# them alike; medians of TRIALS, and each mode over unpaced CUBIC.
#
# usage: sudo bench/e2e_tcp_pacing.sh [BUILD_DIR] [SECONDS] [TRIALS]
#   SECONDS per iperf3 run (default 3), TRIALS (default 3). Prints a
#   Markdown table.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
seconds=${2:-3}
trials=${3:-3}
. "$root/bench/e2e_lab.sh"

ip netns exec "$peer" iperf3 -s -D -I "$work/iperf3-kernel.pid" >/dev/null
sleep 0.3
pids+=("$(cat "$work/iperf3-kernel.pid")")

modes=(cubic paced bbr)
declare -A flags=([cubic]="" [paced]="--tcp-pacing on" [bbr]="--tcp-cc bbr")
declare -A runs
for _ in $(seq "$trials"); do
  for mode in "${modes[@]}"; do
    # shellcheck disable=SC2086 # the flags are words
    start_ringstack --services iperf3 ${flags[$mode]}
    runs[$mode,in]+=" $(gbits 192.0.2.2)"
    runs[$mode,out]+=" $(gbits 192.0.2.2 -R)"
    stop_ringstack
  done
  runs[kernel,in]+=" $(gbits 198.51.100.2)"
  runs[kernel,out]+=" $(gbits 198.51.100.2 -R)"
done

echo "| target | direction | Gbit/s (median) | / unpaced CUBIC | runs |"
echo "|---|---|---|---|---|"
for dir in in out; do
  label=$([ "$dir" = in ] && echo "client -> server" || echo "server -> client (-R)")
  base=$(median <<<"${runs[cubic,$dir]}")
  for mode in "${modes[@]}" kernel; do
    m=$(median <<<"${runs[$mode,$dir]}")
    ratio=$(awk -v a="$m" -v b="$base" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
    name=$(case $mode in cubic) echo "ringstack CUBIC";; paced) echo "ringstack CUBIC, --tcp-pacing on";;
           bbr) echo "ringstack --tcp-cc bbr";; kernel) echo "Linux (veth), CUBIC";; esac)
    echo "| $name | $label | $m | $ratio |${runs[$mode,$dir]} |"
  done
done
