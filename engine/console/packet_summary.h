// One line per frame for the packet trace (--trace) and people: what each
// layer says, tcpdump-like, e.g.
//   74 B 02:00:00:00:00:01 > 02:00:00:00:00:02 | ip4 192.0.2.1 > 192.0.2.2 ttl 64 len 60 |
//   tcp 40312 > 7 [S] seq 3502616410 win 64240 len 0
// It reads fields only (no checksum checks: a trace shows what came, good or
// bad) and never reads past the frame; what is cut short says "truncated".
#ifndef RINGSTACK_ENGINE_CONSOLE_PACKET_SUMMARY_H_
#define RINGSTACK_ENGINE_CONSOLE_PACKET_SUMMARY_H_

#include <cstdint>
#include <span>
#include <string>

namespace ringstack::engine {

struct FrameSummary {
  std::string text;
  std::uint32_t layers = 0;  // TraceLayer bits of the layers present
};

FrameSummary SummarizeFrame(std::span<const std::byte> frame);

}  // namespace ringstack::engine

#endif  // RINGSTACK_ENGINE_CONSOLE_PACKET_SUMMARY_H_
