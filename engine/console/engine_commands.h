// The console commands that read or steer the engine itself: show
// interfaces/addresses/routes/arp/nd/tcp/udp/counters/rings/pool/threads,
// capture start/stop/status, log level, trace. Each show takes --json.
#ifndef RINGSTACK_ENGINE_CONSOLE_ENGINE_COMMANDS_H_
#define RINGSTACK_ENGINE_CONSOLE_ENGINE_COMMANDS_H_

#include <cstdio>
#include <string>

#include "engine/console/console.h"
#include "engine/engine.h"

namespace ringstack::engine {

void AddEngineCommands(Console& console, Engine& engine);

// Counters in Prometheus' text exposition format (one sample per counter
// and scope, label scope="w0" etc.; pool figures as gauges).
std::string PrometheusCounters(const Engine& engine);

}  // namespace ringstack::engine

#endif  // RINGSTACK_ENGINE_CONSOLE_ENGINE_COMMANDS_H_
