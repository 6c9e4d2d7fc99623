// ringstack: flags -> Config -> Engine, run until SIGINT/SIGTERM.
//
// Exit status: 0 after a clean shutdown; 2 when the flags, the configuration
// or the start-up (TAP, permissions) are wrong, with one line saying why; 1
// when the TAP fails while running (deleted under us).
// SIGUSR1 writes the counters without stopping (to --counters-file if given).
#include <mimalloc.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "engine/config.h"
#include "engine/engine.h"
#include "sockets/api.h"
#include "engine/console/console.h"
#include "engine/console/engine_commands.h"
#include "sockets/clients.h"
#include "sockets/iperf3.h"
#include "sockets/console_commands.h"
#include "sockets/ping.h"
#include "sockets/services.h"

ABSL_FLAG(std::string, tap, "", "TAP interface to attach to (created if missing)");
ABSL_FLAG(std::string, tap_offload, "on",
          "on: IFF_VNET_HDR with checksum offload and TSO4/TSO6 on the TAP: the kernel hands over TCP frames of up "
          "to 64 KiB and takes 64 KiB TCP super-segments, with checksums left to it | off: one wire frame per read "
          "and write, every checksum computed here");
ABSL_FLAG(int, tap_queues, 1,
          "queues of a multi-queue TAP to attach, an RX thread each (1 to 16); more than 1 makes the TAP "
          "multi-queue if it is created here, and worker k writes through queue k mod N, so the kernel steers "
          "each worker's flows back to that queue");
ABSL_FLAG(std::string, tx_inline, "on",
          "on: a worker writes its own frame to the TAP when none of its frames waits for the TX thread (one "
          "thread hand-off fewer per frame; order kept) | off: every frame goes through the TX thread");
ABSL_FLAG(std::string, fuse, "auto",
          "auto: on when a thread per stage (TAP queues + workers + timer + TX) would outnumber the CPUs | "
          "on: stages share threads, thread k running worker k with the RX stages of TAP queues q where q mod "
          "workers = k, thread 0 also the timer stage, TX its own thread; a hand-off between stages of one "
          "thread costs no wake-up | off: a thread per stage");
ABSL_FLAG(std::string, mac, "", "Ethernet address (default: random locally administered 02:...)");
ABSL_FLAG(std::string, ip4, "",
          "IPv4 address/prefix with an optional gateway, e.g. 192.0.2.2/24 or 192.0.2.2/24@192.0.2.1; repeat or "
          "comma-separate for more");
ABSL_FLAG(std::string, gw4, "", "IPv4 default gateway (must be on an --ip4 network); same as @GW on that address");
ABSL_FLAG(std::string, route4, "", "static IPv4 route NET/LEN@GATEWAY, e.g. 198.51.100.0/24@192.0.2.1; repeatable");
ABSL_FLAG(std::string, acd, "on",
          "on: RFC 5227 Address Conflict Detection probes each --ip4 address (about 5 s) before using it, and an "
          "address another host holds is not used | off: use the addresses at once");
ABSL_FLAG(bool, dhcp4, false,
          "get an IPv4 address, prefix, router and DNS servers by DHCP (RFC 2131), besides any --ip4; the offered "
          "address is probed (--acd) before use and declined if taken; renewed at T1, rebound at T2");
ABSL_FLAG(std::string, dhcp4_previous, "",
          "with --dhcp4: the address of an earlier lease; the client starts in INIT-REBOOT and asks for it back "
          "(RFC 2131 3.2), falling back to a fresh DISCOVER on NAK or silence");
ABSL_FLAG(std::string, ipv6, "on",
          "on: IPv6 with a link-local address (EUI-64), DAD, SLAAC from router advertisements, ND and MLDv2 | off: "
          "no IPv6 at all (frames counted and dropped)");
ABSL_FLAG(std::string, ip6_stable, "",
          "SECRET (16+ characters): RFC 7217 stable-privacy interface identifiers for the link-local and SLAAC "
          "addresses instead of EUI-64 (the same secret gives the same addresses on the same network)");
ABSL_FLAG(std::string, ping, "",
          "ADDR: once up, ping ADDR (IPv4 or IPv6) from ringstack's own stack until --ping-count replies came "
          "(or 30 s passed), print them, and exit: 0 if all came back, 1 if not");
ABSL_FLAG(int, ping_count, 3, "replies --ping waits for (1..1000)");
ABSL_FLAG(std::string, echo_client, "",
          "ADDR: once up, connect to ADDR's TCP echo port (7), send --echo-bytes bytes while reading them back, "
          "check them, print a summary and exit 0 if all came back equal, 1 if not");
ABSL_FLAG(int64_t, echo_bytes, 1 << 20, "bytes --echo-client sends (0..2^40)");
ABSL_FLAG(std::string, daytime_client, "",
          "ADDR: once up, connect to ADDR's TCP daytime port (13), print what it says, exit 0 (1 on an error)");
ABSL_FLAG(std::string, iperf3, "",
          "\"ADDR [-t S] [-P N] [-R | --bidir] [-u [-b RATE]] [-l LEN] [-n BYTES] [-O S] [-i S] [-C CC] [-N] [-p PORT]\": "
          "once up, run one iperf3 client test against ADDR (an iperf3 server, port 5201), print its intervals and "
          "summary, exit 0 (1 when the test failed)");
ABSL_FLAG(int, tcp_rto_min, 200,
          "the TCP retransmission timeout's floor in milliseconds (1..1000; RFC 6298 says 1000, Linux uses "
          "200); lower suits sub-millisecond paths, where a timeout costs thousands of round trips");
ABSL_FLAG(int, tcp_msl, 30, "TCP Maximum Segment Lifetime in seconds (1..240); TIME-WAIT lasts twice this");
ABSL_FLAG(std::string, tcp_cc, "cubic",
          "TCP congestion control: cubic (RFC 9438, with HyStart++), newreno, or bbr (BBR v1: a model of the "
          "path's bandwidth and round-trip time sets a paced rate and cwnd; loss alone does not cut it)");
ABSL_FLAG(std::string, tcp_recovery, "rack",
          "TCP loss recovery: rack (RACK-TLP, RFC 8985), sack (RFC 6675 DupThresh), both with PRR and D-SACK "
          "undo; or newreno (RFC 6582, SACK not used)");
ABSL_FLAG(std::string, tcp_frto, "on",
          "on or off: F-RTO (RFC 5682) tells a spurious retransmission timeout by the ACKs after it and undoes its "
          "reduction (connections with SACK)");
ABSL_FLAG(std::string, tcp_ecn, "passive",
          "TCP ECN (RFC 3168): off; passive (agreed when the peer's SYN asks, as Linux's tcp_ecn=2); on (our SYNs "
          "ask too); accecn (Accurate ECN, RFC 9768: our SYNs ask for it, a peer's AccECN SYN gets it, RFC 3168 "
          "ECN when that is what the peer asks or answers)");
ABSL_FLAG(std::string, tcp_mtu_probing, "off",
          "off, blackhole or on: RFC 4821 black-hole detection; a path that drops large TCP segments without an "
          "ICMP report is found by timeouts in a row of a large segment, which lower the segment size to 1024 and "
          "then halve it (to 536 for IPv4, 1220 for IPv6), as Linux's tcp_mtu_probing=1; on: then probes back up "
          "with single larger segments of data (a binary search; a lost probe costs no congestion reduction), and "
          "again every ten minutes. ICMP path MTU reports (RFC 1191, RFC 8201) are always acted on");
ABSL_FLAG(std::string, tcp_pacing, "off",
          "on or off: pace CUBIC and NewReno connections at cwnd/SRTT (x2 in slow start, x1.2 after, as Linux's "
          "fq pacing), bursts of at most a millisecond's worth; --tcp-cc bbr always paces, at its own rate");
ABSL_FLAG(std::string, tcp_fastopen, "client",
          "TCP Fast Open (RFC 7413), as Linux's tcp_fastopen bits: off; client (sockets may send data in the SYN "
          "with MSG_FASTOPEN or TCP_FASTOPEN_CONNECT: the first connection to a server asks for a cookie, later "
          "ones carry data); server (every listener hands out cookies and takes data in a SYN with a good one, "
          "delivering it at accept before the handshake ends, at most TCP_FASTOPEN's queue length, else the "
          "backlog, such connections at a time); both");
ABSL_FLAG(std::string, tcp_syncookies, "on", "on or off: answer SYNs with cookies when a listener's backlog is full");
ABSL_FLAG(int, tcp_challenge_ack_limit, 1000,
          "RFC 5961 challenge ACKs per second and worker, about (1..1000000; each second's budget is drawn "
          "from [N/2, 3N/2))");
ABSL_FLAG(std::string, tcp_trace, "",
          "DIR: write one CSV per TCP connection there (time, cwnd, ssthresh, pipe, in_flight, srtt, ...), "
          "a row per ACK or timer event");
ABSL_FLAG(std::string, reassembly_mem6, "4M",
          "memory for IPv6 datagrams being reassembled (one source may use a quarter), e.g. 512K, 16M");
ABSL_FLAG(int, tcp_max_sessions, 16384,
          "TCP connections at once, in all states (1..10000000; each worker holds its share): past it a SYN is "
          "dropped (counted tcp_drop_session_limit) and connect() fails with ENOBUFS");
ABSL_FLAG(int, tcp_max_half_open, 1024,
          "TCP handshakes in SYN-RECEIVED at once (1..1000000; each worker its share): past it SYNs are answered "
          "with cookies (--tcp-syncookies on) or dropped; counted tcp_half_open_limit");
ABSL_FLAG(int, neighbour_cache, 1024,
          "entries in the ARP cache and in the IPv6 neighbour cache, each (16..1048576); a full cache resolves "
          "nothing new (counted) and keeps the entries it has");
ABSL_FLAG(int, neighbour_pending, 48,
          "packets held per neighbour being resolved (1..48; the newest kept, the rest counted "
          "neighbour_drop_park_full)");
ABSL_FLAG(std::string, socket_buffer_max, "16M",
          "the most SO_RCVBUF/SO_SNDBUF may give one socket (64K..1G), as Linux's net.core.rmem_max/wmem_max");
ABSL_FLAG(std::string, reassembly_mem, "4M",
          "memory for IPv4 datagrams being reassembled (one source may use a quarter), e.g. 512K, 16M");
ABSL_FLAG(std::string, ip6, "", "IPv6 address/prefix, e.g. 2001:db8:0:1::2/64; repeat or comma-separate for more");
ABSL_FLAG(std::string, gw6, "", "IPv6 default gateway");
ABSL_FLAG(std::string, services, "",
          "services to run on the socket API, over UDP and TCP, IPv4 and IPv6: echo (7), discard (9), daytime (13), "
          "chargen (19), and iperf3 (5201: a server for the iperf3 client, TCP and UDP tests)");
ABSL_FLAG(int, workers, 1, "protocol worker shards (1..64); shard 0 is the control shard");
ABSL_FLAG(std::string, pin, "none", "thread pinning: none | auto | rx=CPU,tx=CPU,timer=CPU,w0=CPU,...");
ABSL_FLAG(std::string, poll, "adaptive", "idle strategy: adaptive (default: poll 2000 more times, then sleep, when every stage thread has a CPU; else sleep at once) | block (sleep at once) | busy (spin)");
ABSL_FLAG(std::string, log_level, "info",
          "LEVEL[,SUBSYSTEM=LEVEL...]: error | warn | info | debug | trace, for all subsystems or one of engine, "
          "link, arp, ip4, ip6, icmp, nd, dhcp4, udp, tcp, console (e.g. info,tcp=debug); the console's "
          "'log level' changes them while running");
ABSL_FLAG(std::string, trace, "",
          "LAYER,...: log one line per frame received or sent that carries one of these layers: eth, arp, ip, "
          "ip4, ip6, icmp, icmp4, icmp6, udp, tcp, or all (off by default; the console's 'trace' switches it)");
ABSL_FLAG(std::string, console, "auto",
          "PATH: the console's Unix socket, for ringstack-ctl | auto: /run/ringstack/<tap>.sock | off");
ABSL_FLAG(std::string, pcap, "",
          "FILE: capture every frame received and sent, from the start, to this pcap file (tshark -r FILE reads "
          "it); the console's 'capture start FILE' does the same while running");
ABSL_FLAG(std::string, pcap_size, "64M", "rotate the capture file when it would pass this size (64K..1T; K, M, G)");
ABSL_FLAG(int, pcap_files, 4, "capture files kept when rotating: FILE, FILE.1, ... (1..1000)");
ABSL_FLAG(int, ring_size, 1024, "slots in each RX->worker and worker->TX ring (power of two)");
ABSL_FLAG(int, pool_buffers, 8192, "2 KiB packet buffers allocated at start");
ABSL_FLAG(int, rx_batch, 64, "frames read per RX wake-up");
ABSL_FLAG(std::string, impair, "",
          "impair frames: loss=P,dup=P,reorder=P,corrupt=P,delay=5ms,ce=P,ce_dir=rx|tx|both,seed=N (loss, dup, "
          "reorder both ways; corrupt, delay on received frames; ce marks CE on ECN-capable packets received, sent "
          "or both)");
ABSL_FLAG(std::string, counters_file, "", "write counters here on SIGUSR1 and at exit (default: stderr)");

namespace {

// Flag names are written with dashes (--log-level) and declared with
// underscores (absl's rule): --foo-bar[=v] becomes --foo_bar[=v].
std::string Underscored(std::string arg) {
  if (arg.rfind("-", 0) != 0) return arg;
  const std::size_t start = arg.find_first_not_of('-');
  const std::size_t end = std::min(arg.find('='), arg.size());
  for (std::size_t i = start; i < end && start != std::string::npos; ++i) {
    if (arg[i] == '-') arg[i] = '_';
  }
  return arg;
}

// absl keeps only the last value of a repeated flag; ringstack's CLI lets
// --ip4/--ip6/--route4 repeat, so join their occurrences into one comma list first.
std::vector<std::string> JoinRepeated(int argc, char** argv) {
  static constexpr const char* kRepeatable[] = {"ip4", "ip6", "route4"};
  std::vector<std::string> out{argv[0]};
  std::vector<std::string> values[std::size(kRepeatable)];
  bool flags_done = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") flags_done = true;
    if (!flags_done) arg = Underscored(arg);
    bool taken = false;
    for (std::size_t r = 0; r < std::size(kRepeatable) && !taken; ++r) {
      for (const std::string dashes : {"--", "-"}) {
        const std::string bare = dashes + kRepeatable[r];
        if (arg == bare && i + 1 < argc) {
          values[r].push_back(argv[++i]);
          taken = true;
          break;
        }
        if (arg.rfind(bare + "=", 0) == 0) {
          values[r].push_back(arg.substr(bare.size() + 1));
          taken = true;
          break;
        }
      }
    }
    if (!taken) out.push_back(arg);
  }
  for (std::size_t r = 0; r < std::size(kRepeatable); ++r) {
    if (!values[r].empty()) out.push_back(absl::StrCat("--", kRepeatable[r], "=", absl::StrJoin(values[r], ",")));
  }
  return out;
}

int AllowedCpus() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return 1;
  // Pinning names CPU numbers; allow up to the highest one we may use.
  int highest = 0;
  for (int i = 0; i < CPU_SETSIZE; ++i) {
    if (CPU_ISSET(i, &set)) highest = i;
  }
  return highest + 1;
}

int Fail(const std::string& msg) {
  std::fprintf(stderr, "ringstack: error: %s\n", msg.c_str());
  return 2;
}

// To --counters-file whole or not at all: written beside it, then renamed
// over it, so a reader never sees a half-written file.
void WriteCounters(ringstack::engine::Engine& engine, const std::string& path) {
  std::FILE* out = stderr;
  const std::string partial = path + ".partial";
  if (!path.empty()) {
    out = std::fopen(partial.c_str(), "w");
    if (out == nullptr) {
      std::fprintf(stderr, "ringstack: cannot write counters to %s: %s\n", partial.c_str(), std::strerror(errno));
      return;
    }
  }
  engine.PrintCounters(out);
  for (const std::string& line : engine.TcpSessionReport()) std::fprintf(out, "%s\n", line.c_str());
  if (out == stderr) return;
  if (std::fclose(out) != 0 || std::rename(partial.c_str(), path.c_str()) != 0) {
    std::fprintf(stderr, "ringstack: cannot write counters to %s: %s\n", path.c_str(), std::strerror(errno));
  }
}

namespace engine = ringstack::engine;
namespace sockets = ringstack::sockets;

// --help lists the flags of this file (absl would look for ringstack.cc).
void SetUsage() {
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [](absl::string_view path) { return absl::EndsWith(path, "engine/main.cc"); };
  usage.contains_helpshort_flags = usage.contains_help_flags;
  absl::SetFlagsUsageConfig(usage);
  absl::SetProgramUsageMessage(
      "a userspace TCP/IP stack on a Linux TAP interface.\n"
      "usage: ringstack --tap NAME [--tap-offload on|off] [--tap-queues N] [--mac MAC] [--ip4 ADDR/LEN[@GW]]... [--gw4 ADDR] [--route4 NET/LEN@GW]...\n"
      "                 [--dhcp4 [--dhcp4-previous ADDR]] [--acd on|off] [--reassembly-mem[6] SIZE]\n"
      "                 [--tcp-max-sessions N] [--tcp-max-half-open N] [--neighbour-cache N] [--neighbour-pending N]\n"
      "                 [--ipv6 on|off] [--ip6 ADDR/LEN]... [--gw6 ADDR] [--ip6-stable SECRET]\n"
      "                 [--services LIST] [--ping ADDR [--ping-count N]] [--iperf3 \"ADDR [OPTIONS]\"]\n"
      "                 [--workers N] [--pin SPEC] [--tx-inline on|off] [--fuse auto|on|off]\n"
      "                 [--poll busy|adaptive|block] [--log-level L] [--trace LAYERS] [--impair SPEC]\n"
      "                 [--console PATH|auto|off] [--pcap FILE [--pcap-size SIZE] [--pcap-files N]]\n"
      "runs until SIGINT/SIGTERM; SIGUSR1 prints counters; ringstack-ctl talks to its console.\n"
      "Exit 2 on a bad flag or start-up error, 1 when the TAP fails while running.");
}

engine::RawFlags ReadFlags() {
  engine::RawFlags raw;
  raw.tap = absl::GetFlag(FLAGS_tap);
  raw.tap_offload = absl::GetFlag(FLAGS_tap_offload);
  raw.tap_queues = absl::GetFlag(FLAGS_tap_queues);
  raw.tx_inline = absl::GetFlag(FLAGS_tx_inline);
  raw.fuse = absl::GetFlag(FLAGS_fuse);
  raw.mac = absl::GetFlag(FLAGS_mac);
  raw.ip4 = absl::GetFlag(FLAGS_ip4);
  raw.gw4 = absl::GetFlag(FLAGS_gw4);
  raw.route4 = absl::GetFlag(FLAGS_route4);
  raw.acd = absl::GetFlag(FLAGS_acd);
  raw.dhcp4 = absl::GetFlag(FLAGS_dhcp4);
  raw.ipv6 = absl::GetFlag(FLAGS_ipv6);
  raw.ip6_stable = absl::GetFlag(FLAGS_ip6_stable);
  raw.dhcp4_previous = absl::GetFlag(FLAGS_dhcp4_previous);
  raw.reassembly_mem = absl::GetFlag(FLAGS_reassembly_mem);
  raw.reassembly_mem6 = absl::GetFlag(FLAGS_reassembly_mem6);
  raw.tcp_max_sessions = absl::GetFlag(FLAGS_tcp_max_sessions);
  raw.tcp_max_half_open = absl::GetFlag(FLAGS_tcp_max_half_open);
  raw.neighbour_cache = absl::GetFlag(FLAGS_neighbour_cache);
  raw.neighbour_pending = absl::GetFlag(FLAGS_neighbour_pending);
  raw.socket_buffer_max = absl::GetFlag(FLAGS_socket_buffer_max);
  raw.tcp_msl = absl::GetFlag(FLAGS_tcp_msl);
  raw.tcp_rto_min = absl::GetFlag(FLAGS_tcp_rto_min);
  raw.tcp_cc = absl::GetFlag(FLAGS_tcp_cc);
  raw.tcp_recovery = absl::GetFlag(FLAGS_tcp_recovery);
  raw.tcp_frto = absl::GetFlag(FLAGS_tcp_frto);
  raw.tcp_ecn = absl::GetFlag(FLAGS_tcp_ecn);
  raw.tcp_mtu_probing = absl::GetFlag(FLAGS_tcp_mtu_probing);
  raw.tcp_fastopen = absl::GetFlag(FLAGS_tcp_fastopen);
  raw.tcp_pacing = absl::GetFlag(FLAGS_tcp_pacing);
  raw.tcp_syncookies = absl::GetFlag(FLAGS_tcp_syncookies);
  raw.tcp_challenge_ack_limit = absl::GetFlag(FLAGS_tcp_challenge_ack_limit);
  raw.tcp_trace = absl::GetFlag(FLAGS_tcp_trace);
  raw.ip6 = absl::GetFlag(FLAGS_ip6);
  raw.gw6 = absl::GetFlag(FLAGS_gw6);
  raw.services = absl::GetFlag(FLAGS_services);
  raw.ping = absl::GetFlag(FLAGS_ping);
  raw.ping_count = absl::GetFlag(FLAGS_ping_count);
  raw.echo_client = absl::GetFlag(FLAGS_echo_client);
  raw.echo_bytes = absl::GetFlag(FLAGS_echo_bytes);
  raw.daytime_client = absl::GetFlag(FLAGS_daytime_client);
  raw.workers = absl::GetFlag(FLAGS_workers);
  raw.pin = absl::GetFlag(FLAGS_pin);
  raw.poll = absl::GetFlag(FLAGS_poll);
  raw.log_level = absl::GetFlag(FLAGS_log_level);
  raw.trace = absl::GetFlag(FLAGS_trace);
  raw.console = absl::GetFlag(FLAGS_console);
  raw.pcap = absl::GetFlag(FLAGS_pcap);
  raw.pcap_size = absl::GetFlag(FLAGS_pcap_size);
  raw.pcap_files = absl::GetFlag(FLAGS_pcap_files);
  raw.ring_size = absl::GetFlag(FLAGS_ring_size);
  raw.pool_buffers = absl::GetFlag(FLAGS_pool_buffers);
  raw.rx_batch = absl::GetFlag(FLAGS_rx_batch);
  raw.impair = absl::GetFlag(FLAGS_impair);
  raw.counters_file = absl::GetFlag(FLAGS_counters_file);
  return raw;
}

// A warning when busy polling would spin more threads than there are CPUs;
// at info, what the engine came up with.
void AnnounceStart(const engine::Config& config, engine::Engine& engine) {
  const bool info = config.log_level >= engine::LogLevel::kInfo;
  // Stage threads: a fused one per worker and TX, else RX per queue,
  // workers, timer and TX.
  const int threads = config.fuse ? config.workers + 1 : config.tap_queues + config.workers + 2;
  int online = 0;
  {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0) online = CPU_COUNT(&set);
  }
  if (config.poll == engine::PollMode::kBusy && online > 0 && threads > online &&
      config.log_level >= engine::LogLevel::kWarn) {
    std::fprintf(stderr,
                 "ringstack: warning: --poll=%s spins %d stage threads on %d CPUs; spinning threads take the CPU "
                 "the others need (use --poll=block, or fewer --workers)\n",
                 engine::PollModeName(config.poll), threads, online);
  }
  if (info) {
    std::vector<std::string> addrs;
    for (const auto& a : config.ip4) {
      addrs.push_back(a.gateway ? absl::StrCat(a.itf.ToString(), "@", a.gateway->ToString()) : a.itf.ToString());
    }
    for (const auto& a : config.ip6) addrs.push_back(a.ToString());
    if (config.dhcp4) addrs.push_back("DHCPv4");
    std::fprintf(stderr, "ringstack: up on %s%s, mac %s, %s; %d worker(s)%s, poll=%s, mimalloc %d%s\n",
                 engine.link().Describe().c_str(),
                 engine.queues() > 1 ? absl::StrCat(", ", engine.queues(), " queues").c_str() : "",
                 config.mac.ToString().c_str(),
                 addrs.empty() ? "no addresses" : absl::StrJoin(addrs, " ").c_str(), config.workers,
                 config.fuse ? " (stages fused: a thread per worker, and TX)" : "",
                 engine::PollModeName(config.poll), mi_version(),
                 config.impair.enabled() ? absl::StrCat(", impair ", config.impair.ToString()).c_str() : "");
  }
}

// The console (once the services run: they are part of what it shows). A
// place it cannot listen on is an error when --console named it, else a
// warning.
absl::Status StartConsole(engine::Console& console, const engine::Config& config, engine::Engine& engine,
                          sockets::Stack& stack) {
  if (config.console.empty()) return absl::OkStatus();
  engine::AddEngineCommands(console, engine);
  sockets::AddSocketCommands(console, stack);
  if (absl::Status s = console.Listen(config.console); !s.ok()) {
    if (config.console_explicit) return absl::InvalidArgumentError(absl::StrCat("--console: ", s.message()));
    if (config.log_level >= engine::LogLevel::kWarn) {
      std::fprintf(stderr, "ringstack: warning: no console: %s (--console PATH chooses another place)\n",
                   std::string(s.message()).c_str());
    }
  } else if (config.log_level >= engine::LogLevel::kInfo) {
    std::fprintf(stderr, "ringstack: console on %s (ringstack-ctl -s %s help)\n", config.console.c_str(),
                 config.console.c_str());
  }
  return absl::OkStatus();
}

// The one-shot runs (--iperf3, --echo-client, --daytime-client, --ping):
// the exit status, or nullopt when none was asked for. The client's
// sockets are closed when this returns, while the engine still runs.
std::optional<int> RunOneShot(const engine::Config& config, const std::optional<sockets::Iperf3ClientOptions>& iperf3,
                              engine::Engine& engine, sockets::Stack& stack) {
  auto log = [](const std::string& line) { std::fprintf(stderr, "ringstack: %s\n", line.c_str()); };
  if (iperf3) {
    sockets::Iperf3Client client(stack, engine.clock(), *iperf3, log);
    return client.Run().ok ? 0 : 1;
  }
  if (config.echo_client) {
    const auto r = sockets::RunEchoClient(stack, {*config.echo_client, 7}, config.echo_bytes, std::chrono::seconds(60));
    std::fprintf(stderr, "ringstack: echo %s: sent %llu, received %llu, %s (%.1f MB/s)\n",
                 config.echo_client->ToString().c_str(), static_cast<unsigned long long>(r.sent),
                 static_cast<unsigned long long>(r.received), r.ok ? "all equal" : r.error.c_str(),
                 r.seconds > 0 ? static_cast<double>(r.received) / r.seconds / 1e6 : 0.0);
    return r.ok ? 0 : 1;
  }
  if (config.daytime_client) {
    const std::string text = sockets::RunDaytimeClient(stack, {*config.daytime_client, 13}, std::chrono::seconds(60));
    std::fprintf(stderr, "ringstack: daytime %s: %s\n", config.daytime_client->ToString().c_str(),
                 std::string(absl::StripAsciiWhitespace(text)).c_str());
    return text.rfind("error: ", 0) == 0 || text.empty() ? 1 : 0;
  }
  if (config.ping) {
    const auto result = sockets::Ping(stack, *config.ping, config.ping_count, std::chrono::milliseconds(1000),
                                      std::chrono::seconds(30), log);
    return result.received == config.ping_count ? 0 : 1;
  }
  return std::nullopt;
}

// Waits for SIGINT or SIGTERM (SIGUSR1: the counters), looking in on the
// link every 200 ms: a TAP deleted under us ends the run with an error
// instead of an engine talking to nothing. The link's failure, or "".
std::string WaitForSignal(const sigset_t& signals, engine::Engine& engine, const std::string& counters_file) {
  for (;;) {
    const timespec tick{0, 200'000'000};
    const int sig = sigtimedwait(&signals, nullptr, &tick);
    if (sig == SIGUSR1) {
      WriteCounters(engine, counters_file);
      continue;
    }
    if (sig == SIGINT || sig == SIGTERM) return "";
    if (std::string failure = engine.link_failure(); !failure.empty()) return failure;
  }
}

}  // namespace

int main(int argc, char** argv) {
  SetUsage();
  std::vector<std::string> args = JoinRepeated(argc, argv);
  std::vector<char*> cargs;
  for (auto& a : args) cargs.push_back(a.data());
  const std::vector<char*> rest = absl::ParseCommandLine(static_cast<int>(cargs.size()), cargs.data());
  if (rest.size() > 1) return Fail(absl::StrCat("unexpected argument '", rest[1], "' (flags start with --)"));
  auto config = engine::ParseConfig(ReadFlags(), AllowedCpus());
  if (!config.ok()) return Fail(std::string(config.status().message()));
  std::optional<sockets::Iperf3ClientOptions> iperf3_client;
  if (const std::string spec = absl::GetFlag(FLAGS_iperf3); !spec.empty()) {
    const std::vector<std::string> words = absl::StrSplit(spec, ' ', absl::SkipWhitespace());
    auto o = sockets::Iperf3Client::ParseArgs(words);
    if (!o.ok()) return Fail(absl::StrCat("--iperf3: ", std::string(o.status().message())));
    iperf3_client = *o;
  }

  // Signals are handled by sigwait in this thread; block them everywhere first
  // so the stage threads inherit the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto created = engine::Engine::Create(*config);
  if (!created.ok()) return Fail(std::string(created.status().message()));
  engine::Engine& eng = **created;
  if (absl::Status s = eng.Start(); !s.ok()) return Fail(std::string(s.message()));
  AnnounceStart(*config, eng);
  const bool info = config->log_level >= engine::LogLevel::kInfo;

  // The services, on the socket API, once the engine runs.
  sockets::Stack stack(eng);
  sockets::Services services(stack);
  engine::Console console(&eng.logger());
  absl::Status started = services.Start(config->services, config->ipv6);
  if (started.ok() && !config->services.empty() && info) {
    std::fprintf(stderr, "ringstack: services: %s (UDP and TCP%s)\n", absl::StrJoin(config->services, ", ").c_str(),
                 config->ipv6 ? ", IPv4 and IPv6" : ", IPv4");
  }
  if (started.ok()) started = StartConsole(console, *config, eng, stack);
  if (!started.ok()) {
    services.Stop();
    eng.Stop();
    return Fail(std::string(started.message()));
  }

  const std::optional<int> one_shot = RunOneShot(*config, iperf3_client, eng, stack);
  const std::string failure = one_shot ? "" : WaitForSignal(signals, eng, config->counters_file);
  console.Stop();   // its commands use sockets: first
  services.Stop();  // closes its sockets while the engine still serves requests
  eng.Stop();
  WriteCounters(eng, config->counters_file);
  if (one_shot) {
    if (info) std::fprintf(stderr, "ringstack: stopped cleanly\n");
    return *one_shot;
  }
  const auto stats = eng.pool().stats();
  if (stats.cls[0].in_use != 0 || stats.cls[1].in_use != 0) {
    std::fprintf(stderr, "ringstack: warning: %zu buffers still in use at exit\n",
                 stats.cls[0].in_use + stats.cls[1].in_use);
  }
  created->reset();
  if (!failure.empty()) {
    std::fprintf(stderr, "ringstack: error: %s; stopped\n", failure.c_str());
    return 1;
  }
  if (info) std::fprintf(stderr, "ringstack: stopped cleanly\n");
  return 0;
}
