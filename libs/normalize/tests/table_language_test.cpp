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

TEST(table_language, dissect_alternatives_consume_and_capture_shapes) {
  auto n = table("windows", R"(
[source]
drop_unmapped = true
[[mapping]]
dissect = [
  { from = "msg", consume = true, patterns = [
    "%{who} logged in from %{addr:host} port %{port:digits}",
    "%{who} logged in from %{addr:host}",
    "%{who:word} said %{what}",
  ] },
  { from = "msg", pattern = "%{}code=%{code}" },
]
map = [
  { from = "who", to = "user" },
  { from = "addr", to = "addr" },
  { from = "port", to = "port", type = "long" },
  { from = "what", to = "what" },
  { from = "code", to = "code" },
  { from = "msg", to = "message" },
]
)");
  auto full = n.normalize(source_type::windows, R"({"msg":"bob logged in from 10.0.0.1 port 22"})");
  ASSERT_TRUE(full);
  EXPECT_EQ(field_text(*full, "user"), "bob");
  EXPECT_EQ(field_text(*full, "port"), "22");
  // Consumed: the text is gone for later rules and dissects.
  EXPECT_FALSE(has(*full, "message"));
  // The port is not digits: the next alternative matches, and the host takes the rest.
  auto no_port = n.normalize(source_type::windows, R"({"msg":"bob logged in from a.example"})");
  ASSERT_TRUE(no_port);
  EXPECT_EQ(field_text(*no_port, "addr"), "a.example");
  EXPECT_FALSE(has(*no_port, "port"));
  // `from` followed by something that is no host: no alternative matches, the text stays and
  // later dissects read it.
  auto none = n.normalize(source_type::windows, R"({"msg":"x y said hi from 'a b' code=7"})");
  ASSERT_TRUE(none);
  EXPECT_FALSE(has(*none, "user"));
  EXPECT_EQ(field_text(*none, "message"), "x y said hi from 'a b' code=7");
  EXPECT_EQ(field_text(*none, "code"), "7");
  // `word`: no spaces.
  auto said = n.normalize(source_type::windows, R"({"msg":"ann said hi code=1"})");
  ASSERT_TRUE(said);
  EXPECT_EQ(field_text(*said, "user"), "ann");
  EXPECT_EQ(field_text(*said, "what"), "hi code=1");
  EXPECT_FALSE(has(*said, "code"));

  const table_text bad_shape[] = {
      {"t", "[source]\n[[mapping]]\ndissect = [ { from = 'a', pattern = '%{x:num} y' } ]\n"}};
  auto b = normalizer::create(bad_shape);
  ASSERT_FALSE(b);
  EXPECT_NE(b.error().reason.find("shape"), std::string::npos);
}

TEST(table_language, contains_trim_and_domain) {
  auto n = table("windows", R"(
[source]
drop_unmapped = true
[[mapping]]
map = [
  { from = "msg", to = "failed", type = "contains", format = "fail", map = { "true" = "failure" } },
  { from = "msg", to = "has_fail", type = "contains", format = "fail" },
  { from = "name", to = "name", type = "trim", format = "\"' " },
  { from = "host", to = "ip", type = "trim", then = "ip" },
  { from = "host", to = "domain", type = "trim", then = "domain" },
]
)");
  auto a = n.normalize(source_type::windows,
                       R"({"msg":"login failed","name":" \"root\" ","host":" 10.1.1.1 "})");
  ASSERT_TRUE(a);
  EXPECT_EQ(field_text(*a, "failed"), "failure");
  EXPECT_EQ(field_text(*a, "has_fail"), "true");
  EXPECT_EQ(field_text(*a, "name"), "root");
  EXPECT_EQ(field_text(*a, "ip"), "10.1.1.1");
  EXPECT_FALSE(has(*a, "domain"));
  auto b = n.normalize(source_type::windows, R"({"msg":"ok","name":"''","host":"db.example"})");
  ASSERT_TRUE(b);
  EXPECT_FALSE(has(*b, "failed"));
  EXPECT_EQ(field_text(*b, "has_fail"), "false");
  EXPECT_FALSE(has(*b, "name")); // nothing left after trimming
  EXPECT_FALSE(has(*b, "ip"));
  EXPECT_EQ(field_text(*b, "domain"), "db.example");

  const table_text no_format[] = {
      {"t", "[source]\n[[mapping]]\nmap = [ { from = 'a', to = 'b', type = 'contains' } ]\n"}};
  EXPECT_FALSE(normalizer::create(no_format));
}

TEST(table_language, a_text_format_variant_reads_a_decoded_envelope) {
  auto n = table("syslog", R"(
[source]
format = "syslog"
envelope_fields = ["/message"]
drop_unmapped = true
[[variant]]
name = "decoded"
detect = "log.syslog"
aliases = { "log.syslog.appname" = "syslog.program", "message" = "syslog.message" }
[[mapping]]
map = [
  { from = "syslog.program", to = "process.name" },
  { from = "syslog.message", to = "message" },
]
)");
  auto decoded = n.normalize(source_type::syslog,
                             R"({"log":{"syslog":{"appname":"sshd"}},"message":"hello world"})");
  ASSERT_TRUE(decoded) << decoded.error().reason;
  EXPECT_EQ(field_text(*decoded, "process.name"), "sshd");
  EXPECT_EQ(field_text(*decoded, "message"), "hello world");
  // Without the detected member the envelope's `message` is a raw line to parse.
  auto raw = n.normalize(source_type::syslog, R"({"message":"Dec  7 10:00:00 h su[1]: hi"})");
  ASSERT_TRUE(raw) << raw.error().reason;
  EXPECT_EQ(field_text(*raw, "process.name"), "su");
  EXPECT_EQ(field_text(*raw, "message"), "hi");
  // `log` without `syslog` is not the decoded dialect.
  auto other = n.normalize(source_type::syslog,
                           R"({"log":{"file":"x"},"message":"Dec  7 10:00:00 h a: b"})");
  ASSERT_TRUE(other) << other.error().reason;
  EXPECT_EQ(field_text(*other, "process.name"), "a");
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
  EXPECT_EQ(field_text(*table_zone, "@timestamp"), "2026-12-07T09:00:00.000Z");
  ctx.tz_offset_s = -2 * 3600; // GMT-0200
  auto year_less = n.normalize(source_type::syslog, "Dec  7 10:00:00 h a: b", ctx);
  ASSERT_TRUE(year_less);
  EXPECT_EQ(field_text(*year_less, "@timestamp"), "2026-12-07T12:00:00.000Z");
  auto iso = n.normalize(source_type::syslog, "2019-06-14T10:40:20.912134 h a: b", ctx);
  ASSERT_TRUE(iso);
  EXPECT_EQ(field_text(*iso, "@timestamp"), "2019-06-14T12:40:20.912Z");
  // A time with its own zone keeps it.
  auto zoned = n.normalize(source_type::syslog, "2019-06-14T10:40:20Z h a: b", ctx);
  ASSERT_TRUE(zoned);
  EXPECT_EQ(field_text(*zoned, "@timestamp"), "2019-06-14T10:40:20.000Z");
  // stream_reader passes its context on.
  stream_reader r(n, source_type::syslog, ctx);
  auto streamed = r.next("Dec  7 10:00:00 h a: b");
  ASSERT_TRUE(streamed && *streamed);
  EXPECT_EQ(field_text(**streamed, "@timestamp"), "2026-12-07T12:00:00.000Z");
}

} // namespace
} // namespace chainwatch::normalize::testing
