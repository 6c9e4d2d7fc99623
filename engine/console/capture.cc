#include "engine/console/capture.h"

#include <time.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace ringstack::engine {
namespace {

// pcap global header (libpcap's savefile.c), host byte order: readers tell
// the order by the magic.
struct PcapHeader {
  std::uint32_t magic = 0xa1b2c3d4;  // microsecond timestamps
  std::uint16_t major = 2;
  std::uint16_t minor = 4;
  std::int32_t thiszone = 0;
  std::uint32_t sigfigs = 0;
  std::uint32_t snaplen = Capture::kSnapLen;
  std::uint32_t linktype = 1;  // LINKTYPE_ETHERNET
};
struct PcapRecordHeader {
  std::uint32_t sec;
  std::uint32_t usec;
  std::uint32_t caplen;
  std::uint32_t len;
};

// Copies `n` bytes out of the ring's readable region starting at `offset`.
void PeekExact(rings::ByteRing& ring, std::size_t offset, void* out, std::size_t n) {
  (void)ring.Peek(offset, std::span(static_cast<std::byte*>(out), n));
}

}  // namespace

std::int64_t Capture::Now() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

Capture::Capture(CounterSet& counters)
    : frames_(counters.Add("capture_frames")),
      rx_dropped_(counters.Add("capture_rx_dropped")),
      tx_dropped_(counters.Add("capture_tx_dropped")) {}

Capture::~Capture() { Stop(); }

void Capture::Copy(Direction d, std::span<const std::byte> frame, std::int64_t stamp) {
  std::lock_guard<std::mutex> lock(d == Direction::kRx ? rx_mu_ : tx_mu_);
  rings::ByteRing& ring = d == Direction::kRx ? rx_ring_ : tx_ring_;
  const std::size_t len = std::min<std::size_t>(frame.size(), kSnapLen);
  const Record r{stamp, generation_.load(std::memory_order_relaxed), static_cast<std::uint32_t>(len)};
  const std::size_t need = sizeof(Record) + len;
  rings::ByteRing::Spans spans = ring.WritableSpans();
  if (spans.size() < need) {
    (d == Direction::kRx ? rx_dropped_ : tx_dropped_).Inc();
    dropped_now_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  // Header then frame across the (at most two) free spans, published at once.
  const std::byte* parts[2] = {reinterpret_cast<const std::byte*>(&r), frame.data()};
  const std::size_t sizes[2] = {sizeof(Record), len};
  std::size_t span_i = 0, at = 0;
  std::span<std::byte> dst[2] = {spans.first, spans.second};
  for (int p = 0; p < 2; ++p) {
    std::size_t done = 0;
    while (done < sizes[p]) {
      if (at == dst[span_i].size()) {
        ++span_i;
        at = 0;
      }
      const std::size_t n = std::min(sizes[p] - done, dst[span_i].size() - at);
      std::memcpy(dst[span_i].data() + at, parts[p] + done, n);
      done += n;
      at += n;
    }
  }
  ring.CommitWrite(need);
}

absl::Status Capture::Start(const std::string& path, std::uint64_t max_bytes, int files) {
  std::unique_lock lock(mu_);
  if (file_ != nullptr || writer_.joinable()) {
    return absl::FailedPreconditionError(absl::StrCat("a capture to ", path_, " runs already; stop it first"));
  }
  path_ = path;
  max_bytes_ = max_bytes;
  files_ = std::max(files, 1);
  if (!OpenFile()) {
    return absl::InvalidArgumentError(absl::StrCat("cannot write ", path, ": ", std::strerror(errno)));
  }
  status_ = Status{};
  status_.active = true;
  status_.path = path;
  status_.bytes = file_bytes_;
  dropped_now_.store(0, std::memory_order_relaxed);
  stopping_ = false;
  generation_.fetch_add(1, std::memory_order_relaxed);
  active_.store(true, std::memory_order_release);
  writer_ = std::thread([this] { WriterLoop(); });
  return absl::OkStatus();
}

bool Capture::Stop() {
  std::unique_lock lock(mu_);
  if (!writer_.joinable()) return false;
  active_.store(false, std::memory_order_release);
  stopping_ = true;
  cv_.notify_all();
  lock.unlock();
  writer_.join();
  lock.lock();
  if (file_ != nullptr) std::fclose(file_);
  file_ = nullptr;
  status_.active = false;
  status_.dropped = dropped_now_.load(std::memory_order_relaxed);
  return true;
}

Capture::Status Capture::status() const {
  std::lock_guard lock(mu_);
  Status s = status_;
  s.dropped = dropped_now_.load(std::memory_order_relaxed);
  return s;
}

void Capture::WriterLoop() {
  std::unique_lock lock(mu_);
  for (;;) {
    const bool stopping = stopping_;
    lock.unlock();
    if (stopping) {
      // A producer that saw `active` just before it fell may still be
      // copying: give it a moment, then take everything.
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      while (Drain()) {
      }
      lock.lock();
      if (file_ != nullptr) std::fflush(file_);
      return;
    }
    const bool any = Drain();
    lock.lock();
    if (file_ != nullptr && !any) std::fflush(file_);
    if (!any) cv_.wait_for(lock, std::chrono::milliseconds(5));
  }
}

bool Capture::Drain() {
  bool any = false;
  const std::uint32_t generation = generation_.load(std::memory_order_relaxed);
  for (;;) {
    Record rx{}, tx{};
    const bool has_rx = rx_ring_.ReadableApprox() >= sizeof(Record);
    const bool has_tx = tx_ring_.ReadableApprox() >= sizeof(Record);
    if (has_rx) PeekExact(rx_ring_, 0, &rx, sizeof(rx));
    if (has_tx) PeekExact(tx_ring_, 0, &tx, sizeof(tx));
    if (!has_rx && !has_tx) return any;
    any = true;
    // The older of the two heads first, so the file is in time order.
    const bool take_rx = has_rx && (!has_tx || rx.ns <= tx.ns);
    rings::ByteRing& ring = take_rx ? rx_ring_ : tx_ring_;
    const Record& r = take_rx ? rx : tx;
    if (r.generation == generation) {
      std::lock_guard lock(mu_);
      WriteRecord(r, ring);
    }
    ring.CommitRead(sizeof(Record) + r.len);
  }
}

// mu_ held.
void Capture::WriteRecord(const Record& r, rings::ByteRing& ring) {
  if (file_ == nullptr) return;
  const std::size_t size = sizeof(PcapRecordHeader) + r.len;
  if (file_bytes_ + size > max_bytes_ && file_bytes_ > sizeof(PcapHeader)) Rotate();
  if (file_ == nullptr) return;
  PeekExact(ring, sizeof(Record), scratch_.data(), r.len);
  const PcapRecordHeader h{static_cast<std::uint32_t>(r.ns / 1'000'000'000),
                           static_cast<std::uint32_t>(r.ns % 1'000'000'000 / 1000), r.len, r.len};
  std::fwrite(&h, sizeof(h), 1, file_);
  std::fwrite(scratch_.data(), 1, r.len, file_);
  file_bytes_ += size;
  status_.bytes += size;
  ++status_.frames;
  frames_.Inc();
}

// mu_ held.
bool Capture::OpenFile() {
  file_ = std::fopen(path_.c_str(), "wb");
  if (file_ == nullptr) return false;
  const PcapHeader h;
  std::fwrite(&h, sizeof(h), 1, file_);
  file_bytes_ = sizeof(h);
  return true;
}

// mu_ held: FILE -> FILE.1 -> ... -> FILE.<files-1>, then a fresh FILE.
void Capture::Rotate() {
  std::fclose(file_);
  file_ = nullptr;
  for (int i = files_ - 1; i >= 1; --i) {
    const std::string from = i == 1 ? path_ : absl::StrCat(path_, ".", i - 1);
    (void)std::rename(from.c_str(), absl::StrCat(path_, ".", i).c_str());
  }
  ++status_.rotations;
  if (OpenFile()) status_.bytes += file_bytes_;
}

}  // namespace ringstack::engine
