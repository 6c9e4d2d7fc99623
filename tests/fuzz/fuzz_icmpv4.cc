// libFuzzer target: Icmpv4Repr::Parse, and the echo reply it would produce
// verifies.
#include <cstring>
#include <vector>

#include "protocols/common/checksum.h"
#include "protocols/icmpv4/icmpv4_handler.h"
#include "protocols/icmpv4/icmpv4_repr.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace icmpv4 = ringstack::proto::icmpv4;
  const auto r = icmpv4::Icmpv4Repr::Parse(AsBytes(data, size));
  if (!r) return 0;
  RS_FUZZ_CHECK(r->data.size() + icmpv4::kHeaderLen == size);
  const auto reply = icmpv4::EchoReplyFor(*r, false);
  if (!reply) return 0;
  std::vector<std::byte> msg(size);
  std::memcpy(msg.data(), data, size);
  reply->EmitHeader(msg);
  RS_FUZZ_CHECK(ringstack::proto::ChecksumOk(msg));
  const auto again = icmpv4::Icmpv4Repr::Parse(msg);
  RS_FUZZ_CHECK(again.ok() && again->type == icmpv4::kTypeEchoReply && again->seq == r->seq);
  return 0;
}
