#include "protocols/ipv4/ipv4_reassembly.h"

#include <algorithm>

namespace ringstack::proto::ipv4 {

Ipv4Reassembler::Outcome Ipv4Reassembler::OnFragment(const Ipv4Repr& ip, Bytes payload, Instant now) {
  const Key key{ip.src.value(), ip.dst.value(), ip.ident, ip.protocol};
  const auto core = core_.OnFragment(key, ip.frag_offset, ip.mf, payload, ip, now);
  Outcome out;
  out.status = core.status;
  out.drop = core.drop;
  if (core.status == Status::kComplete) {
    out.header = core.first;  // fragment zero's, made whole
    out.header.mf = false;
    out.header.frag_offset = 0;
    out.header.payload_len = static_cast<std::uint16_t>(core.payload.size());
    out.payload = core.payload;
  }
  return out;
}

void Ipv4Reassembler::OnTimer(Instant now, absl::FunctionRef<void(const Expired&)> expired) {
  core_.OnTimer(now, [&](const FragmentReassembler<Key, Ipv4Repr>::Expired& e) {
    Expired x{Ipv4Address(e.key.src), Ipv4Address(e.key.dst), e.key.protocol, e.key.ident, e.had_first};
    if (e.had_first) {
      x.first_header = e.first;
      x.first_bytes_len = std::min<std::size_t>(8, e.head_len);
      std::copy_n(e.head.begin(), x.first_bytes_len, x.first_bytes.begin());
    }
    expired(x);
  });
}

}  // namespace ringstack::proto::ipv4
