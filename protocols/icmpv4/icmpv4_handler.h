// ICMPv4 receive decisions. Pure: a parsed message in, what to send out.
#ifndef RINGSTACK_PROTOCOLS_ICMPV4_ICMPV4_HANDLER_H_
#define RINGSTACK_PROTOCOLS_ICMPV4_ICMPV4_HANDLER_H_

#include <optional>

#include "protocols/icmpv4/icmpv4_repr.h"

namespace ringstack::proto::icmpv4 {

// RFC 792 / RFC 1122 3.2.2.6: an Echo Request gets an Echo Reply with the same
// identifier, sequence number and data. Requests sent to a broadcast or
// multicast address are not answered (RFC 1122 allows either; Linux's
// default, icmp_echo_ignore_broadcasts=1, is to stay silent).
std::optional<Icmpv4Repr> EchoReplyFor(const Icmpv4Repr& in, bool to_group_address);

}  // namespace ringstack::proto::icmpv4

#endif  // RINGSTACK_PROTOCOLS_ICMPV4_ICMPV4_HANDLER_H_
