#include "engine/tx_stage.h"

#include <poll.h>

namespace ringstack::engine {

TxStage::TxStage(std::vector<Link*> links, std::vector<rings::SpscRing<rings::Packet>*> rings, CounterSet& counters,
                 std::vector<std::atomic<std::uint32_t>*> outstanding)
    : links_(std::move(links)),
      outstanding_(std::move(outstanding)),
      rings_(std::move(rings)),
      tx_frames_(counters.Add("tx_frames")),
      tx_bytes_(counters.Add("tx_bytes")),
      tx_busy_(counters.Add("tx_link_busy")),
      tx_drop_error_(counters.Add("tx_drop_error")) {
  outstanding_.resize(rings_.size(), nullptr);
}

short TxStage::WaitEvents() const { return POLLOUT; }

bool TxStage::Write(Link& link, rings::Packet& frame) {
  switch (link.Send(frame)) {
    case SendResult::kSent:
      tx_frames_.Inc();
      tx_bytes_.Inc(frame.size());
      frame = rings::Packet();
      return true;
    case SendResult::kBusy:
      tx_busy_.Inc();
      return false;
    case SendResult::kError:
      tx_drop_error_.Inc();
      frame = rings::Packet();
      return true;
  }
  return true;
}

std::size_t TxStage::Poll(std::size_t budget) {
  std::size_t done = 0;
  while (pending_count_ != 0) {
    if (!Write(*links_[pending_ring_], pending_[pending_first_])) return done;
    Done(pending_ring_);
    ++pending_first_;
    --pending_count_;
    ++done;
  }
  pending_first_ = 0;
  // Round-robin over the worker rings so one busy shard cannot starve another.
  const std::size_t n_rings = rings_.size();
  std::size_t idle_rings = 0;
  while (done < budget && idle_rings < n_rings) {
    const std::size_t at = next_ring_;
    auto* ring = rings_[at];
    Link& link = *links_[at];
    next_ring_ = (next_ring_ + 1) % n_rings;
    const std::size_t want = std::min(kBatch, budget - done);
    const std::size_t n = ring->TryPopBurst(std::span(pending_, want));
    if (n == 0) {
      ++idle_rings;
      continue;
    }
    idle_rings = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (!Write(link, pending_[i])) {
        // Keep the rest, in order, for the next Poll.
        pending_first_ = i;
        pending_count_ = n - i;
        pending_ring_ = at;
        return done + i;
      }
      Done(at);
    }
    done += n;
  }
  return done;
}

}  // namespace ringstack::engine
