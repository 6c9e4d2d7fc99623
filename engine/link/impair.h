// Link impairments for tests and experiments: seeded loss, duplication,
// reordering, corruption, delay and ECN congestion marks, the same way for
// the same seed.
//
// ImpairConfig parses the --impair spec; Impairer makes the per-frame
// decisions (pure, deterministic); ImpairedLink applies them to the frames a
// wrapped Link receives, holding delayed frames in pool buffers. SimLink uses
// the same Impairer per direction.
#ifndef RINGSTACK_ENGINE_LINK_IMPAIR_H_
#define RINGSTACK_ENGINE_LINK_IMPAIR_H_

#include <cstdint>
#include <deque>
#include <vector>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/clock.h"
#include "engine/counters.h"
#include "engine/link/link.h"

namespace ringstack::engine {

struct ImpairConfig {
  double loss = 0;     // probability a frame is dropped
  double dup = 0;      // probability a frame is delivered twice
  double reorder = 0;  // probability a frame is held back by `reorder_delay`
  double corrupt = 0;  // probability one byte of the frame is flipped
  Duration delay;      // added to every frame
  Duration reorder_delay = Duration::Millis(2);
  int burst = 1;       // a loss drops this many frames in a row (the average loss rate stays `loss`)
  // Probability that an ECN-capable IP packet (ECT(0) or ECT(1)) is marked
  // CE (RFC 3168 5), as a congested AQM router would; `ce_dir` says which
  // frames: those the engine receives (rx), sends (tx) or both.
  double ce = 0;
  enum class CeDir { kRx, kTx, kBoth };
  CeDir ce_dir = CeDir::kRx;
  // The simulated link only (SimLink): a bottleneck of `rate` bits per
  // second with a drop-tail queue of `queue` bytes (0: unbounded).
  std::uint64_t rate = 0;
  std::uint64_t queue = 0;
  std::uint64_t seed = 1;

  // "loss=0.05,dup=0.01,reorder=0.05,corrupt=0.001,delay=5ms,burst=3,
  // ce=0.02,ce_dir=tx,seed=7" (and for SimLink "rate=100mbit,queue=256K");
  // an empty spec is no impairment. Errors name the bad key or value.
  static absl::StatusOr<ImpairConfig> Parse(absl::string_view spec);
  bool enabled() const {
    return loss > 0 || dup > 0 || reorder > 0 || corrupt > 0 || ce > 0 || delay > Duration();
  }
  bool ce_rx() const { return ce > 0 && ce_dir != CeDir::kTx; }
  bool ce_tx() const { return ce > 0 && ce_dir != CeDir::kRx; }
  std::string ToString() const;
};

// RFC 3168 5 in an Ethernet frame: the IPv4 or IPv6 packet it carries is
// ECN-capable (ECT(0) or ECT(1)); MarkCe sets its ECN field to CE (the
// IPv4 header checksum updated) and says whether it did.
bool IsEct(std::span<const std::byte> frame);
bool MarkCe(std::span<std::byte> frame);

class Impairer {
 public:
  struct Decision {
    bool drop = false;
    bool duplicate = false;
    bool reorder = false;  // held back by reorder_delay (included in delay)
    bool corrupt = false;
    bool ce = false;  // mark CE if the frame is ECN-capable
    std::size_t corrupt_offset = 0;
    std::uint8_t corrupt_mask = 0;
    Duration delay;
  };
  explicit Impairer(const ImpairConfig& config) : config_(config), state_(config.seed) {}
  Decision Next(std::size_t frame_len);

  std::uint64_t dropped() const { return dropped_; }
  std::uint64_t duplicated() const { return duplicated_; }
  std::uint64_t reordered() const { return reordered_; }
  std::uint64_t corrupted() const { return corrupted_; }

 private:
  std::uint64_t NextU64();  // splitmix64: portable, unlike std distributions
  double NextUnit() { return static_cast<double>(NextU64() >> 11) * 0x1.0p-53; }

  ImpairConfig config_;
  std::uint64_t state_;
  std::uint64_t dropped_ = 0, duplicated_ = 0, reordered_ = 0, corrupted_ = 0;
  int burst_left_ = 0;
};

// Applies impairments to frames received from `inner`, and (with its own
// seeded stream) to frames sent: loss, duplication and reordering — a sent
// frame picked for reordering is held and goes out after the next one (or
// after `reorder_delay`, checked when the next frame is sent). Received held
// frames wait in pool buffers (at most kMaxHeld; past that a frame is passed
// on undelayed). Corruption and delay apply to received frames only; CE
// marks to either or both, as `ce_dir` says.
class ImpairedLink final : public Link {
 public:
  // Counts what it does under impair_dropped/_duplicated/_reordered/
  // _corrupted/_ce_marked (and impair_tx_* for sent frames).
  ImpairedLink(std::unique_ptr<Link> inner, const ImpairConfig& config, rings::PacketPool& pool,
               const Clock& clock, CounterSet& counters);
  bool Receive(rings::Packet& into, bool& oversize) override;
  // The TX stage's thread only.
  SendResult Send(const rings::Packet& frame) override;
  int rx_fd() const override { return inner_->rx_fd(); }
  int tx_fd() const override { return inner_->tx_fd(); }
  bool rx_needs_large() const override { return inner_->rx_needs_large(); }
  bool offload() const override { return inner_->offload(); }
  void SetRxDoorbell(Doorbell* d) override { inner_->SetRxDoorbell(d); }
  Instant NextDeadline() const override;
  // Counted under impair_dropped_at_stop.
  void DropHeld() override;
  std::string Describe() const override;
  std::string failure() const override { return inner_->failure(); }
  const Impairer& impairer() const { return impairer_; }

 private:
  static constexpr std::size_t kMaxHeld = 256;
  struct Held {
    Instant due;
    rings::Packet frame;
  };
  bool TakeDue(rings::Packet& into);
  void Hold(Instant due, rings::Packet frame);

  std::unique_ptr<Link> inner_;
  Impairer impairer_;
  rings::PacketPool& pool_;
  const Clock& clock_;
  std::deque<Held> held_;  // sorted by due
  Counter& dropped_;
  Counter& duplicated_;
  Counter& reordered_;
  Counter& corrupted_;
  Counter& dropped_at_stop_;
  Impairer tx_impairer_;
  // A sent frame being reordered: its bytes (not a pool buffer, so a frame
  // held when the engine stops leaves the pool whole).
  std::vector<std::byte> tx_held_;
  rings::PacketOffload tx_held_offload_;
  bool tx_holding_ = false;
  Counter& tx_dropped_;
  Counter& tx_duplicated_;
  Counter& tx_reordered_;
  Counter& ce_marked_;
  Counter& tx_ce_marked_;
  const bool ce_rx_, ce_tx_;
};

}  // namespace ringstack::engine

#endif  // RINGSTACK_ENGINE_LINK_IMPAIR_H_
