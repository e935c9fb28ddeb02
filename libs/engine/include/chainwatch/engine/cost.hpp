#pragma once

// Stream cost analysis of compiled rules, for `chainwatch lint`: what makes a rule expensive to
// run on a stream. State that nothing bounds (no join keys, no time bound) and conditions the
// router's index cannot skip (evaluated on every event of a category, regexes among them).

#include <chainwatch/engine/engine.hpp>
#include <chainwatch/eql/ast.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace chainwatch::engine {

/// Why a rule is expensive to run on a stream.
enum class cost_reason : std::uint8_t {
  unkeyed,   ///< a sequence or join without join keys: all its state is one key's, one partition
  unbounded, ///< a sequence without maxspan, or a join: partials live until `until` or the cap
  unindexed, ///< a step without an indexable condition: evaluated on every event of its category
  scan,      ///< a regex or leading-wildcard pattern in an unindexed step
};

/// One cost warning of one rule.
struct cost_warning {
  std::uint32_t rule = 0; ///< index of the rule in the ruleset
  cost_reason reason = cost_reason::unindexed;
  eql::location where; ///< in the rule's query text
  std::string message;
};

/// The cost warnings of every rule of `rules`, by rule, each rule's in the order of its query.
std::vector<cost_warning> cost_warnings(const ruleset& rules);

/// Short name of a reason, as lint tags its warnings (`unkeyed`, `unbounded`, ...).
std::string_view to_string(cost_reason r) noexcept;

} // namespace chainwatch::engine
