// TxStage: drains every worker's outgoing SPSC ring and writes the frames to
// the link, a batch per wake-up. With a multi-queue TAP each ring has its
// queue (worker k's: queue k mod queues): the kernel sends a flow's packets
// back to the queue it last saw the flow written on (tun's flow steering),
// so each worker's flows arrive on their own queue and RX thread. A busy link (EAGAIN) keeps the frame and
// waits for the fd to become writable; a refused frame is dropped and counted.
#ifndef RINGSTACK_ENGINE_TX_STAGE_H_
#define RINGSTACK_ENGINE_TX_STAGE_H_

#include <atomic>
#include <cstdint>
#include <vector>

#include "engine/counters.h"
#include "engine/link/link.h"
#include "engine/stage.h"
#include "rings/packet_pool.h"
#include "rings/spsc_ring.h"

namespace ringstack::engine {

class TxStage final : public Stage {
 public:
  // links[k]: where ring k's frames go (one link for all, or a queue each).
  // outstanding[k] (may be null): frames of ring k pushed and not yet
  // written or dropped, which the stage counts down (--tx-inline: the
  // worker writes itself only when its count is 0, so order is kept).
  TxStage(std::vector<Link*> links, std::vector<rings::SpscRing<rings::Packet>*> rings, CounterSet& counters,
          std::vector<std::atomic<std::uint32_t>*> outstanding = {});
  std::string_view name() const override { return "tx"; }
  std::size_t Poll(std::size_t budget) override;
  int WaitFd() const override { return pending_count_ != 0 ? links_[pending_ring_]->tx_fd() : -1; }
  short WaitEvents() const override;

 private:
  // True when the frame was written or dropped; false when the link is busy.
  bool Write(Link& link, rings::Packet& frame);

  std::vector<Link*> links_;
  std::vector<std::atomic<std::uint32_t>*> outstanding_;
  void Done(std::size_t ring) {
    if (outstanding_[ring] != nullptr) outstanding_[ring]->fetch_sub(1, std::memory_order_release);
  }
  std::vector<rings::SpscRing<rings::Packet>*> rings_;
  static constexpr std::size_t kBatch = 32;
  // Frames popped but not yet written because the link said busy (EAGAIN);
  // they go first, in order, on the next Poll.
  rings::Packet pending_[kBatch];
  std::size_t pending_first_ = 0;
  std::size_t pending_count_ = 0;
  std::size_t pending_ring_ = 0;  // the ring (and so the link) they came from
  std::size_t next_ring_ = 0;
  Counter& tx_frames_;
  Counter& tx_bytes_;
  Counter& tx_busy_;
  Counter& tx_drop_error_;
};

}  // namespace ringstack::engine

#endif  // RINGSTACK_ENGINE_TX_STAGE_H_
