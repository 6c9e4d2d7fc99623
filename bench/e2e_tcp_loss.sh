#!/usr/bin/env bash
# Goodput under loss (issue #7's benchmark): the engine's impairment stage
# drops LOSS of the frames each way on ringstack's TAP, and the same link
# carries a transfer each way: ringstack sending to the Linux kernel (out of
# chargen: ringstack's recovery at work, the kernel receiving) and the
# kernel sending to ringstack (into discard: the kernel's recovery at work,
# ringstack receiving). Both senders meet the same losses, so the ratio
# compares loss recovery and congestion control. For ringstack's sending
# side each recovery (--tcp-recovery rack, sack, newreno) is measured.
#
# usage: sudo bench/e2e_tcp_loss.sh [BUILD_DIR] [BYTES] [LOSSES]
#   BYTES per transfer (default 20000000), LOSSES a space-separated list
#   (default "0 0.005 0.01 0.02 0.05"). Prints a Markdown table.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
bytes=${2:-20000000}
losses=${3:-0 0.005 0.01 0.02 0.05}
peer_bin=$build/bench/tcp_peer
. "$root/bench/e2e_lab.sh"

client() { timeout 300 ip netns exec "$ns" "$peer_bin" "$@"; }
field() { awk -v k="$1" '{ for (i = 1; i < NF; ++i) if ($i == k) print $(i + 1) }'; }
stop_ringstack() {
  kill -TERM "$rs_pid" 2>/dev/null || true
  wait "$rs_pid" 2>/dev/null || true
}

echo "| loss each way | ringstack -> Linux, rack (Mbit/s) | sack | newreno | Linux -> ringstack (Mbit/s) | rack / Linux |"
echo "|---|---|---|---|---|---|"
for loss in $losses; do
  declare -A out=()
  for rec in rack sack newreno; do
    start_ringstack --ipv6 off --services chargen,discard --poll block --tcp-recovery "$rec" \
      --impair "loss=$loss,seed=17"
    ip netns exec "$ns" ping -c 2 -i 0.2 -W 1 192.0.2.2 >/dev/null 2>&1 || true  # ARP
    out[$rec]=$(client pull 192.0.2.2 19 "$bytes" | field mbit/s || echo 0)
    if [ "$rec" = rack ]; then
      k_in=$(client push 192.0.2.2 9 "$bytes" | field mbit/s || echo 0)
    fi
    stop_ringstack
  done
  awk -v l="$loss" -v a="${out[rack]:-0}" -v s="${out[sack]:-0}" -v n="${out[newreno]:-0}" -v k="${k_in:-0}" \
    'BEGIN { printf "| %g%% | %.1f | %.1f | %.1f | %.1f | %.2f |\n", l * 100, a, s, n, k, (k > 0 ? a / k : 0) }'
done
