#include "protocols/common/checksum.h"

namespace ringstack::proto {

void Checksum::Add(Bytes bytes) {
  const std::byte* p = bytes.data();
  std::size_t n = bytes.size();
  std::uint64_t sum = sum_;
  // Four words per step; the 64-bit accumulator cannot overflow for any
  // packet size this stack handles.
  while (n >= 8) {
    sum += LoadBe32(p);
    sum += LoadBe32(p + 4);
    p += 8;
    n -= 8;
  }
  while (n >= 2) {
    sum += LoadBe16(p);
    p += 2;
    n -= 2;
  }
  if (n == 1) sum += static_cast<std::uint64_t>(p[0]) << 8;
  sum_ = sum;
}

std::uint16_t Checksum::Folded() const {
  std::uint64_t s = sum_;
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return static_cast<std::uint16_t>(s);
}

std::uint16_t InternetChecksum(Bytes bytes) {
  Checksum c;
  c.Add(bytes);
  return c.Finish();
}

std::uint16_t ChecksumAdjust(std::uint16_t checksum, std::uint16_t old_word, std::uint16_t new_word) {
  // HC' = ~(~HC + ~m + m')
  std::uint32_t sum = static_cast<std::uint16_t>(~checksum);
  sum += static_cast<std::uint16_t>(~old_word);
  sum += new_word;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum);
}

void AddPseudoHeader(Checksum& c, Ipv4Address src, Ipv4Address dst, std::uint8_t protocol,
                     std::uint32_t length) {
  c.AddU32(src.value());
  c.AddU32(dst.value());
  c.AddU16(protocol);
  c.AddU16(static_cast<std::uint16_t>(length));
}

void AddPseudoHeader(Checksum& c, const Ipv6Address& src, const Ipv6Address& dst,
                     std::uint8_t next_header, std::uint32_t length) {
  c.Add(src.bytes());
  c.Add(dst.bytes());
  c.AddU32(length);
  c.AddU32(next_header);
}

}  // namespace ringstack::proto
