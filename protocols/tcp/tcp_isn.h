// Initial sequence numbers per RFC 6528 3:
//   ISN = M + F(localip, localport, remoteip, remoteport, secretkey)
// M is a timer ticking every 4 microseconds (RFC 9293 3.4.1's clock) and F
// the first 32 bits of SHA-256 over the connection's addresses and ports and
// a secret, so ISNs of different connections are unguessable from each
// other, and successive incarnations of one connection still move forward.
// Pure: `now` in, a number out; never allocates.
#ifndef RINGSTACK_PROTOCOLS_TCP_TCP_ISN_H_
#define RINGSTACK_PROTOCOLS_TCP_TCP_ISN_H_

#include <array>
#include <cstdint>

#include "protocols/common/address.h"
#include "protocols/common/time.h"
#include "protocols/tcp/seq_num.h"

namespace ringstack::proto {
class Sha256;
}

namespace ringstack::proto::tcp {

// Feeds a connection's 4-tuple into a hash (addresses as 4 or 16 bytes,
// then the ports): ISNs and SYN cookies hash it alike.
void HashFourTuple(Sha256& h, const IpAddress& local, std::uint16_t local_port, const IpAddress& remote,
                   std::uint16_t remote_port);

class IsnGenerator {
 public:
  // `secret`: 16 bytes the engine draws from a random source at start-up.
  explicit IsnGenerator(const std::array<std::byte, 16>& secret) : secret_(secret) {}
  SeqNum Isn(const IpAddress& local, std::uint16_t local_port, const IpAddress& remote, std::uint16_t remote_port,
             Instant now) const;
  // F alone (for tests and SYN cookies later).
  std::uint32_t Hash(const IpAddress& local, std::uint16_t local_port, const IpAddress& remote,
                     std::uint16_t remote_port) const;

 private:
  std::array<std::byte, 16> secret_;
};

}  // namespace ringstack::proto::tcp

#endif  // RINGSTACK_PROTOCOLS_TCP_TCP_ISN_H_
