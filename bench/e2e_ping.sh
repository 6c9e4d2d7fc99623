#!/usr/bin/env bash
# End-to-end echo latency, ringstack vs the Linux kernel, in the same run.
#
# Namespace A holds the kernel's side of a TAP (192.0.2.1) with ringstack on
# the other side (192.0.2.2), and one end of a veth pair (198.51.100.1) whose
# other end sits in namespace B, where the kernel answers (198.51.100.2).
# A flood ping (-f) from A to each target gives the round trip through
# ringstack and through a kernel peer; the ratio is what to read, since both
# share this machine's noise. Bounded: COUNT pings per target (default 20000).
# SIZE=N sets the ping payload (default 56; over 1472 the echoes go
# fragmented both ways, through reassembly and fragmentation).
#
# usage: sudo [SIZE=N] [POLL=MODE] bench/e2e_ping.sh [BUILD_DIR] [COUNT]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
count=${2:-20000}
size=${SIZE:-56}
. "$root/bench/e2e_lab.sh"
start_ringstack --poll "${POLL:-block}"

flood() {  # flood ADDR -> "avg_ms total_ms"
  ip netns exec "$ns" ping -n -q -f -s "$size" -c 1000 "$1" >/dev/null  # warm-up: ARP, caches
  local out
  out=$(ip netns exec "$ns" ping -n -q -f -s "$size" -c "$count" "$1")
  local loss avg total
  loss=$(sed -n 's/.* \([0-9.]*\)% packet loss.*/\1/p' <<<"$out")
  total=$(sed -n 's/.*time \([0-9]*\)ms.*/\1/p' <<<"$out")
  avg=$(sed -n 's|rtt min/avg/max/mdev = [0-9.]*/\([0-9.]*\)/.*|\1|p' <<<"$out")
  echo "$avg $total $loss"
}

read -r rs_avg rs_total rs_loss < <(flood 192.0.2.2)
read -r k_avg k_total k_loss < <(flood 198.51.100.2)
printf '%-28s %10s %12s %8s\n' "target ($count x $size B)" "avg rtt ms" "total ms" "loss %"
printf '%-28s %10s %12s %8s\n' "ringstack over TAP" "$rs_avg" "$rs_total" "$rs_loss"
printf '%-28s %10s %12s %8s\n' "Linux kernel over veth" "$k_avg" "$k_total" "$k_loss"
awk -v a="$rs_avg" -v b="$k_avg" 'BEGIN { printf "ratio ringstack/kernel (avg rtt): %.2f\n", a / b }'
