#include "protocols/ipv6/ipv6_ext.h"

#include <optional>

namespace ringstack::proto::ipv6 {
namespace {

constexpr std::uint8_t kOptPad1 = 0;
constexpr std::uint8_t kOptPadN = 1;
constexpr std::uint8_t kOptRouterAlert = 5;

// Walks the options of a hop-by-hop or destination options header whose
// options are `opts`, at `at` from the IPv6 header. Returns kUpper to go on.
ExtOutcome WalkOptions(Bytes opts, std::size_t at, bool dst_multicast, bool hop_by_hop, bool& router_alert) {
  ExtOutcome go_on;
  go_on.kind = ExtOutcome::Kind::kUpper;
  std::size_t i = 0;
  while (i < opts.size()) {
    const std::uint8_t type = Load8(opts.data() + i);
    if (type == kOptPad1) {
      ++i;
      continue;
    }
    if (i + 2 > opts.size() || i + 2 + Load8(opts.data() + i + 1) > opts.size()) {
      ExtOutcome bad;
      bad.error = ParseError::kBadOption;
      return bad;
    }
    const std::size_t len = Load8(opts.data() + i + 1);
    if (type == kOptPadN) {
      i += 2 + len;
      continue;
    }
    if (type == kOptRouterAlert && hop_by_hop) {
      if (len != 2) {
        ExtOutcome bad;
        bad.error = ParseError::kBadOption;
        return bad;
      }
      router_alert = true;
      i += 2 + len;
      continue;
    }
    // Unrecognised: the two high-order bits say what to do (RFC 8200 4.2).
    switch (type >> 6) {
      case 0:
        break;
      case 1: {
        ExtOutcome d;
        d.error = ParseError::kBadOption;
        return d;
      }
      case 3:
        if (dst_multicast) {
          ExtOutcome d;
          d.error = ParseError::kBadOption;
          return d;
        }
        [[fallthrough]];
      case 2: {
        ExtOutcome pp;
        pp.kind = ExtOutcome::Kind::kParamProblem;
        pp.code = kParamProblemUnknownOption;
        pp.pointer = static_cast<std::uint32_t>(at + i);
        return pp;
      }
    }
    i += 2 + len;
  }
  return go_on;
}

// The length of the extension header at `off` (Hdr Ext Len in 8-byte units,
// not counting the first 8), when at least `min` bytes of it and all of it
// are in `payload`.
std::optional<std::size_t> HeaderLen(Bytes payload, std::size_t off, std::size_t min) {
  if (off + min > payload.size()) return std::nullopt;
  const std::size_t len = 8 * (std::size_t{Load8(payload.data() + off + 1)} + 1);
  if (off + len > payload.size()) return std::nullopt;
  return len;
}


// A walk through the headers: the one `next` names starts at `off` in the
// payload; `next_field` is where `next` was named (counted from the IPv6
// header, for a Parameter Problem's pointer). Each step returns the outcome
// that ends the walk, or nullopt to go on.
struct Walk {
  Bytes payload;
  std::size_t base;
  bool dst_multicast;
  std::uint8_t next;
  std::size_t next_field;
  std::size_t off = 0;
  bool router_alert = false;

  ExtOutcome Out(ExtOutcome::Kind kind) const {
    ExtOutcome out;
    out.kind = kind;
    out.router_alert = router_alert;
    return out;
  }
  ExtOutcome Discard(ParseError error) const {
    ExtOutcome out = Out(ExtOutcome::Kind::kDiscard);
    out.error = error;
    return out;
  }
  ExtOutcome ParamProblem(std::uint8_t code, std::size_t pointer) const {
    ExtOutcome out = Out(ExtOutcome::Kind::kParamProblem);
    out.code = code;
    out.pointer = static_cast<std::uint32_t>(pointer);
    return out;
  }
  // Past the header at `off`, `len` bytes, whose first byte names the next.
  void Advance(std::size_t len) {
    next_field = base + off;
    next = Load8(payload.data() + off);
    off += len;
  }
  // Hop-by-Hop or Destination Options.
  std::optional<ExtOutcome> Options() {
    const auto header = HeaderLen(payload, off, 2);
    if (!header) return Discard(ParseError::kTruncated);
    ExtOutcome r = WalkOptions(payload.subspan(off + 2, *header - 2), base + off + 2, dst_multicast,
                               next == kHopByHop, router_alert);
    if (r.kind != ExtOutcome::Kind::kUpper) {
      r.router_alert = router_alert;
      return r;
    }
    Advance(*header);
    return std::nullopt;
  }
  // A Routing header is passed only with no segments left (RFC 8200 4.4).
  std::optional<ExtOutcome> Routing() {
    const auto header = HeaderLen(payload, off, 8);
    if (!header) return Discard(ParseError::kTruncated);
    if (Load8(payload.data() + off + 3) != 0) {  // segments left
      return ParamProblem(kParamProblemErroneousField, base + off + 2);  // the Routing Type
    }
    Advance(*header);
    return std::nullopt;
  }
  std::optional<ExtOutcome> Fragmented() {
    const auto fh = off <= payload.size() ? FragmentHeader::Checked(payload.subspan(off)) : std::nullopt;
    if (!fh) return Discard(ParseError::kTruncated);
    if (fh->offset() == 0 && !fh->more()) {
      Advance(kFragmentHeaderLen);  // RFC 6946: an atomic fragment is processed in isolation
      return std::nullopt;
    }
    ExtOutcome out = Out(ExtOutcome::Kind::kFragment);
    out.fragment = Fragment{.ident = fh->ident(),
                            .offset = fh->offset(),
                            .more = fh->more(),
                            .next_header = fh->next_header(),
                            .data_at = off + kFragmentHeaderLen};
    return out;
  }
};

}  // namespace

ExtOutcome WalkExtensionHeaders(std::uint8_t first, Bytes payload, bool dst_multicast, std::size_t base,
                                bool hop_by_hop_allowed) {
  Walk w{payload, base, dst_multicast, first, base == kHeaderLen ? std::size_t{6} : base};
  bool first_header = hop_by_hop_allowed;
  for (int hops = 0; hops < 64; ++hops, first_header = false) {
    std::optional<ExtOutcome> end;
    switch (w.next) {
      case kHopByHop:
        // RFC 8200 4.3: only right after the IPv6 header.
        end = first_header ? w.Options() : w.ParamProblem(kParamProblemUnknownNextHeader, w.next_field);
        break;
      case kDestinationOptions: end = w.Options(); break;
      case kRouting: end = w.Routing(); break;
      case kFragment: end = w.Fragmented(); break;
      case kNoNextHeader: return w.Out(ExtOutcome::Kind::kNothing);
      case kIcmpv6:
      case kTcp:
      case kUdp: {
        ExtOutcome out = w.Out(ExtOutcome::Kind::kUpper);
        out.protocol = w.next;
        out.offset = w.off;
        return out;
      }
      default: return w.ParamProblem(kParamProblemUnknownNextHeader, w.next_field);
    }
    if (end) return *end;
  }
  return w.Discard(ParseError::kBadOption);  // too many headers
}

void EmitRouterAlertHeader(std::uint8_t next, MutableBytes out) {
  std::byte* p = out.data();
  Store8(p, next);
  Store8(p + 1, 0);  // 8 bytes
  Store8(p + 2, kOptRouterAlert);
  Store8(p + 3, 2);
  StoreBe16(p + 4, 0);  // RFC 2711: 0 = Multicast Listener Discovery
  Store8(p + 6, kOptPadN);
  Store8(p + 7, 0);
}

}  // namespace ringstack::proto::ipv6
