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
