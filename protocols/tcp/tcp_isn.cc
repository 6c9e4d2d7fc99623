#include "protocols/tcp/tcp_isn.h"

#include "protocols/common/bytes.h"
#include "protocols/common/sha256.h"

namespace ringstack::proto::tcp {

namespace {

void HashAddress(Sha256& h, const IpAddress& a) {
  std::array<std::byte, 16> b{};
  if (a.is_v6()) {
    a.v6().CopyTo(b.data());
    h.Update(b);
  } else {
    StoreBe32(b.data(), a.v4().value());
    h.Update(std::span(b).first(4));
  }
}

}  // namespace

void HashFourTuple(Sha256& h, const IpAddress& local, std::uint16_t local_port, const IpAddress& remote,
                   std::uint16_t remote_port) {
  HashAddress(h, local);
  HashAddress(h, remote);
  std::array<std::byte, 4> ports;
  StoreBe16(ports.data(), local_port);
  StoreBe16(ports.data() + 2, remote_port);
  h.Update(ports);
}

std::uint32_t IsnGenerator::Hash(const IpAddress& local, std::uint16_t local_port, const IpAddress& remote,
                                 std::uint16_t remote_port) const {
  Sha256 h;
  HashFourTuple(h, local, local_port, remote, remote_port);
  h.Update(secret_);
  const auto digest = h.Finish();
  return LoadBe32(digest.data());
}

SeqNum IsnGenerator::Isn(const IpAddress& local, std::uint16_t local_port, const IpAddress& remote,
                         std::uint16_t remote_port, Instant now) const {
  const auto ticks = static_cast<std::uint32_t>(static_cast<std::uint64_t>(now.nanos()) / 4000u);  // 4 us
  return SeqNum(ticks + Hash(local, local_port, remote, remote_port));
}

}  // namespace ringstack::proto::tcp
