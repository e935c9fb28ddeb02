#pragma once

// The EQL abstract syntax tree, produced by `parse` and consumed by the
// expression compiler and the engine. Plain data: no behaviour beyond printing.

#include <chainwatch/base/expected.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace chainwatch::eql {

/// A place in the query text (1-based line and column, 0-based byte offset).
struct location {
  std::uint32_t line = 1;
  std::uint32_t column = 1;
  std::uint32_t offset = 0;
};

/// A parse or compile error.
struct error {
  std::string message;
  location where;
  /// A second place the message names ("opened at 2:3"); line 0 when there is none.
  location related{0, 0, 0};

  /// The message with `related` shifted as `render` shifts `where` (for a query in a file).
  std::string message_at(std::uint32_t line_offset, std::uint32_t column_offset) const;
  /// Renders `file:line:col: message`, the offending line and a caret under the column.
  /// `line_offset` shifts line numbers when the query is embedded in a file; `column_offset`
  /// shifts columns of the query's first line.
  std::string render(std::string_view source, std::string_view file = "<query>",
                     std::uint32_t line_offset = 0, std::uint32_t column_offset = 0) const;
};

/// Expression operators and node kinds.
enum class op : std::uint8_t {
  literal, ///< `value` holds the constant
  field,   ///< `path` holds the field path
  list,    ///< `(a, b, c)` right side of `in`; children are the elements
  call,    ///< `name(children...)`; `name` holds the function name as written
  // boolean
  and_,
  or_,
  not_,
  // comparison (2 children)
  eq,
  ne,
  lt,
  le,
  gt,
  ge,
  // `a : b` Elastic case-insensitive equality / wildcard (b may be a list)
  colon,
  // `a in (...)`, `a in~ (...)`, `a not in (...)`; child 0 = a, child 1 = list
  in,
  in_insensitive,
  not_in,
  not_in_insensitive,
  // `a like "x*"` / `a like~ ("x*", "y?")`, `a regex ".."` / `regex~`; child 1 = literal or list
  like,
  like_insensitive,
  regex,
  regex_insensitive,
  // arithmetic (2 children) and unary minus (1 child)
  add,
  sub,
  mul,
  div,
  mod,
  neg,
  // Endgame lineage (no children): `descendant of [...]`, `child of [...]`, `event of [...]`;
  // `subquery[0]` holds the bracketed event query
  descendant_of,
  child_of,
  event_of,
};

struct event_query;

/// A literal constant.
using literal = std::variant<std::monostate /*null*/, bool, std::int64_t, double, std::string>;

/// One segment of a field path: a name, or an array index when `name` is empty.
struct path_segment {
  std::string name;
  std::int64_t index = -1;
};

/// An expression node.
struct expr {
  op kind = op::literal;
  location where;
  literal value;                     ///< op::literal
  std::vector<path_segment> path;    ///< op::field (e.g. events[1].process.name)
  std::string name;                  ///< op::call: function name as written
  std::vector<expr> children;        ///< operands / arguments / list elements
  bool raw_string = false;           ///< literal came from ?"..." or """...""" (no escapes)
  std::vector<event_query> subquery; ///< lineage ops: exactly one element
};

/// `category where condition`; category "any" matches every event.
struct event_query {
  std::string category; ///< as written; "any" for any
  location where;
  expr condition;
};

/// One bracketed step of a sequence or join.
struct step {
  event_query query;
  std::vector<expr> by;   ///< step-level join keys (appended after the sequence-level ones)
  std::uint32_t runs = 1; ///< `with runs=N`
  bool missing = false;   ///< `![...]` (Elastic 8.x missing-event step)
  bool fork = false;      ///< Endgame `fork` / `fork=true` step parameter
  location where;
};

/// `sequence [by ...] [with maxspan=..] [step]... [until [step]]`
struct sequence_query {
  std::vector<expr> by;                   ///< sequence-level join keys
  std::optional<std::int64_t> maxspan_ns; ///< `with maxspan=N(ms|s|m|h|d)`
  std::vector<step> steps;
  std::optional<step> until;
};

/// `join [by ...] [step]... [until [step]]`
struct join_query {
  std::vector<expr> by;
  std::vector<step> steps;
  std::optional<step> until;
};

/// A `| name args...` pipe.
struct pipe {
  enum class type : std::uint8_t { head, tail, filter, unique, unique_count, count, sort };
  type kind = type::head;
  std::vector<expr> args;
  location where;
};

/// A whole query.
struct query {
  std::variant<event_query, sequence_query, join_query> body;
  std::vector<pipe> pipes;
};

/// Parses an EQL query. Errors carry the location of the offending token.
expected<query, error> parse(std::string_view text);

/// Parses a standalone expression (for tests and tools).
expected<expr, error> parse_expression(std::string_view text);

/// Renders an expression back to EQL text (canonical spacing).
std::string to_string(const expr& e);

/// Renders a whole query back to EQL text that `parse` accepts (canonical spacing).
std::string to_string(const query& q);

/// Maximum bracket nesting `parse` accepts (parentheses, calls, lists, lineage subqueries).
inline constexpr std::uint32_t max_nesting_depth = 256;

/// Maximum height of an expression tree `parse` builds (long `a or b or ...` chains are deep).
inline constexpr std::uint32_t max_expression_height = 2048;

} // namespace chainwatch::eql
