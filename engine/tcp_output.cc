// TcpLayer's way out (tcp_layer.h): segments built from the socket's send
// ring, joined into super-segments for a link that cuts them, handed to IP.
#include <cstring>

#include "engine/tcp_layer.h"
#include "protocols/common/checksum.h"
#include "protocols/ethernet/ethernet_repr.h"
#include "protocols/ipv4/ipv4_repr.h"
#include "protocols/ipv6/ipv6_header.h"
#include "protocols/tcp/tcp_header.h"

namespace ringstack::engine {

namespace tcp = proto::tcp;

// Builds and sends a segment: the header, then `len` bytes from `data` at
// `offset` (the send ring, from SND.UNA's first byte). With a link that
// takes offload, data segments go through the super-segment builder
// (ExtendTso/FlushTso) with their checksum left to the link.
void TcpLayer::Send(const tcp::TcpRepr& h, const FlowKey& key, const rings::ByteRing* data, std::uint32_t offset,
                    std::uint32_t len, IpOutput::Path path, proto::IpEcn ecn) {
  if (link_offload_) {
    if (tso_.p && tso_.ecn == ecn && ExtendTso(h, key, data, offset, len)) return;
    FlushTso();
  }
  const std::size_t header = h.header_len();
  // A segment too large for the path (sent before its connection heard of
  // a smaller path MTU) goes alone, for IP to fragment (IPv6) or drop
  // (IPv4 with Don't Fragment): the link would cut a super-segment by the
  // segment size, not the path's MTU.
  const std::size_t ip_header = key.local.is_v6() ? proto::ipv6::kHeaderLen : proto::ipv4::Ipv4Repr::header_len();
  const bool tso = link_offload_ && len != 0 && header + len + ip_header <= ip_.PathMtu(key.remote);
  const bool large = header + len + 128 > ctx_.pool.data_size(rings::BufferClass::kStandard);
  Packet p = ctx_.pool.Get(large ? rings::BufferClass::kLarge : rings::BufferClass::kStandard);
  if (!p) {
    ctx_.pool_drop_empty.Inc();  // a lost segment: TCP sends it again
    return;
  }
  const auto seg = p.Append(header + len);
  if (seg.size() != header + len) {
    ctx_.pool_drop_no_headroom.Inc();
    return;
  }
  if (len != 0 && (data == nullptr || data->Peek(offset, seg.subspan(header)) != len)) return;
  counters_.tx.Inc();
  if (h.rst()) counters_.tx_rst.Inc();
  if (tso) {
    // The checksum is set when the frame goes (FlushTso), for its length.
    tso_.p = std::move(p);
    tso_.key = key;
    tso_.header = h;
    tso_.header.payload = {};
    tso_.next_seq = h.seq + len;
    tso_.mss = len;
    tso_.segments = 1;
    tso_.ecn = ecn;
    tso_.closed = (h.flags & ~(tcp::kAck | tcp::kEce | tcp::kCwr)) != 0;
    if (key.local.is_v6()) {
      h.EmitHeaderPartial(seg, key.local.v6(), key.remote.v6());
    } else {
      h.EmitHeaderPartial(seg, key.local.v4(), key.remote.v4());
    }
    return;
  }
  if (key.local.is_v6()) {
    h.EmitHeader(seg, key.local.v6(), key.remote.v6());
  } else {
    h.EmitHeader(seg, key.local.v4(), key.remote.v4());
  }
  if (path == IpOutput::Path::kTxThread) counters_.tx_window_update.Inc();
  SendSegment(std::move(p), key, path, ecn);
}

// A built TCP segment (header and payload) into IP toward key.remote.
void TcpLayer::SendSegment(Packet p, const FlowKey& key, IpOutput::Path path, proto::IpEcn ecn) {
  ip_.SendIp(std::move(p), key.local, key.remote, proto::ipv4::kProtoTcp, path, proto::WithEcn(0, ecn));
}

// A super-segment is what the segments it stands for would be: each but the
// last exactly `mss` long; all with one ACK, window, options (timestamps
// and SACK blocks) and ECN field, so the link copies the header to each;
// PSH or FIN only on the last, CWR only on the first (the link keeps them
// there, as Linux's tcp_gso_segment). An AccECN segment whose ACE has CWR
// set is joined by none (all of its burst have the same ACE, and the link
// would clear CWR on the rest), and AE is one for all.
bool TcpLayer::ExtendTso(const tcp::TcpRepr& h, const FlowKey& key, const rings::ByteRing* data, std::uint32_t offset,
                       std::uint32_t len) {
  // An IPv4 datagram of at most 65535 bytes with its 20-byte header.
  constexpr std::size_t kMaxTcpBytes = 65535 - 20;
  TsoBuild& b = tso_;
  if (b.closed || len == 0 || len > b.mss || data == nullptr || h.seq != b.next_seq || !(key == b.key)) return false;
  const std::uint8_t base = b.header.flags & ~tcp::kCwr;
  if ((h.flags & ~(tcp::kPsh | tcp::kFin)) != base || h.ack != b.header.ack || h.window != b.header.window ||
      h.urgent != 0 || h.ae != b.header.ae || !(h.options == b.header.options)) {
    return false;
  }
  if (b.p.size() + len > kMaxTcpBytes) return false;
  if (b.p.buffer_class() != rings::BufferClass::kLarge) {
    // The first segment went into a standard buffer (most writes are one
    // segment, and the RX stage needs the large ones): now it grows.
    Packet big = ctx_.pool.Get(rings::BufferClass::kLarge);
    if (!big) {
      b.closed = true;
      return false;
    }
    std::memcpy(big.Append(b.p.size()).data(), b.p.data().data(), b.p.size());
    big.offload() = b.p.offload();
    b.p = std::move(big);
  }
  const auto room = b.p.Append(len);
  if (room.size() != len) return false;
  if (data->Peek(offset, room) != len) {
    b.p.Truncate(b.p.size() - len);
    return false;
  }
  counters_.tx.Inc();
  if (h.flags != base) {
    // The first segment's header is in place: it takes this one's PSH/FIN.
    tcp::TcpHeaderMut::Checked(b.p.data())->set_flags(h.flags | (b.header.flags & tcp::kCwr));
    b.closed = true;
  }
  if (len < b.mss) b.closed = true;
  b.next_seq = b.next_seq + len;
  ++b.segments;
  return true;
}

void TcpLayer::FlushTso() {
  if (!tso_.p) return;
  Packet p = std::move(tso_.p);
  const FlowKey& key = tso_.key;
  const auto seg = p.data();
  // The pseudo-header's sum for the whole length: the link completes it (for
  // each segment it cuts, adjusting the length).
  proto::Checksum c;
  const bool v6 = key.local.is_v6();
  if (v6) {
    proto::AddPseudoHeader(c, key.local.v6(), key.remote.v6(), proto::ipv4::kProtoTcp,
                           static_cast<std::uint32_t>(seg.size()));
  } else {
    proto::AddPseudoHeader(c, key.local.v4(), key.remote.v4(), proto::ipv4::kProtoTcp,
                           static_cast<std::uint32_t>(seg.size()));
  }
  tcp::TcpHeaderMut::Checked(seg)->set_checksum(c.Folded());  // a segment built here: its header is in place
  rings::PacketOffload& o = p.offload();
  o.csum_start = static_cast<std::uint16_t>(proto::ethernet::kHeaderLen +
                                            (v6 ? proto::ipv6::kHeaderLen : proto::ipv4::Ipv4Repr::header_len()));
  o.csum_offset = proto::tcp::field::kChecksum;
  if (tso_.segments > 1) {
    o.gso_size = static_cast<std::uint16_t>(tso_.mss);
    counters_.tx_tso.Inc();
  }
  SendSegment(std::move(p), key, IpOutput::Path::kAny, tso_.ecn);
}

}  // namespace ringstack::engine
