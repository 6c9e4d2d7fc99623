#include "protocols/icmpv4/icmpv4_handler.h"

namespace ringstack::proto::icmpv4 {

std::optional<Icmpv4Repr> EchoReplyFor(const Icmpv4Repr& in, bool to_group_address) {
  if (in.type != kTypeEchoRequest || to_group_address) return std::nullopt;
  Icmpv4Repr reply = in;
  reply.type = kTypeEchoReply;
  reply.code = 0;
  return reply;
}

}  // namespace ringstack::proto::icmpv4
