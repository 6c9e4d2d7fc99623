#include "protocols/ipv6/ipv6_reassembly.h"

#include <algorithm>

namespace ringstack::proto::ipv6 {

Ipv6Reassembler::Outcome Ipv6Reassembler::OnFragment(const Ipv6Repr& ip, const Fragment& frag, Bytes data,
                                                     Instant now) {
  const auto core = core_.OnFragment(Key{ip.src, ip.dst, frag.ident}, frag.offset, frag.more, data,
                                     First{ip, frag.next_header}, now);
  Outcome out;
  out.status = core.status;
  out.drop = core.drop;
  if (core.status == Status::kComplete) {
    out.header = core.first.header;
    out.next_header = core.first.next_header;
    out.payload = core.payload;
  }
  return out;
}

void Ipv6Reassembler::OnTimer(Instant now, absl::FunctionRef<void(const Expired&)> expired) {
  core_.OnTimer(now, [&](const FragmentReassembler<Key, First>::Expired& e) {
    Expired x;
    x.src = e.key.src;
    x.dst = e.key.dst;
    x.ident = e.key.ident;
    x.had_first_fragment = e.had_first;
    if (e.had_first) {
      // Rebuild fragment zero: its header (Next Header: Fragment), the
      // Fragment header (offset 0, M set) and the first data bytes.
      x.first_header = e.first.header;
      Ipv6Repr h = e.first.header;
      h.next_header = kFragment;
      h.Emit(std::span(x.invoking).first(kHeaderLen));
      std::byte* f = x.invoking.data() + kHeaderLen;
      Store8(f, e.first.next_header);
      Store8(f + 1, 0);
      StoreBe16(f + 2, 1);  // offset 0, M
      StoreBe32(f + 4, e.key.ident);
      std::copy_n(e.head.begin(), e.head_len, x.invoking.begin() + kHeaderLen + 8);
      x.invoking_len = kHeaderLen + 8 + e.head_len;
    }
    expired(x);
  });
}

}  // namespace ringstack::proto::ipv6
