// libFuzzer target: what a console client or the wire can hand the console
// code. The input is (1) a frame for the packet summary (--trace) and (2)
// lines for an in-process engine's console (every show, log level, trace).
// Checks: no crash, every status 0, 1 or 2, and the summary never empty.
#include <memory>
#include <string>
#include <vector>

#include "engine/console/console.h"
#include "engine/console/engine_commands.h"
#include "engine/console/packet_summary.h"
#include "engine/engine.h"
#include "engine/link/sim.h"
#include "tests/fuzz/fuzz_common.h"

namespace {

using namespace ringstack::engine;  // NOLINT(build/namespaces): harness only

struct Harness {
  Harness() {
    RawFlags f;
    f.tap = "fuzz0";
    f.mac = "02:00:00:00:00:01";
    f.ip4 = "192.0.2.2/24";
    f.acd = "off";
    f.console = "off";
    f.pool_buffers = 256;
    auto [p, mine] = SimLink::Pair(clock);
    peer = std::move(p);
    engine = std::move(*Engine::CreateWithLink(*ParseConfig(f, 1), std::move(mine), clock));
    AddEngineCommands(console, *engine);
  }
  VirtualClock clock;
  std::unique_ptr<SimLink> peer;
  std::unique_ptr<Engine> engine;
  Console console;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Harness* h = new Harness;
  const FrameSummary s = SummarizeFrame(AsBytes(data, size));
  RS_FUZZ_CHECK(!s.text.empty() && (s.layers & kTraceEth) != 0);
  std::string text(reinterpret_cast<const char*>(data), size);
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    const std::string line = text.substr(start, nl - start);
    start = nl + 1;
    if (line.find("capture") != std::string::npos) continue;  // no files from a fuzzer
    StringOutput out;
    const int rc = h->console.Execute(line, out);
    RS_FUZZ_CHECK(rc == Console::kOk || rc == Console::kFailed || rc == Console::kUsage);
  }
  h->engine->logger().SetTrace(0);  // "trace all" would flood the replay's output
  h->engine->logger().Apply(LogLevels{});
  return 0;
}
