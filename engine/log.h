// Log lines for events a person running the engine should see (an address
// claimed or lost, a lease taken): "ringstack: <text>" on stderr, one
// write(2) per line so lines from different threads never interleave.
#ifndef RINGSTACK_ENGINE_LOG_H_
#define RINGSTACK_ENGINE_LOG_H_

#include <string_view>

#include "engine/config.h"

namespace ringstack::engine {

// Writes when `level` is within `threshold` (--log-level).
void Log(LogLevel threshold, LogLevel level, std::string_view text);

}  // namespace ringstack::engine

#endif  // RINGSTACK_ENGINE_LOG_H_
