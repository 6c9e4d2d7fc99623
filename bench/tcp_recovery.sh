#!/usr/bin/env bash
# Loss recovery compared in simulation (issue #7's benchmark): the
# TcpRecoverySim test (tests/sim/tcp_recovery_sim_test.cc) with MB megabytes
# per transfer over a 100 Mbit/s, 20 ms RTT bottleneck under loss, bursts,
# reordering and tail drops, NewReno vs SACK + PRR vs RACK-TLP (CUBIC), in
# virtual time (the figures do not depend on this machine's load). Then
# cwnd over time from the per-connection traces (--tcp-trace):
#   bench/results/tcp-recovery-DATE.md       the table
#   bench/results/cwnd-recovery-DATE.png     loss 1%: each recovery, CUBIC
#   bench/results/cwnd-cc-DATE.png           loss 1%, RACK-TLP: CUBIC vs NewReno
#
# usage: bench/tcp_recovery.sh [BUILD_DIR] [MB]     (no root needed; gnuplot)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
mb=${2:-100}
date=$(date -u +%Y-%m-%d)
out=$root/bench/results
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"
ninja -C "$build" tests/tcp_sim_test >/dev/null

RS_RECOVERY_MB=$mb RS_RECOVERY_TABLE="$out/tcp-recovery-$date.md" RS_RECOVERY_TRACE="$work/cubic" \
  "$build/tests/tcp_sim_test" --gtest_filter='TcpRecoverySim.*' | grep '^|'
# NewReno congestion control on the 1% loss scenario only, for the second plot.
RS_RECOVERY_MB=$mb RS_RECOVERY_TRACE="$work/newreno" RS_RECOVERY_CC=newreno RS_RECOVERY_ONLY=loss-1pct \
  "$build/tests/tcp_sim_test" --gtest_filter='TcpRecoverySim.*' >/dev/null

# The sender's trace: A's connection (192.0.2.1, an ephemeral port) to B's 5001.
sender() { ls "$1"/tcp-192.0.2.1_*-192.0.2.2_5001.csv | head -n 1; }
plot() {  # plot PNG TITLE (FILE LABEL)...
  local png=$1 title=$2
  shift 2
  local cmd="set terminal pngcairo size 1200,500; set output '$png'; set datafile separator ',';"
  cmd+=" set title '$title'; set xlabel 'time (s, virtual; the first 20)'; set ylabel 'cwnd (KB)'; set key top right; set grid; set xrange [0:20];"
  cmd+=" plot"
  local sep=""
  while [ $# -gt 0 ]; do
    cmd+="$sep '$1' using 1:(\$2/1024) every ::1 with lines title '$2'"
    sep=","
    shift 2
  done
  gnuplot -e "$cmd"
}
plot "$out/cwnd-recovery-$date.png" "cwnd, ${mb} MB at 1% random loss (100 Mbit/s, 20 ms RTT), CUBIC" \
  "$(sender "$work/cubic/loss-1pct/newreno")" "NewReno recovery" \
  "$(sender "$work/cubic/loss-1pct/sack-prr")" "SACK + PRR" \
  "$(sender "$work/cubic/loss-1pct/rack-tlp")" "RACK-TLP + PRR"
plot "$out/cwnd-cc-$date.png" "cwnd, ${mb} MB at 1% random loss (100 Mbit/s, 20 ms RTT), RACK-TLP" \
  "$(sender "$work/cubic/loss-1pct/rack-tlp")" "CUBIC" \
  "$(sender "$work/newreno/loss-1pct/rack-tlp")" "NewReno"
echo "wrote $out/tcp-recovery-$date.md, $out/cwnd-recovery-$date.png, $out/cwnd-cc-$date.png"
