# Sourced by bench/e2e_*.sh: the two-sided lab every end-to-end benchmark
# uses. Namespace $ns holds the kernel's side of a TAP ($tap) for ringstack
# (192.0.2.2) and one end of a veth pair to namespace $peer, where the
# kernel's own stack answers at 198.51.100.2; clients run in $ns against
# both. Processes appended to `pids` are ended (TERM, then waited) on exit,
# the namespaces removed, $work deleted.
#
# Needs: root, $root (the checkout). Defines: ns, tap, peer, work, pids,
# start_ringstack ARGS... (runs the engine in $ns with --tap/--ip4/--acd off
# plus ARGS, counters to $work/counters, waits until it is up; sets rs_pid),
# stop_ringstack (ends it), gbits ARGS... (an iperf3 client in $ns for
# $seconds with ARGS: the Gbit/s received, 0 when it failed), median (of the
# numbers on stdin; 0 for none).
[ "$(id -u)" -eq 0 ] || { echo "$(basename "$0"): run as root" >&2; exit 2; }
# Multi-queue, so runs may attach several queues (--tap-queues); one
# engine queue on it works as on a single-queue TAP.
read -r ns tap < <("$root/scripts/lab" up --multi-queue)
peer="rs-peer-$$"
pids=()
work=$(mktemp -d)
e2e_cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  ip netns del "$peer" 2>/dev/null || true
  "$root/scripts/lab" down "$ns"
  rm -rf "$work"
}
trap e2e_cleanup EXIT INT TERM

ip netns add "$peer"
ip -n "$ns" link add rsveth0 type veth peer name rsveth1 netns "$peer"
ip -n "$ns" addr add 198.51.100.1/24 dev rsveth0
ip -n "$ns" link set rsveth0 up
ip -n "$peer" addr add 198.51.100.2/24 dev rsveth1
ip -n "$peer" link set rsveth1 up
ip -n "$peer" link set lo up

start_ringstack() {
  ip netns exec "$ns" "$build/engine/ringstack" --tap "$tap" --ip4 192.0.2.2/24 --acd off \
    --counters-file "$work/counters" "$@" 2>"$work/log" &
  rs_pid=$!
  pids+=("$rs_pid")
  for _ in $(seq 50); do grep -q "up on" "$work/log" && break; sleep 0.1; done
  sleep 0.3  # the services bind just after "up on"
}
stop_ringstack() {
  kill -TERM "$rs_pid" 2>/dev/null || true
  wait "$rs_pid" 2>/dev/null || true
}
gbits() {
  ip netns exec "$ns" timeout $((seconds + 20)) iperf3 -c "$@" -t "$seconds" -J 2>/dev/null |
    python3 -c "import json, sys
try: print('%.2f' % (json.load(sys.stdin)['end']['sum_received']['bits_per_second'] / 1e9))
except Exception: print(0)" || echo 0
}
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { print (NR ? v[int((NR + 1) / 2)] : 0) }'; }
