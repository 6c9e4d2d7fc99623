// Replay driver for the fuzz targets when not built with libFuzzer (gcc, or
// -Dfuzz=false):
//   fuzz_X FILE|DIR...   runs each file (every file under a directory), in
//                        name order, and says how many it ran;
//   fuzz_X               runs a fixed-seed mix of random inputs and
//                        mutations of the target's seeds (FuzzTargetSeeds:
//                        the scapy vectors, or the target's own scripts), so
//                        every test run exercises the target the same way;
//                        RS_FUZZ_RUNS sets how many (default: the target's).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "tests/fuzz/fuzz_common.h"
#include "tests/fuzz/seed_corpus.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

// A target with seeds of its own (scripts, not frames) defines these.
__attribute__((weak)) std::vector<std::vector<std::uint8_t>> FuzzTargetSeeds() {
  return ringstack::fuzz::SeedCorpus();
}
__attribute__((weak)) int FuzzTargetRuns() { return 20000; }

namespace {

std::vector<std::uint8_t> ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<std::uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

int Replay(int argc, char** argv) {
  std::vector<std::filesystem::path> files;
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path arg(argv[i]);
    if (std::filesystem::is_directory(arg)) {
      for (const auto& e : std::filesystem::recursive_directory_iterator(arg)) {
        if (e.is_regular_file()) files.push_back(e.path());
      }
    } else if (std::filesystem::is_regular_file(arg)) {
      files.push_back(arg);
    } else {
      std::fprintf(stderr, "no such file or directory: %s\n", argv[i]);
      return 2;
    }
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    const std::vector<std::uint8_t> bytes = ReadFile(f);
    LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
  }
  std::printf("replayed %zu inputs\n", files.size());
  // Nothing replayed is a mistake (an empty or wrong corpus path).
  return files.empty() ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1) return Replay(argc, argv);
  const std::vector<std::vector<std::uint8_t>> corpus = FuzzTargetSeeds();
  RS_FUZZ_CHECK(!corpus.empty());
  std::mt19937_64 rng(20261124);
  const char* runs_env = std::getenv("RS_FUZZ_RUNS");
  const int runs = runs_env != nullptr ? std::atoi(runs_env) : FuzzTargetRuns();
  for (const auto& seed : corpus) LLVMFuzzerTestOneInput(seed.data(), seed.size());
  for (int i = 0; i < runs; ++i) {
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
  std::printf("ran %zu seeds and %d generated inputs\n", corpus.size(), runs);
  return 0;
}
