// Big-endian loads and stores over byte spans. Callers check bounds first
// (a header view's Checked() constructor does); these never read past `p`+N.
#ifndef RINGSTACK_PROTOCOLS_COMMON_BYTES_H_
#define RINGSTACK_PROTOCOLS_COMMON_BYTES_H_

#include <cstddef>
#include <cstdint>
#include <span>

namespace ringstack::proto {

using Bytes = std::span<const std::byte>;
using MutableBytes = std::span<std::byte>;

inline std::uint8_t Load8(const std::byte* p) { return static_cast<std::uint8_t>(p[0]); }
inline std::uint16_t LoadBe16(const std::byte* p) {
  return static_cast<std::uint16_t>((static_cast<unsigned>(p[0]) << 8) | static_cast<unsigned>(p[1]));
}
inline std::uint32_t LoadBe32(const std::byte* p) {
  return (std::uint32_t{LoadBe16(p)} << 16) | LoadBe16(p + 2);
}
inline void Store8(std::byte* p, std::uint8_t v) { p[0] = std::byte{v}; }
inline void StoreBe16(std::byte* p, std::uint16_t v) {
  p[0] = static_cast<std::byte>(v >> 8);
  p[1] = static_cast<std::byte>(v);
}
inline void StoreBe32(std::byte* p, std::uint32_t v) {
  StoreBe16(p, static_cast<std::uint16_t>(v >> 16));
  StoreBe16(p + 2, static_cast<std::uint16_t>(v));
}

}  // namespace ringstack::proto

#endif  // RINGSTACK_PROTOCOLS_COMMON_BYTES_H_
