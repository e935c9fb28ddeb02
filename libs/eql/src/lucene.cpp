// Lucene's query-string syntax (the classic query parser that Elasticsearch's query_string
// extends) to the EQL syntax tree. A query is a list of clauses, each with an occurrence
// (required, optional, forbidden) set by its modifier (`+`, `-`, `!`, `NOT`) and conjunction
// (`AND`, `&&`, `OR`, `||`) as Lucene's `addClause` sets them, with the default operator OR. A
// clause is `field:term`, `field:(group)`, `(group)` or `_exists_:field`. Terms are runs of
// term characters, with `\` escaping one; a term ends at white space or one of ()[]{}:^~"/!.

#include "query_text.hpp"

#include <chainwatch/eql/lucene.hpp>
#include <optional>
#include <re2/re2.h>
#include <string>
#include <vector>

namespace chainwatch::eql {

namespace {

using detail::is_space;
using detail::term_text;

// Ends a term (unless escaped).
bool is_stop(char c) {
  switch (c) {
  case '(':
  case ')':
  case '[':
  case ']':
  case '{':
  case '}':
  case ':':
  case '^':
  case '~':
  case '"':
  case '/':
  case '!':
    return true;
  default:
    return is_space(c);
  }
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void append_utf8(std::string& out, unsigned cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// A byte of a regular expression taken literally, for RE2.
void regex_char(std::string& out, char c) {
  const auto u = static_cast<unsigned char>(c);
  if (c == '\0') {
    out += "\\x00";
    return;
  }
  // `,` stays plain: it is literal to RE2 anywhere but in `{n,m}`, where Lucene means it too.
  if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ',' ||
        u >= 0x80))
    out.push_back('\\');
  out.push_back(c);
}

enum class occur : std::uint8_t { should, must, must_not };

class lucene_parser : detail::query_cursor {
public:
  explicit lucene_parser(std::string_view text) : query_cursor(text) {}

  expected<query, error> run() {
    if (!valid_utf8()) return unexpected{err_};
    skip_space();
    if (at_end()) {
      fail(0, "an empty Lucene query matches every event; write the condition it should test");
      return unexpected{err_};
    }
    expr cond;
    if (!parse_query(nullptr, false, cond)) return unexpected{err_};
    if (!at_end()) fail(pos_, "unexpected ')' after a complete query");
    if (failed_) return unexpected{err_};
    return detail::any_where(std::move(cond));
  }

private:
  // A term character follows (so `AND` in `ANDroid` is not the keyword).
  bool term_char_at(std::size_t p) const { return p < s_.size() && !is_stop(s_[p]); }
  bool keyword_at(std::size_t p, std::string_view kw) const {
    return s_.substr(p, kw.size()) == kw && !term_char_at(p + kw.size());
  }
  bool take(std::string_view kw) {
    if (!keyword_at(pos_, kw)) return false;
    pos_ += kw.size();
    return true;
  }
  bool clause_follows(std::string_view after) {
    skip_space();
    if (at_end() || peek(')'))
      return fail(pos_, "expected a clause after '" + std::string(after) + "'");
    return true;
  }

  // --- clauses ------------------------------------------------------------------------------

  // Clauses up to `)` or the end, combined as a Lucene boolean query. `field` is the field of an
  // enclosing `field:(...)`, or null. `negated`: under an odd number of negations.
  bool parse_query(const std::string* field, bool negated, expr& out) {
    std::vector<std::pair<occur, expr>> clauses;
    while (true) {
      skip_space();
      if (at_end() || peek(')')) break;
      const std::size_t clause_at = pos_;
      int conj = 0; // 1 AND, 2 OR
      if (take("AND") || take("&&"))
        conj = 1;
      else if (take("OR") || take("||"))
        conj = 2;
      const std::string_view conj_text = s_.substr(clause_at, pos_ - clause_at);
      if (conj != 0) {
        if (clauses.empty())
          return fail(clause_at, "'" + std::string(conj_text) + "' has no clause before it");
        if (!clause_follows(conj_text)) return false;
      }
      const std::size_t mod_at = pos_;
      int mod = 0; // 1 required, 2 forbidden
      if (peek('+') || peek('-') || peek('!')) {
        mod = s_[pos_] == '+' ? 1 : 2;
        ++pos_;
      } else if (take("NOT")) {
        mod = 2;
      }
      if (mod != 0 && !clause_follows(s_.substr(mod_at, pos_ - mod_at))) return false;
      if (clauses.size() >= max_expression_height / 2)
        return fail(clause_at, "too many clauses in one group");
      expr e;
      if (!parse_clause(field, negated != (mod == 2), e)) return false;
      // Lucene's addClause: `AND` makes the clause before it required unless it is forbidden.
      if (conj == 1 && clauses.back().first == occur::should) clauses.back().first = occur::must;
      const occur o = mod == 2                  ? occur::must_not
                      : (mod == 1 || conj == 1) ? occur::must
                                                : occur::should;
      clauses.emplace_back(o, std::move(e));
    }
    if (clauses.empty()) return fail(pos_, "expected a clause");
    std::optional<expr> must, should, forbidden;
    for (auto& [o, e] : clauses) {
      auto& acc = o == occur::must ? must : o == occur::should ? should : forbidden;
      const op k = o == occur::must ? op::and_ : op::or_;
      acc = acc ? detail::binary(k, std::move(*acc), std::move(e)) : std::move(e);
    }
    // Optional clauses beside a required one only change scores.
    std::optional<expr> wanted = must ? std::move(must) : std::move(should);
    if (forbidden) {
      expr none = detail::negate(std::move(*forbidden));
      out =
          wanted ? detail::binary(op::and_, std::move(*wanted), std::move(none)) : std::move(none);
    } else {
      out = std::move(*wanted);
    }
    return true;
  }

  // `( clauses )` at pos_, nesting bounded.
  bool group(const std::string* field, bool negated, expr& out) {
    const std::size_t open = pos_;
    if (!enter(open)) return false;
    ++pos_;
    skip_space();
    if (peek(')')) return fail(open, "empty parentheses");
    if (!parse_query(field, negated, out)) return false;
    if (!peek(')'))
      return fail(pos_,
                  "expected ')' to close the '(' at column " + std::to_string(at(open).column));
    ++pos_;
    leave();
    return suffix(false);
  }

  bool parse_clause(const std::string* field, bool negated, expr& out) {
    if (peek('(')) return group(field, negated, out);
    if (field != nullptr &&
        (peek('"') || peek('[') || peek('{') || peek('/') || peek('>') || peek('<')))
      return parse_value(*field, pos_, negated, out);
    const std::size_t term_at = pos_;
    term_text t;
    if (!read_term(t, false)) return false;
    std::size_t p = pos_;
    while (p < s_.size() && is_space(s_[p]))
      ++p;
    if (p < s_.size() && s_[p] == ':') {
      if (!field_name(t, term_at)) return false;
      pos_ = p + 1;
      skip_space();
      if (at_end()) return fail(pos_, "expected a value after ':'");
      if (t.text == "_exists_") {
        const std::size_t name_at = pos_;
        term_text name;
        if (!read_term(name, false) || !field_name(name, name_at)) return false;
        out = detail::exists(name.text, at(name_at));
        return suffix(false);
      }
      if (peek('(')) return group(&t.text, negated, out);
      return parse_value(t.text, term_at, negated, out);
    }
    if (field != nullptr) return term_value(*field, term_at, t, negated, out);
    if (t.text == "and" || t.text == "or" || t.text == "not")
      return fail(term_at, "'" + t.text +
                               "' is a search term in Lucene; its operators are upper case (" +
                               (t.text == "and"  ? "AND"
                                : t.text == "or" ? "OR"
                                                 : "NOT") +
                               ")");
    return fail(term_at, "'" + t.text +
                             "' has no field: a value alone searches every field, which "
                             "chainwatch does not; write field:value");
  }

  bool field_name(const term_text& t, std::size_t p) {
    // `book.\*` is Elasticsearch's way to write a field-name wildcard, escaped or not.
    if (t.has_wildcard() || t.text.find('*') != std::string::npos)
      return fail(p, "wildcard field names are not supported");
    if (!detail::valid_field(t.text)) return fail(p, "'" + t.text + "' is not a field name");
    return true;
  }

  // --- values -------------------------------------------------------------------------------

  // `\x` at pos_: the character, or the code point of `\uXXXX`. Appends to `t` as literal.
  bool escape(term_text& t) {
    if (pos_ + 1 >= s_.size()) return fail(pos_, "a '\\' at the end of the query");
    const char e = s_[pos_ + 1];
    if (e == 'u' && pos_ + 6 <= s_.size()) {
      unsigned cp = 0;
      bool hex = true;
      for (std::size_t i = pos_ + 2; i < pos_ + 6; ++i) {
        const int d = hex_digit(s_[i]);
        hex = hex && d >= 0;
        cp = cp * 16 + static_cast<unsigned>(d < 0 ? 0 : d);
      }
      if (hex) {
        std::string bytes;
        append_utf8(bytes, cp);
        for (char b : bytes)
          t.push(b, false);
        pos_ += 6;
        return true;
      }
    }
    t.push(e, false);
    pos_ += 2;
    return true;
  }

  // A term: term characters and escapes; `*` and `?` are wildcards. A leading `+` or `-` is an
  // operator, except in a bound (`field:>-5`).
  bool read_term(term_text& t, bool signed_bound) {
    const std::size_t start = pos_;
    if (!signed_bound && (peek('+') || peek('-')))
      return fail(pos_, "expected a term; a leading '" + std::string(1, s_[pos_]) +
                            "' is an operator here (escape it: \\" + s_[pos_] + ")");
    while (!at_end()) {
      const char c = s_[pos_];
      if (c == '\\') {
        if (!escape(t)) return false;
        continue;
      }
      if (is_stop(c)) break;
      t.push(c, c == '*' || c == '?');
      ++pos_;
    }
    if (pos_ == start) {
      if (at_end()) return fail(pos_, "expected a term");
      return fail(pos_, "unexpected '" + std::string(1, s_[pos_]) + "'");
    }
    return true;
  }

  // `"..."`: every character literal, `\` escaping one.
  bool read_quoted(term_text& t) {
    const std::size_t open = pos_;
    ++pos_;
    while (!at_end() && !peek('"')) {
      if (peek('\\')) {
        if (!escape(t)) return false;
        continue;
      }
      t.push(s_[pos_++], false);
    }
    if (at_end()) return fail(open, "a quoted value is not closed");
    ++pos_;
    return true;
  }

  // After a term, phrase or group: `~` (fuzzy or proximity) is refused; a boost `^N` changes
  // only scores and is skipped.
  bool suffix(bool may_be_fuzzy) {
    if (peek('~'))
      return fail(pos_, may_be_fuzzy ? "fuzzy and proximity search ('~') are not supported"
                                     : "unexpected '~'");
    if (!peek('^')) return true;
    const std::size_t caret = pos_++;
    const std::size_t digits = pos_;
    while (!at_end() && ((s_[pos_] >= '0' && s_[pos_] <= '9') || s_[pos_] == '.'))
      ++pos_;
    if (pos_ == digits) return fail(caret, "expected a number after '^' (a boost)");
    return true;
  }

  bool parse_value(const std::string& field, std::size_t field_at, bool negated, expr& out) {
    if (peek('"')) {
      term_text t;
      if (!read_quoted(t)) return false;
      out = detail::term_match(field, at(field_at), t, false, negated);
      return suffix(true);
    }
    if (peek('[') || peek('{')) return range(field, field_at, negated, out);
    if (peek('/')) return regex(field, field_at, negated, out);
    if (peek('>') || peek('<')) return comparison(field, field_at, negated, out);
    const std::size_t value_at = pos_;
    term_text t;
    if (!read_term(t, false)) return false;
    return term_value(field, value_at, t, negated, out);
  }

  bool term_value(const std::string& field, std::size_t p, const term_text& t, bool negated,
                  expr& out) {
    out = detail::term_match(field, at(p), t, true, negated);
    return suffix(true);
  }

  // `>10`, `>=10`, `<10`, `<=10` (a term or a quoted value).
  bool comparison(const std::string& field, std::size_t field_at, bool negated, expr& out) {
    op k = peek('<') ? op::lt : op::gt;
    ++pos_;
    if (peek('=')) {
      k = k == op::lt ? op::le : op::ge;
      ++pos_;
    }
    const std::size_t bound_at = pos_;
    term_text t;
    const bool quoted = peek('"');
    if (!(quoted ? read_quoted(t) : read_term(t, true))) return false;
    if (t.has_wildcard()) return fail(bound_at, "a range bound can not be a wildcard");
    if (!date_math_free(t.text, quoted, bound_at)) return false;
    out = detail::compare(field, at(field_at), k, t.text, !quoted, negated);
    return suffix(false);
  }

  bool date_math_free(const std::string& bound, bool quoted, std::size_t p) {
    if (!quoted && bound.starts_with("now"))
      return fail(p, "date math ('" + bound + "') is not supported in a range");
    return true;
  }

  // One end of `[a TO b]`: quoted, or characters up to a space, `]` or `}`; `*` is open.
  bool bound(std::optional<std::string>& out, bool& quoted) {
    const std::size_t p = pos_;
    term_text t;
    quoted = peek('"');
    if (quoted) {
      if (!read_quoted(t)) return false;
    } else {
      while (!at_end() && !is_space(s_[pos_]) && !peek(']') && !peek('}')) {
        if (peek('\\')) {
          if (!escape(t)) return false;
          continue;
        }
        t.push(s_[pos_], s_[pos_] == '*');
        ++pos_;
      }
      if (pos_ == p) return fail(p, "expected a range bound");
      if (t.is_any()) return true;
      if (!date_math_free(t.text, false, p)) return false;
    }
    out = std::move(t.text);
    return true;
  }

  bool range(const std::string& field, std::size_t field_at, bool negated, expr& out) {
    const std::size_t open = pos_;
    const bool low_inclusive = peek('[');
    ++pos_;
    skip_space();
    std::optional<std::string> low, high;
    bool low_quoted = false, high_quoted = false;
    if (!bound(low, low_quoted)) return false;
    skip_space();
    if (!take("TO")) return fail(pos_, "expected 'TO' in the range");
    skip_space();
    if (!bound(high, high_quoted)) return false;
    skip_space();
    if (!peek(']') && !peek('}'))
      return fail(pos_, "expected ']' or '}' to close the range opened at column " +
                            std::to_string(at(open).column));
    const bool high_inclusive = peek(']');
    ++pos_;
    const location where = at(field_at);
    std::optional<expr> cmp;
    if (low)
      cmp =
          detail::compare(field, where, low_inclusive ? op::ge : op::gt, *low, !low_quoted, false);
    if (high) {
      expr h = detail::compare(field, where, high_inclusive ? op::le : op::lt, *high, !high_quoted,
                               false);
      cmp = cmp ? detail::binary(op::and_, std::move(*cmp), std::move(h)) : std::move(h);
    }
    out = cmp ? detail::guarded(field, where, std::move(*cmp), negated)
              : detail::exists(field, where);
    return suffix(false);
  }

  // `/pattern/`: Lucene's regular expression, whole value, as an RE2 pattern.
  bool regex(const std::string& field, std::size_t field_at, bool negated, expr& out) {
    const std::size_t open = pos_++;
    std::string re = "(?s)"; // Lucene's `.` matches any character, a newline too
    bool in_class = false;
    while (!at_end() && (in_class || !peek('/'))) {
      const std::size_t p = pos_;
      const char c = s_[pos_++];
      if (c == '\\') {
        if (at_end()) return fail(p, "a '\\' at the end of the query");
        const char e = s_[pos_++];
        if (e == 'd' || e == 'D' || e == 's' || e == 'S' || e == 'w' || e == 'W') {
          re.push_back('\\');
          re.push_back(e);
        } else {
          regex_char(re, e);
        }
        continue;
      }
      if (in_class) {
        if (c == ']') in_class = false;
        if (c == ']' || c == '-')
          re.push_back(c);
        else
          regex_char(re, c);
        continue;
      }
      switch (c) {
      case '[':
        in_class = true;
        re.push_back('[');
        if (peek('^')) re.push_back(s_[pos_++]);
        break;
      case '(':
        if (peek('?')) return fail(p, "'(?' is not Lucene regular-expression syntax");
        re.push_back(c);
        break;
      case '.':
      case '?':
      case '+':
      case '*':
      case '|':
      case ')':
      case '{':
      case '}':
        re.push_back(c);
        break;
      case '"': {
        const std::size_t quote = p;
        while (!at_end() && !peek('"'))
          regex_char(re, s_[pos_++]);
        if (at_end()) return fail(quote, "a quoted string in the regular expression is not closed");
        ++pos_;
        break;
      }
      case '#':
      case '@':
      case '&':
      case '<':
      case '>':
      case '~':
        return fail(p, std::string("'") + c +
                           "' is an optional Lucene regular-expression operator, not supported; "
                           "escape it to match the character");
      default:
        regex_char(re, c); // `^` and `$` included: Lucene has no anchors
      }
    }
    if (at_end()) return fail(open, "a regular expression is not closed");
    ++pos_;
    RE2::Options o;
    o.set_log_errors(false);
    RE2 check(re, o);
    if (!check.ok()) return fail(open, "invalid regular expression: " + check.error());
    const location where = at(field_at);
    out = detail::guarded(field, where,
                          detail::binary(op::regex, detail::field_node(field, where),
                                         detail::literal_node(std::move(re))),
                          negated);
    return suffix(false);
  }
};

} // namespace

expected<query, error> parse_lucene(std::string_view text) {
  return lucene_parser(text).run();
}

} // namespace chainwatch::eql
