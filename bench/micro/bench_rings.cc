// Micro benchmarks: rings, the packet pool, checksums, the IPv4 family's
// per-packet state (reassembly, routing, ARP) and the per-frame cost of the
// engine's echo path. Run: build/bench/bench_micro (figures in
// bench/README.md).
#include <benchmark/benchmark.h>

#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "engine/engine.h"
#include "engine/link/replay.h"
#include "engine/runner.h"
#include "protocols/common/checksum.h"
#include "protocols/arp/arp_cache.h"
#include "protocols/dhcp4/dhcp4_repr.h"
#include "protocols/ipv4/ipv4_host.h"
#include "protocols/ipv4/ipv4_reassembly.h"
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

// A 4008-byte datagram in three 1480-byte fragments (what `ping -s 4000`
// sends), reassembled; the cost per datagram, copy into place included.
void BM_Ipv4Reassemble3(benchmark::State& state) {
  proto::ipv4::Ipv4Reassembler r;
  std::vector<std::byte> payload(4008, std::byte{0x42});
  proto::ipv4::Ipv4Repr ip;
  ip.src = proto::Ipv4Address(0xc0000201);
  ip.dst = proto::Ipv4Address(0xc0000202);
  ip.protocol = proto::ipv4::kProtoIcmp;
  std::uint16_t id = 0;
  const proto::Instant now = proto::Instant::FromNanos(1);
  for (auto _ : state) {
    ip.ident = id++;
    for (std::size_t off = 0; off < payload.size(); off += 1480) {
      const std::size_t n = std::min<std::size_t>(1480, payload.size() - off);
      ip.frag_offset = static_cast<std::uint32_t>(off);
      ip.mf = off + n < payload.size();
      benchmark::DoNotOptimize(r.OnFragment(ip, std::span(payload).subspan(off, n), now));
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Ipv4Reassemble3);

// Longest-prefix match over a small table (2 connected, 2 static, 2 default).
void BM_RouteLookup(benchmark::State& state) {
  proto::ipv4::Ipv4Host host;
  host.AddAddress({*proto::Ipv4Interface::Parse("192.0.2.2/24"), proto::Ipv4Address(0xc0000201),
                   proto::ipv4::AddressState::kPreferred});
  host.AddAddress({*proto::Ipv4Interface::Parse("198.51.100.2/24"), proto::Ipv4Address(0xc6336401),
                   proto::ipv4::AddressState::kPreferred});
  host.AddStaticRoute(*proto::Ipv4Interface::Parse("203.0.113.0/24"), proto::Ipv4Address(0xc00002fe));
  host.AddStaticRoute(*proto::Ipv4Interface::Parse("203.0.113.128/25"), proto::Ipv4Address(0xc63364fe));
  std::uint32_t dst = 0xcb007100;  // 203.0.113.0 and on: static, then default
  for (auto _ : state) benchmark::DoNotOptimize(host.Lookup(proto::Ipv4Address(dst++)));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RouteLookup);

// The per-packet neighbour lookup on the send path (a reachable entry).
void BM_ArpCacheUse(benchmark::State& state) {
  proto::arp::ArpCache cache;
  const proto::Instant now = proto::Instant::FromNanos(1);
  for (std::uint32_t i = 1; i < 200; ++i) {
    const proto::Ipv4Address ip(0xc0000200 + i);
    cache.StartResolve(ip, now);
    cache.OnArp({proto::arp::kOpReply, *proto::MacAddress::Parse("52:54:00:00:00:01"), ip, {}, {}}, true, now);
  }
  std::uint32_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(cache.Use(proto::Ipv4Address(0xc0000201 + (i++ % 199)), now));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ArpCacheUse);

void BM_Dhcp4Parse(benchmark::State& state) {
  const auto* p = reinterpret_cast<const std::byte*>(vectors::kDhcpAck) + 42;
  const std::span<const std::byte> bytes(p, sizeof(vectors::kDhcpAck) - 42);
  for (auto _ : state) benchmark::DoNotOptimize(proto::dhcp4::Dhcp4Repr::Parse(bytes));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Dhcp4Parse);

std::vector<std::byte> Frame(std::span<const unsigned char> a) {
  const auto b = std::as_bytes(a);
  return {b.begin(), b.end()};
}

engine::Config BenchConfig(int workers, engine::PollMode poll) {
  engine::RawFlags f;
  f.tap = "bench0";
  f.mac = "02:00:00:00:00:01";
  f.ip4 = "192.0.2.2/24";
  f.acd = "off";  // addresses usable at once; ACD has tests of its own
  f.ipv6 = "off";  // no IPv6 start-up frames (link-local DAD, RS, MLD)
  f.workers = workers;
  auto c = *engine::ParseConfig(f, 1);
  c.poll = poll;
  return c;
}

// Echo requests through RX -> worker -> TX on one thread (SimRunner) from a
// ReplayLink: the engine's own per-frame cost, one copy into the pool buffer
// included, no kernel.
void BM_EngineEchoPerFrame(benchmark::State& state) {
  engine::VirtualClock clock;
  auto link = std::make_unique<engine::ReplayLink>(std::vector<std::vector<std::byte>>{Frame(vectors::kArpRequest)},
                                                   Frame(vectors::kIcmpEchoRequest), 0);
  engine::ReplayLink* replay = link.get();
  auto engine = std::move(*engine::Engine::CreateWithLink(BenchConfig(1, engine::PollMode::kBusy), std::move(link), clock));
  engine::SimRunner runner(engine->stages(), clock, {&engine->pool()});
  runner.Settle();
  for (auto _ : state) {
    replay->Extend(64);
    runner.Settle();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(replay->sent() - 1));
}
BENCHMARK(BM_EngineEchoPerFrame);

// The same through the threaded pipeline (a thread per stage, --poll=block):
// frames answered per second of wall time. On a 2-core machine the five
// threads share two CPUs, so this is a floor, not a peak.
void BM_EngineEchoThreaded(benchmark::State& state) {
  engine::SteadyClock clock;
  const auto mode = static_cast<engine::PollMode>(state.range(0));
  auto link = std::make_unique<engine::ReplayLink>(std::vector<std::vector<std::byte>>{Frame(vectors::kArpRequest)},
                                                   Frame(vectors::kIcmpEchoRequest), 0);
  engine::ReplayLink* replay = link.get();
  auto engine = std::move(*engine::Engine::CreateWithLink(BenchConfig(1, mode), std::move(link), clock));
  if (!engine->Start().ok()) {
    state.SkipWithError("start failed");
    return;
  }
  constexpr std::uint64_t kBatch = 100000;
  std::uint64_t target = 1;
  std::uint64_t offered = 1;  // the ARP request
  const auto give_up = clock.Now() + proto::Duration::Seconds(60);
  for (auto _ : state) {
    // Keep at most 512 frames offered but unanswered, so the rings (1024)
    // never overflow: any loss would stall this loop and fail the run.
    target += kBatch;
    while (replay->sent() < target) {
      if (offered - replay->sent() < 512 && offered < target) {
        replay->Extend(64);
        offered += 64;
      }
      std::this_thread::yield();
      if (clock.Now() > give_up) {
        engine->Stop();
        engine->PrintCounters(stderr);
        std::fprintf(stderr, "received %lu sent %lu target %lu\n", static_cast<unsigned long>(replay->received()),
                     static_cast<unsigned long>(replay->sent()), static_cast<unsigned long>(target));
        state.SkipWithError("stalled: frames neither answered nor counted");
        return;
      }
    }
  }
  engine->Stop();
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kBatch));
  state.SetLabel(engine::PollModeName(mode));
}
BENCHMARK(BM_EngineEchoThreaded)
    ->Arg(static_cast<int>(engine::PollMode::kBlock))
    ->Arg(static_cast<int>(engine::PollMode::kAdaptive))
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace ringstack

BENCHMARK_MAIN();
