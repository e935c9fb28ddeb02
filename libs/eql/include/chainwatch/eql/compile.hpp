#pragma once

// Compiles EQL expressions (from ast.hpp) into evaluators over events.
// Evaluation never allocates for field reads and comparisons; functions that
// build strings (concat, string, ...) use the context's scratch.
//
// Semantics: a missing field is null; comparisons with null yield null except
// against a literal `null`; `and`/`or`/`not` are three-valued. A field holding an
// array matches a literal with `==`, `!=` (negated), `:`, `in`, `like`, `regex`,
// and `cidrMatch`/`inList` when any element matches. Lineage (`descendant of`, ...) is rejected
// with a compile error: it needs the engine's process tracking.

#include <array>
#include <chainwatch/eql/ast.hpp>
#include <chainwatch/eql/lists.hpp>
#include <chainwatch/event/event.hpp>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

namespace chainwatch::eql {

/// The runtime value of an expression.
struct value {
  enum class type : std::uint8_t { null, boolean, integer, real, string, array, object };
  type t = type::null;
  union {
    bool b;
    std::int64_t i;
    double d;
  };
  std::string_view s;   ///< type::string (points into the event or the scratch)
  event::value_ref ref; ///< type::array / type::object: the container in the event

  value() : i(0) {}
  static value null() { return {}; }
  static value boolean(bool v) {
    value r;
    r.t = type::boolean;
    r.b = v;
    return r;
  }
  static value integer(std::int64_t v) {
    value r;
    r.t = type::integer;
    r.i = v;
    return r;
  }
  static value real(double v) {
    value r;
    r.t = type::real;
    r.d = v;
    return r;
  }
  static value string(std::string_view v) {
    value r;
    r.t = type::string;
    r.s = v;
    return r;
  }
  /// Converts a field of an event (scalars by value, containers by ref).
  static value from(event::value_ref v);
};

/// Per-evaluation state. Reuse one per thread; `reset()` between top-level evaluations
/// is done by `expression::eval`/`test`.
struct eval_context {
  const event::event* current = nullptr;         ///< the event being tested
  std::span<const event::event* const> sequence; ///< `events[i]` for sequence pipes
  std::deque<std::string> scratch;               ///< owned temporary strings
  std::size_t scratch_used = 0;
  /// Elements bound by `arraySearch`/`arrayCount` variables (nesting depth 8).
  std::array<event::value_ref, 8> locals{};
  /// Optional memo of `current`'s field reads, by field slot (compile_options::field_slots):
  /// slot s holds a valid read when field_stamps[s] == field_epoch. Whoever sets these bumps
  /// field_epoch for every new `current` (the router does, once per event).
  event::value_ref* field_values = nullptr;
  std::uint32_t* field_stamps = nullptr;
  std::uint32_t field_epoch = 0;
  /// Stores a temporary string and returns a view valid until the next reset.
  std::string_view keep(std::string s);
  void reset() { scratch_used = 0; }
};

/// Field path text -> slot, shared by the expressions compiled with it, so that an evaluator
/// with a memo (eval_context::field_values) reads each distinct field once per event.
struct field_slots {
  std::unordered_map<std::string, std::uint32_t> ids;
};

/// Options that affect compilation.
struct compile_options {
  bool case_sensitive = false;          ///< `==`, `!=`, `in`, function string compares
  const list_registry* lists = nullptr; ///< for `inList(value, "name")`
  field_slots* slots = nullptr;         ///< assign field slots (fields of the current event)
};

/// A compiled expression. Cheap to copy (shares an immutable tree).
class expression {
public:
  expression() = default;

  /// Evaluates against `ctx.current` (and `ctx.sequence` for `events[i]` paths). A string
  /// result may live in `ctx.scratch`: copy it before the next `eval`/`test` on `ctx`.
  value eval(eval_context& ctx) const;
  /// True when the expression evaluates to boolean true (null and false are false).
  bool test(eval_context& ctx) const;
  /// True when the expression is a constant (no field reads).
  bool is_constant() const noexcept;

  struct node;

private:
  friend expected<expression, error> compile(const expr&, const compile_options&);
  std::shared_ptr<const node> root_;
};

/// Compiles an expression; reports unknown functions, wrong argument counts and
/// type errors on literals (for example `"a" + 1`) at their location.
expected<expression, error> compile(const expr& e, const compile_options& options);

/// Case-folds ASCII for insensitive compares (EQL data is mostly ASCII; non-ASCII
/// bytes compare exactly).
bool iequals(std::string_view a, std::string_view b) noexcept;

/// EQL wildcard match: `*` any run, `?` one character. No escapes: Windows paths such as
/// `C:\\Windows\\*` end in a backslash before the star.
bool wildcard_match(std::string_view pattern, std::string_view text, bool case_sensitive) noexcept;

/// Equality of two runtime values under EQL rules (numbers compare across int/real;
/// strings by the given case mode; null equals only null). The `==` operator itself
/// yields null when a side is null, except against a literal `null` (a null test).
bool values_equal(const value& a, const value& b, bool case_sensitive) noexcept;

} // namespace chainwatch::eql
