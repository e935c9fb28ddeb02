#pragma once

// Internal helpers for ASCII case folding, folded hashing and wildcard patterns.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace chainwatch::eql::detail {

/// ASCII lower-case of one byte.
inline char fold(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c;
}

/// ASCII lower-case copy.
std::string folded(std::string_view s);

/// Three-way compare, optionally ASCII case-insensitive.
int compare(std::string_view a, std::string_view b, bool case_sensitive) noexcept;

/// Position of `needle` in `hay` at or after `from`, or npos.
std::size_t find(std::string_view hay, std::string_view needle, std::size_t from,
                 bool case_sensitive) noexcept;

/// Position of the last `needle` in `hay`, or npos.
std::size_t rfind(std::string_view hay, std::string_view needle, bool case_sensitive) noexcept;

/// True when `s` starts with `p`.
bool starts_with(std::string_view s, std::string_view p, bool case_sensitive) noexcept;
/// True when `s` ends with `p`.
bool ends_with(std::string_view s, std::string_view p, bool case_sensitive) noexcept;

/// Hash of the ASCII-folded bytes (transparent, for folded hash sets).
struct folded_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept;
};

/// Exact hash for `std::string_view` lookups in string sets (transparent).
struct exact_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

/// Exact equality (transparent).
struct exact_eq {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const noexcept { return a == b; }
};

/// ASCII case-insensitive equality (transparent).
struct folded_eq {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const noexcept;
};

/// A wildcard pattern classified once so common shapes (`abc*`, `*abc`, `*abc*`)
/// avoid the general matcher.
class wildcard_pattern {
public:
  /// `question` makes `?` match one character (Elastic); Endgame `==` uses only `*`.
  wildcard_pattern(std::string pattern, bool case_sensitive, bool question);
  bool match(std::string_view text) const noexcept;
  const std::string& pattern() const noexcept { return pattern_; }

private:
  enum class shape : std::uint8_t { exact, prefix, suffix, contains, any, segments, general };
  bool match_segments(std::string_view text) const noexcept;
  std::string pattern_;
  std::vector<std::string> segments_; // non-empty runs between stars (shape::segments)
  bool anchored_start_ = false;
  bool anchored_end_ = false;
  std::string core_; // literal part for the simple shapes
  shape shape_ = shape::general;
  bool case_sensitive_ = false;
  bool question_ = true;
};

/// General wildcard matcher without allocation.
bool wildcard_general(std::string_view pattern, std::string_view text, bool case_sensitive,
                      bool question) noexcept;

} // namespace chainwatch::eql::detail
