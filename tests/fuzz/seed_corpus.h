// The fuzz targets' seeds: the scapy byte vectors (tests/vectors), each cut
// at every layer offset so every parser starts from valid input. The replay
// driver mutates them; fuzz_seeds writes them as libFuzzer corpus files.
#ifndef RINGSTACK_TESTS_FUZZ_SEED_CORPUS_H_
#define RINGSTACK_TESTS_FUZZ_SEED_CORPUS_H_

#include <cstdint>
#include <vector>

#include "tests/vectors/vectors.h"

namespace ringstack::fuzz {

template <std::size_t N>
std::vector<std::uint8_t> V(const unsigned char (&a)[N]) {
  return std::vector<std::uint8_t>(a, a + N);
}

inline std::vector<std::vector<std::uint8_t>> SeedCorpus() {
  namespace v = ringstack::vectors;
  const std::vector<std::vector<std::uint8_t>> seeds = {
      V(v::kArpRequest), V(v::kArpReply), V(v::kIcmpEchoRequest), V(v::kIcmpEchoReply),
      V(v::kIpv4WithOptions), V(v::kIcmpEchoRequestPadded), V(v::kArpProbe), V(v::kArpAnnouncement),
      V(v::kUdpToClosedPort), V(v::kDhcpOffer), V(v::kDhcpAck), V(v::kDhcpNak), V(v::kIpv6EchoRequest),
      V(v::kNdNsFromPeer), V(v::kNdNaDefendsStatic), V(v::kNdRa), V(v::kMldv2GeneralQuery), V(v::kIpv6ExtChain),
      V(v::kIpv6UnknownOption), V(v::kTcpSyn), V(v::kTcpSynAck), V(v::kTcpDataSack6), V(v::kTcpRst)};
  std::vector<std::vector<std::uint8_t>> corpus;
  for (const auto& s : seeds) {
    for (std::size_t off : {0u, 14u, 34u, 42u, 54u, 58u}) {  // Ethernet, IP, ICMP/UDP/TCP, DHCP, ICMPv6/TCP, its body
      if (off < s.size()) corpus.emplace_back(s.begin() + static_cast<long>(off), s.end());
    }
  }
  return corpus;
}

}  // namespace ringstack::fuzz

#endif  // RINGSTACK_TESTS_FUZZ_SEED_CORPUS_H_
