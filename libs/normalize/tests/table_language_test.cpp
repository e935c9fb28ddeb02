// The mapping-table language (config/sources/README.md), feature by feature, on small tables.

#include "test_util.hpp"

#include <gtest/gtest.h>

namespace chainwatch::normalize::testing {
namespace {

std::string text(const event::event& ev, std::string_view path) {
  auto v = ev.get(event::field_path(path));
  switch (v.type()) {
  case event::kind::string:
    return std::string(v.as_string());
  case event::kind::integer:
    return std::to_string(v.as_int());
  case event::kind::boolean:
    return v.as_bool() ? "true" : "false";
  case event::kind::array:
    return canon(v);
  default:
    return {};
  }
}

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

TEST(table_language, context_time_zone_overrides_the_table) {
  auto n = table("syslog", R"(
[source]
format = "syslog"
timezone = "+01:00"
drop_unmapped = true
[[mapping]]
map = [
  { from = "syslog.timestamp", to = "@timestamp", type = "timestamp", format = "iso8601" },
  { from = "syslog.timestamp", to = "@timestamp", type = "timestamp", format = "syslog" },
]
)");
  context ctx;
  ctx.now_ns = *parse_timestamp("2026-12-07T12:00:00Z", "iso8601");
  auto table_zone = n.normalize(source_type::syslog, "Dec  7 10:00:00 h a: b", ctx);
  ASSERT_TRUE(table_zone);
  EXPECT_EQ(text(*table_zone, "@timestamp"), "2026-12-07T09:00:00.000Z");
  ctx.tz_offset_s = -2 * 3600; // GMT-0200
  auto year_less = n.normalize(source_type::syslog, "Dec  7 10:00:00 h a: b", ctx);
  ASSERT_TRUE(year_less);
  EXPECT_EQ(text(*year_less, "@timestamp"), "2026-12-07T12:00:00.000Z");
  auto iso = n.normalize(source_type::syslog, "2019-06-14T10:40:20.912134 h a: b", ctx);
  ASSERT_TRUE(iso);
  EXPECT_EQ(text(*iso, "@timestamp"), "2019-06-14T12:40:20.912Z");
  // A time with its own zone keeps it.
  auto zoned = n.normalize(source_type::syslog, "2019-06-14T10:40:20Z h a: b", ctx);
  ASSERT_TRUE(zoned);
  EXPECT_EQ(text(*zoned, "@timestamp"), "2019-06-14T10:40:20.000Z");
  // stream_reader passes its context on.
  stream_reader r(n, source_type::syslog, ctx);
  auto streamed = r.next("Dec  7 10:00:00 h a: b");
  ASSERT_TRUE(streamed && *streamed);
  EXPECT_EQ(text(**streamed, "@timestamp"), "2026-12-07T12:00:00.000Z");
}

} // namespace
} // namespace chainwatch::normalize::testing
