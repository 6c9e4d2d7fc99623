// Replay driver for the fuzz targets when not built with libFuzzer (gcc, or
// -Dfuzz=false): runs each file named on the command line, or, with none, a
// fixed-seed mix of random inputs and mutations of the scapy byte vectors, so
// every test run exercises the targets the same way.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <vector>

#include "tests/vectors/vectors.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

template <std::size_t N>
std::vector<std::uint8_t> V(const unsigned char (&a)[N]) {
  return std::vector<std::uint8_t>(a, a + N);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1) {
    for (int i = 1; i < argc; ++i) {
      std::ifstream in(argv[i], std::ios::binary);
      std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
    }
    std::printf("replayed %d inputs\n", argc - 1);
    return 0;
  }
  namespace v = ringstack::vectors;
  const std::vector<std::vector<std::uint8_t>> seeds = {
      V(v::kArpRequest), V(v::kArpReply), V(v::kIcmpEchoRequest), V(v::kIcmpEchoReply),
      V(v::kIpv4WithOptions), V(v::kIcmpEchoRequestPadded), V(v::kArpProbe), V(v::kArpAnnouncement),
      V(v::kUdpToClosedPort), V(v::kDhcpOffer), V(v::kDhcpAck), V(v::kDhcpNak), V(v::kIpv6EchoRequest),
      V(v::kNdNsFromPeer), V(v::kNdNaDefendsStatic), V(v::kNdRa), V(v::kMldv2GeneralQuery), V(v::kIpv6ExtChain),
      V(v::kIpv6UnknownOption), V(v::kTcpSyn), V(v::kTcpSynAck), V(v::kTcpDataSack6), V(v::kTcpRst)};
  // Seeds at every layer offset, so each parser sees valid inputs too.
  std::vector<std::vector<std::uint8_t>> corpus;
  for (const auto& s : seeds) {
    for (std::size_t off : {0u, 14u, 34u, 42u, 54u, 58u}) {  // Ethernet, IP, ICMP/UDP/TCP, DHCP, ICMPv6/TCP, its body
      if (off < s.size()) corpus.emplace_back(s.begin() + static_cast<long>(off), s.end());
    }
  }
  std::mt19937_64 rng(20261124);
  constexpr int kRuns = 20000;
  for (int i = 0; i < kRuns; ++i) {
    std::vector<std::uint8_t> input;
    if (i % 4 == 0) {
      input.resize(rng() % 128);
      for (auto& b : input) b = static_cast<std::uint8_t>(rng());
    } else {
      input = corpus[rng() % corpus.size()];
      const int flips = 1 + static_cast<int>(rng() % 4);
      for (int k = 0; k < flips && !input.empty(); ++k) input[rng() % input.size()] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
      if (rng() % 3 == 0 && !input.empty()) input.resize(rng() % input.size());
    }
    LLVMFuzzerTestOneInput(input.data(), input.size());
  }
  std::printf("ran %d generated inputs\n", kRuns);
  return 0;
}
