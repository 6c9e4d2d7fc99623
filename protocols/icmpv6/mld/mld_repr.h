// Multicast Listener Discovery messages (RFC 3810 5; MLDv1 queries, RFC 2710,
// are understood too, as 5.1.1 asks of an MLDv2 host), as ICMPv6 bodies.
//
//   Query (130)  | Max Resp Code(2) | reserved(2) | Multicast Address(16) |
//                | S QRV | QQIC | Number of Sources(2) | sources...  (v2)
//   Report (143) | reserved(2) | Nr of Mcast Address Records(2) | records...
//   record       | type | aux len 0 | number of sources 0 | address(16)
#ifndef RINGSTACK_PROTOCOLS_ICMPV6_MLD_MLD_REPR_H_
#define RINGSTACK_PROTOCOLS_ICMPV6_MLD_MLD_REPR_H_

#include <cstdint>
#include <span>

#include "protocols/common/address.h"
#include "protocols/common/bytes.h"
#include "protocols/common/parse_error.h"

namespace ringstack::proto::mld {

struct Query {
  Ipv6Address group;  // :: for a general query
  std::uint32_t max_response_ms = 0;
  bool v2 = false;
  bool suppress = false;  // S flag
  std::uint8_t qrv = 0;
  std::uint16_t sources = 0;
  bool general() const { return group.IsUnspecified(); }
};
// `body` is the ICMPv6 body. kTruncated below the MLDv1 size (20 bytes of
// body), kBadTotalLength for a size that is neither v1 nor v2 or sources past
// the end, kBadOption when the group is not multicast (and not ::).
Parsed<Query> ParseQuery(Bytes body);

enum class RecordType : std::uint8_t {
  kModeIsInclude = 1,
  kModeIsExclude = 2,
  kChangeToInclude = 3,
  kChangeToExclude = 4,
};
struct Record {
  RecordType type = RecordType::kModeIsExclude;
  Ipv6Address group;
  bool operator==(const Record&) const = default;
};
inline std::size_t ReportBodyLen(std::size_t records) { return 4 + 20 * records; }
void EmitReport(std::span<const Record> records, MutableBytes body);
// For tests and the fuzz target: the records of a report (no sources).
Parsed<std::size_t> ParseReportRecords(Bytes body, std::span<Record> out);

}  // namespace ringstack::proto::mld

#endif  // RINGSTACK_PROTOCOLS_ICMPV6_MLD_MLD_REPR_H_
