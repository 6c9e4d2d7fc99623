// Micro benchmarks: rings, the packet pool, checksums and the per-frame cost
// of the engine's echo path. Run: build/bench/bench_micro (figures in
// bench/README.md).
#include <benchmark/benchmark.h>

#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "engine/engine.h"
#include "engine/link/sim.h"
#include "engine/runner.h"
#include "protocols/common/checksum.h"
#include "protocols/ipv4/ipv4_repr.h"
#include "rings/byte_ring.h"
#include "rings/mpmc_queue.h"
#include "rings/packet_pool.h"
#include "rings/spsc_ring.h"
#include "tests/vectors/vectors.h"

namespace ringstack {
namespace {

void BM_SpscPushPop(benchmark::State& state) {
  rings::SpscRing<std::uint64_t> ring(1024);
  std::uint64_t v = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(ring.TryPush(std::uint64_t{v}));
    benchmark::DoNotOptimize(ring.TryPop(v));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SpscPushPop);

void BM_SpscBurst32(benchmark::State& state) {
  rings::SpscRing<std::uint64_t> ring(1024);
  std::uint64_t in[32] = {};
  std::uint64_t out[32];
  for (auto _ : state) {
    benchmark::DoNotOptimize(ring.TryPushBurst(std::span(in)));
    benchmark::DoNotOptimize(ring.TryPopBurst(std::span(out)));
  }
  state.SetItemsProcessed(state.iterations() * 32);
}
BENCHMARK(BM_SpscBurst32);

// Producer and consumer on two threads: items per second across cores.
void BM_SpscTwoThreads(benchmark::State& state) {
  const std::size_t burst = static_cast<std::size_t>(state.range(0));
  constexpr std::uint64_t kItems = 1 << 22;
  for (auto _ : state) {
    rings::SpscRing<std::uint64_t> ring(1024);
    std::thread producer([&] {
      std::vector<std::uint64_t> batch(burst);
      for (std::uint64_t sent = 0; sent < kItems;) {
        const auto n = std::min<std::uint64_t>(burst, kItems - sent);
        sent += ring.TryPushBurst(std::span(batch.data(), n));
      }
    });
    std::vector<std::uint64_t> out(burst);
    for (std::uint64_t got = 0; got < kItems;) got += ring.TryPopBurst(std::span(out));
    producer.join();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kItems));
}
BENCHMARK(BM_SpscTwoThreads)->Arg(1)->Arg(32)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_MpmcEnqueueDequeue(benchmark::State& state) {
  rings::MpmcQueue<std::uint64_t> q(1024, 1);
  auto token = q.MakeProducerToken();
  std::uint64_t v = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(q.TryEnqueue(token, std::uint64_t{v}));
    benchmark::DoNotOptimize(q.TryDequeue(v));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MpmcEnqueueDequeue);

void BM_PoolGetPut(benchmark::State& state) {
  auto pool = *rings::PacketPool::Create(rings::PoolConfig{});
  std::unique_ptr<rings::PacketPool::ThreadCacheScope> cache;
  if (state.range(0) != 0) cache = pool->BindThreadCache();
  for (auto _ : state) {
    rings::Packet p = pool->Get();
    benchmark::DoNotOptimize(p);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(state.range(0) != 0 ? "thread cache" : "shared free list");
}
BENCHMARK(BM_PoolGetPut)->Arg(0)->Arg(1);

void BM_ByteRingWriteRead1500(benchmark::State& state) {
  rings::ByteRing ring(1 << 16);
  std::vector<std::byte> buf(1500);
  for (auto _ : state) {
    benchmark::DoNotOptimize(ring.Write(buf));
    benchmark::DoNotOptimize(ring.Read(buf));
  }
  state.SetBytesProcessed(state.iterations() * 1500);
}
BENCHMARK(BM_ByteRingWriteRead1500);

void BM_Checksum1500(benchmark::State& state) {
  std::vector<std::byte> buf(1500, std::byte{0x5a});
  for (auto _ : state) benchmark::DoNotOptimize(proto::InternetChecksum(buf));
  state.SetBytesProcessed(state.iterations() * 1500);
}
BENCHMARK(BM_Checksum1500);

void BM_Ipv4Parse(benchmark::State& state) {
  const auto* p = reinterpret_cast<const std::byte*>(vectors::kIcmpEchoRequest) + 14;
  const std::span<const std::byte> bytes(p, sizeof(vectors::kIcmpEchoRequest) - 14);
  for (auto _ : state) benchmark::DoNotOptimize(proto::ipv4::Ipv4Repr::Parse(bytes));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Ipv4Parse);

// One echo request through RX -> worker -> TX and back out of a SimLink,
// single thread (SimRunner): the engine's per-frame cost, link copies included.
void BM_EngineEchoPerFrame(benchmark::State& state) {
  engine::VirtualClock clock;
  auto [peer, mine] = engine::SimLink::Pair(clock);
  engine::RawFlags f;
  f.tap = "bench0";
  f.mac = "02:00:00:00:00:01";
  f.ip4 = "192.0.2.2/24";
  auto engine = std::move(*engine::Engine::CreateWithLink(*engine::ParseConfig(f, 1), std::move(mine), clock));
  engine::SimRunner runner(engine->stages(), clock, {&engine->pool()});
  const auto arp = std::as_bytes(std::span(vectors::kArpRequest));
  const auto echo = std::as_bytes(std::span(vectors::kIcmpEchoRequest));
  peer->SendBytes(arp);
  runner.Settle();
  peer->ReceiveBytes();
  for (auto _ : state) {
    peer->SendBytes(echo);
    runner.Settle();
    benchmark::DoNotOptimize(peer->ReceiveBytes());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EngineEchoPerFrame);

}  // namespace
}  // namespace ringstack

BENCHMARK_MAIN();
