// A secret from the system's entropy source (std::random_device), for the
// keyed hashes the engine keeps: ISN offsets (RFC 6528), SYN cookies, TCP
// Fast Open cookies, the challenge-ACK limiter's seed. Drawn at start,
// never on the data path.
#ifndef RINGSTACK_ENGINE_RANDOM_SECRET_H_
#define RINGSTACK_ENGINE_RANDOM_SECRET_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <random>

namespace ringstack::engine {

inline std::array<std::byte, 16> RandomSecret() {
  std::random_device rd;
  std::array<std::byte, 16> secret;
  for (std::size_t i = 0; i < secret.size(); i += 4) {
    const std::uint32_t r = rd();
    std::memcpy(secret.data() + i, &r, 4);
  }
  return secret;
}

}  // namespace ringstack::engine

#endif  // RINGSTACK_ENGINE_RANDOM_SECRET_H_
