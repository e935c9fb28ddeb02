// KQL to the EQL syntax tree. The grammar follows Kibana's kuery grammar (kuery.peg): OrQuery,
// AndQuery, NotQuery, SubQuery, NestedQuery, field:value, field:(value list), field <op> value.
// Whitespace matters only around the keywords `or`, `and`, `not` (case-insensitive), which
// need a space on each side; an unquoted value runs to a special character (\():<>"*{} except
// `*`, its wildcard) or to a keyword, and is trimmed.

#include <algorithm>
#include <chainwatch/eql/kql.hpp>
#include <charconv>
#include <optional>
#include <string>
#include <vector>

namespace chainwatch::eql {

namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}
bool is_special(char c) {
  return c == '\\' || c == '(' || c == ')' || c == ':' || c == '<' || c == '>' || c == '"' ||
         c == '{' || c == '}';
}
char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// A field name: dotted segments, none empty, no space, control character, backtick or bracket.
bool valid_field(std::string_view f) {
  if (f.empty() || f.front() == '.' || f.back() == '.' || f.find("..") != std::string_view::npos)
    return false;
  return std::none_of(f.begin(), f.end(), [](char c) {
    return static_cast<unsigned char>(c) <= ' ' || c == '`' || c == '[' || c == ']' || c == 0x7f;
  });
}

// The number an unquoted value spells, an integer when it is one.
std::optional<literal> number_of(std::string_view text) {
  const char* b = text.data();
  const char* e = b + text.size();
  std::int64_t i = 0;
  if (auto r = std::from_chars(b, e, i); r.ec == std::errc{} && r.ptr == e) return literal{i};
  double d = 0;
  if (auto r = std::from_chars(b, e, d); r.ec == std::errc{} && r.ptr == e) return literal{d};
  return std::nullopt;
}

/// A value as written: its text with escapes resolved, and where its unescaped `*` are.
struct kql_value {
  std::string text;
  bool quoted = false;
  bool wildcard = false;     ///< an unescaped `*` (unquoted only)
  bool escaped_star = false; ///< a `\*` (a literal star)
  std::size_t at = 0;        ///< offset in the query
};

class kql_parser {
public:
  explicit kql_parser(std::string_view text) : s_(text) {}

  expected<query, error> run() {
    skip_space();
    if (pos_ == s_.size()) {
      fail(0, "an empty KQL query matches every event; write the condition it should test");
      return unexpected{err_};
    }
    expr cond;
    if (!parse_or(cond, {}, false)) return unexpected{err_};
    skip_space();
    if (pos_ != s_.size() && !failed_)
      fail(pos_, "unexpected '" + std::string(1, s_[pos_]) + "' after a complete query");
    if (failed_) return unexpected{err_};
    query q;
    event_query eq;
    eq.category = "any";
    eq.condition = std::move(cond);
    q.body = std::move(eq);
    return q;
  }

private:
  location at(std::size_t p) const {
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
  bool fail(std::size_t p, std::string message) {
    if (!failed_) {
      err_ = error{std::move(message), at(p)};
      failed_ = true;
    }
    return false;
  }
  void skip_space() {
    while (pos_ < s_.size() && is_space(s_[pos_]))
      ++pos_;
  }
  // The keyword `kw` at `p` (case-insensitive), followed by a space (or, for `not`, `(`).
  bool keyword_at(std::size_t p, std::string_view kw) const {
    if (p + kw.size() >= s_.size()) return false;
    for (std::size_t i = 0; i < kw.size(); ++i)
      if (lower(s_[p + i]) != kw[i]) return false;
    const char next = s_[p + kw.size()];
    return is_space(next) || (kw == "not" && next == '(');
  }
  // At spaces followed by ` or ` / ` and `: consumes them and the keyword.
  bool binary_keyword(std::string_view kw) {
    std::size_t p = pos_;
    if (p >= s_.size() || !is_space(s_[p])) return false;
    while (p < s_.size() && is_space(s_[p]))
      ++p;
    if (!keyword_at(p, kw)) return false;
    pos_ = p + kw.size();
    skip_space();
    return true;
  }
  bool enter(std::size_t p) {
    if (++depth_ > max_nesting_depth) return fail(p, "query nested too deeply");
    return true;
  }

  // --- values ---------------------------------------------------------------------------------

  bool parse_quoted(kql_value& v) {
    v.quoted = true;
    v.at = pos_;
    ++pos_; // "
    while (pos_ < s_.size() && s_[pos_] != '"') {
      if (s_[pos_] == '\\' && pos_ + 1 < s_.size()) {
        const char e = s_[pos_ + 1];
        v.text.push_back(e == 't' ? '\t' : e == 'n' ? '\n' : e == 'r' ? '\r' : e);
        pos_ += 2;
        continue;
      }
      v.text.push_back(s_[pos_++]);
    }
    if (pos_ == s_.size()) return fail(v.at, "a quoted value is not closed");
    ++pos_; // "
    return true;
  }

  // An unquoted literal: up to a special character or a keyword, trimmed.
  bool parse_unquoted(kql_value& v) {
    v.at = pos_;
    std::size_t trailing = 0; // spaces at the end of `text` (trimmed unless escaped)
    while (pos_ < s_.size()) {
      const char c = s_[pos_];
      if (c == '\\') {
        if (pos_ + 1 == s_.size()) return fail(pos_, "a '\\' at the end of the query");
        const char e = s_[pos_ + 1];
        v.text.push_back(e == 't' ? '\t' : e == 'n' ? '\n' : e == 'r' ? '\r' : e);
        if (e == '*') v.escaped_star = true;
        trailing = 0;
        pos_ += 2;
        continue;
      }
      if (c == '*') {
        v.text.push_back('*');
        v.wildcard = true;
        trailing = 0;
        ++pos_;
        continue;
      }
      if (is_special(c)) break;
      if (is_space(c)) {
        std::size_t p = pos_;
        while (p < s_.size() && is_space(s_[p]))
          ++p;
        if (keyword_at(p, "or") || keyword_at(p, "and") || p == s_.size() || is_special(s_[p]))
          break;
        v.text.append(s_.substr(pos_, p - pos_));
        trailing = p - pos_;
        pos_ = p;
        continue;
      }
      v.text.push_back(c);
      trailing = 0;
      ++pos_;
    }
    v.text.resize(v.text.size() - std::min(trailing, v.text.size()));
    if (v.text.empty()) return fail(v.at, "expected a value");
    return true;
  }

  bool parse_value(kql_value& v) {
    if (pos_ < s_.size() && s_[pos_] == '"') return parse_quoted(v);
    return parse_unquoted(v);
  }

  // --- expressions ------------------------------------------------------------------------------

  expr field_node(const std::string& name, std::size_t p) {
    expr f;
    f.kind = op::field;
    f.where = at(p);
    std::size_t start = 0;
    while (start <= name.size()) {
      auto dot = name.find('.', start);
      f.path.push_back(
          {name.substr(start, dot == std::string::npos ? std::string::npos : dot - start)});
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    return f;
  }
  static expr literal_node(literal v) {
    expr e;
    e.kind = op::literal;
    e.value = std::move(v);
    return e;
  }
  static expr binary(op k, expr a, expr b) {
    expr e;
    e.kind = k;
    e.where = a.where;
    e.children.push_back(std::move(a));
    e.children.push_back(std::move(b));
    return e;
  }
  static expr negate(expr a) {
    expr e;
    e.kind = op::not_;
    e.where = a.where;
    e.children.push_back(std::move(a));
    return e;
  }
  expr exists(const std::string& field, std::size_t p) {
    return binary(op::ne, field_node(field, p), literal_node(std::monostate{}));
  }

  // `field: value` as a comparison; under a `not`, guarded so a missing field makes it false
  // (and the `not` true), as Elasticsearch's must_not does.
  bool leaf(const std::string& field, std::size_t field_at, const kql_value& v, bool negated,
            expr& out) {
    if (!v.quoted && v.text == "*") {
      out = exists(field, field_at);
      return true;
    }
    expr cmp;
    if (!v.quoted && v.wildcard) {
      if (v.escaped_star)
        return fail(v.at, "a wildcard value with an escaped '*' has no EQL pattern");
      cmp = binary(op::like, field_node(field, field_at), literal_node(v.text));
    } else {
      std::vector<literal> alternatives;
      if (!v.quoted) {
        if (auto n = number_of(v.text))
          alternatives.push_back(*n);
        else if (v.text == "true" || v.text == "false")
          alternatives.emplace_back(v.text == "true");
      }
      alternatives.emplace_back(v.text);
      expr list;
      list.kind = op::list;
      for (auto& a : alternatives)
        list.children.push_back(literal_node(std::move(a)));
      // `in` is exact (a `*` in a quoted value is a star, not a wildcard).
      cmp = binary(op::in, field_node(field, field_at), std::move(list));
    }
    out = negated ? binary(op::and_, exists(field, field_at), std::move(cmp)) : std::move(cmp);
    return true;
  }

  // `operand (kw operand)*` as a left-deep chain of `k`; the chain's length is bounded, so the
  // tree's height is.
  template <class Operand>
  bool chain(std::string_view kw, op k, expr& out, Operand&& operand) {
    if (!operand(out)) return false;
    for (std::uint32_t n = 0; binary_keyword(kw); ++n) {
      if (n > max_expression_height / 2) return fail(pos_, "too many terms in one chain");
      expr rhs;
      if (!operand(rhs)) return false;
      out = binary(k, std::move(out), std::move(rhs));
    }
    return true;
  }

  // `<open> inner <close>` at pos_ (a parenthesis or brace), nesting bounded.
  template <class Inner>
  bool group(char close, const char* missing, Inner&& inner) {
    if (!enter(pos_)) return false;
    ++pos_;
    skip_space();
    if (!inner()) return false;
    skip_space();
    if (pos_ >= s_.size() || s_[pos_] != close) return fail(pos_, missing);
    ++pos_;
    --depth_;
    return true;
  }
  // `not operand` when the keyword is at pos_ (the operand parsed with the negation flipped),
  // else the operand.
  template <class Operand>
  bool negation(bool negated, expr& out, Operand&& operand) {
    if (!keyword_at(pos_, "not")) return operand(negated, out);
    if (!enter(pos_)) return false;
    pos_ += 3;
    skip_space();
    expr inner;
    if (!operand(!negated, inner)) return false;
    out = negate(std::move(inner));
    --depth_;
    return true;
  }

  // ListOfValues after `field:`: `( OrListOfValues )` or one value.
  bool parse_values(const std::string& field, std::size_t field_at, bool negated, expr& out) {
    if (pos_ < s_.size() && s_[pos_] == '(')
      return group(')', "expected ')' after the values",
                   [&] { return parse_value_or(field, field_at, negated, out); });
    kql_value v;
    if (!parse_value(v)) return false;
    return leaf(field, field_at, v, negated, out);
  }
  bool parse_value_or(const std::string& field, std::size_t field_at, bool negated, expr& out) {
    return chain("or", op::or_, out,
                 [&](expr& e) { return parse_value_and(field, field_at, negated, e); });
  }
  bool parse_value_and(const std::string& field, std::size_t field_at, bool negated, expr& out) {
    return chain("and", op::and_, out,
                 [&](expr& e) { return parse_value_not(field, field_at, negated, e); });
  }
  bool parse_value_not(const std::string& field, std::size_t field_at, bool negated, expr& out) {
    return negation(negated, out,
                    [&](bool neg, expr& e) { return parse_values(field, field_at, neg, e); });
  }

  bool parse_or(expr& out, const std::string& prefix, bool negated) {
    return chain("or", op::or_, out, [&](expr& e) { return parse_and(e, prefix, negated); });
  }
  bool parse_and(expr& out, const std::string& prefix, bool negated) {
    return chain("and", op::and_, out, [&](expr& e) { return parse_not(e, prefix, negated); });
  }
  bool parse_not(expr& out, const std::string& prefix, bool negated) {
    return negation(negated, out, [&](bool neg, expr& e) { return parse_sub(e, prefix, neg); });
  }
  // SubQuery: `( OrQuery )`, or a field expression (nested, range or value).
  bool parse_sub(expr& out, const std::string& prefix, bool negated) {
    if (pos_ < s_.size() && s_[pos_] == '(')
      return group(')', "expected ')'", [&] { return parse_or(out, prefix, negated); });
    const std::size_t field_at = pos_;
    kql_value name;
    if (!parse_value(name)) return false;
    skip_space();
    if (pos_ < s_.size() && (s_[pos_] == '<' || s_[pos_] == '>')) return range(name, prefix, out);
    if (pos_ >= s_.size() || s_[pos_] != ':')
      return fail(name.at, "'" + name.text +
                               "' has no field: a value alone searches every field, which "
                               "chainwatch does not; write field:value");
    if (name.wildcard) return fail(name.at, "wildcard field names are not supported");
    if (!valid_field(name.text)) return fail(name.at, "'" + name.text + "' is not a field name");
    const std::string field = prefix.empty() ? name.text : prefix + "." + name.text;
    ++pos_; // :
    skip_space();
    if (pos_ < s_.size() && s_[pos_] == '{') // nested: field:{ sub: value ... }
      return group('}', "expected '}'", [&] { return parse_or(out, field, negated); });
    if (pos_ == s_.size()) return fail(pos_, "expected a value after ':'");
    return parse_values(field, field_at, negated, out);
  }
  bool range(const kql_value& name, const std::string& prefix, expr& out) {
    op k = s_[pos_] == '<' ? op::lt : op::gt;
    ++pos_;
    if (pos_ < s_.size() && s_[pos_] == '=') {
      k = k == op::lt ? op::le : op::ge;
      ++pos_;
    }
    skip_space();
    kql_value v;
    if (!parse_value(v)) return false;
    if (name.wildcard) return fail(name.at, "wildcard field names are not supported");
    if (!valid_field(name.text)) return fail(name.at, "'" + name.text + "' is not a field name");
    literal bound = v.text;
    if (auto n = v.quoted ? std::nullopt : number_of(v.text)) bound = *n;
    const std::string field = prefix.empty() ? name.text : prefix + "." + name.text;
    out = binary(k, field_node(field, name.at), literal_node(std::move(bound)));
    return true;
  }

  std::string_view s_;
  std::size_t pos_ = 0;
  std::uint32_t depth_ = 0;
  error err_;
  bool failed_ = false;
};

} // namespace

expected<query, error> parse_kql(std::string_view text) {
  return kql_parser(text).run();
}

expected<query, error> parse_in(std::string_view language, std::string_view text) {
  if (language.empty() || language == "eql") return parse(text);
  if (language == "kuery") return parse_kql(text);
  return unexpected{error{"language \"" + std::string(language) + "\" is not supported", {}}};
}

} // namespace chainwatch::eql
