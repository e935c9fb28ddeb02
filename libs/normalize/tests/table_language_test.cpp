// The mapping-table language (config/sources/README.md), feature by feature, on small tables.

#include "test_util.hpp"

#include <gtest/gtest.h>

namespace chainwatch::normalize::testing {
namespace {

bool has(const event::event& ev, std::string_view path) {
  return ev.get(event::field_path(path)).exists();
}

normalizer table(const char* name, const char* toml) {
  const table_text tables[] = {{name, toml}};
  auto n = normalizer::create(tables);
  EXPECT_TRUE(n) << n.error().reason;
  return std::move(*n);
}

TEST(table_language, ip_needs_four_octets_or_an_ipv6_address) {
  auto n = table("windows", R"(
[source]
drop_unmapped = true
[[mapping]]
map = [ { from = "a", to = "ip", type = "ip" } ]
)");
  for (const char* ok : {"10.0.0.1", "::1", "fe80::1%eth0", "::ffff:10.1.2.3"}) {
    auto ev = n.normalize(source_type::windows, std::string(R"({"a":")") + ok + "\"}");
    ASSERT_TRUE(ev);
    EXPECT_TRUE(has(*ev, "ip")) << ok;
  }
  for (const char* bad : {"cafe.be", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.", "beef"}) {
    auto ev = n.normalize(source_type::windows, std::string(R"({"a":")") + bad + "\"}");
    ASSERT_TRUE(ev);
    EXPECT_FALSE(has(*ev, "ip")) << bad;
  }
}

} // namespace
} // namespace chainwatch::normalize::testing
