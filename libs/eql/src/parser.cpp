// Recursive-descent parser for Endgame and Elastic EQL.

#include "lexer.hpp"

#include <algorithm>
#include <chainwatch/eql/ast.hpp>
#include <limits>

namespace chainwatch::eql {

namespace {

using detail::tok;
using detail::token;

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    char y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// Words that cannot start a field or a category.
bool is_reserved(std::string_view word) {
  static constexpr std::string_view words[] = {"and",   "or",    "not", "in",   "like",
                                               "regex", "where", "by",  "with", "until",
                                               "true",  "false", "null"};
  return std::any_of(std::begin(words), std::end(words),
                     [&](std::string_view w) { return iequals(word, w); });
}

std::string format_location(location l) {
  return std::to_string(l.line) + ":" + std::to_string(l.column);
}

// A parsed expression with the height of its tree, so deep trees are refused
// before anything recurses over them.
struct node {
  expr e;
  std::uint32_t height = 1;
};

class parser {
public:
  explicit parser(std::vector<token> tokens) : tokens_(std::move(tokens)) {}

  expected<query, error> parse_query() {
    query q;
    if (!parse_body(q) || !parse_pipes(q)) return unexpected{std::move(error_)};
    if (peek().kind != tok::end) {
      fail(peek().where, "expected '|' or end of query, found " + detail::describe(peek()));
      return unexpected{std::move(error_)};
    }
    return q;
  }

  expected<expr, error> parse_standalone_expression() {
    node n;
    if (!parse_or(n)) return unexpected{std::move(error_)};
    if (peek().kind != tok::end) {
      fail(peek().where,
           "expected an operator or end of expression, found " + detail::describe(peek()));
      return unexpected{std::move(error_)};
    }
    return std::move(n.e);
  }

private:
  // -- token helpers ------------------------------------------------------

  const token& peek(std::size_t k = 0) const {
    return tokens_[std::min(pos_ + k, tokens_.size() - 1)];
  }

  const token& next() {
    const token& t = tokens_[pos_];
    if (pos_ + 1 < tokens_.size()) ++pos_;
    return t;
  }

  bool is_kw(const token& t, std::string_view kw) const {
    return t.kind == tok::ident && iequals(t.text, kw);
  }

  bool accept_kw(std::string_view kw) {
    if (!is_kw(peek(), kw)) return false;
    next();
    return true;
  }

  bool accept(tok k) {
    if (peek().kind != k) return false;
    next();
    return true;
  }

  // True when token `k` ahead starts right where the previous one ends (`in~`, `name~(`).
  bool adjacent(std::size_t k) const {
    const token& a = peek(k - 1);
    const token& b = peek(k);
    return a.where.offset + a.text.size() == b.where.offset;
  }

  // True when the current token starts right where the previous one ends (`5m`, `a[0]`).
  bool touches_previous() const {
    if (pos_ == 0) return false;
    const token& a = tokens_[pos_ - 1];
    return a.where.offset + a.text.size() == peek().where.offset;
  }

  bool fail(location where, std::string message, location related = {0, 0, 0}) {
    if (!failed_) {
      error_ = error{std::move(message), where, related};
      failed_ = true;
    }
    return false;
  }

  bool expected_here(std::string_view what) {
    return fail(peek().where,
                "expected " + std::string(what) + ", found " + detail::describe(peek()));
  }

  // Every bracket context (parentheses, call arguments, list items, lineage subqueries) parses
  // through `parse_or`, so this bounds the recursion. `to_string` never prints more brackets
  // than the input had, so anything accepted here parses again after printing.
  bool enter(location where) {
    if (++depth_ > max_nesting_depth)
      return fail(where, "expression nested too deeply (limit " +
                             std::to_string(max_nesting_depth) + " levels of brackets)");
    return true;
  }

  bool check_height_at(location where, std::size_t height) {
    if (height <= max_expression_height) return true;
    return fail(where, "expression too deep (limit " + std::to_string(max_expression_height) +
                           " levels of operators)");
  }

  bool check_height(const node& n) { return check_height_at(n.e.where, n.height); }

  static node make(op kind, location where, node a) {
    node r;
    r.e.kind = kind;
    r.e.where = where;
    r.height = a.height + 1;
    r.e.children.push_back(std::move(a.e));
    return r;
  }

  static node make(op kind, location where, node a, node b) {
    node r;
    r.e.kind = kind;
    r.e.where = where;
    r.height = std::max(a.height, b.height) + 1;
    r.e.children.reserve(2);
    r.e.children.push_back(std::move(a.e));
    r.e.children.push_back(std::move(b.e));
    return r;
  }

  // -- query structure ----------------------------------------------------

  bool parse_body(query& q) {
    const token& t = peek();
    if (is_kw(t, "sequence") && !is_field_continuation(1)) {
      next();
      sequence_query s;
      if (!parse_sequence(s)) return false;
      q.body = std::move(s);
      return true;
    }
    if (is_kw(t, "join") && !is_field_continuation(1)) {
      next();
      join_query j;
      if (!parse_join(j)) return false;
      q.body = std::move(j);
      return true;
    }
    if (is_kw(t, "sample") && (is_kw(peek(1), "by") || peek(1).kind == tok::lbracket))
      return fail(t.where, "sample queries are not supported: a sample has no order and no time "
                           "bound, so in an endless stream its partial samples are never decided "
                           "or freed (write a sequence with maxspan)");
    event_query e;
    if (!parse_event_query(e, false)) return false;
    q.body = std::move(e);
    return true;
  }

  // `sequence where ...` is an event query over a category named "sequence".
  bool is_field_continuation(std::size_t k) const {
    tok kind = peek(k).kind;
    return kind == tok::dot || kind == tok::lparen || is_kw(peek(k), "where");
  }

  bool parse_event_query(event_query& out, bool in_brackets, std::uint32_t* height = nullptr) {
    const token& t = peek();
    out.where = t.where;
    if (t.kind == tok::string || t.kind == tok::quoted_ident) {
      if (t.str.empty()) return fail(t.where, "event category must not be empty");
      out.category = t.str;
    } else if (t.kind == tok::ident && !is_reserved(t.text)) {
      out.category = std::string(t.text);
      if (iequals(out.category, "any")) out.category = "any";
    } else {
      return expected_here(in_brackets ? "an event category (or 'any') after '['"
                                       : "an event category (or 'any'), 'sequence' or 'join'");
    }
    next();
    if (!accept_kw("where")) return expected_here("'where' after the event category");
    node cond;
    if (!parse_or(cond)) return false;
    if (height) *height = cond.height;
    out.condition = std::move(cond.e);
    return true;
  }

  bool parse_sequence(sequence_query& s) {
    bool have_by = false;
    bool have_maxspan = false;
    for (;;) {
      if (is_kw(peek(), "by")) {
        if (have_by) return fail(peek().where, "duplicate 'by' in sequence header");
        next();
        have_by = true;
        if (!parse_expr_list(s.by, "a join key after 'by'")) return false;
      } else if (is_kw(peek(), "with")) {
        if (have_maxspan) return fail(peek().where, "duplicate 'with maxspan' in sequence header");
        next();
        have_maxspan = true;
        if (!is_kw(peek(), "maxspan")) return expected_here("'maxspan' after 'with'");
        next();
        if (!accept(tok::assign) && !accept(tok::eq)) return expected_here("'=' after 'maxspan'");
        std::int64_t ns = 0;
        if (!parse_duration(ns)) return false;
        s.maxspan_ns = ns;
      } else {
        break;
      }
    }
    return parse_steps(s.steps, s.until, "sequence", true);
  }

  bool parse_join(join_query& j) {
    if (accept_kw("by") && !parse_expr_list(j.by, "a join key after 'by'")) return false;
    return parse_steps(j.steps, j.until, "join", false);
  }

  bool parse_steps(std::vector<step>& steps, std::optional<step>& until, std::string_view what,
                   bool allow_missing) {
    location start = peek().where;
    while (peek().kind == tok::lbracket || peek().kind == tok::bang) {
      if (peek().kind == tok::bang && !allow_missing)
        return fail(peek().where, "missing-event steps '![...]' are only allowed in a sequence");
      step st;
      if (!parse_step(st, true)) return false;
      steps.push_back(std::move(st));
    }
    // A sequence needs two events: two steps, or one step repeated (`[...] with runs=N`, as
    // Elastic writes threshold-like brute force); a join needs two steps.
    std::size_t events = 0;
    for (const auto& st : steps)
      events += allow_missing && !st.missing ? st.runs : 1;
    if (events < 2) {
      if (steps.empty())
        return fail(start, "expected '[' to start the first step of the " + std::string(what) +
                               ", found " + detail::describe(peek()));
      return fail(peek().where, "a " + std::string(what) + " needs at least two steps" +
                                    (allow_missing ? " (or one step 'with runs=N', N >= 2)" : "") +
                                    "; expected '[', found " + detail::describe(peek()));
    }
    if (is_kw(peek(), "until")) {
      next();
      if (peek().kind != tok::lbracket) return expected_here("'[' after 'until'");
      step st;
      if (!parse_step(st, false)) return false;
      until = std::move(st);
    }
    return true;
  }

  bool parse_step(step& st, bool allow_runs) {
    st.where = peek().where;
    if (accept(tok::bang)) {
      st.missing = true;
      if (peek().kind != tok::lbracket) return expected_here("'[' after '!'");
    }
    location open = peek().where;
    next(); // '['
    if (!parse_event_query(st.query, true)) return false;
    if (peek().kind != tok::rbracket)
      return fail(peek().where,
                  "expected ']' to close the step opened at " + format_location(open) + ", found " +
                      detail::describe(peek()),
                  open);
    next();
    // Step parameters may come in any order: `by ...`, `with runs=N`, `fork[=true]`.
    bool have_by = false;
    bool have_runs = false;
    bool have_fork = false;
    for (;;) {
      if (is_kw(peek(), "by") && !have_by) {
        next();
        have_by = true;
        if (!parse_expr_list(st.by, "a join key after 'by'")) return false;
      } else if (is_kw(peek(), "with") && !have_runs) {
        next();
        have_runs = true;
        if (!is_kw(peek(), "runs")) return expected_here("'runs' after 'with' in a step");
        location where = peek().where;
        if (!allow_runs || st.missing)
          return fail(where, "'with runs' is not allowed on this step");
        next();
        if (!accept(tok::assign) && !accept(tok::eq)) return expected_here("'=' after 'runs'");
        if (peek().kind != tok::integer) return expected_here("a number of runs");
        std::uint64_t n = peek().uint_value;
        if (n < 1 || n > 100) return fail(peek().where, "runs must be between 1 and 100");
        st.runs = static_cast<std::uint32_t>(n);
        next();
      } else if (is_kw(peek(), "fork") && !have_fork) {
        next();
        have_fork = true;
        st.fork = true;
        if (accept(tok::assign) || accept(tok::eq)) {
          if (is_kw(peek(), "true"))
            st.fork = true;
          else if (is_kw(peek(), "false"))
            st.fork = false;
          else
            return expected_here("'true' or 'false' after 'fork='");
          next();
        }
      } else {
        break;
      }
    }
    return true;
  }

  bool parse_duration(std::int64_t& ns) {
    const token& num = peek();
    if (num.kind == tok::real)
      return fail(num.where, "invalid duration " + detail::describe(num) +
                                 " (use a whole number with ms, s, m, h or d)");
    if (num.kind != tok::integer)
      return expected_here("a duration such as 30s, 5m or 1h after 'maxspan='");
    next();
    std::int64_t unit = 1'000'000'000; // a bare number means seconds (Endgame)
    std::string_view unit_text;
    if (peek().kind == tok::ident && touches_previous()) {
      unit_text = peek().text;
      if (unit_text == "ms")
        unit = 1'000'000;
      else if (unit_text == "s")
        unit = 1'000'000'000;
      else if (unit_text == "m")
        unit = 60LL * 1'000'000'000;
      else if (unit_text == "h")
        unit = 3600LL * 1'000'000'000;
      else if (unit_text == "d")
        unit = 86400LL * 1'000'000'000;
      else
        return fail(num.where, "invalid duration '" + std::string(num.text) +
                                   std::string(unit_text) + "' (use ms, s, m, h or d)");
      next();
    }
    if (num.uint_value >
        static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max() / unit))
      return fail(num.where,
                  "duration '" + std::string(num.text) + std::string(unit_text) + "' is too large");
    ns = static_cast<std::int64_t>(num.uint_value) * unit;
    return true;
  }

  bool parse_expr_list(std::vector<expr>& out, std::string_view what) {
    for (;;) {
      if (!starts_expression(peek())) return expected_here(what);
      node n;
      if (!parse_or(n)) return false;
      out.push_back(std::move(n.e));
      if (!accept(tok::comma)) return true;
    }
  }

  bool starts_expression(const token& t) const {
    switch (t.kind) {
    case tok::ident:
      return !is_reserved(t.text) || is_kw(t, "not") || is_kw(t, "true") || is_kw(t, "false") ||
             is_kw(t, "null");
    case tok::quoted_ident:
    case tok::string:
    case tok::integer:
    case tok::real:
    case tok::lparen:
    case tok::minus:
    case tok::question:
      return true;
    default:
      return false;
    }
  }

  bool parse_pipes(query& q) {
    while (peek().kind == tok::pipe) {
      next();
      pipe p;
      const token& name = peek();
      p.where = name.where;
      if (name.kind != tok::ident) return expected_here("a pipe name after '|'");
      std::string_view n = name.text;
      bool numeric = false;
      if (iequals(n, "head")) {
        p.kind = pipe::type::head;
        numeric = true;
      } else if (iequals(n, "tail")) {
        p.kind = pipe::type::tail;
        numeric = true;
      } else if (iequals(n, "filter")) {
        p.kind = pipe::type::filter;
      } else if (iequals(n, "unique")) {
        p.kind = pipe::type::unique;
      } else if (iequals(n, "unique_count")) {
        p.kind = pipe::type::unique_count;
      } else if (iequals(n, "count")) {
        p.kind = pipe::type::count;
      } else if (iequals(n, "sort")) {
        p.kind = pipe::type::sort;
      } else {
        return fail(name.where, "unknown pipe '" + std::string(n) +
                                    "' (expected head, tail, filter, unique, unique_count, "
                                    "count or sort)");
      }
      next();
      if (numeric) {
        const token& t = peek();
        if (t.kind != tok::integer) return expected_here("a number after '" + std::string(n) + "'");
        if (t.uint_value > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
          return fail(t.where, "number too large");
        expr lit;
        lit.kind = op::literal;
        lit.where = t.where;
        lit.value = static_cast<std::int64_t>(t.uint_value);
        p.args.push_back(std::move(lit));
        next();
      } else if (p.kind == pipe::type::filter) {
        node cond;
        if (!parse_or(cond)) return false;
        p.args.push_back(std::move(cond.e));
      } else {
        // Arguments are separated by commas or, in Endgame, by plain whitespace.
        while (peek().kind != tok::pipe && peek().kind != tok::end) {
          if (!starts_expression(peek())) return expected_here("an expression or '|'");
          node arg;
          if (!parse_or(arg)) return false;
          p.args.push_back(std::move(arg.e));
          accept(tok::comma);
        }
        if (p.args.empty() && p.kind != pipe::type::count)
          return expected_here("at least one expression after '" + std::string(n) + "'");
      }
      q.pipes.push_back(std::move(p));
    }
    return true;
  }

  // -- expressions ----------------------------------------------------------

  struct depth_guard {
    std::uint32_t& depth;
    ~depth_guard() { --depth; }
  };

  bool parse_or(node& out) {
    depth_guard g{depth_};
    if (!enter(peek().where)) return false;
    if (!parse_and(out)) return false;
    while (is_kw(peek(), "or")) {
      location where = next().where;
      node rhs;
      if (!parse_and(rhs)) return false;
      out = make(op::or_, where, std::move(out), std::move(rhs));
      if (!check_height(out)) return false;
    }
    return true;
  }

  bool parse_and(node& out) {
    if (!parse_not(out)) return false;
    while (is_kw(peek(), "and")) {
      location where = next().where;
      node rhs;
      if (!parse_not(rhs)) return false;
      out = make(op::and_, where, std::move(out), std::move(rhs));
      if (!check_height(out)) return false;
    }
    return true;
  }

  // Iterative so `not not ... a` cannot exhaust the stack; the tree height check bounds it.
  bool parse_not(node& out) {
    std::vector<location> nots;
    while (is_kw(peek(), "not")) {
      nots.push_back(next().where);
      if (nots.size() > max_expression_height) return check_height_at(nots.back(), nots.size());
    }
    if (!parse_comparison(out)) return false;
    for (auto it = nots.rbegin(); it != nots.rend(); ++it) {
      out = make(op::not_, *it, std::move(out));
      if (!check_height(out)) return false;
    }
    return true;
  }

  bool parse_comparison(node& out) {
    if (!parse_additive(out)) return false;
    for (;;) {
      const token& t = peek();
      location where = t.where;
      op kind;
      bool negate = false;
      switch (t.kind) {
      case tok::eq:
      case tok::assign:
        kind = op::eq;
        break;
      case tok::ne:
        kind = op::ne;
        break;
      case tok::lt:
        kind = op::lt;
        break;
      case tok::le:
        kind = op::le;
        break;
      case tok::gt:
        kind = op::gt;
        break;
      case tok::ge:
        kind = op::ge;
        break;
      case tok::colon:
        kind = op::colon;
        break;
      case tok::ident: {
        std::size_t k = 0;
        if (is_kw(t, "not")) {
          // `a not in (...)`, `a not like ...`: only when a set/pattern operator follows.
          const token& n = peek(1);
          if (!is_kw(n, "in") && !is_kw(n, "like") && !is_kw(n, "regex")) return true;
          negate = true;
          k = 1;
        }
        const token& w = peek(k);
        bool insensitive = peek(k + 1).kind == tok::tilde && adjacent(k + 1);
        if (is_kw(w, "in"))
          kind = insensitive ? op::in_insensitive : op::in;
        else if (is_kw(w, "like"))
          kind = insensitive ? op::like_insensitive : op::like;
        else if (is_kw(w, "regex"))
          kind = insensitive ? op::regex_insensitive : op::regex;
        else
          return true;
        where = w.where;
        pos_ += k + (insensitive ? 1 : 0);
        break;
      }
      default:
        return true;
      }
      next();
      node rhs;
      bool list_operator = kind == op::in || kind == op::in_insensitive;
      bool pattern_operator = kind == op::colon || kind == op::like ||
                              kind == op::like_insensitive || kind == op::regex ||
                              kind == op::regex_insensitive;
      if (list_operator) {
        if (peek().kind != tok::lparen) return expected_here("'(' to start the list after 'in'");
        if (!parse_list(rhs)) return false;
      } else if (pattern_operator && peek().kind == tok::lparen) {
        if (!parse_list(rhs)) return false;
      } else if (!parse_additive(rhs)) {
        return false;
      }
      if (negate && kind == op::in)
        kind = op::not_in;
      else if (negate && kind == op::in_insensitive)
        kind = op::not_in_insensitive;
      out = make(kind, where, std::move(out), std::move(rhs));
      if (negate && kind != op::not_in && kind != op::not_in_insensitive)
        out = make(op::not_, where, std::move(out));
      if (!check_height(out)) return false;
    }
  }

  bool parse_list(node& out) {
    location open = next().where; // '('
    out = node{};
    out.e.kind = op::list;
    out.e.where = open;
    for (;;) {
      node item;
      if (!parse_or(item)) return false;
      out.height = std::max(out.height, item.height + 1);
      out.e.children.push_back(std::move(item.e));
      if (accept(tok::comma)) continue;
      if (accept(tok::rparen)) return check_height(out);
      return fail(peek().where,
                  "expected ',' or ')' to close the list opened at " + format_location(open) +
                      ", found " + detail::describe(peek()),
                  open);
    }
  }

  bool parse_additive(node& out) {
    if (!parse_multiplicative(out)) return false;
    for (;;) {
      op kind;
      if (peek().kind == tok::plus)
        kind = op::add;
      else if (peek().kind == tok::minus)
        kind = op::sub;
      else
        return true;
      location where = next().where;
      node rhs;
      if (!parse_multiplicative(rhs)) return false;
      out = make(kind, where, std::move(out), std::move(rhs));
      if (!check_height(out)) return false;
    }
  }

  bool parse_multiplicative(node& out) {
    if (!parse_unary(out)) return false;
    for (;;) {
      op kind;
      if (peek().kind == tok::star)
        kind = op::mul;
      else if (peek().kind == tok::slash)
        kind = op::div;
      else if (peek().kind == tok::percent)
        kind = op::mod;
      else
        return true;
      location where = next().where;
      node rhs;
      if (!parse_unary(rhs)) return false;
      out = make(kind, where, std::move(out), std::move(rhs));
      if (!check_height(out)) return false;
    }
  }

  // Iterative so `- - ... a` cannot exhaust the stack; the tree height check bounds it.
  bool parse_unary(node& out) {
    std::vector<location> minuses;
    while (peek().kind == tok::minus) {
      minuses.push_back(next().where);
      if (minuses.size() > max_expression_height + 1)
        return check_height_at(minuses.back(), minuses.size());
    }
    if (minuses.empty()) return parse_primary(out);
    const token& t = peek();
    // Fold the innermost `-<number>` into a negative literal.
    if (t.kind == tok::integer || t.kind == tok::real) {
      location where = minuses.back();
      minuses.pop_back();
      out = node{};
      out.e.kind = op::literal;
      out.e.where = where;
      if (t.kind == tok::real) {
        out.e.value = -t.real_value;
      } else {
        constexpr auto limit = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
        if (t.uint_value > limit + 1)
          return fail(where, "integer '-" + std::string(t.text) + "' is out of range");
        out.e.value = t.uint_value == limit + 1 ? std::numeric_limits<std::int64_t>::min()
                                                : -static_cast<std::int64_t>(t.uint_value);
      }
      next();
    } else if (!parse_primary(out)) {
      return false;
    }
    for (auto it = minuses.rbegin(); it != minuses.rend(); ++it) {
      out = make(op::neg, *it, std::move(out));
      if (!check_height(out)) return false;
    }
    return true;
  }

  bool parse_primary(node& out) {
    const token& t = peek();
    out = node{};
    out.e.where = t.where;
    switch (t.kind) {
    case tok::integer:
      if (t.uint_value > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        return fail(t.where, "integer '" + std::string(t.text) + "' is out of range");
      out.e.value = static_cast<std::int64_t>(t.uint_value);
      next();
      return true;
    case tok::real:
      out.e.value = t.real_value;
      next();
      return true;
    case tok::string:
      out.e.value = t.str;
      out.e.raw_string = t.raw;
      next();
      return true;
    case tok::lparen: {
      location open = next().where;
      if (!parse_or(out)) return false;
      if (peek().kind != tok::rparen)
        return fail(peek().where,
                    "expected ')' to close the '(' opened at " + format_location(open) +
                        ", found " + detail::describe(peek()),
                    open);
      next();
      return true;
    }
    case tok::question:
      // Elastic optional field `?process.name`: every field is optional here.
      if (!adjacent(1) || (peek(1).kind != tok::ident && peek(1).kind != tok::quoted_ident))
        return fail(t.where, "expected a field name right after '?'");
      next();
      return parse_field(out);
    case tok::quoted_ident:
      return parse_field(out);
    case tok::ident:
      break;
    default:
      return expected_here("an expression");
    }
    if (is_kw(t, "true") || is_kw(t, "false")) {
      out.e.value = is_kw(t, "true");
      next();
      return true;
    }
    if (is_kw(t, "null")) {
      out.e.value = std::monostate{};
      next();
      return true;
    }
    if (is_reserved(t.text)) return expected_here("an expression");
    // Lineage: `descendant of [...]`, `child of [...]`, `event of [...]`.
    if (is_kw(peek(1), "of") && peek(2).kind == tok::lbracket) {
      op kind;
      if (is_kw(t, "descendant"))
        kind = op::descendant_of;
      else if (is_kw(t, "child"))
        kind = op::child_of;
      else if (is_kw(t, "event"))
        kind = op::event_of;
      else
        return fail(t.where, "unknown relationship '" + std::string(t.text) +
                                 " of' (expected descendant of, child of or event of)");
      return parse_lineage(out, kind);
    }
    std::size_t paren = 1;
    bool insensitive = false;
    if (peek(1).kind == tok::tilde && adjacent(1) && peek(2).kind == tok::lparen) {
      insensitive = true;
      paren = 2;
    }
    if (peek(paren).kind == tok::lparen) return parse_call(out, insensitive);
    return parse_field(out);
  }

  bool parse_lineage(node& out, op kind) {
    location where = next().where; // relation word
    next();                        // 'of'
    location open = next().where;  // '['
    event_query sub;
    std::uint32_t sub_height = 1;
    if (!parse_event_query(sub, true, &sub_height)) return false;
    if (peek().kind != tok::rbracket)
      return fail(peek().where,
                  "expected ']' to close the subquery opened at " + format_location(open) +
                      ", found " + detail::describe(peek()),
                  open);
    next();
    out = node{};
    out.e.kind = kind;
    out.e.where = where;
    out.e.subquery.push_back(std::move(sub));
    out.height = sub_height + 1;
    return check_height(out);
  }

  bool parse_call(node& out, bool insensitive) {
    const token& name = next();
    out.e.kind = op::call;
    out.e.where = name.where;
    out.e.name = std::string(name.text);
    if (insensitive) {
      out.e.name += '~';
      next();
    }
    location open = next().where; // '('
    if (accept(tok::rparen)) return true;
    for (;;) {
      node arg;
      if (!parse_or(arg)) return false;
      out.height = std::max(out.height, arg.height + 1);
      out.e.children.push_back(std::move(arg.e));
      if (accept(tok::comma)) continue;
      if (accept(tok::rparen)) return check_height(out);
      return fail(peek().where,
                  "expected ',' or ')' to close the call to '" + out.e.name + "' opened at " +
                      format_location(open) + ", found " + detail::describe(peek()),
                  open);
    }
  }

  bool parse_field(node& out) {
    out.e.kind = op::field;
    const token& first = next();
    out.e.where = first.where;
    out.e.path.push_back({first.kind == tok::quoted_ident ? first.str : std::string(first.text)});
    for (;;) {
      if (peek().kind == tok::dot) {
        next();
        const token& seg = peek();
        if (seg.kind == tok::ident)
          out.e.path.push_back({std::string(seg.text)});
        else if (seg.kind == tok::quoted_ident)
          out.e.path.push_back({seg.str});
        else
          return expected_here("a field name after '.'");
        next();
      } else if (peek().kind == tok::lbracket && touches_previous()) {
        location open = next().where;
        const token& idx = peek();
        if (idx.kind != tok::integer)
          return expected_here("an array index (a non-negative integer) after '['");
        if (idx.uint_value > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
          return fail(idx.where, "array index out of range");
        path_segment s;
        s.index = static_cast<std::int64_t>(idx.uint_value);
        out.e.path.push_back(std::move(s));
        next();
        if (peek().kind != tok::rbracket)
          return fail(peek().where,
                      "expected ']' to close the index opened at " + format_location(open) +
                          ", found " + detail::describe(peek()),
                      open);
        next();
      } else {
        return true;
      }
    }
  }

  std::vector<token> tokens_;
  std::size_t pos_ = 0;
  std::uint32_t depth_ = 0;
  bool failed_ = false;
  error error_;
};

} // namespace

expected<query, error> parse(std::string_view text) {
  auto tokens = detail::tokenize(text);
  if (!tokens) return unexpected{tokens.error()};
  return parser{std::move(*tokens)}.parse_query();
}

expected<expr, error> parse_expression(std::string_view text) {
  auto tokens = detail::tokenize(text);
  if (!tokens) return unexpected{tokens.error()};
  return parser{std::move(*tokens)}.parse_standalone_expression();
}

} // namespace chainwatch::eql
