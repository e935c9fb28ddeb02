// KQL compiles to the EQL syntax tree: each case is KQL in, the EQL it means out (as
// eql::to_string prints it), or the error and its column.

#include <chainwatch/eql/kql.hpp>
#include <gtest/gtest.h>

namespace chainwatch::eql {
namespace {

std::string eql_of(std::string_view kql) {
  auto q = parse_kql(kql);
  if (!q) return "ERR " + std::to_string(q.error().where.column) + " " + q.error().message;
  return to_string(*q);
}

TEST(kql, field_values_lists_ranges_and_nesting) {
  EXPECT_EQ(eql_of("process.name:cmd.exe"), R"(any where process.name in ("cmd.exe"))");
  EXPECT_EQ(eql_of("process.name : cmd.exe"), R"(any where process.name in ("cmd.exe"))");
  // Unquoted numbers and booleans also match their text (no index mappings to say which).
  EXPECT_EQ(eql_of("http.response.status_code:404"),
            R"(any where http.response.status_code in (404, "404"))");
  EXPECT_EQ(eql_of("a:true"), R"(any where a in (true, "true"))");
  EXPECT_EQ(eql_of("a:2.5"), R"(any where a in (2.5, "2.5"))");
  // An unquoted `*` is a wildcard (case-sensitive `like`); quoted, it is a star.
  EXPECT_EQ(eql_of("process.name:*shell*"), R"(any where process.name like "*shell*")");
  EXPECT_EQ(eql_of(R"(a:"b*c")"), R"(any where a in ("b*c"))");
  EXPECT_EQ(eql_of("a:*"), "any where a != null");
  // A value runs to a keyword or a special character; inner spaces are kept, escapes resolved.
  EXPECT_EQ(eql_of("message:hello world and b:c"),
            R"(any where message in ("hello world") and b in ("c"))");
  EXPECT_EQ(eql_of(R"x(a:b\ c\(d\) or e:\or)x"), R"x(any where a in ("b c(d)") or e in ("or"))x");
  EXPECT_EQ(eql_of(R"x(a:"q\"uote")x"), R"x(any where a in ("q\"uote"))x");
  // Value lists with their own and/or/not, on one field.
  EXPECT_EQ(eql_of("a:(b or c and not d)"),
            R"(any where a in ("b") or a in ("c") and not (a != null and a in ("d")))");
  EXPECT_EQ(eql_of("a >= 5 and b < 2.5 and c > x"), R"(any where a >= 5 and b < 2.5 and c > "x")");
  EXPECT_EQ(eql_of("a:{b:c or d:{e:f}}"), R"(any where a.b in ("c") or a.d.e in ("f"))");
  // Keywords in any case; `and` binds tighter than `or`; parentheses group.
  EXPECT_EQ(eql_of("a:b OR c:d AND NOT e:f"),
            R"(any where a in ("b") or c in ("d") and not (e != null and e in ("f")))");
  EXPECT_EQ(eql_of("(a:b or c:d) and e:f"),
            R"(any where (a in ("b") or c in ("d")) and e in ("f"))");
}

TEST(kql, not_holds_where_the_field_is_missing) {
  // Elasticsearch's must_not matches documents without the field: each comparison under a
  // `not` is guarded, so a missing field makes it false and the `not` true; two `not`s cancel.
  EXPECT_EQ(eql_of("not user.name:bob"),
            R"(any where not (user.name != null and user.name in ("bob")))");
  EXPECT_EQ(eql_of("not (a:b and not c:d)"),
            R"(any where not (a != null and a in ("b") and not c in ("d")))");
  EXPECT_EQ(eql_of("not a > 5"), "any where not (a != null and a > 5)");
}

TEST(kql, wildcards_with_literal_stars_or_question_marks_are_regexes) {
  // `like` has no escape, and reads `?` as a wildcard; KQL's only wildcard is `*`.
  EXPECT_EQ(eql_of(R"(a:\*x*)"), R"x(any where a regex "(?s)\\*x.*")x");
  EXPECT_EQ(eql_of("a:b?c*"), R"x(any where a regex "(?s)b\\?c.*")x");
  EXPECT_EQ(eql_of("a:b?c"), R"(any where a in ("b?c"))");
}

TEST(kql, address_ranges_match_like_an_ip_field) {
  EXPECT_EQ(
      eql_of("not destination.ip:(10.0.0.0/8 or \"FE80::/10\" or 127.0.0.1)"),
      R"(any where not (destination.ip != null and cidrMatch(destination.ip, "10.0.0.0/8") or )"
      R"(destination.ip != null and cidrMatch(destination.ip, "FE80::/10") or )"
      R"(destination.ip != null and destination.ip in ("127.0.0.1")))");
  EXPECT_EQ(eql_of("path:/etc/x/8"), R"(any where path in ("/etc/x/8"))");
}

TEST(kql, a_field_under_an_object_exists) {
  EXPECT_EQ(eql_of("file.hash.*:* or not process.hash.*: *"),
            "any where file.hash != null or not process.hash != null");
}

TEST(kql, refuses_what_it_cannot_mean_with_the_place) {
  EXPECT_EQ(eql_of("cmd.exe"), "ERR 1 'cmd.exe' has no field: a value alone searches every "
                               "field, which chainwatch does not; write field:value");
  EXPECT_EQ(eql_of("process.*:x"),
            "ERR 11 a wildcard field name takes only the value * (some field exists)");
  EXPECT_EQ(eql_of("proc*:x"), "ERR 1 wildcard field names are not supported");
  EXPECT_EQ(eql_of("a..b:x"), "ERR 1 'a..b' is not a field name");
  EXPECT_EQ(eql_of("my field:x"), "ERR 1 'my field' is not a field name");
  EXPECT_EQ(eql_of("   "),
            "ERR 1 an empty KQL query matches every event; write the condition it should test");
  EXPECT_EQ(eql_of("a:(b"), "ERR 5 expected ')' after the values");
  EXPECT_EQ(eql_of("a:b)"), "ERR 4 unexpected ')' after a complete query");
  EXPECT_EQ(eql_of(R"(a:"open)"), "ERR 3 a quoted value is not closed");
  EXPECT_EQ(eql_of("a:"), "ERR 3 expected a value after ':'");
  std::string deep(300, '(');
  EXPECT_EQ(eql_of(deep + "a:b" + std::string(300, ')')).substr(0, 7), "ERR 257");
  // Languages by name, as rules give them.
  EXPECT_TRUE(parse_in("kuery", "a:b"));
  EXPECT_TRUE(parse_in("eql", "any where true"));
  EXPECT_TRUE(parse_in("", "any where true"));
  auto sigma = parse_in("sigma", "a:b");
  ASSERT_FALSE(sigma);
  EXPECT_EQ(sigma.error().message, "language \"sigma\" is not supported");
}

} // namespace
} // namespace chainwatch::eql
