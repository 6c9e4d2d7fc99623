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

#include "tests/fuzz/seed_corpus.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

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
  const std::vector<std::vector<std::uint8_t>> corpus = ringstack::fuzz::SeedCorpus();
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
