#pragma once

// Internal: what the query-string front ends (KQL, Lucene) share. Each compiles a search query
// to `any where <condition>`; the pieces of that condition, the field checks and the text
// cursor with its error place and nesting bound, are written once here.

#include <chainwatch/eql/ast.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chainwatch::eql::detail {

/// A space, tab, carriage return or newline.
bool is_space(char c);

/// A field name: dotted segments, none empty, no space, control character, backtick or bracket.
bool valid_field(std::string_view f);

/// The number `text` spells (an integer when it is one), or nothing.
std::optional<literal> number_of(std::string_view text);

/// A value as written, with escapes resolved: its text and which of its bytes are wildcards
/// (an unescaped `*`, and in Lucene `?`); an escaped or quoted one is a literal character.
struct term_text {
  std::string text;
  std::vector<bool> wild; ///< one flag per byte of `text`
  void push(char c, bool wildcard);
  bool has_wildcard() const;
  /// `*` alone, unescaped: the field exists.
  bool is_any() const;
};

expr literal_node(literal v);
expr field_node(std::string_view name, location where);
expr binary(op k, expr a, expr b);
expr negate(expr a);
/// `field != null`.
expr exists(std::string_view field, location where);

/// `cmp`, guarded by `field != null` when it stands under an odd number of negations, so a
/// missing field makes it false and the negation true, as Elasticsearch's must_not does.
expr guarded(std::string_view field, location where, expr cmp, bool negated);

/// `field: value`: `*` alone is "exists"; a wildcard is `like` (or, when the value also holds
/// a literal `*` or `?`, an anchored `regex`); an address range (`10.0.0.0/8`) is `cidrMatch`;
/// otherwise exact `in`, where an untyped (unquoted) number or boolean also matches its text (no
/// index mappings say which it is).
expr term_match(std::string_view field, location where, const term_text& value, bool untyped,
                bool negated);

/// `field <k> bound` for k in lt, le, gt, ge; an untyped bound that spells a number is one.
expr compare(std::string_view field, location where, op k, const std::string& bound, bool untyped,
             bool negated);

/// The query `any where condition`.
query any_where(expr condition);

/// A parser's place in its text: the position, the first error (with line and column) and the
/// nesting depth, bounded by `max_nesting_depth`.
class query_cursor {
protected:
  explicit query_cursor(std::string_view text) : s_(text) {}

  location at(std::size_t p) const;
  /// Records the first error only; returns false so a parse step can `return fail(...)`.
  bool fail(std::size_t p, std::string message);
  void skip_space();
  /// False (with the error at the first bad byte) when the text is not UTF-8: events are, so
  /// such a value could never match, and RE2 refuses such a pattern.
  bool valid_utf8();
  bool at_end() const { return pos_ >= s_.size(); }
  bool peek(char c) const { return pos_ < s_.size() && s_[pos_] == c; }
  /// One level deeper (a parenthesis, brace or negation); false past the bound.
  bool enter(std::size_t p);
  void leave() { --depth_; }

  std::string_view s_;
  std::size_t pos_ = 0;
  std::uint32_t depth_ = 0;
  error err_;
  bool failed_ = false;
};

} // namespace chainwatch::eql::detail
