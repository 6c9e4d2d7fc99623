#include "protocols/ipv6/source_select.h"

#include <algorithm>
#include <array>
#include <cstdint>

namespace ringstack::proto::ipv6 {
namespace {

constexpr int kScopeLinkLocal = 0x2;
constexpr int kScopeSiteLocal = 0x5;
constexpr int kScopeGlobal = 0xe;

unsigned AddrByte(const Ipv6Address& a, int i) { return static_cast<unsigned>(a.bytes()[static_cast<std::size_t>(i)]); }

// The first `len` bits of `a` are those of the prefix `p` (given as bytes).
bool PrefixMatches(const Ipv6Address& a, const std::array<std::uint8_t, 16>& p, int len) {
  for (int bit = 0; bit < len; ++bit) {
    const unsigned mask = 0x80u >> (bit % 8);
    if ((AddrByte(a, bit / 8) & mask) != (p[static_cast<std::size_t>(bit / 8)] & mask)) return false;
  }
  return true;
}

struct PolicyRow {
  std::array<std::uint8_t, 16> prefix;
  int len;
  Policy policy;
};

// RFC 6724 2.1, longest prefixes first.
constexpr PolicyRow kPolicyTable[] = {
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 128, {50, 0}},              // ::1/128
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0}, 96, {35, 4}},         // ::ffff:0:0/96
    {{0}, 96, {1, 3}},                                                             // ::/96
    {{0x20, 0x01, 0, 0}, 32, {5, 5}},                                              // 2001::/32 (Teredo)
    {{0x20, 0x02}, 16, {30, 2}},                                                   // 2002::/16 (6to4)
    {{0x3f, 0xfe}, 16, {1, 12}},                                                   // 3ffe::/16 (6bone)
    {{0xfe, 0xc0}, 10, {1, 11}},                                                   // fec0::/10 (site-local)
    {{0xfc}, 7, {3, 13}},                                                          // fc00::/7 (ULA)
    {{0}, 0, {40, 1}},                                                             // ::/0
};

// > 0: `a` is the better source for `dst` by the rules; < 0: `b`; 0: equal.
int CompareSources(const SourceCandidate& a, const SourceCandidate& b, const Ipv6Address& dst) {
  if (a.address == dst || b.address == dst) return a.address == dst ? 1 : -1;  // rule 1
  const int sa = Scope(a.address), sb = Scope(b.address), sd = Scope(dst);
  if (sa != sb) return sa < sb ? (sa < sd ? -1 : 1) : (sb < sd ? 1 : -1);  // rule 2
  if (a.deprecated != b.deprecated) return a.deprecated ? -1 : 1;        // rule 3
  const int ld = PolicyFor(dst).label;
  const bool ma = PolicyFor(a.address).label == ld, mb = PolicyFor(b.address).label == ld;
  if (ma != mb) return ma ? 1 : -1;                                      // rule 6
  if (a.temporary != b.temporary) return a.temporary ? 1 : -1;           // rule 7
  const int ca = std::min(CommonPrefixLen(a.address, dst), a.prefix_len);
  const int cb = std::min(CommonPrefixLen(b.address, dst), b.prefix_len);
  return ca == cb ? 0 : ca > cb ? 1 : -1;                                // rule 8
}

}  // namespace

int Scope(const Ipv6Address& a) {
  if (a.IsMulticast()) return static_cast<int>(AddrByte(a, 1) & 0x0f);
  if (a.IsLoopback() || a.IsLinkLocal()) return kScopeLinkLocal;
  if (AddrByte(a, 0) == 0xfe && (AddrByte(a, 1) & 0xc0) == 0xc0) return kScopeSiteLocal;
  return kScopeGlobal;
}

Policy PolicyFor(const Ipv6Address& a) {
  for (const PolicyRow& row : kPolicyTable) {
    if (PrefixMatches(a, row.prefix, row.len)) return row.policy;
  }
  return {40, 1};
}

int CommonPrefixLen(const Ipv6Address& a, const Ipv6Address& b) {
  int n = 0;
  for (int i = 0; i < 16; ++i) {
    const unsigned x = AddrByte(a, i) ^ AddrByte(b, i);
    if (x == 0) {
      n += 8;
      continue;
    }
    for (unsigned bit = 0x80; bit != 0 && (x & bit) == 0; bit >>= 1) ++n;
    break;
  }
  return n;
}

bool BetterSource(const SourceCandidate& a, const SourceCandidate& b, const Ipv6Address& dst) {
  return CompareSources(a, b, dst) > 0;
}

std::optional<SourceCandidate> SelectSource(std::span<const SourceCandidate> candidates, const Ipv6Address& dst) {
  const SourceCandidate* best = nullptr;
  for (const SourceCandidate& c : candidates) {
    if (best == nullptr || BetterSource(c, *best, dst)) best = &c;
  }
  if (best == nullptr) return std::nullopt;
  return *best;
}

}  // namespace ringstack::proto::ipv6
