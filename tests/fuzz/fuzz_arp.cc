// libFuzzer target: ArpRepr::Parse, Emit/Parse round trip, and the handler.
#include <vector>

#include "protocols/arp/arp_cache.h"
#include "protocols/arp/arp_handler.h"
#include "protocols/arp/arp_repr.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace arp = ringstack::proto::arp;
  using ringstack::proto::Instant;
  using ringstack::proto::Ipv4Interface;
  const auto r = arp::ArpRepr::Parse(AsBytes(data, size));
  if (!r) return 0;
  std::vector<std::byte> out(arp::kPacketLen);
  r->Emit(out);
  const auto again = arp::ArpRepr::Parse(out);
  RS_FUZZ_CHECK(again.ok() && *again == *r);
  const Ipv4Interface mine[] = {*Ipv4Interface::Parse("192.0.2.2/24")};
  const auto outcome = arp::ArpReceive(*r, *ringstack::proto::MacAddress::Parse("02:00:00:00:00:01"), mine);
  RS_FUZZ_CHECK(!outcome.reply || outcome.for_me);
  arp::ArpCache cache;
  cache.OnArp(*r, outcome.for_me, Instant::FromNanos(1));
  RS_FUZZ_CHECK(cache.size() <= 1);
  return 0;
}
