// The fuzz targets' seeds: the scapy byte vectors (tests/vectors), each cut
// at every layer offset so every parser starts from valid input. The replay
// driver mutates them; fuzz_seeds writes them as libFuzzer corpus files.
#ifndef RINGSTACK_TESTS_FUZZ_SEED_CORPUS_H_
#define RINGSTACK_TESTS_FUZZ_SEED_CORPUS_H_

#include <cstdint>
#include <string>
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
  // iperf3's control messages, as Debian's 3.12 sent them (the lab).
  for (const std::string text : {
           R"({"tcp":true,"omit":0,"time":1,"num":0,"blockcount":0,"parallel":1,"reverse":true,"len":131072,)"
           R"("pacing_timer":1000,"client_version":"3.12"})",
           R"({"udp":true,"omit":0,"time":2,"num":0,"blockcount":0,"parallel":2,"bidirectional":true,"len":1460,)"
           R"("bandwidth":20000000,"udp_counters_64bit":1,"client_version":"3.12"})",
           R"({"cpu_util_total":33.3586276519412,"cpu_util_user":1.723887858438905,"cpu_util_system":31.63,)"
           R"("sender_has_retransmits":18446744073709551615,"congestion_used":"bbr","streams":[{"id":1,)"
           R"("bytes":272487624,"retransmits":18446744073709551615,"jitter":0,"errors":0,"packets":0,)"
           R"("start_time":0,"end_time":1.000036}]})"}) {
    corpus.emplace_back(text.begin(), text.end());
  }
  return corpus;
}

}  // namespace ringstack::fuzz

#endif  // RINGSTACK_TESTS_FUZZ_SEED_CORPUS_H_
