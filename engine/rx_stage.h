// RxStage: reads frames from the link into pool buffers, a batch per wake-up,
// picks each frame's shard (steering.h) and pushes it on that shard's SPSC
// ring (frames a large buffer had to take, from a TAP with offload, move
// to a standard one when they fit). It never blocks: a full ring or an empty pool drops the frame and
// counts it (a frame is never lost uncounted).
#ifndef RINGSTACK_ENGINE_RX_STAGE_H_
#define RINGSTACK_ENGINE_RX_STAGE_H_

#include <string>
#include <vector>

#include "engine/counters.h"
#include "engine/link/link.h"
#include "engine/stage.h"
#include "rings/packet_pool.h"
#include "rings/spsc_ring.h"

namespace ringstack::engine {

struct ShardInbox {
  rings::SpscRing<rings::Packet>* ring;
  Doorbell* doorbell;
  Counter* drops;  // "rx_drop_ring<k>_full"
};

class RxStage final : public Stage {
 public:
  // `name`: "rx", or "rx1", "rx2", ... for the further queues of a
  // multi-queue TAP (--tap-queues).
  RxStage(Link& link, rings::PacketPool& pool, std::vector<ShardInbox> shards, CounterSet& counters,
          std::string name = "rx");
  std::string_view name() const override { return name_; }
  std::size_t Poll(std::size_t budget) override;
  Instant NextDeadline() const override { return link_.NextDeadline(); }
  // A failed link's fd would report ready forever: stop waiting on it.
  int WaitFd() const override { return link_failed_ ? -1 : link_.rx_fd(); }
  short WaitEvents() const override;

 private:
  std::string name_;
  Link& link_;
  rings::PacketPool& pool_;
  std::vector<ShardInbox> shards_;
  std::vector<bool> woken_;
  bool link_failed_ = false;
  // What Receive reads into; with a large class, frames up to copy_down_
  // bytes move to a standard buffer.
  rings::BufferClass read_class_ = rings::BufferClass::kStandard;
  std::size_t copy_down_ = 0;
  Counter& rx_frames_;
  Counter& rx_bytes_;
  Counter& rx_drop_no_buffer_;
  Counter& rx_drop_oversize_;
  Counter& rx_link_failed_;
};

}  // namespace ringstack::engine

#endif  // RINGSTACK_ENGINE_RX_STAGE_H_
