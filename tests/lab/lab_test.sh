#!/usr/bin/env bash
# Lab test (issue #2): ringstack attached to a TAP in a fresh namespace, with
# the Linux kernel, ping, arping and scapy as real peers. Prints one TAP-style
# "ok - ..." / "not ok - ..." line per check; exits 1 if any failed.
#
# usage: tests/lab/lab_test.sh BUILD_DIR
set -uo pipefail
source "$(dirname "$0")/lab_lib.sh" "${1:-}"

# start_engine NS TAP LOGNAME ARGS... ; sets $engine_pid, waits for "up on".
start_engine() {
  local ns=$1 tap=$2 name=$3
  shift 3
  engine_name=$name
  # --acd off unless a check asks for it: ACD takes ~5 s per start and has checks of its own.
  "$lab" exec "$ns" "$bin" --tap "$tap" --mac 02:00:00:00:00:02 --ip4 192.0.2.2/24 --acd off \
    --counters-file "$work/$name.counters" "$@" 2>"$work/$name.log" &
  engine_pid=$!
  pids+=("$engine_pid")
  for _ in $(seq 50); do
    grep -q "up on" "$work/$name.log" 2>/dev/null && return 0
    kill -0 "$engine_pid" 2>/dev/null || break
    sleep 0.1
  done
  cat "$work/$name.log" >>"$work/log"
  return 1
}

counters() {  # counters PID NAME: a fresh dump (SIGUSR1), printed; fails if none comes in 10 s
  local f=$work/$2.counters
  rm -f "$f"
  kill -USR1 "$1" || return 1
  # The engine writes the dump beside the file and renames it into place:
  # once the file is there it is whole.
  wait_for 10 test -s "$f" || { echo "no counters dump from $1 within 10 s"; return 1; }
  cat "$f"
}


ping_ok() {  # ping_ok NS COUNT ARGS... : every reply back, payload intact
  local ns=$1 count=$2
  shift 2
  local out
  # Not -q: iputils checks the echoed data against its pattern only when
  # printing replies, and reports "wrong data byte" (or DUP!) there.
  out=$("$lab" exec "$ns" ping -n -c "$count" "$@" 192.0.2.2 2>&1)
  echo "$out"
  grep -q " $count received, 0% packet loss" <<<"$out" && ! grep -qiE "wrong data|DUP!" <<<"$out"
}

idle_cpu_ok() {  # idle_cpu_ok PID: < 2% of a core over 3 s
  local pid=$1 a b
  a=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
  sleep 3
  b=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
  echo "idle CPU ticks over 3 s: $((b - a)) (of $((3 * $(getconf CLK_TCK))))"
  [ $((b - a)) -le 6 ]
}

stop_ok() {  # stop_ok PID NAME: SIGTERM -> exit 0, buffers all back
  kill -TERM "$1"
  wait "$1"
  local rc=$?
  echo "exit $rc"
  [ "$rc" -eq 0 ] && grep -q "stopped cleanly" "$work/$2.log" &&
    counter_at_least "$work/$2.counters" pool_standard_total 1 &&
    grep -q "^pool_standard_in_use 0$" "$work/$2.counters"
}

# One worker with its stages fused on one thread, two with a thread per
# stage (--fuse auto picks either by the CPUs; each is checked here).
threads_ok() {  # threads_ok PID on|off: the stage threads --fuse makes
  local names
  names=$(ps -L -o comm= -p "$1" | sort | tr '\n' ' ')
  echo "threads: $names"
  if [ "$2" = on ]; then
    grep -q 'rs-fused0 ' <<<"$names" && grep -q 'rs-tx ' <<<"$names" && ! grep -qE 'rs-(rx|w0|timer) ' <<<"$names"
  else
    for t in rx w0 w1 timer tx; do grep -q "rs-$t " <<<"$names" || return 1; done
    ! grep -q rs-fused <<<"$names"
  fi
}
for workers in 1 2; do
  read -r ns tap < <("$lab" up) || exit 1
  namespaces+=("$ns")
  name=w$workers
  fuse=$([ "$workers" -eq 1 ] && echo on || echo off)
  check "engine starts (--workers $workers --fuse $fuse --poll block)" \
    start_engine "$ns" "$tap" "$name" --workers "$workers" --fuse "$fuse" --poll block
  pid=$engine_pid
  check "stage threads as --fuse $fuse makes them (workers=$workers)" threads_ok "$pid" "$fuse"
  check "ping -c 200 -i 0.01: 0% loss, payload verified (workers=$workers)" \
    ping_ok "$ns" 200 -i 0.01 -p 5aa5c33c0ff1
  check "ping -s 1472 -M do: full-MTU echo (workers=$workers)" ping_ok "$ns" 5 -i 0.05 -s 1472 -M do
  check "ping -s 8000 / -s 60000: kernel fragments, ringstack reassembles and fragments the reply (workers=$workers)" \
    bash -c "$(declare -f ping_ok); lab=$lab; ping_ok $ns 5 -i 0.1 -s 8000 && ping_ok $ns 3 -i 0.2 -s 60000"
  check "echo replies carry the exact random payloads, 0..1472 bytes (scapy; workers=$workers)" \
    "$lab" exec "$ns" /usr/bin/python3 "$root/tests/lab/echo_payload.py" "$tap" 192.0.2.2
  check "arping answered (workers=$workers)" \
    bash -c "\"$lab\" exec $ns arping -c 3 -w 5 -I $tap 192.0.2.2 | tee /dev/stderr | grep -q 'Received 3 response'"
  # Sending is not a check of its own: the counters below show whether the frames arrived.
  "$lab" exec "$ns" /usr/bin/python3 "$root/tests/lab/send_malformed.py" "$tap" 02:00:00:00:00:02 >>"$work/log" 2>&1
  malformed="eth_drop_unsupported_type ipv4_drop_truncated ipv4_drop_bad_checksum ipv4_drop_bad_header_length
             ipv4_drop_bad_total_length ipv4_drop_bad_option arp_drop_bad_hardware_type arp_drop_truncated"
  all_counted() {  # all_counted PID NAME COUNTER...: a dump with every one of them >= 1
    local pid=$1 name=$2 c
    shift 2
    counters "$pid" "$name" >"$work/$name.snap" 2>&1 || return 1
    for c in "$@"; do counter_at_least "$work/$name.snap" "$c" 1 >/dev/null || return 1; done
  }
  wait_for 10 all_counted "$pid" "$name" $malformed
  for c in $malformed; do
    check "malformed frame counted: $c (workers=$workers)" counter_at_least "$work/$name.snap" "$c" 1
  done
  check "ping still works after malformed input (workers=$workers)" ping_ok "$ns" 20 -i 0.01
  check "idle CPU ~0 with --poll block (workers=$workers)" idle_cpu_ok "$pid"
  check "unknown IP protocol: ICMP protocol unreachable quoting it (scapy; workers=$workers)" \
    "$lab" exec "$ns" /usr/bin/python3 "$root/tests/lab/proto_unreachable.py" "$tap" 192.0.2.2 proto
  # Port 9 is steered to shard 1 with two workers: that shard answers.
  check "UDP to a closed port: ICMP port unreachable quoting it (scapy; workers=$workers)" \
    "$lab" exec "$ns" /usr/bin/python3 "$root/tests/lab/proto_unreachable.py" "$tap" 192.0.2.2 port
  if [ "$workers" -eq 1 ]; then
    check "echo from the subnet broadcast 192.0.2.255 not answered, the same from 192.0.2.1 answered (scapy)" \
      "$lab" exec "$ns" /usr/bin/python3 "$root/tests/lab/rfc_discards.py" "$tap" 02:00:00:00:00:02 broadcast4 192.0.2.2
    bcast_counted() {  # bcast_counted PID NAME (check's own `name` hides the loop's)
      counters "$1" "$2" >"$work/bcast.snap" 2>&1 && counter_at_least "$work/bcast.snap" ipv4_drop_source_broadcast 1
    }
    check "the broadcast-sourced echo counted: ipv4_drop_source_broadcast" bcast_counted "$pid" "$name"
    check "second engine on the busy TAP: exit 2, says busy" bash -c \
      "out=\$(timeout 10 \"$lab\" exec $ns \"$bin\" --tap $tap --ip4 192.0.2.3/24 2>&1); rc=\$?; echo \"rc=\$rc \$out\";
       [ \$rc -eq 2 ] && grep -q 'is busy' <<<\"\$out\""
  fi
  check "SIGTERM: clean exit, every buffer back in the pool (workers=$workers)" stop_ok "$pid" "$name"
done

# Adaptive polling must not burn a core either once idle.
read -r ns tap < <("$lab" up) || exit 1
namespaces+=("$ns")
check "engine starts (--poll adaptive)" start_engine "$ns" "$tap" adaptive --poll adaptive
check "ping works (--poll adaptive)" ping_ok "$ns" 50 -i 0.01
check "idle CPU ~0 with --poll adaptive" idle_cpu_ok "$engine_pid"
check "SIGTERM: clean exit (--poll adaptive)" stop_ok "$engine_pid" adaptive

# --poll busy warns when its spinning threads outnumber the CPUs: a thread
# per stage is 4 with one worker, fused (--fuse on) one per worker and TX.
busy_warns() {  # busy_warns NAME THREADS ARGS...: warned exactly when THREADS > CPUs
  local name=$1 threads=$2 warned=no
  shift 2
  start_engine "$ns" "$tap" "$name" --poll busy "$@" || return 1
  kill -TERM "$engine_pid"
  wait "$engine_pid"
  grep -q "spins $threads stage threads on $(nproc) CPUs" "$work/$name.log" && warned=yes
  echo "threads $threads, CPUs $(nproc), warned $warned"
  [ "$warned" = "$([ "$threads" -gt "$(nproc)" ] && echo yes || echo no)" ]
}
check "--poll busy: warned when its threads outnumber the CPUs (--fuse off, 4 threads)" busy_warns busy_split 4 --fuse off
check "--poll busy: fused, one worker (--fuse on, 2 threads)" busy_warns busy_fused 2 --fuse on
check "--poll busy: fused, three workers (--fuse on --workers 3, 4 threads)" busy_warns busy_fused3 4 --fuse on --workers 3

# --- IPv4 family (#3) -------------------------------------------------------
read -r ns tap < <("$lab" up) || exit 1
namespaces+=("$ns")

# Address Conflict Detection: the kernel side owns 192.0.2.3 as well, so of
# ringstack's two addresses that one is skipped and 192.0.2.2 is claimed.
ip -n "$ns" addr add 192.0.2.3/24 dev "$tap"
acd_verdicts_ok() {
  for _ in $(seq 150); do
    grep -q "192.0.2.2/24: claimed" "$work/acd.log" && grep -q "192.0.2.3: address conflict" "$work/acd.log" && break
    sleep 0.1
  done
  cat "$work/acd.log"
  grep -q "192.0.2.2/24: claimed" "$work/acd.log" && grep -q "192.0.2.3: address conflict with" "$work/acd.log"
}
no_arp_answer_for() {  # no_arp_answer_for NS TAP IP: ringstack stays silent about IP
  local out
  out=$("$lab" exec "$1" arping -c 2 -w 3 -I "$2" "$3" 2>&1)
  echo "$out"
  ! grep -q "02:00:00:00:00:02" <<<"$out"
}
check "engine starts with --acd on and two addresses" start_engine "$ns" "$tap" acd --acd on --ip4 192.0.2.3/24 --poll block
check "ACD: 192.0.2.2 claimed after probes; 192.0.2.3 (the kernel's) logged as a conflict" acd_verdicts_ok
check "ACD: the claimed address answers ping" ping_ok "$ns" 10 -i 0.01
check "ACD: ringstack does not answer ARP for the conflicting address" no_arp_answer_for "$ns" "$tap" 192.0.2.3
counters "$engine_pid" acd >"$work/acd.snap" 2>&1
check "ACD counted: 1 conflict, 1 claimed, probes and announcements sent" bash -c \
  "$(declare -f counter_at_least); counter_at_least $work/acd.snap arp_acd_conflict 1 && counter_at_least $work/acd.snap arp_acd_claimed 1 &&
   counter_at_least $work/acd.snap arp_acd_probe 4 && counter_at_least $work/acd.snap arp_acd_announce 2 &&
   ! grep -q '^arp_acd_conflict [2-9]' $work/acd.snap"
check "SIGTERM: clean exit (ACD)" stop_ok "$engine_pid" acd
ip -n "$ns" addr del 192.0.2.3/24 dev "$tap"

# Routing: the lab namespace becomes a router (ip_forward) to a far host
# 198.51.100.7 in a namespace of its own; ringstack answers it through its
# gateway 192.0.2.1.
far=$("$lab" far "$ns") || exit 1
far_ping_ok() {  # far_ping_ok COUNT ARGS...: from the far host, one router hop
  local count=$1 out
  shift
  out=$("$lab" exec "$far" ping -n -c "$count" "$@" 192.0.2.2 2>&1)
  echo "$out"
  grep -q " $count received, 0% packet loss" <<<"$out" && grep -q "ttl=63" <<<"$out" && ! grep -qiE "wrong data|DUP!" <<<"$out"
}
no_route_counted() {  # without a gateway the far host gets nothing, and that is counted
  local out
  out=$("$lab" exec "$far" ping -n -c 3 -i 0.1 -W 1 192.0.2.2 2>&1)
  echo "$out"
  counters "$engine_pid" noroute >"$work/noroute.snap"
  grep -q " 0 received" <<<"$out" && counter_at_least "$work/noroute.snap" ipv4_drop_no_route 3
}
check "engine starts without a gateway" start_engine "$ns" "$tap" noroute --poll block
check "no gateway: the far host is not answered, ipv4_drop_no_route counted" no_route_counted
check "SIGTERM: clean exit (no route)" stop_ok "$engine_pid" noroute
check "engine starts with --gw4 192.0.2.1 --reassembly-mem 1M" \
  start_engine "$ns" "$tap" router --gw4 192.0.2.1 --reassembly-mem 1M --poll block
check "far host 198.51.100.7 pings ringstack through the router namespace (ttl=63)" far_ping_ok 20 -i 0.01
check "far host: 3000-byte pings cross the router fragmented, reassembled and answered" far_ping_ok 3 -i 0.2 -s 3000

# A flood of never-completed fragments from 16 spoofed sources, 4.4 MB against
# a 1 MiB reassembly bound: memory stays bounded (the oldest are evicted), the
# engine lives, and ping and fragmented ping still work right after.
# Sending is not a check of its own: the counters below show what arrived.
"$lab" exec "$ns" /usr/bin/python3 "$root/tests/lab/frag_flood.py" "$tap" 02:00:00:00:00:02 192.0.2.2 3000 16 \
  >>"$work/log" 2>&1
check "after the flood: ping still answered" ping_ok "$ns" 20 -i 0.01
check "after the flood: ping -s 8000 still reassembled and answered" ping_ok "$ns" 3 -i 0.2 -s 8000
flood_counted() {  # 3000 fragments in, 1000 datagrams evicted or refused at the memory bound
  counters "$engine_pid" router >"$work/flood.snap" 2>&1 &&
    counter_at_least "$work/flood.snap" ipv4_rx_fragment 3000 &&
    { counter_at_least "$work/flood.snap" ipv4_frag_evicted 1000 ||
      counter_at_least "$work/flood.snap" ipv4_frag_drop_memory_limit 1000; }
}
check "flood counted: fragments in, datagrams evicted or refused at the memory bound" wait_for 10 flood_counted
check "SIGTERM: clean exit after the flood, every buffer back" stop_ok "$engine_pid" router

# DHCPv4 against dnsmasq on the TAP: a 2-minute lease with T1 = 8 s, so the
# renewal is seen too. ringstack has no --ip4: the lease is its only address.
dhcp_ok() {  # dhcp_ok NS TAP
  local ns=$1 tap=$2 addr
  "$lab" exec "$ns" dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts --port=0 \
    --user=root --group=root --interface="$tap" --bind-interfaces \
    --dhcp-range=192.0.2.50,192.0.2.60,255.255.255.0,2m --dhcp-option=option:router,192.0.2.1 \
    --dhcp-option=option:dns-server,192.0.2.53 --dhcp-option=option:T1,8 \
    --dhcp-leasefile="$work/dnsmasq.leases" --log-dhcp --log-facility="$work/dnsmasq.log" &
  pids+=($!)
  wait_for 10 grep -qs "started" "$work/dnsmasq.log" || return 1
  "$lab" exec "$ns" "$bin" --tap "$tap" --mac 02:00:00:00:00:02 --dhcp4 --poll block \
    --counters-file "$work/dhcp.counters" 2>"$work/dhcp.log" &
  engine_pid=$!
  pids+=("$engine_pid")
  for _ in $(seq 200); do grep -q "dhcp4: bound" "$work/dhcp.log" && break; sleep 0.1; done
  cat "$work/dhcp.log"
  addr=$(sed -n 's/.*dhcp4: bound \([0-9.]*\)\/24 from 192.0.2.1, router 192.0.2.1, dns 192.0.2.53, lease 120 s$/\1/p' \
    "$work/dhcp.log")
  echo "leased: ${addr:-none}"
  [ -n "$addr" ] || return 1
  dhcp_addr=$addr
  cat "$work/dnsmasq.leases"
  grep -q " 02:00:00:00:00:02 $addr " "$work/dnsmasq.leases" || return 1  # EXPIRY MAC IP ...
  ping_addr_ok "$ns" "$addr" || return 1
  for _ in $(seq 150); do grep -q "dhcp4: renewed $addr/24" "$work/dhcp.log" && break; sleep 0.1; done
  grep "DHCP" "$work/dnsmasq.log" | grep -v "^$" | tail -n 8
  grep -q "dhcp4: renewed $addr/24" "$work/dhcp.log" &&
    [ "$(grep -c "DHCPACK(.*) $addr 02:00:00:00:00:02" "$work/dnsmasq.log")" -ge 2 ] &&
    ping_addr_ok "$ns" "$addr"
}
ping_addr_ok() {  # ping_addr_ok NS ADDR
  local out
  out=$("$lab" exec "$1" ping -n -c 5 -i 0.05 "$2" 2>&1)
  echo "$out"
  grep -q " 5 received, 0% packet loss" <<<"$out"
}
read -r ns tap < <("$lab" up) || exit 1
namespaces+=("$ns")
check "DHCPv4 from dnsmasq: lease (probed first), ping on it, renewal at T1 acknowledged" dhcp_ok "$ns" "$tap"
counters "$engine_pid" dhcp >"$work/dhcp.snap" 2>&1
check "DHCPv4 counted: bound 1, renewed >= 1, address claimed by ACD" bash -c \
  "$(declare -f counter_at_least); counter_at_least $work/dhcp.snap dhcp4_bound 1 && counter_at_least $work/dhcp.snap dhcp4_renewed 1 &&
   counter_at_least $work/dhcp.snap arp_acd_claimed 1"
check "SIGTERM: clean exit (DHCP)" stop_ok "$engine_pid" dhcp
# INIT-REBOOT: restarted with the address it had, it asks for it back
# without a DISCOVER (dnsmasq saw one DISCOVER in all).
dhcp_reboot_ok() {  # dhcp_reboot_ok NS TAP
  local ns=$1 tap=$2
  [ -n "${dhcp_addr:-}" ] || return 1
  "$lab" exec "$ns" "$bin" --tap "$tap" --mac 02:00:00:00:00:02 --dhcp4 --dhcp4-previous "$dhcp_addr" --acd off \
    --poll block --counters-file "$work/reboot.counters" 2>"$work/reboot.log" &
  engine_pid=$!
  pids+=("$engine_pid")
  for _ in $(seq 100); do grep -q "dhcp4: bound" "$work/reboot.log" && break; sleep 0.1; done
  cat "$work/reboot.log"
  grep "DHCP" "$work/dnsmasq.log" | tail -n 3
  grep -q "dhcp4: bound $dhcp_addr/24" "$work/reboot.log" &&
    [ "$(grep -c "DHCPDISCOVER" "$work/dnsmasq.log")" -eq 1 ] && ping_addr_ok "$ns" "$dhcp_addr"
}
check "DHCPv4 INIT-REBOOT (--dhcp4-previous): the same address back with no DISCOVER" dhcp_reboot_ok "$ns" "$tap"
check "SIGTERM: clean exit (DHCP INIT-REBOOT)" stop_ok "$engine_pid" reboot

# --- IPv6 family (#4) -----------------------------------------------------------
# radvd advertises 2001:db8:0:1::/64 (and a default route) on the TAP; the
# kernel side also owns 2001:db8:0:1::3, which ringstack is told to use too.
read -r ns tap < <("$lab" up) || exit 1
namespaces+=("$ns")
cat >"$work/radvd.conf" <<EOF
interface $tap {
  AdvSendAdvert on;
  MinRtrAdvInterval 3;
  MaxRtrAdvInterval 4;
  AdvDefaultLifetime 60;
  prefix 2001:db8:0:1::/64 { AdvOnLink on; AdvAutonomous on; };
  RDNSS 2001:db8::53 { };
};
EOF
ip -n "$ns" addr add 2001:db8:0:1::3/64 dev "$tap" nodad
far=$("$lab" far "$ns") || exit 1  # also turns IPv6 forwarding on, which radvd wants
"$lab" exec "$ns" radvd -n -C "$work/radvd.conf" -p "$work/radvd.pid" -m logfile -l "$work/radvd.log" -u root &
pids+=($!)
# Capture the start-up exchange (DAD, RS/RA, SLAAC, MLD) for the record.
"$lab" exec "$ns" tcpdump -i "$tap" -w "$work/v6.pcap" -U ip6 2>"$work/v6.tcpdump" &
tcpdump_pid=$!
pids+=("$tcpdump_pid")
wait_for 10 grep -q "listening on" "$work/v6.tcpdump"
v6_up() {  # waits for the SLAAC address to pass DAD
  for _ in $(seq 150); do
    grep -q "ip6 2001:db8:0:1:0:ff:fe00:2/64: DAD passed" "$work/v6.log" && break
    sleep 0.1
  done
  cat "$work/v6.log"
  grep -q "ip6 fe80::ff:fe00:2/64: DAD passed" "$work/v6.log" &&
    grep -q "ip6 2001:db8:0:1::2/64: DAD passed" "$work/v6.log" &&
    grep -q "ip6 2001:db8:0:1:0:ff:fe00:2/64: DAD passed" "$work/v6.log"
}
ping6_ok() {  # ping6_ok NS COUNT ADDR [ARGS...]
  local ns=$1 count=$2 addr=$3 out
  shift 3
  out=$("$lab" exec "$ns" ping -6 -n -c "$count" -i 0.05 "$@" "$addr" 2>&1)
  echo "$out"
  grep -q " $count received, 0% packet loss" <<<"$out" && ! grep -qiE "wrong data|DUP!" <<<"$out"
}
check "engine starts with --ip6 2001:db8:0:1::2/64 and ::3 (which the kernel owns)" \
  start_engine "$ns" "$tap" v6 --ip6 2001:db8:0:1::2/64 --ip6 2001:db8:0:1::3/64 --poll block
check "IPv6: link-local, static and SLAAC (from radvd's RA) addresses pass DAD" v6_up
check "IPv6: the address the kernel owns is refused by DAD and logged" \
  grep -q "ip6 2001:db8:0:1::3: duplicate (another host has it); not using it" "$work/v6.log"
check "ping -6 the link-local address" ping6_ok "$ns" 10 "fe80::ff:fe00:2%$tap"
check "ping -6 the static address" ping6_ok "$ns" 10 2001:db8:0:1::2
check "ping -6 the SLAAC address" ping6_ok "$ns" 10 2001:db8:0:1:0:ff:fe00:2
check "ping -6 -s 4000 / -s 60000: the kernel fragments, ringstack reassembles and fragments the reply" bash -c \
  "$(declare -f ping6_ok); lab=$lab; ping6_ok $ns 5 2001:db8:0:1::2 -s 4000 && ping6_ok $ns 3 2001:db8:0:1::2 -s 60000"
check "IPv6 fragments overlapping with the same bytes: no reply (RFC 5722); without the overlap: a reply (scapy)" \
  "$lab" exec "$ns" /usr/bin/python3 "$root/tests/lab/rfc_discards.py" "$tap" 02:00:00:00:00:02 overlap6 \
  2001:db8:0:1::1 2001:db8:0:1::2
check "ndisc6 resolves the static address to ringstack's MAC" bash -c \
  "\"$lab\" exec $ns ndisc6 -1 2001:db8:0:1::2 $tap | tee /dev/stderr | grep -q 'Target link-layer address: 02:00:00:00:00:02'"
check "far host 2001:db8:2::7 pings ringstack's SLAAC address through the router namespace" bash -c \
  "\"$lab\" exec $far ping -6 -n -c 10 -i 0.05 2001:db8:0:1:0:ff:fe00:2 | tee /dev/stderr | grep -q ' 10 received, 0% packet loss'"
counters "$engine_pid" v6 >"$work/v6.snap" 2>&1
check "IPv6 counted: RA in, DAD duplicate 1, MLD reports out, echo replies, reassembly" bash -c \
  "$(declare -f counter_at_least); counter_at_least $work/v6.snap nd_rx_ra 1 && counter_at_least $work/v6.snap nd_dad_duplicate 1 &&
   counter_at_least $work/v6.snap mld_tx_report 2 && counter_at_least $work/v6.snap icmp6_tx_echo_reply 48 &&
   counter_at_least $work/v6.snap ipv6_rx_reassembled 8 && counter_at_least $work/v6.snap ipv6_tx_fragment 100"
check "IPv6 counted: the overlapping fragment (ipv6_frag_drop_overlap) and the datagram's later one (discarded)" bash -c \
  "$(declare -f counter_at_least); counter_at_least $work/v6.snap ipv6_frag_drop_overlap 1 &&
   counter_at_least $work/v6.snap ipv6_frag_drop_discarded 1"
kill -INT "$tcpdump_pid" 2>/dev/null
wait "$tcpdump_pid" 2>/dev/null
tshark -r "$work/v6.pcap" 2>/dev/null | head -n 40 >"$work/v6.tshark"
# (An RS shows only when no RA came while the link-local was tentative:
# radvd's timing decides; the flow tests check the RS frame exactly.)
check "the start-up sequence captured by tshark: MLDv2 reports, DAD NS from ::, RA, the SLAAC address's DAD" bash -c \
  "cat $work/v6.tshark; grep -q 'Multicast Listener Report Message v2' $work/v6.tshark &&
   grep -qE ':: +→ ff02::1:ff00:2 .*Neighbor Solicitation for fe80::ff:fe00:2' $work/v6.tshark &&
   grep -q 'Router Advertisement' $work/v6.tshark &&
   grep -qE ':: +→ ff02::1:ff00:2 .*Neighbor Solicitation for 2001:db8:0:1:0:ff:fe00:2' $work/v6.tshark"
check "SIGTERM: clean exit (IPv6)" stop_ok "$engine_pid" v6
# RFC 7217: with --ip6-stable the SLAAC address is not EUI-64 and is the same
# on every start with the same secret.
stable_addr() {  # stable_addr NAME: the SLAAC address the engine logged
  for _ in $(seq 150); do grep -q "ip6 2001:db8:0:1:.*/64: DAD passed" "$work/$1.log" && break; sleep 0.1; done
  sed -n 's/.*ip6 \(2001:db8:0:1:[0-9a-f:]*\)\/64: DAD passed.*/\1/p' "$work/$1.log" | head -n 1
}
stable_ok() {  # stable_ok NS TAP
  local a b
  start_engine "$1" "$2" stable1 --ip6-stable "lab secret, not a real one" --poll block || return 1
  a=$(stable_addr stable1)
  echo "first start: ${a:-none}"
  ping6_ok "$1" 5 "$a" || return 1
  stop_ok "$engine_pid" stable1 || return 1
  start_engine "$1" "$2" stable2 --ip6-stable "lab secret, not a real one" --poll block || return 1
  b=$(stable_addr stable2)
  echo "second start: ${b:-none}"
  stop_ok "$engine_pid" stable2 || return 1
  [ -n "$a" ] && [ "$a" = "$b" ] && [ "$a" != "2001:db8:0:1:0:ff:fe00:2" ]
}
check "--ip6-stable: an RFC 7217 SLAAC address, pingable, the same on restart" stable_ok "$ns" "$tap"
# ringstack's own ping client (ICMP echo sockets, #5): the kernel side over
# IPv4 and IPv6, and the far hosts behind the router namespace (#3, #4).
ringstack_pings() {  # ringstack_pings NAME TARGET ARGS...: one-shot --ping, exit 0
  local name=$1 target=$2 rc
  shift 2
  timeout 60 "$lab" exec "$ns" "$bin" --tap "$tap" --mac 02:00:00:00:00:02 --ip4 192.0.2.2/24@192.0.2.1 \
    --acd off --poll block --ping "$target" --ping-count 3 "$@" 2>"$work/$name.log"
  rc=$?
  grep "ping" "$work/$name.log"
  [ "$rc" -eq 0 ] && grep -q "3 received" "$work/$name.log"
}
check "ringstack --ping 192.0.2.1: 3 replies from the kernel" ringstack_pings ping4 192.0.2.1
check "ringstack --ping 198.51.100.7: the far host through the router namespace" ringstack_pings pingfar 198.51.100.7
check "ringstack --ping 2001:db8:0:1::1 (static address) and 2001:db8:2::7 (far, via radvd's router)" bash -c \
  "$(declare -f ringstack_pings); lab=$lab; bin=$bin; work=$work; ns=$ns; tap=$tap;
   ringstack_pings ping6 2001:db8:0:1::1 --ip6 2001:db8:0:1::2/64 && ringstack_pings pingfar6 2001:db8:2::7"

# --- UDP services on the socket API (#5) ------------------------------------------
# With two workers the services' sockets live on the shards their ports are
# steered to (echo 7 on shard 0; discard 9, daytime 13, chargen 19 on shard 1).
udp_says() {  # udp_says NS FAMILY ADDR PORT INPUT WANT: socat's answer contains WANT
  local out
  out=$(printf '%s\n' "$5" | timeout 5 "$lab" exec "$1" socat -t 1 - "$2:$3:$4" 2>&1)
  echo "sent '$5' to $3:$4, got: $out"
  grep -q -- "$6" <<<"$out"
}
discard_ok() {  # discard_ok NS SIZE: one datagram delivered (reassembled when large), nothing answered
  counters "$engine_pid" svc >"$work/svc.before" 2>&1
  head -c "$2" /dev/zero | tr '\0' d | timeout 5 "$lab" exec "$1" socat -t 0.5 - UDP4:192.0.2.2:9 >/dev/null 2>&1
  counters "$engine_pid" svc >"$work/svc.after" 2>&1
  local n before after tx_before tx_after
  n() { awk -v n="$1" '$1 == n { print $2 }' "$2" | head -n 1; }
  before=$(n udp_rx_delivered "$work/svc.before"); after=$(n udp_rx_delivered "$work/svc.after")
  tx_before=$(n udp_tx "$work/svc.before"); tx_after=$(n udp_tx "$work/svc.after")
  echo "delivered ${before:-0} -> ${after:-0}, sent ${tx_before:-0} -> ${tx_after:-0}"
  [ $(( ${after:-0} - ${before:-0} )) -eq 1 ] && [ "${tx_after:-0}" = "${tx_before:-0}" ]
}
for workers in 1 2; do
read -r ns tap < <("$lab" up) || exit 1
namespaces+=("$ns")
check "engine starts with --services echo,discard,daytime,chargen (workers=$workers)" \
  start_engine "$ns" "$tap" svc --ip6 2001:db8:0:1::2/64 --services echo,discard,daytime,chargen --poll block \
  --workers "$workers"
wait_for 10 grep -q "ip6 2001:db8:0:1::2/64: DAD passed" "$work/$engine_name.log"  # IPv6 DAD
check "UDP echo over IPv4 (socat; workers=$workers)" udp_says "$ns" UDP4 192.0.2.2 7 "hello over v4" "hello over v4"
check "UDP echo over IPv6 (socat; workers=$workers)" \
  udp_says "$ns" UDP6 "[2001:db8:0:1::2]" 7 "hello over v6" "hello over v6"
check "UDP daytime (RFC 867) over IPv4 and IPv6 (workers=$workers)" bash -c "$(declare -f udp_says); lab=$lab;
  udp_says $ns UDP4 192.0.2.2 13 x \"$(date -u +%Y)\" && udp_says $ns UDP6 [2001:db8:0:1::2] 13 x \"$(date -u +%Y)\""
check "UDP chargen (RFC 864): the rotating printable characters, v4 and v6 (workers=$workers)" bash -c \
  "$(declare -f udp_says); lab=$lab; udp_says $ns UDP4 192.0.2.2 19 0123456789 ' !\"#\\\$%' &&
   udp_says $ns UDP6 [2001:db8:0:1::2] 19 0123456789 ' !\"#\\\$%'"
check "UDP to a closed port: the Linux socket sees ECONNREFUSED, v4 and v6 (workers=$workers)" bash -c \
  "\"$lab\" exec $ns /usr/bin/python3 $root/tests/lab/udp_refused.py 192.0.2.2 4444 &&
   \"$lab\" exec $ns /usr/bin/python3 $root/tests/lab/udp_refused.py 2001:db8:0:1::2 4445"
check "UDP discard takes a datagram and answers nothing (workers=$workers)" discard_ok "$ns" 8
# 4000 bytes: the kernel fragments it; shard 0 reassembles it and, with two
# workers, mails it to shard 1, where the discard socket lives.
check "UDP discard takes a fragmented 4000-byte datagram (workers=$workers)" discard_ok "$ns" 4000
# 10,000 datagrams of mixed sizes (4..8000 bytes, the large ones fragmented)
# to the echo service, 32 in flight: every one is accounted for — received by
# ringstack or counted as dropped there with a reason, each echo sent back,
# and each echo received by the client or counted by the kernel (its socket
# buffer overflowing).
udp_accounting_ok() {  # udp_accounting_ok NS
  local ns=$1 out sent received corrupt
  "$lab" exec "$ns" "$build/bench/udp_peer" rr 192.0.2.2 7 20 64 >/dev/null  # ARP warm
  counters "$engine_pid" svc >"$work/acct.before" 2>&1
  # Absolute kernel counters before and after (nstat's own history file is
  # per user, not per namespace, so its deltas are not ours alone).
  local rcvbuf0 rcvbuf
  rcvbuf0=$(ip netns exec "$ns" cat /proc/net/snmp | awk '/^Udp:/ { if (h) print $6; h = 1 }')
  out=$("$lab" exec "$ns" "$build/bench/udp_peer" mixed 192.0.2.2 7 10000 32)
  counters "$engine_pid" svc >"$work/acct.after" 2>&1
  rcvbuf=$(( $(ip netns exec "$ns" cat /proc/net/snmp | awk '/^Udp:/ { if (h) print $6; h = 1 }') - rcvbuf0 ))
  read -r _ sent _ received _ corrupt <<<"$out"
  delta() { echo $(( $(awk -v n="$1" '$1 == n { print $2 }' "$work/acct.after" | head -n 1) + 0 -
                    $(awk -v n="$1" '$1 == n { print $2 }' "$work/acct.before" | head -n 1) - 0 )); }
  local delivered tx drops
  delivered=$(delta udp_rx_delivered)
  tx=$(delta udp_tx)
  drops=$(( $(delta udp_drop_rcvbuf_full) + $(delta rx_drop_ring0_full) + $(delta rx_drop_ring1_full) +
            $(delta rx_drop_no_buffer) + $(delta ipv4_frag_drop_memory_limit) + $(delta ipv4_frag_evicted) +
            $(delta pool_drop_empty) + $(delta shard_drop_mail_full) ))
  echo "client: $out; kernel UdpRcvbufErrors ${rcvbuf:-0}; ringstack: delivered $delivered, counted drops $drops, echoed $tx"
  [ "$sent" -eq 10000 ] && [ "$corrupt" -eq 0 ] && [ $((delivered + drops)) -eq 10000 ] &&
    [ "$tx" -eq "$delivered" ] && [ $((received + ${rcvbuf:-0})) -eq "$tx" ]
}
check "UDP echo: 10,000 datagrams of 4..8000 bytes, every one received or counted dropped (workers=$workers)" \
  udp_accounting_ok "$ns"
check "SIGTERM: clean exit with the services running (workers=$workers)" stop_ok "$engine_pid" svc
done

# --- TCP (#6) -----------------------------------------------------------------------
# The services over TCP from Linux clients (nc, python), workers 1 and 2;
# 100 MB through echo with sha256 checked; 1,000 sequential connections
# after which ringstack holds no session; the handshake's options as the
# Linux side sees them in a capture; ringstack's own clients against socat.
tcp_says() {  # tcp_says NS ADDR PORT INPUT WANT: nc's answer contains WANT
  local out
  out=$(printf '%s\n' "$4" | timeout 5 "$lab" exec "$1" nc -q 1 "$2" "$3" 2>&1 | head -c 2000)
  echo "sent '$4' to $2:$3, got: $(head -c 200 <<<"$out")"
  grep -q -- "$5" <<<"$out"
}
sessions_left() {  # sessions_left PID NAME: a whole dump in which every shard answered and no session is left
  local n
  counters "$1" "$2" >"$work/$2.sessions" 2>&1 || return 1
  grep -q '^pool_standard_total ' "$work/$2.sessions" || { echo "no counters in the dump"; return 1; }
  if grep '^tcp_session_unanswered' "$work/$2.sessions"; then return 1; fi
  # A daytime or chargen server may close first (it races the client's FIN):
  # then ringstack rightly holds TIME-WAIT for 2 MSL. Any other session is left behind.
  n=$(grep '^tcp_session ' "$work/$2.sessions" | grep -cvE ':(13|19) [^ ]+ TIME-WAIT ')
  grep '^tcp_session ' "$work/$2.sessions" | head -n 5
  echo "$n sessions left"
  [ "$n" -eq 0 ]
}
for workers in 1 2; do
read -r ns tap < <("$lab" up) || exit 1
namespaces+=("$ns")
check "engine starts with the TCP services (workers=$workers)" \
  start_engine "$ns" "$tap" tcp --ip6 2001:db8:0:1::2/64 --services echo,discard,daytime,chargen --poll block \
  --workers "$workers"
wait_for 10 grep -q "ip6 2001:db8:0:1::2/64: DAD passed" "$work/$engine_name.log"  # IPv6 DAD
if [ "$workers" -eq 1 ]; then
  "$lab" exec "$ns" tcpdump -i "$tap" -w "$work/tcp.pcap" -U 'tcp port 7' 2>"$work/tcp.tcpdump" &
  tcpdump_pid=$!
  pids+=("$tcpdump_pid")
  wait_for 10 grep -q "listening on" "$work/tcp.tcpdump"
fi
check "TCP echo over IPv4 and IPv6 (nc; workers=$workers)" bash -c "$(declare -f tcp_says); lab=$lab;
  tcp_says $ns 192.0.2.2 7 'hello over tcp' 'hello over tcp' && tcp_says $ns 2001:db8:0:1::2 7 'hello v6' 'hello v6'"
if [ "$workers" -eq 1 ]; then
  kill -INT "$tcpdump_pid" 2>/dev/null
  wait "$tcpdump_pid" 2>/dev/null
  check "the SYN-ACK as Linux sees it: MSS 1460, window scale, SACK permitted, timestamps (tshark)" bash -c \
    "tshark -r $work/tcp.pcap -Y 'ip.src==192.0.2.2 && tcp.flags.syn==1 && tcp.flags.ack==1' -T fields \
       -e tcp.options.mss_val -e tcp.options.wscale.shift -e tcp.options.sack_perm -e tcp.options.timestamp.tsval \
       2>/dev/null | tee /dev/stderr | head -n 1 | awk '\$1 == 1460 && \$2 >= 1 && \$3 != \"\" && \$4 > 0 { ok = 1 } END { exit !ok }'"
fi
check "TCP daytime over IPv4 and IPv6 (workers=$workers)" bash -c "$(declare -f tcp_says); lab=$lab;
  tcp_says $ns 192.0.2.2 13 '' \"$(date -u +%Y)\" && tcp_says $ns 2001:db8:0:1::2 13 '' \"$(date -u +%Y)\""
check "TCP chargen: the rotating printable lines, IPv4 and IPv6 (workers=$workers)" bash -c \
  "$(declare -f tcp_says); lab=$lab; tcp_says $ns 192.0.2.2 19 '' ' !\"#\\\$%' &&
   tcp_says $ns 2001:db8:0:1::2 19 '' ' !\"#\\\$%'"
check "TCP discard takes 1 MB, IPv4 and IPv6 (workers=$workers)" bash -c \
  "head -c 1000000 /dev/zero | timeout 10 \"$lab\" exec $ns nc -q 1 192.0.2.2 9 &&
   head -c 1000000 /dev/zero | timeout 10 \"$lab\" exec $ns nc -q 1 2001:db8:0:1::2 9"
check "TCP echo: 100 MB each way, sha256 equal (workers=$workers)" \
  "$lab" exec "$ns" /usr/bin/python3 "$root/tests/lab/tcp_echo_check.py" 192.0.2.2 7 100000000 120
check "TCP echo over IPv6: 20 MB each way, sha256 equal (workers=$workers)" \
  "$lab" exec "$ns" /usr/bin/python3 "$root/tests/lab/tcp_echo_check.py" 2001:db8:0:1::2 7 20000000 60
check "1,000 sequential connections open, echo, close (workers=$workers)" \
  "$lab" exec "$ns" /usr/bin/python3 "$root/tests/lab/tcp_many.py" 192.0.2.2 7 1000
# The last LAST-ACKs are answered within a round trip; 10 s at most.
check "no TCP session left behind (the client side holds TIME-WAIT; workers=$workers)" \
  wait_for 10 sessions_left "$engine_pid" tcp
check "SIGTERM: clean exit after TCP (workers=$workers)" stop_ok "$engine_pid" tcp
done

# The engine's impairment stage at 2% loss and 2% reordering both ways:
# 50 MB through echo still arrives whole. Offload off: the stage models a
# wire, a segment a frame (with offload a frame crossing the TAP may be 44
# segments, and 2% of far fewer frames is a different experiment).
read -r ns tap < <("$lab" up) || exit 1
namespaces+=("$ns")
check "engine starts with --impair loss=0.02,reorder=0.02" \
  start_engine "$ns" "$tap" tcpimp --ipv6 off --services echo --poll block --impair loss=0.02,reorder=0.02,seed=5 \
  --tap-offload off
check "TCP echo through 2% loss and 2% reordering: 50 MB each way, sha256 equal" \
  "$lab" exec "$ns" /usr/bin/python3 "$root/tests/lab/tcp_echo_check.py" 192.0.2.2 7 50000000 300
counters "$engine_pid" tcpimp >"$work/tcpimp.snap" 2>&1
check "impaired TCP: frames dropped and reordered both ways, segments retransmitted" bash -c \
  "$(declare -f counter_at_least); counter_at_least $work/tcpimp.snap impair_dropped 100 &&
   counter_at_least $work/tcpimp.snap impair_tx_dropped 100 && counter_at_least $work/tcpimp.snap impair_tx_reordered 100 &&
   counter_at_least $work/tcpimp.snap tcp_retransmits 10"
check "SIGTERM: clean exit (impaired TCP)" stop_ok "$engine_pid" tcpimp

# A bounded SYN flood (#7): 20,000 SYNs from 100 spoofed on-link sources in
# at most 10 s fill the echo listener's backlog with handshakes nobody
# finishes; SYN cookies keep it serving a real client meanwhile.
read -r ns tap < <("$lab" up) || exit 1
namespaces+=("$ns")
check "engine starts with echo for the SYN flood" \
  start_engine "$ns" "$tap" synflood --ipv6 off --services echo --poll block
flood_ok() {  # flood_ok NS TAP
  local ns=$1 tap=$2 rc=0
  "$lab" exec "$ns" /usr/bin/python3 "$root/tests/lab/syn_flood.py" "$tap" 02:00:00:00:00:02 192.0.2.2 7 20000 100 8 \
    >"$work/synflood.out" 2>&1 &
  local flood_pid=$!
  pids+=("$flood_pid")
  for _ in $(seq 300); do grep -q flooding "$work/synflood.out" && break; sleep 0.1; done
  # The backlog is full once the engine answers with SYN cookies.
  cookies_sent() { counters "$engine_pid" synflood | grep -qE '^tcp_syncookies_sent [1-9]'; }
  wait_for 10 cookies_sent || rc=1
  "$lab" exec "$ns" /usr/bin/python3 "$root/tests/lab/tcp_while_flooded.py" 192.0.2.2 7 100000 6 5 || rc=1
  wait "$flood_pid" || rc=1
  cat "$work/synflood.out"
  return $rc
}
check "SYN flood of 20,000 spoofed SYNs: a real client still connects and echoes 100 KB, again and again" \
  flood_ok "$ns" "$tap"
counters "$engine_pid" synflood >"$work/synflood.snap" 2>&1
check "SYN flood counted: backlog full, cookies sent, the client's cookies accepted" bash -c \
  "$(declare -f counter_at_least); counter_at_least $work/synflood.snap tcp_syn_backlog_full 1000 &&
   counter_at_least $work/synflood.snap tcp_syncookies_sent 1000 && counter_at_least $work/synflood.snap tcp_syncookies_ok 5"
# Blind injections into a live connection (RFC 5961, PAWS) from scapy.
check "forged RST, SYN, bad-ACK data (one with a far-future timestamp) and old-timestamp data do not touch a live connection" \
  "$lab" exec "$ns" /usr/bin/python3 "$root/tests/lab/tcp_inject.py" "$tap" 02:00:00:00:00:02 192.0.2.2
counters "$engine_pid" synflood >"$work/inject.snap" 2>&1
check "injections counted: challenge ACKs for the RST, the SYN and the two bad ACKs; PAWS drop for the old stamp" bash -c \
  "$(declare -f counter_at_least); counter_at_least $work/inject.snap tcp_challenge_acks 4 &&
   counter_at_least $work/inject.snap tcp_paws_dropped 1"
check "SIGTERM: clean exit after the SYN flood" stop_ok "$engine_pid" synflood

# The stack opens, sends and closes: ringstack's clients against socat.
socat_ok() {  # socat_ok NS: echo (7) and daytime (13) servers on the kernel side, then both clients
  local ns=$1 rc=0
  "$lab" exec "$ns" socat TCP4-LISTEN:7,fork,reuseaddr EXEC:cat &
  local echo_pid=$!
  "$lab" exec "$ns" socat TCP4-LISTEN:13,fork,reuseaddr SYSTEM:'date -u' &
  local day_pid=$!
  pids+=("$echo_pid" "$day_pid")
  listening() { "$lab" exec "$ns" ss -Hltn 'sport = :7 or sport = :13' | wc -l | grep -qx 2; }
  wait_for 10 listening || return 1
  local out
  # Whole outputs first: `grep -q` ending a pipeline early would fail it
  # under pipefail.
  out=$(timeout 60 "$lab" exec "$ns" "$bin" --tap "$tap" --mac 02:00:00:00:00:03 --ip4 192.0.2.3/24 --acd off \
    --ipv6 off --poll block --echo-client 192.0.2.1 --echo-bytes 20000000 2>&1)
  echo "$out"
  grep -q 'received 20000000, all equal' <<<"$out" || rc=1
  out=$(timeout 60 "$lab" exec "$ns" "$bin" --tap "$tap" --mac 02:00:00:00:00:03 --ip4 192.0.2.3/24 --acd off \
    --ipv6 off --poll block --daytime-client 192.0.2.1 2>&1)
  echo "$out"
  grep -q "daytime 192.0.2.1: .*$(date -u +%Y)" <<<"$out" || rc=1
  kill -TERM "$echo_pid" "$day_pid" 2>/dev/null
  return $rc
}
check "ringstack's echo client (20 MB, checked) and daytime client against socat" socat_ok "$ns"

# The impairment stage on a real TAP: seeded loss shows in ping and counters.
impaired_ok() {  # impaired_ok NS
  local out lost dropped
  out=$("$lab" exec "$1" ping -n -q -c 200 -i 0.005 -W 1 192.0.2.2 2>&1)
  echo "$out"
  lost=$(sed -n 's/.* \([0-9]*\)[.0-9]*% packet loss.*/\1/p' <<<"$out")
  counters "$engine_pid" impaired >"$work/impaired.snap"
  dropped=$(awk '$1 == "impair_dropped" { print $2 }' "$work/impaired.snap")
  tx_dropped=$(awk '$1 == "impair_tx_dropped" { print $2 }' "$work/impaired.snap")
  echo "loss ${lost}%, impair_dropped ${dropped:-0}, impair_tx_dropped ${tx_dropped:-0}"
  # 30% loss each way: a round trip survives 0.7 * 0.7 = 49%; expect 40..62%
  # lost and drops counted on both sides.
  [ "${lost:-0}" -ge 40 ] && [ "${lost:-0}" -le 62 ] && [ "${dropped:-0}" -ge 40 ] && [ "${tx_dropped:-0}" -ge 20 ]
}
read -r ns tap < <("$lab" up) || exit 1
namespaces+=("$ns")
check "engine starts with --impair loss=0.3,seed=11" start_engine "$ns" "$tap" impaired --impair loss=0.3,seed=11
check "impaired TAP, 30% loss each way: ~51% of pings lost, drops counted" impaired_ok "$ns"
check "SIGTERM: clean exit (impaired)" stop_ok "$engine_pid" impaired

# A multi-queue TAP is attached as one of its queues.
read -r ns tap < <("$lab" up --multi-queue) || exit 1
namespaces+=("$ns")
check "engine attaches to a multi-queue TAP" start_engine "$ns" "$tap" mq --poll block
check "ping over the multi-queue TAP" ping_ok "$ns" 50 -i 0.01
check "SIGTERM: clean exit (multi-queue)" stop_ok "$engine_pid" mq

# --tap-queues 2: an RX thread per queue. Worker k writes through queue k and
# the kernel steers each flow back to the queue it was written on, so both
# queues and both workers carry traffic; data stays exact.
check "--tap-queues 2 --workers 2: attaches to two queues of the TAP" \
  start_engine "$ns" "$tap" mq2 --poll block --tap-queues 2 --workers 2 --services echo,iperf3 \
  --console "$work/mq2.sock"
mq_spread() {
  "$lab" exec "$ns" timeout 30 iperf3 -c 192.0.2.2 -t 2 -P 8 >"$work/mq2.iperf" 2>&1 || return 1
  "$lab" exec "$ns" timeout 30 iperf3 -c 192.0.2.2 -t 2 -P 8 -R >>"$work/mq2.iperf" 2>&1 || return 1
  grep "SUM.*receiver" "$work/mq2.iperf"
  "$ctl" -s "$work/mq2.sock" show counters rx_frames --scopes >"$work/mq2.scopes" || return 1
  "$ctl" -s "$work/mq2.sock" show counters tcp_rx --scopes >>"$work/mq2.scopes" || return 1
  cat "$work/mq2.scopes"
  awk '$1 == "rx_frames" && $3 >= 1000 { q++ } $1 == "tcp_rx" && $3 >= 1000 { w++ }
       END { exit !(q == 2 && w == 2) }' "$work/mq2.scopes"
}
check "--tap-queues 2: iperf3 -P 8 each way spreads over both queues and both workers" mq_spread
check "--tap-queues 2: 20 MB echo sha-exact" \
  "$lab" exec "$ns" /usr/bin/python3 "$root/tests/lab/tcp_echo_check.py" 192.0.2.2 7 20000000 60
check "SIGTERM: clean exit (two queues)" stop_ok "$engine_pid" mq2

# --tap-queues on a single-queue TAP: exit 2 and what to do.
read -r ns tap < <("$lab" up) || exit 1
namespaces+=("$ns")
check "--tap-queues 2 on a single-queue TAP: exit 2, says how to make one" \
  exit2_says "mode tap multi_queue" "$lab" exec "$ns" "$bin" --tap "$tap" --ip4 192.0.2.2/24 --tap-queues 2

# A TAP that does not exist yet is created (and brought up) by the engine.
created_tap_ok() {  # created_tap_ok NS
  local ns=$1
  "$lab" exec "$ns" "$bin" --tap rsnew0 --mac 02:00:00:00:00:03 --ip4 198.51.100.2/24 --acd off --poll block \
    --counters-file "$work/new.counters" 2>"$work/new.log" &
  local pid=$!
  pids+=("$pid")
  for _ in $(seq 50); do grep -q "up on" "$work/new.log" && break; sleep 0.1; done
  cat "$work/new.log"
  grep -q "(created)" "$work/new.log" || return 1
  "$lab" exec "$ns" ip addr add 198.51.100.1/24 dev rsnew0 || return 1
  "$lab" exec "$ns" ping -n -q -c 10 -i 0.01 -w 5 198.51.100.2 | tee /dev/stderr | grep -q " 10 received"
}
check "engine creates a missing TAP and answers on it" created_tap_ok "$ns"

# The TAP deleted under a running engine: it says so and exits 1 (instead of
# spinning on a dead fd).
tap_deleted_ok() {  # tap_deleted_ok NS TAP
  local ns=$1 tap=$2
  start_engine "$ns" "$tap" deleted --poll block || return 1
  local pid=$engine_pid
  ip -n "$ns" link del "$tap"
  local rc=0
  timeout 5 tail --pid="$pid" -f /dev/null || rc=$?
  wait "$pid"
  local exit_code=$?
  cat "$work/deleted.log"
  [ "$rc" -eq 0 ] && [ "$exit_code" -eq 1 ] && grep -q "TAP $tap failed" "$work/deleted.log"
}
read -r ns tap < <("$lab" up) || exit 1
namespaces+=("$ns")
check "TAP deleted under the engine: exit 1 with the reason" tap_deleted_ok "$ns" "$tap"

# Start-up errors: one line, exit 2.
check "bad address: exit 2, one line" exit2_says "is not ADDR/LEN" "$bin" --tap rsx0 --ip4 192.0.2.300/24
check "missing --tap: exit 2, one line" exit2_says "--tap: required" "$bin" --ip4 192.0.2.2/24
check "not root: exit 2, says CAP_NET_ADMIN" exit2_says "CAP_NET_ADMIN" \
  setpriv --reuid=65534 --regid=65534 --clear-groups "$bin" --tap rsx0 --ip4 192.0.2.2/24
check "no /dev/net/tun: exit 2, says modprobe tun" exit2_says "modprobe tun" \
  unshare -m bash -c "mount -t tmpfs none /dev/net && exec \"$bin\" --tap rsx0 --ip4 192.0.2.2/24"

[ "$failures" -eq 0 ]
