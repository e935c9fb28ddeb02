#include "functions.hpp"
#include "ip_address.hpp"
#include "text_util.hpp"

#include <absl/container/flat_hash_set.h>
#include <chainwatch/eql/compile.hpp>
#include <charconv>
#include <cmath>
#include <limits>
#include <re2/re2.h>

namespace chainwatch::eql {

namespace {

using detail::function_id;
using vt = value::type;

enum class nk : std::uint8_t {
  constant,
  field,
  seq_field,
  local_field,
  and_,
  or_,
  not_,
  eq,
  ne,
  is_null,
  not_null,
  match,
  lt,
  le,
  gt,
  ge,
  add,
  sub,
  mul,
  div,
  mod,
  neg,
  call,
};

/// Membership test shared by `==` literal, `:`, `in`, `like`, `regex`, `wildcard()`, `match()`.
struct matcher {
  bool case_sensitive = false;
  bool negate = false;
  bool regex_anchor_start = false;
  std::vector<std::string> few_strings; // <= 4 literals: linear compare beats hashing
  absl::flat_hash_set<std::string, detail::exact_hash, detail::exact_eq> exact_set;
  absl::flat_hash_set<std::string, detail::folded_hash, detail::folded_eq> folded_set;
  absl::flat_hash_set<std::int64_t> ints;
  std::vector<double> reals;
  bool has_true = false;
  bool has_false = false;
  std::vector<detail::wildcard_pattern> wildcards;
  std::vector<std::unique_ptr<RE2>> regexes;
  std::vector<const expression::node*> exprs; // non-literal list items (owned by the node)
};

} // namespace

struct expression::node {
  nk kind = nk::constant;
  value constant;
  std::string text; // owns constant.s
  event::field_path path;
  int index = 0; // sequence index or local slot
  bool case_sensitive = false;
  function_id func = function_id::safe;
  std::vector<std::unique_ptr<node>> kids;
  std::unique_ptr<matcher> m;
  std::vector<detail::cidr> cidrs;
  const lookup_list* list = nullptr;
  std::int32_t slot = -1; // field of the current event: its memo slot (compile_options::slots)
};

namespace {

using node = expression::node;

value eval_node(const node& n, eval_context& ctx);

/// Truthiness for logical operators: null stays null.
int truth(const value& v) {
  switch (v.t) {
  case vt::null:
    return -1;
  case vt::boolean:
    return v.b ? 1 : 0;
  case vt::integer:
    return v.i != 0;
  case vt::real:
    return v.d != 0;
  case vt::string:
    return !v.s.empty();
  case vt::array:
  case vt::object:
    return v.ref.size() > 0;
  }
  return -1;
}

bool is_number(const value& v) {
  return v.t == vt::integer || v.t == vt::real;
}
double as_double(const value& v) {
  return v.t == vt::integer ? static_cast<double>(v.i) : v.d;
}

bool scalar_matches(const matcher& m, const value& v, eval_context& ctx) {
  switch (v.t) {
  case vt::string: {
    for (const auto& s : m.few_strings)
      if (m.case_sensitive ? v.s == s : iequals(v.s, s)) return true;
    if (m.case_sensitive ? (!m.exact_set.empty() && m.exact_set.contains(v.s))
                         : (!m.folded_set.empty() && m.folded_set.contains(v.s)))
      return true;
    for (const auto& w : m.wildcards)
      if (w.match(v.s)) return true;
    for (const auto& re : m.regexes) {
      if (m.regex_anchor_start ? re->Match(v.s, 0, v.s.size(), RE2::ANCHOR_START, nullptr, 0)
                               : RE2::FullMatch(v.s, *re))
        return true;
    }
    break;
  }
  case vt::integer:
    if (!m.ints.empty() && m.ints.contains(v.i)) return true;
    for (double d : m.reals)
      if (d == static_cast<double>(v.i)) return true;
    break;
  case vt::real:
    if (v.d == std::trunc(v.d) && std::abs(v.d) < 9.2e18 &&
        m.ints.contains(static_cast<std::int64_t>(v.d)))
      return true;
    for (double d : m.reals)
      if (d == v.d) return true;
    break;
  case vt::boolean:
    if (v.b ? m.has_true : m.has_false) return true;
    break;
  default:
    break;
  }
  for (const node* e : m.exprs) {
    value x = eval_node(*e, ctx);
    if (x.t != vt::null && values_equal(v, x, m.case_sensitive)) return true;
  }
  return false;
}

/// Applies `m` to a value; arrays match when any element does; null stays null.
value eval_match(const matcher& m, const value& v, eval_context& ctx) {
  if (v.t == vt::null) return value::null();
  bool hit = false;
  if (v.t == vt::array) {
    for (auto c = v.ref.first_child(); c.exists() && !hit; c = c.next_sibling()) {
      value e = value::from(c);
      hit = e.t != vt::array && e.t != vt::object && scalar_matches(m, e, ctx);
    }
  } else if (v.t != vt::object) {
    hit = scalar_matches(m, v, ctx);
  }
  return value::boolean(hit != m.negate);
}

value compare(nk kind, const value& a, const value& b, bool cs) {
  int c;
  if (is_number(a) && is_number(b)) {
    if (a.t == vt::integer && b.t == vt::integer)
      c = a.i < b.i ? -1 : (a.i > b.i ? 1 : 0);
    else {
      double x = as_double(a), y = as_double(b);
      if (std::isnan(x) || std::isnan(y)) return value::null();
      c = x < y ? -1 : (x > y ? 1 : 0);
    }
  } else if (a.t == vt::string && b.t == vt::string) {
    c = detail::compare(a.s, b.s, cs);
  } else {
    return value::null();
  }
  switch (kind) {
  case nk::lt:
    return value::boolean(c < 0);
  case nk::le:
    return value::boolean(c <= 0);
  case nk::gt:
    return value::boolean(c > 0);
  default:
    return value::boolean(c >= 0);
  }
}

value arith(nk kind, const value& a, const value& b) {
  if (!is_number(a) || !is_number(b)) return value::null();
  if (a.t == vt::integer && b.t == vt::integer) {
    std::int64_t r;
    switch (kind) {
    case nk::add:
      if (!__builtin_add_overflow(a.i, b.i, &r)) return value::integer(r);
      break;
    case nk::sub:
      if (!__builtin_sub_overflow(a.i, b.i, &r)) return value::integer(r);
      break;
    case nk::mul:
      if (!__builtin_mul_overflow(a.i, b.i, &r)) return value::integer(r);
      break;
    case nk::div:
      if (b.i == 0) return value::null();
      if (a.i == std::numeric_limits<std::int64_t>::min() && b.i == -1) break;
      return value::integer(a.i / b.i);
    default: // mod
      if (b.i == 0) return value::null();
      if (b.i == -1) return value::integer(0);
      return value::integer(a.i % b.i);
    }
  }
  double x = as_double(a), y = as_double(b);
  switch (kind) {
  case nk::add:
    return value::real(x + y);
  case nk::sub:
    return value::real(x - y);
  case nk::mul:
    return value::real(x * y);
  case nk::div:
    return y == 0 ? value::null() : value::real(x / y);
  default:
    return y == 0 ? value::null() : value::real(std::fmod(x, y));
  }
}

/// Returns the next scratch string, cleared, keeping its capacity.
std::string& next_slot(eval_context& ctx) {
  if (ctx.scratch_used == ctx.scratch.size()) ctx.scratch.emplace_back();
  auto& s = ctx.scratch[ctx.scratch_used++];
  s.clear();
  return s;
}

/// Appends the text form of a scalar; false for null and containers.
bool append_text(std::string& out, const value& v) {
  char buf[64];
  switch (v.t) {
  case vt::string:
    out.append(v.s);
    return true;
  case vt::integer: {
    auto r = std::to_chars(buf, buf + sizeof(buf), v.i);
    out.append(buf, r.ptr);
    return true;
  }
  case vt::real: {
    auto r = std::to_chars(buf, buf + sizeof(buf), v.d);
    out.append(buf, r.ptr);
    return true;
  }
  case vt::boolean:
    out.append(v.b ? "true" : "false");
    return true;
  default:
    return false;
  }
}

value parse_number(std::string_view s, int base) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  bool neg = false;
  std::string_view digits = s;
  if (!digits.empty() && (digits.front() == '-' || digits.front() == '+')) {
    neg = digits.front() == '-';
    digits.remove_prefix(1);
  }
  if (base == 16 && digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X'))
    digits.remove_prefix(2);
  if (digits.empty() || base < 2 || base > 36) return value::null();
  std::uint64_t u = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), u, base);
  if (ec == std::errc{} && p == digits.data() + digits.size()) {
    if (!neg && u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      return value::integer(static_cast<std::int64_t>(u));
    if (neg && u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) + 1)
      return value::integer(static_cast<std::int64_t>(0 - u));
    return value::real(neg ? -static_cast<double>(u) : static_cast<double>(u));
  }
  if (base != 10) return value::null();
  double d = 0;
  auto [q, ec2] = std::from_chars(s.data(), s.data() + s.size(), d);
  if (ec2 != std::errc{} || q != s.data() + s.size()) return value::null();
  return value::real(d);
}

/// Python-style slice index normalisation.
std::size_t slice_index(std::int64_t i, std::size_t len) {
  auto n = static_cast<std::int64_t>(len);
  if (i < 0) i += n;
  if (i < 0) i = 0;
  if (i > n) i = n;
  return static_cast<std::size_t>(i);
}

value eval_call(const node& n, eval_context& ctx) {
  const auto& k = n.kids;
  const bool cs = n.case_sensitive;
  switch (n.func) {
  case function_id::safe:
    return eval_node(*k[0], ctx);
  case function_id::length: {
    value v = eval_node(*k[0], ctx);
    if (v.t == vt::string) return value::integer(static_cast<std::int64_t>(v.s.size()));
    if (v.t == vt::array || v.t == vt::object)
      return value::integer(static_cast<std::int64_t>(v.ref.size()));
    return value::null();
  }
  case function_id::starts_with:
  case function_id::ends_with:
  case function_id::string_contains: {
    value a = eval_node(*k[0], ctx);
    value b = eval_node(*k[1], ctx);
    if (a.t != vt::string || b.t != vt::string) return value::null();
    if (n.func == function_id::starts_with)
      return value::boolean(detail::starts_with(a.s, b.s, cs));
    if (n.func == function_id::ends_with) return value::boolean(detail::ends_with(a.s, b.s, cs));
    return value::boolean(detail::find(a.s, b.s, 0, cs) != std::string_view::npos);
  }
  case function_id::index_of: {
    value a = eval_node(*k[0], ctx);
    value b = eval_node(*k[1], ctx);
    if (a.t != vt::string || b.t != vt::string) return value::null();
    std::int64_t start = 0;
    if (k.size() > 2) {
      value s = eval_node(*k[2], ctx);
      if (s.t != vt::integer) return value::null();
      start = s.i < 0 ? 0 : s.i;
    }
    if (start > static_cast<std::int64_t>(a.s.size())) return value::null();
    auto pos = detail::find(a.s, b.s, static_cast<std::size_t>(start), cs);
    if (pos == std::string_view::npos) return value::null();
    return value::integer(static_cast<std::int64_t>(pos));
  }
  case function_id::substring: {
    value a = eval_node(*k[0], ctx);
    if (a.t != vt::string) return value::null();
    std::size_t begin = 0, end = a.s.size();
    if (k.size() > 1) {
      value s = eval_node(*k[1], ctx);
      if (s.t == vt::integer)
        begin = slice_index(s.i, a.s.size());
      else if (s.t != vt::null)
        return value::null();
    }
    if (k.size() > 2) {
      value e = eval_node(*k[2], ctx);
      if (e.t == vt::integer)
        end = slice_index(e.i, a.s.size());
      else if (e.t != vt::null)
        return value::null();
    }
    if (begin >= end) return value::string({});
    return value::string(a.s.substr(begin, end - begin));
  }
  case function_id::between: {
    value src = eval_node(*k[0], ctx);
    value left = eval_node(*k[1], ctx);
    value right = eval_node(*k[2], ctx);
    if (src.t != vt::string || left.t != vt::string || right.t != vt::string) return value::null();
    bool greedy = false;
    bool sensitive = cs;
    if (k.size() > 3) {
      value g = eval_node(*k[3], ctx);
      greedy = g.t == vt::boolean && g.b;
    }
    if (k.size() > 4) {
      value c = eval_node(*k[4], ctx);
      sensitive = c.t == vt::boolean && c.b;
    }
    auto l = detail::find(src.s, left.s, 0, sensitive);
    if (l == std::string_view::npos) return value::string({});
    auto rest = src.s.substr(l + left.s.size());
    auto r = greedy ? detail::rfind(rest, right.s, sensitive)
                    : detail::find(rest, right.s, 0, sensitive);
    if (r == std::string_view::npos) return value::string({});
    return value::string(rest.substr(0, r));
  }
  case function_id::concat: {
    std::string& out = next_slot(ctx);
    for (const auto& a : k) {
      value v = eval_node(*a, ctx);
      if (!append_text(out, v)) return value::null();
    }
    return value::string(out);
  }
  case function_id::string: {
    value v = eval_node(*k[0], ctx);
    if (v.t == vt::string) return v;
    std::string& out = next_slot(ctx);
    if (!append_text(out, v)) return value::null();
    return value::string(out);
  }
  case function_id::number: {
    value v = eval_node(*k[0], ctx);
    int base = 10;
    if (k.size() > 1) {
      value b = eval_node(*k[1], ctx);
      if (b.t != vt::integer) return value::null();
      base = static_cast<int>(b.i);
    }
    if (is_number(v)) return v;
    if (v.t != vt::string) return value::null();
    return parse_number(v.s, base);
  }
  case function_id::cidr_match: {
    value v = eval_node(*k[0], ctx);
    auto test = [&](const value& x) {
      if (x.t != vt::string) return false;
      auto ip = detail::parse_ip(x.s);
      if (!ip) return false;
      for (const auto& c : n.cidrs)
        if (c.contains(*ip)) return true;
      return false;
    };
    if (v.t == vt::null) return value::null();
    if (v.t == vt::array) {
      for (auto c = v.ref.first_child(); c.exists(); c = c.next_sibling())
        if (test(value::from(c))) return value::boolean(true);
      return value::boolean(false);
    }
    return value::boolean(test(v));
  }
  case function_id::in_list: {
    value v = eval_node(*k[0], ctx);
    if (v.t == vt::null) return value::null();
    if (v.t == vt::array) {
      for (auto c = v.ref.first_child(); c.exists(); c = c.next_sibling())
        if (c.type() == event::kind::string && n.list->contains(c.as_string()))
          return value::boolean(true);
      return value::boolean(false);
    }
    return value::boolean(v.t == vt::string && n.list->contains(v.s));
  }
  case function_id::array_contains: {
    value arr = eval_node(*k[0], ctx);
    if (arr.t == vt::null) return value::null();
    auto any_arg = [&](const value& e) {
      for (std::size_t i = 1; i < k.size(); ++i) {
        value x = eval_node(*k[i], ctx);
        if (x.t != vt::null && values_equal(e, x, cs)) return true;
      }
      return false;
    };
    if (arr.t != vt::array) return value::boolean(any_arg(arr));
    for (auto c = arr.ref.first_child(); c.exists(); c = c.next_sibling())
      if (any_arg(value::from(c))) return value::boolean(true);
    return value::boolean(false);
  }
  case function_id::array_search:
  case function_id::array_count: {
    value arr = eval_node(*k[0], ctx);
    if (arr.t != vt::array) return value::null();
    auto& slot = ctx.locals[static_cast<std::size_t>(n.index)];
    auto saved = slot;
    std::int64_t count = 0;
    for (auto c = arr.ref.first_child(); c.exists(); c = c.next_sibling()) {
      slot = c;
      value r = eval_node(*k[1], ctx);
      if (r.t == vt::boolean && r.b) {
        ++count;
        if (n.func == function_id::array_search) break;
      }
    }
    slot = saved;
    if (n.func == function_id::array_search) return value::boolean(count > 0);
    return value::integer(count);
  }
  case function_id::wildcard: {
    // Only reached with non-literal patterns; literal ones compile to a matcher.
    value v = eval_node(*k[0], ctx);
    if (v.t != vt::string) return value::null();
    for (std::size_t i = 1; i < k.size(); ++i) {
      value p = eval_node(*k[i], ctx);
      if (p.t == vt::string && wildcard_match(p.s, v.s, cs)) return value::boolean(true);
    }
    return value::boolean(false);
  }
  default:
    return value::null();
  }
}

value read_field(const node& n, eval_context& ctx) {
  switch (n.kind) {
  case nk::field:
    if (!ctx.current) return value::null();
    if (n.slot >= 0 && ctx.field_values) {
      auto s = static_cast<std::size_t>(n.slot);
      if (ctx.field_stamps[s] != ctx.field_epoch) {
        ctx.field_values[s] = ctx.current->get(n.path);
        ctx.field_stamps[s] = ctx.field_epoch;
      }
      return value::from(ctx.field_values[s]);
    }
    return value::from(ctx.current->get(n.path));
  case nk::seq_field: {
    auto i = static_cast<std::size_t>(n.index);
    if (i >= ctx.sequence.size() || !ctx.sequence[i]) return value::null();
    return value::from(ctx.sequence[i]->get(n.path));
  }
  default: { // local_field
    auto ref = ctx.locals[static_cast<std::size_t>(n.index)];
    if (!ref.exists()) return value::null();
    if (n.path.empty()) return value::from(ref);
    return value::from(ref.owner()->get(ref, n.path));
  }
  }
}

value eval_node(const node& n, eval_context& ctx) {
  switch (n.kind) {
  case nk::constant:
    return n.constant;
  case nk::field:
  case nk::seq_field:
  case nk::local_field:
    return read_field(n, ctx);
  case nk::and_: {
    bool saw_null = false;
    for (const auto& kid : n.kids) {
      int t = truth(eval_node(*kid, ctx));
      if (t == 0) return value::boolean(false);
      saw_null |= t < 0;
    }
    return saw_null ? value::null() : value::boolean(true);
  }
  case nk::or_: {
    bool saw_null = false;
    for (const auto& kid : n.kids) {
      int t = truth(eval_node(*kid, ctx));
      if (t == 1) return value::boolean(true);
      saw_null |= t < 0;
    }
    return saw_null ? value::null() : value::boolean(false);
  }
  case nk::not_: {
    int t = truth(eval_node(*n.kids[0], ctx));
    return t < 0 ? value::null() : value::boolean(t == 0);
  }
  case nk::is_null:
  case nk::not_null: {
    value v = eval_node(*n.kids[0], ctx);
    return value::boolean((v.t == vt::null) == (n.kind == nk::is_null));
  }
  case nk::match:
    return eval_match(*n.m, eval_node(*n.kids[0], ctx), ctx);
  case nk::eq:
  case nk::ne: {
    value a = eval_node(*n.kids[0], ctx);
    value b = eval_node(*n.kids[1], ctx);
    if (a.t == vt::null || b.t == vt::null) return value::null();
    return value::boolean(values_equal(a, b, n.case_sensitive) == (n.kind == nk::eq));
  }
  case nk::lt:
  case nk::le:
  case nk::gt:
  case nk::ge:
    return compare(n.kind, eval_node(*n.kids[0], ctx), eval_node(*n.kids[1], ctx),
                   n.case_sensitive);
  case nk::add:
  case nk::sub:
  case nk::mul:
  case nk::div:
  case nk::mod:
    return arith(n.kind, eval_node(*n.kids[0], ctx), eval_node(*n.kids[1], ctx));
  case nk::neg: {
    value v = eval_node(*n.kids[0], ctx);
    if (v.t == vt::integer)
      return v.i == std::numeric_limits<std::int64_t>::min()
                 ? value::real(-static_cast<double>(v.i))
                 : value::integer(-v.i);
    if (v.t == vt::real) return value::real(-v.d);
    return value::null();
  }
  case nk::call:
    return eval_call(n, ctx);
  }
  return value::null();
}

bool is_const_node(const node& n) {
  return n.kind == nk::constant;
}

/// Builds the node tree, folding constants as it goes.
class compiler {
public:
  explicit compiler(const compile_options& o) : opts_(o) {}

  std::unique_ptr<node> build(const expr& e);
  error err;
  bool failed = false;

private:
  std::unique_ptr<node> fail(std::string msg, location where) {
    if (!failed) {
      failed = true;
      err = error{std::move(msg), where};
    }
    return nullptr;
  }
  std::unique_ptr<node> build_field(const expr& e);
  std::unique_ptr<node> build_call(const expr& e);
  std::unique_ptr<node> build_match(const expr& e, std::unique_ptr<node> subject,
                                    const std::vector<const expr*>& items, bool cs, int mode,
                                    bool negate);
  std::unique_ptr<node> fold(std::unique_ptr<node> n);

  const compile_options& opts_;
  std::vector<std::string> locals_; // bound variable names, slot = position
};

std::unique_ptr<node> make_constant(const value& v) {
  auto n = std::make_unique<node>();
  n->kind = nk::constant;
  n->constant = v;
  if (v.t == vt::string) {
    n->text.assign(v.s);
    n->constant.s = n->text;
  }
  return n;
}

std::unique_ptr<node> compiler::fold(std::unique_ptr<node> n) {
  if (!n || n->kind == nk::constant || n->kind == nk::field || n->kind == nk::seq_field ||
      n->kind == nk::local_field)
    return n;
  for (const auto& k : n->kids)
    if (!is_const_node(*k)) return n;
  eval_context ctx;
  return make_constant(eval_node(*n, ctx));
}

std::unique_ptr<node> compiler::build_field(const expr& e) {
  auto n = std::make_unique<node>();
  std::vector<event::field_path::segment> segs;
  std::size_t first = 0;
  const auto& p = e.path;
  if (p.empty()) return fail("empty field path", e.where);
  n->kind = nk::field;
  for (std::size_t i = locals_.size(); i-- > 0;) {
    if (!p[0].name.empty() && p[0].name == locals_[i]) {
      n->kind = nk::local_field;
      n->index = static_cast<int>(i);
      first = 1;
      break;
    }
  }
  if (n->kind == nk::field && p.size() >= 2 && p[0].name == "events" && p[1].name.empty()) {
    if (p[1].index < 0) return fail("events[] index must not be negative", e.where);
    n->kind = nk::seq_field;
    n->index = static_cast<int>(p[1].index);
    first = 2;
  }
  for (std::size_t i = first; i < p.size(); ++i)
    segs.push_back({p[i].name, p[i].name.empty() ? p[i].index : -1, p[i].name.empty()});
  n->path = event::field_path(std::move(segs));
  if (n->kind == nk::field && opts_.slots) {
    auto& ids = opts_.slots->ids;
    n->slot = static_cast<std::int32_t>(
        ids.try_emplace(n->path.to_string(), static_cast<std::uint32_t>(ids.size())).first->second);
  }
  return n;
}

bool has_star(const value& v) {
  return v.t == vt::string && v.s.find('*') != std::string_view::npos;
}

// mode: 0 exact, 1 Endgame `==` wildcard (`*`), 2 Elastic wildcard (`*`,`?`), 3 regex (full),
// 4 regex anchored at the start (match()).
std::unique_ptr<node> compiler::build_match(const expr& e, std::unique_ptr<node> subject,
                                            const std::vector<const expr*>& items, bool cs,
                                            int mode, bool negate) {
  auto n = std::make_unique<node>();
  n->kind = nk::match;
  n->m = std::make_unique<matcher>();
  auto& m = *n->m;
  m.case_sensitive = cs;
  m.negate = negate;
  m.regex_anchor_start = mode == 4;
  n->kids.push_back(std::move(subject));
  std::vector<std::string> strings;
  for (const expr* item : items) {
    auto k = build(*item);
    if (!k) return nullptr;
    if (k->kind != nk::constant) {
      if (mode >= 2) return fail("pattern must be a literal string", item->where);
      m.exprs.push_back(k.get());
      n->kids.push_back(std::move(k));
      continue;
    }
    const value& v = k->constant;
    if (mode >= 3) {
      if (v.t != vt::string) return fail("regular expression must be a string", item->where);
      RE2::Options o;
      o.set_log_errors(false);
      o.set_case_sensitive(cs);
      auto re = std::make_unique<RE2>(v.s, o);
      if (!re->ok()) return fail("invalid regular expression: " + re->error(), item->where);
      m.regexes.push_back(std::move(re));
      continue;
    }
    switch (v.t) {
    case vt::null:
      break; // never equal to anything
    case vt::boolean:
      (v.b ? m.has_true : m.has_false) = true;
      break;
    case vt::integer:
      m.ints.insert(v.i);
      break;
    case vt::real:
      if (v.d == std::trunc(v.d) && std::abs(v.d) < 9.2e18)
        m.ints.insert(static_cast<std::int64_t>(v.d));
      else
        m.reals.push_back(v.d);
      break;
    case vt::string:
      if ((mode == 1 && has_star(v)) ||
          (mode == 2 && v.s.find_first_of("*?") != std::string_view::npos))
        m.wildcards.emplace_back(std::string(v.s), cs, mode == 2);
      else
        strings.emplace_back(v.s);
      break;
    default:
      break;
    }
  }
  if (strings.size() <= 4) {
    m.few_strings = std::move(strings);
  } else {
    for (auto& s : strings) {
      if (cs)
        m.exact_set.insert(std::move(s));
      else
        m.folded_set.insert(std::move(s));
    }
  }
  (void)e;
  return fold(std::move(n));
}

nk binary_kind(op o) {
  switch (o) {
  case op::lt:
    return nk::lt;
  case op::le:
    return nk::le;
  case op::gt:
    return nk::gt;
  case op::ge:
    return nk::ge;
  case op::add:
    return nk::add;
  case op::sub:
    return nk::sub;
  case op::mul:
    return nk::mul;
  case op::div:
    return nk::div;
  default:
    return nk::mod;
  }
}

std::vector<const expr*> list_items(const expr& e) {
  std::vector<const expr*> items;
  if (e.kind == op::list)
    for (const auto& c : e.children)
      items.push_back(&c);
  else
    items.push_back(&e);
  return items;
}

std::unique_ptr<node> compiler::build(const expr& e) {
  const bool cs = opts_.case_sensitive;
  switch (e.kind) {
  case op::literal: {
    value v;
    if (auto* b = std::get_if<bool>(&e.value))
      v = value::boolean(*b);
    else if (auto* i = std::get_if<std::int64_t>(&e.value))
      v = value::integer(*i);
    else if (auto* d = std::get_if<double>(&e.value))
      v = value::real(*d);
    else if (auto* s = std::get_if<std::string>(&e.value))
      v = value::string(*s);
    return make_constant(v);
  }
  case op::field:
    return build_field(e);
  case op::list:
    return fail("a list is only valid after 'in', ':', 'like' or 'regex'", e.where);
  case op::call:
    return build_call(e);
  case op::descendant_of:
  case op::child_of:
  case op::event_of:
    return fail("lineage ('descendant of', 'child of', 'event of') needs process tracking and "
                "is not supported by the expression compiler",
                e.where);
  case op::and_:
  case op::or_: {
    auto n = std::make_unique<node>();
    n->kind = e.kind == op::and_ ? nk::and_ : nk::or_;
    for (const auto& c : e.children) {
      auto k = build(c);
      if (!k) return nullptr;
      // Flatten `a and (b and c)` into one n-ary node.
      if (k->kind == n->kind) {
        for (auto& g : k->kids)
          n->kids.push_back(std::move(g));
      } else {
        n->kids.push_back(std::move(k));
      }
    }
    return fold(std::move(n));
  }
  case op::not_:
  case op::neg: {
    if (e.children.size() != 1) return fail("operator needs one operand", e.where);
    auto k = build(e.children[0]);
    if (!k) return nullptr;
    if (e.kind == op::neg && k->kind == nk::constant && k->constant.t != vt::null &&
        !is_number(k->constant))
      return fail("cannot negate a non-number", e.children[0].where);
    auto n = std::make_unique<node>();
    n->kind = e.kind == op::not_ ? nk::not_ : nk::neg;
    n->kids.push_back(std::move(k));
    return fold(std::move(n));
  }
  default:
    break;
  }
  if (e.children.size() != 2) return fail("operator needs two operands", e.where);
  const expr& le = e.children[0];
  const expr& re = e.children[1];
  switch (e.kind) {
  case op::in:
  case op::in_insensitive:
  case op::not_in:
  case op::not_in_insensitive: {
    auto subject = build(le);
    if (!subject) return nullptr;
    bool insensitive = e.kind == op::in_insensitive || e.kind == op::not_in_insensitive;
    bool negate = e.kind == op::not_in || e.kind == op::not_in_insensitive;
    return build_match(e, std::move(subject), list_items(re), cs && !insensitive, 0, negate);
  }
  case op::colon: {
    auto subject = build(le);
    if (!subject) return nullptr;
    return build_match(e, std::move(subject), list_items(re), false, 2, false);
  }
  case op::like:
  case op::like_insensitive:
  case op::regex:
  case op::regex_insensitive: {
    auto subject = build(le);
    if (!subject) return nullptr;
    bool insensitive = e.kind == op::like_insensitive || e.kind == op::regex_insensitive;
    int mode = (e.kind == op::like || e.kind == op::like_insensitive) ? 2 : 3;
    // Elastic: `like`/`regex` are case-sensitive, the `~` forms are not.
    return build_match(e, std::move(subject), list_items(re), !insensitive, mode, false);
  }
  default:
    break;
  }
  auto a = build(le);
  if (!a) return nullptr;
  auto b = build(re);
  if (!b) return nullptr;
  switch (e.kind) {
  case op::eq:
  case op::ne: {
    bool eq = e.kind == op::eq;
    bool ac = a->kind == nk::constant, bc = b->kind == nk::constant;
    if (ac && bc) {
      // Both constant: fold with the same rules as at run time.
      auto n = std::make_unique<node>();
      n->kind = eq ? nk::eq : nk::ne;
      n->case_sensitive = cs;
      if (a->constant.t == vt::null || b->constant.t == vt::null) {
        bool same = a->constant.t == b->constant.t;
        return make_constant(value::boolean(same == eq));
      }
      if (has_star(b->constant)) {
        detail::wildcard_pattern w(b->text, cs, false);
        return make_constant(
            value::boolean((a->constant.t == vt::string && w.match(a->constant.s)) == eq));
      }
      n->kids.push_back(std::move(a));
      n->kids.push_back(std::move(b));
      return fold(std::move(n));
    }
    if (ac && !bc) std::swap(a, b);
    if (b->kind == nk::constant) {
      if (b->constant.t == vt::null) {
        auto n = std::make_unique<node>();
        n->kind = eq ? nk::is_null : nk::not_null;
        n->kids.push_back(std::move(a));
        return n;
      }
      // Field against a literal: a one-item matcher (wildcard when the literal has `*`).
      const expr& lit = ac && !bc ? le : re;
      return build_match(e, std::move(a), {&lit}, cs, 1, !eq);
    }
    auto n = std::make_unique<node>();
    n->kind = eq ? nk::eq : nk::ne;
    n->case_sensitive = cs;
    n->kids.push_back(std::move(a));
    n->kids.push_back(std::move(b));
    return n;
  }
  case op::lt:
  case op::le:
  case op::gt:
  case op::ge:
  case op::add:
  case op::sub:
  case op::mul:
  case op::div:
  case op::mod: {
    bool arithmetic = e.kind >= op::add;
    if (arithmetic) {
      if (a->kind == nk::constant && (a->constant.t == vt::string || a->constant.t == vt::boolean))
        return fail("arithmetic needs numbers", le.where);
      if (b->kind == nk::constant && (b->constant.t == vt::string || b->constant.t == vt::boolean))
        return fail("arithmetic needs numbers", re.where);
    }
    auto n = std::make_unique<node>();
    n->kind = binary_kind(e.kind);
    n->case_sensitive = cs;
    n->kids.push_back(std::move(a));
    n->kids.push_back(std::move(b));
    return fold(std::move(n));
  }
  default:
    return fail("unsupported operator", e.where);
  }
}

std::unique_ptr<node> compiler::build_call(const expr& e) {
  bool insensitive = false;
  auto info = detail::find_function(e.name, insensitive);
  if (!info) return fail("unknown function '" + e.name + "'", e.where);
  auto argc = e.children.size();
  if (argc < info->min_args || (info->max_args != 255 && argc > info->max_args)) {
    std::string want =
        info->min_args == info->max_args
            ? std::to_string(info->min_args)
            : std::to_string(info->min_args) + " to " +
                  (info->max_args == 255 ? std::string("any") : std::to_string(info->max_args));
    return fail(std::string(info->canonical) + "() takes " + want + " arguments, got " +
                    std::to_string(argc),
                e.where);
  }
  const bool cs = opts_.case_sensitive && !insensitive;
  const auto id = info->id;
  // Arithmetic functions are the operators.
  if (id == function_id::add || id == function_id::subtract || id == function_id::multiply ||
      id == function_id::divide || id == function_id::modulo) {
    expr op_expr;
    op_expr.where = e.where;
    op_expr.kind = id == function_id::add        ? op::add
                   : id == function_id::subtract ? op::sub
                   : id == function_id::multiply ? op::mul
                   : id == function_id::divide   ? op::div
                                                 : op::mod;
    op_expr.children = e.children;
    return build(op_expr);
  }
  if (id == function_id::wildcard || id == function_id::match || id == function_id::match_lite) {
    std::vector<const expr*> items;
    bool literal = true;
    for (std::size_t i = 1; i < argc; ++i) {
      items.push_back(&e.children[i]);
      literal &= e.children[i].kind == op::literal;
    }
    if (id != function_id::wildcard || literal) {
      auto subject = build(e.children[0]);
      if (!subject) return nullptr;
      return build_match(e, std::move(subject), items, cs, id == function_id::wildcard ? 2 : 4,
                         false);
    }
  }
  auto n = std::make_unique<node>();
  n->kind = nk::call;
  n->func = id;
  n->case_sensitive = cs;
  if (id == function_id::array_search || id == function_id::array_count) {
    const expr& var = e.children[1];
    if (var.kind != op::field || var.path.size() != 1 || var.path[0].name.empty())
      return fail("expected a variable name", var.where);
    if (locals_.size() >= eval_context{}.locals.size())
      return fail("array functions nested too deeply", e.where);
    auto arr = build(e.children[0]);
    if (!arr) return nullptr;
    n->index = static_cast<int>(locals_.size());
    locals_.push_back(var.path[0].name);
    auto pred = build(e.children[2]);
    locals_.pop_back();
    if (!pred) return nullptr;
    n->kids.push_back(std::move(arr));
    n->kids.push_back(std::move(pred));
    return n;
  }
  for (const auto& c : e.children) {
    auto k = build(c);
    if (!k) return nullptr;
    n->kids.push_back(std::move(k));
  }
  // Literal arguments of the wrong type are errors now rather than nulls at run time.
  const char* sig = id == function_id::starts_with || id == function_id::ends_with ||
                            id == function_id::string_contains
                        ? "ss"
                    : id == function_id::index_of  ? "ssi"
                    : id == function_id::substring ? "sii"
                    : id == function_id::between   ? "sssbb"
                    : id == function_id::number    ? "*i"
                                                   : "";
  for (std::size_t i = 0; i < argc && sig[i] != 0; ++i) {
    const auto& k = *n->kids[i];
    if (k.kind != nk::constant || k.constant.t == vt::null || sig[i] == '*') continue;
    const char* want = nullptr;
    if (sig[i] == 's' && k.constant.t != vt::string) want = "a string";
    if (sig[i] == 'i' && k.constant.t != vt::integer) want = "an integer";
    if (sig[i] == 'b' && k.constant.t != vt::boolean) want = "a boolean";
    if (want)
      return fail("argument " + std::to_string(i + 1) + " of " + std::string(info->canonical) +
                      "() must be " + want,
                  e.children[i].where);
  }
  if (id == function_id::cidr_match) {
    for (std::size_t i = 1; i < argc; ++i) {
      const auto& k = *n->kids[i];
      if (k.kind != nk::constant || k.constant.t != vt::string)
        return fail("cidrMatch() needs CIDR string literals", e.children[i].where);
      auto c = detail::parse_cidr(k.constant.s);
      if (!c) return fail("invalid CIDR '" + k.text + "'", e.children[i].where);
      n->cidrs.push_back(*c);
    }
    n->kids.resize(1);
  }
  if (id == function_id::in_list) {
    const auto& k = *n->kids[1];
    if (k.kind != nk::constant || k.constant.t != vt::string)
      return fail("inList() needs a list name string", e.children[1].where);
    n->list = opts_.lists ? opts_.lists->find(k.constant.s) : nullptr;
    if (!n->list) return fail("unknown list '" + k.text + "'", e.children[1].where);
    n->kids.resize(1);
  }
  return fold(std::move(n));
}

} // namespace

value expression::eval(eval_context& ctx) const {
  ctx.reset();
  if (!root_) return value::null();
  return eval_node(*root_, ctx);
}

bool expression::test(eval_context& ctx) const {
  value v = eval(ctx);
  return v.t == vt::boolean && v.b;
}

bool expression::is_constant() const noexcept {
  return root_ && root_->kind == nk::constant;
}

expected<expression, error> compile(const expr& e, const compile_options& options) {
  compiler c(options);
  auto root = c.build(e);
  if (!root) return unexpected{c.failed ? c.err : error{"compile failed", e.where}};
  expression out;
  out.root_ = std::shared_ptr<const expression::node>(std::move(root));
  return out;
}

} // namespace chainwatch::eql
