// libFuzzer target: Ipv4Reassembler and Ipv6Reassembler fed fragments described by the input
// (6 bytes each: ident, offset/8, length/8 with the MF bit, a data seed).
// Checks: memory never exceeds the bounds, a completed payload has the length
// its fragments promised, and after expiry nothing is held.
#include <vector>

#include "protocols/ipv4/ipv4_reassembly.h"
#include "protocols/ipv6/ipv6_reassembly.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace ipv4 = ringstack::proto::ipv4;
  using ringstack::proto::Duration;
  using ringstack::proto::Instant;
  ipv4::ReassemblyConfig cfg;
  cfg.max_total_bytes = 64 * 1024;
  cfg.max_bytes_per_source = 48 * 1024;
  ipv4::Ipv4Reassembler r(cfg);
  namespace ipv6 = ringstack::proto::ipv6;
  ipv6::Ipv6Reassembler r6(cfg);
  std::vector<std::byte> payload;
  Instant now = Instant::FromNanos(1);
  for (std::size_t i = 0; i + 6 <= size; i += 6) {
    ipv4::Ipv4Repr ip;
    ip.src = ringstack::proto::Ipv4Address(0xc0000200u | (data[i] & 3));
    ip.dst = ringstack::proto::Ipv4Address(0xc0000202u);
    ip.protocol = 1;
    ip.ident = data[i] >> 2;
    ip.frag_offset = static_cast<std::uint32_t>(((data[i + 1] << 8) | data[i + 2]) & 0x1fff) * 8;
    ip.mf = (data[i + 3] & 0x80) != 0;
    const std::size_t len = (data[i + 3] & 0x7f) * 8 + (ip.mf ? 0 : data[i + 4] % 8);
    payload.assign(len, std::byte{data[i + 5]});
    ip.payload_len = static_cast<std::uint16_t>(len);
    const auto out = r.OnFragment(ip, payload, now);
    ipv6::Ipv6Repr ip6;
    ip6.src = *ringstack::proto::Ipv6Address::Parse("2001:db8::1");
    ip6.dst = *ringstack::proto::Ipv6Address::Parse("2001:db8::2");
    ipv6::Fragment frag;
    frag.ident = ip.ident | (data[i] & 3u) << 16;
    frag.offset = static_cast<std::uint16_t>(ip.frag_offset & 0xfff8);
    frag.more = ip.mf;
    frag.next_header = ipv6::kIcmpv6;
    const auto out6 = r6.OnFragment(ip6, frag, payload, now);
    if (out6.status == ipv6::Ipv6Reassembler::Status::kComplete) {
      RS_FUZZ_CHECK(out6.next_header == ipv6::kIcmpv6 && out6.payload.size() >= len);
    }
    RS_FUZZ_CHECK(r.bytes_held() <= cfg.max_total_bytes);
    if (out.status == ipv4::Ipv4Reassembler::Status::kComplete) {
      RS_FUZZ_CHECK(out.payload.size() == out.header.payload_len);
      RS_FUZZ_CHECK(out.payload.size() >= len);
    }
    now = now + Duration::Millis(data[i + 4]);
  }
  r.OnTimer(now + Duration::Seconds(60), [](const ipv4::Ipv4Reassembler::Expired&) {});
  RS_FUZZ_CHECK(r.bytes_held() == 0 && r.datagrams() == 0);
  r6.OnTimer(now + Duration::Seconds(60), [](const ipv6::Ipv6Reassembler::Expired& e) {
    RS_FUZZ_CHECK(!e.had_first_fragment || e.invoking_len >= 48);
  });
  RS_FUZZ_CHECK(r6.datagrams() == 0);
  return 0;
}
