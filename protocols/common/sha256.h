// SHA-256 (FIPS 180-4), for RFC 7217 stable-privacy interface identifiers.
// Pure, allocation-free, not for bulk data.
#ifndef RINGSTACK_PROTOCOLS_COMMON_SHA256_H_
#define RINGSTACK_PROTOCOLS_COMMON_SHA256_H_

#include <array>
#include <cstddef>
#include <cstdint>

#include "protocols/common/bytes.h"

namespace ringstack::proto {

class Sha256 {
 public:
  Sha256();
  void Update(Bytes data);
  std::array<std::byte, 32> Finish();

 private:
  void Block(const std::byte* p);
  std::array<std::uint32_t, 8> h_;
  std::array<std::byte, 64> buf_{};
  std::size_t buf_len_ = 0;
  std::uint64_t total_ = 0;
};

}  // namespace ringstack::proto

#endif  // RINGSTACK_PROTOCOLS_COMMON_SHA256_H_
