#pragma once

// The detection rules a mesh service runs: loaded from the rules and lists directories with the
// CLI's loader (the same files and semantics as `chainwatch hunt`), compiled once.

#include "rule_loading.hpp"

#include <chainwatch/engine/engine.hpp>
#include <chainwatch/eql/lists.hpp>
#include <chainwatch/rules/rule.hpp>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace chainwatch::matcher {

/// Engine settings shared by hunt and the mesh.
struct catalog_options {
  std::vector<std::string> rule_paths;             ///< TOML files or directories
  std::vector<std::string> list_dirs;              ///< lookup list directories
  std::string event_type_field = "event.category"; ///< category field
  bool case_sensitive = true;                      ///< Elastic EQL default, as hunt
  std::size_t max_pending = 1000;                  ///< pending partials per rule per key
  bool compile = true;                             ///< false: metadata only (alerter)
};

/// Loaded rules: metadata by id and, when compiled, the ruleset.
struct rule_catalog {
  std::vector<rules::rule> rules;                     ///< in ruleset order
  std::unordered_map<std::string, std::size_t> by_id; ///< rule_id -> index
  std::unique_ptr<eql::list_registry> lists;          ///< outlives the ruleset
  std::shared_ptr<const engine::ruleset> compiled;    ///< null when not compiled
  std::vector<bool> piped;                            ///< per rule: query has pipes
  std::vector<std::string> warnings;                  ///< skipped rules, pipes
  /// The rule with `id`, or null.
  const rules::rule* find(const std::string& id) const;
};

/// Splits a comma-separated list (the CLI's, shared with the services).
using cli::split_list;

/// Loads (and compiles) the rules; a rendered error list on failure.
expected<rule_catalog, std::string> load_catalog(const catalog_options& o);

} // namespace chainwatch::matcher
