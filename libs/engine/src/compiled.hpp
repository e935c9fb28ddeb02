#pragma once

// Internal representation of a compiled ruleset: steps with global ids, the
// category / equality index, and per-rule metadata.

#include <absl/container/flat_hash_map.h>
#include <algorithm>
#include <chainwatch/engine/engine.hpp>
#include <optional>

namespace chainwatch::engine::detail {

/// What a step does when it matches.
enum class role : std::uint8_t { positive, missing, until };

/// Kind of rule. An aggregate is an event query whose matches feed rule::agg, grouped by key.
enum class rule_kind : std::uint8_t { event, sequence, join, aggregate };

/// One step (runs expanded) with a global id.
struct step {
  std::uint32_t rule = 0;
  role what = role::positive;
  std::uint16_t index = 0; ///< positive step index (0-based); for missing: positives before it
  std::uint16_t group = 1; ///< leader only: number of consecutive ids sharing the condition
  bool fork = false;       ///< advancing copies the partial instead of moving it
  /// Leader only: ids shared by steps whose condition / join-key list has the same canonical
  /// text, so the router evaluates each distinct one once per event (rules often repeat them).
  std::uint32_t condition_id = 0;
  std::uint32_t keys_id = 0;
  eql::expression condition;
  std::vector<eql::expression> keys;
};

/// One rule.
struct rule {
  rule_kind kind = rule_kind::event;
  std::uint16_t positives = 0;
  std::optional<std::int64_t> maxspan;
  bool leading_missing = false;
  bool trailing_missing = false;
  std::vector<eql::pipe> pipes;
  std::vector<std::uint32_t> lineage; ///< event queries: lineage terms to check
  aggregate agg;                      ///< rule_kind::aggregate
  event::field_path distinct;         ///< agg.distinct_field
  std::uint32_t max_counted = 0;      ///< aggregate count: events held per group at most
};

/// Kind of lineage term.
enum class lineage_kind : std::uint8_t { descendant, child, event };

/// A top-level `[not] descendant of [...]` (or child/event of) conjunct of an event query,
/// checked by the engine with process tracking.
struct lineage_term {
  lineage_kind kind = lineage_kind::descendant;
  bool negated = false;
  std::string category;              ///< of the bracketed query ("any" for any)
  eql::expression condition;         ///< bracketed condition without its own lineage terms
  std::vector<std::uint32_t> nested; ///< lineage terms of the bracketed query
};

/// Steps whose indexed field equals one value.
struct field_index {
  event::field_path path;
  bool fold = false; ///< lookups fold ASCII case
  absl::flat_hash_map<std::string, std::vector<step_id>> by_value;
};

/// All steps of one category.
struct bucket {
  std::vector<step_id> plain;      ///< not indexed by value: always candidates
  std::vector<field_index> fields; ///< indexed by a field value
};

/// The compiled ruleset.
struct compiled {
  options opts;
  std::vector<rule_source> sources;
  std::vector<rule> rules;
  std::vector<step> steps;       // by step_id; within a rule: until, then steps in reverse order
  std::uint32_t conditions = 0;  ///< distinct step conditions (condition_id < conditions)
  std::uint32_t key_lists = 0;   ///< distinct join-key lists (keys_id < key_lists)
  std::uint32_t field_slots = 0; ///< distinct fields of the current event read by expressions
  /// Per step id: step_of_event_rule | step_reads_events (what push_hits checks per hit, kept
  /// dense: the steps themselves are large).
  std::vector<std::uint8_t> step_flags;
  static constexpr std::uint8_t step_of_event_rule = 1;
  /// The rule reads the fields of its events after routing (pipes, distinct counts).
  static constexpr std::uint8_t step_reads_events = 2;
  std::uint64_t fingerprint = 0; ///< ruleset::fingerprint()
  event::field_path category;
  absl::flat_hash_map<std::string, bucket> categories;
  bucket any;
  std::vector<lineage_term> lineage;
  event::field_path pid, ppid, subtype;
};

/// Bytes glibc malloc takes for a request of `n` (8-byte chunk header, 16-byte rounding,
/// 32-byte minimum); 0 for 0. Used so that memory gauges count what the heap really holds.
constexpr std::size_t heap_bytes(std::size_t n) noexcept {
  return n == 0 ? 0 : std::max<std::size_t>(32, (n + 8 + 15) & ~std::size_t{15});
}

/// Converts for abseil lookups (Debian's abseil has its own string_view).
inline absl::string_view av(std::string_view s) noexcept {
  return {s.data(), s.size()};
}

/// Appends the canonical key text of a value (folded when `fold`).
void append_key_value(std::string& out, const eql::value& v, bool fold);

/// Appends the canonical index text of a scalar (numbers normalized, strings folded when `fold`).
/// Returns false for values that cannot be indexed.
bool append_index_value(std::string& out, const eql::value& v, bool fold);

} // namespace chainwatch::engine::detail
