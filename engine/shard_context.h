// ShardContext: what the protocol layers of one shard share. Which shard it
// is, the configuration and log, the packet pool, the fabric to the other
// shards, the shard's timing wheel and the time of the current poll round,
// the few counters every layer feeds (the pool had no buffer, a buffer had
// no headroom, another shard's mailbox was full) and the marks that say the
// snapshot shard 0 publishes is out of date. The Worker owns it and its
// layers hold a reference; all of it is the shard's thread's alone.
//
// Timer cookies carry the layer that armed the timer in their top byte, so
// the Worker hands a fired timer to its layer without knowing what it is
// for; the rest of the cookie is the layer's own.
#ifndef RINGSTACK_ENGINE_SHARD_CONTEXT_H_
#define RINGSTACK_ENGINE_SHARD_CONTEXT_H_

#include <array>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <span>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "engine/clock.h"
#include "engine/config.h"
#include "engine/counters.h"
#include "engine/log.h"
#include "engine/shard_fabric.h"
#include "engine/timer_wheel.h"
#include "protocols/common/fragment_reassembler.h"
#include "protocols/common/parse_error.h"
#include "rings/packet_pool.h"

namespace ringstack::engine {

struct ShardContext {
  int shard;
  const Config& config;
  const Logger& logger;
  rings::PacketPool& pool;
  ShardFabric& fabric;
  TimerWheel& wheel;
  const Instant& now;  // this poll round's
  Counter& pool_drop_empty;
  Counter& pool_drop_no_headroom;
  Counter& shard_drop_mail_full;
  // Shard 0: something the snapshot shows (addresses, routes, neighbours,
  // path MTUs) may have changed; publish_now: at once, not after the gap
  // between snapshots (a neighbour other shards may be waiting for).
  bool net_dirty = true;
  bool publish_now = false;

  void Log(Subsystem subsystem, LogLevel level, std::string_view text) const { logger.Log(subsystem, level, text); }
  bool LogEnabled(Subsystem subsystem, LogLevel level) const { return logger.Enabled(subsystem, level); }
  // A buffer holding a copy of `bytes` (a large one when a standard one is
  // too small; headers go into its headroom); empty, counted
  // pool_drop_empty, when the pool has none.
  rings::Packet CopyToBuffer(proto::Bytes bytes) {
    rings::Packet p = pool.Get(bytes.size() <= pool.data_size(rings::BufferClass::kStandard)
                                   ? rings::BufferClass::kStandard
                                   : rings::BufferClass::kLarge);
    const auto room = p ? p.Append(bytes.size()) : std::span<std::byte>();
    if (room.size() != bytes.size()) {
      pool_drop_empty.Inc();
      return rings::Packet();
    }
    std::memcpy(room.data(), bytes.data(), bytes.size());
    return p;
  }
};

// What the shard counts of its own: frames it wrote or could not hand to
// the TX stage, buffers it could not get or grow, snapshots and mail
// between shards.
struct ShardCounters {
  Counter tx_drop_ring_full;
  Counter tx_frames;
  Counter tx_bytes;
  Counter tx_drop_error;
  Counter pool_drop_empty;
  Counter pool_drop_no_headroom;
  Counter shard_drop_mail_full;
  Counter shard_snapshot_published;
};

inline constexpr CounterField<ShardCounters> kShardCounterFields[] = {
    {"tx_drop_ring_full", &ShardCounters::tx_drop_ring_full},
    {"tx_frames", &ShardCounters::tx_frames},
    {"tx_bytes", &ShardCounters::tx_bytes},
    {"tx_drop_error", &ShardCounters::tx_drop_error},
    {"pool_drop_empty", &ShardCounters::pool_drop_empty},
    {"pool_drop_no_headroom", &ShardCounters::pool_drop_no_headroom},
    {"shard_drop_mail_full", &ShardCounters::shard_drop_mail_full},
    {"shard_snapshot_published", &ShardCounters::shard_snapshot_published},
};

enum class TimerLayer : std::uint8_t { kShard = 0, kTcp = 1, kNeighbour = 2, kIpv4 = 3, kIpv6 = 4 };

constexpr std::uint64_t TimerCookie(TimerLayer layer, std::uint64_t value) {
  return (std::uint64_t{static_cast<std::uint8_t>(layer)} << 56) | (value & ((std::uint64_t{1} << 56) - 1));
}
constexpr TimerLayer TimerLayerOf(std::uint64_t cookie) { return static_cast<TimerLayer>(cookie >> 56); }
constexpr std::uint64_t TimerValueOf(std::uint64_t cookie) { return cookie & ((std::uint64_t{1} << 56) - 1); }

// One counter per parse error of a protocol: "<proto>_drop_<reason>".
struct DropCounters {
  std::array<Counter*, proto::kParseErrorCount> by_error{};
  void Add(CounterSet& counters, const std::string& prefix) {
    for (int i = 0; i < proto::kParseErrorCount; ++i) {
      by_error[i] = &counters.Add(
          absl::StrCat(prefix, "_drop_", std::string(proto::ParseErrorName(static_cast<proto::ParseError>(i)))));
    }
  }
  void Count(proto::ParseError e) { by_error[static_cast<int>(e)]->Inc(); }
};

// One counter per reason a reassembler drops a fragment
// (proto::ReassemblyDrop): "<proto>_frag_drop_<reason>".
struct FragDropCounters {
  static constexpr const char* kNames[] = {"unknown",  "overlap",      "too_long", "bad_length",
                                           "past_end", "memory_limit", "discarded"};
  static_assert(std::size(kNames) == static_cast<std::size_t>(proto::ReassemblyDrop::kDiscarded) + 1);
  std::array<Counter*, std::size(kNames)> by_drop{};
  void Add(CounterSet& counters, const std::string& prefix) {
    for (std::size_t i = 0; i < by_drop.size(); ++i) {
      by_drop[i] = &counters.Add(absl::StrCat(prefix, "_frag_drop_", kNames[i]));
    }
  }
  void Count(proto::ReassemblyDrop d) { by_drop[static_cast<std::size_t>(d)]->Inc(); }
};

}  // namespace ringstack::engine

#endif  // RINGSTACK_ENGINE_SHARD_CONTEXT_H_
