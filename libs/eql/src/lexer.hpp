#pragma once

// Internal: splits EQL text into tokens for the parser.

#include <chainwatch/eql/ast.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace chainwatch::eql::detail {

/// Token kinds.
enum class tok : std::uint8_t {
  end,
  ident,        ///< name or keyword (keywords are matched case-insensitively by the parser)
  quoted_ident, ///< `name with spaces`; `str` holds the name
  string,       ///< "..." '...' ?"..." """..."""; `str` holds the decoded value
  integer,      ///< `uint_value` holds the magnitude
  real,         ///< `real_value`
  lparen,
  rparen,
  lbracket,
  rbracket,
  comma,
  dot,
  pipe,
  colon,
  tilde,
  bang,
  question,
  eq,
  assign,
  ne,
  lt,
  le,
  gt,
  ge,
  plus,
  minus,
  star,
  slash,
  percent,
};

/// One token; `text` views the source.
struct token {
  tok kind = tok::end;
  location where;
  std::string_view text;
  std::string str;
  bool raw = false;
  std::uint64_t uint_value = 0;
  double real_value = 0;
};

/// Tokenizes `text`; the last token is always `tok::end`.
expected<std::vector<token>, error> tokenize(std::string_view text);

/// Human-readable description of a token for error messages.
std::string describe(const token& t);

} // namespace chainwatch::eql::detail
