#pragma once

// Internal table of EQL functions: names, ids and argument counts.

#include <cstdint>
#include <optional>
#include <string_view>

namespace chainwatch::eql::detail {

/// Function identifiers.
enum class function_id : std::uint8_t {
  add,
  subtract,
  multiply,
  divide,
  modulo,
  array_contains,
  array_count,
  array_search,
  between,
  cidr_match,
  concat,
  ends_with,
  index_of,
  length,
  match,
  match_lite,
  number,
  string,
  string_contains,
  starts_with,
  substring,
  wildcard,
  safe,
  in_list,
};

/// What the compiler needs to know about a function.
struct function_info {
  function_id id;
  std::uint8_t min_args;
  std::uint8_t max_args;      ///< 255 means unbounded
  std::string_view canonical; ///< name as documented
};

/// Looks a function up by name, ignoring case and a trailing `~` (reported in `insensitive`).
std::optional<function_info> find_function(std::string_view name, bool& insensitive) noexcept;

} // namespace chainwatch::eql::detail
