// fuzz_seeds DIR: writes the seed corpus (seed_corpus.h) into DIR, one file
// per seed, for libFuzzer runs (scripts/fuzz). Built in every build.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "tests/fuzz/seed_corpus.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_seeds DIR\n");
    return 2;
  }
  std::filesystem::create_directories(argv[1]);
  const auto corpus = ringstack::fuzz::SeedCorpus();
  for (std::size_t i = 0; i < corpus.size(); ++i) {
    std::ofstream out(std::string(argv[1]) + "/seed_" + std::to_string(i), std::ios::binary);
    out.write(reinterpret_cast<const char*>(corpus[i].data()), static_cast<std::streamsize>(corpus[i].size()));
  }
  std::printf("%zu seeds in %s\n", corpus.size(), argv[1]);
  return 0;
}
