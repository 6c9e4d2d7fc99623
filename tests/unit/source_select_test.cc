// RFC 6724 source address selection as tables: scopes (3.1), the default
// policy table (2.1), each rule of section 5 on its own, and the examples
// of its section 10.1 (those that need no home address).
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "protocols/ipv6/source_select.h"

namespace ringstack::proto::ipv6 {
namespace {

Ipv6Address Addr6(const char* text) { return *Ipv6Address::Parse(text); }

TEST(SourceSelect, Scopes) {
  struct ScopeRow {
    const char* addr;
    int scope;
  };
  const ScopeRow rows[] = {{"::1", 0x2},         {"fe80::1", 0x2}, {"fec0::1", 0x5},   {"2001:db8::1", 0xe},
                           {"fd00::1", 0xe},     {"ff02::1", 0x2}, {"ff05::1:3", 0x5}, {"ff0e::1", 0xe}};
  for (const ScopeRow& r : rows) {
    EXPECT_EQ(Scope(Addr6(r.addr)), r.scope) << r.addr;
  }
}

TEST(SourceSelect, DefaultPolicyTable) {
  struct PolicyRow {
    const char* addr;
    int precedence, label;
  };
  const PolicyRow rows[] = {{"::1", 50, 0},          {"2001:db8::1", 40, 1},         {"::ffff:192.0.2.1", 35, 4},
                            {"2002:c633:6401::1", 30, 2}, {"2001:0:5ef5:79fd::1", 5, 5}, {"fd00::1", 3, 13},
                            {"::192.0.2.1", 1, 3},    {"fec0::1", 1, 11},             {"3ffe::1", 1, 12}};
  for (const PolicyRow& r : rows) {
    const Policy p = PolicyFor(Addr6(r.addr));
    EXPECT_EQ(p.precedence, r.precedence) << r.addr;
    EXPECT_EQ(p.label, r.label) << r.addr;
  }
  EXPECT_EQ(CommonPrefixLen(Addr6("2001:db8:1::1"), Addr6("2001:db8:3::1")), 46);
  EXPECT_EQ(CommonPrefixLen(Addr6("2001:db8::1"), Addr6("2001:db8::1")), 128);
}

struct SelectRow {
  std::string name;
  const char* dst;
  std::vector<SourceCandidate> candidates;
  const char* want;
};

SourceCandidate Cand(const char* addr, bool deprecated = false, bool temporary = false, int prefix_len = 64) {
  return SourceCandidate{
      .address = Addr6(addr), .prefix_len = prefix_len, .deprecated = deprecated, .temporary = temporary};
}

TEST(SourceSelect, RulesAndTheRfcExamples) {
  const std::vector<SelectRow> rows = {
      // Section 10.1's examples.
      {"rule 2: a global destination takes the global address", "2001:db8:1::1",
       {Cand("2001:db8:3::1"), Cand("fe80::1")}, "2001:db8:3::1"},
      {"rule 2: a site-scope multicast takes the global address", "ff05::1", {Cand("2001:db8:3::1"), Cand("fe80::1")},
       "2001:db8:3::1"},
      {"rule 1: the destination itself, deprecated or not", "2001:db8:1::1",
       {Cand("2001:db8:1::1", /*deprecated=*/true), Cand("2001:db8:2::1")}, "2001:db8:1::1"},
      {"rule 2 before rule 3: a link-local destination takes the deprecated link-local", "fe80::1",
       {Cand("fe80::2", /*deprecated=*/true), Cand("2001:db8:1::1")}, "fe80::2"},
      {"rule 8: the longest matching prefix", "2001:db8:1::1", {Cand("2001:db8:1::2"), Cand("2001:db8:3::2")},
       "2001:db8:1::2"},
      {"rule 6: the matching label (6to4)", "2002:c633:6401::1",
       {Cand("2002:c633:6401::d5e3:7953:13eb:22e8", false, /*temporary=*/true), Cand("2001:db8:1::2")},
       "2002:c633:6401::d5e3:7953:13eb:22e8"},
      {"rule 7: the temporary address", "2001:db8:1::d5e3:0:0:1",
       {Cand("2001:db8:1::2"), Cand("2001:db8:1::d5e3:7953:13eb:22e8", false, /*temporary=*/true)},
       "2001:db8:1::d5e3:7953:13eb:22e8"},
      // Each rule on its own.
      {"rule 3: not the deprecated one", "2001:db8:9::1",
       {Cand("2001:db8:2::1", /*deprecated=*/true), Cand("2001:db8:3::1")}, "2001:db8:3::1"},
      {"rule 2: a link-local destination takes the link-local address", "fe80::9",
       {Cand("2001:db8:1::1"), Cand("fe80::1")}, "fe80::1"},
      {"rule 2: link-local multicast takes the link-local address", "ff02::1", {Cand("2001:db8:1::1"), Cand("fe80::1")},
       "fe80::1"},
      {"rule 8 looks no further than the prefix (/64): equals keep the first", "2001:db8:1:0:aaaa::1",
       {Cand("2001:db8:1:0:bbbb::2"), Cand("2001:db8:1:0:aaaa::2")}, "2001:db8:1:0:bbbb::2"},
      {"... and a shorter prefix counts less", "2001:db8:1:0:aaaa::1",
       {Cand("2001:db8:1:0:bbbb::2", false, false, 48), Cand("2001:db8:1:0:aaaa::2")}, "2001:db8:1:0:aaaa::2"},
      {"rule 6: a ULA destination takes the ULA source", "fd00:1::1", {Cand("2001:db8:1::1"), Cand("fd00:2::1")},
       "fd00:2::1"},
  };
  for (const SelectRow& r : rows) {
    const auto got = SelectSource(r.candidates, Addr6(r.dst));
    ASSERT_TRUE(got.has_value()) << r.name;
    EXPECT_EQ(got->address, Addr6(r.want)) << r.name;
  }
  EXPECT_FALSE(SelectSource({}, Addr6("2001:db8::1")).has_value());
}

}  // namespace
}  // namespace ringstack::proto::ipv6
