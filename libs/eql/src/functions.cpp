#include "functions.hpp"

#include <array>
#include <chainwatch/eql/compile.hpp>

namespace chainwatch::eql::detail {

namespace {

constexpr std::uint8_t many = 255;

constexpr std::array<function_info, 24> functions{{
    {function_id::add, 2, 2, "add"},
    {function_id::subtract, 2, 2, "subtract"},
    {function_id::multiply, 2, 2, "multiply"},
    {function_id::divide, 2, 2, "divide"},
    {function_id::modulo, 2, 2, "modulo"},
    {function_id::array_contains, 2, many, "arrayContains"},
    {function_id::array_count, 3, 3, "arrayCount"},
    {function_id::array_search, 3, 3, "arraySearch"},
    {function_id::between, 3, 5, "between"},
    {function_id::cidr_match, 2, many, "cidrMatch"},
    {function_id::concat, 1, many, "concat"},
    {function_id::ends_with, 2, 2, "endsWith"},
    {function_id::index_of, 2, 3, "indexOf"},
    {function_id::length, 1, 1, "length"},
    {function_id::match, 2, many, "match"},
    {function_id::match_lite, 2, many, "matchLite"},
    {function_id::number, 1, 2, "number"},
    {function_id::string, 1, 1, "string"},
    {function_id::string_contains, 2, 2, "stringContains"},
    {function_id::starts_with, 2, 2, "startsWith"},
    {function_id::substring, 1, 3, "substring"},
    {function_id::wildcard, 2, many, "wildcard"},
    {function_id::safe, 1, 1, "safe"},
    {function_id::in_list, 2, 2, "inList"},
}};

} // namespace

std::optional<function_info> find_function(std::string_view name, bool& insensitive) noexcept {
  insensitive = false;
  if (!name.empty() && name.back() == '~') {
    insensitive = true;
    name.remove_suffix(1);
  }
  for (const auto& f : functions)
    if (iequals(f.canonical, name)) return f;
  return std::nullopt;
}

} // namespace chainwatch::eql::detail
