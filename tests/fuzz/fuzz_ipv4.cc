// libFuzzer target: Ipv4Repr::Parse; a parsed header re-emits (without
// options) to one that parses to the same addresses, protocol and length.
#include <vector>

#include "protocols/ipv4/ipv4_repr.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using ringstack::proto::ipv4::Ipv4Repr;
  const auto r = Ipv4Repr::Parse(AsBytes(data, size));
  if (!r) return 0;
  RS_FUZZ_CHECK(r->parsed_header_len + r->payload_len <= size);
  std::vector<std::byte> out(Ipv4Repr::header_len() + r->payload_len);
  r->Emit(out);
  const auto again = Ipv4Repr::Parse(out);
  RS_FUZZ_CHECK(again.ok());
  RS_FUZZ_CHECK(again->src == r->src && again->dst == r->dst && again->protocol == r->protocol);
  RS_FUZZ_CHECK(again->payload_len == r->payload_len && again->frag_offset == r->frag_offset);
  return 0;
}
