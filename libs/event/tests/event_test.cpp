#include <chainwatch/event/event.hpp>
#include <cmath>
#include <gtest/gtest.h>
#include <thread>

namespace ev = chainwatch::event;

namespace {

ev::event parse(std::string_view json) {
  ev::json_decoder d;
  auto r = d.decode(json);
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().reason);
  return r ? std::move(*r) : ev::event{};
}

} // namespace

TEST(event_symbols, intern_is_stable_and_zero_means_no_key) {
  const ev::symbol a = ev::symbols::intern("process.name");
  EXPECT_NE(a, 0u);
  EXPECT_EQ(ev::symbols::intern("process.name"), a);
  EXPECT_EQ(ev::symbols::find("process.name"), a);
  EXPECT_EQ(ev::symbols::name(a), "process.name");
  EXPECT_EQ(ev::symbols::find("never.interned.anywhere.42"), 0u);
  const ev::symbol empty = ev::symbols::intern("");
  EXPECT_NE(empty, 0u);
  EXPECT_EQ(ev::symbols::name(empty), "");
  EXPECT_EQ(ev::symbols::name(0), "");
}

TEST(event_symbols, cache_distinguishes_similar_names) {
  // Same length, head and tail, differing only in the middle; every length 0..40;
  // far more names than cache slots so that slots get evicted.
  std::vector<std::string> names;
  for (std::size_t len = 0; len <= 40; ++len)
    for (char c : std::string_view("abcXYZ.\0", 8)) {
      std::string n(len, 'k');
      if (len > 0) n[len / 2] = c;
      names.push_back(n);
    }
  for (int i = 0; i < 5000; ++i)
    names.push_back("prefix_common_part." + std::to_string(i) + ".suffix_common_part");
  std::vector<ev::symbol> syms;
  for (const auto& n : names)
    syms.push_back(ev::symbols::intern(n));
  for (int round = 0; round < 2; ++round)
    for (std::size_t i = 0; i < names.size(); ++i) {
      ASSERT_EQ(ev::symbols::intern(names[i]), syms[i]) << names[i];
      ASSERT_EQ(ev::symbols::find(names[i]), syms[i]) << names[i];
      ASSERT_EQ(ev::symbols::name(syms[i]), names[i]);
    }
  for (std::size_t i = 1; i < names.size(); ++i)
    if (names[i] != names[i - 1]) {
      EXPECT_NE(syms[i], syms[i - 1]) << names[i];
    }
}

TEST(event_symbols, concurrent_interning_agrees) {
  constexpr int threads = 4;
  constexpr int names = 2000;
  std::vector<std::vector<ev::symbol>> got(threads, std::vector<ev::symbol>(names));
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([t, &got] {
      // Odd threads walk backwards so that threads race on different names.
      for (int n = 0; n < names; ++n) {
        const int i = t % 2 ? names - 1 - n : n;
        got[t][i] = ev::symbols::intern("concurrent." + std::to_string(i));
      }
    });
  for (auto& th : pool)
    th.join();
  for (int i = 0; i < names; ++i) {
    const ev::symbol s = ev::symbols::find("concurrent." + std::to_string(i));
    ASSERT_NE(s, 0u);
    EXPECT_EQ(ev::symbols::name(s), "concurrent." + std::to_string(i));
    for (int t = 0; t < threads; ++t)
      EXPECT_EQ(got[t][i], ev::symbols::intern("concurrent." + std::to_string(i)));
  }
}

TEST(event_model, types_and_accessors) {
  auto e =
      parse(R"({"n":null,"t":true,"f":false,"i":-42,"r":2.5,"s":"hi","a":[1,"x"],"o":{"k":1}})");
  auto root = e.root();
  ASSERT_EQ(root.type(), ev::kind::object);
  EXPECT_EQ(root.size(), 8u);
  auto n = root.find(ev::symbols::intern("n"));
  EXPECT_TRUE(n.exists());
  EXPECT_TRUE(n.is_null());
  EXPECT_TRUE(root.find(ev::symbols::intern("t")).as_bool());
  EXPECT_EQ(root.find(ev::symbols::intern("f")).type(), ev::kind::boolean);
  EXPECT_FALSE(root.find(ev::symbols::intern("f")).as_bool());
  EXPECT_EQ(root.find(ev::symbols::intern("i")).as_int(), -42);
  EXPECT_EQ(root.find(ev::symbols::intern("i")).as_double(), -42.0);
  EXPECT_EQ(root.find(ev::symbols::intern("r")).type(), ev::kind::real);
  EXPECT_EQ(root.find(ev::symbols::intern("r")).as_double(), 2.5);
  EXPECT_EQ(root.find(ev::symbols::intern("r")).as_int(), 2);
  EXPECT_EQ(root.find(ev::symbols::intern("s")).as_string(), "hi");
  EXPECT_EQ(root.find(ev::symbols::intern("s")).size(), 0u);
  auto a = root.find(ev::symbols::intern("a"));
  EXPECT_EQ(a.type(), ev::kind::array);
  EXPECT_EQ(a.size(), 2u);
  EXPECT_EQ(a.at(0).as_int(), 1);
  EXPECT_EQ(a.at(1).as_string(), "x");
  EXPECT_FALSE(a.at(2).exists());
  EXPECT_EQ(root.at(7).key(), ev::symbols::intern("o"));
  EXPECT_EQ(root.at(7).at(0).as_int(), 1);
  // Wrong-type reads are neutral, missing refs read as null.
  EXPECT_EQ(root.find(ev::symbols::intern("s")).as_int(), 0);
  EXPECT_EQ(root.find(ev::symbols::intern("i")).as_string(), "");
  ev::value_ref missing = root.find(ev::symbols::intern("nope"));
  EXPECT_FALSE(missing.exists());
  EXPECT_TRUE(missing.is_null());
  EXPECT_EQ(missing.size(), 0u);
  EXPECT_FALSE(missing.first_child().exists());
  EXPECT_FALSE(missing.next_sibling().exists());
}

TEST(event_model, sibling_iteration_hops_subtrees) {
  auto e = parse(R"({"a":{"x":[1,[2,3]],"y":{}},"b":[],"c":3})");
  std::vector<std::string> keys;
  for (auto c = e.root().first_child(); c.exists(); c = c.next_sibling())
    keys.emplace_back(ev::symbols::name(c.key()));
  EXPECT_EQ(keys, (std::vector<std::string>{"a", "b", "c"}));
  auto a = e.root().first_child();
  int count = 0;
  for (auto c = a.first_child(); c.exists(); c = c.next_sibling())
    ++count;
  EXPECT_EQ(count, 2);
  // The last child of a nested container has no sibling even though nodes follow it.
  auto y = a.at(1);
  EXPECT_EQ(ev::symbols::name(y.key()), "y");
  EXPECT_FALSE(y.next_sibling().exists());
  EXPECT_FALSE(e.root().next_sibling().exists());
  EXPECT_FALSE(e.root().at(1).first_child().exists());
}

TEST(event_model, equality_and_copy_semantics) {
  auto a = parse(R"({"a":1,"b":"x"})");
  auto b = parse(R"({"a":1,"b":"x"})");
  auto c = parse(R"({"b":"x","a":1})");
  auto d = parse(R"({"a":1.0,"b":"x"})");
  EXPECT_EQ(a, b);
  EXPECT_FALSE(a == c); // order matters
  EXPECT_FALSE(a == d); // integer vs real
  ev::event copy = a;
  EXPECT_EQ(copy, a);
  EXPECT_GT(a.memory_bytes(), 0u);
  ev::event empty;
  EXPECT_TRUE(empty.empty());
  EXPECT_FALSE(empty.root().exists());
  EXPECT_EQ(ev::to_json(empty), "null");
}

TEST(event_builder, builds_nested_values) {
  ev::builder b;
  b.begin_object();
  b.key("user").begin_object().key("name").string("bob").key("id").integer(7).end_object();
  b.key("tags").begin_array().string("a").null().boolean(true).real(0.5).end_array();
  b.key("empty").begin_object().end_object();
  EXPECT_EQ(b.depth(), 1u);
  b.end_object();
  auto e = b.finish();
  EXPECT_EQ(ev::to_json(e),
            R"({"user":{"name":"bob","id":7},"tags":["a",null,true,0.5],"empty":{}})");
  EXPECT_EQ(e.root().size(), 3u);
  // The builder is reusable after finish().
  b.begin_array().integer(1).end_array();
  EXPECT_EQ(ev::to_json(b.finish()), "[1]");
  b.string("lone");
  EXPECT_EQ(ev::to_json(b.finish()), R"("lone")");
}

TEST(event_builder, copy_subtrees_between_events) {
  auto src = parse(R"({"a":{"s":"one","n":[1,{"t":"two"}]},"z":"three"})");
  ev::builder b;
  b.begin_object();
  b.key("first").string("zero");
  b.key("copied").copy(src.root().at(0));
  b.key("z").copy(src.root().at(1));
  b.key("missing").copy(ev::value_ref{});
  b.end_object();
  auto e = b.finish();
  EXPECT_EQ(
      ev::to_json(e),
      R"({"first":"zero","copied":{"s":"one","n":[1,{"t":"two"}]},"z":"three","missing":null})");
  // Copies are deep: the result is self-contained and consistent.
  auto again = parse(ev::to_json(e));
  EXPECT_EQ(again, e);
  b.begin_array().copy(src.root()).copy(src.root()).end_array();
  auto twice = b.finish();
  EXPECT_EQ(twice.root().size(), 2u);
  EXPECT_EQ(ev::to_json(twice), "[" + ev::to_json(src) + "," + ev::to_json(src) + "]");
  EXPECT_EQ(twice.root().at(1).key(), 0u);
}

TEST(event_builder, reset_discards_partial_state) {
  ev::builder b;
  b.begin_object().key("a").begin_array().integer(1);
  b.reset();
  EXPECT_EQ(b.depth(), 0u);
  b.integer(5);
  EXPECT_EQ(ev::to_json(b.finish()), "5");
}
