#include "engine/rx_stage.h"

#include <poll.h>

#include <cstring>

#include "engine/steering.h"

namespace ringstack::engine {

RxStage::RxStage(Link& link, rings::PacketPool& pool, std::vector<ShardInbox> shards, CounterSet& counters,
                 std::string name)
    : name_(std::move(name)),
      link_(link),
      pool_(pool),
      shards_(std::move(shards)),
      woken_(shards_.size(), false),
      rx_frames_(counters.Add("rx_frames")),
      rx_bytes_(counters.Add("rx_bytes")),
      rx_drop_no_buffer_(counters.Add("rx_drop_no_buffer")),
      rx_drop_oversize_(counters.Add("rx_drop_oversize")),
      rx_link_failed_(counters.Add("rx_link_failed")) {
  link_.SetRxDoorbell(&doorbell());
  if (link_.rx_needs_large()) {
    read_class_ = rings::BufferClass::kLarge;
    copy_down_ = pool_.data_size(rings::BufferClass::kStandard);
  }
}

short RxStage::WaitEvents() const { return POLLIN; }

std::size_t RxStage::Poll(std::size_t budget) {
  if (link_failed_) return 0;
  std::size_t done = 0;
  const int n_shards = static_cast<int>(shards_.size());
  rings::Packet p;
  bool oversize = false;
  const rings::BufferClass spare = read_class_ == rings::BufferClass::kLarge ? rings::BufferClass::kStandard
                                                                             : rings::BufferClass::kLarge;
  while (done < budget) {
    if (!p) p = pool_.Get(read_class_);
    if (!p) {
      // Out of buffers: drain one frame into a buffer of the other class if
      // there is one, or leave it queued in the kernel; either way count it.
      rings::Packet scratch = pool_.Get(spare);
      if (scratch && link_.Receive(scratch, oversize)) {
        rx_drop_no_buffer_.Inc();
        ++done;
        continue;
      }
      if (!scratch) rx_drop_no_buffer_.Inc();
      break;
    }
    if (!link_.Receive(p, oversize)) {
      if (!link_.failure().empty()) {
        link_failed_ = true;
        rx_link_failed_.Inc();
      }
      break;
    }
    ++done;
    rx_frames_.Inc();
    rx_bytes_.Inc(p.size());
    if (oversize) {
      rx_drop_oversize_.Inc();
      continue;  // `p` is reused for the next frame
    }
    const int k = ShardFor(p.data(), n_shards);
    ShardInbox& inbox = shards_[k];
    woken_[k] = true;  // full or not, make sure the shard is awake to drain it
    if (copy_down_ != 0 && p.size() <= copy_down_) {
      // Read into a large buffer (the link may hand over 64 KiB) but small:
      // a standard buffer carries it on and the large one takes the next
      // read, so large buffers stay free for the frames that need them.
      if (rings::Packet small = pool_.Get(); small) {
        std::memcpy(small.Append(p.size()).data(), p.data().data(), p.size());
        small.offload() = p.offload();
        if (!inbox.ring->TryPush(std::move(small))) inbox.drops->Inc();
        continue;  // `p` is reused
      }
    }
    if (!inbox.ring->TryPush(std::move(p))) {
      inbox.drops->Inc();
      continue;  // still ours: reused
    }
  }
  for (int k = 0; k < n_shards; ++k) {
    if (woken_[k]) {
      shards_[k].doorbell->Ring();
      woken_[k] = false;
    }
  }
  return done;
}

}  // namespace ringstack::engine
