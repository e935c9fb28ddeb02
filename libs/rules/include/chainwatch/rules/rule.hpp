#pragma once

// Detection rules in Elastic detection-rules TOML (`[metadata]`, `[rule]`,
// `[[rule.threat]]`), so files from that public corpus load unchanged.
// Pure: callers read the files and hand over their text.

#include <chainwatch/base/expected.hpp>
#include <cstdint>
#include <optional>
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

/// `[rule.threshold]`: alert when a group of events (by `fields`) reaches `value` within the
/// rule's lookback, with at least `cardinality` distinct values of `cardinality_field`.
struct threshold_spec {
  std::vector<std::string> fields; ///< empty: every event in one group
  std::int64_t value = 0;
  std::string cardinality_field;
  std::int64_t cardinality = 0;
};

/// `[rule.new_terms]`: alert on the first appearance of a value (or combination) of `fields`
/// within `history_ns`.
struct new_terms_spec {
  std::vector<std::string> fields;
  std::int64_t history_ns = 0;
};

/// `[rule.alert_suppression]`: after an alert, alerts of the same group are suppressed.
struct suppression_spec {
  std::vector<std::string> group_by; ///< threshold rules: empty (their own fields)
  std::int64_t duration_ns = 0;      ///< 0: not given (Elastic: per rule execution)
  bool suppress_missing = true;      ///< missing_fields_strategy = "suppress" (the default)
};

/// One `[[rule.threat_mapping]]`: every entry must hold (an event field equals an indicator
/// field); the mappings are alternatives.
struct threat_mapping {
  struct entry {
    std::string field;           ///< of the event
    std::string indicator_field; ///< of the indicator (e.g. threat.indicator.ip)
  };
  std::vector<entry> entries;
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
  /// The filters as an EQL condition the query must also meet (empty: none, or unsupported).
  std::string filters_eql;
  /// Why the filters cannot run (empty: they can): a query DSL clause without an EQL form.
  std::string filters_unsupported;
  /// `from` (`now-9m`) as a duration: the lookback of each execution; 6 minutes when absent.
  std::int64_t lookback_ns = 6 * 60 * 1'000'000'000LL;
  /// `interval` (`5m`): how often Elastic runs the rule; 5 minutes when absent.
  std::int64_t interval_ns = 5 * 60 * 1'000'000'000LL;
  std::int64_t max_signals = 100; ///< alerts per execution at most (Elastic's default 100)
  std::string timestamp_override; ///< a field to take event time from instead of @timestamp
  std::optional<threshold_spec> threshold;
  std::optional<new_terms_spec> new_terms;
  std::optional<suppression_spec> suppression;
  std::vector<threat_mapping> threat_mappings;
  std::string threat_indicator_path; ///< `threat_indicator_path` (threat.indicator by default)
};

/// Parses Elastic's relative times and durations: `now-9m`, `now-7d`, `5m`, `30s`, `1h`, `2w`
/// (s, m, h, d, w). Returns nanoseconds, or nullopt.
std::optional<std::int64_t> parse_duration(std::string_view text);

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
