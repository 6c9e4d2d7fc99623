// SplitMix64: the protocols' jitter source (ACD probe spacing, DHCP
// retransmission, DAD and RS delays, MLD report delays). Seeded by the
// caller, so a test or a SimRunner run sees the same schedule every time;
// not for anything secret.
#ifndef RINGSTACK_PROTOCOLS_COMMON_RANDOM_H_
#define RINGSTACK_PROTOCOLS_COMMON_RANDOM_H_

#include <cstdint>

#include "protocols/common/time.h"

namespace ringstack::proto {

class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed) : state_(seed) {}

  std::uint64_t Next() {
    state_ += 0x9e3779b97f4a7c15ull;
    std::uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform in [lo, hi); lo when the range is empty.
  Duration Uniform(Duration lo, Duration hi) {
    const std::int64_t span = hi.nanos() - lo.nanos();
    if (span <= 0) return lo;
    return Duration::Nanos(lo.nanos() + static_cast<std::int64_t>(Next() % static_cast<std::uint64_t>(span)));
  }

 private:
  std::uint64_t state_;
};

}  // namespace ringstack::proto

#endif  // RINGSTACK_PROTOCOLS_COMMON_RANDOM_H_
