// Parse and emit per protocol (issue #8's micro suite), on the scapy byte
// vectors the unit tests use, and the checksum over a range of sizes in
// bytes per second. (Rings, pool, reassembly, routing and the whole-engine
// echo are in bench_rings.cc; TCP's receive path per segment in bench_tcp.cc.)
#include <cstring>
#include <string_view>
#include <vector>

#include "benchmark/benchmark.h"
#include "protocols/arp/arp_repr.h"
#include "protocols/common/checksum.h"
#include "protocols/common/json.h"
#include "protocols/ethernet/ethernet_repr.h"
#include "protocols/icmpv4/icmpv4_repr.h"
#include "protocols/icmpv6/icmpv6_repr.h"
#include "protocols/icmpv6/nd/nd_repr.h"
#include "protocols/iperf3/iperf3.h"
#include "protocols/ipv4/ipv4_repr.h"
#include "protocols/ipv6/ipv6_repr.h"
#include "protocols/tcp/tcp_repr.h"
#include "protocols/udp/udp_repr.h"
#include "tests/vectors/vectors.h"

namespace {

namespace proto = ringstack::proto;
namespace vectors = ringstack::vectors;

template <std::size_t N>
std::span<const std::byte> From(const unsigned char (&a)[N], std::size_t offset = 0) {
  return std::span<const std::byte>(reinterpret_cast<const std::byte*>(a) + offset, N - offset);
}

const auto kA4 = *proto::Ipv4Address::Parse("192.0.2.1");
const auto kB4 = *proto::Ipv4Address::Parse("192.0.2.2");

void BM_Checksum(benchmark::State& state) {
  std::vector<std::byte> buf(static_cast<std::size_t>(state.range(0)), std::byte{0x5a});
  for (auto _ : state) benchmark::DoNotOptimize(proto::InternetChecksum(buf));
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Checksum)->Arg(64)->Arg(1500)->Arg(9000)->Arg(65536);

void BM_EthernetParse(benchmark::State& state) {
  const auto f = From(vectors::kArpRequest);
  for (auto _ : state) benchmark::DoNotOptimize(proto::ethernet::EthernetRepr::Parse(f));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EthernetParse);

void BM_EthernetEmit(benchmark::State& state) {
  const auto e = *proto::ethernet::EthernetRepr::Parse(From(vectors::kArpRequest));
  std::byte out[14];
  for (auto _ : state) {
    e.Emit(out);
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EthernetEmit);

void BM_ArpParseEmit(benchmark::State& state) {
  const auto p = From(vectors::kArpRequest, 14);
  std::byte out[28];
  for (auto _ : state) {
    const auto a = proto::arp::ArpRepr::Parse(p);
    a->Emit(out);
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ArpParseEmit);

void BM_Ipv4Emit(benchmark::State& state) {
  const auto ip = *proto::ipv4::Ipv4Repr::Parse(From(vectors::kIcmpEchoRequest, 14));
  std::byte out[20];
  for (auto _ : state) {
    ip.Emit(out);  // header checksum included
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Ipv4Emit);

void BM_Icmpv4Parse(benchmark::State& state) {
  const auto m = From(vectors::kIcmpEchoRequest, 34);
  for (auto _ : state) benchmark::DoNotOptimize(proto::icmpv4::Icmpv4Repr::Parse(m));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Icmpv4Parse);

// A 1472-byte UDP datagram over IPv4: parse (checksum verified) and emit
// (checksum computed), the per-datagram cost of UDP at 1500 MTU.
void BM_UdpParseEmit1472(benchmark::State& state) {
  std::vector<std::byte> d(8 + 1464, std::byte{0x42});
  proto::udp::UdpRepr{40000, 5201, {}}.EmitHeader(d, kA4, kB4);
  for (auto _ : state) {
    const auto u = proto::udp::UdpRepr::Parse(d, kA4, kB4);
    u->EmitHeader(d, kA4, kB4);
    benchmark::DoNotOptimize(d.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(d.size()));
}
BENCHMARK(BM_UdpParseEmit1472);

void BM_Ipv6Parse(benchmark::State& state) {
  const auto p = From(vectors::kIpv6EchoRequest, 14);
  for (auto _ : state) benchmark::DoNotOptimize(proto::ipv6::Ipv6Repr::Parse(p));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Ipv6Parse);

void BM_Icmpv6Parse(benchmark::State& state) {
  const auto p = From(vectors::kIpv6EchoRequest, 14);
  const auto ip = *proto::ipv6::Ipv6Repr::Parse(p);
  const auto m = p.subspan(40, ip.payload_len);
  for (auto _ : state) benchmark::DoNotOptimize(proto::icmpv6::Icmpv6Repr::Parse(m, ip.src, ip.dst));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Icmpv6Parse);

void BM_NdNeighborSolicitationParse(benchmark::State& state) {
  const auto p = From(vectors::kNdNsFromPeer, 14);
  const auto ip = *proto::ipv6::Ipv6Repr::Parse(p);
  const auto body = p.subspan(40 + 4, ip.payload_len - 4);  // after type, code, checksum
  for (auto _ : state) benchmark::DoNotOptimize(proto::nd::NeighborSolicitation::Parse(body));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_NdNeighborSolicitationParse);

// A full-sized TCP segment's header emitted with its checksum (over the
// 1448 payload bytes too): what every data segment sent costs in protocols/.
void BM_TcpEmit1448(benchmark::State& state) {
  proto::tcp::TcpRepr h;
  h.src_port = 5201;
  h.dst_port = 40000;
  h.flags = proto::tcp::kAck | proto::tcp::kPsh;
  h.seq = proto::tcp::SeqNum(1000);
  h.ack = proto::tcp::SeqNum(2000);
  h.window = 65535;
  h.options.timestamps = proto::tcp::Timestamps{1, 2};
  std::vector<std::byte> seg(h.header_len() + 1448, std::byte{0x61});
  for (auto _ : state) {
    h.EmitHeader(seg, kA4, kB4);
    benchmark::DoNotOptimize(seg.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * 1448);
}
BENCHMARK(BM_TcpEmit1448);

// The iperf3 parameters a client sends: JSON read, then checked.
void BM_Iperf3ParamsParse(benchmark::State& state) {
  constexpr std::string_view kParams =
      R"({"tcp":true,"omit":0,"time":10,"num":0,"blockcount":0,"parallel":4,"reverse":true,"len":131072,)"
      R"("pacing_timer":1000,"client_version":"3.12"})";
  for (auto _ : state) benchmark::DoNotOptimize(proto::iperf3::Params::Parse(kParams));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Iperf3ParamsParse);

}  // namespace
