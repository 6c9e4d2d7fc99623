// Cache-line size used to keep indices written by different threads apart.
#ifndef RINGSTACK_RINGS_CACHE_LINE_H_
#define RINGSTACK_RINGS_CACHE_LINE_H_

#include <cstddef>

namespace ringstack::rings {

// 64 bytes on every x86-64 and most arm64 parts; fixed here rather than taken
// from std::hardware_destructive_interference_size, which varies by flags.
inline constexpr std::size_t kCacheLine = 64;

}  // namespace ringstack::rings

#endif  // RINGSTACK_RINGS_CACHE_LINE_H_
