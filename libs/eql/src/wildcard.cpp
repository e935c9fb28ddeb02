#include "text_util.hpp"

#include <algorithm>
#include <chainwatch/eql/compile.hpp>
#include <cstdint>
#include <cstring>

namespace chainwatch::eql {

namespace detail {

std::string folded(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    c = fold(c);
  return out;
}

int compare(std::string_view a, std::string_view b, bool case_sensitive) noexcept {
  if (case_sensitive) {
    int r = a.compare(b);
    return r < 0 ? -1 : (r > 0 ? 1 : 0);
  }
  std::size_t n = std::min(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    auto x = static_cast<unsigned char>(fold(a[i]));
    auto y = static_cast<unsigned char>(fold(b[i]));
    if (x != y) return x < y ? -1 : 1;
  }
  return a.size() == b.size() ? 0 : (a.size() < b.size() ? -1 : 1);
}

static bool eq_at(std::string_view hay, std::size_t pos, std::string_view needle,
                  bool case_sensitive) noexcept {
  if (case_sensitive) return hay.compare(pos, needle.size(), needle) == 0;
  for (std::size_t i = 0; i < needle.size(); ++i)
    if (fold(hay[pos + i]) != fold(needle[i])) return false;
  return true;
}

std::size_t find(std::string_view hay, std::string_view needle, std::size_t from,
                 bool case_sensitive) noexcept {
  if (case_sensitive) return hay.find(needle, from);
  if (needle.size() > hay.size() || from > hay.size() - needle.size())
    return std::string_view::npos;
  if (needle.empty()) return from;
  const char first = fold(needle[0]);
  const std::size_t last = hay.size() - needle.size();
  if (first < 'a' || first > 'z') {
    // A first byte without case: let memchr skip to candidates.
    for (std::size_t i = from; i <= last;) {
      auto* p = static_cast<const char*>(std::memchr(hay.data() + i, first, last - i + 1));
      if (!p) return std::string_view::npos;
      i = static_cast<std::size_t>(p - hay.data());
      if (eq_at(hay, i, needle, false)) return i;
      ++i;
    }
    return std::string_view::npos;
  }
  for (std::size_t i = from; i <= last; ++i)
    if (fold(hay[i]) == first && eq_at(hay, i, needle, false)) return i;
  return std::string_view::npos;
}

std::size_t rfind(std::string_view hay, std::string_view needle, bool case_sensitive) noexcept {
  if (needle.size() > hay.size()) return std::string_view::npos;
  for (std::size_t i = hay.size() - needle.size() + 1; i-- > 0;)
    if (eq_at(hay, i, needle, case_sensitive)) return i;
  return std::string_view::npos;
}

bool starts_with(std::string_view s, std::string_view p, bool case_sensitive) noexcept {
  return s.size() >= p.size() && eq_at(s, 0, p, case_sensitive);
}

bool ends_with(std::string_view s, std::string_view p, bool case_sensitive) noexcept {
  return s.size() >= p.size() && eq_at(s, s.size() - p.size(), p, case_sensitive);
}

std::size_t folded_hash::operator()(std::string_view s) const noexcept {
  // FNV-1a over folded bytes, then a final mix so absl's low bits are spread.
  std::uint64_t h = 1469598103934665603ull;
  for (char c : s) {
    h ^= static_cast<unsigned char>(fold(c));
    h *= 1099511628211ull;
  }
  h ^= h >> 29;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 32;
  return static_cast<std::size_t>(h);
}

bool folded_eq::operator()(std::string_view a, std::string_view b) const noexcept {
  return iequals(a, b);
}

bool wildcard_general(std::string_view p, std::string_view t, bool case_sensitive,
                      bool question) noexcept {
  // Iterative matcher with single-star backtracking: O(|p|*|t|) worst case, no allocation.
  std::size_t pi = 0, ti = 0, star = std::string_view::npos, mark = 0;
  auto same = [&](char a, char b) { return case_sensitive ? a == b : fold(a) == fold(b); };
  while (ti < t.size()) {
    if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = ti;
    } else if (pi < p.size() && ((question && p[pi] == '?') || same(p[pi], t[ti]))) {
      ++pi;
      ++ti;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      ti = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*')
    ++pi;
  return pi == p.size();
}

wildcard_pattern::wildcard_pattern(std::string pattern, bool case_sensitive, bool question)
    : pattern_(std::move(pattern)), case_sensitive_(case_sensitive), question_(question) {
  std::string_view p = pattern_;
  if (question && p.find('?') != std::string_view::npos) {
    shape_ = shape::general;
    return;
  }
  auto stars = std::count(p.begin(), p.end(), '*');
  if (stars == 0) {
    shape_ = shape::exact;
    core_ = pattern_;
  } else if (p.find_first_not_of('*') == std::string_view::npos) {
    shape_ = shape::any;
  } else if (stars == 1 && p.back() == '*') {
    shape_ = shape::prefix;
    core_ = std::string(p.substr(0, p.size() - 1));
  } else if (stars == 1 && p.front() == '*') {
    shape_ = shape::suffix;
    core_ = std::string(p.substr(1));
  } else if (stars == 2 && p.front() == '*' && p.back() == '*') {
    shape_ = shape::contains;
    core_ = std::string(p.substr(1, p.size() - 2));
  } else {
    // Several stars: find the literal runs left to right (greedy leftmost is exact for `*`).
    shape_ = shape::segments;
    anchored_start_ = p.front() != '*';
    anchored_end_ = p.back() != '*';
    std::size_t start = 0;
    while (start <= p.size()) {
      auto star = p.find('*', start);
      auto end = star == std::string_view::npos ? p.size() : star;
      if (end > start) segments_.emplace_back(p.substr(start, end - start));
      if (star == std::string_view::npos) break;
      start = star + 1;
    }
  }
}

bool wildcard_pattern::match_segments(std::string_view text) const noexcept {
  std::size_t pos = 0, end = text.size();
  std::size_t first = 0, last = segments_.size();
  if (anchored_start_) {
    if (!starts_with(text, segments_.front(), case_sensitive_)) return false;
    pos = segments_.front().size();
    first = 1;
  }
  if (anchored_end_) {
    const auto& tail = segments_.back();
    if (end - pos < tail.size() || !ends_with(text, tail, case_sensitive_)) return false;
    end -= tail.size();
    --last;
  }
  std::string_view window = text.substr(0, end);
  for (std::size_t i = first; i < last; ++i) {
    auto at = find(window, segments_[i], pos, case_sensitive_);
    if (at == std::string_view::npos) return false;
    pos = at + segments_[i].size();
  }
  return true;
}

bool wildcard_pattern::match(std::string_view text) const noexcept {
  switch (shape_) {
  case shape::exact:
    return case_sensitive_ ? text == core_ : iequals(text, core_);
  case shape::prefix:
    return starts_with(text, core_, case_sensitive_);
  case shape::suffix:
    return ends_with(text, core_, case_sensitive_);
  case shape::contains:
    return find(text, core_, 0, case_sensitive_) != std::string_view::npos;
  case shape::any:
    return true;
  case shape::segments:
    return match_segments(text);
  case shape::general:
    break;
  }
  return wildcard_general(pattern_, text, case_sensitive_, question_);
}

} // namespace detail

namespace {

/// Lower-cases the ASCII letters of eight bytes at once (SWAR); other bytes are unchanged.
inline std::uint64_t fold8(std::uint64_t x) noexcept {
  constexpr std::uint64_t high = 0x8080808080808080ull;
  std::uint64_t low7 = x & ~high;
  std::uint64_t above_z = low7 + 0x2525252525252525ull; // high bit set when byte > 'Z'
  std::uint64_t from_a = low7 + 0x3f3f3f3f3f3f3f3full;  // high bit set when byte >= 'A'
  std::uint64_t upper = (from_a ^ above_z) & ~x & high;
  return x | (upper >> 2);
}

} // namespace

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  std::size_t i = 0;
  for (; i + 8 <= a.size(); i += 8) {
    std::uint64_t x, y;
    std::memcpy(&x, a.data() + i, 8);
    std::memcpy(&y, b.data() + i, 8);
    if (x != y && fold8(x) != fold8(y)) return false;
  }
  for (; i < a.size(); ++i)
    if (detail::fold(a[i]) != detail::fold(b[i])) return false;
  return true;
}

bool wildcard_match(std::string_view pattern, std::string_view text, bool case_sensitive) noexcept {
  return detail::wildcard_general(pattern, text, case_sensitive, true);
}

} // namespace chainwatch::eql
