// libFuzzer target: EthernetRepr::Parse, and Emit/Parse round trip.
#include <vector>

#include "protocols/ethernet/ethernet_repr.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using ringstack::proto::ethernet::EthernetRepr;
  const auto r = EthernetRepr::Parse(AsBytes(data, size));
  if (!r) return 0;
  std::vector<std::byte> out(EthernetRepr::header_len());
  r->Emit(out);
  const auto again = EthernetRepr::Parse(out);
  RS_FUZZ_CHECK(again.ok() && *again == *r);
  return 0;
}
