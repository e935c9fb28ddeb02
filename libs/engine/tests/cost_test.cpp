#include <chainwatch/engine/cost.hpp>
#include <gtest/gtest.h>

namespace eng = chainwatch::engine;

namespace {

/// The cost warnings of one rule, each as "reason line:col: message".
std::vector<std::string> warnings(const std::string& query, const std::string& language = "eql") {
  auto rs = eng::ruleset::compile({{"r", "rule", query, language}}, {});
  EXPECT_TRUE(rs.has_value()) << (rs ? "" : rs.error().err.message);
  if (!rs) return {};
  std::vector<std::string> out;
  for (const auto& w : eng::cost_warnings(**rs))
    out.push_back(std::string(eng::to_string(w.reason)) + " " + std::to_string(w.where.line) + ":" +
                  std::to_string(w.where.column) + ": " + w.message);
  return out;
}

/// True when one warning starts with `prefix`.
bool has(const std::vector<std::string>& ws, const std::string& prefix) {
  for (const auto& w : ws)
    if (w.rfind(prefix, 0) == 0) return true;
  return false;
}

std::string all(const std::vector<std::string>& ws) {
  std::string out;
  for (const auto& w : ws)
    out += w + "\n";
  return out;
}

} // namespace

TEST(cost, a_keyed_bounded_indexed_rule_has_no_warning) {
  auto ws = warnings(R"(sequence by user.name with maxspan=5m
  [authentication where event.outcome == "failure" and process.name : "*ssh*"] by source.ip with runs=5
  [authentication where event.outcome in ("success", "ok")] by source.ip
  until [process where process.name == "logout"] by source.ip)");
  EXPECT_TRUE(ws.empty()) << all(ws);
  ws = warnings(R"(process where process.name : ("cmd.exe", "powershell.exe") and
  process.command_line regex ".*-enc.*")");
  EXPECT_TRUE(ws.empty()) << all(ws);
}

TEST(cost, a_sequence_without_join_keys_is_unkeyed) {
  auto ws = warnings("\n  sequence with maxspan=1m\n"
                     "  [process where process.name == \"a\"]\n"
                     "  [file where file.name == \"b\"]");
  ASSERT_EQ(ws.size(), 1u) << all(ws);
  // At the `sequence` keyword: the query's second line, after two spaces.
  EXPECT_TRUE(has(ws, "unkeyed 2:3: sequence without join keys (by)")) << all(ws);
  // Step-level keys are join keys.
  EXPECT_TRUE(warnings("sequence with maxspan=1m [process where process.name == \"a\"] by "
                       "host.id [file where file.name == \"b\"] by host.id")
                  .empty());
}

TEST(cost, a_sequence_without_maxspan_and_a_join_are_unbounded) {
  auto ws = warnings("sequence by host.id [process where process.name == \"a\"] "
                     "[file where file.name == \"b\"]");
  ASSERT_EQ(ws.size(), 1u) << all(ws);
  EXPECT_TRUE(has(ws, "unbounded 1:1: sequence without maxspan: partial matches never expire, "
                      "bounded only by max_pending_per_key (1000 per key)"))
      << all(ws);
  ws = warnings("sequence by host.id [process where process.name == \"a\"] "
                "[file where file.name == \"b\"] until [process where process.name == \"c\"]");
  EXPECT_TRUE(has(ws, "unbounded 1:1: sequence without maxspan: partial matches live until the "
                      "until step matches"))
      << all(ws);
  ws = warnings("join by host.id [process where process.name == \"a\"] "
                "[file where file.name == \"b\"]");
  ASSERT_EQ(ws.size(), 1u) << all(ws);
  EXPECT_TRUE(has(ws, "unbounded 1:1: join without a time bound")) << all(ws);
  ws = warnings("join [process where process.name == \"a\"] [file where file.name == \"b\"]");
  EXPECT_TRUE(has(ws, "unkeyed 1:1: join without join keys")) << all(ws);
  EXPECT_EQ(ws.size(), 2u) << all(ws);
}

TEST(cost, a_step_without_an_indexable_condition_names_its_category) {
  // Step 2 is `or` of equalities and a range: nothing the index can look up.
  auto ws = warnings("sequence by host.id with maxspan=1m\n"
                     "  [process where process.name == \"a\"]\n"
                     "  [network where destination.port > 1024 or network.protocol == \"dns\"]");
  ASSERT_EQ(ws.size(), 1u) << all(ws);
  EXPECT_TRUE(has(ws, "unindexed 3:3: step 2 has no indexable condition")) << all(ws);
  EXPECT_NE(ws[0].find("evaluated on every event whose event.category is \"network\""),
            std::string::npos)
      << all(ws);
  // Category any: every event at all.
  ws = warnings("any where process.pid > 4");
  ASSERT_EQ(ws.size(), 1u) << all(ws);
  EXPECT_TRUE(has(ws, "unindexed 1:1: query has no indexable condition")) << all(ws);
  EXPECT_NE(ws[0].find("every event (category any)"), std::string::npos) << all(ws);
  // A KQL query has category any; its place is the query's start.
  ws = warnings("  process.pid > 4", "kuery");
  EXPECT_TRUE(has(ws, "unindexed 1:3: query has no indexable condition")) << all(ws);
  // An until step and a missing step are steps too.
  ws = warnings("sequence by host.id with maxspan=1m\n"
                "  [process where process.name == \"a\"]\n"
                "  ![file where true]\n"
                "  [process where process.name == \"b\"]\n"
                "until [process where process.pid > 4]");
  ASSERT_EQ(ws.size(), 2u) << all(ws);
  EXPECT_TRUE(has(ws, "unindexed 3:3: missing step 2 has no indexable condition")) << all(ws);
  EXPECT_TRUE(has(ws, "unindexed 5:7: until step has no indexable condition")) << all(ws);
}

TEST(cost, regexes_and_leading_wildcards_on_an_unindexed_step_are_scans) {
  auto ws = warnings("process where process.command_line regex~ \".*-enc.*\" or "
                     "process.name like \"*.exe\" or process.args : \"*x*\"");
  ASSERT_EQ(ws.size(), 2u) << all(ws);
  EXPECT_TRUE(has(ws, "unindexed 1:1: query has no indexable condition")) << all(ws);
  EXPECT_TRUE(has(ws, "scan 1:36: regex \".*-enc.*\" is evaluated on every event whose "
                      "event.category is \"process\": query has no indexable condition "
                      "(and 2 more in this step)"))
      << all(ws);
  ws = warnings("sequence by host.id with maxspan=1m [process where process.name : \"*x\"] "
                "[file where match(file.path, \"^/tmp/.*\")]");
  EXPECT_TRUE(has(ws, "scan 1:65: pattern \"*x\" (a leading '*') is evaluated")) << all(ws);
  EXPECT_TRUE(has(ws, "scan 1:85: regex \"^/tmp/.*\" is evaluated")) << all(ws);
  // Endgame's `==` with a `*` is a wildcard; so is `!=`.
  ws = warnings("file where file.name == \"*.exe\" or file.path != \"*\\\\temp\\\\*\"");
  EXPECT_TRUE(has(ws, "scan 1:22: pattern \"*.exe\" (a leading '*') is evaluated on every event "
                      "whose event.category is \"file\": query has no indexable condition (and 1 "
                      "more in this step)"))
      << all(ws);
  // A trailing wildcard is not a scan (the step is still unindexed).
  ws = warnings("process where process.name like \"cmd*\"");
  ASSERT_EQ(ws.size(), 1u) << all(ws);
  EXPECT_TRUE(has(ws, "unindexed")) << all(ws);
}

TEST(cost, warnings_name_their_rule) {
  auto rs = eng::ruleset::compile(
      {{"a", "a", "process where process.name == \"x\""}, {"b", "b", "any where true"}}, {});
  ASSERT_TRUE(rs.has_value());
  auto ws = eng::cost_warnings(**rs);
  ASSERT_EQ(ws.size(), 1u);
  EXPECT_EQ(ws[0].rule, 1u);
}

TEST(cost, an_aggregation_without_group_fields_is_unkeyed) {
  auto with = [](std::vector<std::string> by) {
    eng::aggregate a;
    a.kind = eng::aggregate::type::count;
    a.by = std::move(by);
    a.min_count = 5;
    a.window_ns = 60'000'000'000;
    eng::rule_source src{"r",   "rule", R"(authentication where event.outcome == "failure")",
                         "eql", a,      {}};
    auto rs = eng::ruleset::compile({src}, {});
    EXPECT_TRUE(rs.has_value());
    std::vector<std::string> out;
    for (const auto& w : eng::cost_warnings(**rs))
      out.push_back(std::string(eng::to_string(w.reason)) + ": " + w.message);
    return out;
  };
  EXPECT_TRUE(with({"source.ip"}).empty()) << all(with({"source.ip"}));
  auto ws = with({});
  ASSERT_EQ(ws.size(), 1u) << all(ws);
  EXPECT_EQ(ws[0], "unkeyed: aggregation without group fields: every matching event of the stream "
                   "is counted in one key's state, held by one partition");
}
