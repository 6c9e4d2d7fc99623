#include "engine/log.h"

#include <unistd.h>

#include <string>

namespace ringstack::engine {

void Log(LogLevel threshold, LogLevel level, std::string_view text) {
  if (level > threshold) return;
  const char* tag = level == LogLevel::kError ? "error: " : level == LogLevel::kWarn ? "warning: " : "";
  std::string line = std::string("ringstack: ") + tag + std::string(text) + "\n";
  const char* p = line.data();
  std::size_t left = line.size();
  while (left > 0) {
    const ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n <= 0) return;  // stderr gone: nothing better to do with a log line
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

}  // namespace ringstack::engine
