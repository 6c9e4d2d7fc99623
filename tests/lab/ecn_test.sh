#!/usr/bin/env bash
# Lab test: ECN (RFC 3168) against Linux. Linux asks (net.ipv4.tcp_ecn=1)
# and ringstack, passive by default, agrees: Linux's TCP_INFO says so
# (TCPI_OPT_ECN; the ss of iproute2 6.1 shows no options against this
# kernel).
# ringstack's impairment stage marks CE on the ECN-capable frames it
# receives: ringstack echoes ECE and Linux's sender answers with CWR (its
# window reduced). Marks on the frames ringstack sends: Linux echoes ECE,
# ringstack reduces (counted) and retransmits nothing (no loss). ringstack
# asks (--tcp-ecn on) of a Linux server with tcp_ecn=2: Linux's SYN-ACK
# agrees. Accurate ECN (RFC 9768): its fallback against Linux, two engines
# speaking it through the kernel, and a scapy-made AccECN client (below).
# TAP-style output.
#
# usage: tests/lab/ecn_test.sh BUILD_DIR
set -uo pipefail
source "$(dirname "$0")/lab_lib.sh" "${1:-}"

sock=$work/console.sock
py() { "$lab" exec "$ns" /usr/bin/python3 "$root/tests/lab/ecn_peer.py" "$@"; }

# start NAME ARGS...: the engine in $ns on $tap with its console at $sock.
start() {
  local name=$1
  shift
  rm -f "$sock"
  "$lab" exec "$ns" "$bin" --tap "$tap" --mac 02:00:00:00:00:02 --console "$sock" --poll block --ip4 192.0.2.2/24 \
    --acd off --ipv6 off --counters-file "$work/$name.counters" "$@" 2>"$work/$name.log" &
  engine_pid=$!
  engine_name=$name
  pids+=("$engine_pid")
  wait_for 10 grep -q "console on" "$work/$name.log" && return 0
  cat "$work/$name.log"
  return 1
}

# capture NAME FILTER / captured NAME: tcpdump on the TAP into NAME.pcap.
capture() {
  "$lab" exec "$ns" tcpdump -i "$tap" -w "$work/$1.pcap" -U "$2" 2>"$work/$1.tcpdump" &
  tcpdump_pid=$!
  pids+=("$tcpdump_pid")
  wait_for 10 grep -q "listening on" "$work/$1.tcpdump"
}
captured() {
  kill -INT "$tcpdump_pid"
  wait "$tcpdump_pid" 2>/dev/null
}
count() {  # count NAME DISPLAY_FILTER: packets of NAME.pcap that match
  tshark -r "$work/$1.pcap" -Y "$2" 2>/dev/null | wc -l
}

read -r ns tap < <("$lab" up) || exit 1
namespaces+=("$ns")
"$lab" exec "$ns" sysctl -qw net.ipv4.tcp_ecn=1

# --- Linux asks; CE marks on what ringstack receives ---------------------------
check "engine starts with echo and discard, CE marks on 3% of ECN-capable frames received" \
  start rx --services echo,discard --impair ce=0.03,ce_dir=rx,seed=5
check "Linux (tcp_ecn=1) to ringstack's echo: ECN agreed (Linux's TCP_INFO has TCPI_OPT_ECN)" \
  py negotiated 192.0.2.2 7
capture rx 'tcp port 9'
check "Linux sends 20 MB to ringstack's discard through the marks" py send 192.0.2.2 9 20000000
captured
marks_answered() {
  local ece cwr
  ece=$(count rx 'ip.src == 192.0.2.2 && tcp.flags.ece == 1 && tcp.flags.syn == 0')
  cwr=$(count rx 'ip.src == 192.0.2.1 && tcp.flags.cwr == 1 && tcp.len > 0')
  echo "ringstack's ACKs with ECE: $ece; Linux's data with CWR (its window reduced): $cwr"
  [ "$ece" -ge 1 ] && [ "$cwr" -ge 1 ]
}
check "the marks echoed: ringstack's ACKs carry ECE, Linux's sender reduces and says CWR" marks_answered
rx_counted() {
  counter_ge impair_ce_marked 10 && counter_ge tcp_ecn_ce_received 10 && counter_ge tcp_ecn_established 2
}
check "counted: frames marked, CE received, ECN connections" rx_counted
check "SIGTERM: clean exit" stop_clean

# --- CE marks on what ringstack sends ------------------------------------------
check "engine starts with chargen, CE marks on 2% of ECN-capable frames sent" \
  start tx --services chargen --impair ce=0.02,ce_dir=tx,seed=7
capture tx 'tcp port 19'
# 40 MB: with TAP offload the frames are super-frames of up to 64 KiB, and
# 2% of some 600 of them is the dozen marks the checks below want.
check "Linux reads 40 MB from ringstack's chargen through the marks" py recv 192.0.2.2 19 40000000
captured
linux_echoes() {
  local ece
  ece=$(count tx 'ip.src == 192.0.2.1 && tcp.flags.ece == 1 && tcp.flags.syn == 0')
  echo "Linux's ACKs with ECE: $ece"
  [ "$ece" -ge 1 ]
}
check "Linux echoes the marks with ECE" linux_echoes
tx_counted() {
  counter_ge impair_tx_ce_marked 10 && counter_ge tcp_ecn_reductions 1 && counter_eq tcp_retransmits 0
}
check "ringstack reduced for them (tcp_ecn_reductions) and retransmitted nothing" tx_counted
check "SIGTERM: clean exit" stop_clean

# --- ringstack asks ------------------------------------------------------------
"$lab" exec "$ns" sysctl -qw net.ipv4.tcp_ecn=2
"$lab" exec "$ns" socat TCP4-LISTEN:7,fork,reuseaddr EXEC:cat &
socat_pid=$!
pids+=("$socat_pid")
listening() { "$lab" exec "$ns" ss -Hltn 'sport = :7' | grep -q .; }
wait_for 10 listening
capture client 'tcp port 7'
client_ok() {  # client_ok MODE: ringstack's echo client with --tcp-ecn MODE against socat
  local out
  out=$(timeout 60 "$lab" exec "$ns" "$bin" --tap "$tap" --mac 02:00:00:00:00:03 --ip4 192.0.2.3/24 --acd off \
    --ipv6 off --poll block --tcp-ecn "$1" --counters-file "$work/client-$1.counters" --echo-client 192.0.2.1 \
    --echo-bytes 2000000 2>&1)
  echo "$out"
  grep -q 'received 2000000, all equal' <<<"$out"
}
check "ringstack's echo client with --tcp-ecn on against a Linux server (tcp_ecn=2)" client_ok on
check "... and with the default (passive)" client_ok passive
captured
client_agreed() {
  local synack
  synack=$(count client 'ip.src == 192.0.2.1 && tcp.flags.syn == 1 && tcp.flags.ack == 1 && tcp.flags.ece == 1')
  echo "Linux's ECN-setup SYN-ACKs: $synack"
  # (The counters file leaves out counters that are zero.)
  [ "$synack" -eq 1 ] && counter_at_least "$work/client-on.counters" tcp_ecn_established 1 &&
    grep -q "^tcp_rx " "$work/client-passive.counters" &&
    ! grep -q "^tcp_ecn_established [1-9]" "$work/client-passive.counters"
}
check "Linux agreed when ringstack asked (its SYN-ACK with ECE), and only then" client_agreed

# --- Accurate ECN (RFC 9768) ----------------------------------------------------
# This kernel (6.18) carries AccECN's code but no switch for it: its
# net.ipv4.tcp_ecn takes 0 to 2 (3, AccECN, came with a later release). So
# against Linux the fallback shows: ringstack's AccECN SYN gets an RFC 3168
# SYN-ACK and RFC 3168 ECN is used. AccECN itself runs between two
# ringstack engines over the kernel: A on the lab's TAP, B on a second TAP
# in the namespace, the kernel routing between them; A's impairment stage
# marks CE on 2% of the ECN-capable frames it sends (TAP offload off, so a
# frame is a segment), and every count must agree: frames A marked, CE
# frames the kernel delivered to B's TAP (the capture), CE packets B
# counted, CE packets B's ACE field reported to A, and CE bytes B's AccECN
# option reported against the capture's.
capture acc 'tcp port 7'
check "ringstack's echo client with --tcp-ecn accecn against a Linux server (tcp_ecn=2)" client_ok accecn
captured
fell_back() {
  local syn synack
  # (tshark reads ACE on SYNs as the flag bits: AE 0x100, CWR 0x80, ECE 0x40, ACK 0x10, SYN 0x02.)
  syn=$(count acc 'ip.src == 192.0.2.3 && tcp.flags == 0x1c2')
  synack=$(count acc 'ip.src == 192.0.2.1 && tcp.flags == 0x052')
  echo "ringstack's SYNs with AE, CWR, ECE: $syn; Linux's SYN-ACKs with ECE alone: $synack"
  [ "$syn" -eq 1 ] && [ "$synack" -eq 1 ] && counter_at_least "$work/client-accecn.counters" tcp_accecn_fallback 1 &&
    counter_at_least "$work/client-accecn.counters" tcp_ecn_established 1
}
check "its SYN asked for AccECN, Linux answered as RFC 3168 says, RFC 3168 ECN was used" fell_back

"$lab" exec "$ns" sysctl -qw net.ipv4.ip_forward=1
"$lab" exec "$ns" ip tuntap add dev rsacc mode tap
"$lab" exec "$ns" ip addr add 198.51.100.1/24 dev rsacc
"$lab" exec "$ns" ip link set rsacc up
sock=$work/acc-b.sock
"$lab" exec "$ns" "$bin" --tap rsacc --mac 02:00:00:00:00:05 --ip4 198.51.100.2/24@198.51.100.1 --acd off \
  --ipv6 off --poll block --tap-offload off --tcp-ecn accecn --services echo --console "$sock" \
  --counters-file "$work/acc-b.counters" 2>"$work/acc-b.log" &
engine_pid=$!
engine_name=acc-b
pids+=("$engine_pid")
check "engine B starts on a second TAP, the kernel routing to it" wait_for 10 grep -q "console on" "$work/acc-b.log"
# (A 32 MB capture buffer: under the suite's load the default one dropped a
# frame of the 8,000, and the count below compares every CE frame.)
"$lab" exec "$ns" tcpdump -i rsacc -B 32768 -w "$work/accb.pcap" -U 'tcp port 7' 2>"$work/accb.tcpdump" &
tcpdump_pid=$!
pids+=("$tcpdump_pid")
wait_for 10 grep -q "listening on" "$work/accb.tcpdump"
accecn_client() {
  local out
  out=$(timeout 60 "$lab" exec "$ns" "$bin" --tap "$tap" --mac 02:00:00:00:00:03 --ip4 192.0.2.3/24@192.0.2.1 \
    --acd off --ipv6 off --poll block --tap-offload off --tcp-ecn accecn --impair ce=0.02,ce_dir=tx,seed=9 \
    --counters-file "$work/acc-a.counters" --echo-client 198.51.100.2 --echo-bytes 4000000 2>&1)
  echo "$out"
  grep -q 'received 4000000, all equal' <<<"$out"
}
check "engine A's echo client (--tcp-ecn accecn, CE on 2% of its frames) sends B 4 MB through the kernel" accecn_client
captured
acc_agreed() {
  local syn synack opts
  syn=$(count accb 'ip.src == 192.0.2.3 && tcp.flags == 0x1c2')
  synack=$(count accb 'ip.src == 198.51.100.2 && tcp.flags == 0x092')
  opts=$(count accb 'ip.src == 198.51.100.2 && tcp.flags.syn == 0 && tcp.options.acc_ecn')
  echo "AccECN SYNs: $syn; SYN-ACKs saying the SYN came Not-ECT (ACE 010): $synack; B's segments with the option: $opts"
  [ "$syn" -eq 1 ] && [ "$synack" -eq 1 ] && [ "$opts" -ge 10 ] &&
    counter_at_least "$work/acc-a.counters" tcp_accecn_established 1
}
check "AccECN agreed (tshark: the SYN's AE, CWR and ECE, the SYN-ACK's ACE, the option on B's ACKs)" acc_agreed
check "SIGTERM: engine B's clean exit" stop_clean
acc_counted() {
  local a=$work/acc-a.counters b=$work/acc-b.counters marked frames bytes received delivered reported
  marked=$(sed -n 's/^impair_tx_ce_marked //p' "$a")
  read -r frames bytes < <(tshark -r "$work/accb.pcap" -Y 'ip.src == 192.0.2.3 && ip.dsfield.ecn == 3' \
    -T fields -e tcp.len 2>/dev/null | awk '{n++; s += $1} END {print n + 0, s + 0}')
  received=$(sed -n 's/^tcp_ecn_ce_received //p' "$b")
  delivered=$(sed -n 's/^tcp_accecn_ce_delivered //p' "$a")
  reported=$(sed -n 's/^tcp_accecn_ce_bytes //p' "$a")
  echo "A marked $marked; B's TAP saw $frames CE frames ($bytes bytes); B counted $received;" \
    "A heard of $delivered by ACE and $reported bytes by the option"
  [ "${marked:-0}" -ge 20 ] && [ "$frames" -eq "$marked" ] && [ "${received:-0}" -eq "$frames" ] &&
    [ "${delivered:-0}" -eq "$frames" ] && [ "${reported:-0}" -eq "$bytes" ] &&
    counter_at_least "$a" tcp_ecn_reductions 1
}
check "every CE mark counted alike: marked by A, seen on B's TAP, counted by B, reported back to A (packets, bytes)" \
  acc_counted

# A scapy-made AccECN client (its own encoding of ACE and the option) to
# ringstack's echo; the kernel's RSTs for its port are dropped.
"$lab" exec "$ns" nft -f - <<'EOF'
table ip rs_accecn {
  chain out {
    type filter hook output priority 0;
    ip daddr 192.0.2.2 tcp sport 42000 tcp flags rst drop
  }
}
EOF
sock=$work/console.sock
check "engine starts with echo and --tcp-ecn accecn" start accp --services echo --tcp-ecn accecn
check "a scapy AccECN client: the handshake's feedback, ACE and the option count its CE marks (packets, bytes)" \
  "$lab" exec "$ns" /usr/bin/python3 "$root/tests/lab/accecn_peer.py" "$tap" 02:00:00:00:00:02 192.0.2.2 42000
peer_counted() {
  counter_eq tcp_accecn_established 1 && counter_eq tcp_ecn_ce_received 2 && counter_eq tcp_accecn_ce_delivered 1 &&
    counter_eq tcp_accecn_ce_bytes 100
}
check "counted: one AccECN connection, two CE packets received, one of ours reported (100 bytes)" peer_counted
check "SIGTERM: clean exit" stop_clean

echo "# $failures failed"
[ "$failures" -eq 0 ]
