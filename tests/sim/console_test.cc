// The console (issue #9): command parsing, tables and JSON, the per-packet
// summary, the pcap capture, every show command against an in-process engine
// (SimRunner, virtual clock) with --json parsed back, the Unix-socket server
// with several clients, and random input that must not break it.
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "engine/console/capture.h"
#include "engine/console/console.h"
#include "engine/console/engine_commands.h"
#include "engine/console/packet_summary.h"
#include "engine/console/table.h"
#include "engine/engine.h"
#include "engine/link/sim.h"
#include "engine/log.h"
#include "engine/runner.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "protocols/common/json.h"
#include "tests/sim/tcp_sim_harness.h"
#include "tests/vectors/vectors.h"

namespace ringstack::engine {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using Frame = std::vector<std::byte>;

template <std::size_t N>
Frame Vec(const unsigned char (&a)[N]) {
  Frame v(N);
  std::memcpy(v.data(), a, N);
  return v;
}

// A JSON value as the tests read it (from the strict RFC 8259 reader:
// output that does not parse fails the test).
struct Json {
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject } type = Type::kNull;
  double number = 0;
  bool boolean = false;
  std::string string;
  std::vector<Json> array;
  // An object's members, in order (two vectors: std::vector may hold the
  // incomplete Json, a std::pair may not).
  std::vector<std::string> keys;
  std::vector<Json> values;
  const Json& operator[](const std::string& key) const {
    static const Json kNone;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (keys[i] == key) return values[i];
    }
    return kNone;
  }
};

// The project's reader (protocols/common/json, with its own rows in
// tests/unit/iperf3_test.cc) into the shape these tests read values from.
Json FromValue(const proto::json::Value& v) {
  Json j;
  switch (v.type()) {
    case proto::json::Value::Type::kNull: break;
    case proto::json::Value::Type::kBool: j.type = Json::Type::kBool; j.boolean = v.boolean(); break;
    case proto::json::Value::Type::kNumber: j.type = Json::Type::kNumber; j.number = v.number(); break;
    case proto::json::Value::Type::kString: j.type = Json::Type::kString; j.string = v.string(); break;
    case proto::json::Value::Type::kArray:
      j.type = Json::Type::kArray;
      for (const auto& item : v.items()) j.array.push_back(FromValue(item));
      break;
    case proto::json::Value::Type::kObject:
      j.type = Json::Type::kObject;
      j.keys = v.keys();
      for (const auto& item : v.items()) j.values.push_back(FromValue(item));
      break;
  }
  return j;
}

std::optional<Json> ParseJson(const std::string& s) {
  const auto v = proto::json::Parse(s, 64);
  if (!v) return std::nullopt;
  return FromValue(*v);
}

// ---------------------------------------------------------------- parsing

TEST(ConsoleParse, SplitsWordsAndQuotes) {
  std::string error;
  EXPECT_EQ(SplitCommandLine("  show   tcp\t--json ", error), (std::vector<std::string>{"show", "tcp", "--json"}));
  EXPECT_EQ(SplitCommandLine(R"(tcp-echo 192.0.2.1 7 "hello \"there\" \\ok")", error),
            (std::vector<std::string>{"tcp-echo", "192.0.2.1", "7", "hello \"there\" \\ok"}));
  EXPECT_EQ(SplitCommandLine(R"(x "" y)", error), (std::vector<std::string>{"x", "", "y"}));
  EXPECT_TRUE(error.empty());
  EXPECT_TRUE(SplitCommandLine(R"(say "unterminated)", error).empty());
  EXPECT_EQ(error, "unterminated quote");
}

TEST(ConsoleParse, ArgsTakeFlagsOptionsAndWords) {
  ConsoleArgs a({"192.0.2.1", "-c", "3", "--json", "-s=100"});
  EXPECT_TRUE(a.Flag("--json"));
  EXPECT_FALSE(a.Flag("--json"));
  EXPECT_EQ(a.Option("-c"), "3");
  EXPECT_EQ(a.Option("-s"), "100");
  EXPECT_EQ(a.Option("-i"), std::nullopt);
  EXPECT_EQ(a.Next(), "192.0.2.1");
  EXPECT_EQ(a.Next(), std::nullopt);
  EXPECT_TRUE(a.error.empty());
  ConsoleArgs b({"x", "-c"});
  EXPECT_EQ(b.Option("-c"), std::nullopt);
  EXPECT_EQ(b.error, "-c needs a value");
}

TEST(ConsoleTable, AlignsColumnsNumbersRight) {
  Table t({"name", "value", "state"});
  t.Add({std::string("tcp_rx"), Num(5), std::string("ok")});
  t.Add({std::string("x"), Num(12345), std::string("-")});
  EXPECT_EQ(t.Text(),
            "NAME    VALUE  STATE\n"
            "tcp_rx      5  ok\n"
            "x       12345  -\n");
  EXPECT_EQ(t.Json(), "[\n  {\"name\": \"tcp_rx\", \"value\": 5, \"state\": \"ok\"},\n"
                      "  {\"name\": \"x\", \"value\": 12345, \"state\": \"-\"}\n]\n");
  EXPECT_EQ(Table({"a"}).Json(), "[]\n");
}

TEST(ConsoleTable, JsonStringsEscapeWhatMustBe) {
  const std::string nasty = std::string("q\"b\\s\nt\tc") + '\x01' + '\x7f' + "\xc3\xa9";
  EXPECT_EQ(JsonString(nasty), "\"q\\\"b\\\\s\\nt\\tc\\u0001\\u007f\xc3\xa9\"");
  Table t({"text"});
  t.Add({nasty});
  const auto j = ParseJson(t.Json());
  ASSERT_TRUE(j.has_value());
  EXPECT_EQ(j->array.at(0)["text"].string, nasty);
}

// A console with two toy commands, for dispatch and hints.
Console& ToyConsole() {
  static Console* c = [] {
    auto* console = new Console;
    console->Add("show things", "show things [--json]", "the things",
                 [](ConsoleArgs& a, ConsoleOutput& o) {
                   const bool json = a.Flag("--json");
                   if (!Console::ArgsDone(a, o, "show things [--json]")) return Console::kUsage;
                   o.Write(json ? "[]\n" : "THINGS\n");
                   return Console::kOk;
                 });
    console->Add("show stuff", "show stuff", "the stuff", [](ConsoleArgs&, ConsoleOutput& o) {
      o.Write("stuff\n");
      return Console::kOk;
    });
    console->Add("ping", "ping ADDR", "a ping", [](ConsoleArgs& a, ConsoleOutput& o) {
      const auto addr = a.Next();
      if (!addr) return Console::UsageError(o, "which address?", "ping ADDR");
      o.Write("pong " + *addr + "\n");
      return Console::kFailed;
    });
    return console;
  }();
  return *c;
}

std::pair<int, std::string> RunLine(const Console& c, std::string_view line) {
  StringOutput out;
  const int rc = c.Execute(line, out);
  return {rc, out.text()};
}

TEST(Console, DispatchesByTheLongestName) {
  EXPECT_EQ(RunLine(ToyConsole(), "show things"), std::make_pair(0, std::string("THINGS\n")));
  EXPECT_EQ(RunLine(ToyConsole(), "show things --json"), std::make_pair(0, std::string("[]\n")));
  EXPECT_EQ(RunLine(ToyConsole(), "ping 192.0.2.1"), std::make_pair(1, std::string("pong 192.0.2.1\n")));
  EXPECT_EQ(RunLine(ToyConsole(), "   "), std::make_pair(0, std::string()));
}

TEST(Console, UnknownCommandsAndBadArgumentsGetOneLineAndAHint) {
  auto [rc, text] = RunLine(ToyConsole(), "shwo things");
  EXPECT_EQ(rc, Console::kUsage);
  EXPECT_EQ(text, "error: unknown command 'shwo'; did you mean 'show'? try 'help'\n");
  std::tie(rc, text) = RunLine(ToyConsole(), "show thongs");
  EXPECT_EQ(rc, Console::kUsage);
  EXPECT_EQ(text, "error: unknown command 'show thongs'; show what? one of: things, stuff\n");
  std::tie(rc, text) = RunLine(ToyConsole(), "frobnicate");
  EXPECT_EQ(text, "error: unknown command 'frobnicate'; try 'help'\n");
  std::tie(rc, text) = RunLine(ToyConsole(), "show things extra");
  EXPECT_EQ(rc, Console::kUsage);
  EXPECT_EQ(text, "error: unexpected 'extra'; usage: show things [--json]\n");
  std::tie(rc, text) = RunLine(ToyConsole(), "ping");
  EXPECT_EQ(text, "error: which address?; usage: ping ADDR\n");
  std::tie(rc, text) = RunLine(ToyConsole(), "ping \"open");
  EXPECT_EQ(rc, Console::kUsage);
  EXPECT_EQ(text, "error: unterminated quote; try 'help'\n");
}

TEST(Console, HelpListsCommandsAndOne) {
  auto [rc, text] = RunLine(ToyConsole(), "help");
  EXPECT_EQ(rc, 0);
  EXPECT_THAT(text, HasSubstr("show things [--json]"));
  EXPECT_THAT(text, HasSubstr("ping ADDR"));
  std::tie(rc, text) = RunLine(ToyConsole(), "help show");
  EXPECT_THAT(text, HasSubstr("show stuff"));
  EXPECT_THAT(text, Not(HasSubstr("ping ADDR")));
  std::tie(rc, text) = RunLine(ToyConsole(), "ping --help");
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(text, "usage: ping ADDR\n  a ping\n");
  std::tie(rc, text) = RunLine(ToyConsole(), "help nothing");
  EXPECT_EQ(rc, Console::kUsage);
}

TEST(Logging, LevelsPerSubsystemAndTraceLayers) {
  const auto l = ParseLogLevels("warn,tcp=debug, arp=trace");
  ASSERT_TRUE(l.ok());
  Logger logger(*l);
  EXPECT_TRUE(logger.Enabled(Subsystem::kTcp, LogLevel::kDebug));
  EXPECT_FALSE(logger.Enabled(Subsystem::kTcp, LogLevel::kTrace));
  EXPECT_TRUE(logger.Enabled(Subsystem::kArp, LogLevel::kTrace));
  EXPECT_FALSE(logger.Enabled(Subsystem::kIp4, LogLevel::kInfo));
  EXPECT_TRUE(logger.Enabled(Subsystem::kIp4, LogLevel::kWarn));
  EXPECT_THAT(std::string(ParseLogLevels("loud").status().message()), HasSubstr("'loud' is not a level"));
  EXPECT_THAT(std::string(ParseLogLevels("tpc=debug").status().message()), HasSubstr("'tpc' is not a subsystem"));
  EXPECT_FALSE(ParseLogLevels("").ok());

  EXPECT_EQ(*ParseTrace("ip4,tcp"), kTraceIp4 | kTraceTcp);
  EXPECT_EQ(*ParseTrace("all"), kTraceAll);
  EXPECT_EQ(*ParseTrace(""), 0u);
  EXPECT_EQ(*ParseTrace("icmp"), kTraceIcmp4 | kTraceIcmp6);
  EXPECT_EQ(TraceToString(kTraceIp4 | kTraceTcp), "ip4,tcp");
  EXPECT_THAT(std::string(ParseTrace("ip5").status().message()), HasSubstr("'ip5' is not a layer"));
}

// ---------------------------------------------------------------- summary

TEST(PacketSummary, OneLineWithEveryLayer) {
  FrameSummary s = SummarizeFrame(Vec(vectors::kArpRequest));
  EXPECT_THAT(s.text, HasSubstr("| arp who-has 192.0.2.2 tell 192.0.2.1"));
  EXPECT_EQ(s.layers, kTraceEth | kTraceArp);
  s = SummarizeFrame(Vec(vectors::kIcmpEchoRequest));
  EXPECT_THAT(s.text, HasSubstr("| ip4 192.0.2.1 > 192.0.2.2 ttl 64 id 4660 len 60 DF | icmp4 echo request id 16962 seq 7 len 32"));
  EXPECT_EQ(s.layers, kTraceEth | kTraceIp4 | kTraceIcmp4);
  s = SummarizeFrame(Vec(vectors::kUdpToClosedPort));
  EXPECT_THAT(s.text, HasSubstr("| udp 40000 > 9 len 16"));
  s = SummarizeFrame(Vec(vectors::kIpv6EchoRequest));
  EXPECT_THAT(s.text, HasSubstr("| icmp6 echo request id 16962 seq 7 len 32"));
  EXPECT_EQ(s.layers, kTraceEth | kTraceIp6 | kTraceIcmp6);
  s = SummarizeFrame(Vec(vectors::kNdNsFromPeer));
  EXPECT_THAT(s.text, HasSubstr("neighbor solicitation who-has fe80::"));
  // TCP: a SYN, 192.0.2.1:40000 -> 192.0.2.2:7 (checksums are not read).
  Frame syn = Vec(vectors::kIcmpEchoRequest);
  syn.resize(14 + 20 + 20);
  syn[14 + 9] = std::byte{6};
  proto::StoreBe16(syn.data() + 14 + 2, 40);
  std::byte* t = syn.data() + 34;
  std::memset(t, 0, 20);
  proto::StoreBe16(t, 40000);
  proto::StoreBe16(t + 2, 7);
  proto::StoreBe32(t + 4, 1000);
  t[12] = std::byte{0x50};
  t[13] = std::byte{0x02};
  proto::StoreBe16(t + 14, 64240);
  s = SummarizeFrame(syn);
  EXPECT_THAT(s.text, HasSubstr("| tcp 40000 > 7 [S] seq 1000 win 64240 len 0"));
  EXPECT_EQ(s.layers, kTraceEth | kTraceIp4 | kTraceTcp);
}

TEST(PacketSummary, EveryCutShortFrameSaysSoAndNeverReadsPast) {
  for (const Frame& whole : {Vec(vectors::kArpRequest), Vec(vectors::kIcmpEchoRequest), Vec(vectors::kNdRa),
                             Vec(vectors::kUdp6ToClosedPort), Vec(vectors::kNdRedirect)}) {
    for (std::size_t n = 0; n < whole.size(); ++n) {
      // A copy of exactly n bytes: ASan (and the bounds) catch a read past it.
      const auto cut = std::make_unique<std::byte[]>(n + 1);
      std::memcpy(cut.get(), whole.data(), n);
      const FrameSummary s = SummarizeFrame(std::span<const std::byte>(cut.get(), n));
      EXPECT_FALSE(s.text.empty());
      if (n < 14) {
        EXPECT_THAT(s.text, HasSubstr("ethernet truncated"));
      }
    }
  }
}

// ---------------------------------------------------------------- engine

Config SimConfig(const char* ipv6 = "off", const char* ip6 = "") {
  RawFlags f;
  f.ip6 = ip6;
  f.tap = "sim0";
  f.mac = "02:00:00:00:00:01";
  f.ip4 = "192.0.2.2/24";
  f.acd = "off";
  f.ipv6 = ipv6;
  f.console = "off";
  auto c = ParseConfig(f, 1);
  EXPECT_TRUE(c.ok()) << c.status();
  return *c;
}

class SimEngine {
 public:
  explicit SimEngine(const Config& config = SimConfig()) {
    auto [peer, mine] = SimLink::Pair(clock_, {}, {});
    peer_ = std::move(peer);
    engine_ = std::move(*Engine::CreateWithLink(config, std::move(mine), clock_));
    runner_ = std::make_unique<SimRunner>(engine_->stages(), clock_, std::vector<rings::PacketPool*>{&engine_->pool()});
    AddEngineCommands(console_, *engine_);
  }
  ~SimEngine() {
    runner_.reset();
    engine_.reset();
  }
  std::vector<Frame> Exchange(const Frame& f) {
    peer_->SendBytes(f);
    runner_->RunFor(Duration::Millis(1));
    std::vector<Frame> out;
    while (auto g = peer_->ReceiveBytes()) out.push_back(std::move(*g));
    return out;
  }
  void RunFor(Duration d) { runner_->RunFor(d); }
  std::pair<int, std::string> Run(std::string_view line) { return RunLine(console_, line); }
  // The command's --json output, parsed (test fails when it does not parse).
  Json RunJson(const std::string& line) {
    const auto [rc, text] = Run(line + " --json");
    EXPECT_EQ(rc, 0) << line << ": " << text;
    auto j = ParseJson(text);
    EXPECT_TRUE(j.has_value()) << line << " gave JSON that does not parse:\n" << text;
    return j.value_or(Json{});
  }
  Engine& engine() { return *engine_; }
  Console& console() { return console_; }

 private:
  VirtualClock clock_;
  std::unique_ptr<SimLink> peer_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<SimRunner> runner_;
  Console console_;
};

const char* const kShows[] = {"show interfaces", "show addresses", "show routes", "show arp",  "show nd",
                              "show tcp",        "show udp",       "show counters", "show rings", "show pool",
                              "show threads",    "show reassembly", "capture status", "log level"};

TEST(ConsoleEngine, EveryShowParsesAsJson) {
  SimEngine e;
  e.Exchange(Vec(vectors::kArpRequest));
  for (const char* show : kShows) {
    const Json j = e.RunJson(show);
    EXPECT_TRUE(j.type == Json::Type::kArray || j.type == Json::Type::kObject) << show;
  }
}

TEST(ConsoleEngine, ShowsCachesAddressesRoutesAndCounters) {
  SimEngine e;
  ASSERT_EQ(e.Exchange(Vec(vectors::kArpRequest)).size(), 1u);  // the reply
  ASSERT_EQ(e.Exchange(Vec(vectors::kIcmpEchoRequest)).size(), 1u);

  Json arp = e.RunJson("show arp");
  ASSERT_EQ(arp.array.size(), 1u);
  EXPECT_EQ(arp.array[0]["address"].string, "192.0.2.1");
  EXPECT_EQ(arp.array[0]["mac"].string, "52:54:00:12:34:56");  // the vectors' peer
  auto [rc, text] = e.Run("show arp");
  EXPECT_THAT(text, HasSubstr("ADDRESS    MAC                STATE"));
  EXPECT_THAT(text, HasSubstr("192.0.2.1  52:54:00:12:34:56"));

  Json addrs = e.RunJson("show addresses");
  ASSERT_EQ(addrs.array.size(), 1u);
  EXPECT_EQ(addrs.array[0]["address"].string, "192.0.2.2/24");
  EXPECT_EQ(addrs.array[0]["state"].string, "preferred");
  EXPECT_EQ(addrs.array[0]["origin"].string, "static");
  Json routes = e.RunJson("show routes");
  ASSERT_GE(routes.array.size(), 1u);
  EXPECT_EQ(routes.array[0]["destination"].string, "192.0.2.0/24");
  EXPECT_EQ(routes.array[0]["gateway"].string, "on-link");

  Json itf = e.RunJson("show interfaces");
  EXPECT_EQ(itf.array.at(0)["rx_frames"].number, 2);
  EXPECT_EQ(itf.array.at(0)["tx_frames"].number, 2);
  EXPECT_EQ(itf.array.at(0)["state"].string, "up");

  Json counters = e.RunJson("show counters");
  EXPECT_EQ(counters["arp_rx_request"].number, 1);
  EXPECT_EQ(counters["icmp4_tx_echo_reply"].number, 1);
  std::tie(rc, text) = e.Run("show counters arp");
  EXPECT_THAT(text, HasSubstr("arp_rx_request"));
  EXPECT_THAT(text, Not(HasSubstr("icmp4")));
  // Zero counters only with --all; every drop reason is there by name.
  std::tie(rc, text) = e.Run("show counters drops --all");
  EXPECT_THAT(text, HasSubstr("tcp_drop_bad_checksum"));
  EXPECT_THAT(text, HasSubstr("ipv4_drop_"));
  std::tie(rc, text) = e.Run("show counters drops");
  EXPECT_THAT(text, Not(HasSubstr("tcp_drop_bad_checksum")));
  Json scoped = e.RunJson("show counters --scopes");
  bool rx_seen = false;
  for (const Json& row : scoped.array) {
    if (row["name"].string == "rx_frames") {
      rx_seen = true;
      EXPECT_EQ(row["scope"].string, "rx");
      EXPECT_EQ(row["value"].number, 2);
    }
  }
  EXPECT_TRUE(rx_seen);
  std::tie(rc, text) = e.Run("show counters --prometheus");
  EXPECT_EQ(rc, 0);
  EXPECT_THAT(text, HasSubstr("# TYPE ringstack_arp_rx_request_total counter\n"
                              "ringstack_arp_rx_request_total{scope=\"w0\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("ringstack_pool_buffers_total{class=\"standard\"} 8192\n"));
  std::tie(rc, text) = e.Run("show counters --json --prometheus");
  EXPECT_EQ(rc, Console::kUsage);

  Json pool = e.RunJson("show pool");
  EXPECT_EQ(pool.array.at(0)["total"].number, 8192);
  EXPECT_EQ(pool.array.at(0)["in_use"].number, 0);
  Json rings = e.RunJson("show rings");
  ASSERT_EQ(rings.array.size(), 2u);
  EXPECT_EQ(rings.array[0]["ring"].string, "rx->w0");
  EXPECT_EQ(rings.array[0]["capacity"].number, 1024);
  EXPECT_TRUE(e.RunJson("show threads").array.empty());  // SimRunner: no stage threads
  EXPECT_TRUE(e.RunJson("show tcp").array.empty());
}

TEST(ConsoleEngine, NeighbourCacheOverIpv6) {
  SimEngine e(SimConfig("on"));
  e.Exchange(Vec(vectors::kNdNsFromPeer));
  const Json nd = e.RunJson("show nd");
  ASSERT_EQ(nd.array.size(), 1u);
  EXPECT_EQ(nd.array[0]["mac"].string, "52:54:00:12:34:56");
  EXPECT_EQ(nd.array[0]["state"].string, "stale");  // RFC 4861 7.2.3: learnt from an NS
  const Json addrs = e.RunJson("show addresses");
  bool link_local = false;
  for (const Json& a : addrs.array) link_local |= a["origin"].string == "link-local";
  EXPECT_TRUE(link_local);
}

TEST(ConsoleEngine, ShowReassemblyCountsHeldFragments) {
  SimEngine e(SimConfig("on", "2001:db8:0:1::2/64"));
  e.RunFor(Duration::Seconds(3));  // DAD
  Json r = e.RunJson("show reassembly");
  ASSERT_EQ(r.array.size(), 2u);
  EXPECT_EQ(r.array[1]["ip"].string, "ip6");
  EXPECT_EQ(r.array[1]["datagrams"].number, 0);
  EXPECT_EQ(r.array[1]["limit"].number, 4 << 20);
  EXPECT_EQ(r.array[1]["per_source"].number, 1 << 20);
  e.Exchange(Vec(vectors::kIpv6FirstFragment));  // fragment zero of two
  r = e.RunJson("show reassembly");
  EXPECT_EQ(r.array[0]["datagrams"].number, 0);
  EXPECT_EQ(r.array[1]["datagrams"].number, 1);
  // What counts against the limit: the fragment's 16 bytes and its 8-byte
  // record (reassembly keeps each fragment's bounds, RFC 5722).
  EXPECT_EQ(r.array[1]["bytes"].number, 16 + 8);
  const auto [rc, text] = e.Run("show reassembly");
  EXPECT_EQ(rc, 0);
  EXPECT_THAT(text, HasSubstr("IP   DATAGRAMS  BYTES  LIMIT    PER_SOURCE  EVICTED"));
}

TEST(ConsoleEngine, LogLevelAndTraceChangeWhileRunning) {
  SimEngine e;
  auto [rc, text] = e.Run("log level tcp=debug");
  EXPECT_EQ(rc, 0);
  EXPECT_TRUE(e.engine().logger().Enabled(Subsystem::kTcp, LogLevel::kDebug));
  EXPECT_FALSE(e.engine().logger().Enabled(Subsystem::kArp, LogLevel::kDebug));
  EXPECT_THAT(text, HasSubstr("tcp        debug"));
  std::tie(rc, text) = e.Run("log level warn");
  EXPECT_FALSE(e.engine().logger().Enabled(Subsystem::kTcp, LogLevel::kInfo));
  std::tie(rc, text) = e.Run("log level tcp=loud");
  EXPECT_EQ(rc, Console::kUsage);
  EXPECT_THAT(text, HasSubstr("'loud' is not a level"));
  std::tie(rc, text) = e.Run("trace ip4,udp");
  EXPECT_EQ(text, "trace: ip4,udp\n");
  EXPECT_EQ(e.engine().logger().trace(), kTraceIp4 | kTraceUdp);
  std::tie(rc, text) = e.Run("trace off");
  EXPECT_EQ(e.engine().logger().trace(), 0u);
  std::tie(rc, text) = e.Run("trace ipx");
  EXPECT_EQ(rc, Console::kUsage);
}

// A pcap file's records (classic format, as Capture writes it).
struct PcapFile {
  bool ok = false;
  std::uint32_t linktype = 0;
  std::vector<Frame> frames;
};
PcapFile ReadPcap(const std::string& path) {
  PcapFile f;
  std::ifstream in(path, std::ios::binary);
  std::uint32_t header[6];
  if (!in.read(reinterpret_cast<char*>(header), sizeof(header)) || header[0] != 0xa1b2c3d4) return f;
  f.linktype = header[5];
  std::uint32_t rec[4];
  while (in.read(reinterpret_cast<char*>(rec), sizeof(rec))) {
    Frame frame(rec[2]);
    if (!in.read(reinterpret_cast<char*>(frame.data()), rec[2])) return f;
    f.frames.push_back(std::move(frame));
  }
  f.ok = true;
  return f;
}

TEST(ConsoleEngine, CaptureHoldsEveryFrameEachWay) {
  SimEngine e;
  const std::string dir = testing::TempDir() + "rs-capture";
  std::filesystem::create_directories(dir);
  const std::string file = dir + "/a.pcap";
  auto [rc, text] = e.Run("capture start " + file);
  ASSERT_EQ(rc, 0) << text;
  EXPECT_EQ(e.Run("capture start " + file).first, Console::kFailed);  // one at a time
  const std::uint64_t rx0 = e.engine().counter("rx_frames"), tx0 = e.engine().counter("tx_frames");
  e.Exchange(Vec(vectors::kArpRequest));
  for (int i = 0; i < 20; ++i) e.Exchange(Vec(vectors::kIcmpEchoRequest));
  e.Exchange(Vec(vectors::kUdpToClosedPort));
  std::tie(rc, text) = e.Run("capture stop");
  ASSERT_EQ(rc, 0) << text;
  const std::uint64_t frames = e.engine().counter("rx_frames") - rx0 + e.engine().counter("tx_frames") - tx0;
  EXPECT_EQ(frames, 44u);
  EXPECT_THAT(text, HasSubstr(absl::StrCat(frames, " frames")));
  const PcapFile pcap = ReadPcap(file);
  ASSERT_TRUE(pcap.ok);
  EXPECT_EQ(pcap.linktype, 1u);
  ASSERT_EQ(pcap.frames.size(), frames);
  EXPECT_EQ(pcap.frames[0], Vec(vectors::kArpRequest));
  EXPECT_EQ(pcap.frames[2], Vec(vectors::kIcmpEchoRequest));
  EXPECT_EQ(pcap.frames[3], Vec(vectors::kIcmpEchoReply));  // the reply, as sent
  // The port unreachable as sent (its IP identification is the engine's own).
  EXPECT_EQ(pcap.frames.back().size(), sizeof(vectors::kIcmpPortUnreachable));
  EXPECT_THAT(SummarizeFrame(pcap.frames.back()).text, HasSubstr("icmp4 unreachable code 3"));
  EXPECT_EQ(e.engine().counter("capture_rx_dropped") + e.engine().counter("capture_tx_dropped"), 0u);
  EXPECT_EQ(e.Run("capture stop").first, Console::kFailed);  // none runs
  std::tie(rc, text) = e.Run("capture start /nonexistent-dir/x.pcap");
  EXPECT_EQ(rc, Console::kFailed);
  EXPECT_THAT(text, HasSubstr("cannot write /nonexistent-dir/x.pcap"));
  std::filesystem::remove_all(dir);
}

TEST(ConsoleEngine, CaptureRotatesAtItsSize) {
  SimEngine e;
  const std::string dir = testing::TempDir() + "rs-rotate";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string file = dir + "/r.pcap";
  ASSERT_EQ(e.Run("capture start " + file + " --size 64K --files 3").first, 0);
  // 400 frames of 1 KB (an EtherType nobody speaks: received, counted, dropped).
  Frame big(1024, std::byte{0x5a});
  std::memcpy(big.data(), vectors::kArpRequest, 12);
  big[12] = std::byte{0x88};
  big[13] = std::byte{0xb5};
  for (int i = 0; i < 400; ++i) e.Exchange(big);
  ASSERT_EQ(e.Run("capture stop").first, 0);
  EXPECT_TRUE(std::filesystem::exists(file));
  EXPECT_TRUE(std::filesystem::exists(file + ".1"));
  EXPECT_TRUE(std::filesystem::exists(file + ".2"));
  EXPECT_FALSE(std::filesystem::exists(file + ".3"));
  std::size_t kept = 0;
  for (const std::string& f : {file, file + ".1", file + ".2"}) {
    EXPECT_LE(std::filesystem::file_size(f), 64u << 10) << f;
    const PcapFile p = ReadPcap(f);
    ASSERT_TRUE(p.ok) << f;
    kept += p.frames.size();
  }
  EXPECT_GT(kept, 0u);
  EXPECT_LT(kept, 400u);  // the oldest files are gone
  EXPECT_GE(e.engine().capture().status().rotations, 2u);
  std::filesystem::remove_all(dir);
}

TEST(ConsoleEngine, RandomLinesNeverBreakIt) {
  SimEngine e;
  std::mt19937 rng(9);  // a failure names this seed
  const std::vector<std::string> words = {"show", "tcp", "udp", "arp", "nd", "counters", "--json", "--all",
                                          "--prometheus", "--scopes", "capture", "status", "log", "level",
                                          "trace", "all", "off", "-c", "--size", "\"", "\\", "help", "=", "tcp=",
                                          "interfaces", "pool", "rings", "threads", "addresses", "routes",
                                          "reassembly"};
  for (int i = 0; i < 3000; ++i) {
    std::string line;
    const int n = static_cast<int>(rng() % 6);
    for (int w = 0; w < n; ++w) {
      if (rng() % 4 == 0) {
        const int len = static_cast<int>(rng() % 12);
        for (int c = 0; c < len; ++c) line += static_cast<char>(rng() % 256);
      } else {
        line += words[rng() % words.size()];
      }
      line += ' ';
    }
    if (line.find("capture start") != std::string::npos) continue;  // no stray files
    StringOutput out;
    const int rc = e.console().Execute(line, out);
    ASSERT_TRUE(rc == 0 || rc == 1 || rc == 2) << line;
  }
  e.Run("trace off");
  e.Run("log level info");
  // Still serving, still showing.
  EXPECT_EQ(e.Exchange(Vec(vectors::kIcmpEchoRequest)).size(), 1u);
  EXPECT_EQ(e.RunJson("show counters")["icmp4_tx_echo_reply"].number, 1);
}

TEST(ConsoleEngine, ShowTcpListsTheConnections) {
  sockets::harness::TwoEngines t;
  auto [c, s] = sockets::harness::Connect(t, "192.0.2.2", 7007);
  Console console;
  AddEngineCommands(console, t.engine_a());
  StringOutput out;
  ASSERT_EQ(console.Execute("show tcp --json", out), 0);
  const auto j = ParseJson(out.text());
  ASSERT_TRUE(j.has_value()) << out.text();
  ASSERT_EQ(j->array.size(), 1u);
  const Json& row = j->array[0];
  EXPECT_THAT(row["local"].string, ::testing::StartsWith("192.0.2.1:"));
  EXPECT_EQ(row["remote"].string, "192.0.2.2:7007");
  EXPECT_EQ(row["state"].string, "ESTABLISHED");
  EXPECT_EQ(row["shard"].number, 0);
  EXPECT_GT(row["cwnd"].number, 0);
  EXPECT_GT(row["rcv_wnd"].number, 0);
  EXPECT_EQ(row["cc"].string, "cubic");
  EXPECT_EQ(row["recv_q"].number, 0);
  EXPECT_EQ(row["send_q"].number, 0);
  // Listeners as ss shows them: with --listening, or among all with --all.
  const int l = t.a().Socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK);
  ASSERT_EQ(t.a().Bind(l, sockets::harness::Ep("0.0.0.0", 8080)), 0);
  ASSERT_EQ(t.a().Listen(l, 8), 0);
  StringOutput listening, all;
  ASSERT_EQ(console.Execute("show tcp --listening --json", listening), 0);
  const auto lj = ParseJson(listening.text());
  ASSERT_TRUE(lj.has_value());
  ASSERT_EQ(lj->array.size(), 1u) << listening.text();
  EXPECT_EQ(lj->array[0]["local"].string, "0.0.0.0:8080");
  EXPECT_EQ(lj->array[0]["state"].string, "LISTEN");
  EXPECT_EQ(lj->array[0]["send_q"].number, 8);  // the backlog, as ss shows it
  EXPECT_EQ(lj->array[0]["recv_q"].number, 0);  // nothing waiting in accept()
  ASSERT_EQ(console.Execute("show tcp -a", all), 0);
  EXPECT_THAT(all.text(), HasSubstr("0.0.0.0:8080"));
  EXPECT_THAT(all.text(), HasSubstr("ESTABLISHED"));
  t.a().Close(l);
  t.a().Close(c);
  t.b().Close(s);
}

// ---------------------------------------------------------------- server

class ConsoleClient {
 public:
  explicit ConsoleClient(const std::string& path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.data(), path.size());
    ok_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~ConsoleClient() { ::close(fd_); }
  bool ok() const { return ok_; }
  void Send(const std::string& text) { ASSERT_EQ(::send(fd_, text.data(), text.size(), MSG_NOSIGNAL), static_cast<ssize_t>(text.size())); }
  // One answer: its text and status (-1 when the server closed).
  std::pair<int, std::string> Answer() {
    std::string text;
    char c;
    while (::recv(fd_, &c, 1, 0) == 1) {
      if (c == '\0') {
        std::string status;
        while (::recv(fd_, &c, 1, 0) == 1 && c != '\n') status += c;
        return {std::stoi(status), text};
      }
      text += c;
    }
    return {-1, text};
  }

 private:
  int fd_ = -1;
  bool ok_ = false;
};

TEST(ConsoleServer, ServesSeveralClientsAtOnce) {
  Console console;
  // "slow" answers once all eight are in flight at once (or after 20 s):
  // a console that served one client at a time would never have two.
  std::atomic<int> in_flight{0};
  std::atomic<int> most_in_flight{0};
  console.Add("slow", "slow", "answers when eight are in flight", [&](ConsoleArgs&, ConsoleOutput& o) {
    const int now = ++in_flight;
    int seen = most_in_flight.load();
    while (now > seen && !most_in_flight.compare_exchange_weak(seen, now)) {
    }
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (most_in_flight.load() < 8 && std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    --in_flight;
    o.Write("done\n");
    return Console::kOk;
  });
  console.Add("echo", "echo WORD", "says WORD", [](ConsoleArgs& a, ConsoleOutput& o) {
    o.Write(a.Next().value_or("") + "\n");
    return Console::kOk;
  });
  const std::string path = testing::TempDir() + "rs-console-" + std::to_string(getpid()) + ".sock";
  ASSERT_TRUE(console.Listen(path).ok());
  // A second server on the same path is refused while this one answers.
  Console other;
  const absl::Status again = other.Listen(path);
  EXPECT_FALSE(again.ok());
  EXPECT_THAT(std::string(again.message()), HasSubstr("another ringstack serves a console"));

  // Eight clients, each with a slow command in flight: all eight in flight
  // at once, each client with its own answers.
  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      ConsoleClient c(path);
      if (!c.ok()) return;
      c.Send("slow\necho w" + std::to_string(i) + "\n");
      const auto a = c.Answer();
      const auto b = c.Answer();
      if (a == std::make_pair(0, std::string("done\n")) && b == std::make_pair(0, "w" + std::to_string(i) + "\n")) ++good;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(good.load(), 8);
  EXPECT_EQ(most_in_flight.load(), 8);

  ConsoleClient c(path);
  ASSERT_TRUE(c.ok());
  c.Send("ehco x\n");
  EXPECT_EQ(c.Answer(), std::make_pair(2, std::string("error: unknown command 'ehco'; did you mean 'echo'? try 'help'\n")));
  // Control bytes never reach the client's terminal raw; a NUL never ends an answer early.
  c.Send(std::string("echo a\x1b[31m") + '\0' + "b\n");
  EXPECT_EQ(c.Answer(), std::make_pair(0, std::string("a\\x1b[31m\\x00b\n")));
  c.Send(std::string(Console::kMaxLine + 10, 'x') + "\necho after\n");
  const auto long_line = c.Answer();
  EXPECT_EQ(long_line.first, 2);
  EXPECT_THAT(long_line.second, HasSubstr("line longer than 4096 bytes"));
  EXPECT_EQ(c.Answer(), std::make_pair(0, std::string("after\n")));
  console.Stop();
  EXPECT_FALSE(std::filesystem::exists(path));  // removed on stop
  // A socket file left behind by a dead engine is replaced.
  {
    const int stale = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.data(), path.size());
    ASSERT_EQ(::bind(stale, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    ::close(stale);
  }
  Console third;
  EXPECT_TRUE(third.Listen(path).ok());
  third.Stop();
}

}  // namespace
}  // namespace ringstack::engine
