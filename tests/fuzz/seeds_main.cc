// fuzz_seeds TARGET DIR: writes TARGET's seeds into DIR, one file per seed,
// for libFuzzer runs (scripts/fuzz): the whole-stack scripts for rx, the
// connection scripts for tcp_conn, the scapy vectors cut at every layer for
// the parsers. Built in every build.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "tests/fuzz/seed_corpus.h"
#include "tests/fuzz/stack_script.h"
#include "tests/fuzz/tcp_conn_script.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: fuzz_seeds TARGET DIR\n");
    return 2;
  }
  const std::string_view target = argv[1];
  const auto corpus = target == "rx"         ? ringstack::fuzz::StackSeeds()
                      : target == "tcp_conn" ? ringstack::fuzz::TcpConnSeeds()
                                             : ringstack::fuzz::SeedCorpus();
  std::filesystem::create_directories(argv[2]);
  for (std::size_t i = 0; i < corpus.size(); ++i) {
    std::ofstream out(std::string(argv[2]) + "/seed_" + std::to_string(i), std::ios::binary);
    out.write(reinterpret_cast<const char*>(corpus[i].data()), static_cast<std::streamsize>(corpus[i].size()));
  }
  std::printf("%zu seeds in %s\n", corpus.size(), argv[2]);
  return 0;
}
