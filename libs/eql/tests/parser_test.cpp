#include <chainwatch/eql/ast.hpp>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <iterator>
#include <string>
#include <toml++/toml.h>

namespace chainwatch::eql {
namespace {

expr must_expr(std::string_view text) {
  auto r = parse_expression(text);
  EXPECT_TRUE(r.has_value()) << text << "\n" << (r ? "" : r.error().render(text));
  return r ? std::move(*r) : expr{};
}

query must_parse(std::string_view text) {
  auto r = parse(text);
  EXPECT_TRUE(r.has_value()) << text << "\n" << (r ? "" : r.error().render(text));
  return r ? std::move(*r) : query{};
}

std::string canon(std::string_view text) {
  return to_string(must_expr(text));
}

std::string canon_query(std::string_view text) {
  return to_string(must_parse(text));
}

error must_fail(std::string_view text) {
  auto r = parse(text);
  EXPECT_FALSE(r.has_value()) << "unexpectedly parsed: " << text;
  return r ? error{} : r.error();
}

// Asserts the query fails at line:col with a message containing `part`.
void expect_error(std::string_view text, std::uint32_t line, std::uint32_t col,
                  std::string_view part) {
  error e = must_fail(text);
  EXPECT_EQ(e.where.line, line) << text << "\n" << e.render(text);
  EXPECT_EQ(e.where.column, col) << text << "\n" << e.render(text);
  EXPECT_NE(e.message.find(part), std::string::npos)
      << "message '" << e.message << "' lacks '" << part << "'";
}

// to_string must produce text that parses back to the same rendering.
void expect_round_trip(std::string_view text) {
  query q = must_parse(text);
  std::string once = to_string(q);
  auto again = parse(once);
  ASSERT_TRUE(again.has_value()) << once << "\n" << again.error().render(once);
  EXPECT_EQ(to_string(*again), once);
}

// -- literals and primaries -------------------------------------------------

TEST(parser, literals) {
  EXPECT_EQ(std::get<std::int64_t>(must_expr("42").value), 42);
  EXPECT_EQ(std::get<std::int64_t>(must_expr("-7").value), -7);
  EXPECT_EQ(std::get<std::int64_t>(must_expr("-9223372036854775808").value), INT64_MIN);
  EXPECT_DOUBLE_EQ(std::get<double>(must_expr("1.5").value), 1.5);
  EXPECT_DOUBLE_EQ(std::get<double>(must_expr("1e3").value), 1000.0);
  EXPECT_DOUBLE_EQ(std::get<double>(must_expr(".5").value), 0.5);
  EXPECT_DOUBLE_EQ(std::get<double>(must_expr("-2.5E-1").value), -0.25);
  EXPECT_EQ(std::get<bool>(must_expr("true").value), true);
  EXPECT_EQ(std::get<bool>(must_expr("FALSE").value), false);
  EXPECT_TRUE(std::holds_alternative<std::monostate>(must_expr("null").value));
  EXPECT_EQ(must_expr("null").kind, op::literal);
}

TEST(parser, strings_and_escapes) {
  EXPECT_EQ(std::get<std::string>(must_expr(R"("a\tb\n\"q\"\\")").value), "a\tb\n\"q\"\\");
  EXPECT_EQ(std::get<std::string>(must_expr(R"('it\'s')").value), "it's");
  EXPECT_EQ(std::get<std::string>(must_expr(R"("\u{e9}\u0041")").value), "\xc3\xa9"
                                                                         "A");
  auto raw = must_expr(R"(?"C:\Windows\*")");
  EXPECT_TRUE(raw.raw_string);
  EXPECT_EQ(std::get<std::string>(raw.value), R"(C:\Windows\*)");
  auto raw1 = must_expr(R"(?'\s+\w')");
  EXPECT_EQ(std::get<std::string>(raw1.value), R"(\s+\w)");
  auto triple = must_expr(R"("""a "quoted" \d+""")");
  EXPECT_TRUE(triple.raw_string);
  EXPECT_EQ(std::get<std::string>(triple.value), R"(a "quoted" \d+)");
  EXPECT_FALSE(must_expr(R"("x")").raw_string);
}

TEST(parser, fields) {
  auto f = must_expr("process.parent.name");
  ASSERT_EQ(f.kind, op::field);
  ASSERT_EQ(f.path.size(), 3u);
  EXPECT_EQ(f.path[2].name, "name");

  auto g = must_expr("events[1].process.name");
  ASSERT_EQ(g.path.size(), 4u);
  EXPECT_EQ(g.path[0].name, "events");
  EXPECT_TRUE(g.path[1].name.empty());
  EXPECT_EQ(g.path[1].index, 1);
  EXPECT_EQ(g.path[3].name, "name");

  auto h = must_expr("a.b[0].c");
  ASSERT_EQ(h.path.size(), 4u);
  EXPECT_EQ(h.path[2].index, 0);

  auto q = must_expr("`my field`.x");
  ASSERT_EQ(q.path.size(), 2u);
  EXPECT_EQ(q.path[0].name, "my field");
  EXPECT_EQ(must_expr("@timestamp").path[0].name, "@timestamp");
  EXPECT_EQ(must_expr("?dll.name").path[1].name, "name");
  // Segments after a dot may be keywords.
  EXPECT_EQ(must_expr("x.in").path[1].name, "in");
}

TEST(parser, calls) {
  auto c = must_expr("startsWith(process.name, \"cmd\")");
  ASSERT_EQ(c.kind, op::call);
  EXPECT_EQ(c.name, "startsWith");
  EXPECT_EQ(c.children.size(), 2u);
  auto ci = must_expr("endsWith~(file.name, \".EXE\")");
  EXPECT_EQ(ci.name, "endsWith~");
  EXPECT_EQ(must_expr("f()").children.size(), 0u);
  EXPECT_EQ(canon("length (x)"), "length(x)");
}

// -- operators and precedence ----------------------------------------------

TEST(parser, precedence) {
  EXPECT_EQ(canon("a or b and c"), "a or b and c");
  EXPECT_EQ(must_expr("a or b and c").kind, op::or_);
  EXPECT_EQ(must_expr("a and b or c").kind, op::or_);
  EXPECT_EQ(must_expr("not a and b").kind, op::and_);
  EXPECT_EQ(must_expr("not a == b").kind, op::not_);
  EXPECT_EQ(must_expr("a + b * c").kind, op::add);
  EXPECT_EQ(must_expr("a * b + c").kind, op::add);
  EXPECT_EQ(must_expr("a == b + 1").kind, op::eq);
  EXPECT_EQ(must_expr("-a * b").kind, op::mul);
  EXPECT_EQ(canon("(a or b) and c"), "(a or b) and c");
  EXPECT_EQ(canon("a - (b - c)"), "a - (b - c)");
  EXPECT_EQ(canon("(a - b) - c"), "a - b - c");
  EXPECT_EQ(canon("a  %  2==1"), "a % 2 == 1");
  EXPECT_EQ(canon("- (-1)"), "- -1");
  EXPECT_EQ(canon("not (a and b)"), "not (a and b)");
  EXPECT_EQ(canon("null == (x > -1)"), "null == (x > -1)");
}

TEST(parser, comparison_operators) {
  EXPECT_EQ(must_expr("a = 1").kind, op::eq);
  EXPECT_EQ(must_expr("a == 1").kind, op::eq);
  EXPECT_EQ(must_expr("a != 1").kind, op::ne);
  EXPECT_EQ(must_expr("a < 1").kind, op::lt);
  EXPECT_EQ(must_expr("a <= 1").kind, op::le);
  EXPECT_EQ(must_expr("a > 1").kind, op::gt);
  EXPECT_EQ(must_expr("a >= 1").kind, op::ge);
  EXPECT_EQ(must_expr("a : \"x*\"").kind, op::colon);
  auto l = must_expr("a : (\"x*\", \"y\")");
  ASSERT_EQ(l.kind, op::colon);
  EXPECT_EQ(l.children[1].kind, op::list);
  EXPECT_EQ(l.children[1].children.size(), 2u);
}

TEST(parser, set_and_pattern_operators) {
  auto in = must_expr("a IN (1, 2, b + 1)");
  ASSERT_EQ(in.kind, op::in);
  EXPECT_EQ(in.children[1].kind, op::list);
  EXPECT_EQ(in.children[1].children[2].kind, op::add);
  EXPECT_EQ(must_expr("a in~ (\"x\")").kind, op::in_insensitive);
  EXPECT_EQ(must_expr("a not in (1)").kind, op::not_in);
  EXPECT_EQ(must_expr("a NOT IN~ (1)").kind, op::not_in_insensitive);
  auto ni = must_expr("not a in (1)");
  ASSERT_EQ(ni.kind, op::not_);
  EXPECT_EQ(ni.children[0].kind, op::in);
  EXPECT_EQ(must_expr("a like \"x*\"").kind, op::like);
  EXPECT_EQ(must_expr("a like~ (\"x*\", \"y?\")").kind, op::like_insensitive);
  EXPECT_EQ(must_expr("a regex \"x.*\"").kind, op::regex);
  EXPECT_EQ(must_expr("a regex~ \"\"\"x\\d\"\"\"").kind, op::regex_insensitive);
  EXPECT_EQ(must_expr("opcode in(1,3)").kind, op::in);
  // `in~` needs the tilde right after the keyword.
  EXPECT_FALSE(parse_expression("a in ~(1)").has_value());
}

TEST(parser, keywords_are_case_insensitive) {
  EXPECT_EQ(must_expr("a AND b Or NOT c").kind, op::or_);
  auto q = must_parse("PROCESS WHERE x == 1");
  EXPECT_EQ(std::get<event_query>(q.body).category, "PROCESS");
  auto s = must_parse("SEQUENCE BY h WITH MAXSPAN=1s [a where true] [b where true]");
  EXPECT_TRUE(std::holds_alternative<sequence_query>(s.body));
}

// -- queries ------------------------------------------------------------------

TEST(parser, event_queries) {
  auto q = must_parse("process where process.name == \"cmd.exe\"");
  auto& e = std::get<event_query>(q.body);
  EXPECT_EQ(e.category, "process");
  EXPECT_EQ(e.condition.kind, op::eq);
  EXPECT_EQ(std::get<event_query>(must_parse("any where true").body).category, "any");
  EXPECT_EQ(std::get<event_query>(must_parse("\"my cat\" where true").body).category, "my cat");
  EXPECT_EQ(std::get<event_query>(must_parse("`my-cat` where true").body).category, "my-cat");
  EXPECT_EQ(std::get<event_query>(must_parse("sequence where true").body).category, "sequence");
}

TEST(parser, sequences) {
  auto q = must_parse(R"(sequence by host.id, user.name with maxspan=5m
  [process where true] by process.pid with runs=3
  ![file where file.name : "x"]
  [network where true] by process.ppid
until [process where event.type == "end"] by process.pid)");
  auto& s = std::get<sequence_query>(q.body);
  EXPECT_EQ(s.by.size(), 2u);
  ASSERT_TRUE(s.maxspan_ns.has_value());
  EXPECT_EQ(*s.maxspan_ns, 300'000'000'000LL);
  ASSERT_EQ(s.steps.size(), 3u);
  EXPECT_EQ(s.steps[0].runs, 3u);
  EXPECT_EQ(s.steps[0].by.size(), 1u);
  EXPECT_TRUE(s.steps[1].missing);
  EXPECT_EQ(s.steps[1].query.category, "file");
  EXPECT_EQ(s.steps[0].where.line, 2u);
  EXPECT_EQ(s.steps[0].where.column, 3u);
  ASSERT_TRUE(s.until.has_value());
  EXPECT_EQ(s.until->by.size(), 1u);

  // `with maxspan` before `by`.
  auto r = must_parse("sequence with maxspan=500ms by a [x where true] [y where true]");
  auto& s2 = std::get<sequence_query>(r.body);
  EXPECT_EQ(*s2.maxspan_ns, 500'000'000LL);
  EXPECT_EQ(s2.by.size(), 1u);
}

TEST(parser, maxspan_units) {
  auto span = [](std::string_view d) {
    auto q =
        must_parse("sequence with maxspan=" + std::string(d) + " [a where true] [b where true]");
    return *std::get<sequence_query>(q.body).maxspan_ns;
  };
  EXPECT_EQ(span("10ms"), 10'000'000LL);
  EXPECT_EQ(span("10s"), 10'000'000'000LL);
  EXPECT_EQ(span("2m"), 120'000'000'000LL);
  EXPECT_EQ(span("1h"), 3'600'000'000'000LL);
  EXPECT_EQ(span("1d"), 86'400'000'000'000LL);
  EXPECT_EQ(span("30"), 30'000'000'000LL); // bare number: seconds
  EXPECT_EQ(span(" 5s"), 5'000'000'000LL);
}

TEST(parser, joins_and_fork) {
  auto q = must_parse(R"(join by unique_pid
  [process where opcode=1]
  [file where opcode=0] by file_path
until [file where opcode == 2])");
  auto& j = std::get<join_query>(q.body);
  EXPECT_EQ(j.by.size(), 1u);
  EXPECT_EQ(j.steps.size(), 2u);
  EXPECT_TRUE(j.until.has_value());
  auto f = must_parse("sequence [a where true] [b where true] fork=true by x [c where true]");
  EXPECT_TRUE(std::get<sequence_query>(f.body).steps[1].fork);
  EXPECT_EQ(std::get<sequence_query>(f.body).steps[1].by.size(), 1u);
}

TEST(parser, lineage) {
  auto q = must_parse("file where child of [process where name == \"x\" and descendant of "
                      "[process where true]]");
  auto& c = std::get<event_query>(q.body).condition;
  ASSERT_EQ(c.kind, op::child_of);
  ASSERT_EQ(c.subquery.size(), 1u);
  EXPECT_EQ(c.subquery[0].category, "process");
  EXPECT_EQ(c.subquery[0].condition.children[1].kind, op::descendant_of);
  auto n = must_parse("process where not event of [file where true]");
  EXPECT_EQ(std::get<event_query>(n.body).condition.children[0].kind, op::event_of);
  // `event` stays usable as a field.
  EXPECT_EQ(std::get<event_query>(must_parse("any where event.category == \"x\"").body)
                .condition.children[0]
                .kind,
            op::field);
}

TEST(parser, pipes) {
  auto q = must_parse("process where true | head 5 | tail 2 | filter a > 1 | unique a, b "
                      "| unique_count a b | count | count a | sort a, b");
  ASSERT_EQ(q.pipes.size(), 8u);
  EXPECT_EQ(q.pipes[0].kind, pipe::type::head);
  EXPECT_EQ(std::get<std::int64_t>(q.pipes[0].args[0].value), 5);
  EXPECT_EQ(q.pipes[1].kind, pipe::type::tail);
  EXPECT_EQ(q.pipes[2].kind, pipe::type::filter);
  EXPECT_EQ(q.pipes[3].args.size(), 2u);
  EXPECT_EQ(q.pipes[4].kind, pipe::type::unique_count);
  EXPECT_EQ(q.pipes[4].args.size(), 2u);
  EXPECT_EQ(q.pipes[5].args.size(), 0u);
  EXPECT_EQ(q.pipes[6].args.size(), 1u);
  EXPECT_EQ(q.pipes[7].kind, pipe::type::sort);
}

TEST(parser, comments) {
  auto q = must_parse("process where /* block\ncomment */ a == 1 // line comment\n| head 1");
  EXPECT_EQ(q.pipes.size(), 1u);
}

TEST(parser, locations) {
  auto q = must_parse("process where\n  a == 1");
  auto& c = std::get<event_query>(q.body).condition;
  EXPECT_EQ(c.where.line, 2u);
  EXPECT_EQ(c.where.column, 5u); // the operator
  EXPECT_EQ(c.children[0].where.column, 3u);
  EXPECT_EQ(c.children[0].where.offset, 16u);
}

// -- errors ----------------------------------------------------------------

TEST(parser, error_positions) {
  expect_error("sequence\n  [process where true\n  [file where true]", 3, 3,
               "expected ']' to close the step opened at 2:3");
  expect_error("process where true | hed 5", 1, 22, "unknown pipe 'hed'");
  expect_error("sequence with maxspan=5x [a where true] [b where true]", 1, 23,
               "invalid duration '5x' (use ms, s, m, h or d)");
  expect_error("process where name == \"abc", 1, 23, "unterminated string");
  expect_error("process where a ==", 1, 19, "expected an expression");
  expect_error("process a == 1", 1, 9, "expected 'where'");
  expect_error("process where (a == 1", 1, 22, "expected ')' to close the '(' opened at 1:15");
  expect_error("process where a in 1", 1, 20, "expected '(' to start the list");
  expect_error("process where a in (1, 2", 1, 25, "to close the list opened at 1:20");
  expect_error("process where f(a, b", 1, 21, "close the call to 'f'");
  expect_error("sequence [a where true]", 1, 24, "at least two steps");
  expect_error("sequence [a where true] with runs=1", 1, 36, "or one step 'with runs=N'");
  EXPECT_TRUE(parse("sequence by x with maxspan=15s [a where true] with runs=10"));
  expect_error("join [a where true] with runs=2", 1, 32, "at least two steps");
  expect_error("sequence\n  foo", 2, 3, "expected '[' to start the first step");
  expect_error("process where a == 1 b", 1, 22, "expected '|' or end of query");
  expect_error("process where a == \"\\q\"", 1, 21, "invalid escape");
  expect_error("process where x == 99999999999999999999", 1, 20, "out of range");
  expect_error("process where true | head", 1, 26, "expected a number after 'head'");
  expect_error("process where a ## 1", 1, 17, "unexpected character '#'");
  expect_error("process where /* open", 1, 15, "unterminated comment");
  expect_error("process where `a", 1, 15, "unterminated quoted name");
  expect_error("where a", 1, 1, "expected an event category");
  expect_error("process where a and", 1, 20, "expected an expression");
  expect_error("sequence [a where true] with runs=0 [b where true]", 1, 35, "between 1 and 100");
  expect_error("join [a where true] ![b where true]", 1, 21, "only allowed in a sequence");
  expect_error("sequence with maxspan=1.5s [a where true] [b where true]", 1, 23,
               "invalid duration");
  expect_error("process where a.b[x]", 1, 19, "array index");
  expect_error("process where foo of [a where true]", 1, 15, "unknown relationship");
  expect_error("sample by host.id [a where true] [b where true]", 1, 1, "not supported");
  expect_error("process where \"\"\"abc", 1, 15, "unterminated string");
  expect_error("sequence [a where true] [b where true] until [c where true] with runs=2", 1, 66,
               "not allowed");
}

TEST(parser, error_render) {
  std::string src = "process where true\n| hed 5";
  auto r = parse(src);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().render(src, "rule.toml"),
            "rule.toml:2:3: unknown pipe 'hed' (expected head, tail, filter, unique, "
            "unique_count, count or sort)\n| hed 5\n  ^");
  EXPECT_EQ(r.error().render(src, "rule.toml", 10, 4).substr(0, 15), "rule.toml:12:3:");
  std::string one = "any where\ta ==";
  auto e = parse(one);
  ASSERT_FALSE(e.has_value());
  EXPECT_EQ(
      e.error().render(one, "q", 0, 8),
      "q:1:23: expected an expression, found end of query\nany where\ta ==\n         \t    ^");
}

TEST(parser, nesting_limit) {
  std::string deep(10000, '(');
  deep = "process where " + deep + "a" + std::string(10000, ')');
  error e = must_fail(deep);
  EXPECT_NE(e.message.find("nested too deeply"), std::string::npos) << e.message;

  std::string ok = "process where " + std::string(100, '(') + "a" + std::string(100, ')');
  must_parse(ok);

  std::string nots = "process where ";
  for (int i = 0; i < 5000; ++i)
    nots += "not ";
  EXPECT_FALSE(parse(nots + "a").has_value());

  std::string minus = "process where " + std::string(5000, '-') + "a";
  EXPECT_FALSE(parse(minus).has_value());

  // Long operator chains build deep trees without recursing; they are limited too.
  std::string chain = "process where a";
  for (int i = 0; i < 5000; ++i)
    chain += " + a";
  EXPECT_FALSE(parse(chain).has_value());
  // Real rules chain many clauses; chains are bounded by tree height, not bracket nesting.
  std::string ors = "process where a";
  for (int i = 0; i < 1500; ++i)
    ors += " or a";
  must_parse(ors);
  std::string calls = "process where ";
  for (int i = 0; i < 200; ++i)
    calls += "f(";
  calls += "a" + std::string(200, ')');
  expect_round_trip(calls);
  calls = "process where ";
  for (int i = 0; i < 300; ++i)
    calls += "f(";
  EXPECT_FALSE(parse(calls + "a" + std::string(300, ')')).has_value());
}

TEST(parser, bad_bytes_do_not_crash) {
  for (std::string_view s :
       {std::string_view("\0", 1), std::string_view("\xff\xfe"),
        std::string_view("process where \"\\"), std::string_view("?"), std::string_view("\"\"\""),
        std::string_view("sequence by"), std::string_view("a where b[")}) {
    EXPECT_FALSE(parse(s).has_value());
  }
}

// -- round trips --------------------------------------------------------------

TEST(parser, to_string_round_trips) {
  EXPECT_EQ(canon_query("process where a == 1 | head 5"), "process where a == 1 | head 5");
  EXPECT_EQ(canon_query("sequence by h with maxspan=90s [a where true] by x [b where true]"),
            "sequence by h with maxspan=90s [a where true] by x [b where true]");
  EXPECT_EQ(canon_query("sequence with maxspan=120s [a where true] [b where true]"),
            "sequence with maxspan=2m [a where true] [b where true]");
  EXPECT_EQ(canon("a not in (1, 2)"), "a not in (1, 2)");
  EXPECT_EQ(canon("`my field`.x == 'y'"), "`my field`.x == \"y\"");
  EXPECT_EQ(canon("x == ?\"a\\b\""), "x == \"\"\"a\\b\"\"\"");
  EXPECT_EQ(canon("x == 1.0"), "x == 1.0");
  EXPECT_EQ(canon("x == 1e300"), "x == 1e+300");
  for (std::string_view q : {
           "process where a : (\"x\", \"y\") and not b like~ \"z*\" or c regex \"q\"",
           "sequence by h [a where true] with runs=2 ![b where true] [c where x] until [d where "
           "true]",
           "join by x [a where true] [b where true] | tail 3",
           "file where child of [process where descendant of [process where x == 1]]",
           "any where `and`.b == -1 and c * (d + e) % 2 == f",
           "network where cidrMatch(ip, \"10.0.0.0/8\") | unique a b | sort c",
           "\"odd cat\" where x == \"\\u{1}\\n\\t\"",
       }) {
    expect_round_trip(q);
  }
}

// Every seed of the fuzz corpus is a valid query that round-trips.
TEST(parser, fuzz_corpus_replay) {
  std::filesystem::path dir =
      std::filesystem::path(CHAINWATCH_SOURCE_DIR) / "libs" / "eql" / "fuzz" / "corpus" / "parse";
  if (!std::filesystem::exists(dir)) GTEST_SKIP() << "fuzz corpus not found at " << dir;
  std::size_t seeds = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(entry.path(), std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    SCOPED_TRACE(entry.path().string());
    expect_round_trip(text);
    ++seeds;
  }
  EXPECT_GE(seeds, 20u);
}

// Inputs the fuzzer found: nested negations of numbers, and deep negation chains whose printed
// form uses more parentheses than the input.
TEST(parser, fuzz_regressions) {
  expect_round_trip("net7ork where a---------0----------------------------  .0");
  expect_round_trip("net7ork where a" + std::string(137, '-') + "  .5");
  EXPECT_EQ(canon("--1"), "- -1");
  EXPECT_EQ(canon("- - x"), "- -x");
  EXPECT_EQ(canon("-(1)"), "-(1)");
  EXPECT_EQ(canon("-(a + b)"), "-(a + b)");
  EXPECT_EQ(canon("a not like \"x\" == b"), "a not like \"x\" == b");
  EXPECT_EQ(canon("not a regex~ \"x\""), "a not regex~ \"x\"");
  EXPECT_EQ(canon("b == (a not like \"x\")"), "b == (a not like \"x\")");
  std::string chain = "x where a";
  for (int i = 0; i < 400; ++i)
    chain += " not like \"x\" == b";
  expect_round_trip(chain);
}

// -- real queries -------------------------------------------------------------

TEST(parser, eql_conformance_suite) {
  std::filesystem::path file =
      std::filesystem::path(CHAINWATCH_SHARED_DATA) / "eql" / "test_queries.toml";
  if (!std::filesystem::exists(file)) GTEST_SKIP() << "shared test data not found at " << file;
  toml::table table;
  try {
    table = toml::parse_file(file.string());
  } catch (const toml::parse_error& e) {
    FAIL() << "cannot read " << file << ": " << e.description();
  }
  auto* queries = table["queries"].as_array();
  ASSERT_NE(queries, nullptr);
  std::size_t total = 0;
  std::size_t failed = 0;
  for (auto& item : *queries) {
    auto* entry = item.as_table();
    ASSERT_NE(entry, nullptr);
    auto text = (*entry)["query"].value<std::string>();
    ASSERT_TRUE(text.has_value());
    ++total;
    auto r = parse(*text);
    if (!r) {
      ++failed;
      ADD_FAILURE() << r.error().render(*text, "test_queries.toml");
      continue;
    }
    std::string once = to_string(*r);
    auto again = parse(once);
    if (!again) {
      ++failed;
      ADD_FAILURE() << "re-parse of to_string failed: " << again.error().render(once);
      continue;
    }
    EXPECT_EQ(to_string(*again), once);
  }
  EXPECT_EQ(total, 241u);
  EXPECT_EQ(failed, 0u);
}

// Short queries from Elastic's detection rules (elastic/detection-rules, Elastic License 2.0;
// kept here as test input only), some shortened.
TEST(parser, elastic_detection_rules) {
  for (
      std::string_view q : {
          R"(sequence by host.id with maxspan=5m
  [authentication where event.action == "logged-in" and
    /* event 4624 need to be logged */
    winlog.logon.type : "Network" and event.outcome == "success" and source.ip != null and
    not source.ip in ("127.0.0.1", "::1")] by winlog.event_data.TargetLogonId
   /* event 4724 need to be logged */
  [iam where event.action == "reset-password"] by winlog.event_data.SubjectLogonId)",
          R"(sequence by host.id, process.entity_id with maxspan = 5s
 [any where host.os.type == "windows" and (event.category == "library" or (event.category == "process" and event.action : "Image loaded*")) and
  (?dll.name : "taskschd.dll" or file.name : "taskschd.dll") and process.name : ("powershell.exe", "pwsh.exe", "powershell_ise.exe")]
 [network where host.os.type == "windows" and process.name : ("powershell.exe", "pwsh.exe", "powershell_ise.exe") and destination.port == 135 and not destination.ip in ("127.0.0.1", "::1")])",
          R"(sequence by host.id, process.entity_id with maxspan=1m
  [process where host.os.type == "windows" and event.type == "start" and process.name : "rundll32.exe" and
  (
    process.args_count == 1 and

    /* Excludes bug where a missing closing quote sets args_count to 1 despite extra args */
    not process.command_line regex~ """\".*\.exe[^\"].*"""
  )]
  [network where host.os.type == "windows" and process.name : "rundll32.exe" and
   not cidrmatch(destination.ip, "10.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12")])",
          R"(sequence by host.id, process.entity_id with maxspan=30s
 [process where event.type == "start" and process.name == "osascript"]
 [network where event.type != "end" and process.name == "osascript" and destination.ip != "::1" and
  not cidrmatch(destination.ip,
    "10.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24")])",
          R"(sequence by host.id, process.entity_id with maxspan=3s
  [process where host.os.type == "linux" and event.type == "start" and event.action == "exec" and
   process.name == "cat" and process.parent.name in ("bash", "dash", "sh", "tcsh", "csh", "zsh", "ksh", "fish")]
  [network where host.os.type == "linux" and event.action in ("connection_attempted", "disconnect_received") and
   process.name == "cat" and not (
     destination.ip == null or destination.ip == "0.0.0.0" or cidrmatch(
       destination.ip, "10.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24"
     )
   )])",
          R"(iam where host.os.type == "linux" and (event.type == "user" and event.type == "creation") and
process.name in ("useradd", "adduser") and user.name != null)",
          R"(sequence by host.id, process.entity_id with maxspan=1s
  [process where host.os.type == "linux" and event.type == "start" and event.action == "exec" and process.name != null and
   (process.thread.capabilities.effective : "CAP_SET?ID" or process.thread.capabilities.permitted : "CAP_SET?ID") and
   user.id != "0" and not (
     process.parent.executable : ("/tmp/newroot/*", "/opt/carbonblack*")
   )]
  [process where host.os.type == "linux" and event.action == "uid_change" and event.type == "change" and user.id == "0"])",
      }) {
    expect_round_trip(q);
  }
}

TEST(parser, sample_queries_are_refused_with_the_reason) {
  auto q = parse("sample by host.id [process where true] [network where true]");
  ASSERT_FALSE(q);
  EXPECT_NE(q.error().message.find("no order and no time bound"), std::string::npos)
      << q.error().message;
  EXPECT_EQ(q.error().where.column, 1u);
  // A field or category named sample still parses.
  EXPECT_TRUE(parse("sample where sample.size > 1"));
}

} // namespace
} // namespace chainwatch::eql
