// Rings: SpscRing, MpmcQueue, ByteRing and PacketPool behaviour, including a
// two-thread ordered stress run and element lifetime accounting.
#include <atomic>
#include <cstdint>
#include <memory>
#include <numeric>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "rings/byte_ring.h"
#include "rings/mpmc_queue.h"
#include "rings/packet_pool.h"
#include "rings/spsc_ring.h"

namespace ringstack::rings {
namespace {

// Counts live instances so tests can see every construction has its
// destruction, through pushes, pops, bursts and ring destruction.
struct Counted {
  static inline std::atomic<int> live{0};
  int value = 0;
  Counted() { ++live; }
  explicit Counted(int v) : value(v) { ++live; }
  Counted(Counted&& o) noexcept : value(o.value) { ++live; }
  Counted& operator=(Counted&& o) noexcept {
    value = o.value;
    return *this;
  }
  ~Counted() { --live; }
};

TEST(SpscRing, CapacityRoundsUpToPowerOfTwo) {
  EXPECT_EQ(SpscRing<int>(5).capacity(), 8u);
  EXPECT_EQ(SpscRing<int>(8).capacity(), 8u);
  EXPECT_EQ(SpscRing<int>(0).capacity(), 2u);
}

TEST(SpscRing, PushPopInOrderAndFullEmpty) {
  SpscRing<int> ring(4);
  int out = 0;
  EXPECT_FALSE(ring.TryPop(out));
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(ring.TryPush(int{i}));
  EXPECT_FALSE(ring.TryPush(99));
  EXPECT_EQ(ring.SizeApprox(), 4u);
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(ring.TryPop(out));
    EXPECT_EQ(out, i);
  }
  EXPECT_FALSE(ring.TryPop(out));
  EXPECT_TRUE(ring.EmptyApprox());
}

TEST(SpscRing, BurstPushStopsAtCapacityAndKeepsTheRest) {
  SpscRing<int> ring(4);
  std::vector<int> in = {1, 2, 3, 4, 5, 6};
  EXPECT_EQ(ring.TryPushBurst(std::span<int>(in)), 4u);
  std::vector<int> out(8);
  EXPECT_EQ(ring.TryPopBurst(std::span<int>(out)), 4u);
  EXPECT_EQ(out[0], 1);
  EXPECT_EQ(out[3], 4);
  // Wrap-around: push across the end of the slot array.
  EXPECT_EQ(ring.TryPushBurst(std::span<int>(in).subspan(4)), 2u);
  EXPECT_EQ(ring.TryPopBurst(std::span<int>(out)), 2u);
  EXPECT_EQ(out[0], 5);
  EXPECT_EQ(out[1], 6);
}

TEST(SpscRing, EveryConstructionIsDestroyed) {
  Counted::live = 0;
  {
    SpscRing<Counted> ring(8);
    for (int i = 0; i < 6; ++i) ASSERT_TRUE(ring.TryPush(Counted(i)));
    EXPECT_EQ(Counted::live.load(), 6);  // temporaries gone, ring holds 6
    Counted out;
    ASSERT_TRUE(ring.TryPop(out));
    EXPECT_EQ(out.value, 0);
    EXPECT_EQ(Counted::live.load(), 6);  // 5 in ring + out
    std::vector<Counted> burst(2);
    EXPECT_EQ(ring.TryPopBurst(std::span<Counted>(burst)), 2u);
    EXPECT_EQ(burst[1].value, 2);
    EXPECT_EQ(Counted::live.load(), 3 + 1 + 2);
  }
  // Ring destroyed with 3 items inside; out and burst gone too.
  EXPECT_EQ(Counted::live.load(), 0);
}

TEST(SpscRing, TwoThreadOrderedStressTenMillion) {
  constexpr std::uint64_t kItems = 10'000'000;
  SpscRing<std::uint64_t> ring(1024);
  std::thread producer([&] {
    std::uint64_t next = 0;
    std::uint64_t batch[16];
    while (next < kItems) {
      const std::uint64_t n = std::min<std::uint64_t>(16, kItems - next);
      if (next % 3 == 0) {
        for (std::uint64_t i = 0; i < n; ++i) batch[i] = next + i;
        next += ring.TryPushBurst(std::span<std::uint64_t>(batch, n));
      } else if (ring.TryPush(std::uint64_t{next})) {
        ++next;
      }
    }
  });
  std::uint64_t expected = 0;
  std::uint64_t mismatches = 0;
  std::uint64_t buf[32];
  while (expected < kItems) {
    const std::size_t n = ring.TryPopBurst(std::span<std::uint64_t>(buf));
    for (std::size_t i = 0; i < n; ++i) {
      if (buf[i] != expected) ++mismatches;
      ++expected;
    }
  }
  producer.join();
  EXPECT_EQ(mismatches, 0u);
  EXPECT_EQ(expected, kItems);
  EXPECT_TRUE(ring.EmptyApprox());
}

TEST(MpmcQueue, ManyProducersEachKeepTheirOrder) {
  constexpr int kProducers = 4;
  constexpr int kPerProducer = 200'000;
  MpmcQueue<std::uint64_t> queue(4096, kProducers);
  std::vector<std::thread> producers;
  std::atomic<std::uint64_t> refused{0};
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      auto token = queue.MakeProducerToken();
      for (std::uint64_t i = 0; i < kPerProducer;) {
        if (queue.TryEnqueue(token, (std::uint64_t{static_cast<std::uint64_t>(p)} << 32) | i)) {
          ++i;
        } else {
          refused.fetch_add(1, std::memory_order_relaxed);
          std::this_thread::yield();
        }
      }
    });
  }
  std::vector<std::uint64_t> next(kProducers, 0);
  std::uint64_t received = 0;
  std::uint64_t out_of_order = 0;
  std::uint64_t item;
  while (received < std::uint64_t{kProducers} * kPerProducer) {
    if (!queue.TryDequeue(item)) continue;
    const auto p = item >> 32;
    const auto i = item & 0xffffffffu;
    if (i != next[p]) ++out_of_order;
    next[p] = i + 1;
    ++received;
  }
  for (auto& t : producers) t.join();
  EXPECT_EQ(out_of_order, 0u);
  for (int p = 0; p < kProducers; ++p) EXPECT_EQ(next[p], std::uint64_t{kPerProducer});
}

TEST(MpmcQueue, TryEnqueueRefusesWhenReservedSpaceIsFullInsteadOfAllocating) {
  MpmcQueue<int> queue(64, 1);
  auto token = queue.MakeProducerToken();
  int accepted = 0;
  for (int i = 0; i < 100000; ++i) {
    if (!queue.TryEnqueue(token, int{i})) break;
    ++accepted;
  }
  EXPECT_EQ(accepted, 64);
  int out = -1;
  ASSERT_TRUE(queue.TryDequeue(out));
  EXPECT_EQ(out, 0);
}

TEST(ByteRing, WriteReadWrapAndPeek) {
  ByteRing ring(8);
  std::vector<std::byte> in(6);
  for (int i = 0; i < 6; ++i) in[i] = std::byte(i + 1);
  EXPECT_EQ(ring.Write(in), 6u);
  EXPECT_EQ(ring.Write(in), 2u);  // only 2 bytes free
  std::vector<std::byte> out(5);
  EXPECT_EQ(ring.Read(out), 5u);
  EXPECT_EQ(out[0], std::byte{1});
  EXPECT_EQ(out[4], std::byte{5});
  // Now 3 readable: 6, 1, 2. Write 5 more to wrap.
  EXPECT_EQ(ring.Write(in), 5u);
  EXPECT_EQ(ring.ReadableApprox(), 8u);
  auto spans = ring.ReadableSpans();
  EXPECT_EQ(spans.size(), 8u);
  EXPECT_FALSE(spans.second.empty());
  std::vector<std::byte> peek(4);
  EXPECT_EQ(ring.Peek(2, peek), 4u);
  EXPECT_EQ(peek[0], std::byte{2});
  EXPECT_EQ(peek[1], std::byte{1});
  EXPECT_EQ(ring.Peek(8, peek), 0u);
  std::vector<std::byte> all(16);
  EXPECT_EQ(ring.Read(all), 8u);
  EXPECT_EQ(all[0], std::byte{6});
  EXPECT_EQ(all[7], std::byte{5});
  EXPECT_EQ(ring.ReadableApprox(), 0u);
}

TEST(ByteRing, TwoThreadStreamArrivesIntact) {
  ByteRing ring(4096);
  constexpr std::size_t kBytes = 8 << 20;
  std::thread writer([&] {
    std::size_t sent = 0;
    std::vector<std::byte> chunk(1000);
    while (sent < kBytes) {
      const std::size_t n = std::min(chunk.size(), kBytes - sent);
      for (std::size_t i = 0; i < n; ++i) chunk[i] = std::byte((sent + i) * 7 % 251);
      std::size_t done = 0;
      while (done < n) done += ring.Write(std::span(chunk).subspan(done, n - done));
      sent += n;
    }
  });
  std::size_t got = 0;
  std::size_t bad = 0;
  std::vector<std::byte> buf(777);
  while (got < kBytes) {
    const std::size_t n = ring.Read(buf);
    for (std::size_t i = 0; i < n; ++i) {
      if (buf[i] != std::byte((got + i) * 7 % 251)) ++bad;
    }
    got += n;
  }
  writer.join();
  EXPECT_EQ(bad, 0u);
}

PoolConfig SmallPool() {
  PoolConfig c;
  c.standard_count = 16;
  c.standard_size = 256;
  c.large_count = 2;
  c.large_size = 4096;
  c.cache_size = 4;
  return c;
}

TEST(PacketPool, ExhaustionGivesEmptyHandleAndIsCounted) {
  auto pool = PacketPool::Create(SmallPool());
  ASSERT_TRUE(pool.ok()) << pool.status();
  std::vector<Packet> held(16);
  EXPECT_EQ((*pool)->GetBulk(std::span(held)), 16u);
  Packet extra = (*pool)->Get();
  EXPECT_FALSE(extra);
  auto s = (*pool)->stats();
  EXPECT_EQ(s.cls[0].in_use, 16u);
  EXPECT_EQ(s.cls[0].high_water, 16u);
  EXPECT_EQ(s.cls[0].exhaustion_events, 1u);
  held.clear();  // handles return their buffers
  EXPECT_EQ((*pool)->stats().cls[0].in_use, 0u);
  EXPECT_TRUE((*pool)->Get());
}

TEST(PacketPool, HeadroomPrependAppendTrim) {
  auto pool = *PacketPool::Create(SmallPool());
  Packet p = pool->Get();
  ASSERT_TRUE(p);
  EXPECT_EQ(p.headroom(), 128u);
  EXPECT_EQ(p.tailroom(), 256u);
  auto body = p.Append(100);
  ASSERT_EQ(body.size(), 100u);
  body[0] = std::byte{0xab};
  auto hdr = p.Prepend(20);
  ASSERT_EQ(hdr.size(), 20u);
  EXPECT_EQ(p.size(), 120u);
  EXPECT_EQ(p.data()[20], std::byte{0xab});
  EXPECT_TRUE(p.Prepend(200).empty());  // not enough headroom: unchanged
  EXPECT_EQ(p.size(), 120u);
  EXPECT_TRUE(p.Append(1000).empty());
  p.TrimFront(20);
  EXPECT_EQ(p.data()[0], std::byte{0xab});
  p.Truncate(10);
  EXPECT_EQ(p.size(), 10u);
  auto rx = p.ResetForReceive();
  EXPECT_EQ(rx.size(), 256u);
  p.SetSize(5000);
  EXPECT_EQ(p.size(), 256u);
}

TEST(PacketPool, LargeClassIsSeparate) {
  auto pool = *PacketPool::Create(SmallPool());
  Packet a = pool->Get(BufferClass::kLarge);
  Packet b = pool->Get(BufferClass::kLarge);
  Packet c = pool->Get(BufferClass::kLarge);
  EXPECT_TRUE(a);
  EXPECT_TRUE(b);
  EXPECT_FALSE(c);
  EXPECT_EQ(a.tailroom(), 4096u);
  EXPECT_EQ(pool->stats().cls[1].exhaustion_events, 1u);
  EXPECT_EQ(pool->stats().cls[0].exhaustion_events, 0u);
}

TEST(PacketPool, MoveTransfersOwnership) {
  auto pool = *PacketPool::Create(SmallPool());
  Packet a = pool->Get();
  Packet b = std::move(a);
  EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move): checking the moved-from state
  EXPECT_TRUE(b);
  EXPECT_EQ(pool->stats().cls[0].in_use, 1u);
  b = Packet();
  EXPECT_EQ(pool->stats().cls[0].in_use, 0u);
}

TEST(PacketPool, ThreadCachesAcrossThreadsLoseNothing) {
  PoolConfig cfg = SmallPool();
  cfg.standard_count = 256;
  cfg.cache_size = 16;
  auto pool = *PacketPool::Create(cfg);
  SpscRing<Packet> ring(64);
  constexpr int kPackets = 200'000;
  std::thread producer([&] {
    auto scope = pool->BindThreadCache();
    ASSERT_NE(scope, nullptr);
    for (int i = 0; i < kPackets;) {
      Packet p = pool->Get();
      if (!p) continue;  // consumer still holds them: retry
      auto b = p.Append(4);
      b[0] = std::byte(i & 0xff);
      while (!ring.TryPush(std::move(p))) {
      }
      ++i;
    }
  });
  int bad = 0;
  {
    auto scope = pool->BindThreadCache();
    ASSERT_NE(scope, nullptr);
    EXPECT_EQ(pool->BindThreadCache(), nullptr);  // one cache per thread per pool
    Packet p;
    for (int i = 0; i < kPackets;) {
      if (!ring.TryPop(p)) continue;
      if (p.data()[0] != std::byte(i & 0xff)) ++bad;
      p = Packet();  // returns through this thread's cache
      ++i;
    }
  }
  producer.join();
  EXPECT_EQ(bad, 0);
  EXPECT_EQ(pool->stats().cls[0].in_use, 0u);
}

// A thread's cache holds at most an eighth of a class: a thread that used
// every large buffer and gave them back leaves most of them for the others.
TEST(PacketPool, ThreadCacheCannotHoardASmallClass) {
  PoolConfig cfg = SmallPool();
  cfg.large_count = 64;
  cfg.cache_size = 64;
  auto pool = *PacketPool::Create(cfg);
  std::thread hoarder([&] {
    auto scope = pool->BindThreadCache();
    std::vector<Packet> all;
    while (Packet p = pool->Get(BufferClass::kLarge)) all.push_back(std::move(p));
    EXPECT_EQ(all.size(), 64u);
    all.clear();  // back through this thread's cache; the scope stays bound
    // Another thread (no cache) finds at least 7/8 of them.
    std::thread other([&] {
      int got = 0;
      std::vector<Packet> held;
      while (Packet p = pool->Get(BufferClass::kLarge)) {
        held.push_back(std::move(p));
        ++got;
      }
      EXPECT_GE(got, 56);
    });
    other.join();
  });
  hoarder.join();
  EXPECT_EQ(pool->stats().cls[1].in_use, 0u);
}

TEST(PacketPool, RejectsBadConfig) {
  PoolConfig c = SmallPool();
  c.standard_count = 0;
  EXPECT_FALSE(PacketPool::Create(c).ok());
  c = SmallPool();
  c.cache_size = 1;
  EXPECT_FALSE(PacketPool::Create(c).ok());
}

}  // namespace
}  // namespace ringstack::rings
