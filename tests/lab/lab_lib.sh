# The lab tests' shared part: paths, a work directory, cleanup on exit (the
# engines started, by PID, and the namespaces made), and the TAP-style
# check. Sourced by tests/lab/*_test.sh with the build directory as $1.
# RS_LAB_KEEP=1 keeps the work directory (logs, captures, counters) and
# says where it is.
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
ctl=$build/engine/ringstack-ctl
bin=$build/engine/ringstack
lab=$root/scripts/lab
work=$(mktemp -d /tmp/rs-lab.XXXXXX)
namespaces=()
extra_netns=()  # made with ip netns add by a test itself
pids=()
pgroups=()  # process groups started with setsid (pipelines), ended whole

cleanup() {
  for g in "${pgroups[@]}"; do kill -TERM -- "-$g" 2>/dev/null; done
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
  for ns in "${namespaces[@]}"; do "$lab" down "$ns" 2>/dev/null; done
  for ns in "${extra_netns[@]}"; do ip netns del "$ns" 2>/dev/null; done
  [ -n "${RS_LAB_KEEP:-}" ] && echo "kept $work" || rm -rf "$work"
}
trap cleanup EXIT INT TERM

failures=0
check() {  # check NAME CMD...
  local name=$1
  shift
  if "$@" >>"$work/log" 2>&1; then
    echo "ok - $name"
  else
    echo "not ok - $name"
    failures=$((failures + 1))
    tail -n 15 "$work/log" | sed 's/^/#   /'
  fi
}


wait_for() {  # wait_for SECONDS CMD...: polls CMD every 0.1 s until it succeeds; fails at the deadline
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    [ "$SECONDS" -ge "$deadline" ] && return 1
    sleep 0.1
  done
}

# For the tests that run one engine at a time with its console at $sock,
# its PID in $engine_pid and its counters file at
# $work/$engine_name.counters:
c() { "$ctl" -s "$sock" "$@"; }
counter() {  # counter NAME: the running engine's counter now, summed over shards (0 if none)
  c show counters --all --json | python3 -c "import json, sys; print(json.load(sys.stdin).get('$1', 0))"
}
counter_ge() {  # counter_ge NAME MIN
  local v
  v=$(counter "$1")
  echo "$1 = $v (want >= $2)"
  [ "${v:-0}" -ge "$2" ]
}
counter_eq() {  # counter_eq NAME VALUE
  local v
  v=$(counter "$1")
  echo "$1 = $v (want $2)"
  [ "${v:-0}" -eq "$2" ]
}
stop_clean() {  # SIGTERM: exit 0, every buffer back
  kill -TERM "$engine_pid"
  wait "$engine_pid"
  local rc=$?
  echo "exit $rc; $(grep -E '^pool_(standard|large)_in_use' "$work/$engine_name.counters" | tr '\n' ' ')"
  [ "$rc" -eq 0 ] && grep -q "^pool_standard_in_use 0$" "$work/$engine_name.counters" &&
    grep -q "^pool_large_in_use 0$" "$work/$engine_name.counters"
}

counter_at_least() {  # counter_at_least FILE NAME MIN
  local v
  v=$(awk -v n="$2" '$1 == n { print $2 }' "$1")
  echo "$2 = ${v:-0} (want >= $3)"
  [ "${v:-0}" -ge "$3" ]
}

exit2_says() {  # exit2_says TEXT CMD...
  local want=$1 out rc
  shift
  out=$(timeout 10 "$@" 2>&1)
  rc=$?
  echo "rc=$rc: $out"
  [ "$rc" -eq 2 ] && [ "$(wc -l <<<"$out")" -eq 1 ] && grep -q -- "$want" <<<"$out"
}
