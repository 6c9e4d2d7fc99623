#include "protocols/tcp/accecn.h"

#include <algorithm>

namespace ringstack::proto::tcp::accecn {
namespace {

constexpr std::uint32_t kFieldMask = 0xffffff;  // the option's fields are 24 bits

// The counter and its initial value behind field `i` of an option in
// order 0 (EE0B, ECEB, EE1B) or order 1 (EE1B, ECEB, EE0B).
struct FieldRef {
  std::uint32_t Counters::*counter;
  std::uint32_t init;
};

FieldRef FieldAt(bool order1, std::size_t i) {
  if (i == 1) return {&Counters::ceb, kCebInit};
  const bool e1 = order1 == (i == 0);
  return e1 ? FieldRef{&Counters::e1b, kE1bInit} : FieldRef{&Counters::e0b, kE0bInit};
}

}  // namespace

std::uint8_t HandshakeAce(IpEcn arrived) {
  // By the field's value: Not-ECT 00, ECT(1) 01, ECT(0) 10, CE 11.
  static constexpr std::uint8_t kAce[] = {0b010, 0b011, 0b100, 0b110};
  return kAce[static_cast<std::uint8_t>(arrived) & 0b11];
}

std::optional<IpEcn> HandshakeEcn(std::uint8_t ace) {
  for (const IpEcn e : {IpEcn::kNotEct, IpEcn::kEct1, IpEcn::kEct0, IpEcn::kCe}) {
    if (HandshakeAce(e) == (ace & kAceMask)) return e;
  }
  return std::nullopt;
}

SynAckAnswer ReadSynAck(std::uint8_t ace) {
  switch (ace & kAceMask) {
    case 0b000:
    case 0b111:
      return SynAckAnswer::kNoEcn;
    case 0b001:
      return SynAckAnswer::kClassic;
    default:
      return SynAckAnswer::kAccEcn;
  }
}

void Count(Counters& r, IpEcn ecn, std::uint32_t payload, std::uint32_t segments) {
  switch (ecn) {
    case IpEcn::kNotEct:
      return;
    case IpEcn::kEct0:
      r.e0b += payload;
      return;
    case IpEcn::kEct1:
      r.e1b += payload;
      return;
    case IpEcn::kCe:
      r.ceb += payload;
      r.cep += std::max<std::uint32_t>(segments, 1);
      return;
  }
}

std::optional<AccEcnOption> MakeOption(const Counters& r, std::size_t room) {
  if (room < AccEcnOption::kBaseLen) return std::nullopt;
  AccEcnOption o;
  o.order1 = r.e1b > r.e0b;
  o.fields = static_cast<std::uint8_t>(
      std::min<std::size_t>(AccEcnOption::kMaxFields, (room - AccEcnOption::kBaseLen) / AccEcnOption::kFieldLen));
  for (std::size_t i = 0; i < o.fields; ++i) {
    const FieldRef f = FieldAt(o.order1, i);
    o.field[i] = (r.*f.counter + f.init) & kFieldMask;
  }
  return o;
}

std::uint32_t CeDelta(std::uint32_t s_cep, std::uint8_t ace, std::uint32_t pkts, std::optional<std::uint32_t> d_ceb,
                      std::uint32_t mss) {
  const std::uint32_t delta = (ace - (s_cep + kCepInit)) & kAceMask;
  if (pkts <= kAceMask) return delta;
  // The most CE packets, congruent to `delta`, that `pkts` could hold.
  const std::uint32_t safe = pkts - ((pkts - delta) & kAceMask);
  if (!d_ceb) return safe;
  if (*d_ceb == 0) return delta;  // no CE bytes: the marks were on packets without data
  const std::uint64_t bytes = *d_ceb;
  if (bytes > std::uint64_t{delta} * mss) return safe;
  if (bytes < std::uint64_t{safe} * mss / 2) return delta;
  return safe;
}

std::optional<std::uint32_t> TakeOption(Feedback& fb, const AccEcnOption& o) {
  if (fb.option_bad || o.fields == 0) return std::nullopt;
  if (!fb.option_seen) {
    // 3.2.3.2.4: EE0B and EE1B start at 1; a zero in the first option
    // seen is a middlebox's doing, and its options are not believed.
    const bool zeroed = o.field[0] == 0 || (o.fields == AccEcnOption::kMaxFields && o.field[2] == 0);
    if (zeroed) {
      fb.option_bad = true;
      return std::nullopt;
    }
    fb.option_seen = true;
  }
  std::optional<std::uint32_t> d_ceb;
  for (std::size_t i = 0; i < o.fields; ++i) {
    const FieldRef f = FieldAt(o.order1, i);
    std::uint32_t& cur = fb.seen.*f.counter;
    const std::uint32_t d = (o.field[i] - f.init - cur) & kFieldMask;
    if ((d & 0x800000) != 0) continue;  // behind what we have: a reordered ACK
    cur += d;
    if (i == 1) d_ceb = d;
  }
  return d_ceb;
}

}  // namespace ringstack::proto::tcp::accecn
