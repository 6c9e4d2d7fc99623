#!/usr/bin/env bash
# What the console and the capture cost the data path (issue #9), measured in
# one run on the same lab: Linux -> ringstack throughput into discard, and the
# 1-byte request/response rate against echo, with
#   - nothing watching (the baseline; the per-packet trace is off: two
#     relaxed loads per frame),
#   - a console client (one connection) asking `show tcp --json` and
#     `show counters --json` 50 times a second for the whole run (each show
#     of TCP runs a closure on every worker's thread) -- heavy monitoring,
#   - the same flat out (a client that never pauses: on a 2-core machine it
#     also takes CPU the stage threads need),
#   - --pcap capturing every frame to a file (in /tmp),
# each TRIALS times (medians; a fresh engine per condition and trial).
#
# usage: sudo bench/e2e_console.sh [BUILD_DIR] [BYTES] [COUNT] [TRIALS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
bytes=${2:-300000000}
count=${3:-5000}
trials=${4:-3}
peer_bin=$build/bench/tcp_peer
ctl=$build/engine/ringstack-ctl
. "$root/bench/e2e_lab.sh"

client() { ip netns exec "$ns" "$peer_bin" "$@"; }
field() { awk -v k="$1" '{ for (i = 1; i < NF; ++i) if ($i == k) print $(i + 1) }'; }

# run CONDITION: one engine, one throughput and one rate figure -> "mbit rr shows"
run() {
  local cond=$1 extra=() watcher="" shows=0
  [ "$cond" = pcap ] && extra=(--pcap "$work/bench.pcap")
  start_ringstack --ipv6 off --services echo,discard --poll block --console "$work/c.sock" "${extra[@]}"
  client rr 192.0.2.2 7 100 >/dev/null  # warm-up
  if [ "$cond" = console ] || [ "$cond" = flat-out ]; then
    python3 - "$work/c.sock" "$work/shows" "$([ "$cond" = console ] && echo 0.02 || echo 0)" <<'PYEOF' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); pause = float(sys.argv[3]); n = 0
while True:
    for cmd in (b"show tcp --json\n", b"show counters --json\n"):
        s.sendall(cmd); buf = b""
        while b"\0" not in buf or not buf.endswith(b"\n"):
            buf += s.recv(65536)
        n += 1
    open(sys.argv[2], "w").write(str(n))
    if pause: time.sleep(pause)
PYEOF
    watcher=$!
  fi
  local mbit rr
  mbit=$(client push 192.0.2.2 9 "$bytes" | field mbit/s)
  rr=$(client rr 192.0.2.2 7 "$count" | field rr/s)
  if [ -n "$watcher" ]; then
    kill "$watcher"
    wait "$watcher" 2>/dev/null || true
    shows=$(cat "$work/shows")
  fi
  kill -TERM "$rs_pid"
  wait "$rs_pid" || true
  pids=("${pids[@]/$rs_pid}")
  rm -f "$work/bench.pcap"
  echo "$mbit $rr $shows"
}

declare -A mbit rr shows
for t in $(seq "$trials"); do
  for cond in baseline console flat-out pcap; do
    read -r m r s < <(run "$cond")
    mbit[$cond]+="$m "
    rr[$cond]+="$r "
    shows[$cond]+="$s "
  done
done
printf '%-44s %12s %12s %8s\n' "(median of $trials; $bytes B, $count ops)" "Mbit/s in" "rr/s" "shows"
for cond in baseline console flat-out pcap; do
  printf '%-44s %12.0f %12.0f %8s\n' "$cond" "$(median <<<"${mbit[$cond]}")" "$(median <<<"${rr[$cond]}")" \
    "$(median <<<"${shows[$cond]}")"
done
