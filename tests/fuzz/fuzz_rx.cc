// libFuzzer target: the whole stack. Each input is a script (stack_script.h)
// played on a fresh engine over a SimLink: raw frames, and TCP segments,
// datagrams, application calls and time steps against a listener on port
// 80, UDP port 7 and connections opened both ways. Checks: no crash, every
// frame the engine sends parses (Ethernet, ARP, IPv4, IPv6, TCP), and once
// idle every packet buffer is back in the pool.
//
// With RS_FUZZ_REPORT set, the replay prints at exit how many records and
// frames the inputs had and the engine's counters summed over them (which
// protocols the frames reached).
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "tests/fuzz/fuzz_common.h"
#include "tests/fuzz/stack_script.h"

namespace {

struct Report {
  ringstack::fuzz::ScriptStats stats;
  std::uint64_t inputs = 0;
  std::map<std::string, std::uint64_t> counters;
  bool enabled = std::getenv("RS_FUZZ_REPORT") != nullptr;
  ~Report() {
    if (!enabled) return;
    std::printf("report: %llu inputs, %llu records, %llu frames to the engine, %llu from it, %llu connections\n",
                static_cast<unsigned long long>(inputs), static_cast<unsigned long long>(stats.records),
                static_cast<unsigned long long>(stats.frames_to_engine),
                static_cast<unsigned long long>(stats.frames_from_engine),
                static_cast<unsigned long long>(stats.established));
    for (const auto& [name, value] : counters) {
      if (value != 0) std::printf("counter %s %llu\n", name.c_str(), static_cast<unsigned long long>(value));
    }
  }
};
Report report;  // harness only: the replay's summary

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto s = ringstack::fuzz::PlayStackScript(data, size, report.enabled ? &report.counters : nullptr);
  ++report.inputs;
  report.stats.records += s.records;
  report.stats.frames_to_engine += s.frames_to_engine;
  report.stats.frames_from_engine += s.frames_from_engine;
  report.stats.established += s.established;
  return 0;
}

// The replay driver's seeds and run count (standalone_main.cc): a fresh
// engine per input costs about a millisecond.
std::vector<std::vector<std::uint8_t>> FuzzTargetSeeds() { return ringstack::fuzz::StackSeeds(); }
int FuzzTargetRuns() { return 2000; }
