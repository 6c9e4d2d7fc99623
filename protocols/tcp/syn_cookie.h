// SYN cookies (RFC 4987 3.6): when a listener's SYN backlog is full, the
// SYN-ACK's ISS encodes what the connection needs, so no state is kept
// until the peer's ACK returns it (ACK = ISS + 1). Encoded as Linux does:
//
//   ISS = H1(4-tuple) + peer ISN + (count << 24) + ((H2(4-tuple, count) + mss_index) & 0xffffff)
//
// where count is a 64-second clock (a cookie is good for two ticks), H1/H2
// keyed SHA-256 and mss_index a 3-bit index into a table of common MSS
// values. With timestamps, the low 6 bits of the SYN-ACK's TSval carry the
// peer's window scale (4 bits, 15 for none) and SACK-permitted (1 bit); the
// ACK echoes them in TSecr. Without timestamps the connection has neither
// (as on Linux). Pure: `now` in, numbers out; never allocates.
#ifndef RINGSTACK_PROTOCOLS_TCP_SYN_COOKIE_H_
#define RINGSTACK_PROTOCOLS_TCP_SYN_COOKIE_H_

#include <array>
#include <cstdint>
#include <optional>

#include "protocols/common/address.h"
#include "protocols/common/time.h"
#include "protocols/tcp/seq_num.h"

namespace ringstack::proto::tcp {

struct CookieOptions {
  std::uint16_t mss = 536;
  std::optional<std::uint8_t> window_scale;  // the peer's shift
  bool sack = false;
  bool timestamps = false;
};

class SynCookies {
 public:
  static constexpr Duration kTick = Duration::Seconds(64);
  static constexpr std::uint32_t kMaxAge = 2;  // ticks a cookie stays good
  // The MSS values a cookie can name; a peer's MSS rounds down to one.
  static constexpr std::array<std::uint16_t, 8> kMss = {216, 536, 1220, 1300, 1400, 1440, 1460, 8960};

  explicit SynCookies(const std::array<std::byte, 16>& secret) : secret_(secret) {}

  // The ISS for a SYN with sequence number `peer_isn` whose peer offers `mss`.
  SeqNum Make(const IpAddress& local, std::uint16_t local_port, const IpAddress& remote, std::uint16_t remote_port,
              SeqNum peer_isn, std::uint16_t mss, Instant now) const;
  // For an ACK (SEQ = peer ISN + 1, ACK = cookie + 1): the MSS the cookie
  // holds, or none when it is not one of ours or too old.
  std::optional<std::uint16_t> Check(const IpAddress& local, std::uint16_t local_port, const IpAddress& remote,
                                     std::uint16_t remote_port, SeqNum seq, SeqNum ack, Instant now) const;

  // The SYN-ACK's TSval with the options in its low 6 bits, at or below
  // `tsval` (64 ms back when the bits would put it ahead).
  static std::uint32_t EncodeTsval(std::uint32_t tsval, const CookieOptions& o);
  // Window scale and SACK back from the echoed TSecr.
  static void DecodeTsecr(std::uint32_t tsecr, CookieOptions& o);

 private:
  std::uint32_t Hash(const IpAddress& local, std::uint16_t local_port, const IpAddress& remote,
                     std::uint16_t remote_port, std::uint32_t count, std::uint8_t which) const;
  std::array<std::byte, 16> secret_;
};

}  // namespace ringstack::proto::tcp

#endif  // RINGSTACK_PROTOCOLS_TCP_SYN_COOKIE_H_
