// Ipv4Reassembler (protocols/ipv4/ipv4_reassembly.h): every arrival order of
// a 5-fragment datagram, duplicates, overlaps, bad lengths, timeouts and the
// memory bounds with eviction of the oldest datagrams.
#include <algorithm>
#include <numeric>
#include <vector>

#include "gtest/gtest.h"
#include "protocols/ipv4/ipv4_reassembly.h"

namespace ringstack::proto::ipv4 {
namespace {

using Status = Ipv4Reassembler::Status;
using Drop = Ipv4Reassembler::Drop;

struct Fragment {
  Ipv4Repr ip;
  std::vector<std::byte> payload;
};

std::vector<std::byte> Payload(std::size_t n, unsigned seed = 1) {
  std::vector<std::byte> p(n);
  for (std::size_t i = 0; i < n; ++i) p[i] = std::byte((i * 31 + seed) & 0xff);
  return p;
}

// Splits `payload` into fragments of `chunk` bytes (a multiple of 8).
std::vector<Fragment> Split(const std::vector<std::byte>& payload, std::size_t chunk, std::uint16_t ident = 7,
                            std::uint32_t src = 0xc0000201) {
  std::vector<Fragment> out;
  for (std::size_t off = 0; off < payload.size(); off += chunk) {
    Fragment f;
    f.ip.src = Ipv4Address(src);
    f.ip.dst = Ipv4Address(0xc0000202);
    f.ip.protocol = kProtoIcmp;
    f.ip.ident = ident;
    f.ip.frag_offset = static_cast<std::uint32_t>(off);
    const std::size_t n = std::min(chunk, payload.size() - off);
    f.ip.mf = off + n < payload.size();
    f.ip.payload_len = static_cast<std::uint16_t>(n);
    f.payload.assign(payload.begin() + static_cast<long>(off), payload.begin() + static_cast<long>(off + n));
    out.push_back(f);
  }
  return out;
}

const Instant kT0 = Instant::FromNanos(1'000'000'000);

TEST(Ipv4Reassembly, EveryOrderOfFiveFragments) {
  const auto payload = Payload(5 * 64 - 20);
  const auto frags = Split(payload, 64);
  ASSERT_EQ(frags.size(), 5u);
  std::vector<int> order(5);
  std::iota(order.begin(), order.end(), 0);
  int orders = 0;
  do {
    Ipv4Reassembler r;
    for (int i = 0; i < 5; ++i) {
      const Fragment& f = frags[order[i]];
      const auto out = r.OnFragment(f.ip, f.payload, kT0);
      if (i < 4) {
        ASSERT_EQ(out.status, Status::kIncomplete);
      } else {
        ASSERT_EQ(out.status, Status::kComplete);
        ASSERT_TRUE(std::equal(out.payload.begin(), out.payload.end(), payload.begin(), payload.end()));
        EXPECT_FALSE(out.header.is_fragment());
        EXPECT_EQ(out.header.payload_len, payload.size());
      }
    }
    EXPECT_EQ(r.datagrams(), 0u);
    EXPECT_EQ(r.bytes_held(), 0u);
    ++orders;
  } while (std::next_permutation(order.begin(), order.end()));
  EXPECT_EQ(orders, 120);
}

TEST(Ipv4Reassembly, DuplicatesAreIgnoredAndInterleavedDatagramsKeptApart) {
  const auto a = Payload(200, 1);
  const auto b = Payload(200, 2);
  const auto fa = Split(a, 64, 1);
  const auto fb = Split(b, 64, 2);
  Ipv4Reassembler r;
  EXPECT_EQ(r.OnFragment(fa[0].ip, fa[0].payload, kT0).status, Status::kIncomplete);
  EXPECT_EQ(r.OnFragment(fa[0].ip, fa[0].payload, kT0).status, Status::kDuplicate);
  for (std::size_t i = 0; i < fb.size(); ++i) {
    const auto out = r.OnFragment(fb[i].ip, fb[i].payload, kT0);
    if (i + 1 == fb.size()) {
      ASSERT_EQ(out.status, Status::kComplete);
      EXPECT_TRUE(std::equal(out.payload.begin(), out.payload.end(), b.begin(), b.end()));
    }
  }
  for (std::size_t i = 1; i < fa.size(); ++i) {
    const auto out = r.OnFragment(fa[i].ip, fa[i].payload, kT0);
    if (i + 1 == fa.size()) {
      ASSERT_EQ(out.status, Status::kComplete);
      EXPECT_TRUE(std::equal(out.payload.begin(), out.payload.end(), a.begin(), a.end()));
    }
  }
}

TEST(Ipv4Reassembly, OverlapWithDifferentBytesDropsTheDatagram) {
  const auto payload = Payload(192);
  auto frags = Split(payload, 64);
  Ipv4Reassembler r;
  ASSERT_EQ(r.OnFragment(frags[0].ip, frags[0].payload, kT0).status, Status::kIncomplete);
  Fragment evil = frags[1];
  evil.ip.frag_offset = 32;  // overlaps the second half of fragment 0
  evil.payload[0] ^= std::byte{0xff};
  const auto out = r.OnFragment(evil.ip, evil.payload, kT0);
  EXPECT_EQ(out.status, Status::kDropped);
  EXPECT_EQ(out.drop, Drop::kOverlap);
  // Nothing is held; the datagram stays known, holding nothing, so that
  // its later fragments are discarded too (RFC 5722).
  EXPECT_EQ(r.bytes_held(), 0u);
  EXPECT_EQ(r.datagrams(), 1u);
  EXPECT_EQ(r.OnFragment(frags[2].ip, frags[2].payload, kT0).drop, Drop::kDiscarded);
}

// RFC 5722 with erratum 3089 (and Linux for IPv4 alike): an overlap discards
// the datagram even when the bytes agree — a resend cut otherwise is the
// same bytes an attacker would send — and every later fragment of it until
// its time is up, when it goes without a timeout report; only an exact
// duplicate (offset, length and bytes of one received) is ignored.
TEST(Ipv4Reassembly, AnyOverlapButAnExactDuplicateDiscardsTheDatagramAndItsLaterFragments) {
  const auto payload = Payload(192);
  auto frags = Split(payload, 64);
  Ipv4Reassembler r;
  ASSERT_EQ(r.OnFragment(frags[0].ip, frags[0].payload, kT0).status, Status::kIncomplete);
  Fragment same;
  same.ip = frags[1].ip;
  same.ip.frag_offset = 32;
  same.payload.assign(payload.begin() + 32, payload.begin() + 128);
  auto out = r.OnFragment(same.ip, same.payload, kT0);
  EXPECT_EQ(out.status, Status::kDropped);
  EXPECT_EQ(out.drop, Drop::kOverlap);
  EXPECT_EQ(r.bytes_held(), 0u);
  for (const Fragment& f : {frags[1], frags[2], frags[0]}) {
    out = r.OnFragment(f.ip, f.payload, kT0);
    EXPECT_EQ(out.status, Status::kDropped);
    EXPECT_EQ(out.drop, Drop::kDiscarded);
  }
  int expired = 0;
  r.OnTimer(kT0 + Duration::Seconds(31), [&](const auto&) { ++expired; });
  EXPECT_EQ(expired, 0);
  EXPECT_EQ(r.datagrams(), 0u);
  // A fragment inside received bytes but cut otherwise is an overlap too.
  Ipv4Reassembler r2;
  ASSERT_EQ(r2.OnFragment(frags[0].ip, frags[0].payload, kT0).status, Status::kIncomplete);
  Fragment inside = frags[0];
  inside.ip.frag_offset = 8;
  inside.payload.assign(payload.begin() + 8, payload.begin() + 24);
  EXPECT_EQ(r2.OnFragment(inside.ip, inside.payload, kT0).drop, Drop::kOverlap);
  // An exact duplicate is ignored; the datagram completes.
  Ipv4Reassembler r3;
  ASSERT_EQ(r3.OnFragment(frags[1].ip, frags[1].payload, kT0).status, Status::kIncomplete);
  EXPECT_EQ(r3.OnFragment(frags[1].ip, frags[1].payload, kT0).status, Status::kDuplicate);
  ASSERT_EQ(r3.OnFragment(frags[0].ip, frags[0].payload, kT0).status, Status::kIncomplete);
  const auto done = r3.OnFragment(frags[2].ip, frags[2].payload, kT0);
  ASSERT_EQ(done.status, Status::kComplete);
  EXPECT_TRUE(std::equal(done.payload.begin(), done.payload.end(), payload.begin(), payload.end()));
  EXPECT_EQ(r3.bytes_held(), 0u);
}

TEST(Ipv4Reassembly, MalformedFragments) {
  auto frags = Split(Payload(192), 64);
  Ipv4Reassembler r;
  Fragment odd = frags[0];
  odd.payload.resize(63);  // not a multiple of 8, more fragments follow
  EXPECT_EQ(r.OnFragment(odd.ip, odd.payload, kT0).drop, Drop::kBadLength);
  Fragment far = frags[2];
  far.ip.frag_offset = 65528;
  EXPECT_EQ(r.OnFragment(far.ip, far.payload, kT0).drop, Drop::kTooLong);
  // Data past the end that a last fragment fixed.
  ASSERT_EQ(r.OnFragment(frags[2].ip, frags[2].payload, kT0).status, Status::kIncomplete);
  Fragment past = frags[1];
  past.ip.frag_offset = 192;
  EXPECT_EQ(r.OnFragment(past.ip, past.payload, kT0).drop, Drop::kPastEnd);
  EXPECT_EQ(r.bytes_held(), 0u);
}

TEST(Ipv4Reassembly, TimeoutReportsWhetherFragmentZeroCame) {
  auto frags = Split(Payload(192), 64, 1);
  auto other = Split(Payload(192), 64, 2);
  ReassemblyConfig cfg;
  Ipv4Reassembler r(cfg);
  r.OnFragment(frags[0].ip, frags[0].payload, kT0);                   // has fragment zero
  r.OnFragment(other[1].ip, other[1].payload, kT0 + Duration::Seconds(1));  // does not
  EXPECT_EQ(r.NextDeadline(), kT0 + cfg.timeout);
  std::vector<Ipv4Reassembler::Expired> expired;
  r.OnTimer(kT0 + (cfg.timeout - Duration::Millis(1)), [&](const auto& e) { expired.push_back(e); });
  EXPECT_TRUE(expired.empty());
  r.OnTimer(kT0 + cfg.timeout, [&](const auto& e) { expired.push_back(e); });
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].ident, 1);
  EXPECT_TRUE(expired[0].had_first_fragment);
  r.OnTimer(kT0 + cfg.timeout + Duration::Seconds(1), [&](const auto& e) { expired.push_back(e); });
  ASSERT_EQ(expired.size(), 2u);
  EXPECT_FALSE(expired[1].had_first_fragment);
  EXPECT_EQ(r.bytes_held(), 0u);
  EXPECT_TRUE(r.NextDeadline().IsNever());
}

TEST(Ipv4Reassembly, MemoryIsBoundedPerSourceAndInTotal) {
  ReassemblyConfig cfg;
  cfg.max_bytes_per_source = 4096;
  cfg.max_total_bytes = 10000;
  Ipv4Reassembler r(cfg);
  // A flood of incomplete datagrams from one source: held bytes stop at its share.
  int refused = 0;
  for (std::uint16_t id = 0; id < 200; ++id) {
    auto f = Split(Payload(512), 256, id)[0];
    const auto out = r.OnFragment(f.ip, f.payload, kT0);
    if (out.status == Status::kDropped) {
      EXPECT_EQ(out.drop, Drop::kMemoryLimit);
      ++refused;
    }
  }
  EXPECT_LE(r.bytes_held(), 4096u);
  EXPECT_GT(refused, 0);
  // Another source still gets in, until the total bound.
  auto f = Split(Payload(512), 256, 1, 0xc0000209)[0];
  EXPECT_EQ(r.OnFragment(f.ip, f.payload, kT0).status, Status::kIncomplete);
  for (std::uint32_t src = 0xc0000210; src < 0xc0000230; ++src) {
    auto g = Split(Payload(4096), 2048, 1, src)[0];
    r.OnFragment(g.ip, g.payload, kT0);
  }
  EXPECT_LE(r.bytes_held(), 10000u);
  // Everything expires and the bounds free up.
  r.OnTimer(kT0 + cfg.timeout, [](const auto&) {});
  EXPECT_EQ(r.bytes_held(), 0u);
  EXPECT_EQ(r.datagrams(), 0u);
}

TEST(Ipv4Reassembly, AFloodOfSpoofedSourcesIsEvictedOldestFirst) {
  ReassemblyConfig cfg;
  cfg.max_bytes_per_source = 4096;
  cfg.max_total_bytes = 16384;
  Ipv4Reassembler r(cfg);
  // Incomplete datagrams from many sources fill the total bound.
  Instant t = kT0;
  for (std::uint32_t src = 0xc0000240; src < 0xc0000280; ++src) {
    t = t + Duration::Millis(1);
    auto f = Split(Payload(2048), 1024, 1, src)[0];
    r.OnFragment(f.ip, f.payload, t);
  }
  EXPECT_LE(r.bytes_held(), 16384u);
  const std::uint64_t evicted_before = r.evicted();
  EXPECT_GT(evicted_before, 0u);
  // A real datagram still gets through, whole, evicting the oldest flood entries.
  const auto payload = Payload(3000, 5);
  Ipv4Reassembler::Outcome out;
  for (const Fragment& f : Split(payload, 1480, 9, 0xc0000201)) out = r.OnFragment(f.ip, f.payload, t);
  ASSERT_EQ(out.status, Status::kComplete);
  EXPECT_TRUE(std::equal(out.payload.begin(), out.payload.end(), payload.begin(), payload.end()));
  EXPECT_GT(r.evicted(), evicted_before);
  EXPECT_LE(r.bytes_held(), 16384u);
  // The oldest went first: the newest flood source is still held.
  auto newest = Split(Payload(2048), 1024, 1, 0xc000027f)[0];
  EXPECT_EQ(r.OnFragment(newest.ip, newest.payload, t).status, Status::kDuplicate);
}

TEST(Ipv4Reassembly, DatagramCountIsBounded) {
  ReassemblyConfig cfg;
  cfg.max_datagrams = 8;
  Ipv4Reassembler r(cfg);
  for (std::uint16_t id = 0; id < 100; ++id) {
    auto f = Split(Payload(16), 8, id)[0];
    r.OnFragment(f.ip, f.payload, kT0 + Duration::Millis(id));
    EXPECT_LE(r.datagrams(), 8u);
  }
  EXPECT_EQ(r.evicted(), 92u);
  EXPECT_EQ(r.NextDeadline(), kT0 + Duration::Millis(92) + cfg.timeout);  // the oldest left
}

TEST(Ipv4Reassembly, LargestDatagram) {
  const auto payload = Payload(65535 - 20);
  const auto frags = Split(payload, 1480);
  Ipv4Reassembler r;
  Ipv4Reassembler::Outcome out;
  for (auto it = frags.rbegin(); it != frags.rend(); ++it) out = r.OnFragment(it->ip, it->payload, kT0);
  ASSERT_EQ(out.status, Status::kComplete);
  EXPECT_EQ(out.payload.size(), payload.size());
  EXPECT_TRUE(std::equal(out.payload.begin(), out.payload.end(), payload.begin(), payload.end()));
}

}  // namespace
}  // namespace ringstack::proto::ipv4
