// The virtio-net header (struct virtio_net_hdr, 10 bytes) that a TAP opened
// with IFF_VNET_HDR puts before every frame it hands us and expects before
// every frame we write: checksum offload (NEEDS_CSUM with csum_start and
// csum_offset; DATA_VALID) and segmentation offload (gso_type TCPV4/TCPV6
// with gso_size, hdr_len). Pure: bytes and values in, values out; the TAP
// (tap.cc) does the system calls. Little-endian, as a TAP keeps it unless
// told TUNSETVNETBE (VIRTIO 1.0 5.1.6; Linux drivers/net/tun.c,
// include/linux/virtio_net.h).
//
// Also the kernel's side, for links that have no kernel behind them (the
// simulated wire) and for tests: Segment cuts a TCP super-frame into wire
// frames as the kernel's GSO does, and CompleteChecksum finishes a partial
// checksum.
#ifndef RINGSTACK_ENGINE_LINK_VNET_HDR_H_
#define RINGSTACK_ENGINE_LINK_VNET_HDR_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "absl/functional/function_ref.h"
#include "rings/packet_pool.h"

namespace ringstack::engine::vnet {

inline constexpr std::size_t kHeaderLen = 10;

inline constexpr std::uint8_t kFlagNeedsCsum = 1;
inline constexpr std::uint8_t kFlagDataValid = 2;

inline constexpr std::uint8_t kGsoNone = 0;
inline constexpr std::uint8_t kGsoTcpV4 = 1;
inline constexpr std::uint8_t kGsoUdp = 3;
inline constexpr std::uint8_t kGsoTcpV6 = 4;
inline constexpr std::uint8_t kGsoUdpL4 = 5;
inline constexpr std::uint8_t kGsoEcn = 0x80;

// The largest frame a TAP with TSO hands over: a 64 KiB IP datagram in an
// Ethernet frame (with a VLAN tag's room).
inline constexpr std::size_t kMaxGsoFrame = 65535 + 18;

struct Header {
  std::uint8_t flags = 0;
  std::uint8_t gso_type = kGsoNone;
  std::uint16_t hdr_len = 0;      // Ethernet + IP + TCP headers of a GSO frame
  std::uint16_t gso_size = 0;     // payload bytes per segment
  std::uint16_t csum_start = 0;   // from the frame's first byte
  std::uint16_t csum_offset = 0;  // from csum_start
  bool operator==(const Header&) const = default;

  static Header Parse(std::span<const std::byte, kHeaderLen> b);
  void Emit(std::span<std::byte, kHeaderLen> b) const;
};

// Why a received frame's header cannot be taken (counted by the TAP).
enum class RxVerdict {
  kOk,
  kBadChecksumOffsets,  // NEEDS_CSUM whose field lies past the frame
  kUnsupportedGso,      // UDP fragmentation/segmentation, which we never asked for
  kBadGso,              // a TCP GSO frame with gso_size 0 or no TCP header where it says
};
const char* RxVerdictName(RxVerdict v);

// What a received frame's header says of it, into `out`: the checksum is
// trusted (NEEDS_CSUM: it never left the host and its checksum is partial;
// DATA_VALID: the host checked it) and, for a TCP super-frame, gso_size.
RxVerdict ToOffload(const Header& h, std::span<const std::byte> frame, rings::PacketOffload& out);

// The header to write before `frame`: zero for a plain frame; NEEDS_CSUM
// with the offsets for a partial checksum; gso_type TCPV4/TCPV6 (by the
// EtherType), gso_size and hdr_len for a super-segment.
Header FromOffload(std::span<const std::byte> frame, const rings::PacketOffload& offload);

// Finishes a partial checksum in place: the one's-complement sum of
// [csum_start, end), the field holding the pseudo-header's sum, stored
// complemented at csum_start + csum_offset. False when the offsets do not fit.
bool CompleteChecksum(std::span<std::byte> frame, std::size_t csum_start, std::size_t csum_offset);

// The kernel's TCP GSO in software: a super-frame (Ethernet, IPv4 or IPv6
// without extension headers, TCP) cut into frames of gso_size payload bytes,
// each with its IP length (IPv4: identification + i and a new header
// checksum), its sequence number, FIN and PSH on the last only, CWR on the
// first only, and a full TCP checksum. A frame with only a partial checksum
// comes back whole with it completed; a plain frame as it is. Empty when the
// frame is not what its offload says. Allocates: for tests and the
// simulated wire, not the data path.
std::vector<std::vector<std::byte>> Segment(std::span<const std::byte> frame,
                                            const rings::PacketOffload& offload);
// The same, each frame built in `scratch` (reused: no allocation once it has
// grown) and handed to `emit`; false (nothing emitted) when Segment would
// return none.
bool ForEachSegment(std::span<const std::byte> frame, const rings::PacketOffload& offload,
                    std::vector<std::byte>& scratch,
                    absl::FunctionRef<void(std::span<const std::byte>)> emit);

}  // namespace ringstack::engine::vnet

#endif  // RINGSTACK_ENGINE_LINK_VNET_HDR_H_
