#pragma once

// Loads and compiles the detection rules for routing (normalizer, watermark), with the CLI's
// loader: the same files and engine options as the matcher and `chainwatch hunt`.

#include "chainwatch/base/expected.hpp"
#include "chainwatch/engine/engine.hpp"
#include "chainwatch/eql/lists.hpp"

#include <memory>
#include <string>
#include <vector>

namespace chainwatch::cli {

/// Compiled rules and the lists they reference (the lists must outlive the ruleset).
struct compiled_rules {
  /// Lookup lists used by `inList`.
  std::unique_ptr<eql::list_registry> lists;
  /// The compiled rules.
  std::shared_ptr<const engine::ruleset> rules;
  /// Skipped (non-EQL) rules, for the log.
  std::vector<std::string> skipped;
};

/// Loads rules from comma-separated `rule_paths` and `list_dirs`; a rendered error on failure.
expected<compiled_rules, std::string> compile_rules(const std::string& rule_paths,
                                                    const std::string& list_dirs,
                                                    const std::string& event_type_field,
                                                    bool case_sensitive);

} // namespace chainwatch::cli
