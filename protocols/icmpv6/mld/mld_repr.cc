#include "protocols/icmpv6/mld/mld_repr.h"

namespace ringstack::proto::mld {

Parsed<Query> ParseQuery(Bytes body) {
  if (body.size() < 20) return ParseError::kTruncated;
  Query q;
  const std::uint16_t code = LoadBe16(body.data());
  q.group = Ipv6Address::FromBytes(body.data() + 4);
  if (!q.group.IsUnspecified() && !q.group.IsMulticast()) return ParseError::kBadOption;
  if (body.size() == 20) {  // MLDv1: Maximum Response Delay in ms
    q.max_response_ms = code;
    return q;
  }
  if (body.size() < 24) return ParseError::kBadTotalLength;
  q.v2 = true;
  // RFC 3810 5.1.3: codes from 32768 up are floating point.
  if (code < 32768) {
    q.max_response_ms = code;
  } else {
    const std::uint32_t mant = code & 0xfff;
    const std::uint32_t exp = (code >> 12) & 0x7;
    q.max_response_ms = (mant | 0x1000) << (exp + 3);
  }
  q.suppress = (Load8(body.data() + 20) & 0x08) != 0;
  q.qrv = Load8(body.data() + 20) & 0x07;
  q.sources = LoadBe16(body.data() + 22);
  if (24 + 16 * std::size_t{q.sources} > body.size()) return ParseError::kBadTotalLength;
  return q;
}

void EmitReport(std::span<const Record> records, MutableBytes body) {
  std::byte* p = body.data();
  StoreBe16(p, 0);
  StoreBe16(p + 2, static_cast<std::uint16_t>(records.size()));
  p += 4;
  for (const Record& r : records) {
    Store8(p, static_cast<std::uint8_t>(r.type));
    Store8(p + 1, 0);
    StoreBe16(p + 2, 0);
    r.group.CopyTo(p + 4);
    p += 20;
  }
}

Parsed<std::size_t> ParseReportRecords(Bytes body, std::span<Record> out) {
  if (body.size() < 4) return ParseError::kTruncated;
  const std::size_t n = LoadBe16(body.data() + 2);
  std::size_t at = 4;
  std::size_t kept = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (at + 20 > body.size()) return ParseError::kBadTotalLength;
    const std::size_t aux = Load8(body.data() + at + 1);
    const std::size_t sources = LoadBe16(body.data() + at + 2);
    const std::size_t len = 20 + 16 * sources + 4 * aux;
    if (at + len > body.size()) return ParseError::kBadTotalLength;
    if (kept < out.size()) {
      out[kept++] = Record{static_cast<RecordType>(Load8(body.data() + at)), Ipv6Address::FromBytes(body.data() + at + 4)};
    }
    at += len;
  }
  return kept;
}

}  // namespace ringstack::proto::mld
