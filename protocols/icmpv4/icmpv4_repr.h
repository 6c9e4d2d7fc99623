// Icmpv4Repr: a validated ICMPv4 message. Parse checks length (8-byte header)
// and the checksum over the whole message; echo request/reply are decoded to
// identifier/sequence, other types keep the raw second word. `data` is a view
// into the parsed bytes and lives only as long as they do.
// EmitHeader writes the 8-byte header in front of data that is already in
// place in the same buffer, and the checksum over both; never allocates.
#ifndef RINGSTACK_PROTOCOLS_ICMPV4_ICMPV4_REPR_H_
#define RINGSTACK_PROTOCOLS_ICMPV4_ICMPV4_REPR_H_

#include "protocols/common/parse_error.h"
#include "protocols/icmpv4/icmpv4_header.h"

namespace ringstack::proto::icmpv4 {

struct Icmpv4Repr {
  std::uint8_t type = kTypeEchoRequest;
  std::uint8_t code = 0;
  std::uint16_t ident = 0;  // echo only
  std::uint16_t seq = 0;    // echo only
  std::uint32_t rest = 0;   // second word, non-echo types
  Bytes data;

  static Parsed<Icmpv4Repr> Parse(Bytes message);
  bool is_echo() const { return type == kTypeEchoRequest || type == kTypeEchoReply; }
  static constexpr std::size_t header_len() { return kHeaderLen; }
  // message = [8-byte header][data.size() bytes already holding the data].
  // Writes the header and the checksum over the whole message.
  void EmitHeader(MutableBytes message) const;
};

}  // namespace ringstack::proto::icmpv4

#endif  // RINGSTACK_PROTOCOLS_ICMPV4_ICMPV4_REPR_H_
