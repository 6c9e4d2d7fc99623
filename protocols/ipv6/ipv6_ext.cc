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

}  // namespace

ExtOutcome WalkExtensionHeaders(std::uint8_t first, Bytes payload, bool dst_multicast, std::size_t base,
                                bool hop_by_hop_allowed) {
  std::uint8_t next = first;
  std::size_t next_field = base == kHeaderLen ? 6 : base;  // where `next` was named
  std::size_t off = 0;
  bool router_alert = false;
  bool first_header = hop_by_hop_allowed;
  for (int hops = 0; hops < 64; ++hops) {
    ExtOutcome out;
    out.router_alert = router_alert;
    switch (next) {
      case kHopByHop:
        if (!first_header) {
          out.kind = ExtOutcome::Kind::kParamProblem;
          out.code = kParamProblemUnknownNextHeader;
          out.pointer = static_cast<std::uint32_t>(next_field);
          return out;
        }
        [[fallthrough]];
      case kDestinationOptions: {
        const auto header = HeaderLen(payload, off, 2);
        if (!header) {
          out.error = ParseError::kTruncated;
          return out;
        }
        const std::size_t len = *header;
        ExtOutcome r = WalkOptions(payload.subspan(off + 2, len - 2), base + off + 2, dst_multicast,
                                   next == kHopByHop, router_alert);
        if (r.kind != ExtOutcome::Kind::kUpper) {
          r.router_alert = router_alert;
          return r;
        }
        next_field = base + off;
        next = Load8(payload.data() + off);
        off += len;
        break;
      }
      case kRouting: {
        const auto header = HeaderLen(payload, off, 8);
        if (!header) {
          out.error = ParseError::kTruncated;
          return out;
        }
        const std::size_t len = *header;
        if (Load8(payload.data() + off + 3) != 0) {  // segments left
          out.kind = ExtOutcome::Kind::kParamProblem;
          out.code = kParamProblemErroneousField;
          out.pointer = static_cast<std::uint32_t>(base + off + 2);  // the Routing Type
          return out;
        }
        next_field = base + off;
        next = Load8(payload.data() + off);
        off += len;
        break;
      }
      case kFragment: {
        const auto fh = off <= payload.size() ? FragmentHeader::Checked(payload.subspan(off)) : std::nullopt;
        if (!fh) {
          out.error = ParseError::kTruncated;
          return out;
        }
        Fragment f;
        f.next_header = fh->next_header();
        f.offset = fh->offset();
        f.more = fh->more();
        f.ident = fh->ident();
        f.data_at = off + kFragmentHeaderLen;
        if (f.offset == 0 && !f.more) {
          // RFC 6946: an atomic fragment is processed in isolation.
          next_field = base + off;
          next = f.next_header;
          off += 8;
          break;
        }
        out.kind = ExtOutcome::Kind::kFragment;
        out.fragment = f;
        return out;
      }
      case kNoNextHeader:
        out.kind = ExtOutcome::Kind::kNothing;
        return out;
      case kIcmpv6:
      case kTcp:
      case kUdp:
        out.kind = ExtOutcome::Kind::kUpper;
        out.protocol = next;
        out.offset = off;
        return out;
      default:
        out.kind = ExtOutcome::Kind::kParamProblem;
        out.code = kParamProblemUnknownNextHeader;
        out.pointer = static_cast<std::uint32_t>(next_field);
        return out;
    }
    first_header = false;
  }
  ExtOutcome too_many;
  too_many.error = ParseError::kBadOption;
  return too_many;
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
