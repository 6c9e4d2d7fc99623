// Logging: lines a person running the engine should see (an address claimed
// or lost, a lease taken, a connection reset), with a level per subsystem,
// and the per-packet trace (--trace ip4,tcp): one line per frame received or
// sent, summarised per layer.
//
// Lines go to stderr as "ringstack: <text>", one write(2) per line so lines
// from different threads never interleave. Levels and the trace mask are
// atomics: the console changes them while the engine runs, and a disabled
// level or an empty trace mask costs one relaxed load.
#ifndef RINGSTACK_ENGINE_LOG_H_
#define RINGSTACK_ENGINE_LOG_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace ringstack::engine {

enum class LogLevel { kError, kWarn, kInfo, kDebug, kTrace };

enum class Subsystem { kEngine, kLink, kArp, kIp4, kIp6, kIcmp, kNd, kDhcp4, kUdp, kTcp, kConsole, kCount };
inline constexpr std::size_t kSubsystemCount = static_cast<std::size_t>(Subsystem::kCount);

std::string_view SubsystemName(Subsystem s);
std::optional<Subsystem> SubsystemByName(std::string_view name);
std::string_view LogLevelName(LogLevel l);
std::optional<LogLevel> LogLevelByName(std::string_view name);

// What --log-level says: a default level and per-subsystem overrides,
// "info" or "warn,tcp=debug,arp=trace".
struct LogLevels {
  LogLevel all = LogLevel::kInfo;
  std::vector<std::pair<Subsystem, LogLevel>> overrides;
};
// An error names the bad item and lists what is allowed.
absl::StatusOr<LogLevels> ParseLogLevels(std::string_view spec);

// The layers --trace can follow; a frame is traced when it carries any of them.
enum TraceLayer : std::uint32_t {
  kTraceEth = 1u << 0,
  kTraceArp = 1u << 1,
  kTraceIp4 = 1u << 2,
  kTraceIp6 = 1u << 3,
  kTraceIcmp4 = 1u << 4,
  kTraceIcmp6 = 1u << 5,
  kTraceUdp = 1u << 6,
  kTraceTcp = 1u << 7,
  kTraceAll = (1u << 8) - 1,
};
// "ip4,tcp", "all" or "" (off) -> a mask of TraceLayer bits.
absl::StatusOr<std::uint32_t> ParseTrace(std::string_view spec);
std::string TraceToString(std::uint32_t mask);

class Logger {
 public:
  explicit Logger(const LogLevels& levels = {}, std::uint32_t trace = 0);

  bool Enabled(Subsystem s, LogLevel l) const {
    return l <= static_cast<LogLevel>(levels_[static_cast<std::size_t>(s)].load(std::memory_order_relaxed));
  }
  void Log(Subsystem s, LogLevel l, std::string_view text) const {
    if (Enabled(s, l)) Write(l, text);
  }
  void Apply(const LogLevels& levels);
  void SetLevel(Subsystem s, LogLevel l) {
    levels_[static_cast<std::size_t>(s)].store(static_cast<int>(l), std::memory_order_relaxed);
  }
  LogLevel level(Subsystem s) const {
    return static_cast<LogLevel>(levels_[static_cast<std::size_t>(s)].load(std::memory_order_relaxed));
  }

  std::uint32_t trace() const { return trace_.load(std::memory_order_relaxed); }
  void SetTrace(std::uint32_t mask) { trace_.store(mask, std::memory_order_relaxed); }
  // A trace line, written whatever the levels say.
  void Trace(std::string_view text) const { Write(LogLevel::kTrace, text); }

  // One line to stderr (what Log writes when enabled).
  static void Write(LogLevel l, std::string_view text);

 private:
  std::array<std::atomic<int>, kSubsystemCount> levels_;
  std::atomic<std::uint32_t> trace_{0};
};

// A line to stderr when `level` is within `threshold`, for code without a
// Logger (start-up, the one-shot clients).
void Log(LogLevel threshold, LogLevel level, std::string_view text);

}  // namespace ringstack::engine

#endif  // RINGSTACK_ENGINE_LOG_H_
