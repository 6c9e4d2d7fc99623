#include "rings/packet_pool.h"

#include <mimalloc.h>

#include <algorithm>
#include <bit>
#include <new>

#include "absl/base/macros.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "rings/cache_line.h"

namespace ringstack::rings {
// A named namespace, not an anonymous one: PacketPool::ClassState's members
// have these types, and GCC warns (-Wsubobject-linkage) when a unity build
// includes this file into another.
namespace packet_pool_internal {

// Bounded lock-free MPMC queue of buffer indices (Vyukov's sequence-per-cell
// design): one CAS per operation, no ABA, no allocation after construction.
class FreeList {
 public:
  explicit FreeList(std::size_t capacity)
      : capacity_(std::bit_ceil(std::max<std::size_t>(capacity, 2))),
        mask_(capacity_ - 1),
        cells_(new Cell[capacity_]) {
    for (std::size_t i = 0; i < capacity_; ++i) {
      cells_[i].seq.store(i, std::memory_order_relaxed);
    }
  }

  bool Push(std::uint32_t value) {
    std::size_t pos = enqueue_.load(std::memory_order_relaxed);
    for (;;) {
      Cell& cell = cells_[pos & mask_];
      const std::size_t seq = cell.seq.load(std::memory_order_acquire);
      const auto diff = static_cast<std::intptr_t>(seq) - static_cast<std::intptr_t>(pos);
      if (diff == 0) {
        if (enqueue_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
          cell.value = value;
          cell.seq.store(pos + 1, std::memory_order_release);
          return true;
        }
      } else if (diff < 0) {
        return false;  // full: cannot happen when sized to the buffer count
      } else {
        pos = enqueue_.load(std::memory_order_relaxed);
      }
    }
  }

  bool Pop(std::uint32_t& value) {
    std::size_t pos = dequeue_.load(std::memory_order_relaxed);
    for (;;) {
      Cell& cell = cells_[pos & mask_];
      const std::size_t seq = cell.seq.load(std::memory_order_acquire);
      const auto diff = static_cast<std::intptr_t>(seq) - static_cast<std::intptr_t>(pos + 1);
      if (diff == 0) {
        if (dequeue_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
          value = cell.value;
          cell.seq.store(pos + mask_ + 1, std::memory_order_release);
          return true;
        }
      } else if (diff < 0) {
        return false;  // empty
      } else {
        pos = dequeue_.load(std::memory_order_relaxed);
      }
    }
  }

  std::size_t SizeApprox() const {
    const std::size_t e = enqueue_.load(std::memory_order_acquire);
    const std::size_t d = dequeue_.load(std::memory_order_acquire);
    return e > d ? e - d : 0;
  }

 private:
  struct alignas(kCacheLine) Cell {
    std::atomic<std::size_t> seq;
    std::uint32_t value;
  };
  const std::size_t capacity_;
  const std::size_t mask_;
  const std::unique_ptr<Cell[]> cells_;
  alignas(kCacheLine) std::atomic<std::size_t> enqueue_{0};
  alignas(kCacheLine) std::atomic<std::size_t> dequeue_{0};
};

struct MiFree {
  void operator()(std::byte* p) const { mi_free(p); }
};

}  // namespace packet_pool_internal

using packet_pool_internal::FreeList;
using packet_pool_internal::MiFree;

struct PacketPool::ClassState {
  ClassState(std::size_t n, std::size_t stride_bytes) : count(n), stride(stride_bytes), free(n) {}
  std::size_t count;
  std::size_t stride;  // headroom + data size, rounded to a cache line
  std::unique_ptr<std::byte, MiFree> slab;
  FreeList free;
  std::atomic<std::size_t> high_water{0};
  std::atomic<std::uint64_t> exhaustion{0};
};

struct PacketPool::Cache {
  std::atomic<bool> claimed{false};
  struct PerClass {
    std::unique_ptr<std::uint32_t[]> items;
    std::atomic<std::size_t> count{0};  // written by the owner only
  } cls[kBufferClasses];
};

namespace {
// The one piece of per-thread state: which cache this thread uses for which
// pool. It holds identity only (set by BindThreadCache, cleared by its scope),
// never packet state, so it is not a mutable global in the sense of STYLE.md.
struct CacheBinding {
  const PacketPool* pool = nullptr;
  void* cache = nullptr;
};
constexpr int kMaxBindingsPerThread = 4;
// initial-exec: the static library is always linked into the executable, so the
// binding is a fixed offset from the thread pointer, not a __tls_get_addr call.
__attribute__((tls_model("initial-exec"))) thread_local CacheBinding tls_bindings[kMaxBindingsPerThread];
}  // namespace

PacketPool::PacketPool(const PoolConfig& config) : config_(config) {}

PacketPool::~PacketPool() = default;

absl::StatusOr<std::unique_ptr<PacketPool>> PacketPool::Create(const PoolConfig& config) {
  if (config.standard_count == 0 || config.standard_size == 0 || config.large_size == 0) {
    return absl::InvalidArgumentError("packet pool: buffer counts and sizes must be positive");
  }
  if (config.standard_count > (1u << 24) || config.large_count > (1u << 20)) {
    return absl::InvalidArgumentError("packet pool: too many buffers (at most 16M standard)");
  }
  if (config.cache_size < 2 || config.cache_size > 4096) {
    return absl::InvalidArgumentError("packet pool: cache size must be in [2, 4096]");
  }
  std::unique_ptr<PacketPool> pool(new PacketPool(config));
  const std::size_t counts[kBufferClasses] = {config.standard_count, config.large_count};
  const std::size_t sizes[kBufferClasses] = {config.standard_size, config.large_size};
  for (int c = 0; c < kBufferClasses; ++c) {
    const std::size_t stride = (config.headroom + sizes[c] + kCacheLine - 1) / kCacheLine * kCacheLine;
    auto state = std::make_unique<ClassState>(counts[c], stride);
    if (counts[c] != 0) {
      void* mem = mi_malloc_aligned(stride * counts[c], 4096);
      if (mem == nullptr) {
        return absl::ResourceExhaustedError(absl::StrCat(
            "packet pool: cannot allocate ", stride * counts[c] / (1024 * 1024),
            " MiB; lower --pool-buffers"));
      }
      state->slab.reset(static_cast<std::byte*>(mem));
    }
    for (std::size_t i = 0; i < counts[c]; ++i) {
      state->free.Push(static_cast<std::uint32_t>(i));
    }
    pool->classes_[c] = std::move(state);
    pool->cache_limit_[c] = std::max<std::size_t>(2, std::min(config.cache_size, counts[c] / 8));
  }
  pool->caches_.reset(new Cache[kMaxCaches]);
  for (int i = 0; i < kMaxCaches; ++i) {
    for (auto& pc : pool->caches_[i].cls) pc.items.reset(new std::uint32_t[config.cache_size]);
  }
  return pool;
}

std::size_t PacketPool::data_size(BufferClass cls) const {
  return cls == BufferClass::kStandard ? config_.standard_size : config_.large_size;
}

Packet PacketPool::MakeHandle(BufferClass cls, std::uint32_t index) {
  ClassState& st = *classes_[static_cast<int>(cls)];
  Packet p;
  p.pool_ = this;
  p.base_ = st.slab.get() + st.stride * index;
  p.index_ = index;
  p.cls_ = cls;
  p.cap_ = static_cast<std::uint32_t>(config_.headroom + data_size(cls));
  p.head_ = static_cast<std::uint32_t>(config_.headroom);
  p.len_ = 0;
  return p;
}

PacketPool::Cache* PacketPool::ThisThreadCache() {
  for (const CacheBinding& b : tls_bindings) {
    if (b.pool == this) return static_cast<Cache*>(b.cache);
  }
  return nullptr;
}

Packet PacketPool::Get(BufferClass cls) {
  const int c = static_cast<int>(cls);
  ClassState& st = *classes_[c];
  std::uint32_t index;
  if (Cache* cache = ThisThreadCache()) {
    auto& pc = cache->cls[c];
    std::size_t n = pc.count.load(std::memory_order_relaxed);
    if (n == 0) {
      // Refill half the cache from the shared list in one go.
      const std::size_t want = cache_limit_[c] / 2;
      while (n < want && st.free.Pop(pc.items[n])) ++n;
      const std::size_t out = st.count - st.free.SizeApprox();
      std::size_t hw = st.high_water.load(std::memory_order_relaxed);
      while (out > hw && !st.high_water.compare_exchange_weak(hw, out, std::memory_order_relaxed)) {
      }
    }
    if (n == 0) {
      st.exhaustion.fetch_add(1, std::memory_order_relaxed);
      return Packet();
    }
    index = pc.items[n - 1];
    pc.count.store(n - 1, std::memory_order_relaxed);
    return MakeHandle(cls, index);
  }
  if (!st.free.Pop(index)) {
    st.exhaustion.fetch_add(1, std::memory_order_relaxed);
    return Packet();
  }
  const std::size_t out = st.count - st.free.SizeApprox();
  std::size_t hw = st.high_water.load(std::memory_order_relaxed);
  while (out > hw && !st.high_water.compare_exchange_weak(hw, out, std::memory_order_relaxed)) {
  }
  return MakeHandle(cls, index);
}

std::size_t PacketPool::GetBulk(std::span<Packet> out, BufferClass cls) {
  std::size_t n = 0;
  for (; n < out.size(); ++n) {
    out[n] = Get(cls);
    if (!out[n]) break;
  }
  return n;
}

void PacketPool::PutBulk(std::span<Packet> packets) {
  for (Packet& p : packets) p = Packet();
}

void PacketPool::Put(BufferClass cls, std::uint32_t index) {
  const int c = static_cast<int>(cls);
  ClassState& st = *classes_[c];
  if (Cache* cache = ThisThreadCache()) {
    auto& pc = cache->cls[c];
    std::size_t n = pc.count.load(std::memory_order_relaxed);
    if (n >= cache_limit_[c]) {
      // Flush the older half to the shared list in one go.
      const std::size_t keep = cache_limit_[c] / 2;
      for (std::size_t i = 0; i < n - keep; ++i) st.free.Push(pc.items[i]);
      std::copy(pc.items.get() + (n - keep), pc.items.get() + n, pc.items.get());
      n = keep;
    }
    pc.items[n] = index;
    pc.count.store(n + 1, std::memory_order_relaxed);
    return;
  }
  st.free.Push(index);
}

void Packet::Release() {
  if (pool_ != nullptr) {
    pool_->Put(cls_, index_);
    pool_ = nullptr;
  }
}

void Packet::Reset() {
  head_ = static_cast<std::uint32_t>(pool_->config_.headroom);
  len_ = 0;
  offload_ = PacketOffload{};
}

std::span<std::byte> Packet::ResetForReceive() {
  Reset();
  return {base_ + head_, cap_ - head_};
}

void PacketPool::FlushCache(Cache& cache) {
  for (int c = 0; c < kBufferClasses; ++c) {
    auto& pc = cache.cls[c];
    const std::size_t n = pc.count.load(std::memory_order_relaxed);
    for (std::size_t i = 0; i < n; ++i) classes_[c]->free.Push(pc.items[i]);
    pc.count.store(0, std::memory_order_relaxed);
  }
}

std::unique_ptr<PacketPool::ThreadCacheScope> PacketPool::BindThreadCache() {
  int binding = -1;
  for (int i = 0; i < kMaxBindingsPerThread; ++i) {
    if (tls_bindings[i].pool == this) return nullptr;  // already bound here
    if (binding < 0 && tls_bindings[i].pool == nullptr) binding = i;
  }
  if (binding < 0) return nullptr;
  for (int slot = 0; slot < kMaxCaches; ++slot) {
    bool expected = false;
    if (caches_[slot].claimed.compare_exchange_strong(expected, true)) {
      tls_bindings[binding] = CacheBinding{this, &caches_[slot]};
      return std::unique_ptr<ThreadCacheScope>(new ThreadCacheScope(this, slot));
    }
  }
  return nullptr;  // no cache slot left: this thread uses the shared list
}

PacketPool::ThreadCacheScope::~ThreadCacheScope() {
  for (CacheBinding& b : tls_bindings) {
    if (b.pool == pool_) b = CacheBinding{};
  }
  pool_->FlushCache(pool_->caches_[slot_]);
  pool_->caches_[slot_].claimed.store(false, std::memory_order_release);
}

PoolStats PacketPool::stats() const {
  PoolStats s;
  for (int c = 0; c < kBufferClasses; ++c) {
    const ClassState& st = *classes_[c];
    std::size_t cached = 0;
    for (int i = 0; i < kMaxCaches; ++i) {
      cached += caches_[i].cls[c].count.load(std::memory_order_relaxed);
    }
    const std::size_t idle = st.free.SizeApprox() + cached;
    s.cls[c].total = st.count;
    s.cls[c].in_use = idle >= st.count ? 0 : st.count - idle;
    s.cls[c].high_water = st.high_water.load(std::memory_order_relaxed);
    s.cls[c].exhaustion_events = st.exhaustion.load(std::memory_order_relaxed);
  }
  return s;
}

}  // namespace ringstack::rings
