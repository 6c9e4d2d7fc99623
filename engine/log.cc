#include "engine/log.h"

#include <unistd.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/ascii.h"

namespace ringstack::engine {
namespace {

constexpr const char* kSubsystemNames[kSubsystemCount] = {
    "engine", "link", "arp", "ip4", "ip6", "icmp", "nd", "dhcp4", "udp", "tcp", "console"};
constexpr const char* kLevelNames[] = {"error", "warn", "info", "debug", "trace"};
constexpr std::pair<const char*, std::uint32_t> kTraceNames[] = {
    {"eth", kTraceEth}, {"arp", kTraceArp},     {"ip4", kTraceIp4}, {"ip6", kTraceIp6},
    {"icmp4", kTraceIcmp4}, {"icmp6", kTraceIcmp6}, {"udp", kTraceUdp}, {"tcp", kTraceTcp}};

}  // namespace

std::string_view SubsystemName(Subsystem s) { return kSubsystemNames[static_cast<std::size_t>(s)]; }

std::optional<Subsystem> SubsystemByName(std::string_view name) {
  for (std::size_t i = 0; i < kSubsystemCount; ++i) {
    if (std::string_view(kSubsystemNames[i]) == name) return static_cast<Subsystem>(i);
  }
  return std::nullopt;
}

std::string_view LogLevelName(LogLevel l) { return kLevelNames[static_cast<int>(l)]; }

std::optional<LogLevel> LogLevelByName(std::string_view name) {
  for (int i = 0; i < static_cast<int>(std::size(kLevelNames)); ++i) {
    if (std::string_view(kLevelNames[i]) == name) return static_cast<LogLevel>(i);
  }
  return std::nullopt;
}

absl::StatusOr<LogLevels> ParseLogLevels(std::string_view spec) {
  LogLevels out;
  bool default_seen = false;
  for (absl::string_view raw : absl::StrSplit(absl::string_view(spec.data(), spec.size()), ',')) {
    const std::string item(absl::StripAsciiWhitespace(raw));
    if (item.empty()) continue;
    const std::size_t eq = item.find('=');
    const std::string level_name = eq == std::string::npos ? item : item.substr(eq + 1);
    const auto level = LogLevelByName(level_name);
    if (!level) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", level_name, "' is not a level: error, warn, info, debug or trace"));
    }
    if (eq == std::string::npos) {
      out.all = *level;
      default_seen = true;
      continue;
    }
    const std::string sub_name = item.substr(0, eq);
    const auto sub = SubsystemByName(sub_name);
    if (!sub) {
      return absl::InvalidArgumentError(absl::StrCat("'", sub_name, "' is not a subsystem: ",
                                                     absl::StrJoin(kSubsystemNames, ", ")));
    }
    out.overrides.emplace_back(*sub, *level);
  }
  if (!default_seen && out.overrides.empty()) {
    return absl::InvalidArgumentError("empty: give a level (error, warn, info, debug, trace), e.g. info,tcp=debug");
  }
  return out;
}

absl::StatusOr<std::uint32_t> ParseTrace(std::string_view spec) {
  std::uint32_t mask = 0;
  for (absl::string_view raw : absl::StrSplit(absl::string_view(spec.data(), spec.size()), ',')) {
    const std::string item(absl::StripAsciiWhitespace(raw));
    if (item.empty() || item == "off" || item == "none") continue;
    if (item == "all") {
      mask |= kTraceAll;
      continue;
    }
    std::uint32_t bit = 0;
    for (const auto& [name, b] : kTraceNames) {
      if (item == name) bit = b;
    }
    if (item == "icmp") bit = kTraceIcmp4 | kTraceIcmp6;
    if (item == "ip") bit = kTraceIp4 | kTraceIp6;
    if (bit == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "'", item, "' is not a layer: eth, arp, ip, ip4, ip6, icmp, icmp4, icmp6, udp, tcp, all or off"));
    }
    mask |= bit;
  }
  return mask;
}

std::string TraceToString(std::uint32_t mask) {
  if (mask == 0) return "off";
  if (mask == kTraceAll) return "all";
  std::vector<const char*> names;
  for (const auto& [name, b] : kTraceNames) {
    if ((mask & b) != 0) names.push_back(name);
  }
  return absl::StrJoin(names, ",");
}

Logger::Logger(const LogLevels& levels, std::uint32_t trace) : trace_(trace) { Apply(levels); }

void Logger::Apply(const LogLevels& levels) {
  for (auto& l : levels_) l.store(static_cast<int>(levels.all), std::memory_order_relaxed);
  for (const auto& [s, l] : levels.overrides) SetLevel(s, l);
}

void Logger::Write(LogLevel level, std::string_view text) {
  const char* tag = level == LogLevel::kError ? "error: " : level == LogLevel::kWarn ? "warning: " : "";
  std::string line = absl::StrCat("ringstack: ", tag, absl::string_view(text.data(), text.size()), "\n");
  const char* p = line.data();
  std::size_t left = line.size();
  while (left > 0) {
    const ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n <= 0) return;  // stderr gone: nothing better to do with a log line
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

void Log(LogLevel threshold, LogLevel level, std::string_view text) {
  if (level <= threshold) Logger::Write(level, text);
}

}  // namespace ringstack::engine
