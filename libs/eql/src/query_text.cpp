#include "query_text.hpp"

#include "ip_address.hpp"

#include <algorithm>
#include <charconv>

namespace chainwatch::eql::detail {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

bool valid_field(std::string_view f) {
  if (f.empty() || f.front() == '.' || f.back() == '.' || f.find("..") != std::string_view::npos)
    return false;
  return std::none_of(f.begin(), f.end(), [](char c) {
    return static_cast<unsigned char>(c) <= ' ' || c == '`' || c == '[' || c == ']' || c == 0x7f;
  });
}

std::optional<literal> number_of(std::string_view text) {
  const char* b = text.data();
  const char* e = b + text.size();
  std::int64_t i = 0;
  if (auto r = std::from_chars(b, e, i); r.ec == std::errc{} && r.ptr == e) return literal{i};
  double d = 0;
  if (auto r = std::from_chars(b, e, d); r.ec == std::errc{} && r.ptr == e) return literal{d};
  return std::nullopt;
}

void term_text::push(char c, bool wildcard) {
  text.push_back(c);
  wild.push_back(wildcard);
}
bool term_text::has_wildcard() const {
  return std::find(wild.begin(), wild.end(), true) != wild.end();
}
bool term_text::is_any() const {
  return text == "*" && wild[0];
}

expr literal_node(literal v) {
  expr e;
  e.kind = op::literal;
  e.value = std::move(v);
  return e;
}

expr field_node(std::string_view name, location where) {
  expr f;
  f.kind = op::field;
  f.where = where;
  std::size_t start = 0;
  while (true) {
    auto dot = name.find('.', start);
    f.path.push_back({std::string(name.substr(start, dot - start))});
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return f;
}

expr binary(op k, expr a, expr b) {
  expr e;
  e.kind = k;
  e.where = a.where;
  e.children.push_back(std::move(a));
  e.children.push_back(std::move(b));
  return e;
}

expr negate(expr a) {
  expr e;
  e.kind = op::not_;
  e.where = a.where;
  e.children.push_back(std::move(a));
  return e;
}

expr exists(std::string_view field, location where) {
  return binary(op::ne, field_node(field, where), literal_node(std::monostate{}));
}

expr guarded(std::string_view field, location where, expr cmp, bool negated) {
  if (!negated) return cmp;
  return binary(op::and_, exists(field, where), std::move(cmp));
}

namespace {

// One byte of a literal for RE2: punctuation escaped, NUL spelled out, the rest as is.
void regex_literal(std::string& out, char c) {
  const auto u = static_cast<unsigned char>(c);
  if (c == '\0') {
    out += "\\x00";
    return;
  }
  const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                     c == '_' || u >= 0x80;
  if (!plain) out.push_back('\\');
  out.push_back(c);
}

// A wildcard pattern whose literal part also holds a `*` or `?` (escaped or quoted): `like` has
// no escape for them, so it becomes an anchored regex (RE2 matches the whole value).
std::string wildcard_regex(const term_text& v) {
  std::string re = "(?s)";
  for (std::size_t i = 0; i < v.text.size(); ++i) {
    if (v.wild[i])
      re += v.text[i] == '*' ? ".*" : ".";
    else
      regex_literal(re, v.text[i]);
  }
  return re;
}

} // namespace

expr term_match(std::string_view field, location where, const term_text& value, bool untyped,
                bool negated) {
  if (value.is_any()) return exists(field, where);
  expr cmp;
  if (value.has_wildcard()) {
    bool literal_wild = false;
    for (std::size_t i = 0; i < value.text.size(); ++i)
      literal_wild |= !value.wild[i] && (value.text[i] == '*' || value.text[i] == '?');
    cmp = literal_wild
              ? binary(op::regex, field_node(field, where), literal_node(wildcard_regex(value)))
              : binary(op::like, field_node(field, where), literal_node(value.text));
  } else if (value.text.find('/') != std::string::npos && detail::parse_cidr(value.text)) {
    // An address range: Elasticsearch matches an ip field against it, quoted or not.
    cmp.kind = op::call;
    cmp.name = "cidrMatch";
    cmp.where = where;
    cmp.children.push_back(field_node(field, where));
    cmp.children.push_back(literal_node(value.text));
  } else {
    expr list;
    list.kind = op::list;
    if (untyped) {
      if (auto n = number_of(value.text))
        list.children.push_back(literal_node(*n));
      else if (value.text == "true" || value.text == "false")
        list.children.push_back(literal_node(value.text == "true"));
    }
    list.children.push_back(literal_node(value.text));
    // `in` is exact: a `*` in a quoted value is a star, not a wildcard.
    cmp = binary(op::in, field_node(field, where), std::move(list));
  }
  return guarded(field, where, std::move(cmp), negated);
}

expr compare(std::string_view field, location where, op k, const std::string& bound, bool untyped,
             bool negated) {
  literal b = bound;
  if (auto n = untyped ? number_of(bound) : std::nullopt) b = *n;
  return guarded(field, where, binary(k, field_node(field, where), literal_node(std::move(b))),
                 negated);
}

query any_where(expr condition) {
  event_query eq;
  eq.category = "any";
  eq.condition = std::move(condition);
  query q;
  q.body = std::move(eq);
  return q;
}

location query_cursor::at(std::size_t p) const {
  location l;
  l.offset = static_cast<std::uint32_t>(p);
  for (std::size_t i = 0; i < p && i < s_.size(); ++i) {
    if (s_[i] == '\n') {
      ++l.line;
      l.column = 1;
    } else {
      ++l.column;
    }
  }
  return l;
}

bool query_cursor::fail(std::size_t p, std::string message) {
  if (!failed_) {
    err_ = error{std::move(message), at(p)};
    failed_ = true;
  }
  return false;
}

void query_cursor::skip_space() {
  while (pos_ < s_.size() && is_space(s_[pos_]))
    ++pos_;
}

bool query_cursor::valid_utf8() {
  std::size_t i = 0;
  while (i < s_.size()) {
    const auto c = static_cast<unsigned char>(s_[i]);
    std::size_t n = c < 0x80           ? 0
                    : (c >> 5) == 0x6  ? 1
                    : (c >> 4) == 0xE  ? 2
                    : (c >> 3) == 0x1E ? 3
                                       : 4;
    if (n == 4 || i + n >= s_.size()) return fail(i, "the query is not UTF-8");
    std::uint32_t cp = n == 0 ? c : c & (0x3F >> n);
    for (std::size_t k = 1; k <= n; ++k) {
      const auto d = static_cast<unsigned char>(s_[i + k]);
      if ((d & 0xC0) != 0x80) return fail(i, "the query is not UTF-8");
      cp = (cp << 6) | (d & 0x3F);
    }
    // Overlong forms, surrogates and code points past U+10FFFF are not UTF-8 either.
    static constexpr std::uint32_t min_of[] = {0, 0x80, 0x800, 0x10000};
    if (cp < min_of[n] || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
      return fail(i, "the query is not UTF-8");
    i += n + 1;
  }
  return true;
}

bool query_cursor::enter(std::size_t p) {
  if (++depth_ > max_nesting_depth) return fail(p, "query nested too deeply");
  return true;
}

} // namespace chainwatch::eql::detail
