#include <chainwatch/eql/ast.hpp>
#include <chainwatch/rules/rule.hpp>
#include <gtest/gtest.h>

using namespace chainwatch::rules;

namespace {

constexpr std::string_view sample = R"([metadata]
creation_date = "2024/01/01"
maturity = "production"

[rule]
author = ["chainwatch"]
description = "Failed logins followed by a success."
language = "eql"
name = "Brute force"
risk_score = 73
rule_id = "0f0e0d0c-0000-4000-8000-000000000001"
severity = "high"
tags = ["Tactic: Credential Access"]
type = "eql"
query = '''
sequence by user.name with maxspan=5m
  [authentication where event.outcome == "failure"] with runs=5
  [authentication where event.outcome == "success"]
'''

[[rule.threat]]
framework = "MITRE ATT&CK"
[[rule.threat.technique]]
id = "T1110"
name = "Brute Force"
reference = "https://attack.mitre.org/techniques/T1110/"
[[rule.threat.technique.subtechnique]]
id = "T1110.001"
name = "Password Guessing"
reference = "https://attack.mitre.org/techniques/T1110/001/"

[rule.threat.tactic]
id = "TA0006"
name = "Credential Access"
reference = "https://attack.mitre.org/tactics/TA0006/"
)";

} // namespace

TEST(rules, parses_detection_rules_toml) {
  auto r = parse_rule(sample, "brute.toml");
  ASSERT_TRUE(r) << r.error().render();
  EXPECT_EQ(r->rule_id, "0f0e0d0c-0000-4000-8000-000000000001");
  EXPECT_EQ(r->name, "Brute force");
  EXPECT_EQ(r->severity, "high");
  EXPECT_EQ(r->risk_score, 73);
  EXPECT_EQ(r->language, "eql");
  EXPECT_EQ(r->maturity, "production");
  EXPECT_TRUE(r->query.starts_with("sequence by user.name"));
  EXPECT_EQ(r->query_line, 16u);
  EXPECT_EQ(r->query_column, 1u);
  ASSERT_EQ(r->threats.size(), 1u);
  EXPECT_EQ(r->threats[0].tactic_id, "TA0006");
  ASSERT_EQ(r->threats[0].techniques.size(), 1u);
  EXPECT_EQ(r->threats[0].techniques[0].id, "T1110");
  ASSERT_EQ(r->threats[0].techniques[0].subtechniques.size(), 1u);
  EXPECT_EQ(r->threats[0].techniques[0].subtechniques[0].id, "T1110.001");
  // Line 2 column 4 of the query is line 17 column 4 of the file.
  EXPECT_EQ(query_to_file(*r, 2, 4), std::make_pair(17u, 4u));
}

TEST(rules, single_line_query_columns) {
  auto r =
      parse_rule("[rule]\nrule_id = \"x\"\nname = \"n\"\nquery = \"any where true\"\n", "a.toml");
  ASSERT_TRUE(r) << r.error().render();
  EXPECT_EQ(r->query_line, 4u);
  EXPECT_EQ(r->query_column, 10u);
  EXPECT_EQ(query_to_file(*r, 1, 5), std::make_pair(4u, 14u));
}

TEST(rules, errors_are_located) {
  auto bad = parse_rule("[rule\nname = 1\n", "bad.toml");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().file, "bad.toml");
  EXPECT_EQ(bad.error().line, 1u);
  EXPECT_NE(bad.error().render().find("bad.toml:1:"), std::string::npos);

  auto missing = parse_rule("[rule]\nrule_id = \"x\"\nname = \"n\"\n", "m.toml");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("query"), std::string::npos);

  auto none = parse_rule("[metadata]\nx = 1\n", "n.toml");
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().message.find("[rule]"), std::string::npos);
}

TEST(rules, a_machine_learning_rule_has_no_query_and_loads_for_its_type) {
  auto r = chainwatch::rules::parse_rule(
      "[rule]\nrule_id = \"ml\"\nname = \"ML\"\ntype = \"machine_learning\"\n", "ml.toml");
  ASSERT_TRUE(r) << r.error().render();
  EXPECT_EQ(r->type, "machine_learning");
  EXPECT_TRUE(r->query.empty());
  // Any other rule without a query is still an error.
  EXPECT_FALSE(chainwatch::rules::parse_rule(
      "[rule]\nrule_id = \"q\"\nname = \"Q\"\ntype = \"eql\"\n", "q.toml"));
}

namespace {

std::string typed(std::string_view type, std::string_view settings) {
  return std::string(R"([rule]
rule_id = "t"
name = "t"
type = ")") +
         std::string(type) +
         R"("
language = "kuery"
from = "now-9m"
interval = "5m"
query = "event.category:authentication"
)" + std::string(settings);
}

} // namespace

TEST(rules, durations_are_elastic_relative_times) {
  constexpr std::int64_t s = 1'000'000'000;
  EXPECT_EQ(parse_duration("now-9m"), 9 * 60 * s);
  EXPECT_EQ(parse_duration("now-7d"), 7 * 86400 * s);
  EXPECT_EQ(parse_duration("30s"), 30 * s);
  EXPECT_EQ(parse_duration("2w"), 14 * 86400 * s);
  for (auto bad : {"", "now-", "9", "m", "now-9x", "now-9m ", "now-1.5h", "99999999999d"})
    EXPECT_FALSE(parse_duration(bad)) << bad;
  // rule_fuzz under UBSan (a probe input): 9,999,999,999 weeks overflowed 64-bit nanoseconds.
  EXPECT_FALSE(parse_duration("now-9999999999w"));
  EXPECT_FALSE(parse_duration("1000000000w"));
  EXPECT_EQ(parse_duration("15250w"), std::int64_t{15250} * 7 * 86400 * s);
}

namespace {

/// The EQL of a rule's `filters` (given as TOML lines), or "UNSUPPORTED: <why>".
std::string filters_of(std::string_view filters) {
  auto r = parse_rule(
      "[rule]\nrule_id = \"t\"\nname = \"t\"\nquery = \"x\"\n" + std::string(filters), "t.toml");
  if (!r) return "ERROR: " + r.error().render();
  if (!r->filters_unsupported.empty()) return "UNSUPPORTED: " + r->filters_unsupported;
  auto e = chainwatch::eql::parse_expression(r->filters_eql);
  if (!e) return "DOES NOT PARSE: " + r->filters_eql;
  return r->filters_eql;
}

} // namespace

TEST(rules, filters_become_eql) {
  EXPECT_EQ(filters_of("[[rule.filters]]\nmeta = {negate = true}\n"
                       "query = {match_phrase = {\"process.name\" = \"cmd.exe\"}}\n"),
            "not ((process.name != null and process.name == \"cmd.exe\"))");
  EXPECT_EQ(filters_of("[[rule.filters]]\nquery = {bool = {must = [{exists = {field = \"a\"}}, "
                       "{terms = {b = [1, \"x\"]}}], must_not = {range = {c = {gte = 2, lt = "
                       "2.5}}}}}\n"),
            "(((a != null) and ((b != null and b in (1, \"x\")))) and not ((c != null and c >= 2 "
            "and c < 2.5)))");
  EXPECT_EQ(filters_of("[[rule.filters]]\nquery = {prefix = {\"file.path\" = \"/tmp/\"}}\n"),
            "((file.path != null and file.path like \"/tmp/*\"))");
}

// rule_fuzz (probe inputs): a field that is not a plain EQL name, a keyword as a field and a line
// break in a value gave EQL that does not parse; NaN gave `nan` (read as a field).
TEST(rules, filters_quote_what_eql_needs_quoted) {
  EXPECT_EQ(filters_of("[[rule.filters]]\nquery = {term = {\"a b.c-d\" = 1}}\n"),
            "((`a b`.`c-d` != null and `a b`.`c-d` == 1))");
  EXPECT_EQ(filters_of("[[rule.filters]]\nquery = {exists = {field = \"in.not\"}}\n"),
            "(`in`.not != null)");
  EXPECT_EQ(filters_of("[[rule.filters]]\nquery = {term = {\"@timestamp\" = \"x\\ny\\u0001\"}}\n"),
            "((@timestamp != null and @timestamp == \"x\\ny\\u{01}\"))");
  EXPECT_EQ(filters_of("[[rule.filters]]\nquery = {term = {a = 1e-7}}\n"),
            "((a != null and a == 1e-07))");
  EXPECT_EQ(filters_of("[[rule.filters]]\nquery = {term = {a = nan}}\n"),
            "UNSUPPORTED: term without a value");
  EXPECT_EQ(filters_of("[[rule.filters]]\nquery = {term = {\"a..b\" = 1}}\n"),
            "UNSUPPORTED: term on a field EQL cannot name");
}

TEST(rules, threshold_new_terms_suppression_and_threat_mapping_settings_load) {
  auto th = parse_rule(typed("threshold", R"(
[rule.threshold]
field = ["source.ip", "host.id"]
value = 25
[[rule.threshold.cardinality]]
field = "user.name"
value = 5
[rule.alert_suppression.duration]
value = 30
unit = "m"
)"),
                       "t.toml");
  ASSERT_TRUE(th) << th.error().render();
  ASSERT_TRUE(th->threshold);
  EXPECT_EQ(th->threshold->fields, (std::vector<std::string>{"source.ip", "host.id"}));
  EXPECT_EQ(th->threshold->value, 25);
  EXPECT_EQ(th->threshold->cardinality_field, "user.name");
  EXPECT_EQ(th->threshold->cardinality, 5);
  EXPECT_EQ(th->lookback_ns, 9 * 60 * 1'000'000'000LL);
  ASSERT_TRUE(th->suppression);
  EXPECT_EQ(th->suppression->duration_ns, 30 * 60 * 1'000'000'000LL);

  auto one = parse_rule(typed("threshold", "[rule.threshold]\nfield = \"source.ip\"\nvalue = 3\n"),
                        "t.toml");
  ASSERT_TRUE(one);
  EXPECT_EQ(one->threshold->fields, std::vector<std::string>{"source.ip"});
  auto none = parse_rule(typed("threshold", "[rule.threshold]\nfield = []\nvalue = 3\n"), "t.toml");
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->threshold->fields.empty());

  auto nt = parse_rule(typed("new_terms", R"(
[rule.new_terms]
field = "new_terms_fields"
value = ["host.id", "user.name"]
[[rule.new_terms.history_window_start]]
field = "history_window_start"
value = "now-14d"
)"),
                       "t.toml");
  ASSERT_TRUE(nt) << nt.error().render();
  EXPECT_EQ(nt->new_terms->fields, (std::vector<std::string>{"host.id", "user.name"}));
  EXPECT_EQ(nt->new_terms->history_ns, 14 * 86400 * 1'000'000'000LL);

  auto q = parse_rule(typed("query", R"(
[rule.alert_suppression]
group_by = ["host.id"]
missing_fields_strategy = "doNotSuppress"
)"),
                      "t.toml");
  ASSERT_TRUE(q);
  EXPECT_EQ(q->suppression->group_by, std::vector<std::string>{"host.id"});
  EXPECT_EQ(q->suppression->duration_ns, 0) << "not given: per execution";
  EXPECT_FALSE(q->suppression->suppress_missing);

  auto tm = parse_rule(typed("threat_match", R"(
threat_index = ["filebeat-*"]
[[rule.threat_mapping]]
[[rule.threat_mapping.entries]]
field = "source.ip"
type = "mapping"
value = "threat.indicator.ip"
[[rule.threat_mapping]]
[[rule.threat_mapping.entries]]
field = "destination.ip"
type = "mapping"
value = "threat.indicator.ip"
[[rule.threat_mapping.entries]]
field = "destination.port"
type = "mapping"
value = "threat.indicator.port"
)"),
                       "t.toml");
  ASSERT_TRUE(tm) << tm.error().render();
  ASSERT_EQ(tm->threat_mappings.size(), 2u);
  EXPECT_EQ(tm->threat_mappings[1].entries[1].field, "destination.port");
  EXPECT_EQ(tm->threat_mappings[1].entries[1].indicator_field, "threat.indicator.port");
}

TEST(rules, bad_type_settings_are_located) {
  auto bad = [](std::string_view settings) {
    auto r = parse_rule(typed("threshold", settings), "t.toml");
    EXPECT_FALSE(r);
    return r ? std::string() : r.error().render();
  };
  EXPECT_EQ(bad("[rule.threshold]\nfield = \"x\"\n"),
            "t.toml:9:1: threshold.value must be a number of at least 1");
  EXPECT_NE(bad("[rule.threshold]\nfield = 3\nvalue = 2\n").find("threshold.field"),
            std::string::npos);
  EXPECT_NE(bad("[rule.new_terms]\nvalue = [\"a\"]\n[[rule.new_terms.history_window_start]]\n"
                "value = \"yesterday\"\n")
                .find("history_window_start"),
            std::string::npos);
  EXPECT_NE(bad("[rule.alert_suppression]\ngroup_by = [\"a\"]\nmissing_fields_strategy = \"x\"\n")
                .find("missing_fields_strategy"),
            std::string::npos);
  auto from = parse_rule(R"([rule]
rule_id = "t"
name = "t"
from = "yesterday"
query = "x"
)",
                         "t.toml");
  ASSERT_FALSE(from);
  EXPECT_EQ(from.error().render(), "t.toml:4:8: from must be a time like now-9m or 5m");
}
