#include "protocols/ipv6/ipv6_repr.h"

namespace ringstack::proto::ipv6 {

Parsed<Ipv6Repr> Ipv6Repr::Parse(Bytes p) {
  const auto h = Ipv6Header::Checked(p);
  if (!h) return ParseError::kTruncated;
  if (h->version() != 6) return ParseError::kBadVersion;
  if (kHeaderLen + h->payload_len() > p.size()) return ParseError::kBadTotalLength;
  Ipv6Repr r;
  r.traffic_class = h->traffic_class();
  r.flow_label = h->flow_label();
  r.payload_len = h->payload_len();
  r.next_header = h->next_header();
  r.hop_limit = h->hop_limit();
  r.src = h->src();
  r.dst = h->dst();
  if (r.src.IsMulticast()) return ParseError::kBadSourceAddress;
  return r;
}

void Ipv6Repr::Emit(MutableBytes out) const {
  auto h = Ipv6HeaderMut::Checked(out);
  if (!h) return;  // no room for the header: the caller's mistake, nothing written
  h->set_version_class_flow(traffic_class, flow_label);
  h->set_payload_len(payload_len);
  h->set_next_header(next_header);
  h->set_hop_limit(hop_limit);
  h->set_src(src);
  h->set_dst(dst);
}

}  // namespace ringstack::proto::ipv6
