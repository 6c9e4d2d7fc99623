// TCP micro benchmarks (issue #6): the receive path per in-order segment
// through a TcpConnection (parse included), and segment emission.
#include <cstring>
#include <memory>
#include <vector>

#include "benchmark/benchmark.h"
#include "protocols/tcp/tcp_connection.h"

namespace {

namespace tcp = ringstack::proto::tcp;
using ringstack::proto::Instant;
using ringstack::proto::IpAddress;
using ringstack::proto::Ipv4Address;

// A sink that drops everything (the engine copies; here only the protocol).
struct NullSink : tcp::TcpSink {
  void Transmit(const tcp::TcpRepr&, std::uint32_t, std::uint32_t) override { ++sent; }
  void Place(std::uint32_t, ringstack::proto::Bytes) override {}
  void Commit(std::uint32_t) override {}
  void Release(std::uint32_t) override {}
  void Event(tcp::TcpEvent) override {}
  std::uint64_t sent = 0;
};

// An established connection receiving 1448-byte segments in order, read by
// the application as they come (so the window stays open): parse + state
// machine + delayed-ACK bookkeeping per segment.
void BM_TcpReceiveSegment(benchmark::State& state) {
  const Ipv4Address us(0xc0000202), peer(0xc0000201);
  NullSink sink;
  tcp::TcpConfig config;
  config.timestamps = true;
  Instant now = Instant::FromNanos(1'000'000'000);
  auto c = tcp::TcpConnection::Connect(config, tcp::Endpoints{IpAddress(us), 7, IpAddress(peer), 40000},
                                       tcp::SeqNum(1000), now, sink);
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
  c->OnSegment(synack, now);
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
    c->OnSegment(*parsed, now);
    c->OnAppRead(1448, now);
    seq += 1448;
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * 1448);
  benchmark::DoNotOptimize(sink.sent);
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
