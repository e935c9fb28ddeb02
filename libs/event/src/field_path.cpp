#include <chainwatch/event/event.hpp>
#include <charconv>

namespace chainwatch::event {

namespace {

using segment = field_path::segment;

// Parses `a.b[2].c`, `` `a.b`.c `` (a doubled backquote is a literal one) and `a[-1]`.
expected<std::vector<segment>, std::string> split(std::string_view text) {
  std::vector<segment> out;
  std::size_t i = 0;
  const std::size_t n = text.size();
  if (n == 0) return out;
  bool need_name = true; // at start or after a '.'
  while (i < n) {
    const char c = text[i];
    if (c == '[') {
      if (need_name && i != 0) return unexpected{"index after '.' at " + std::to_string(i)};
      const std::size_t close = text.find(']', i);
      if (close == std::string_view::npos)
        return unexpected{"unclosed '[' at " + std::to_string(i)};
      std::string_view digits = text.substr(i + 1, close - i - 1);
      std::int64_t value = 0;
      const char* b = digits.data();
      const char* e = b + digits.size();
      if (!digits.empty() && *b == '+') ++b;
      auto [p, ec] = std::from_chars(b, e, value);
      if (digits.empty() || ec != std::errc() || p != e)
        return unexpected{"bad array index '" + std::string(digits) + "' at " + std::to_string(i)};
      segment s;
      s.index = value;
      s.is_index = true;
      out.push_back(std::move(s));
      i = close + 1;
      need_name = false;
      continue;
    }
    if (c == '.') {
      if (need_name) return unexpected{"empty segment at " + std::to_string(i)};
      need_name = true;
      ++i;
      if (i == n) return unexpected{std::string("path ends with '.'")};
      continue;
    }
    if (!need_name) return unexpected{"expected '.' or '[' at " + std::to_string(i)};
    segment s;
    if (c == '`') {
      ++i;
      bool closed = false;
      while (i < n) {
        if (text[i] == '`') {
          if (i + 1 < n && text[i + 1] == '`') {
            s.name.push_back('`');
            i += 2;
            continue;
          }
          closed = true;
          ++i;
          break;
        }
        s.name.push_back(text[i++]);
      }
      if (!closed) return unexpected{std::string("unclosed backquote")};
      if (s.name.empty()) return unexpected{std::string("empty backquoted name")};
    } else {
      const std::size_t start = i;
      while (i < n && text[i] != '.' && text[i] != '[' && text[i] != '`')
        ++i;
      s.name.assign(text.substr(start, i - start));
    }
    out.push_back(std::move(s));
    need_name = false;
  }
  return out;
}

bool is_index(const segment& s) {
  return s.is_index || s.name.empty();
}

bool needs_quotes(std::string_view name) {
  if (name.empty()) return true;
  for (char c : name)
    if (c == '.' || c == '[' || c == ']' || c == '`' || c == ' ') return true;
  return false;
}

} // namespace

field_path::field_path(std::string_view dotted) {
  auto parsed = split(dotted);
  if (parsed) {
    segments_ = std::move(*parsed);
  } else {
    // Malformed text: keep it as one literal name, which matches a flat key at most.
    segment s;
    s.name.assign(dotted);
    segments_.push_back(std::move(s));
  }
  resolve_symbols();
}

field_path::field_path(std::vector<segment> segments) : segments_(std::move(segments)) {
  for (auto& s : segments_)
    if (s.name.empty()) s.is_index = true;
  resolve_symbols();
}

expected<field_path, std::string> field_path::parse(std::string_view dotted) {
  auto parsed = split(dotted);
  if (!parsed) return unexpected{std::move(parsed.error())};
  return field_path(std::move(*parsed));
}

void field_path::resolve_symbols() {
  joined_.assign(segments_.size(), {});
  std::string joined;
  for (std::size_t i = 0; i < segments_.size(); ++i) {
    if (is_index(segments_[i])) continue;
    joined.clear();
    for (std::size_t j = i; j < segments_.size() && !is_index(segments_[j]); ++j) {
      if (j > i) joined.push_back('.');
      joined.append(segments_[j].name);
      // Interned, not just found: a key first seen after this path was built
      // must still match.
      joined_[i].push_back(symbols::intern(joined));
    }
  }
}

std::string field_path::to_string() const {
  std::string out;
  for (std::size_t i = 0; i < segments_.size(); ++i) {
    const segment& s = segments_[i];
    if (is_index(s)) {
      out.push_back('[');
      out.append(std::to_string(s.index));
      out.push_back(']');
      continue;
    }
    if (i > 0) out.push_back('.');
    if (needs_quotes(s.name)) {
      out.push_back('`');
      for (char c : s.name) {
        if (c == '`') out.push_back('`');
        out.push_back(c);
      }
      out.push_back('`');
    } else {
      out.append(s.name);
    }
  }
  return out;
}

bool field_path::operator==(const field_path& other) const noexcept {
  return segments_ == other.segments_;
}

} // namespace chainwatch::event
