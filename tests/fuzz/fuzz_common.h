// Shared pieces of the fuzz targets: each target checks more than "no crash"
// (a parsed value re-emits to bytes that parse to the same value).
#ifndef RINGSTACK_TESTS_FUZZ_FUZZ_COMMON_H_
#define RINGSTACK_TESTS_FUZZ_FUZZ_COMMON_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

#include "protocols/common/checksum.h"

#ifdef RINGSTACK_FUZZ_CHECKSUM_SWITCH
// A libFuzzer build with -Dfuzz_checksums=false: the target accepts any
// checksum (set before LLVMFuzzerTestOneInput's first call).
[[maybe_unused]] static const bool kFuzzAcceptsAnyChecksum = (ringstack::proto::fuzz_accept_any_checksum = true);
#endif

#define RS_FUZZ_CHECK(cond)                                                  \
  do {                                                                       \
    if (!(cond)) {                                                           \
      std::fprintf(stderr, "fuzz check failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                          \
    }                                                                        \
  } while (0)

inline std::span<const std::byte> AsBytes(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const std::byte*>(data), size};
}

#endif  // RINGSTACK_TESTS_FUZZ_FUZZ_COMMON_H_
