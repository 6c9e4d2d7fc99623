// libFuzzer target: the virtio-net header a TAP with offload puts before each
// frame (engine/link/vnet_hdr.h). The input is a 10-byte header and a frame:
// what the header says is taken or refused, never read past the frame; the
// header we would write back for it names only bytes inside the frame; and
// the software GSO (the simulated wire's) cuts any frame, whatever its
// offsets, into frames no larger than the input's headers plus a segment.
#include <algorithm>

#include "engine/link/vnet_hdr.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace vnet = ringstack::engine::vnet;
  if (size < vnet::kHeaderLen) return 0;
  const auto bytes = AsBytes(data, size);
  const vnet::Header h = vnet::Header::Parse(bytes.first<vnet::kHeaderLen>());
  const auto frame = bytes.subspan(vnet::kHeaderLen);
  ringstack::rings::PacketOffload o;
  const vnet::RxVerdict v = vnet::ToOffload(h, frame, o);
  if (v == vnet::RxVerdict::kOk && (h.flags & vnet::kFlagNeedsCsum) != 0) {
    RS_FUZZ_CHECK(std::size_t{h.csum_start} + h.csum_offset + 2 <= frame.size());
  }
  // As if we were to send it with the header's offsets.
  ringstack::rings::PacketOffload tx;
  tx.gso_size = h.gso_size;
  tx.csum_start = h.csum_start;
  tx.csum_offset = h.csum_offset;
  const vnet::Header back = vnet::FromOffload(frame, tx);
  if (back.gso_type != vnet::kGsoNone) RS_FUZZ_CHECK(back.hdr_len <= std::max<std::size_t>(frame.size(), tx.csum_start));
  for (const auto& f : vnet::Segment(frame, tx)) {
    RS_FUZZ_CHECK(f.size() <= frame.size());
  }
  return 0;
}
