// libFuzzer target: TcpRepr::Parse (options included). The checksum is made
// right first, so the mutations reach the option walk and the sanity rules
// instead of stopping at the checksum; a parsed segment re-emits to one that
// parses to the same values (unknown options, and SACK blocks or an AccECN
// option that no longer fit in ringstack's layout, aside).
#include <cstring>
#include <vector>

#include "protocols/common/checksum.h"
#include "protocols/tcp/tcp_repr.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace proto = ringstack::proto;
  namespace tcp = ringstack::proto::tcp;
  const proto::Ipv4Address src(0xc0000201), dst(0xc0000202);
  std::vector<std::byte> seg(size);
  if (size != 0) std::memcpy(seg.data(), data, size);
  if (size >= tcp::kMinHeaderLen && (data[0] & 1) == 0) {  // half the inputs keep their checksum
    seg[16] = seg[17] = std::byte{0};
    proto::Checksum c;
    proto::AddPseudoHeader(c, src, dst, 6, static_cast<std::uint32_t>(size));
    c.Add(seg);
    proto::StoreBe16(seg.data() + 16, c.Finish());
  }
  const auto r = tcp::TcpRepr::Parse(seg, src, dst);
  if (!r) return 0;
  RS_FUZZ_CHECK(r->payload.size() + tcp::kMinHeaderLen <= size);
  RS_FUZZ_CHECK(r->options.sack_count <= tcp::TcpOptions::kMaxSackBlocks);
  tcp::TcpRepr e = *r;
  const std::size_t header = e.header_len();
  RS_FUZZ_CHECK(header <= tcp::kMaxHeaderLen && header % 4 == 0);
  std::vector<std::byte> out(header + e.payload.size());
  if (!e.payload.empty()) std::memcpy(out.data() + header, e.payload.data(), e.payload.size());
  e.EmitHeader(out, src, dst);
  const auto again = tcp::TcpRepr::Parse(out, src, dst);
  RS_FUZZ_CHECK(again.ok());
  RS_FUZZ_CHECK(again->seq == r->seq && again->ack == r->ack && again->flags == r->flags);
  RS_FUZZ_CHECK(again->window == r->window && again->payload.size() == r->payload.size());
  RS_FUZZ_CHECK(again->ae == r->ae);
  RS_FUZZ_CHECK(!again->options.accecn || again->options.accecn == r->options.accecn);
  RS_FUZZ_CHECK(again->options.mss == r->options.mss && again->options.timestamps == r->options.timestamps);
  RS_FUZZ_CHECK(again->options.window_scale == r->options.window_scale);
  RS_FUZZ_CHECK(again->options.sack_permitted == r->options.sack_permitted);
  RS_FUZZ_CHECK(again->options.sack_count <= r->options.sack_count);
  for (std::size_t k = 0; k < again->options.sack_count; ++k) RS_FUZZ_CHECK(again->options.sack[k] == r->options.sack[k]);
  return 0;
}
