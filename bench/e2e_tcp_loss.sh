#!/usr/bin/env bash
# Goodput under loss (issue #7's benchmark): the engine's impairment stage
# drops LOSS of the frames each way on ringstack's TAP, and the same link
# carries a transfer each way: ringstack sending to the Linux kernel (out of
# chargen: ringstack's recovery at work, the kernel receiving) and the
# kernel sending to ringstack (into discard: the kernel's recovery at work,
# ringstack receiving). Both senders meet the same loss rate; the receivers
# differ (Linux ACKs every second or third segment and delays the ACK of a
# lone one; ringstack ACKs every second and out-of-order data at once), so
# the ratio is not recovery alone. For ringstack's side each recovery
# (--tcp-recovery rack, sack; newreno up to 1%: it takes minutes past that)
# is measured. TRIALS runs per cell with different seeds; medians shown.
#
# usage: sudo [RS_ARGS="--tcp-rto-min 20"] bench/e2e_tcp_loss.sh [BUILD_DIR] [BYTES] [LOSSES] [TRIALS]
#   BYTES per transfer (default 20000000), LOSSES a space-separated list
#   (default "0 0.005 0.01 0.02 0.05"), TRIALS (default 3); RS_ARGS more
#   ringstack flags. Prints a Markdown table.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
bytes=${2:-20000000}
losses=${3:-0 0.005 0.01 0.02 0.05}
trials=${4:-3}
peer_bin=$build/bench/tcp_peer
. "$root/bench/e2e_lab.sh"

field() { awk -v k="$1" '{ for (i = 1; i < NF; ++i) if ($i == k) print $(i + 1) }'; }
# transfer pull|push PORT: Mbit/s, or 0 when it took over 120 s.
transfer() { timeout 120 ip netns exec "$ns" "$peer_bin" "$1" 192.0.2.2 "$2" "$bytes" | field mbit/s || echo 0; }

echo "| loss each way | ringstack -> Linux, rack (Mbit/s) | sack | newreno | Linux -> ringstack (Mbit/s) | rack / Linux |"
echo "|---|---|---|---|---|---|"
for loss in $losses; do
  declare -A runs=([rack]="" [sack]="" [newreno]="" [linux]="")
  for trial in $(seq "$trials"); do
    for rec in rack sack newreno; do
      if [ "$rec" = newreno ] && awk -v l="$loss" 'BEGIN { exit !(l > 0.01) }'; then continue; fi
      # shellcheck disable=SC2086  # RS_ARGS is a list of flags
      start_ringstack --ipv6 off --services chargen,discard --poll block --tcp-recovery "$rec" \
        --impair "loss=$loss,seed=$((17 + trial))" ${RS_ARGS:-}
      ip netns exec "$ns" ping -c 2 -i 0.2 -W 1 192.0.2.2 >/dev/null 2>&1 || true  # ARP
      runs[$rec]+=" $(transfer pull 19)"
      if [ "$rec" = rack ]; then runs[linux]+=" $(transfer push 9)"; fi
      stop_ringstack
    done
  done
  r=$(median <<<"${runs[rack]}") s=$(median <<<"${runs[sack]}") k=$(median <<<"${runs[linux]}")
  n=$([ -n "${runs[newreno]// /}" ] && median <<<"${runs[newreno]}" || echo "-")
  awk -v l="$loss" -v a="$r" -v s="$s" -v n="$n" -v k="$k" \
    'BEGIN { printf "| %g%% | %.0f | %.0f | %s | %.0f | %.2f |\n", l * 100, a, s, (n == "-" ? "-" : sprintf("%.0f", n)), k, (k > 0 ? a / k : 0) }'
done
