#include "../src/text_util.hpp"

#include <chainwatch/eql/ast.hpp>
#include <chainwatch/eql/compile.hpp>
#include <chainwatch/event/event.hpp>
#include <gtest/gtest.h>
#include <random>
#include <string>

namespace chainwatch::eql {
namespace {

/// Renders a value for compact assertions.
std::string show(const value& v) {
  switch (v.t) {
  case value::type::null:
    return "null";
  case value::type::boolean:
    return v.b ? "true" : "false";
  case value::type::integer:
    return std::to_string(v.i);
  case value::type::real: {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%g", v.d);
    return std::string(buf) + "r";
  }
  case value::type::string:
    return "'" + std::string(v.s) + "'";
  case value::type::array:
    return "array";
  case value::type::object:
    return "object";
  }
  return "?";
}

const char* sample = R"({"process":{"name":"cmd.EXE","pid":42,"args":["cmd.exe","/c","whoami"],
  "parent":{"name":"explorer.exe"}},"source":{"ip":"10.1.2.3"},"ratio":0.5,"flag":true,
  "big":9223372036854775807,"empty":"","nothing":null,"event":{"category":["process","host"]}})";

event::event decode(const char* json) {
  event::json_decoder d;
  auto e = d.decode(json);
  EXPECT_TRUE(e.has_value());
  return e.has_value() ? std::move(*e) : event::event{};
}

std::string eval(std::string_view text, bool case_sensitive = false) {
  static const event::event ev = decode(sample);
  auto ast = parse_expression(text);
  if (!ast) return "parse error: " + ast.error().message;
  compile_options o;
  o.case_sensitive = case_sensitive;
  auto c = compile(*ast, o);
  if (!c) return "compile error: " + c.error().message;
  eval_context ctx;
  ctx.current = &ev;
  return show(c->eval(ctx));
}

std::string compile_error(std::string_view text) {
  auto ast = parse_expression(text);
  if (!ast) return "parse error: " + ast.error().message;
  auto c = compile(*ast, {});
  return c ? std::string("ok") : c.error().message;
}

TEST(compile, literals_and_fields) {
  EXPECT_EQ(eval("1"), "1");
  EXPECT_EQ(eval("\"x\""), "'x'");
  EXPECT_EQ(eval("process.pid"), "42");
  EXPECT_EQ(eval("process.name"), "'cmd.EXE'");
  EXPECT_EQ(eval("process.args[2]"), "'whoami'");
  EXPECT_EQ(eval("missing.field"), "null");
  EXPECT_EQ(eval("nothing"), "null");
}

TEST(compile, null_semantics) {
  EXPECT_EQ(eval("missing == null"), "true");
  EXPECT_EQ(eval("missing != null"), "false");
  EXPECT_EQ(eval("process.pid != null"), "true");
  EXPECT_EQ(eval("null == missing"), "true");
  EXPECT_EQ(eval("missing > 1"), "null");
  EXPECT_EQ(eval("missing == 1"), "null");
  EXPECT_EQ(eval("missing != 1"), "null");
  EXPECT_EQ(eval("missing == \"*\""), "null");
  EXPECT_EQ(eval("not (missing == \"*\")"), "null");
  EXPECT_EQ(eval("null == (missing > -1)"), "true");
  EXPECT_EQ(eval("null == (process.pid > -1)"), "false");
  EXPECT_EQ(eval("missing == 1 and false"), "false");
  EXPECT_EQ(eval("missing == 1 and true"), "null");
  EXPECT_EQ(eval("missing == 1 or true"), "true");
  EXPECT_EQ(eval("missing == 1 or false"), "null");
  EXPECT_EQ(eval("not (missing == 1)"), "null");
  EXPECT_EQ(eval("missing in (1, 2)"), "null");
  EXPECT_EQ(eval("missing not in (1, 2)"), "null");
}

TEST(compile, equality_case_modes) {
  EXPECT_EQ(eval("process.name == \"cmd.exe\""), "true");
  EXPECT_EQ(eval("process.name == \"cmd.exe\"", true), "false");
  EXPECT_EQ(eval("process.name == \"cmd.EXE\"", true), "true");
  EXPECT_EQ(eval("\"CMD.exe\" == process.name"), "true");
  EXPECT_EQ(eval("process.name != \"cmd.exe\""), "false");
  EXPECT_EQ(eval("process.name != \"cmd.exe\"", true), "true");
  EXPECT_EQ(eval("process.pid == 42.0"), "true");
  EXPECT_EQ(eval("process.pid == \"42\""), "false");
  EXPECT_EQ(eval("process.name == process.parent.name"), "false");
  EXPECT_EQ(eval("flag == true"), "true");
}

TEST(compile, endgame_wildcard_equality) {
  EXPECT_EQ(eval("process.name == \"*.exe\""), "true");
  EXPECT_EQ(eval("process.name == \"*.exe\"", true), "false");
  EXPECT_EQ(eval("process.name == \"c*\""), "true");
  EXPECT_EQ(eval("process.name == \"*m*\""), "true");
  EXPECT_EQ(eval("process.name == \"c*d*E\"", true), "true");
  EXPECT_EQ(eval("process.name != \"*.exe\""), "false");
  // `?` is literal in Endgame `==` wildcards.
  EXPECT_EQ(eval("process.name == \"cm?.exe*\""), "false");
  EXPECT_EQ(eval("empty == \"*\""), "true");
}

TEST(compile, ordering) {
  EXPECT_EQ(eval("process.pid < 43"), "true");
  EXPECT_EQ(eval("process.pid >= 42.5"), "false");
  EXPECT_EQ(eval("process.name < \"d\""), "true");
  EXPECT_EQ(eval("process.name > \"CMD.EXE\""), "false");
  EXPECT_EQ(eval("process.name > \"CMD.EXE\"", true), "true");
  EXPECT_EQ(eval("process.name < 3"), "null");
}

TEST(compile, arrays_match_any_element) {
  EXPECT_EQ(eval("event.category == \"process\""), "true");
  EXPECT_EQ(eval("event.category == \"host\""), "true");
  EXPECT_EQ(eval("event.category == \"network\""), "false");
  EXPECT_EQ(eval("event.category in (\"network\", \"HOST\")"), "true");
  EXPECT_EQ(eval("event.category : \"pro*\""), "true");
}

TEST(compile, in_lists) {
  EXPECT_EQ(eval("process.pid in (1, 2, 42)"), "true");
  EXPECT_EQ(eval("process.pid in (1, 2, 42.0)"), "true");
  EXPECT_EQ(eval("process.pid not in (1, 2, 42)"), "false");
  EXPECT_EQ(eval("process.name in (\"a\", \"b\", \"c\", \"d\", \"e\", \"CMD.exe\")"), "true");
  EXPECT_EQ(eval("process.name in (\"a\", \"b\", \"c\", \"d\", \"e\", \"CMD.exe\")", true),
            "false");
  EXPECT_EQ(eval("process.name in~ (\"a\", \"b\", \"c\", \"d\", \"e\", \"CMD.exe\")", true),
            "true");
  EXPECT_EQ(eval("process.name in (process.parent.name, \"x\")"), "false");
  EXPECT_EQ(eval("process.parent.name in (process.parent.name, \"x\")"), "true");
  EXPECT_EQ(eval("1 in (1, 2)"), "true");
}

TEST(compile, colon_like_regex) {
  EXPECT_EQ(eval("process.name : \"CMD.exe\"", true), "true");
  EXPECT_EQ(eval("process.name : \"c?d.*\"", true), "true");
  EXPECT_EQ(eval("process.name : (\"x\", \"*.EXE\")", true), "true");
  EXPECT_EQ(eval("process.name like \"CMD.*\""), "false");
  EXPECT_EQ(eval("process.name like~ \"CMD.*\""), "true");
  EXPECT_EQ(eval("process.name like (\"x\", \"c?d.EXE\")"), "true");
  EXPECT_EQ(eval("process.name regex \"CMD\\\\..*\""), "false");
  EXPECT_EQ(eval("process.name regex~ \"CMD\\\\..*\""), "true");
  EXPECT_EQ(eval("process.name regex \"cmd\""), "false"); // full match only
  EXPECT_EQ(eval("missing like \"*\""), "null");
}

TEST(compile, arithmetic) {
  EXPECT_EQ(eval("1 + 2 * 3"), "7");
  EXPECT_EQ(eval("7 / 2"), "3");
  EXPECT_EQ(eval("7 / 2.0"), "3.5r");
  EXPECT_EQ(eval("7 / 0"), "null");
  EXPECT_EQ(eval("7 % 0"), "null");
  EXPECT_EQ(eval("7 % 4"), "3");
  EXPECT_EQ(eval("-process.pid"), "-42");
  EXPECT_EQ(eval("big + 1"), "9.22337e+18r");
  EXPECT_EQ(eval("big * 2"), "1.84467e+19r");
  EXPECT_EQ(eval("-big - 2"), "-9.22337e+18r");
  EXPECT_EQ(eval("(-big - 1) / -1"), "9.22337e+18r");
  EXPECT_EQ(eval("(-big - 1) % -1"), "0");
  EXPECT_EQ(eval("-(-big - 1)"), "9.22337e+18r");
  EXPECT_EQ(eval("ratio * 4"), "2r");
  EXPECT_EQ(eval("process.name + 1"), "null");
  EXPECT_EQ(eval("missing + 1"), "null");
}

TEST(compile, constant_folding) {
  auto ast = parse_expression("1 + 2 == 3 and \"a\" == \"A\"");
  ASSERT_TRUE(ast);
  auto c = compile(*ast, {});
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->is_constant());
  eval_context ctx;
  EXPECT_TRUE(c->test(ctx));
  auto f = parse_expression("process.pid == 1 + 2");
  ASSERT_TRUE(f);
  auto cf = compile(*f, {});
  ASSERT_TRUE(cf);
  EXPECT_FALSE(cf->is_constant());
}

TEST(compile, errors_carry_locations) {
  EXPECT_NE(compile_error("nosuch(1)").find("unknown function"), std::string::npos);
  EXPECT_NE(compile_error("length(1, 2)").find("takes 1"), std::string::npos);
  EXPECT_NE(compile_error("\"a\" + 1").find("numbers"), std::string::npos);
  EXPECT_NE(compile_error("startsWith(x, 1)").find("argument 2 of startsWith() must be a string"),
            std::string::npos);
  EXPECT_NE(compile_error("substring(x, \"a\")").find("integer"), std::string::npos);
  EXPECT_NE(compile_error("between(x, \"a\", \"b\", 1)").find("boolean"), std::string::npos);
  EXPECT_EQ(compile_error("startsWith(x, null)"), "ok");
  EXPECT_NE(compile_error("x regex \"(\"").find("regular expression"), std::string::npos);
  EXPECT_NE(compile_error("cidrMatch(x, \"10.0.0.0/33\")").find("CIDR"), std::string::npos);
  EXPECT_NE(compile_error("inList(x, \"nolist\")").find("unknown list"), std::string::npos);
  auto ast = parse_expression("a == 1 and\n  nosuch(b)");
  ASSERT_TRUE(ast);
  auto c = compile(*ast, {});
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().where.line, 2u);
  EXPECT_EQ(c.error().where.column, 3u);
}

TEST(compile, iequals_matches_bytewise_fold_for_all_bytes) {
  auto fold = [](int c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; };
  for (int c = 0; c < 256; ++c) {
    for (int d = 0; d < 256; ++d) {
      // 17 bytes: two SWAR words and a byte-wise tail, the odd byte in the middle.
      std::string a(17, 'x'), b(17, 'X');
      a[5] = static_cast<char>(c);
      b[5] = static_cast<char>(d);
      a[16] = static_cast<char>(c);
      b[16] = static_cast<char>(d);
      ASSERT_EQ(iequals(a, b), fold(c) == fold(d)) << c << " " << d;
    }
  }
}

TEST(compile, wildcard_shapes_agree_with_general_matcher) {
  std::mt19937 rng(12345);
  auto pick = [&](const char* alphabet, std::size_t max_len) {
    std::string out(rng() % (max_len + 1), ' ');
    std::size_t n = std::char_traits<char>::length(alphabet);
    for (auto& c : out)
      c = alphabet[rng() % n];
    return out;
  };
  for (int i = 0; i < 20000; ++i) {
    std::string p = pick("abA-**", 7);
    std::string t = pick("abAB-", 9);
    for (bool cs : {true, false}) {
      detail::wildcard_pattern w(p, cs, false);
      ASSERT_EQ(w.match(t), detail::wildcard_general(p, t, cs, false))
          << "pattern '" << p << "' text '" << t << "' cs " << cs;
    }
  }
}

TEST(compile, random_token_soup_never_crashes) {
  // Whatever parses must compile or fail cleanly, and evaluate without crashing.
  const char* pieces[] = {"a",
                          "process.name",
                          "process.args",
                          "1",
                          "-",
                          "+",
                          "*",
                          "/",
                          "%",
                          "(",
                          ")",
                          "==",
                          "!=",
                          "<",
                          ">=",
                          "and",
                          "or",
                          "not",
                          "in",
                          "\"x*\"",
                          ",",
                          "length(",
                          "substring(",
                          "arraySearch(",
                          "arrayCount(",
                          "between(",
                          "number(",
                          "cidrMatch(",
                          "\"10.0.0.0/8\"",
                          "events[0].a",
                          "null",
                          "true",
                          ":",
                          "like~",
                          "regex",
                          "\".*\"",
                          "9223372036854775807",
                          "concat(",
                          "s",
                          "s.a",
                          "indexOf(",
                          "string(",
                          "0",
                          "-1",
                          "2.5",
                          "startsWith~(",
                          "wildcard(",
                          "match(",
                          "arrayContains(",
                          "\"(\""};
  static const event::event ev = decode(sample);
  std::mt19937 rng(7);
  int compiled = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string text;
    int n = 1 + static_cast<int>(rng() % 12);
    for (int j = 0; j < n; ++j) {
      text += pieces[rng() % std::size(pieces)];
      text += ' ';
    }
    auto ast = parse_expression(text);
    if (!ast) continue;
    for (bool cs : {false, true}) {
      compile_options o;
      o.case_sensitive = cs;
      auto c = compile(*ast, o);
      if (!c) continue;
      ++compiled;
      eval_context ctx;
      ctx.current = &ev;
      (void)c->eval(ctx);
      (void)c->test(ctx);
    }
  }
  EXPECT_GT(compiled, 100);
}

TEST(compile, sequence_fields) {
  event::event a = decode(R"({"id":1})");
  event::event b = decode(R"({"id":2})");
  const event::event* seq[] = {&a, &b};
  auto ast = parse_expression("events[1].id == 2 and events[0].id == 1 and events[5].id == null");
  ASSERT_TRUE(ast);
  auto c = compile(*ast, {});
  ASSERT_TRUE(c);
  eval_context ctx;
  ctx.sequence = seq;
  EXPECT_TRUE(c->test(ctx));
}

TEST(compile, wildcard_match_function) {
  EXPECT_TRUE(wildcard_match("a*c", "abbbc", true));
  EXPECT_TRUE(wildcard_match("a?c", "abc", true));
  EXPECT_FALSE(wildcard_match("a?c", "ac", true));
  EXPECT_TRUE(wildcard_match("*", "", true));
  EXPECT_TRUE(wildcard_match("**a**", "bab", true));
  EXPECT_FALSE(wildcard_match("A*", "abc", true));
  EXPECT_TRUE(wildcard_match("A*", "abc", false));
  EXPECT_TRUE(wildcard_match("C:\\Windows\\*", "c:\\windows\\x.exe", false));
  EXPECT_TRUE(wildcard_match("*a*b*c", "xaxxbxxbc", true));
  EXPECT_FALSE(wildcard_match("*a*b*c", "xaxxbxxbcd", true));
  EXPECT_TRUE(wildcard_match("", "", true));
  EXPECT_FALSE(wildcard_match("", "a", true));
  EXPECT_FALSE(wildcard_match("a", "", true));
  EXPECT_TRUE(wildcard_match("a*", "a", true));
  EXPECT_TRUE(wildcard_match("*\\", "x\\", true));
  EXPECT_TRUE(iequals("ABC", "abc"));
  EXPECT_FALSE(iequals("ABC", "abd"));
}

} // namespace
} // namespace chainwatch::eql

namespace chainwatch::eql {
namespace {

// Expressions compiled with one field_slots table share a slot per distinct field of the current
// event; with a memo in the context, a field is read once per epoch and then served from it.
TEST(compile, field_slots_memoize_reads_of_the_current_event_per_epoch) {
  field_slots slots;
  compile_options o;
  o.slots = &slots;
  auto a = parse_expression("process.pid == 42");
  auto b = parse_expression("process.pid + 1 == 43 and source.ip == \"10.1.2.3\"");
  ASSERT_TRUE(a && b);
  auto ca = compile(*a, o);
  auto cb = compile(*b, o);
  ASSERT_TRUE(ca && cb);
  ASSERT_EQ(slots.ids.size(), 2u) << "process.pid and source.ip";
  const auto pid = slots.ids.at("process.pid");

  const event::event ev = decode(sample);
  const event::event other = decode(R"({"process":{"pid":7}})");
  std::vector<event::value_ref> values(slots.ids.size());
  std::vector<std::uint32_t> stamps(slots.ids.size(), 0);
  eval_context ctx;
  ctx.current = &ev;
  ctx.field_values = values.data();
  ctx.field_stamps = stamps.data();
  ctx.field_epoch = 1;
  EXPECT_TRUE(ca->test(ctx));
  EXPECT_EQ(stamps[pid], 1u);
  // A memo entry of this epoch is trusted: planting another event's pid changes the answer,
  // which shows the second expression reads the memo, not the event.
  values[pid] = other.get(event::field_path("process.pid"));
  EXPECT_FALSE(cb->test(ctx));
  // A new epoch reads the event again.
  ctx.field_epoch = 2;
  EXPECT_TRUE(cb->test(ctx));
  EXPECT_TRUE(ca->test(ctx));
}

} // namespace
} // namespace chainwatch::eql
