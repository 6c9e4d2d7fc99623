// The Internet checksum (RFC 1071), its incremental update (RFC 1624) and the
// IPv4/IPv6 pseudo-headers that TCP, UDP and ICMPv6 sum over. Pure; never
// allocates.
#ifndef RINGSTACK_PROTOCOLS_COMMON_CHECKSUM_H_
#define RINGSTACK_PROTOCOLS_COMMON_CHECKSUM_H_

#include <cstdint>

#include "protocols/common/address.h"
#include "protocols/common/bytes.h"

namespace ringstack::proto {

// Accumulates the one's-complement sum of 16-bit big-endian words. Spans of odd
// length are padded with a zero byte, as RFC 1071 says, so an odd-length span
// must be the last one added.
class Checksum {
 public:
  void Add(Bytes bytes);
  void AddU16(std::uint16_t v) { sum_ += v; }
  void AddU32(std::uint32_t v) { sum_ += (v >> 16) + (v & 0xffff); }
  // The folded sum (not complemented). A packet whose checksum field is right
  // sums to 0xffff over its covered bytes.
  std::uint16_t Folded() const;
  // The value to store in a checksum field: ~Folded(), big-endian order.
  std::uint16_t Finish() const { return static_cast<std::uint16_t>(~Folded()); }

 private:
  std::uint64_t sum_ = 0;
};

// Every build verifies checksums, always, except a libFuzzer target of a
// build configured with -Dfuzz_checksums=false (scripts/fuzz): there the
// target turns verification off as it starts (tests/fuzz/fuzz_common.h), so
// random inputs get past it to the code behind, while the test binaries of
// the same build still verify (scripts/test runs them under ASan + UBSan).
#ifdef RINGSTACK_FUZZ_CHECKSUM_SWITCH
inline bool fuzz_accept_any_checksum = false;
inline bool Verifies(const Checksum& c) { return fuzz_accept_any_checksum || c.Folded() == 0xffff; }
#else
// True when a sum over bytes with their checksum field verifies.
inline bool Verifies(const Checksum& c) { return c.Folded() == 0xffff; }
#endif

// Checksum of one span (the field inside must be zero when computing).
std::uint16_t InternetChecksum(Bytes bytes);
// True when bytes (with their checksum field) verify.
inline bool ChecksumOk(Bytes bytes) {
  Checksum c;
  c.Add(bytes);
  return Verifies(c);
}

// RFC 1624 eqn. 3: new checksum after one 16-bit word changed old -> new.
std::uint16_t ChecksumAdjust(std::uint16_t checksum, std::uint16_t old_word, std::uint16_t new_word);

// RFC 768 / RFC 9293 pseudo-header for IPv4; RFC 8200 8.1 for IPv6.
void AddPseudoHeader(Checksum& c, Ipv4Address src, Ipv4Address dst, std::uint8_t protocol,
                     std::uint32_t length);
void AddPseudoHeader(Checksum& c, const Ipv6Address& src, const Ipv6Address& dst,
                     std::uint8_t next_header, std::uint32_t length);

}  // namespace ringstack::proto

#endif  // RINGSTACK_PROTOCOLS_COMMON_CHECKSUM_H_
