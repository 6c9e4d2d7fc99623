// libFuzzer target: UdpRepr::Parse over IPv4 and IPv6 pseudo-headers, and
// the Emit/Parse round trip (ports and payload kept).
#include <cstring>
#include <vector>

#include "protocols/udp/udp_repr.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace proto = ringstack::proto;
  using proto::udp::UdpRepr;
  const auto src4 = *proto::Ipv4Address::Parse("192.0.2.1"), dst4 = *proto::Ipv4Address::Parse("192.0.2.2");
  const auto src6 = *proto::Ipv6Address::Parse("2001:db8::1"), dst6 = *proto::Ipv6Address::Parse("2001:db8::2");
  const auto bytes = AsBytes(data, size);
  (void)UdpRepr::Parse(bytes, src6, dst6);
  const auto r = UdpRepr::Parse(bytes, src4, dst4);
  if (!r) return 0;
  std::vector<std::byte> out(8 + r->payload.size());
  std::memcpy(out.data() + 8, r->payload.data(), r->payload.size());
  r->EmitHeader(out, src4, dst4);
  const auto again = UdpRepr::Parse(out, src4, dst4);
  RS_FUZZ_CHECK(again.ok() && again->src_port == r->src_port && again->dst_port == r->dst_port &&
                again->payload.size() == r->payload.size() &&
                std::memcmp(again->payload.data(), r->payload.data(), r->payload.size()) == 0);
  return 0;
}
