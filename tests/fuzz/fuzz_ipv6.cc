// libFuzzer target: the IPv6 receive parsers — header, extension-header walk,
// ICMPv6, and the ND and MLD bodies (fed the raw input too, since a random
// ICMPv6 checksum rarely verifies).
#include <vector>

#include "protocols/icmpv6/icmpv6_repr.h"
#include "protocols/icmpv6/mld/mld_repr.h"
#include "protocols/icmpv6/nd/nd_repr.h"
#include "protocols/ipv6/ipv6_ext.h"
#include "protocols/ipv6/ipv6_repr.h"
#include "tests/fuzz/fuzz_common.h"

namespace {

namespace proto = ringstack::proto;

void Bodies(proto::Bytes b) {
  (void)proto::nd::RouterSolicitation::Parse(b);
  (void)proto::nd::RouterAdvertisement::Parse(b);
  (void)proto::nd::Redirect::Parse(b);
  if (auto ns = proto::nd::NeighborSolicitation::Parse(b)) {
    std::vector<std::byte> out(ns->body_len());
    ns->Emit(out);
    const auto again = proto::nd::NeighborSolicitation::Parse(out);
    RS_FUZZ_CHECK(again.ok() && again->target == ns->target && again->options == ns->options);
  }
  if (auto na = proto::nd::NeighborAdvertisement::Parse(b)) {
    std::vector<std::byte> out(na->body_len());
    na->Emit(out);
    const auto again = proto::nd::NeighborAdvertisement::Parse(out);
    RS_FUZZ_CHECK(again.ok() && again->options == na->options && again->solicited == na->solicited);
  }
  if (auto q = proto::mld::ParseQuery(b)) RS_FUZZ_CHECK(q->general() || q->group.IsMulticast());
  proto::mld::Record records[4];
  if (auto n = proto::mld::ParseReportRecords(b, records)) RS_FUZZ_CHECK(*n <= 4);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto in = AsBytes(data, size);
  Bodies(in);
  const auto ip = proto::ipv6::Ipv6Repr::Parse(in);
  if (!ip) return 0;
  const auto payload = in.subspan(proto::ipv6::kHeaderLen, ip->payload_len);
  const auto ext = proto::ipv6::WalkExtensionHeaders(ip->next_header, payload, ip->dst.IsMulticast());
  using Kind = proto::ipv6::ExtOutcome::Kind;
  if (ext.kind == Kind::kParamProblem) RS_FUZZ_CHECK(ext.pointer < proto::ipv6::kHeaderLen + payload.size());
  if (ext.kind == Kind::kFragment) RS_FUZZ_CHECK(ext.fragment.data_at <= payload.size());
  if (ext.kind != Kind::kUpper) return 0;
  RS_FUZZ_CHECK(ext.offset <= payload.size());
  if (ext.protocol != proto::ipv6::kIcmpv6) return 0;
  const auto m = proto::icmpv6::Icmpv6Repr::Parse(payload.subspan(ext.offset), ip->src, ip->dst);
  if (m) Bodies(m->body);
  return 0;
}
