#pragma once

// What the fuzz targets of every query front end check (parse_fuzz, kql_fuzz, lucene_fuzz): an
// input that does not parse renders its error; a parsed query prints to EQL that parses again
// and prints the same.

#include <chainwatch/base/assert.hpp>
#include <chainwatch/eql/ast.hpp>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

namespace chainwatch::eql::fuzz {

/// Checks what `front_end` parsed from `text`; returns the EQL it prints, or nothing when the
/// input did not parse.
inline std::optional<std::string> round_trip(const char* front_end, std::string_view text,
                                             const expected<query, error>& q) {
  if (!q) {
    (void)q.error().render(text); // rendering must cope with any location reported
    return std::nullopt;
  }
  std::string once = to_string(*q);
  auto again = parse(once);
  if (!again) {
    std::fprintf(stderr, "%s gave EQL that does not parse:\n%s\n", front_end,
                 again.error().render(once).c_str());
    CW_ASSERT(again.has_value());
  }
  std::string twice = to_string(*again);
  if (twice != once) {
    std::fprintf(stderr, "%s: to_string not stable:\n%s\n%s\n", front_end, once.c_str(),
                 twice.c_str());
    CW_ASSERT(twice == once);
  }
  return once;
}

} // namespace chainwatch::eql::fuzz
