#pragma once

// Sigma detection rules (YAML) compiled to the EQL syntax tree: a rule becomes the event query
// `any where <logsource condition> and <detection condition>`, so it runs on the same engine
// as EQL and KQL. Pure: callers read the files and hand over their text; the field and
// logsource mapping is data (config/sigma/*.toml) handed over as parsed tables.
//
// Semantics (Sigma specification 2.x):
// - a map is the `and` of its fields, a list of maps the `or` of them, a list of values the `or`
//   of them (`|all`: the `and`); matching is case-insensitive unless `|cased`;
// - `*` and `?` are wildcards, `\*`, `\?` and `\\` escape them (a plain `\` is a backslash);
// - `null` is a missing field, `''` the empty string;
// - `re` searches (unanchored) and is case-sensitive unless `|re|i`;
// - `condition`: `and`, `or`, `not`, parentheses, `1 of`/`any of`/`all of` a pattern or `them`.
// Refused with a reason (never silently): keywords (a value without a field searches every
// field), `expand`, time modifiers, `|` aggregations in the condition, correlation and filter
// documents, a logsource without a mapping, unknown modifiers, a field EQL cannot name (`a..b`),
// a rule compiling to more than 4 MiB of values (YAML aliases repeating large lists).

#include <chainwatch/base/expected.hpp>
#include <chainwatch/eql/ast.hpp>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace chainwatch::sigma {

/// A problem in a Sigma rule or mapping, at its place in the YAML (1-based; 0 when unknown).
struct error {
  std::string message;
  std::uint32_t line = 0;
  std::uint32_t column = 0;
  /// `file:line:col: message` (`file: message` without a place).
  std::string render(std::string_view file) const;
};

/// Sigma's `logsource`.
struct logsource {
  std::string product;
  std::string category;
  std::string service;
};

/// One `[[logsource]]` of a mapping table: the ECS events a Sigma logsource selects and the
/// field names that differ for it.
struct logsource_map {
  std::string category; ///< empty: any
  std::string service;  ///< empty: any
  /// ECS field -> accepted values (case-insensitive); all fields must hold.
  std::vector<std::pair<std::string, std::vector<std::string>>> where;
  std::map<std::string, std::string> fields; ///< Sigma field -> ECS field, over the product's
};

/// The mapping of one product (a config/sigma/<product>.toml table).
struct product_map {
  std::string product;
  std::map<std::string, std::string> fields; ///< Sigma field -> ECS field for every logsource
  std::string unmapped_prefix;               ///< prepended to a field with no entry and no dot
  /// Refuse a rule naming a field with no entry and no dot (no raw field to fall back on).
  bool refuse_unmapped = false;
  /// Refuse a logsource (category or service) with no `[[logsource]]` entry.
  bool require_logsource = true;
  std::vector<logsource_map> logsources;
};

/// Every product's mapping.
struct mapping {
  std::vector<product_map> products;
};

/// Parses one mapping table (TOML text); `name` is used in messages.
expected<product_map, error> parse_mapping(std::string_view toml_text, std::string_view name);

/// A Sigma detection rule compiled to an EQL event query.
struct rule {
  std::string id;
  std::string title;
  std::string description;
  std::string status; ///< stable, test, experimental, deprecated, unsupported
  std::string level;  ///< informational, low, medium, high, critical
  std::vector<std::string> tags;
  std::vector<std::string> fields; ///< `fields`: what an analyst should look at
  logsource source;
  eql::query query;       ///< `any where ...`
  std::uint32_t line = 1; ///< first line of the rule's YAML document
};

/// One YAML document of a Sigma file: a rule, or the reason it cannot run.
struct document {
  std::uint32_t line = 1; ///< first line of the document
  std::string title;      ///< when known (for messages)
  std::string id;         ///< when known
  expected<rule, error> result{unexpected{error{}}};
};

/// Parses every document of a Sigma YAML file and compiles each rule with `maps`.
/// A YAML syntax error is one failed document.
std::vector<document> parse_rules(std::string_view yaml_text, const mapping& maps);

/// The Sigma string at `text` (escapes resolved) as an EQL pattern matcher's parts; exposed
/// for tests: `wildcard` is true when an unescaped `*` or `?` remains.
struct sigma_string {
  std::string text; ///< with unescaped wildcards as `*`/`?`, escaped ones literal
  /// per byte of `text`: true where a `*`/`?` is a wildcard
  std::vector<bool> wild;
  bool has_wildcard() const;
};

/// Parses Sigma's escapes: `\*`, `\?`, `\\` (before a wildcard or backslash), else `\` is plain.
sigma_string parse_sigma_string(std::string_view raw);

/// Base64 of `bytes` (standard alphabet, padded).
std::string base64(std::string_view bytes);
/// The three base64 forms of `bytes` at offsets 0, 1, 2 inside a longer text, trimmed to the
/// characters that do not depend on the neighbours.
std::vector<std::string> base64_offsets(std::string_view bytes);
/// Windows dash variants: a `-` or `/` starting a word becomes each of `-`, `/`, en dash, em
/// dash, horizontal bar (all combinations; at most `limit` results, else empty).
std::vector<std::string> windash(std::string_view text, std::size_t limit = 4096);

} // namespace chainwatch::sigma
