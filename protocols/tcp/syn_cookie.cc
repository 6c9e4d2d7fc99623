#include "protocols/tcp/syn_cookie.h"

#include <algorithm>

#include "protocols/common/bytes.h"
#include "protocols/common/sha256.h"
#include "protocols/tcp/tcp_isn.h"

namespace ringstack::proto::tcp {
namespace {

constexpr int kCookieBits = 24;
constexpr std::uint32_t kCookieMask = (1u << kCookieBits) - 1;

std::uint32_t Count(Instant now) {
  return static_cast<std::uint32_t>(now.nanos() / SynCookies::kTick.nanos());
}

}  // namespace

std::uint32_t SynCookies::Hash(const IpAddress& local, std::uint16_t local_port, const IpAddress& remote,
                               std::uint16_t remote_port, std::uint32_t count, std::uint8_t which) const {
  Sha256 h;
  HashFourTuple(h, local, local_port, remote, remote_port);
  std::array<std::byte, 5> tail;
  StoreBe32(tail.data(), count);
  tail[4] = std::byte{which};
  h.Update(tail);
  h.Update(secret_);
  const auto digest = h.Finish();
  return LoadBe32(digest.data());
}

SeqNum SynCookies::Make(const IpAddress& local, std::uint16_t local_port, const IpAddress& remote,
                        std::uint16_t remote_port, SeqNum peer_isn, std::uint16_t mss, Instant now) const {
  std::uint32_t index = 0;
  for (std::uint32_t i = 0; i < kMss.size(); ++i) {
    if (kMss[i] <= mss) index = i;
  }
  const std::uint32_t count = Count(now);
  const std::uint32_t h1 = Hash(local, local_port, remote, remote_port, 0, 1);
  const std::uint32_t h2 = Hash(local, local_port, remote, remote_port, count, 2);
  return SeqNum(h1 + peer_isn.value() + (count << kCookieBits) + ((h2 + index) & kCookieMask));
}

std::optional<std::uint16_t> SynCookies::Check(const IpAddress& local, std::uint16_t local_port,
                                               const IpAddress& remote, std::uint16_t remote_port, SeqNum seq,
                                               SeqNum ack, Instant now) const {
  const std::uint32_t peer_isn = seq.value() - 1;
  const std::uint32_t cookie = ack.value() - 1;
  const std::uint32_t h1 = Hash(local, local_port, remote, remote_port, 0, 1);
  const std::uint32_t rest = cookie - h1 - peer_isn;
  const std::uint32_t now_count = Count(now);
  // The count's low 8 bits ride in the top of the cookie.
  const std::uint32_t age = (now_count - (rest >> kCookieBits)) & 0xff;
  if (age >= kMaxAge) return std::nullopt;
  const std::uint32_t count = now_count - age;
  const std::uint32_t h2 = Hash(local, local_port, remote, remote_port, count, 2);
  const std::uint32_t index = (rest - h2) & kCookieMask;
  if (index >= kMss.size()) return std::nullopt;
  return kMss[index];
}

std::uint32_t SynCookies::EncodeTsval(std::uint32_t tsval, const CookieOptions& o) {
  const std::uint32_t ws = o.window_scale ? std::min<std::uint32_t>(*o.window_scale, 14) : 0xf;
  std::uint32_t v = (tsval & ~0x3fu) | ws | (o.sack ? 0x10u : 0u);
  // Never ahead of the clock (as Linux): the connection's later TSvals must
  // not look older to the peer's PAWS.
  if (static_cast<std::int32_t>(v - tsval) > 0) v -= 0x40u;
  return v;
}

void SynCookies::DecodeTsecr(std::uint32_t tsecr, CookieOptions& o) {
  const std::uint32_t ws = tsecr & 0xf;
  o.window_scale = ws == 0xf ? std::nullopt : std::optional<std::uint8_t>(static_cast<std::uint8_t>(ws));
  o.sack = (tsecr & 0x10u) != 0;
  o.timestamps = true;
}

}  // namespace ringstack::proto::tcp
