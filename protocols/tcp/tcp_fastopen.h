// TCP Fast Open (RFC 7413): the server's cookies. A cookie is a MAC over
// the client's IP address (4.1.2): the first 8 octets of SHA-256 over the
// address, a 16-octet secret and the number of the secret's period. The
// secret rotates every `kRotation` (each period's key is the secret hashed
// with the period's number, so nothing needs to be stored): a cookie made
// in one period is good in it and the next, and then no more, so a cookie
// that leaked stops opening connections within two periods. Pure: `now` in,
// bytes out; never allocates.
#ifndef RINGSTACK_PROTOCOLS_TCP_TCP_FASTOPEN_H_
#define RINGSTACK_PROTOCOLS_TCP_TCP_FASTOPEN_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

#include "protocols/common/address.h"
#include "protocols/common/time.h"
#include "protocols/tcp/tcp_repr.h"

namespace ringstack::proto::tcp {

// Who may use TCP Fast Open: the values are Linux's net.ipv4.tcp_fastopen
// bits (1 client, 2 server).
enum class FastOpenMode { kOff = 0, kClient = 1, kServer = 2, kBoth = 3 };
std::string_view FastOpenModeName(FastOpenMode m);
std::optional<FastOpenMode> ParseFastOpenMode(std::string_view name);
inline bool FastOpenClient(FastOpenMode m) { return (static_cast<int>(m) & 1) != 0; }
inline bool FastOpenServer(FastOpenMode m) { return (static_cast<int>(m) & 2) != 0; }

class FastOpenCookies {
 public:
  static constexpr Duration kRotation = Duration::Seconds(3600);
  static constexpr std::uint8_t kLen = 8;

  // `secret`: 16 octets drawn once for the whole engine, so that every
  // shard makes and takes the same cookies.
  explicit FastOpenCookies(const std::array<std::byte, 16>& secret) : secret_(secret) {}

  FastOpenCookie Make(const IpAddress& client, Instant now) const;
  // Made for `client` in this period or the one before.
  bool Check(const IpAddress& client, const FastOpenCookie& cookie, Instant now) const;

 private:
  FastOpenCookie MakeFor(const IpAddress& client, std::uint64_t period) const;
  std::array<std::byte, 16> secret_;
};

}  // namespace ringstack::proto::tcp

#endif  // RINGSTACK_PROTOCOLS_TCP_TCP_FASTOPEN_H_
