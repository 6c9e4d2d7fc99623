// Config: everything the engine is built from, and its validation.
//
// main.cc reads absl flags into RawFlags; ParseConfig turns those strings into
// a Config or an error a person can act on ("--ip4: '192.0.2.300/24' is not
// ADDR/LEN"). Tests build RawFlags directly.
#ifndef RINGSTACK_ENGINE_CONFIG_H_
#define RINGSTACK_ENGINE_CONFIG_H_

#include <optional>
#include <string_view>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/link/impair.h"
#include "engine/log.h"
#include "protocols/tcp/tcp_connection.h"
#include "protocols/tcp/tcp_fastopen.h"
#include "protocols/common/address.h"

namespace ringstack::engine {

enum class PollMode { kBusy, kAdaptive, kBlock };

// CPU for each stage thread; -1 leaves the thread to the scheduler.
struct PinPlan {
  int rx = -1;
  int tx = -1;
  int timer = -1;
  std::vector<int> workers;  // per shard; empty or size == workers
};

// One --ip4 item: ADDR/LEN, optionally @GATEWAY.
struct Ip4Setting {
  proto::Ipv4Interface itf;
  std::optional<proto::Ipv4Address> gateway;
};
// One --route4 item: NET/LEN@GATEWAY.
struct Route4Setting {
  proto::Ipv4Interface net;
  proto::Ipv4Address gateway;
};

struct Config {
  std::string tap;
  bool tap_offload = true;         // IFF_VNET_HDR + checksum/TSO offload (engine/link/tap.h)
  int tap_queues = 1;              // > 1: a multi-queue TAP, an RX thread per queue
  bool tx_inline = true;           // a worker writes its own frame when none of its is queued for TX
  // Stages share threads: thread k runs worker k and the RX stages of the
  // queues steered to it (q mod workers); thread 0 also the timer; TX keeps
  // its own.
  // --fuse auto (the flag's default) sets it when a thread per stage would
  // outnumber the CPUs.
  bool fuse = false;
  proto::MacAddress mac;
  std::vector<Ip4Setting> ip4;     // --gw4 is folded in as its on-link address's gateway
  std::vector<Route4Setting> routes4;
  bool acd = true;                 // RFC 5227 probes before an --ip4 (or DHCP) address is used
  bool ipv6 = true;                // off: no link-local, ND, MLD; IPv6 frames counted and dropped
  std::string ip6_stable_secret;   // RFC 7217 interface identifiers when not empty
  bool dhcp4 = false;              // run the DHCPv4 client on the control shard
  std::optional<proto::Ipv4Address> dhcp4_previous;  // INIT-REBOOT: ask for this address back
  std::vector<proto::Ipv6Interface> ip6;
  std::optional<proto::Ipv6Address> gw6;
  std::vector<std::string> services;
  std::optional<proto::IpAddress> ping;  // --ping: ping this address, print, exit
  int ping_count = 3;
  // --echo-client / --daytime-client: a TCP client run once, then exit.
  std::optional<proto::IpAddress> echo_client;
  std::uint64_t echo_bytes = 1u << 20;
  std::optional<proto::IpAddress> daytime_client;
  int workers = 1;
  PinPlan pin;
  PollMode poll = PollMode::kAdaptive;
  LogLevel log_level = LogLevel::kInfo;   // the default level (log_levels.all)
  LogLevels log_levels;                   // with per-subsystem overrides
  std::uint32_t trace = 0;                // --trace: TraceLayer bits, 0 = off
  // The console's Unix socket ("" = none); console_explicit: the user named
  // it (failing to open it is then an error, else a warning).
  std::string console;
  bool console_explicit = false;
  // --pcap: capture from the start into this file; rotated at pcap_size
  // bytes, keeping pcap_files files in all.
  std::string pcap;
  std::uint64_t pcap_size = 64u << 20;
  int pcap_files = 4;
  std::size_t ring_size = 1024;    // RX->worker and worker->TX rings, per shard
  std::size_t pool_buffers = 8192; // standard (2 KiB) buffers
  std::size_t rx_batch = 64;       // frames per RX wake-up
  // IP MTU of the link: larger datagrams go out fragmented. The TAP's
  // default; no flag changes it (jumbo frames would need larger RX buffers).
  std::size_t mtu = 1500;
  // Reassembly memory, IPv4 and IPv6 each: all datagrams in progress; one
  // source may hold a quarter.
  std::size_t reassembly_bytes = 4u << 20;
  std::size_t reassembly6_bytes = 4u << 20;
  // Resource limits: TCP sessions in all (each worker holds its
  // share), handshakes in SYN-RECEIVED in all (past it: SYN cookies, or
  // the SYN is dropped), neighbour cache entries (ARP and ND each), packets
  // parked per unresolved neighbour.
  std::size_t tcp_max_sessions = 16384;
  std::size_t tcp_max_half_open = 1024;
  std::size_t neighbour_cache = 1024;
  std::size_t neighbour_pending = 48;
  // The most SO_RCVBUF/SO_SNDBUF may give one socket (as Linux's
  // net.core.rmem_max/wmem_max): a TCP ring, or a UDP socket's queued bytes.
  std::size_t socket_buffer_max = 16u << 20;
  // TCP's Maximum Segment Lifetime: TIME-WAIT lasts twice this.
  proto::Duration tcp_msl = proto::Duration::Seconds(30);
  // The retransmission timeout's floor (RFC 6298 2.4 says 1 s; Linux 200 ms).
  proto::Duration tcp_rto_min = proto::Duration::Millis(200);
  // TCP congestion control and loss recovery (sockets may pick another
  // algorithm with TCP_CONGESTION).
  std::string tcp_cc = "cubic";
  proto::tcp::Recovery tcp_recovery = proto::tcp::Recovery::kRack;
  bool tcp_frto = true;                 // RFC 5682 F-RTO (SACK connections)
  bool tcp_pacing = false;              // pace CUBIC and NewReno as BBR paces
  proto::tcp::EcnMode tcp_ecn = proto::tcp::EcnMode::kPassive;  // RFC 3168
  proto::tcp::MtuProbing tcp_mtu_probing = proto::tcp::MtuProbing::kOff;  // RFC 4821
  // RFC 7413 TCP Fast Open: clients may ask for it (MSG_FASTOPEN,
  // TCP_FASTOPEN_CONNECT), listeners take it, both, or neither.
  proto::tcp::FastOpenMode tcp_fastopen = proto::tcp::FastOpenMode::kClient;
  bool tcp_syncookies = true;           // when a listener's SYN backlog is full
  int tcp_challenge_ack_limit = 1000;   // RFC 5961 7, per second and worker
  std::string tcp_trace_dir;            // "" = off; else one CSV per connection
  ImpairConfig impair;
  std::string counters_file;       // where to write counters at exit ("" = stderr)
};

// The flags as typed; repeated --ip4/--ip6 have been joined with commas.
struct RawFlags {
  std::string tap;
  std::string tap_offload = "on";
  int tap_queues = 1;
  std::string tx_inline = "on";
  std::string fuse = "auto";
  std::string mac;
  std::string ip4;
  std::string gw4;
  std::string route4;
  std::string acd = "on";
  bool dhcp4 = false;
  std::string dhcp4_previous;
  std::string ipv6 = "on";
  std::string ip6_stable;
  std::string reassembly_mem = "4M";
  std::string reassembly_mem6 = "4M";
  int tcp_max_sessions = 16384;
  int tcp_max_half_open = 1024;
  int neighbour_cache = 1024;
  int neighbour_pending = 48;
  std::string socket_buffer_max = "16M";
  int tcp_msl = 30;  // seconds
  int tcp_rto_min = 200;  // milliseconds
  std::string tcp_cc = "cubic";
  std::string tcp_recovery = "rack";
  std::string tcp_frto = "on";
  std::string tcp_pacing = "off";
  std::string tcp_ecn = "passive";
  std::string tcp_mtu_probing = "off";
  std::string tcp_fastopen = "client";
  std::string tcp_syncookies = "on";
  int tcp_challenge_ack_limit = 1000;
  std::string tcp_trace;
  std::string ip6;
  std::string gw6;
  std::string services;
  std::string ping;
  int ping_count = 3;
  std::string echo_client;
  std::int64_t echo_bytes = 1 << 20;
  std::string daytime_client;
  int workers = 1;
  std::string pin = "none";
  std::string poll = "adaptive";
  std::string log_level = "info";
  std::string trace;
  std::string console = "auto";  // auto: /run/ringstack/<tap>.sock; off: none
  std::string pcap;
  std::string pcap_size = "64M";
  int pcap_files = 4;
  int ring_size = 1024;
  int pool_buffers = 8192;
  int rx_batch = 64;
  std::string impair;
  std::string counters_file;
};

// `cpus` is how many CPUs the process may run on (for --pin checks).
absl::StatusOr<Config> ParseConfig(const RawFlags& flags, int cpus);

// A random locally administered unicast MAC (02:xx:...), for when --mac is not given.
proto::MacAddress RandomLocalMac();

const char* PollModeName(PollMode mode);

// A size in bytes, or with a K, M or G suffix (powers of 1024); nullopt
// when it is not one (or past 2^40 units).
std::optional<std::uint64_t> ParseSize(std::string_view text);

// Where the console listens unless --console says otherwise.
std::string DefaultConsolePath(const std::string& tap);

}  // namespace ringstack::engine

#endif  // RINGSTACK_ENGINE_CONFIG_H_
