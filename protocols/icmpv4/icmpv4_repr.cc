#include "protocols/icmpv4/icmpv4_repr.h"

#include "protocols/common/checksum.h"

namespace ringstack::proto::icmpv4 {

Parsed<Icmpv4Repr> Icmpv4Repr::Parse(Bytes message) {
  const auto h = Icmpv4Header::Checked(message);
  if (!h) return ParseError::kTruncated;
  if (!ChecksumOk(message)) return ParseError::kBadChecksum;
  Icmpv4Repr r;
  r.type = h->type();
  r.code = h->code();
  if (r.is_echo()) {
    r.ident = h->ident();
    r.seq = h->seq();
  } else {
    r.rest = h->rest();
  }
  r.data = h->data();
  return r;
}

void Icmpv4Repr::EmitHeader(MutableBytes message) const {
  std::byte* p = message.data();
  Store8(p + field::kType, type);
  Store8(p + field::kCode, code);
  StoreBe16(p + field::kChecksum, 0);
  if (is_echo()) {
    StoreBe16(p + field::kIdent, ident);
    StoreBe16(p + field::kSeq, seq);
  } else {
    StoreBe32(p + field::kRest, rest);
  }
  StoreBe16(p + field::kChecksum, InternetChecksum(message.first(kHeaderLen + data.size())));
}

}  // namespace ringstack::proto::icmpv4
