#pragma once

// Detection rules in Elastic detection-rules TOML (`[metadata]`, `[rule]`,
// `[[rule.threat]]`), so files from that public corpus load unchanged.
// Pure: callers read the files and hand over their text.

#include <chainwatch/base/expected.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace chainwatch::rules {

/// A MITRE ATT&CK (sub)technique reference.
struct technique {
  std::string id;
  std::string name;
  std::string reference;
  std::vector<technique> subtechniques;
};

/// One `[[rule.threat]]` entry.
struct threat {
  std::string framework;
  std::string tactic_id;
  std::string tactic_name;
  std::string tactic_reference;
  std::vector<technique> techniques;
};

/// A detection rule as loaded from its file.
struct rule {
  std::string file; ///< where it came from (for messages)
  std::string rule_id;
  std::string name;
  std::string description;
  std::string severity; ///< low, medium, high, critical
  std::int64_t risk_score = 0;
  std::string language; ///< "eql" for the rules chainwatch runs
  std::string type;
  std::string query;
  std::uint32_t query_line = 1;   ///< file line of the query's first character
  std::uint32_t query_column = 1; ///< file column of the query's first character
  std::vector<std::string> tags;
  std::vector<threat> threats;
  std::string maturity;
  bool has_filters = false; ///< a non-empty `filters` (Elasticsearch query DSL, query rules)
};

/// A problem with a rule file, located in the file.
struct load_error {
  std::string file;
  std::uint32_t line = 0;
  std::uint32_t column = 0;
  std::string message;
  /// `file:line:col: message`
  std::string render() const;
};

/// Parses one detection-rules TOML document. Requires `[rule]` with `rule_id`,
/// `name` and `query` (none for `type = "machine_learning"`); `language` defaults to "eql".
expected<rule, load_error> parse_rule(std::string_view toml_text, std::string_view file);

/// Maps a position inside `rule.query` (1-based line/column as reported by the
/// EQL parser) to the position in the rule file.
std::pair<std::uint32_t, std::uint32_t> query_to_file(const rule& r, std::uint32_t line,
                                                      std::uint32_t column);

} // namespace chainwatch::rules
