// TxStage: drains every worker's outgoing SPSC ring and writes the frames to
// the link, a batch per wake-up. A busy link (EAGAIN) keeps the frame and
// waits for the fd to become writable; a refused frame is dropped and counted.
#ifndef RINGSTACK_ENGINE_TX_STAGE_H_
#define RINGSTACK_ENGINE_TX_STAGE_H_

#include <vector>

#include "engine/counters.h"
#include "engine/link/link.h"
#include "engine/stage.h"
#include "rings/packet_pool.h"
#include "rings/spsc_ring.h"

namespace ringstack::engine {

class TxStage final : public Stage {
 public:
  TxStage(Link& link, std::vector<rings::SpscRing<rings::Packet>*> rings, CounterSet& counters);
  std::string_view name() const override { return "tx"; }
  std::size_t Poll(std::size_t budget) override;
  int WaitFd() const override { return pending_count_ != 0 ? link_.tx_fd() : -1; }
  short WaitEvents() const override;

 private:
  // True when the frame was written or dropped; false when the link is busy.
  bool Write(rings::Packet& frame);

  Link& link_;
  std::vector<rings::SpscRing<rings::Packet>*> rings_;
  static constexpr std::size_t kBatch = 32;
  // Frames popped but not yet written because the link said busy (EAGAIN);
  // they go first, in order, on the next Poll.
  rings::Packet pending_[kBatch];
  std::size_t pending_first_ = 0;
  std::size_t pending_count_ = 0;
  std::size_t next_ring_ = 0;
  Counter& tx_frames_;
  Counter& tx_bytes_;
  Counter& tx_busy_;
  Counter& tx_error_drop_;
};

}  // namespace ringstack::engine

#endif  // RINGSTACK_ENGINE_TX_STAGE_H_
