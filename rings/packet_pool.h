// PacketPool and Packet: all packet memory, allocated once, handed out as
// move-only handles.
//
// Contract: Create() allocates every buffer up front (mimalloc-backed slabs);
// after that Get/Put never allocate and never block. Two size classes: standard
// (default 2 KiB data) and large (default 64 KiB, for TSO/GSO super-frames).
// Every buffer has `headroom` bytes in front of the data so headers can be
// prepended in place. A Packet's destructor returns its buffer to the pool.
// Exhaustion returns an empty handle and is counted.
//
// Threads: Get/Put are safe from any thread. A thread that binds a
// ThreadCache (one per pool per thread, see BindThreadCache) gets and puts
// through a private cache that refills and flushes in bulk against the shared
// lock-free free list; other threads go to the free list directly.
// (After DPDK rte_mempool's per-lcore cache and lwIP pbuf headroom.)
#ifndef RINGSTACK_RINGS_PACKET_POOL_H_
#define RINGSTACK_RINGS_PACKET_POOL_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "absl/status/statusor.h"

namespace ringstack::rings {

class PacketPool;

enum class BufferClass : std::uint8_t { kStandard = 0, kLarge = 1 };
inline constexpr int kBufferClasses = 2;

// What a link with checksum and segmentation offload (a TAP with
// IFF_VNET_HDR, engine/link/vnet_hdr.h) said of a received frame, or is to
// be told of one to send. All zero for a plain frame.
struct PacketOffload {
  // The frame is a TCP super-segment of segments of this many payload bytes:
  // TX, for the link to cut up (TSO); RX, as the host coalesced (GRO) or
  // never cut (its own TSO) them. 0: an ordinary frame.
  std::uint16_t gso_size = 0;
  // TX: the L4 checksum is left partial (the pseudo-header sum): the link
  // completes it over [csum_start, end), storing at csum_start + csum_offset
  // (offsets from the Ethernet header's start). 0: the frame is complete.
  std::uint16_t csum_start = 0;
  std::uint16_t csum_offset = 0;
  // RX: the host vouches for the L4 checksum (it checked it, or the frame
  // never left the host and carries only a partial one), so TCP and UDP
  // skip verifying it.
  bool csum_trusted = false;
  bool operator==(const PacketOffload&) const = default;
};

// A move-only handle on one pool buffer. The bytes in [head, head + size) are
// the packet; space before head is headroom, after it tailroom.
class Packet {
 public:
  Packet() = default;
  Packet(Packet&& other) noexcept { MoveFrom(other); }
  Packet& operator=(Packet&& other) noexcept {
    if (this != &other) {
      Release();
      MoveFrom(other);
    }
    return *this;
  }
  Packet(const Packet&) = delete;
  Packet& operator=(const Packet&) = delete;
  ~Packet() { Release(); }

  explicit operator bool() const { return pool_ != nullptr; }

  std::span<std::byte> data() { return {base_ + head_, len_}; }
  std::span<const std::byte> data() const { return {base_ + head_, len_}; }
  std::size_t size() const { return len_; }
  std::size_t headroom() const { return head_; }
  std::size_t tailroom() const { return cap_ - head_ - len_; }
  BufferClass buffer_class() const { return cls_; }
  // Offload metadata (see PacketOffload); cleared by Reset and on a new Get.
  PacketOffload& offload() { return offload_; }
  const PacketOffload& offload() const { return offload_; }

  // Grows the packet at the front by n bytes and returns them; an empty span
  // (packet unchanged) when the headroom is short.
  std::span<std::byte> Prepend(std::size_t n) {
    if (n > head_) return {};
    head_ -= static_cast<std::uint32_t>(n);
    len_ += static_cast<std::uint32_t>(n);
    return {base_ + head_, n};
  }
  // Grows the packet at the back by n bytes and returns them; empty when the
  // tailroom is short.
  std::span<std::byte> Append(std::size_t n) {
    if (n > tailroom()) return {};
    std::byte* p = base_ + head_ + len_;
    len_ += static_cast<std::uint32_t>(n);
    return {p, n};
  }
  // Drops n bytes from the front (clamped to the size).
  void TrimFront(std::size_t n) {
    if (n > len_) n = len_;
    head_ += static_cast<std::uint32_t>(n);
    len_ -= static_cast<std::uint32_t>(n);
  }
  // Keeps only the first n bytes (no-op if already shorter).
  void Truncate(std::size_t n) {
    if (n < len_) len_ = static_cast<std::uint32_t>(n);
  }
  // Empties the packet and restores the pool's standard headroom.
  void Reset();
  // Room for a frame read straight into the buffer: empties the packet and
  // returns all the space after the standard headroom; call SetSize() after.
  std::span<std::byte> ResetForReceive();
  // Sets the size after a ResetForReceive fill (clamped to the space there).
  void SetSize(std::size_t n) {
    const std::size_t room = cap_ - head_;
    len_ = static_cast<std::uint32_t>(n < room ? n : room);
  }

 private:
  friend class PacketPool;
  void Release();
  void MoveFrom(Packet& other) {
    pool_ = other.pool_;
    base_ = other.base_;
    index_ = other.index_;
    head_ = other.head_;
    len_ = other.len_;
    cap_ = other.cap_;
    cls_ = other.cls_;
    offload_ = other.offload_;
    other.pool_ = nullptr;
  }

  PacketPool* pool_ = nullptr;
  std::byte* base_ = nullptr;
  std::uint32_t index_ = 0;
  std::uint32_t head_ = 0;
  std::uint32_t len_ = 0;
  std::uint32_t cap_ = 0;
  BufferClass cls_ = BufferClass::kStandard;
  PacketOffload offload_;
};

struct PoolConfig {
  std::size_t standard_count = 4096;
  std::size_t standard_size = 2048;  // data bytes after the headroom
  std::size_t large_count = 64;
  std::size_t large_size = 65536;
  std::size_t headroom = 128;
  std::size_t cache_size = 64;  // per-thread cache, per class
};

struct PoolClassStats {
  std::size_t total = 0;
  std::size_t in_use = 0;      // held by handles (not in the free list or a cache)
  std::size_t high_water = 0;  // most buffers out of the shared free list at once
  std::uint64_t exhaustion_events = 0;
};

struct PoolStats {
  PoolClassStats cls[kBufferClasses];
};

class PacketPool {
 public:
  // Fails on a zero count or size, or when memory cannot be had.
  static absl::StatusOr<std::unique_ptr<PacketPool>> Create(const PoolConfig& config);
  ~PacketPool();
  PacketPool(const PacketPool&) = delete;
  PacketPool& operator=(const PacketPool&) = delete;

  // One buffer, empty, with the standard headroom; an empty handle when the
  // class is exhausted. Never allocates, never blocks.
  Packet Get(BufferClass cls = BufferClass::kStandard);
  // Fills out[0, n) and returns n (< out.size() only on exhaustion).
  std::size_t GetBulk(std::span<Packet> out, BufferClass cls = BufferClass::kStandard);
  // Returns every non-empty handle in `packets` to the pool.
  void PutBulk(std::span<Packet> packets);

  PoolStats stats() const;
  const PoolConfig& config() const { return config_; }
  std::size_t data_size(BufferClass cls) const;

  // Binds a private cache for this pool to the calling thread until the
  // returned object is destroyed (on the same thread), which flushes it.
  class ThreadCacheScope {
   public:
    ThreadCacheScope(ThreadCacheScope&&) = delete;
    ~ThreadCacheScope();

   private:
    friend class PacketPool;
    explicit ThreadCacheScope(PacketPool* pool, int slot) : pool_(pool), slot_(slot) {}
    PacketPool* pool_;
    int slot_;
  };
  [[nodiscard]] std::unique_ptr<ThreadCacheScope> BindThreadCache();

 private:
  struct ClassState;
  struct Cache;
  explicit PacketPool(const PoolConfig& config);
  void Put(BufferClass cls, std::uint32_t index);
  Packet MakeHandle(BufferClass cls, std::uint32_t index);
  Cache* ThisThreadCache();
  void FlushCache(Cache& cache);
  friend class Packet;

  PoolConfig config_;
  // Per class, how many buffers one thread's cache may hold: cache_size,
  // but at most an eighth of the class, so a few caches cannot hoard a small
  // class (the 64 large buffers) while another thread finds none.
  std::size_t cache_limit_[kBufferClasses] = {};
  std::unique_ptr<ClassState> classes_[kBufferClasses];
  static constexpr int kMaxCaches = 64;
  std::unique_ptr<Cache[]> caches_;
  std::atomic<int> caches_used_{0};
};

}  // namespace ringstack::rings

#endif  // RINGSTACK_RINGS_PACKET_POOL_H_
