// Decodes real third-party events from /work/shared/data and checks that the
// tree matches an independent simdjson DOM parse and survives JSON and msgpack
// round trips.

#include <chainwatch/event/event.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <simdjson.h>
#include <sstream>

namespace ev = chainwatch::event;

namespace {

const std::filesystem::path data_dir = CHAINWATCH_SHARED_DATA;

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Compares a decoded value with simdjson's DOM for the same text.
::testing::AssertionResult same(ev::value_ref v, simdjson::dom::element e, std::string path) {
  using simdjson::dom::element_type;
  auto fail = [&](std::string what) {
    return ::testing::AssertionFailure() << path << ": " << what;
  };
  switch (e.type()) {
  case element_type::OBJECT: {
    if (v.type() != ev::kind::object) return fail("not an object");
    simdjson::dom::object obj = e.get_object().value_unsafe();
    if (v.size() != obj.size()) return fail("member count");
    auto c = v.first_child();
    for (auto kv : obj) {
      if (!c.exists()) return fail("too few members");
      if (ev::symbols::name(c.key()) != kv.key) return fail("key " + std::string(kv.key));
      auto r = same(c, kv.value, path + "." + std::string(kv.key));
      if (!r) return r;
      c = c.next_sibling();
    }
    if (c.exists()) return fail("too many members");
    return ::testing::AssertionSuccess();
  }
  case element_type::ARRAY: {
    if (v.type() != ev::kind::array) return fail("not an array");
    simdjson::dom::array arr = e.get_array().value_unsafe();
    auto c = v.first_child();
    std::size_t i = 0;
    for (auto child : arr) {
      if (!c.exists()) return fail("too few elements");
      auto r = same(c, child, path + "[" + std::to_string(i++) + "]");
      if (!r) return r;
      c = c.next_sibling();
    }
    if (c.exists() || i != v.size()) return fail("element count");
    return ::testing::AssertionSuccess();
  }
  case element_type::INT64:
    if (v.type() != ev::kind::integer || v.as_int() != e.get_int64().value_unsafe())
      return fail("integer");
    return ::testing::AssertionSuccess();
  case element_type::UINT64:
    if (v.type() != ev::kind::real ||
        v.as_double() != static_cast<double>(e.get_uint64().value_unsafe()))
      return fail("uint64");
    return ::testing::AssertionSuccess();
  case element_type::DOUBLE: {
    const double d = e.get_double().value_unsafe();
    const double got = v.as_double();
    if (v.type() != ev::kind::real || std::memcmp(&d, &got, sizeof d) != 0) return fail("real");
    return ::testing::AssertionSuccess();
  }
  case element_type::STRING:
    if (v.type() != ev::kind::string || v.as_string() != e.get_string().value_unsafe())
      return fail("string");
    return ::testing::AssertionSuccess();
  case element_type::BOOL:
    if (v.type() != ev::kind::boolean || v.as_bool() != e.get_bool().value_unsafe())
      return fail("bool");
    return ::testing::AssertionSuccess();
  case element_type::NULL_VALUE:
    if (!v.exists() || v.type() != ev::kind::null) return fail("null");
    return ::testing::AssertionSuccess();
  }
  return fail("unknown type");
}

void check_round_trips(ev::json_decoder& d, const ev::event& e, const std::string& label) {
  const std::string json = ev::to_json(e);
  auto again = d.decode(json);
  ASSERT_TRUE(again.has_value()) << label << ": " << again.error().reason;
  EXPECT_EQ(*again, e) << label;
  EXPECT_EQ(ev::to_json(*again), json) << label;
  std::string bytes;
  ev::append_msgpack(bytes, e);
  auto back = ev::from_msgpack(bytes);
  ASSERT_TRUE(back.has_value()) << label << ": " << back.error().reason;
  EXPECT_EQ(*back, e) << label;
  EXPECT_EQ(ev::to_json(*back), json) << label;
}

} // namespace

TEST(event_shared_data, eql_test_data_round_trips) {
  const auto file = data_dir / "eql" / "test_data.json";
  if (!std::filesystem::exists(file)) GTEST_SKIP() << "shared test data not found at " << file;
  const std::string text = read_file(file);
  ev::json_decoder d;
  ev::decode_limits limits;
  limits.max_bytes = text.size();
  auto all = d.decode(text, limits);
  ASSERT_TRUE(all.has_value()) << all.error().reason;
  ASSERT_EQ(all->root().type(), ev::kind::array);
  EXPECT_EQ(all->root().size(), 102u);

  simdjson::dom::parser parser;
  simdjson::dom::element dom;
  ASSERT_EQ(parser.parse(text).get(dom), simdjson::SUCCESS);
  EXPECT_TRUE(same(all->root(), dom, "$"));

  // Each element, copied into an event of its own, must round-trip.
  ev::builder b;
  std::size_t n = 0;
  for (auto el = all->root().first_child(); el.exists(); el = el.next_sibling(), ++n) {
    b.copy(el);
    ev::event one = b.finish();
    ASSERT_EQ(one.root().type(), ev::kind::object);
    std::string expect;
    ev::append_json(expect, el);
    EXPECT_EQ(ev::to_json(one), expect);
    check_round_trips(d, one, "event " + std::to_string(n));
    EXPECT_TRUE(one.get(ev::field_path("serial_event_id")).exists());
  }
  EXPECT_EQ(n, 102u);
}

TEST(event_shared_data, purplesharp_ndjson_round_trips) {
  const auto file = data_dir / "windows" / "purplesharp_ad_playbook_I.json";
  if (!std::filesystem::exists(file)) GTEST_SKIP() << "shared test data not found at " << file;
  std::ifstream in(file, std::ios::binary);
  ev::json_decoder d;
  simdjson::dom::parser parser;
  const ev::field_path event_id("EventID");
  std::string line;
  std::size_t n = 0;
  while (n < 2000 && std::getline(in, line)) {
    if (line.empty()) continue;
    ++n;
    const std::string label = "line " + std::to_string(n);
    auto e = d.decode(line);
    ASSERT_TRUE(e.has_value()) << label << ": " << e.error().reason;
    simdjson::dom::element dom;
    ASSERT_EQ(parser.parse(line).get(dom), simdjson::SUCCESS) << label;
    ASSERT_TRUE(same(e->root(), dom, label));
    ASSERT_EQ(e->get(event_id).type(), ev::kind::integer) << label;
    check_round_trips(d, *e, label);
    if (HasFailure()) break;
  }
  EXPECT_EQ(n, 2000u);
}

TEST(event_shared_data, zeek_flat_dotted_keys_resolve) {
  const auto file = data_dir / "zeek" / "ssh_scan" / "ssh.log";
  if (!std::filesystem::exists(file)) GTEST_SKIP() << "shared test data not found at " << file;
  std::ifstream in(file, std::ios::binary);
  ev::json_decoder d;
  const ev::field_path orig_h("id.orig_h");
  const ev::field_path resp_p("id.resp_p");
  std::string line;
  std::size_t n = 0;
  while (n < 200 && std::getline(in, line)) {
    if (line.empty()) continue;
    ++n;
    auto e = d.decode(line);
    ASSERT_TRUE(e.has_value()) << e.error().reason;
    EXPECT_FALSE(e->get(orig_h).as_string().empty());
    EXPECT_EQ(e->get(resp_p).type(), ev::kind::integer);
    check_round_trips(d, *e, "ssh line " + std::to_string(n));
  }
  EXPECT_GT(n, 0u);
}
