#include <chainwatch/event/event.hpp>
#include <gtest/gtest.h>

namespace ev = chainwatch::event;

namespace {

ev::event parse(std::string_view json) {
  ev::json_decoder d;
  auto r = d.decode(json);
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().reason);
  return r ? std::move(*r) : ev::event{};
}

std::string get_json(const ev::event& e, std::string_view path) {
  auto v = e.get(ev::field_path(path));
  if (!v.exists()) return "<missing>";
  std::string out;
  ev::append_json(out, v);
  return out;
}

} // namespace

TEST(event_field_path, parses_segments) {
  ev::field_path p("a.b[2].c");
  ASSERT_EQ(p.segments().size(), 4u);
  EXPECT_EQ(p.segments()[0].name, "a");
  EXPECT_EQ(p.segments()[1].name, "b");
  EXPECT_TRUE(p.segments()[2].is_index);
  EXPECT_EQ(p.segments()[2].index, 2);
  EXPECT_EQ(p.segments()[3].name, "c");
  EXPECT_EQ(p.to_string(), "a.b[2].c");

  ev::field_path q("events[-1].x");
  ASSERT_EQ(q.segments().size(), 3u);
  EXPECT_EQ(q.segments()[1].index, -1);

  ev::field_path r("`a b`.`x.y`.`back``quote`.@timestamp");
  ASSERT_EQ(r.segments().size(), 4u);
  EXPECT_EQ(r.segments()[0].name, "a b");
  EXPECT_EQ(r.segments()[1].name, "x.y");
  EXPECT_EQ(r.segments()[2].name, "back`quote");
  EXPECT_EQ(r.segments()[3].name, "@timestamp");
  auto again = ev::field_path::parse(r.to_string());
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(*again, r);

  EXPECT_TRUE(ev::field_path("").empty());
  EXPECT_TRUE(ev::field_path::parse("a[0][1]").has_value());
}

TEST(event_field_path, rejects_malformed_text) {
  for (std::string_view bad :
       {"a..b", ".a", "a.", "a[", "a[x]", "a[1]b", "`open", "a.`", "a.[0]", "``", "a[]"}) {
    EXPECT_FALSE(ev::field_path::parse(bad).has_value()) << bad;
    // The constructor keeps malformed text as one literal name instead of failing.
    ev::field_path literal(bad);
    ASSERT_EQ(literal.segments().size(), 1u) << bad;
    EXPECT_EQ(literal.segments()[0].name, bad);
  }
}

TEST(event_field_path, built_from_segments) {
  std::vector<ev::field_path::segment> segs(3);
  segs[0].name = "process";
  segs[1].name = "args";
  segs[2].is_index = true;
  segs[2].index = 0;
  ev::field_path p(std::move(segs));
  auto e = parse(R"({"process":{"args":["cmd.exe","/c"]}})");
  EXPECT_EQ(e.get(p).as_string(), "cmd.exe");
  EXPECT_EQ(p.to_string(), "process.args[0]");
}

TEST(event_field_path, nested_flat_and_mixed_lookup) {
  auto nested = parse(R"({"source":{"ip":"10.0.0.1","geo":{"city":"x"}}})");
  auto flat = parse(R"({"source.ip":"10.0.0.2","source.geo.city":"y"})");
  auto mixed = parse(R"({"source":{"geo.city":"z"},"source.ip":"10.0.0.3"})");
  auto mixed2 = parse(R"({"source.geo":{"city":"w"}})");
  EXPECT_EQ(get_json(nested, "source.ip"), R"("10.0.0.1")");
  EXPECT_EQ(get_json(flat, "source.ip"), R"("10.0.0.2")");
  EXPECT_EQ(get_json(mixed, "source.ip"), R"("10.0.0.3")");
  EXPECT_EQ(get_json(nested, "source.geo.city"), R"("x")");
  EXPECT_EQ(get_json(flat, "source.geo.city"), R"("y")");
  EXPECT_EQ(get_json(mixed, "source.geo.city"), R"("z")");
  EXPECT_EQ(get_json(mixed2, "source.geo.city"), R"("w")");
  EXPECT_EQ(get_json(nested, "source"), R"({"ip":"10.0.0.1","geo":{"city":"x"}})");
  EXPECT_EQ(get_json(nested, ""), ev::to_json(nested));
}

TEST(event_field_path, backtracks_over_dead_ends) {
  // "a" exists but lacks "b.c"; the flat "a.b" key does have "c".
  auto e = parse(R"({"a":{"x":1},"a.b":{"c":"found"}})");
  EXPECT_EQ(get_json(e, "a.b.c"), R"("found")");
  auto first_wins = parse(R"({"a":{"b":1},"a.b":2})");
  EXPECT_EQ(get_json(first_wins, "a.b"), "1");
}

TEST(event_field_path, keys_seen_after_path_creation_match) {
  ev::field_path p("brand_new_key_5c1e.inner_7f3a");
  auto e = parse(R"({"brand_new_key_5c1e.inner_7f3a":1,"brand_new_key_5c1e":{"inner_7f3a":2}})");
  EXPECT_EQ(e.get(p).as_int(), 1);
}

TEST(event_field_path, array_indexes) {
  auto e = parse(R"({"events":[{"x":1},{"x":2},{"x":3}],"args":["a","b"],"m":[[1,2],[3]]})");
  EXPECT_EQ(get_json(e, "events[0].x"), "1");
  EXPECT_EQ(get_json(e, "events[2].x"), "3");
  EXPECT_EQ(get_json(e, "events[-1].x"), "3");
  EXPECT_EQ(get_json(e, "events[-3].x"), "1");
  EXPECT_EQ(get_json(e, "events[-4].x"), "<missing>");
  EXPECT_EQ(get_json(e, "events[3].x"), "<missing>");
  EXPECT_EQ(get_json(e, "args[1]"), R"("b")");
  EXPECT_EQ(get_json(e, "m[0][1]"), "2");
  EXPECT_EQ(get_json(e, "m[1][-1]"), "3");
  EXPECT_EQ(get_json(e, "args[0].x"), "<missing>");
  EXPECT_EQ(get_json(e, "args.x"), "<missing>");
  // Index on a non-array and a name on an array are misses, not errors.
  EXPECT_EQ(get_json(e, "events.x"), "<missing>");
  EXPECT_EQ(get_json(e, "args[0][0]"), "<missing>");
  auto top = parse(R"([{"a":1},{"a":2}])");
  EXPECT_EQ(get_json(top, "[1].a"), "2");
}

TEST(event_field_path, missing_fields_and_null) {
  auto e = parse(R"({"a":{"b":null},"s":"x"})");
  auto v = e.get(ev::field_path("a.b"));
  EXPECT_TRUE(v.exists());
  EXPECT_TRUE(v.is_null());
  EXPECT_FALSE(e.get(ev::field_path("a.c")).exists());
  EXPECT_FALSE(e.get(ev::field_path("s.x")).exists());
  EXPECT_FALSE(e.get(ev::field_path("zz")).exists());
  ev::event empty;
  EXPECT_FALSE(empty.get(ev::field_path("a")).exists());
}

TEST(event_field_path, relative_lookup) {
  auto e = parse(R"({"process":{"parent":{"name":"explorer.exe"}},"other":1})");
  auto process = e.get(ev::field_path("process"));
  EXPECT_EQ(e.get(process, ev::field_path("parent.name")).as_string(), "explorer.exe");
  ev::event other;
  EXPECT_FALSE(other.get(process, ev::field_path("parent.name")).exists());
  // The result of a relative lookup knows its siblings.
  auto parent = e.get(process, ev::field_path("parent"));
  EXPECT_FALSE(parent.next_sibling().exists());
}
