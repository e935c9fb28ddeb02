// Lucene query strings compile to the EQL syntax tree: each case is Lucene in, the EQL it means
// out (as eql::to_string prints it), or the error and its column.

#include <chainwatch/eql/kql.hpp>
#include <chainwatch/eql/lucene.hpp>
#include <gtest/gtest.h>

namespace chainwatch::eql {
namespace {

std::string eql_of(std::string_view lucene) {
  auto q = parse_lucene(lucene);
  if (!q) return "ERR " + std::to_string(q.error().where.column) + " " + q.error().message;
  return to_string(*q);
}

TEST(lucene, terms_phrases_wildcards_and_escapes) {
  EXPECT_EQ(eql_of("process.name:cmd.exe"), R"(any where process.name in ("cmd.exe"))");
  EXPECT_EQ(eql_of("process.name : cmd.exe"), R"(any where process.name in ("cmd.exe"))");
  EXPECT_EQ(eql_of("event.code:4625"), R"(any where event.code in (4625, "4625"))");
  EXPECT_EQ(eql_of("a:true"), R"(any where a in (true, "true"))");
  EXPECT_EQ(eql_of(R"(a:"hello world")"), R"(any where a in ("hello world"))");
  EXPECT_EQ(eql_of(R"(a:"b*c?")"), R"(any where a in ("b*c?"))");
  EXPECT_EQ(eql_of(R"(a:"q\"uote")"), R"(any where a in ("q\"uote"))");
  // `*` and `?` are wildcards; escaped they are characters (then the pattern is a regex).
  EXPECT_EQ(eql_of("process.name:*shell?.exe"), R"(any where process.name like "*shell?.exe")");
  EXPECT_EQ(eql_of(R"(a:b\*c*)"), R"x(any where a regex "(?s)b\\*c.*")x");
  EXPECT_EQ(eql_of(R"(a:b\?)"), R"(any where a in ("b?"))");
  EXPECT_EQ(eql_of(R"(path:C\:\\Windows\\*)"), R"(any where path like "C:\\Windows\\*")");
  EXPECT_EQ(eql_of(R"(a:x\ y\/z)"), R"(any where a in ("x y/z"))");
  EXPECT_EQ(eql_of(R"(a:\u0041b)"), R"(any where a in ("Ab"))");
  EXPECT_EQ(eql_of("url:foo-bar+baz"), R"(any where url in ("foo-bar+baz"))");
  EXPECT_EQ(eql_of("a:*"), "any where a != null");
  EXPECT_EQ(eql_of("_exists_:user.name"), "any where user.name != null");
  EXPECT_EQ(eql_of(R"(source.ip:"10.0.0.0/8")"), R"(any where cidrMatch(source.ip, "10.0.0.0/8"))");
  // Boosts change scores only.
  EXPECT_EQ(eql_of("a:b^2 OR c:\"d\"^0.5 OR (e:f)^3"),
            R"(any where a in ("b") or c in ("d") or e in ("f"))");
}

TEST(lucene, ranges_comparisons_and_regexes) {
  EXPECT_EQ(eql_of("a:[1 TO 5]"), "any where a >= 1 and a <= 5");
  EXPECT_EQ(eql_of("a:{1 TO 5}"), "any where a > 1 and a < 5");
  EXPECT_EQ(eql_of("a:[1 TO 5}"), "any where a >= 1 and a < 5");
  EXPECT_EQ(eql_of("a:{* TO 5]"), "any where a <= 5");
  EXPECT_EQ(eql_of("a:[b TO *]"), R"(any where a >= "b")");
  EXPECT_EQ(eql_of("a:[* TO *]"), "any where a != null");
  EXPECT_EQ(eql_of(R"(a:["1" TO 2.5])"), R"(any where a >= "1" and a <= 2.5)");
  EXPECT_EQ(eql_of("a:[1024 TO 65535] AND b:x"),
            R"(any where a >= 1024 and a <= 65535 and b in ("x"))");
  EXPECT_EQ(eql_of("a:>10 AND b:<=-2 AND c:>=x"), R"(any where a > 10 and b <= -2 and c >= "x")");
  EXPECT_EQ(eql_of("a:(>=10 AND <20)"), "any where a >= 10 and a < 20");
  // Lucene's regular expressions match the whole value; `^` and `$` are characters there.
  EXPECT_EQ(eql_of("a:/joh?n(ath[oa]n)/"), R"x(any where a regex "(?s)joh?n(ath[oa]n)")x");
  EXPECT_EQ(eql_of(R"(a:/[^a-z]\d+\/x"a.b"^/)"),
            R"x(any where a regex "(?s)[^a-z]\\d+\\/xa\\.b\\^")x");
  EXPECT_EQ(eql_of(R"(url:/http:\/\/[0-9]{1,3}\.x{2}\/cd/)"),
            R"x(any where url regex "(?s)http\\:\\/\\/[0-9]{1,3}\\.x{2}\\/cd")x");
  EXPECT_EQ(eql_of("NOT a:/b.*/"), R"x(any where not (a != null and a regex "(?s)b.*"))x");
}

TEST(lucene, boolean_clauses_follow_lucene) {
  // The default operator is OR; `AND`/`&&`/`+` require, `NOT`/`!`/`-` forbid.
  EXPECT_EQ(eql_of("a:b c:d"), R"(any where a in ("b") or c in ("d"))");
  EXPECT_EQ(eql_of("a:b AND c:d"), R"(any where a in ("b") and c in ("d"))");
  EXPECT_EQ(eql_of("a:b && c:d || e:f"), R"(any where a in ("b") and c in ("d"))");
  EXPECT_EQ(eql_of("a:b OR c:d AND e:f"), R"(any where c in ("d") and e in ("f"))");
  EXPECT_EQ(eql_of("+a:b c:d -e:f"), R"(any where a in ("b") and not (e != null and e in ("f")))");
  EXPECT_EQ(eql_of("a:b AND NOT c:d"),
            R"(any where a in ("b") and not (c != null and c in ("d")))");
  EXPECT_EQ(eql_of("a:b !c:d"), R"(any where a in ("b") and not (c != null and c in ("d")))");
  // Only forbidden clauses: every event without them.
  EXPECT_EQ(eql_of("NOT a:b"), R"(any where not (a != null and a in ("b")))");
  EXPECT_EQ(eql_of("-a:b -c:d"),
            R"(any where not (a != null and a in ("b") or c != null and c in ("d")))");
  // Parentheses and a field's group; two negations cancel the guard.
  EXPECT_EQ(eql_of("(a:b OR c:d) AND e:f"),
            R"(any where (a in ("b") or c in ("d")) and e in ("f"))");
  EXPECT_EQ(eql_of(R"(process.name:(cmd.exe OR "power shell.exe" OR *.scr))"),
            R"(any where process.name in ("cmd.exe") or process.name in ("power shell.exe") or )"
            R"(process.name like "*.scr")");
  // `b OR NOT c` is `b -c` in Lucene: b and not c.
  EXPECT_EQ(eql_of("NOT a:(b OR NOT c)"),
            R"(any where not (a != null and a in ("b") and not a in ("c")))");
  EXPECT_EQ(eql_of("a:(b AND other:c)"), R"(any where a in ("b") and other in ("c"))");
  EXPECT_EQ(eql_of("NOTE:x ANDROID:y"), R"(any where NOTE in ("x") or ANDROID in ("y"))");
}

TEST(lucene, refuses_what_it_cannot_mean_with_the_place) {
  EXPECT_EQ(eql_of("cmd.exe"), "ERR 1 'cmd.exe' has no field: a value alone searches every "
                               "field, which chainwatch does not; write field:value");
  EXPECT_EQ(eql_of("a:b and c:d"),
            "ERR 5 'and' is a search term in Lucene; its operators are upper case (AND)");
  EXPECT_EQ(eql_of("a:b~"), "ERR 4 fuzzy and proximity search ('~') are not supported");
  EXPECT_EQ(eql_of(R"(a:"b c"~2)"), "ERR 8 fuzzy and proximity search ('~') are not supported");
  EXPECT_EQ(eql_of("a:b^"), "ERR 4 expected a number after '^' (a boost)");
  EXPECT_EQ(eql_of("proc*:x"), "ERR 1 wildcard field names are not supported");
  EXPECT_EQ(eql_of(R"(book.\*:x)"), "ERR 1 wildcard field names are not supported");
  EXPECT_EQ(eql_of("a:[now-1d TO now]"), "ERR 4 date math ('now-1d') is not supported in a range");
  EXPECT_EQ(eql_of("a:[1 5]"), "ERR 6 expected 'TO' in the range");
  EXPECT_EQ(eql_of("a:[1 TO 5"),
            "ERR 10 expected ']' or '}' to close the range opened at column 3");
  EXPECT_EQ(eql_of("a:/b@c/"), "ERR 5 '@' is an optional Lucene regular-expression operator, not "
                               "supported; escape it to match the character");
  EXPECT_EQ(eql_of("a:/(?i)b/"), "ERR 4 '(?' is not Lucene regular-expression syntax");
  EXPECT_EQ(eql_of("a:/b"), "ERR 3 a regular expression is not closed");
  EXPECT_EQ(eql_of("a:/b(/").substr(0, 34), "ERR 3 invalid regular expression: ");
  EXPECT_EQ(eql_of("a:-1"),
            R"(ERR 3 expected a term; a leading '-' is an operator here (escape it: \-))");
  EXPECT_EQ(eql_of("AND a:b"), "ERR 1 'AND' has no clause before it");
  EXPECT_EQ(eql_of("a:b AND"), "ERR 8 expected a clause after 'AND'");
  EXPECT_EQ(eql_of("a:b NOT )"), "ERR 9 expected a clause after 'NOT'");
  EXPECT_EQ(eql_of("(a:b"), "ERR 5 expected ')' to close the '(' at column 1");
  EXPECT_EQ(eql_of("()"), "ERR 1 empty parentheses");
  EXPECT_EQ(eql_of("a:b)"), "ERR 4 unexpected ')' after a complete query");
  EXPECT_EQ(eql_of(R"(a:"open)"), "ERR 3 a quoted value is not closed");
  EXPECT_EQ(eql_of("a:"), "ERR 3 expected a value after ':'");
  EXPECT_EQ(eql_of(R"(a:b\)"), R"(ERR 4 a '\' at the end of the query)");
  EXPECT_EQ(eql_of("a:b\xff*"), "ERR 4 the query is not UTF-8");
  EXPECT_EQ(eql_of("a:\xc3\xa9*").substr(0, 14), "any where a li");
  EXPECT_EQ(eql_of("   "),
            "ERR 1 an empty Lucene query matches every event; write the condition it should test");
  std::string deep(300, '(');
  EXPECT_EQ(eql_of(deep + "a:b" + std::string(300, ')')).substr(0, 7), "ERR 257");
  // The rule's language picks the front end.
  EXPECT_EQ(to_string(*parse_in("lucene", "a:b")), R"(any where a in ("b"))");
}

} // namespace
} // namespace chainwatch::eql
