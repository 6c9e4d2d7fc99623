// Capture: copies of the frames that cross the link, written to a pcap file
// (libpcap's classic format, microsecond timestamps, LINKTYPE_ETHERNET) that
// tcpdump, tshark and Wireshark read.
//
// The RX and TX threads each copy a frame into a ring of their own (a
// ByteRing: one producer, one consumer; never blocking, never allocating: a
// full ring drops the copy and counts capture_rx_dropped / capture_tx_dropped); a writer thread of
// the capture's own merges the two by time and writes. A file that would
// pass `max_bytes` is rotated as tcpdump -C/-W does: FILE becomes FILE.1,
// FILE.1 becomes FILE.2, ..., keeping `files` files in all.
//
// Start/Stop/status: any thread (serialised inside). OnFrame: the link's RX
// or TX thread, as its direction says. Cheap when off: one relaxed load.
#ifndef RINGSTACK_ENGINE_CONSOLE_CAPTURE_H_
#define RINGSTACK_ENGINE_CONSOLE_CAPTURE_H_

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <span>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "engine/counters.h"
#include "rings/byte_ring.h"

namespace ringstack::engine {

class Capture {
 public:
  enum class Direction { kRx, kTx };
  static constexpr std::size_t kRingBytes = 8u << 20;  // per direction
  // As tcpdump's default: a whole TCP super-frame of a TAP with offload (64 KiB) fits.
  static constexpr std::uint32_t kSnapLen = 262144;

  explicit Capture(CounterSet& counters);
  ~Capture();
  Capture(const Capture&) = delete;
  Capture& operator=(const Capture&) = delete;

  // Opens `path` (truncating it) and starts capturing; an error when a
  // capture runs already or the file cannot be written.
  absl::Status Start(const std::string& path, std::uint64_t max_bytes, int files);
  // Writes what is queued and closes the file. False when none ran.
  bool Stop();

  bool active() const { return active_.load(std::memory_order_relaxed); }
  // `stamp`: when it crossed (Now()); 0: now.
  void OnFrame(Direction d, std::span<const std::byte> frame, std::int64_t stamp = 0) {
    if (active()) Copy(d, frame, stamp != 0 ? stamp : Now());
  }
  // Wall-clock nanoseconds (pcap timestamps are wall time).
  static std::int64_t Now();

  struct Status {
    bool active = false;
    std::string path;
    std::uint64_t frames = 0;   // written, this capture
    std::uint64_t bytes = 0;    // file bytes, this capture (all files)
    std::uint64_t dropped = 0;  // rings full, this capture
    std::uint64_t rotations = 0;
  };
  Status status() const;

 private:
  struct Record {  // ahead of each frame in a ring
    std::int64_t ns;
    std::uint32_t generation;
    std::uint32_t len;
  };
  void Copy(Direction d, std::span<const std::byte> frame, std::int64_t stamp);
  void WriterLoop();
  // Moves every queued record to the file; false when nothing was queued.
  bool Drain();
  void WriteRecord(const Record& r, rings::ByteRing& ring);
  bool OpenFile();
  void Rotate();

  rings::ByteRing rx_ring_{kRingBytes}, tx_ring_{kRingBytes};
  std::atomic<bool> active_{false};
  std::atomic<std::uint32_t> generation_{0};
  Counter& frames_;
  Counter& rx_dropped_;  // one writer each: the RX and the TX thread
  Counter& tx_dropped_;
  // Each ring's producers take turns: the RX ring has one RX thread per TAP
  // queue (--tap-queues), the TX ring the TX thread and, with --tx-inline,
  // the workers. The counters below are written under these.
  std::mutex rx_mu_, tx_mu_;
  std::atomic<std::uint64_t> dropped_now_{0};

  mutable std::mutex mu_;  // the fields below, and Start/Stop
  std::condition_variable cv_;
  bool stopping_ = false;
  std::string path_;
  std::uint64_t max_bytes_ = 0;
  int files_ = 1;
  std::FILE* file_ = nullptr;
  std::uint64_t file_bytes_ = 0;
  Status status_;
  std::array<std::byte, kSnapLen> scratch_;  // the writer's copy of a frame
  std::thread writer_;
};

}  // namespace ringstack::engine

#endif  // RINGSTACK_ENGINE_CONSOLE_CAPTURE_H_
