#include "engine/config.h"

#include <sys/random.h>

#include <bit>
#include <filesystem>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace ringstack::engine {
namespace {

using proto::Ipv4Address;
using proto::Ipv4Interface;
using proto::Ipv6Address;
using proto::Ipv6Interface;

absl::Status Bad(absl::string_view flag, absl::string_view msg) {
  return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", msg));
}

std::vector<absl::string_view> Items(absl::string_view list) {
  return absl::StrSplit(list, ',', absl::SkipWhitespace());
}

absl::Status ParsePin(absl::string_view spec, int workers, int cpus, PinPlan& plan) {
  if (spec.empty() || spec == "none") return absl::OkStatus();
  if (spec == "auto") {
    // Spread stages over the CPUs: rx, workers..., tx, timer.
    int next = 0;
    auto take = [&] { return next++ % cpus; };
    plan.rx = take();
    for (int i = 0; i < workers; ++i) plan.workers.push_back(take());
    plan.tx = take();
    plan.timer = plan.tx;
    return absl::OkStatus();
  }
  plan.workers.assign(workers, -1);
  for (absl::string_view item : Items(spec)) {
    const auto eq = item.find('=');
    int cpu = -1;
    if (eq == absl::string_view::npos || !absl::SimpleAtoi(item.substr(eq + 1), &cpu)) {
      return Bad("pin", absl::StrCat("'", item, "' is not STAGE=CPU (stages: rx, tx, timer, w0..w",
                                     workers - 1, "; or 'auto' / 'none')"));
    }
    if (cpu < 0 || cpu >= cpus) {
      return Bad("pin", absl::StrCat("CPU ", cpu, " in '", item, "' is not one of the ", cpus,
                                     " CPUs this process may use (0..", cpus - 1, ")"));
    }
    const absl::string_view stage = item.substr(0, eq);
    int w = -1;
    if (stage == "rx") {
      plan.rx = cpu;
    } else if (stage == "tx") {
      plan.tx = cpu;
    } else if (stage == "timer") {
      plan.timer = cpu;
    } else if (stage.size() > 1 && stage[0] == 'w' && absl::SimpleAtoi(stage.substr(1), &w) && w >= 0 &&
               w < workers) {
      plan.workers[w] = cpu;
    } else {
      return Bad("pin", absl::StrCat("unknown stage '", stage, "' (stages: rx, tx, timer, w0..w",
                                     workers - 1, ")"));
    }
  }
  return absl::OkStatus();
}


}  // namespace

std::optional<std::uint64_t> ParseSize(std::string_view text_in) {
  absl::string_view text(text_in.data(), text_in.size());
  std::uint64_t unit = 1;
  if (!text.empty()) {
    switch (text.back()) {
      case 'K': case 'k': unit = 1u << 10; break;
      case 'M': case 'm': unit = 1u << 20; break;
      case 'G': case 'g': unit = 1u << 30; break;
      default: break;
    }
  }
  if (unit != 1) text.remove_suffix(1);
  std::uint64_t n = 0;
  if (!absl::SimpleAtoi(text, &n) || n > (std::uint64_t{1} << 40)) return std::nullopt;
  return n * unit;
}

proto::MacAddress RandomLocalMac() {
  std::array<std::byte, 6> b{};
  if (getrandom(b.data(), b.size(), 0) != static_cast<ssize_t>(b.size())) {
    b = {std::byte{0}, std::byte{0}, std::byte{0}, std::byte{0x77}, std::byte{0x77}, std::byte{0x77}};
  }
  b[0] = std::byte{0x02};  // locally administered, unicast
  return proto::MacAddress(b);
}

const char* PollModeName(PollMode mode) {
  switch (mode) {
    case PollMode::kBusy: return "busy";
    case PollMode::kAdaptive: return "adaptive";
    case PollMode::kBlock: return "block";
  }
  return "?";
}

namespace {

// --tap, --mac, and how the TAP is used (--tap-offload, --tap-queues, --tx-inline).
absl::Status ParseLink(const RawFlags& f, Config& c) {
  if (f.tap.empty()) return Bad("tap", "required: the TAP interface to attach to (e.g. --tap tap0)");
  if (f.tap.size() > 15) return Bad("tap", absl::StrCat("'", f.tap, "' is longer than 15 characters"));
  c.tap = f.tap;

  if (f.mac.empty()) {
    c.mac = RandomLocalMac();
  } else {
    const auto mac = proto::MacAddress::Parse(f.mac);
    if (!mac) return Bad("mac", absl::StrCat("'", f.mac, "' is not a MAC like 02:00:00:77:77:77"));
    if (mac->IsMulticast() || mac->IsZero()) {
      return Bad("mac", absl::StrCat(f.mac, " is not a unicast address (first octet must be even, not all zero)"));
    }
    c.mac = *mac;
  }
  if (f.tap_offload == "on" || f.tap_offload == "off") {
    c.tap_offload = f.tap_offload == "on";
  } else {
    return Bad("tap-offload", absl::StrCat("'", f.tap_offload, "' is not on or off"));
  }
  if (f.tap_queues < 1 || f.tap_queues > 16) {
    return Bad("tap-queues", absl::StrCat(f.tap_queues, " is not 1 to 16"));
  }
  c.tap_queues = f.tap_queues;
  if (f.tx_inline == "on" || f.tx_inline == "off") {
    c.tx_inline = f.tx_inline == "on";
  } else {
    return Bad("tx-inline", absl::StrCat("'", f.tx_inline, "' is not on or off"));
  }
  return absl::OkStatus();
}

// --ip4 (addresses, their gateways) and --gw4.
absl::Status ParseIpv4(const RawFlags& f, Config& c) {
  for (absl::string_view item : Items(f.ip4)) {
    // ADDR/LEN[@GATEWAY]
    const std::size_t at = item.find('@');
    const absl::string_view addr = item.substr(0, at);
    const auto itf = Ipv4Interface::Parse(std::string_view(addr.data(), addr.size()));
    if (!itf) return Bad("ip4", absl::StrCat("'", item, "' is not ADDR/LEN[@GATEWAY] like 192.0.2.2/24@192.0.2.1"));
    if (itf->prefix_len < 1 || itf->prefix_len > 32 || itf->address.IsMulticast() ||
        itf->address.IsUnspecified() || itf->address.IsLimitedBroadcast() || itf->address.IsReserved() ||
        (itf->prefix_len <= 30 && (itf->address == itf->network() || itf->address == itf->broadcast()))) {
      return Bad("ip4", absl::StrCat(addr, " is not a usable host address on its network"));
    }
    for (const auto& other : c.ip4) {
      if (other.itf.address == itf->address) return Bad("ip4", absl::StrCat(addr, " is given twice"));
    }
    Ip4Setting setting{*itf, std::nullopt};
    if (at != absl::string_view::npos) {
      const absl::string_view gw_text = item.substr(at + 1);
      const auto gw = Ipv4Address::Parse(std::string_view(gw_text.data(), gw_text.size()));
      if (!gw) return Bad("ip4", absl::StrCat("gateway '", gw_text, "' in '", item, "' is not an IPv4 address"));
      if (!itf->Contains(*gw) || *gw == itf->address) {
        return Bad("ip4", absl::StrCat("gateway ", gw_text, " in '", item, "' is not another host on ", addr,
                                       "'s network; a gateway must be on-link"));
      }
      setting.gateway = gw;
    }
    c.ip4.push_back(setting);
  }
  if (!f.gw4.empty()) {
    const auto gw = Ipv4Address::Parse(f.gw4);
    if (!gw) return Bad("gw4", absl::StrCat("'", f.gw4, "' is not an IPv4 address"));
    Ip4Setting* owner = nullptr;
    for (auto& s : c.ip4) {
      if (s.itf.Contains(*gw) && owner == nullptr) owner = &s;
    }
    if (owner == nullptr) {
      return Bad("gw4", absl::StrCat(f.gw4, " is not on any --ip4 network; a gateway must be on-link"));
    }
    if (owner->gateway && *owner->gateway != *gw) {
      return Bad("gw4", absl::StrCat(f.gw4, " and ", owner->gateway->ToString(), " are both gateways of ",
                                     owner->itf.ToString(), "; give one"));
    }
    owner->gateway = gw;
  }
  return absl::OkStatus();
}

// --route4 (gateways on an --ip4 network), --dhcp4, --dhcp4-previous, --acd.
absl::Status ParseIpv4Routes(const RawFlags& f, Config& c) {
  for (absl::string_view item : Items(f.route4)) {
    // NET/LEN@GATEWAY
    const std::size_t at = item.find('@');
    const absl::string_view net_text = item.substr(0, at);
    const auto net = Ipv4Interface::Parse(std::string_view(net_text.data(), net_text.size()));
    const absl::string_view gw_text = at == absl::string_view::npos ? "" : item.substr(at + 1);
    const auto gw = Ipv4Address::Parse(std::string_view(gw_text.data(), gw_text.size()));
    if (!net || !gw) {
      return Bad("route4", absl::StrCat("'", item, "' is not NET/LEN@GATEWAY like 198.51.100.0/24@192.0.2.1"));
    }
    if (net->prefix_len < 0 || net->prefix_len > 32 || net->address != net->network()) {
      return Bad("route4", absl::StrCat("'", net_text, "' is not a network (host bits must be zero)"));
    }
    bool on_link = false;
    for (const auto& s : c.ip4) on_link |= s.itf.Contains(*gw);
    if (!on_link) {
      return Bad("route4", absl::StrCat("gateway ", gw_text, " in '", item, "' is not on any --ip4 network"));
    }
    c.routes4.push_back({*net, *gw});
  }
  c.dhcp4 = f.dhcp4;
  if (!f.dhcp4_previous.empty()) {
    if (!f.dhcp4) return Bad("dhcp4-previous", "needs --dhcp4");
    const auto a = Ipv4Address::Parse(f.dhcp4_previous);
    if (!a || a->IsUnspecified() || a->IsMulticast() || a->IsLimitedBroadcast()) {
      return Bad("dhcp4-previous", absl::StrCat("'", f.dhcp4_previous, "' is not a unicast IPv4 address"));
    }
    c.dhcp4_previous = a;
  }
  if (f.acd == "on") {
    c.acd = true;
  } else if (f.acd == "off") {
    c.acd = false;
  } else {
    return Bad("acd", absl::StrCat("'", f.acd, "' is not on or off"));
  }
  return absl::OkStatus();
}

// --ipv6, --ip6, --gw6, --ip6-stable (the addresses first: --ipv6 off with any of them is an error).
absl::Status ParseIpv6(const RawFlags& f, Config& c) {
  for (absl::string_view item : Items(f.ip6)) {
    const auto itf = Ipv6Interface::Parse(std::string_view(item.data(), item.size()));
    if (!itf) return Bad("ip6", absl::StrCat("'", item, "' is not ADDR/LEN like 2001:db8:0:1::2/64"));
    if (itf->address.IsMulticast() || itf->address.IsUnspecified() || itf->address.IsLoopback()) {
      return Bad("ip6", absl::StrCat(item, " is not a unicast address"));
    }
    c.ip6.push_back(*itf);
  }
  if (!f.gw6.empty()) {
    const auto gw = Ipv6Address::Parse(f.gw6);
    if (!gw) return Bad("gw6", absl::StrCat("'", f.gw6, "' is not an IPv6 address"));
    if (gw->IsMulticast() || gw->IsUnspecified()) return Bad("gw6", "a gateway must be a unicast address");
    c.gw6 = gw;
  }
  if (f.ipv6 == "on" || f.ipv6 == "off") {
    c.ipv6 = f.ipv6 == "on";
  } else {
    return Bad("ipv6", absl::StrCat("'", f.ipv6, "' is not on or off"));
  }
  if (!c.ipv6 && (!c.ip6.empty() || c.gw6 || !f.ip6_stable.empty())) {
    return Bad("ipv6", "off, but --ip6/--gw6/--ip6-stable given");
  }
  if (!f.ip6_stable.empty() && f.ip6_stable.size() < 16) {
    return Bad("ip6-stable", "the secret must be at least 16 characters (RFC 7217 5: at least 128 bits)");
  }
  c.ip6_stable_secret = f.ip6_stable;
  return absl::OkStatus();
}

// --reassembly-mem(6), the TCP and neighbour table limits, --socket-buffer-max, TCP's MSL and RTO floor.
absl::Status ParseLimits(const RawFlags& f, Config& c) {
  {
    const auto bytes = ParseSize(f.reassembly_mem);
    if (!bytes || *bytes < (64u << 10) || *bytes > (1u << 30)) {
      return Bad("reassembly-mem", absl::StrCat("'", f.reassembly_mem,
                                                "' is not a size in [64K, 1024M] (bytes, or with K or M)"));
    }
    c.reassembly_bytes = static_cast<std::size_t>(*bytes);
    const auto bytes6 = ParseSize(f.reassembly_mem6);
    if (!bytes6 || *bytes6 < (64u << 10) || *bytes6 > (1u << 30)) {
      return Bad("reassembly-mem6", absl::StrCat("'", f.reassembly_mem6,
                                                 "' is not a size in [64K, 1024M] (bytes, or with K or M)"));
    }
    c.reassembly6_bytes = static_cast<std::size_t>(*bytes6);
  }
  if (f.tcp_max_sessions < 1 || f.tcp_max_sessions > 10'000'000) {
    return Bad("tcp-max-sessions", "must be in [1, 10000000]");
  }
  c.tcp_max_sessions = static_cast<std::size_t>(f.tcp_max_sessions);
  if (f.tcp_max_half_open < 1 || f.tcp_max_half_open > 1'000'000) {
    return Bad("tcp-max-half-open", "must be in [1, 1000000]");
  }
  c.tcp_max_half_open = static_cast<std::size_t>(f.tcp_max_half_open);
  if (f.neighbour_cache < 16 || f.neighbour_cache > (1 << 20)) return Bad("neighbour-cache", "must be in [16, 1048576]");
  c.neighbour_cache = static_cast<std::size_t>(f.neighbour_cache);
  if (f.neighbour_pending < 1 || f.neighbour_pending > 48) return Bad("neighbour-pending", "must be in [1, 48]");
  c.neighbour_pending = static_cast<std::size_t>(f.neighbour_pending);
  {
    const auto bytes = ParseSize(f.socket_buffer_max);
    if (!bytes || *bytes < (64u << 10) || *bytes > (1u << 30)) {
      return Bad("socket-buffer-max", absl::StrCat("'", f.socket_buffer_max, "' is not a size in [64K, 1024M]"));
    }
    c.socket_buffer_max = static_cast<std::size_t>(*bytes);
  }
  if (f.tcp_msl < 1 || f.tcp_msl > 240) return Bad("tcp-msl", "must be in [1, 240] seconds");
  c.tcp_msl = proto::Duration::Seconds(f.tcp_msl);
  if (f.tcp_rto_min < 1 || f.tcp_rto_min > 1000) return Bad("tcp-rto-min", "must be in [1, 1000] milliseconds");
  c.tcp_rto_min = proto::Duration::Millis(f.tcp_rto_min);
  return absl::OkStatus();
}

// The TCP algorithms and options: congestion control, loss recovery, F-RTO,
// ECN, MTU probing, Fast Open, SYN cookies, challenge ACKs, traces.
absl::Status ParseTcpChoices(const RawFlags& f, Config& c) {
  if (!proto::tcp::KnownCongestionControl(std::string_view(f.tcp_cc))) {
    return Bad("tcp-cc", absl::StrCat("'", f.tcp_cc, "' is not a congestion control (cubic, newreno, bbr)"));
  }
  c.tcp_cc = f.tcp_cc;
  if (const auto r = proto::tcp::ParseRecovery(std::string_view(f.tcp_recovery))) {
    c.tcp_recovery = *r;
  } else {
    return Bad("tcp-recovery", absl::StrCat("'", f.tcp_recovery, "' is not one of rack, sack, newreno"));
  }
  if (f.tcp_frto != "on" && f.tcp_frto != "off") {
    return Bad("tcp-frto", absl::StrCat("'", f.tcp_frto, "' is not on or off"));
  }
  c.tcp_frto = f.tcp_frto == "on";
  if (f.tcp_pacing != "on" && f.tcp_pacing != "off") {
    return Bad("tcp-pacing", absl::StrCat("'", f.tcp_pacing, "' is not on or off"));
  }
  c.tcp_pacing = f.tcp_pacing == "on";
  if (const auto e = proto::tcp::ParseEcnMode(std::string_view(f.tcp_ecn))) {
    c.tcp_ecn = *e;
  } else {
    return Bad("tcp-ecn", absl::StrCat("'", f.tcp_ecn, "' is not one of off, passive, on, accecn"));
  }
  if (const auto m = proto::tcp::ParseMtuProbing(std::string_view(f.tcp_mtu_probing))) {
    c.tcp_mtu_probing = *m;
  } else {
    return Bad("tcp-mtu-probing", absl::StrCat("'", f.tcp_mtu_probing, "' is not one of off, blackhole, on"));
  }
  if (const auto m = proto::tcp::ParseFastOpenMode(std::string_view(f.tcp_fastopen))) {
    c.tcp_fastopen = *m;
  } else {
    return Bad("tcp-fastopen", absl::StrCat("'", f.tcp_fastopen, "' is not one of off, client, server, both"));
  }
  if (f.tcp_syncookies != "on" && f.tcp_syncookies != "off") {
    return Bad("tcp-syncookies", absl::StrCat("'", f.tcp_syncookies, "' is not on or off"));
  }
  c.tcp_syncookies = f.tcp_syncookies == "on";
  if (f.tcp_challenge_ack_limit < 1 || f.tcp_challenge_ack_limit > 1'000'000) {
    return Bad("tcp-challenge-ack-limit", "must be in [1, 1000000] per second");
  }
  c.tcp_challenge_ack_limit = f.tcp_challenge_ack_limit;
  if (!f.tcp_trace.empty()) {
    std::error_code ec;
    if (!std::filesystem::is_directory(f.tcp_trace, ec)) {
      return Bad("tcp-trace", absl::StrCat("'", f.tcp_trace, "' is not a directory (create it first)"));
    }
  }
  c.tcp_trace_dir = f.tcp_trace;
  return absl::OkStatus();
}

// --services, --ping, --echo-client, --daytime-client and their counts.
absl::Status ParseClients(const RawFlags& f, Config& c) {
  for (absl::string_view s : Items(f.services)) {
    static constexpr absl::string_view kKnown[] = {"echo", "discard", "daytime", "chargen", "iperf3"};
    if (std::find(std::begin(kKnown), std::end(kKnown), s) == std::end(kKnown)) {
      return Bad("services",
                 absl::StrCat("unknown service '", s, "' (known: echo, discard, daytime, chargen, iperf3)"));
    }
    if (std::find(c.services.begin(), c.services.end(), s) == c.services.end()) c.services.emplace_back(s);
  }


  if (!f.ping.empty()) {
    const auto a = proto::IpAddress::Parse(f.ping);
    if (!a || a->IsUnspecified() || a->IsMulticast()) {
      return Bad("ping", absl::StrCat("'", f.ping, "' is not a unicast IPv4 or IPv6 address"));
    }
    c.ping = a;
  }
  if (f.ping_count < 1 || f.ping_count > 1000) return Bad("ping-count", "must be in [1, 1000]");
  for (const auto& [flag, text, out] : {std::tuple<const char*, const std::string&, std::optional<proto::IpAddress>&>{
                                            "echo-client", f.echo_client, c.echo_client},
                                        {"daytime-client", f.daytime_client, c.daytime_client}}) {
    if (text.empty()) continue;
    const auto a = proto::IpAddress::Parse(text);
    if (!a || a->IsUnspecified() || a->IsMulticast()) {
      return Bad(flag, absl::StrCat("'", text, "' is not a unicast IPv4 or IPv6 address"));
    }
    out = a;
  }
  if (c.echo_client && c.daytime_client) return Bad("echo-client", "use one of --echo-client and --daytime-client");
  if ((c.echo_client || c.daytime_client) && c.ping) return Bad("ping", "use --ping or a client, not both");
  if (f.echo_bytes < 0 || f.echo_bytes > (std::int64_t{1} << 40)) return Bad("echo-bytes", "must be in [0, 2^40]");
  c.echo_bytes = static_cast<std::uint64_t>(f.echo_bytes);
  c.ping_count = f.ping_count;
  return absl::OkStatus();
}

// --workers, --pin, --fuse (auto: by the CPUs), --poll.
absl::Status ParseThreads(const RawFlags& f, Config& c, int cpus) {
  if (f.fuse != "auto" && f.fuse != "on" && f.fuse != "off") {
    return Bad("fuse", absl::StrCat("'", f.fuse, "' is not auto, on or off"));
  }
  if (f.workers < 1 || f.workers > 64) return Bad("workers", "must be in [1, 64]");
  c.workers = f.workers;
  if (absl::Status s = ParsePin(f.pin, c.workers, cpus, c.pin); !s.ok()) return s;
  // auto: fused when a thread per stage (RX queues, workers, timer, TX)
  // would outnumber the CPUs, where each hand-off between them is a sleep
  // and a wake-up (bench/README.md has the figures).
  c.fuse = f.fuse == "on" || (f.fuse == "auto" && c.tap_queues + c.workers + 2 > cpus);

  if (f.poll == "busy") {
    c.poll = PollMode::kBusy;
  } else if (f.poll == "adaptive") {
    c.poll = PollMode::kAdaptive;
  } else if (f.poll == "block") {
    c.poll = PollMode::kBlock;
  } else {
    return Bad("poll", absl::StrCat("'", f.poll, "' is not busy, adaptive or block"));
  }
  return absl::OkStatus();
}

// --log-level, --trace, --console, --pcap*, ring and pool sizes, --rx-batch, --impair, --counters-file.
absl::Status ParseOutput(const RawFlags& f, Config& c) {
  auto levels = ParseLogLevels(f.log_level);
  if (!levels.ok()) return Bad("log-level", std::string(levels.status().message()));
  c.log_levels = *levels;
  c.log_level = levels->all;
  auto trace = ParseTrace(f.trace);
  if (!trace.ok()) return Bad("trace", std::string(trace.status().message()));
  c.trace = *trace;

  if (f.console == "off") {
    c.console.clear();
  } else if (f.console == "auto" || f.console.empty()) {
    c.console = DefaultConsolePath(c.tap);
  } else {
    if (f.console.size() >= 108) return Bad("console", "a Unix socket path must be shorter than 108 bytes");
    c.console = f.console;
    c.console_explicit = true;
  }
  c.pcap = f.pcap;
  auto pcap_size = ParseSize(f.pcap_size);
  if (!pcap_size || *pcap_size < (64u << 10)) {
    return Bad("pcap-size", absl::StrCat("'", f.pcap_size, "' is not a size of at least 64K (e.g. 100M)"));
  }
  c.pcap_size = *pcap_size;
  if (f.pcap_files < 1 || f.pcap_files > 1000) return Bad("pcap-files", "must be in [1, 1000]");
  c.pcap_files = f.pcap_files;

  if (f.ring_size < 16 || f.ring_size > (1 << 20) || !std::has_single_bit(static_cast<unsigned>(f.ring_size))) {
    return Bad("ring-size", "must be a power of two in [16, 1048576]");
  }
  c.ring_size = static_cast<std::size_t>(f.ring_size);
  if (f.pool_buffers < 256 || f.pool_buffers > (1 << 22)) return Bad("pool-buffers", "must be in [256, 4194304]");
  c.pool_buffers = static_cast<std::size_t>(f.pool_buffers);
  if (f.rx_batch < 1 || f.rx_batch > 1024) return Bad("rx-batch", "must be in [1, 1024]");
  c.rx_batch = static_cast<std::size_t>(f.rx_batch);

  auto impair = ImpairConfig::Parse(f.impair);
  if (!impair.ok()) return impair.status();
  if (impair->rate != 0 || impair->queue != 0) {
    return Bad("impair", "rate and queue model the simulated link only; a TAP's rate is the real one");
  }
  c.impair = *impair;
  if (c.impair.enabled() && c.tap_queues > 1) {
    return Bad("impair", "works on one TAP queue: use --tap-queues 1 with it");
  }
  c.counters_file = f.counters_file;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Config> ParseConfig(const RawFlags& f, int cpus) {
  Config c;
  absl::Status s = ParseLink(f, c);
  if (s.ok()) s = ParseIpv4(f, c);
  if (s.ok()) s = ParseIpv4Routes(f, c);
  if (s.ok()) s = ParseIpv6(f, c);
  if (s.ok()) s = ParseLimits(f, c);
  if (s.ok()) s = ParseTcpChoices(f, c);
  if (s.ok()) s = ParseClients(f, c);
  if (s.ok()) s = ParseThreads(f, c, cpus);
  if (s.ok()) s = ParseOutput(f, c);
  if (!s.ok()) return s;
  return c;
}

std::string DefaultConsolePath(const std::string& tap) {
  return absl::StrCat("/run/ringstack/", tap.empty() ? std::string("ringstack") : tap, ".sock");
}

}  // namespace ringstack::engine
