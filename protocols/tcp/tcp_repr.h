// TcpRepr: a validated TCP segment (RFC 9293 3.1) with its options, Parse and
// Emit. Pure: bytes and addresses in, values out; never allocates.
//
// Parse checks integrity (length, data offset, checksum over the IPv4 or
// IPv6 pseudo-header), then the options, then sanity: ports not zero, no
// SYN+FIN or SYN+RST. Each failure is its own ParseError, counted by the
// engine under tcp_drop_<name>. Options (TcpOptions): End and NOP, MSS (2),
// window scale (3), SACK-permitted (4), SACK blocks (5, 1..4 of them),
// timestamps (8), TCP Fast Open (34, RFC 7413 4.1.1: empty, a cookie
// request, or a cookie of 4 to 16 octets, an even count; any other length
// is ignored as Linux does), AccECN (172 and 174, RFC 9768 3.2.3: 0 to 3
// fields of 24 bits; another length is ignored, as Linux does); unknown
// kinds are skipped by their length; a length below
// 2, past the header, or wrong for a known kind is kBadOption (the segment is
// dropped, RFC 9293 3.1 "Options" and RFC 1122 4.2.2.5 would have us ignore
// only unknown ones).
//
// Emit writes the header in front of a payload already in place, options in
// Linux's layout (so captures read alike): MSS, SACK-permitted + timestamps
// or NOP NOP timestamps, NOP window scale, NOP NOP SACK blocks, AccECN
// (NOPs in front to a multiple of 4), Fast Open (NOP NOP after it when its
// length leaves 2 octets over); the AE bit; the checksum over the
// pseudo-header, header and payload.
#ifndef RINGSTACK_PROTOCOLS_TCP_TCP_REPR_H_
#define RINGSTACK_PROTOCOLS_TCP_TCP_REPR_H_

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "protocols/common/address.h"
#include "protocols/common/bytes.h"
#include "protocols/common/parse_error.h"
#include "protocols/tcp/seq_num.h"
#include "protocols/tcp/tcp_header.h"

namespace ringstack::proto::tcp {

// A SACK block (RFC 2018 3): [left, right) received out of order.
struct SackBlock {
  SeqNum left;
  SeqNum right;
  bool operator==(const SackBlock&) const = default;
};

struct Timestamps {
  std::uint32_t tsval = 0;
  std::uint32_t tsecr = 0;
  bool operator==(const Timestamps&) const = default;
};

// A TCP Fast Open cookie (RFC 7413 4.1.1); `len` 0 is a cookie request.
struct FastOpenCookie {
  static constexpr std::size_t kMin = 4;
  static constexpr std::size_t kMax = 16;
  std::array<std::byte, kMax> bytes{};
  std::uint8_t len = 0;
  Bytes view() const { return Bytes(bytes.data(), len); }
  bool operator==(const FastOpenCookie& o) const {
    return len == o.len && std::equal(bytes.begin(), bytes.begin() + len, o.bytes.begin());
  }
};

// The AccECN option (RFC 9768 3.2.3): kind 172, order 0 (EE0B, ECEB,
// EE1B), or 174, order 1 (EE1B, ECEB, EE0B); the first `fields` of them,
// each 24 bits, in wire order.
struct AccEcnOption {
  static constexpr std::size_t kBaseLen = 2;
  static constexpr std::size_t kFieldLen = 3;
  static constexpr std::size_t kMaxFields = 3;
  bool order1 = false;
  std::uint8_t fields = 0;
  std::array<std::uint32_t, kMaxFields> field{};
  std::size_t len() const { return kBaseLen + kFieldLen * fields; }
  bool operator==(const AccEcnOption& o) const {
    return order1 == o.order1 && fields == o.fields && std::equal(field.begin(), field.begin() + fields, o.field.begin());
  }
};

struct TcpOptions {
  static constexpr std::size_t kMaxSackBlocks = 4;

  std::optional<std::uint16_t> mss;
  std::optional<std::uint8_t> window_scale;  // the shift as sent (RFC 7323 2.3: > 14 is used as 14)
  bool sack_permitted = false;
  std::optional<Timestamps> timestamps;
  std::array<SackBlock, kMaxSackBlocks> sack{};
  std::uint8_t sack_count = 0;
  std::optional<FastOpenCookie> fastopen;  // SYN and SYN-ACK only
  std::optional<AccEcnOption> accecn;

  static Parsed<TcpOptions> Parse(Bytes options);
  // Bytes Emit writes: a multiple of 4, at most kMaxOptionsLen. SACK blocks
  // that do not fit (with timestamps, 3 do) are left out, last first; the
  // caller sizes an AccECN option to the room SACK leaves (AccEcnRoom).
  std::size_t EmitLen() const;
  // Octets an AccECN option may take beside the other options.
  std::size_t AccEcnRoom() const;
  // out.size() == EmitLen().
  void Emit(MutableBytes out) const;
  bool operator==(const TcpOptions&) const = default;
};

struct TcpRepr {
  std::uint16_t src_port = 0;
  std::uint16_t dst_port = 0;
  SeqNum seq;
  SeqNum ack;
  std::uint8_t flags = 0;
  bool ae = false;           // RFC 9768's AE bit
  std::uint16_t window = 0;  // the field as on the wire (unscaled)
  std::uint16_t urgent = 0;
  TcpOptions options;
  Bytes payload;  // Parse: a view into the segment

  bool syn() const { return (flags & kSyn) != 0; }
  bool fin() const { return (flags & kFin) != 0; }
  bool rst() const { return (flags & kRst) != 0; }
  bool has_ack() const { return (flags & kAck) != 0; }
  bool ece() const { return (flags & kEce) != 0; }
  bool cwr() const { return (flags & kCwr) != 0; }
  // RFC 9768 3.2.2: AE, CWR and ECE as one 3-bit number, and setting them.
  std::uint8_t ace() const { return static_cast<std::uint8_t>((ae ? 4 : 0) | (cwr() ? 2 : 0) | (ece() ? 1 : 0)); }
  void set_ace(std::uint8_t ace) {
    ae = (ace & 4) != 0;
    flags = static_cast<std::uint8_t>((flags & ~(kCwr | kEce)) | ((ace & 2) != 0 ? kCwr : 0) | ((ace & 1) != 0 ? kEce : 0));
  }
  // RFC 9293 3.4 SEG.LEN: payload octets plus one each for SYN and FIN.
  std::uint32_t seg_len() const {
    return static_cast<std::uint32_t>(payload.size()) + (syn() ? 1 : 0) + (fin() ? 1 : 0);
  }
  std::size_t header_len() const { return kMinHeaderLen + options.EmitLen(); }

  // verify_checksum false: a link with offload vouched for the checksum
  // (the field may hold only the pseudo-header's sum); all else is checked.
  static Parsed<TcpRepr> Parse(Bytes segment, Ipv4Address src, Ipv4Address dst, bool verify_checksum = true);
  static Parsed<TcpRepr> Parse(Bytes segment, const Ipv6Address& src, const Ipv6Address& dst,
                               bool verify_checksum = true);
  // segment = [header_len() bytes][payload bytes already in place].
  void EmitHeader(MutableBytes segment, Ipv4Address src, Ipv4Address dst) const;
  void EmitHeader(MutableBytes segment, const Ipv6Address& src, const Ipv6Address& dst) const;
  // The same with the checksum left partial for a link to complete
  // (checksum offload): the field holds the pseudo-header's folded sum, not
  // complemented, and the payload is not read.
  void EmitHeaderPartial(MutableBytes segment, Ipv4Address src, Ipv4Address dst) const;
  void EmitHeaderPartial(MutableBytes segment, const Ipv6Address& src, const Ipv6Address& dst) const;

  // "S.", "P.", "R." ... as tcpdump writes the flags ("e" for AE), for logs
  // and tests.
  std::string FlagString() const;
};

}  // namespace ringstack::proto::tcp

#endif  // RINGSTACK_PROTOCOLS_TCP_TCP_REPR_H_
