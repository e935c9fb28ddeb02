#include <array>
#include <chainwatch/eql/ast.hpp>
#include <charconv>
#include <cmath>

namespace chainwatch::eql {

std::string error::message_at(std::uint32_t line_offset, std::uint32_t column_offset) const {
  if (related.line == 0 || (line_offset == 0 && column_offset == 0)) return message;
  auto text = [](location l) { return std::to_string(l.line) + ":" + std::to_string(l.column); };
  const std::string from = " at " + text(related);
  auto pos = message.find(from);
  if (pos == std::string::npos) return message;
  location shifted = related;
  shifted.line += line_offset;
  if (related.line == 1) shifted.column += column_offset;
  std::string out = message;
  out.replace(pos, from.size(), " at " + text(shifted));
  return out;
}

std::string error::render(std::string_view source, std::string_view file, std::uint32_t line_offset,
                          std::uint32_t column_offset) const {
  std::uint32_t column = where.column + (where.line == 1 ? column_offset : 0);
  std::string out;
  out += file;
  out += ':';
  out += std::to_string(where.line + line_offset);
  out += ':';
  out += std::to_string(column);
  out += ": ";
  out += message_at(line_offset, column_offset);
  out += '\n';
  std::size_t offset = std::min<std::size_t>(where.offset, source.size());
  std::size_t begin = 0;
  if (offset > 0) {
    std::size_t nl = source.rfind('\n', offset - 1);
    begin = nl == std::string_view::npos ? 0 : nl + 1;
  }
  std::size_t end = source.find('\n', offset);
  if (end == std::string_view::npos) end = source.size();
  std::string_view line = source.substr(begin, end - begin);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  out += line;
  out += '\n';
  // Keep tabs so the caret lines up under the offending character.
  for (std::size_t i = begin; i < offset && i < begin + line.size(); ++i)
    out += source[i] == '\t' ? '\t' : ' ';
  out += '^';
  return out;
}

namespace {

bool is_plain_identifier(std::string_view s) {
  if (s.empty()) return false;
  char c = s[0];
  if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '@')) return false;
  for (char ch : s.substr(1)) {
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' ||
          (ch >= '0' && ch <= '9')))
      return false;
  }
  return true;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) {
      return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// Names the parser would read as keywords or lineage, so they must be backquoted.
bool is_keyword(std::string_view s) {
  static constexpr std::array<std::string_view, 15> words = {
      "and",  "or",    "not",  "in",    "like", "regex",    "where", "by",
      "with", "until", "true", "false", "null", "sequence", "join"};
  for (auto w : words)
    if (iequals(s, w)) return true;
  return false;
}

void append_name(std::string& out, std::string_view name, bool first) {
  if (is_plain_identifier(name) && !(first && is_keyword(name))) {
    out += name;
    return;
  }
  out += '`';
  for (char c : name) {
    if (c == '`') out += '`';
    out += c;
  }
  out += '`';
}

void append_string(std::string& out, const std::string& s, bool raw) {
  if (raw && s.find("\"\"\"") == std::string::npos && (s.empty() || s.back() != '"')) {
    out += "\"\"\"";
    out += s;
    out += "\"\"\"";
    return;
  }
  out += '"';
  for (char c : s) {
    switch (c) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    default:
      if (static_cast<unsigned char>(c) < 0x20) {
        const char* digits = "0123456789abcdef";
        out += "\\u{";
        out += digits[(c >> 4) & 0xF];
        out += digits[c & 0xF];
        out += '}';
      } else {
        out += c;
      }
    }
  }
  out += '"';
}

void append_literal(std::string& out, const literal& v, bool raw) {
  if (std::holds_alternative<std::monostate>(v)) {
    out += "null";
  } else if (auto* b = std::get_if<bool>(&v)) {
    out += *b ? "true" : "false";
  } else if (auto* i = std::get_if<std::int64_t>(&v)) {
    out += std::to_string(*i);
  } else if (auto* d = std::get_if<double>(&v)) {
    if (!std::isfinite(*d)) {
      // Not produced by the parser; render something that parses to a real.
      out += *d > 0 ? "1e999999" : (*d < 0 ? "-1e999999" : "0.0");
      return;
    }
    std::array<char, 64> buf{};
    auto [p, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), *d);
    std::string_view text(buf.data(), static_cast<std::size_t>(p - buf.data()));
    out += text;
    if (text.find_first_of(".eE") == std::string_view::npos) out += ".0";
  } else {
    append_string(out, std::get<std::string>(v), raw);
  }
}

// Binding strength, loosest first; matches the parser's precedence levels.
// `a not like x` is stored as not(like(a, x)) and printed infix, at comparison level.
bool is_infix_negation(const expr& e) {
  if (e.kind != op::not_ || e.children.size() != 1) return false;
  op k = e.children[0].kind;
  return (k == op::like || k == op::like_insensitive || k == op::regex ||
          k == op::regex_insensitive) &&
         e.children[0].children.size() == 2;
}

int precedence(const expr& e) {
  if (is_infix_negation(e)) return 4;
  switch (e.kind) {
  case op::or_:
    return 1;
  case op::and_:
    return 2;
  case op::not_:
    return 3;
  case op::eq:
  case op::ne:
  case op::lt:
  case op::le:
  case op::gt:
  case op::ge:
  case op::colon:
  case op::in:
  case op::in_insensitive:
  case op::not_in:
  case op::not_in_insensitive:
  case op::like:
  case op::like_insensitive:
  case op::regex:
  case op::regex_insensitive:
    return 4;
  case op::add:
  case op::sub:
    return 5;
  case op::mul:
  case op::div:
  case op::mod:
    return 6;
  case op::neg:
    return 7;
  case op::literal: {
    // A negative number reads like unary minus.
    if (auto* i = std::get_if<std::int64_t>(&e.value); i && *i < 0) return 7;
    if (auto* d = std::get_if<double>(&e.value); d && std::signbit(*d)) return 7;
    return 8;
  }
  default:
    return 8;
  }
}

const char* binary_symbol(op k) {
  switch (k) {
  case op::or_:
    return " or ";
  case op::and_:
    return " and ";
  case op::eq:
    return " == ";
  case op::ne:
    return " != ";
  case op::lt:
    return " < ";
  case op::le:
    return " <= ";
  case op::gt:
    return " > ";
  case op::ge:
    return " >= ";
  case op::colon:
    return " : ";
  case op::in:
    return " in ";
  case op::in_insensitive:
    return " in~ ";
  case op::not_in:
    return " not in ";
  case op::not_in_insensitive:
    return " not in~ ";
  case op::like:
    return " like ";
  case op::like_insensitive:
    return " like~ ";
  case op::regex:
    return " regex ";
  case op::regex_insensitive:
    return " regex~ ";
  case op::add:
    return " + ";
  case op::sub:
    return " - ";
  case op::mul:
    return " * ";
  case op::div:
    return " / ";
  case op::mod:
    return " % ";
  default:
    return nullptr;
  }
}

void append_expr(std::string& out, const expr& e);
void append_binary_rest(std::string& out, const expr& e);
void append_event_query(std::string& out, const event_query& q);

void append_operand(std::string& out, const expr& e, bool paren) {
  if (paren) out += '(';
  append_expr(out, e);
  if (paren) out += ')';
}

void append_list(std::string& out, const expr& e) {
  out += '(';
  for (std::size_t i = 0; i < e.children.size(); ++i) {
    if (i) out += ", ";
    append_expr(out, e.children[i]);
  }
  out += ')';
}

void append_expr(std::string& out, const expr& e) {
  switch (e.kind) {
  case op::literal:
    append_literal(out, e.value, e.raw_string);
    return;
  case op::field: {
    bool first = true;
    for (const auto& seg : e.path) {
      if (seg.name.empty() && !first) {
        out += '[';
        out += std::to_string(seg.index);
        out += ']';
      } else {
        if (!first) out += '.';
        append_name(out, seg.name.empty() ? std::string_view("_") : std::string_view(seg.name),
                    first);
      }
      first = false;
    }
    return;
  }
  case op::list:
    append_list(out, e);
    return;
  case op::call: {
    out += e.name;
    out += '(';
    for (std::size_t i = 0; i < e.children.size(); ++i) {
      if (i) out += ", ";
      append_expr(out, e.children[i]);
    }
    out += ')';
    return;
  }
  case op::not_:
    if (is_infix_negation(e)) {
      // Printed as the parser's `a not like x` so that, as a comparison operand, it needs no
      // brackets the input did not have.
      const expr& inner = e.children[0];
      append_operand(out, inner.children[0], precedence(inner.children[0]) < 4);
      out += " not";
      append_binary_rest(out, inner);
      return;
    }
    out += "not ";
    if (!e.children.empty()) append_operand(out, e.children[0], precedence(e.children[0]) < 3);
    return;
  case op::neg: {
    out += '-';
    if (e.children.empty()) return;
    const expr& operand = e.children[0];
    bool number =
        operand.kind == op::literal && (std::holds_alternative<std::int64_t>(operand.value) ||
                                        std::holds_alternative<double>(operand.value));
    if (precedence(operand) == 7) {
      // `- -x` and `- -1` read back as written; no brackets, so nesting never grows.
      out += ' ';
      append_expr(out, operand);
    } else {
      // `-(1)` stays a negation, where `-1` would read back as a negative literal.
      append_operand(out, operand, number || precedence(operand) < 7);
    }
    return;
  }
  case op::descendant_of:
  case op::child_of:
  case op::event_of:
    out += e.kind == op::descendant_of ? "descendant of ["
           : e.kind == op::child_of    ? "child of ["
                                       : "event of [";
    if (!e.subquery.empty()) append_event_query(out, e.subquery[0]);
    out += ']';
    return;
  default:
    break;
  }
  if (!binary_symbol(e.kind) || e.children.size() != 2) {
    out += "<invalid>";
    return;
  }
  const expr& lhs = e.children[0];
  append_operand(out, lhs, precedence(lhs) < precedence(e));
  append_binary_rest(out, e);
}

void append_binary_rest(std::string& out, const expr& e) {
  const char* symbol = binary_symbol(e.kind);
  if (!symbol || e.children.size() != 2) {
    out += "<invalid>";
    return;
  }
  out += symbol;
  const expr& rhs = e.children[1];
  if (rhs.kind == op::list) {
    append_list(out, rhs);
    return;
  }
  // The right side of a comparison is an additive expression; otherwise the next level up.
  int p = precedence(e);
  append_operand(out, rhs, p == 4 ? precedence(rhs) < 5 : precedence(rhs) <= p);
}

void append_category(std::string& out, const std::string& category) {
  if (is_plain_identifier(category) && !is_keyword(category)) {
    out += category;
  } else {
    append_string(out, category, false);
  }
}

void append_event_query(std::string& out, const event_query& q) {
  append_category(out, q.category);
  out += " where ";
  append_expr(out, q.condition);
}

void append_by(std::string& out, const std::vector<expr>& by) {
  if (by.empty()) return;
  out += " by ";
  for (std::size_t i = 0; i < by.size(); ++i) {
    if (i) out += ", ";
    append_expr(out, by[i]);
  }
}

void append_step(std::string& out, const step& s) {
  out += s.missing ? " ![" : " [";
  append_event_query(out, s.query);
  out += ']';
  append_by(out, s.by);
  if (s.runs != 1) {
    out += " with runs=";
    out += std::to_string(s.runs);
  }
  if (s.fork) out += " fork=true";
}

std::string duration(std::int64_t ns) {
  static constexpr std::pair<std::int64_t, const char*> units[] = {{86400LL * 1'000'000'000, "d"},
                                                                   {3600LL * 1'000'000'000, "h"},
                                                                   {60LL * 1'000'000'000, "m"},
                                                                   {1'000'000'000, "s"},
                                                                   {1'000'000, "ms"}};
  if (ns == 0) return "0s";
  for (auto [size, name] : units)
    if (ns % size == 0) return std::to_string(ns / size) + name;
  // Sub-millisecond spans cannot be written in EQL; round up to keep the query valid.
  return std::to_string(ns / 1'000'000 + 1) + "ms";
}

} // namespace

std::string to_string(const expr& e) {
  std::string out;
  append_expr(out, e);
  return out;
}

std::string to_string(const query& q) {
  std::string out;
  if (auto* e = std::get_if<event_query>(&q.body)) {
    append_event_query(out, *e);
  } else if (auto* s = std::get_if<sequence_query>(&q.body)) {
    out += "sequence";
    append_by(out, s->by);
    if (s->maxspan_ns) {
      out += " with maxspan=";
      out += duration(*s->maxspan_ns);
    }
    for (const auto& st : s->steps)
      append_step(out, st);
    if (s->until) {
      out += " until";
      append_step(out, *s->until);
    }
  } else if (auto* j = std::get_if<join_query>(&q.body)) {
    out += "join";
    append_by(out, j->by);
    for (const auto& st : j->steps)
      append_step(out, st);
    if (j->until) {
      out += " until";
      append_step(out, *j->until);
    }
  }
  static constexpr const char* names[] = {"head",         "tail",  "filter", "unique",
                                          "unique_count", "count", "sort"};
  for (const auto& p : q.pipes) {
    out += " | ";
    out += names[static_cast<std::size_t>(p.kind)];
    for (std::size_t i = 0; i < p.args.size(); ++i) {
      out += i ? ", " : " ";
      append_expr(out, p.args[i]);
    }
  }
  return out;
}

} // namespace chainwatch::eql
