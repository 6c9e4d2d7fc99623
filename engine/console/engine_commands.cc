#include "engine/console/engine_commands.h"

#include <fstream>
#include <limits>
#include <sstream>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "engine/console/table.h"

namespace ringstack::engine {
namespace {

using Args = ConsoleArgs;
using Out = ConsoleOutput;

constexpr int kUsage = Console::kUsage;
constexpr int kOk = Console::kOk;
constexpr int kFailed = Console::kFailed;

std::string Ep(const proto::Endpoint& e) {
  return e.addr.is_v6() ? absl::StrCat("[", e.addr.ToString(), "]:", e.port) : absl::StrCat(e.addr.ToString(), ":", e.port);
}

// "12.3s", "never", "expired"
std::string Left(Instant deadline, Instant now) {
  if (deadline.IsNever()) return "never";
  if (deadline.nanos() <= now.nanos()) return "0s";
  return absl::StrFormat("%.1fs", static_cast<double>((deadline - now).nanos()) / 1e9);
}

// Shows `t` as text or JSON; "timed out" when the shard did not answer.
int Show(Out& out, const Table& t, bool json) {
  out.Write(json ? t.Json() : t.Text());
  return kOk;
}

int ShardSilent(Out& out, int shard) {
  out.Write(absl::StrCat("error: shard ", shard, " did not answer in time (busy or stopping); try again\n"));
  return kFailed;
}

// Counters summed by name, first-seen order.
std::vector<std::pair<std::string, std::uint64_t>> SumCounters(const Engine& engine) {
  std::vector<std::pair<std::string, std::uint64_t>> out;
  absl::flat_hash_map<std::string, std::size_t> at;
  engine.counters().ForEach([&](std::string_view name, std::uint64_t v) {
    auto [it, inserted] = at.try_emplace(std::string(name), out.size());
    if (inserted) out.emplace_back(std::string(name), 0);
    out[it->second].second += v;
  });
  return out;
}

bool CounterMatches(std::string_view name, const std::string& filter) {
  if (filter.empty()) return true;
  if (filter == "drops") return name.find("drop") != std::string_view::npos;
  std::string prefix = filter;
  if (filter == "ip4") prefix = "ipv4";
  if (filter == "ip6") prefix = "ipv6";
  if (filter == "eth") prefix = "eth";
  return name.substr(0, prefix.size()) == prefix;
}

int ShowInterfaces(Engine& engine, Args& args, Out& out) {
  static constexpr const char* kUsageText = "show interfaces [--json]";
  const bool json = args.Flag("--json");
  if (!Console::ArgsDone(args, out, kUsageText)) return kUsage;
  const std::string failure = engine.link_failure();
  Table t({"name", "mac", "mtu", "state", "link", "rx_frames", "rx_bytes", "tx_frames", "tx_bytes", "rx_drops",
           "tx_drops"});
  t.Add({engine.config().tap, engine.config().mac.ToString(), Num(engine.config().mtu),
         std::string(failure.empty() ? "up" : "failed"), engine.link().Describe(), Num(engine.counter("rx_frames")),
         Num(engine.counter("rx_bytes")), Num(engine.counter("tx_frames")), Num(engine.counter("tx_bytes")),
         Num(engine.counter("rx_drop_no_buffer") + engine.counter("rx_drop_oversize")),
         Num(engine.counter("tx_drop_error"))});
  return Show(out, t, json);
}

struct AddressView {
  std::vector<proto::ipv4::HostAddress> v4;
  std::vector<proto::ipv6::HostAddress6> v6;
  std::vector<proto::ipv4::Route> routes4;
  std::vector<proto::ipv6::OnLinkPrefix> prefixes6;
  std::vector<proto::ipv6::DefaultRouter> routers6;
  std::optional<proto::Ipv6Address> gw6;
};

std::optional<AddressView> ReadAddresses(Engine& engine) {
  return engine.OnShard<AddressView>(0, [](const Worker& w) {
    AddressView v;
    v.v4 = w.ipv4_host().addresses();
    v.v6 = w.ipv6_host().addresses();
    v.routes4 = w.ipv4_host().routes();
    v.prefixes6 = w.ipv6_host().prefixes();
    v.routers6 = w.ipv6_host().routers();
    return v;
  });
}

int ShowAddresses(Engine& engine, Args& args, Out& out) {
  static constexpr const char* kUsageText = "show addresses [--json]";
  const bool json = args.Flag("--json");
  if (!Console::ArgsDone(args, out, kUsageText)) return kUsage;
  const auto v = ReadAddresses(engine);
  if (!v) return ShardSilent(out, 0);
  const Instant now = engine.clock().Now();
  Table t({"family", "address", "state", "origin", "valid"});
  for (const auto& a : v->v4) {
    bool configured = false;
    for (const auto& c : engine.config().ip4) configured |= c.itf.address == a.itf.address;
    t.Add({std::string("ip4"), a.itf.ToString(), std::string(proto::ipv4::AddressStateName(a.state)),
           std::string(configured ? "static" : "dhcp"), std::string("never")});
  }
  for (const auto& a : v->v6) {
    const char* origin = a.origin == proto::ipv6::Origin::kLinkLocal ? "link-local"
                         : a.origin == proto::ipv6::Origin::kSlaac   ? "slaac"
                                                                     : "static";
    t.Add({std::string("ip6"), a.itf.ToString(), std::string(proto::ipv6::AddrStateName(a.state)),
           std::string(origin), Left(a.valid_until, now)});
  }
  return Show(out, t, json);
}

int ShowRoutes(Engine& engine, Args& args, Out& out) {
  static constexpr const char* kUsageText = "show routes [--json]";
  const bool json = args.Flag("--json");
  if (!Console::ArgsDone(args, out, kUsageText)) return kUsage;
  const auto v = ReadAddresses(engine);
  if (!v) return ShardSilent(out, 0);
  const Instant now = engine.clock().Now();
  Table t({"family", "destination", "gateway", "source", "metric", "valid"});
  for (const auto& r : v->routes4) {
    t.Add({std::string("ip4"), r.net.ToString(), r.gateway ? r.gateway->ToString() : std::string("on-link"),
           r.src.ToString(), Num(r.metric), std::string("never")});
  }
  for (const auto& p : v->prefixes6) {
    t.Add({std::string("ip6"), p.net.ToString(), std::string("on-link"), std::string("-"), Num(0),
           Left(p.until, now)});
  }
  for (const auto& r : v->routers6) {
    t.Add({std::string("ip6"), std::string("::/0"), r.address.ToString(), std::string("-"), Num(0),
           Left(r.until, now)});
  }
  if (engine.config().gw6) {
    t.Add({std::string("ip6"), std::string("::/0"), engine.config().gw6->ToString(), std::string("-"), Num(0),
           std::string("never")});
  }
  return Show(out, t, json);
}

int ShowArp(Engine& engine, Args& args, Out& out) {
  static constexpr const char* kUsageText = "show arp [--json]";
  const bool json = args.Flag("--json");
  if (!Console::ArgsDone(args, out, kUsageText)) return kUsage;
  using Row = std::tuple<proto::Ipv4Address, proto::arp::ArpCache::Entry>;
  const auto rows = engine.OnShard<std::vector<Row>>(0, [](const Worker& w) {
    std::vector<Row> r;
    w.arp_cache().ForEach([&](proto::Ipv4Address ip, const proto::arp::ArpCache::Entry& e) { r.emplace_back(ip, e); });
    return r;
  });
  if (!rows) return ShardSilent(out, 0);
  const Instant now = engine.clock().Now();
  Table t({"address", "mac", "state", "timer"});
  for (const auto& [ip, e] : *rows) {
    const bool has_mac = e.state != proto::arp::ArpCache::State::kIncomplete;
    t.Add({ip.ToString(), has_mac ? e.mac.ToString() : std::string("-"),
           absl::AsciiStrToLower(proto::arp::ArpCache::StateName(e.state)), Left(e.deadline, now)});
  }
  return Show(out, t, json);
}

int ShowNd(Engine& engine, Args& args, Out& out) {
  static constexpr const char* kUsageText = "show nd [--json]";
  const bool json = args.Flag("--json");
  if (!Console::ArgsDone(args, out, kUsageText)) return kUsage;
  using Row = std::tuple<proto::Ipv6Address, proto::nd::NdCache::Entry>;
  const auto rows = engine.OnShard<std::vector<Row>>(0, [](const Worker& w) {
    std::vector<Row> r;
    w.nd_cache().ForEach([&](const proto::Ipv6Address& ip, const proto::nd::NdCache::Entry& e) { r.emplace_back(ip, e); });
    return r;
  });
  if (!rows) return ShardSilent(out, 0);
  const Instant now = engine.clock().Now();
  Table t({"address", "mac", "state", "router", "timer"});
  for (const auto& [ip, e] : *rows) {
    const bool has_mac = e.state != proto::nd::NdCache::State::kIncomplete;
    t.Add({ip.ToString(), has_mac ? e.mac.ToString() : std::string("-"),
           absl::AsciiStrToLower(proto::nd::NdCache::StateName(e.state)), std::string(e.is_router ? "yes" : "no"),
           Left(e.deadline, now)});
  }
  return Show(out, t, json);
}

int ShowTcp(Engine& engine, Args& args, Out& out) {
  static constexpr const char* kUsageText = "show tcp [--listening | --all] [--json]";
  const bool json = args.Flag("--json");
  // As ss(8): connections, or listeners (-l), or both (-a).
  const bool listening = args.Flag("--listening") || args.Flag("-l");
  const bool all = args.Flag("--all") || args.Flag("-a");
  if (!Console::ArgsDone(args, out, kUsageText)) return kUsage;
  // recv_q and send_q as ss shows them: bytes not yet read and not yet
  // acknowledged (unsent included); for a listener, the accept queue and
  // the backlog.
  Table t({"local", "remote", "state", "shard", "recv_q", "send_q", "snd_wnd", "rcv_wnd", "cwnd", "ssthresh",
           "in_flight", "srtt_ms", "rto_ms", "retransmits", "cc", "recovery", "ecn", "ce", "mss", "pmtu", "tfo", "pacing_mbps"});
  for (int k = 0; k < engine.workers(); ++k) {
    const auto rows = engine.OnShard<std::vector<TcpSessionInfo>>(
        k, [](const Worker& w) { return w.TcpSessions(); });
    if (!rows) return ShardSilent(out, k);
    for (const auto& i : *rows) {
      if (i.listener ? !(listening || all) : listening) continue;
      if (i.listener) {
        t.Add({Ep(i.local), std::string("*"), i.state, Num(i.shard), Num(i.accept_queue), Num(i.backlog), Num(0),
               Num(0), Num(0), Num(0), Num(0), 0.0, Num(0), Num(0), std::string("-"), std::string("-"),
               std::string("-"), Num(0), Num(0), Num(0), std::string("-"), 0.0});
        continue;
      }
      t.Add({Ep(i.local), Ep(i.remote), i.state, Num(i.shard), Num(i.unread), Num(i.unsent + i.in_flight),
             Num(i.snd_wnd), Num(i.rcv_wnd), Num(i.cwnd),
             Num(std::min<std::uint64_t>(i.ssthresh, std::numeric_limits<std::int64_t>::max())), Num(i.in_flight),
             static_cast<double>(i.srtt_us) / 1000.0, Num(i.rto_ms), Num(i.retransmits), i.cc, i.recovery, i.ecn,
             Num(i.ce_received), Num(i.mss), Num(i.pmtu), i.fastopen,
             static_cast<double>(i.pacing_rate) * 8 / 1e6});
    }
  }
  return Show(out, t, json);
}

int ShowUdp(Engine& engine, Args& args, Out& out) {
  static constexpr const char* kUsageText = "show udp [--json]";
  const bool json = args.Flag("--json");
  if (!Console::ArgsDone(args, out, kUsageText)) return kUsage;
  Table t({"local", "remote", "kind", "shard", "rx_queued", "tx_queued", "rx_dropped"});
  for (int k = 0; k < engine.workers(); ++k) {
    const auto rows =
        engine.OnShard<std::vector<UdpSocketInfo>>(k, [](const Worker& w) { return w.UdpSockets(); });
    if (!rows) return ShardSilent(out, k);
    for (const auto& i : *rows) {
      t.Add({Ep(i.local), i.remote.port == 0 ? std::string("*") : Ep(i.remote),
             std::string(i.icmp_echo ? "icmp-echo" : "udp"), Num(i.shard), Num(i.rx_queued), Num(i.tx_queued),
             Num(i.rx_dropped)});
    }
  }
  return Show(out, t, json);
}

int ShowCounters(Engine& engine, Args& args, Out& out) {
  static constexpr const char* kUsageText =
      "show counters [PROTO|drops] [--all] [--scopes] [--json | --prometheus]";
  const bool json = args.Flag("--json");
  const bool prometheus = args.Flag("--prometheus");
  const bool all = args.Flag("--all");
  const bool scopes = args.Flag("--scopes");
  const std::string filter = args.Next().value_or("");
  if (!Console::ArgsDone(args, out, kUsageText)) return kUsage;
  if (json && prometheus) return Console::UsageError(out, "--json or --prometheus, not both", kUsageText);
  if (prometheus) {
    out.Write(PrometheusCounters(engine));
    return kOk;
  }
  std::size_t shown = 0;
  if (scopes) {  // one row per counter and stage/shard
    Table t({"name", "scope", "value"});
    engine.counters().ForEachScoped([&](std::string_view name, std::string_view scope, std::uint64_t v) {
      if (!CounterMatches(name, filter) || (v == 0 && !all)) return;
      t.Add({std::string(name), std::string(scope.empty() ? "engine" : scope), Num(v)});
    });
    shown = t.size();
    if (json) return Show(out, t, true);
    if (shown != 0) out.Write(t.Text());
  } else {
    Table t({"name", "value"});
    for (const auto& [name, v] : SumCounters(engine)) {
      if (!CounterMatches(name, filter) || (v == 0 && !all)) continue;
      t.Add({name, Num(v)});
    }
    shown = t.size();
    if (json) {
      std::string o = "{";
      for (const auto& [name, v] : SumCounters(engine)) {
        if (!CounterMatches(name, filter) || (v == 0 && !all)) continue;
        absl::StrAppend(&o, o.size() == 1 ? "\n  " : ",\n  ", JsonString(name), ": ", v);
      }
      out.Write(o + (o.size() == 1 ? "}\n" : "\n}\n"));
      return kOk;
    }
    if (shown != 0) out.Write(t.Text());
  }
  if (shown == 0) {
    out.Write(absl::StrCat("no ", all ? "" : "non-zero ", "counters",
                           filter.empty() ? std::string() : absl::StrCat(" match ", Console::Quote(filter)),
                           all ? "" : " (--all shows zeros)", "\n"));
  }
  return kOk;
}

int ShowRings(Engine& engine, Args& args, Out& out) {
  static constexpr const char* kUsageText = "show rings [--json]";
  const bool json = args.Flag("--json");
  if (!Console::ArgsDone(args, out, kUsageText)) return kUsage;
  Table t({"ring", "depth", "capacity", "drops"});
  for (const auto& r : engine.rings()) t.Add({r.name, Num(r.depth), Num(r.capacity), Num(r.drops)});
  return Show(out, t, json);
}

int ShowPool(Engine& engine, Args& args, Out& out) {
  static constexpr const char* kUsageText = "show pool [--json]";
  const bool json = args.Flag("--json");
  if (!Console::ArgsDone(args, out, kUsageText)) return kUsage;
  const rings::PoolStats s = engine.pool().stats();
  Table t({"class", "buffer_bytes", "total", "in_use", "free", "high_water", "exhausted"});
  const char* names[] = {"standard", "large"};
  const std::size_t sizes[] = {2048, 65536};
  for (std::size_t c = 0; c < rings::kBufferClasses && c < 2; ++c) {
    t.Add({std::string(names[c]), Num(sizes[c]), Num(s.cls[c].total), Num(s.cls[c].in_use),
           Num(s.cls[c].total - std::min(s.cls[c].total, s.cls[c].in_use)), Num(s.cls[c].high_water),
           Num(s.cls[c].exhaustion_events)});
  }
  return Show(out, t, json);
}

// Fragments in reassembly on the control shard, against their bounds
// (--reassembly-mem, --reassembly-mem6; a source may hold a quarter).
int ShowReassembly(Engine& engine, Args& args, Out& out) {
  static constexpr const char* kUsageText = "show reassembly [--json]";
  const bool json = args.Flag("--json");
  if (!Console::ArgsDone(args, out, kUsageText)) return kUsage;
  struct Held {
    std::size_t datagrams4, bytes4, datagrams6, bytes6;
    std::uint64_t evicted4, evicted6;
  };
  const auto held = engine.OnShard<Held>(0, [](const Worker& w) {
    return Held{w.reassembler4().datagrams(), w.reassembler4().bytes_held(), w.reassembler6().datagrams(),
                w.reassembler6().bytes_held(), w.reassembler4().evicted(), w.reassembler6().evicted()};
  });
  if (!held) return ShardSilent(out, 0);
  const Config& c = engine.config();
  Table t({"ip", "datagrams", "bytes", "limit", "per_source", "evicted"});
  t.Add({std::string("ip4"), Num(held->datagrams4), Num(held->bytes4), Num(c.reassembly_bytes),
         Num(c.reassembly_bytes / 4), Num(held->evicted4)});
  t.Add({std::string("ip6"), Num(held->datagrams6), Num(held->bytes6), Num(c.reassembly6_bytes),
         Num(c.reassembly6_bytes / 4), Num(held->evicted6)});
  return Show(out, t, json);
}

// /proc/self/task/TID/stat: state, CPU time (utime + stime) and the CPU it
// last ran on.
struct TaskStat {
  char state = '?';
  double cpu_seconds = 0;
  int last_cpu = -1;
};
TaskStat ReadTaskStat(int tid) {
  TaskStat s;
  std::ifstream f(absl::StrCat("/proc/self/task/", tid, "/stat"));
  std::string line;
  if (!std::getline(f, line)) return s;
  const std::size_t close = line.rfind(')');
  if (close == std::string::npos) return s;
  // After "pid (comm) ": field 3 is the state; utime 14, stime 15, processor 39.
  const std::vector<std::string> fields = absl::StrSplit(line.substr(close + 2), ' ');
  if (fields.size() < 37) return s;
  s.state = fields[0].empty() ? '?' : fields[0][0];
  std::uint64_t utime = 0, stime = 0;
  (void)absl::SimpleAtoi(fields[11], &utime);
  (void)absl::SimpleAtoi(fields[12], &stime);
  const long hz = sysconf(_SC_CLK_TCK);
  s.cpu_seconds = static_cast<double>(utime + stime) / static_cast<double>(hz > 0 ? hz : 100);
  (void)absl::SimpleAtoi(fields[36], &s.last_cpu);
  return s;
}

int ShowThreads(Engine& engine, Args& args, Out& out) {
  static constexpr const char* kUsageText = "show threads [--json]";
  const bool json = args.Flag("--json");
  if (!Console::ArgsDone(args, out, kUsageText)) return kUsage;
  Table t({"stage", "thread", "tid", "pinned", "last_cpu", "state", "cpu_seconds", "poll"});
  for (const ThreadInfo& th : engine.threads()) {
    const TaskStat s = ReadTaskStat(th.tid);
    t.Add({th.stage, th.thread, Num(th.tid), th.cpu < 0 ? std::string("-") : absl::StrCat(th.cpu), Num(s.last_cpu),
           std::string(1, s.state), s.cpu_seconds, std::string(PollModeName(engine.config().poll))});
  }
  return Show(out, t, json);
}

int CaptureStart(Engine& engine, Args& args, Out& out) {
  static constexpr const char* kUsageText = "capture start FILE [--size SIZE] [--files N]";
  const auto size_text = args.Option("--size");
  const auto files_text = args.Option("--files");
  const auto file = args.Next();
  if (!Console::ArgsDone(args, out, kUsageText)) return kUsage;
  if (!file) return Console::UsageError(out, "which file?", kUsageText);
  std::uint64_t size = engine.config().pcap_size;
  if (size_text) {
    const auto bytes = ParseSize(*size_text);  // as --pcap-size
    if (!bytes || *bytes < (64u << 10)) {
      return Console::UsageError(out, absl::StrCat(Console::Quote(*size_text), " is not a size of at least 64K"),
                                 kUsageText);
    }
    size = *bytes;
  }
  int files = engine.config().pcap_files;
  if (files_text && (!absl::SimpleAtoi(*files_text, &files) || files < 1 || files > 1000)) {
    return Console::UsageError(out, absl::StrCat(Console::Quote(*files_text), " is not a count in [1, 1000]"), kUsageText);
  }
  if (absl::Status s = engine.capture().Start(*file, size, files); !s.ok()) {
    out.Write(absl::StrCat("error: ", s.message(), "\n"));
    return kFailed;
  }
  out.Write(absl::StrCat("capturing to ", *file, " (", size >> 10, " KiB a file, ", files, " file",
                         files == 1 ? "" : "s", ")\n"));
  return kOk;
}

int CaptureStop(Engine& engine, Args& args, Out& out) {
  if (!Console::ArgsDone(args, out, "capture stop")) return kUsage;
  const Capture::Status before = engine.capture().status();
  if (!engine.capture().Stop()) {
    out.Write("error: no capture runs; start one with 'capture start FILE'\n");
    return kFailed;
  }
  const Capture::Status s = engine.capture().status();
  out.Write(absl::StrCat("capture of ", before.path, " stopped: ", s.frames, " frames, ", s.bytes, " bytes, ",
                         s.dropped, " dropped, ", s.rotations, " rotations\n"));
  return kOk;
}

int CaptureStatus(Engine& engine, Args& args, Out& out) {
  static constexpr const char* kUsageText = "capture status [--json]";
  const bool json = args.Flag("--json");
  if (!Console::ArgsDone(args, out, kUsageText)) return kUsage;
  const Capture::Status s = engine.capture().status();
  Table t({"active", "file", "frames", "bytes", "dropped", "rotations"});
  t.Add({std::string(s.active ? "yes" : "no"), s.path.empty() ? std::string("-") : s.path, Num(s.frames),
         Num(s.bytes), Num(s.dropped), Num(s.rotations)});
  return Show(out, t, json);
}

int LogLevelCommand(Engine& engine, Args& args, Out& out) {
  static constexpr const char* kUsageText = "log level [LEVEL | SUBSYSTEM=LEVEL ...] [--json]";
  const bool json = args.Flag("--json");
  std::vector<std::string> items;
  while (auto w = args.Next()) items.push_back(*w);
  if (!items.empty()) {
    const auto levels = ParseLogLevels(absl::StrJoin(items, ","));
    if (!levels.ok()) return Console::UsageError(out, std::string(levels.status().message()), kUsageText);
    // A bare level sets every subsystem; SUBSYSTEM=LEVEL only that one.
    bool bare = false;
    for (const auto& i : items) bare |= i.find('=') == std::string::npos;
    if (bare) {
      engine.logger().Apply(*levels);
    } else {
      for (const auto& [sub, level] : levels->overrides) engine.logger().SetLevel(sub, level);
    }
  }
  Table t({"subsystem", "level"});
  for (std::size_t i = 0; i < kSubsystemCount; ++i) {
    const auto s = static_cast<Subsystem>(i);
    t.Add({std::string(SubsystemName(s)), std::string(LogLevelName(engine.logger().level(s)))});
  }
  return Show(out, t, json);
}

int TraceCommand(Engine& engine, Args& args, Out& out) {
  static constexpr const char* kUsageText = "trace [LAYER,... | all | off]";
  const auto spec = args.Next();
  if (!Console::ArgsDone(args, out, kUsageText)) return kUsage;
  if (spec) {
    const auto mask = ParseTrace(*spec);
    if (!mask.ok()) return Console::UsageError(out, std::string(mask.status().message()), kUsageText);
    engine.logger().SetTrace(*mask);
  }
  out.Write(absl::StrCat("trace: ", TraceToString(engine.logger().trace()), "\n"));
  return kOk;
}

}  // namespace

std::string PrometheusCounters(const Engine& engine) {
  std::string out;
  std::vector<std::string> order;
  absl::flat_hash_map<std::string, std::vector<std::pair<std::string, std::uint64_t>>> by_name;
  engine.counters().ForEachScoped([&](std::string_view name, std::string_view scope, std::uint64_t v) {
    auto [it, inserted] = by_name.try_emplace(std::string(name));
    if (inserted) order.emplace_back(name);
    it->second.emplace_back(std::string(scope.empty() ? "engine" : scope), v);
  });
  for (const std::string& name : order) {
    const std::string metric = absl::StrCat("ringstack_", name, "_total");
    absl::StrAppend(&out, "# TYPE ", metric, " counter\n");
    // Same-named counters in one scope (rare) are one sample.
    std::vector<std::pair<std::string, std::uint64_t>> samples;
    for (const auto& [scope, v] : by_name[name]) {
      bool merged = false;
      for (auto& s : samples) {
        if (s.first == scope) {
          s.second += v;
          merged = true;
        }
      }
      if (!merged) samples.emplace_back(scope, v);
    }
    for (const auto& [scope, v] : samples) absl::StrAppend(&out, metric, "{scope=\"", scope, "\"} ", v, "\n");
  }
  const rings::PoolStats s = const_cast<Engine&>(engine).pool().stats();
  const char* names[] = {"standard", "large"};
  for (const char* gauge : {"total", "in_use", "high_water"}) {
    absl::StrAppend(&out, "# TYPE ringstack_pool_buffers_", gauge, " gauge\n");
    for (std::size_t c = 0; c < 2 && c < rings::kBufferClasses; ++c) {
      const std::size_t v = std::string_view(gauge) == "total"    ? s.cls[c].total
                            : std::string_view(gauge) == "in_use" ? s.cls[c].in_use
                                                                  : s.cls[c].high_water;
      absl::StrAppend(&out, "ringstack_pool_buffers_", gauge, "{class=\"", names[c], "\"} ", v, "\n");
    }
  }
  return out;
}

void AddEngineCommands(Console& console, Engine& engine) {
  Engine* e = &engine;
  auto bind = [e](int (*fn)(Engine&, Args&, Out&)) {
    return [e, fn](Args& a, Out& o) { return fn(*e, a, o); };
  };
  console.Add("show interfaces", "show interfaces [--json]", "the link: MAC, MTU, state, frames and bytes each way",
              bind(ShowInterfaces));
  console.Add("show addresses", "show addresses [--json]", "IPv4 and IPv6 addresses with state and origin",
              bind(ShowAddresses));
  console.Add("show routes", "show routes [--json]", "IPv4 and IPv6 routes (on-link, gateways, RA routers)",
              bind(ShowRoutes));
  console.Add("show arp", "show arp [--json]", "the ARP cache", bind(ShowArp));
  console.Add("show nd", "show nd [--json]", "the IPv6 neighbour cache", bind(ShowNd));
  console.Add("show tcp", "show tcp [--listening | --all] [--json]",
              "TCP connections (or listeners, or both): state, shard, windows, cwnd, srtt",
              bind(ShowTcp));
  console.Add("show udp", "show udp [--json]", "UDP and ICMP echo sockets", bind(ShowUdp));
  console.Add("show counters", "show counters [PROTO|drops] [--all] [--scopes] [--json | --prometheus]",
              "counters summed (or per stage/shard with --scopes); PROTO e.g. tcp, ip4, arp", bind(ShowCounters));
  console.Add("show rings", "show rings [--json]", "RX->worker and worker->TX ring depths and drops",
              bind(ShowRings));
  console.Add("show pool", "show pool [--json]", "packet buffers: total, in use, high water", bind(ShowPool));
  console.Add("show reassembly", "show reassembly [--json]",
              "IPv4 and IPv6 fragments held: datagrams, bytes, limits, evictions", bind(ShowReassembly));
  console.Add("show threads", "show threads [--json]", "stage threads: tid, pinning, CPU time", bind(ShowThreads));
  console.Add("capture start", "capture start FILE [--size SIZE] [--files N]",
              "pcap capture of every frame received and sent (rotated at SIZE)", bind(CaptureStart));
  console.Add("capture stop", "capture stop", "stop the capture and close its file", bind(CaptureStop));
  console.Add("capture status", "capture status [--json]", "what the capture has written", bind(CaptureStatus));
  console.Add("log level", "log level [LEVEL | SUBSYSTEM=LEVEL ...] [--json]",
              "show or set log levels (error, warn, info, debug, trace)", bind(LogLevelCommand));
  console.Add("trace", "trace [LAYER,... | all | off]",
              "per-packet trace lines in the log for eth, arp, ip4, ip6, icmp4, icmp6, udp, tcp", bind(TraceCommand));
}

}  // namespace ringstack::engine
