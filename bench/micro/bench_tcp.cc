// TCP micro benchmarks: the receive path per in-order segment through a
// TcpConnection (parse included, its outcome counted and dropped), and
// segment parsing.
#include <cstring>
#include <memory>
#include <variant>
#include <vector>

#include "benchmark/benchmark.h"
#include "protocols/tcp/tcp_connection.h"

namespace {

namespace tcp = ringstack::proto::tcp;
using ringstack::proto::Instant;
using ringstack::proto::IpAddress;
using ringstack::proto::Ipv4Address;

// Counts the segments an outcome sends and drops it (the engine copies;
// here only the protocol).
std::uint64_t Drop(tcp::TcpOutcome& out) {
  std::uint64_t sent = 0;
  for (const tcp::TcpAction& a : out.actions()) sent += std::holds_alternative<tcp::TcpTransmit>(a);
  out.Clear();
  return sent;
}

// An established connection receiving 1448-byte segments in order, read by
// the application as they come (so the window stays open): parse + state
// machine + delayed-ACK bookkeeping per segment.
void BM_TcpReceiveSegment(benchmark::State& state) {
  const Ipv4Address us(0xc0000202), peer(0xc0000201);
  tcp::TcpOutcome out;
  std::uint64_t sent = 0;
  tcp::TcpConfig config;
  config.timestamps = true;
  Instant now = Instant::FromNanos(1'000'000'000);
  auto c = tcp::TcpConnection::Connect(config, tcp::Endpoints{IpAddress(us), 7, IpAddress(peer), 40000},
                                       tcp::SeqNum(1000), now, out);
  Drop(out);
  tcp::TcpRepr synack;
  synack.src_port = 40000;
  synack.dst_port = 7;
  synack.seq = tcp::SeqNum(5000);
  synack.ack = tcp::SeqNum(1001);
  synack.flags = tcp::kSyn | tcp::kAck;
  synack.window = 65535;
  synack.options.mss = 1460;
  synack.options.window_scale = 7;
  synack.options.timestamps = tcp::Timestamps{1, 1};
  c->OnSegment(synack, now, out);
  Drop(out);
  // One segment's bytes, re-stamped with the next sequence number each time.
  tcp::TcpRepr d;
  d.src_port = 40000;
  d.dst_port = 7;
  d.ack = tcp::SeqNum(1001);
  d.flags = tcp::kAck;
  d.window = 1024;
  d.options.timestamps = tcp::Timestamps{2, 1};
  const std::size_t header = d.header_len();
  std::vector<std::byte> seg(header + 1448, std::byte{'d'});
  tcp::SeqNum seq(5001);
  for (auto _ : state) {
    d.seq = seq;
    d.EmitHeader(seg, peer, us);
    const auto parsed = tcp::TcpRepr::Parse(seg, peer, us);
    c->OnSegment(*parsed, now, out);
    c->OnAppRead(1448, now, out);
    sent += Drop(out);
    seq += 1448;
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * 1448);
  benchmark::DoNotOptimize(sent);
}
BENCHMARK(BM_TcpReceiveSegment);

void BM_TcpParseSegment(benchmark::State& state) {
  const Ipv4Address a(0xc0000201), b(0xc0000202);
  tcp::TcpRepr d;
  d.src_port = 40000;
  d.dst_port = 7;
  d.flags = tcp::kAck | tcp::kPsh;
  d.options.timestamps = tcp::Timestamps{2, 1};
  std::vector<std::byte> seg(d.header_len() + 1448, std::byte{'d'});
  d.EmitHeader(seg, a, b);
  for (auto _ : state) benchmark::DoNotOptimize(tcp::TcpRepr::Parse(seg, a, b));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(seg.size()));
}
BENCHMARK(BM_TcpParseSegment);

}  // namespace
