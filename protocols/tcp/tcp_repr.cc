#include "protocols/tcp/tcp_repr.h"

#include "protocols/common/checksum.h"
#include "protocols/ipv4/ipv4_header.h"

namespace ringstack::proto::tcp {
namespace {

// The AccECN option's 24-bit fields.
std::uint32_t LoadBe24(const std::byte* p) { return (std::uint32_t{Load8(p)} << 16) | LoadBe16(p + 1); }
void StoreBe24(std::byte* p, std::uint32_t v) {
  Store8(p, static_cast<std::uint8_t>(v >> 16));
  StoreBe16(p + 1, static_cast<std::uint16_t>(v));
}

// The fixed length each known option must have (0: variable, checked apart).
std::size_t KnownLength(std::uint8_t kind) {
  switch (kind) {
    case option::kMss: return 4;
    case option::kWindowScale: return 3;
    case option::kSackPermitted: return 2;
    case option::kTimestamps: return 10;
    default: return 0;
  }
}

template <typename Addr>
Parsed<TcpRepr> ParseWith(Bytes segment, const Addr& src, const Addr& dst, bool verify_checksum) {
  // Integrity.
  const auto h = TcpHeader::Checked(segment);
  if (!h) return ParseError::kTruncated;
  const std::size_t header_len = h->header_len();
  if (header_len < kMinHeaderLen || header_len > segment.size()) return ParseError::kBadHeaderLength;
  if (verify_checksum) {
    Checksum c;
    AddPseudoHeader(c, src, dst, ipv4::kProtoTcp, static_cast<std::uint32_t>(segment.size()));
    c.Add(segment);
    if (!Verifies(c)) return ParseError::kBadChecksum;
  }
  // Decode.
  TcpRepr r;
  r.src_port = h->src_port();
  r.dst_port = h->dst_port();
  r.seq = SeqNum(h->seq());
  r.ack = SeqNum(h->ack());
  r.flags = h->flags();
  r.ae = h->ae();
  r.window = h->window();
  r.urgent = h->urgent();
  const auto options = TcpOptions::Parse(segment.subspan(kMinHeaderLen, header_len - kMinHeaderLen));
  if (!options) return options.error();
  r.options = *options;
  r.payload = segment.subspan(header_len);
  // Sanity: port 0 is reserved; SYN with FIN or RST is no segment a TCP
  // sends (the "Christmas tree" probes).
  if (r.src_port == 0 || r.dst_port == 0) return ParseError::kBadPort;
  if (r.syn() && (r.fin() || r.rst())) return ParseError::kBadFlags;
  return r;
}

template <typename Addr>
void EmitWith(const TcpRepr& r, MutableBytes segment, const Addr& src, const Addr& dst, bool partial) {
  const std::size_t options_len = r.options.EmitLen();
  auto h = TcpHeaderMut::Checked(segment);
  if (!h || segment.size() < kMinHeaderLen + options_len) return;  // no room: the caller's mistake
  h->set_src_port(r.src_port);
  h->set_dst_port(r.dst_port);
  h->set_seq(r.seq.value());
  h->set_ack(r.ack.value());
  h->set_header_len(kMinHeaderLen + options_len);
  h->set_flags(r.flags);
  h->set_ae(r.ae);
  h->set_window(r.window);
  h->set_checksum(0);
  h->set_urgent(r.urgent);
  r.options.Emit(segment.subspan(kMinHeaderLen, options_len));
  Checksum c;
  AddPseudoHeader(c, src, dst, ipv4::kProtoTcp, static_cast<std::uint32_t>(segment.size()));
  if (partial) {
    h->set_checksum(c.Folded());
    return;
  }
  c.Add(segment);
  h->set_checksum(c.Finish());
}

}  // namespace

Parsed<TcpOptions> TcpOptions::Parse(Bytes b) {
  TcpOptions o;
  std::size_t i = 0;
  while (i < b.size()) {
    const auto kind = static_cast<std::uint8_t>(b[i]);
    if (kind == option::kEnd) break;
    if (kind == option::kNop) {
      ++i;
      continue;
    }
    if (i + 2 > b.size()) return ParseError::kBadOption;
    const std::size_t len = static_cast<std::uint8_t>(b[i + 1]);
    if (len < 2 || i + len > b.size()) return ParseError::kBadOption;
    const std::byte* v = b.data() + i + 2;
    if (const std::size_t want = KnownLength(kind); want != 0 && len != want) return ParseError::kBadOption;
    switch (kind) {
      case option::kMss:
        o.mss = LoadBe16(v);
        break;
      case option::kWindowScale:
        o.window_scale = static_cast<std::uint8_t>(v[0]);
        break;
      case option::kSackPermitted:
        o.sack_permitted = true;
        break;
      case option::kTimestamps:
        o.timestamps = Timestamps{LoadBe32(v), LoadBe32(v + 4)};
        break;
      case option::kSack: {
        // RFC 2018 3: 8 bytes per block, 1..4 blocks in 40 bytes of options.
        const std::size_t n = (len - 2) / 8;
        if ((len - 2) % 8 != 0 || n == 0 || n > kMaxSackBlocks) return ParseError::kBadOption;
        for (std::size_t k = 0; k < n; ++k) {
          o.sack[k] = SackBlock{SeqNum(LoadBe32(v + 8 * k)), SeqNum(LoadBe32(v + 8 * k + 4))};
        }
        o.sack_count = static_cast<std::uint8_t>(n);
        break;
      }
      case option::kFastOpen: {
        const std::size_t n = len - 2;
        if (n != 0 && (n < FastOpenCookie::kMin || n > FastOpenCookie::kMax || n % 2 != 0)) break;
        FastOpenCookie c;
        std::copy(v, v + n, c.bytes.begin());
        c.len = static_cast<std::uint8_t>(n);
        o.fastopen = c;
        break;
      }
      case option::kAccEcn0:
      case option::kAccEcn1: {
        const std::size_t n = (len - AccEcnOption::kBaseLen) / AccEcnOption::kFieldLen;
        if ((len - AccEcnOption::kBaseLen) % AccEcnOption::kFieldLen != 0 || n > AccEcnOption::kMaxFields) break;
        AccEcnOption a;
        a.order1 = kind == option::kAccEcn1;
        a.fields = static_cast<std::uint8_t>(n);
        for (std::size_t k = 0; k < n; ++k) a.field[k] = LoadBe24(v + AccEcnOption::kFieldLen * k);
        o.accecn = a;
        break;
      }
      default:
        break;  // unknown: skipped by its length (RFC 9293 3.1)
    }
    i += len;
  }
  return o;
}

namespace {
// Room the fixed options take; SACK gets what is left.
std::size_t FixedLen(const TcpOptions& o) {
  std::size_t n = 0;
  if (o.mss) n += 4;
  if (o.timestamps) {
    n += 12;  // SACK-permitted + TS, or NOP NOP TS
  } else if (o.sack_permitted) {
    n += 4;  // NOP NOP SACK-permitted
  }
  if (o.window_scale) n += 4;
  if (o.fastopen) n += (2 + o.fastopen->len + 3) / 4 * 4;
  return n;
}

std::size_t SackBlocksThatFit(const TcpOptions& o) {
  const std::size_t fixed = FixedLen(o);
  if (o.sack_count == 0 || fixed + 4 + 8 > kMaxOptionsLen) return 0;
  const std::size_t room = (kMaxOptionsLen - fixed - 4) / 8;
  return o.sack_count < room ? o.sack_count : room;
}

std::size_t SackLen(const TcpOptions& o) {
  const std::size_t blocks = SackBlocksThatFit(o);
  return blocks != 0 ? 4 + 8 * blocks : 0;
}

// The AccECN option's octets with its padding, 0 when there is none or it
// does not fit beside the others.
std::size_t AccEcnLen(const TcpOptions& o) {
  if (!o.accecn) return 0;
  const std::size_t len = (o.accecn->len() + 3) / 4 * 4;
  return FixedLen(o) + SackLen(o) + len <= kMaxOptionsLen ? len : 0;
}
}  // namespace

std::size_t TcpOptions::AccEcnRoom() const { return kMaxOptionsLen - FixedLen(*this) - SackLen(*this); }

std::size_t TcpOptions::EmitLen() const { return FixedLen(*this) + SackLen(*this) + AccEcnLen(*this); }

void TcpOptions::Emit(MutableBytes out) const {
  std::byte* p = out.data();
  auto put = [&p](std::uint8_t b) { *p++ = static_cast<std::byte>(b); };
  if (mss) {
    put(option::kMss);
    put(4);
    StoreBe16(p, *mss);
    p += 2;
  }
  if (timestamps) {
    if (sack_permitted) {
      put(option::kSackPermitted);
      put(2);
    } else {
      put(option::kNop);
      put(option::kNop);
    }
    put(option::kTimestamps);
    put(10);
    StoreBe32(p, timestamps->tsval);
    StoreBe32(p + 4, timestamps->tsecr);
    p += 8;
  } else if (sack_permitted) {
    put(option::kNop);
    put(option::kNop);
    put(option::kSackPermitted);
    put(2);
  }
  if (window_scale) {
    put(option::kNop);
    put(option::kWindowScale);
    put(3);
    put(*window_scale);
  }
  if (const std::size_t blocks = SackBlocksThatFit(*this); blocks != 0) {
    put(option::kNop);
    put(option::kNop);
    put(option::kSack);
    put(static_cast<std::uint8_t>(2 + 8 * blocks));
    for (std::size_t k = 0; k < blocks; ++k) {
      StoreBe32(p, sack[k].left.value());
      StoreBe32(p + 4, sack[k].right.value());
      p += 8;
    }
  }
  if (AccEcnLen(*this) != 0) {
    for (std::size_t k = accecn->len(); k % 4 != 0; ++k) put(option::kNop);
    put(accecn->order1 ? option::kAccEcn1 : option::kAccEcn0);
    put(static_cast<std::uint8_t>(accecn->len()));
    for (std::size_t k = 0; k < accecn->fields; ++k) {
      StoreBe24(p, accecn->field[k]);
      p += AccEcnOption::kFieldLen;
    }
  }
  if (fastopen) {
    put(option::kFastOpen);
    put(static_cast<std::uint8_t>(2 + fastopen->len));
    p = std::copy(fastopen->bytes.begin(), fastopen->bytes.begin() + fastopen->len, p);
    if ((2 + fastopen->len) % 4 == 2) {
      put(option::kNop);
      put(option::kNop);
    }
  }
}

Parsed<TcpRepr> TcpRepr::Parse(Bytes segment, Ipv4Address src, Ipv4Address dst, bool verify_checksum) {
  return ParseWith(segment, src, dst, verify_checksum);
}

Parsed<TcpRepr> TcpRepr::Parse(Bytes segment, const Ipv6Address& src, const Ipv6Address& dst,
                               bool verify_checksum) {
  return ParseWith(segment, src, dst, verify_checksum);
}

void TcpRepr::EmitHeader(MutableBytes segment, Ipv4Address src, Ipv4Address dst) const {
  EmitWith(*this, segment, src, dst, false);
}

void TcpRepr::EmitHeader(MutableBytes segment, const Ipv6Address& src, const Ipv6Address& dst) const {
  EmitWith(*this, segment, src, dst, false);
}

void TcpRepr::EmitHeaderPartial(MutableBytes segment, Ipv4Address src, Ipv4Address dst) const {
  EmitWith(*this, segment, src, dst, true);
}

void TcpRepr::EmitHeaderPartial(MutableBytes segment, const Ipv6Address& src, const Ipv6Address& dst) const {
  EmitWith(*this, segment, src, dst, true);
}

std::string TcpRepr::FlagString() const {
  std::string s;
  if (syn()) s += 'S';
  if (fin()) s += 'F';
  if (rst()) s += 'R';
  if (flags & kPsh) s += 'P';
  if (flags & kUrg) s += 'U';
  if (flags & kEce) s += 'E';
  if (flags & kCwr) s += 'W';
  if (ae) s += 'e';  // RFC 9768's AE
  if (has_ack()) s += '.';
  return s.empty() ? "none" : s;
}

}  // namespace ringstack::proto::tcp
