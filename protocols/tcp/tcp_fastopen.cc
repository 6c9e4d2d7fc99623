#include "protocols/tcp/tcp_fastopen.h"

#include <algorithm>

#include "protocols/common/bytes.h"
#include "protocols/common/sha256.h"

namespace ringstack::proto::tcp {

std::string_view FastOpenModeName(FastOpenMode m) {
  switch (m) {
    case FastOpenMode::kOff: return "off";
    case FastOpenMode::kClient: return "client";
    case FastOpenMode::kServer: return "server";
    case FastOpenMode::kBoth: return "both";
  }
  return "?";
}

std::optional<FastOpenMode> ParseFastOpenMode(std::string_view name) {
  for (const FastOpenMode m : {FastOpenMode::kOff, FastOpenMode::kClient, FastOpenMode::kServer, FastOpenMode::kBoth}) {
    if (name == FastOpenModeName(m)) return m;
  }
  return std::nullopt;
}

namespace {
std::uint64_t Period(Instant now) {
  return static_cast<std::uint64_t>(now.nanos() / FastOpenCookies::kRotation.nanos());
}
}  // namespace

FastOpenCookie FastOpenCookies::MakeFor(const IpAddress& client, std::uint64_t period) const {
  Sha256 h;
  std::array<std::byte, 17> addr{};
  if (client.is_v6()) {
    addr[0] = std::byte{6};
    client.v6().CopyTo(addr.data() + 1);
    h.Update(addr);
  } else {
    addr[0] = std::byte{4};
    StoreBe32(addr.data() + 1, client.v4().value());
    h.Update(std::span(addr).first(5));
  }
  h.Update(secret_);
  std::array<std::byte, 8> p;
  StoreBe32(p.data(), static_cast<std::uint32_t>(period >> 32));
  StoreBe32(p.data() + 4, static_cast<std::uint32_t>(period));
  h.Update(p);
  const auto digest = h.Finish();
  FastOpenCookie c;
  std::copy_n(digest.begin(), kLen, c.bytes.begin());
  c.len = kLen;
  return c;
}

FastOpenCookie FastOpenCookies::Make(const IpAddress& client, Instant now) const {
  return MakeFor(client, Period(now));
}

bool FastOpenCookies::Check(const IpAddress& client, const FastOpenCookie& cookie, Instant now) const {
  if (cookie.len != kLen) return false;
  const std::uint64_t period = Period(now);
  if (cookie == MakeFor(client, period)) return true;
  return period > 0 && cookie == MakeFor(client, period - 1);
}

}  // namespace ringstack::proto::tcp
