#include "engine/link/replay.h"

#include <cstring>

#include "engine/doorbell.h"

namespace ringstack::engine {

bool ReplayLink::Receive(rings::Packet& into, bool& oversize) {
  const std::vector<std::byte>* src = nullptr;
  if (next_prime_ < prime_.size()) {
    src = &prime_[next_prime_++];
  } else if (replayed_ < count_.load(std::memory_order_acquire)) {
    src = &frame_;
    ++replayed_;
  } else {
    return false;
  }
  auto room = into.ResetForReceive();
  const std::size_t n = std::min(room.size(), src->size());
  std::memcpy(room.data(), src->data(), n);
  into.SetSize(n);
  oversize = src->size() >= room.size();
  received_.fetch_add(1, std::memory_order_release);
  return true;
}

void ReplayLink::Extend(std::uint64_t more) {
  count_.fetch_add(more, std::memory_order_acq_rel);
  if (Doorbell* d = doorbell_.load(std::memory_order_acquire)) d->Ring();
}

SendResult ReplayLink::Send(const rings::Packet& /*frame*/) {
  sent_.fetch_add(1, std::memory_order_release);
  return SendResult::kSent;
}

}  // namespace ringstack::engine
