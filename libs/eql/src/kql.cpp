// KQL to the EQL syntax tree. The grammar follows Kibana's kuery grammar (kuery.peg): OrQuery,
// AndQuery, NotQuery, SubQuery, NestedQuery, field:value, field:(value list), field <op> value.
// Whitespace matters only around the keywords `or`, `and`, `not` (case-insensitive), which
// need a space on each side; an unquoted value runs to a special character (\():<>"*{} except
// `*`, its wildcard) or to a keyword, and is trimmed.

#include "query_text.hpp"

#include <algorithm>
#include <chainwatch/eql/kql.hpp>
#include <chainwatch/eql/lucene.hpp>
#include <string>

namespace chainwatch::eql {

namespace {

using detail::is_space;

bool is_special(char c) {
  return c == '\\' || c == '(' || c == ')' || c == ':' || c == '<' || c == '>' || c == '"' ||
         c == '{' || c == '}';
}
char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}
char unescape(char e) {
  return e == 't' ? '\t' : e == 'n' ? '\n' : e == 'r' ? '\r' : e;
}

/// A value as written: its text with escapes resolved and its unescaped `*` marked.
struct kql_value {
  detail::term_text t;
  bool quoted = false;
  std::size_t at = 0; ///< offset in the query
};

class kql_parser : detail::query_cursor {
public:
  explicit kql_parser(std::string_view text) : query_cursor(text) {}

  expected<query, error> run() {
    if (!valid_utf8()) return unexpected{err_};
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
    return detail::any_where(std::move(cond));
  }

private:
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
  // --- values ---------------------------------------------------------------------------------

  bool parse_quoted(kql_value& v) {
    v.quoted = true;
    v.at = pos_;
    ++pos_; // "
    while (pos_ < s_.size() && s_[pos_] != '"') {
      if (s_[pos_] == '\\' && pos_ + 1 < s_.size()) {
        v.t.push(unescape(s_[pos_ + 1]), false);
        pos_ += 2;
        continue;
      }
      v.t.push(s_[pos_++], false);
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
        v.t.push(unescape(s_[pos_ + 1]), false);
        trailing = 0;
        pos_ += 2;
        continue;
      }
      if (c == '*') {
        v.t.push('*', true);
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
        for (std::size_t i = pos_; i < p; ++i)
          v.t.push(s_[i], false);
        trailing = p - pos_;
        pos_ = p;
        continue;
      }
      v.t.push(c, false);
      trailing = 0;
      ++pos_;
    }
    v.t.text.resize(v.t.text.size() - std::min(trailing, v.t.text.size()));
    v.t.wild.resize(v.t.text.size());
    if (v.t.text.empty()) return fail(v.at, "expected a value");
    return true;
  }

  bool parse_value(kql_value& v) {
    if (pos_ < s_.size() && s_[pos_] == '"') return parse_quoted(v);
    return parse_unquoted(v);
  }

  // --- expressions ------------------------------------------------------------------------------

  // `operand (kw operand)*` as a left-deep chain of `k`; the chain's length is bounded, so the
  // tree's height is.
  template <class Operand>
  bool chain(std::string_view kw, op k, expr& out, Operand&& operand) {
    if (!operand(out)) return false;
    for (std::uint32_t n = 0; binary_keyword(kw); ++n) {
      if (n > max_expression_height / 2) return fail(pos_, "too many terms in one chain");
      expr rhs;
      if (!operand(rhs)) return false;
      out = detail::binary(k, std::move(out), std::move(rhs));
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
    leave();
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
    out = detail::negate(std::move(inner));
    leave();
    return true;
  }

  // ListOfValues after `field:`: `( OrListOfValues )` or one value.
  bool parse_values(const std::string& field, std::size_t field_at, bool negated, expr& out) {
    if (pos_ < s_.size() && s_[pos_] == '(')
      return group(')', "expected ')' after the values",
                   [&] { return parse_value_or(field, field_at, negated, out); });
    kql_value v;
    if (!parse_value(v)) return false;
    out = detail::term_match(field, at(field_at), v.t, !v.quoted, negated);
    return true;
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
    if (peek('<') || peek('>')) return range(name, prefix, negated, out);
    if (pos_ >= s_.size() || s_[pos_] != ':')
      return fail(name.at, "'" + name.t.text +
                               "' has no field: a value alone searches every field, which "
                               "chainwatch does not; write field:value");
    if (auto under = object_prefix(name.t)) { // `file.hash.*: *`: a field under file.hash
      const std::string field = prefix.empty() ? *under : prefix + "." + *under;
      ++pos_; // :
      skip_space();
      kql_value v;
      const std::size_t value_at = pos_;
      if (!parse_value(v)) return false;
      if (v.quoted || !v.t.is_any())
        return fail(value_at, "a wildcard field name takes only the value * (some field exists)");
      out = detail::exists(field, at(name.at)); // the object exists when a field under it does
      return true;
    }
    if (!field_name(name)) return false;
    const std::string field = prefix.empty() ? name.t.text : prefix + "." + name.t.text;
    ++pos_; // :
    skip_space();
    if (pos_ < s_.size() && s_[pos_] == '{') // nested: field:{ sub: value ... }
      return group('}', "expected '}'", [&] { return parse_or(out, field, negated); });
    if (pos_ == s_.size()) return fail(pos_, "expected a value after ':'");
    return parse_values(field, field_at, negated, out);
  }
  /// `a.b.*` (one trailing unescaped `*` after a dot): the object `a.b`.
  static std::optional<std::string> object_prefix(const detail::term_text& t) {
    const std::size_t n = t.text.size();
    if (n < 3 || t.text[n - 1] != '*' || !t.wild[n - 1] || t.text[n - 2] != '.')
      return std::nullopt;
    for (std::size_t i = 0; i + 1 < n; ++i)
      if (t.wild[i]) return std::nullopt;
    std::string prefix = t.text.substr(0, n - 2);
    if (!detail::valid_field(prefix)) return std::nullopt;
    return prefix;
  }
  bool field_name(const kql_value& name) {
    if (name.t.has_wildcard()) return fail(name.at, "wildcard field names are not supported");
    if (!detail::valid_field(name.t.text))
      return fail(name.at, "'" + name.t.text + "' is not a field name");
    return true;
  }
  bool range(const kql_value& name, const std::string& prefix, bool negated, expr& out) {
    op k = peek('<') ? op::lt : op::gt;
    ++pos_;
    if (peek('=')) {
      k = k == op::lt ? op::le : op::ge;
      ++pos_;
    }
    skip_space();
    kql_value v;
    if (!parse_value(v)) return false;
    if (!field_name(name)) return false;
    const std::string field = prefix.empty() ? name.t.text : prefix + "." + name.t.text;
    out = detail::compare(field, at(name.at), k, v.t.text, !v.quoted, negated);
    return true;
  }
};
} // namespace

expected<query, error> parse_kql(std::string_view text) {
  return kql_parser(text).run();
}

expected<query, error> parse_in(std::string_view language, std::string_view text) {
  if (language.empty() || language == "eql") return parse(text);
  if (language == "kuery") return parse_kql(text);
  if (language == "lucene") return parse_lucene(text);
  return unexpected{error{"language \"" + std::string(language) + "\" is not supported", {}}};
}

} // namespace chainwatch::eql
