// Sigma YAML documents to rules: metadata, logsource, and the detection compiled to EQL.
// yaml-cpp throws on malformed YAML; its exceptions stop here and become errors.

#include "values.hpp"

#include <algorithm>
#include <chainwatch/eql/compile.hpp>
#include <chainwatch/sigma/sigma.hpp>
#include <charconv>
#include <optional>
#include <sstream>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

namespace chainwatch::sigma {

namespace {

using eql::expr;
using eql::literal;
using eql::op;

// Thrown inside this file only: a refusal at a YAML node, caught per document.
struct refusal {
  error err;
};

[[noreturn]] void refuse(const YAML::Node& n, std::string message) {
  const auto m = n.Mark();
  throw refusal{error{std::move(message), m.is_null() ? 0u : static_cast<std::uint32_t>(m.line + 1),
                      m.is_null() ? 0u : static_cast<std::uint32_t>(m.column + 1)}};
}

// --- EQL syntax tree helpers --------------------------------------------------------------------

expr lit(literal v) {
  expr e;
  e.kind = op::literal;
  e.value = std::move(v);
  return e;
}

expr field_node(const std::string& name) {
  expr f;
  f.kind = op::field;
  std::size_t start = 0;
  for (;;) {
    auto dot = name.find('.', start);
    f.path.push_back(
        {name.substr(start, dot == std::string::npos ? std::string::npos : dot - start)});
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return f;
}

expr binary(op k, expr a, expr b) {
  expr e;
  e.kind = k;
  e.children.push_back(std::move(a));
  e.children.push_back(std::move(b));
  return e;
}

expr negate(expr a) {
  expr e;
  e.kind = op::not_;
  e.children.push_back(std::move(a));
  return e;
}

expr list_of(std::vector<expr> items) {
  expr l;
  l.kind = op::list;
  l.children = std::move(items);
  return l;
}

expr call(std::string name, std::vector<expr> args) {
  expr c;
  c.kind = op::call;
  c.name = std::move(name);
  c.children = std::move(args);
  return c;
}

// `a and b and ...` (or `or`) as a balanced tree, so long lists stay shallow.
expr join(op k, std::vector<expr> parts, std::size_t from, std::size_t to) {
  if (to - from == 1) return std::move(parts[from]);
  const std::size_t mid = from + (to - from) / 2;
  expr l = join(k, parts, from, mid);
  expr r = join(k, parts, mid, to);
  return binary(k, std::move(l), std::move(r));
}
expr join(op k, std::vector<expr> parts) {
  return join(k, parts, 0, parts.size());
}

// A regular expression matching `s` exactly, its wildcards as `.*` / `.`.
std::string to_regex(const sigma_string& s) {
  std::string out = "(?s)";
  for (std::size_t i = 0; i < s.text.size(); ++i) {
    const char c = s.text[i];
    if (s.wild[i]) {
      out += c == '*' ? ".*" : ".";
      continue;
    }
    if (std::string_view("\\^$.|?*+()[]{}").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

bool has_literal_wildcard(const sigma_string& s) {
  for (std::size_t i = 0; i < s.text.size(); ++i)
    if (!s.wild[i] && (s.text[i] == '*' || s.text[i] == '?')) return true;
  return false;
}

// --- YAML helpers -----------------------------------------------------------------------------

std::string scalar(const YAML::Node& n) {
  return n && n.IsScalar() ? n.Scalar() : std::string{};
}

// A plain (unquoted) scalar that YAML reads as a number or a boolean.
std::optional<literal> typed(const YAML::Node& n) {
  if (!n.IsScalar() || n.Tag() != "?") return std::nullopt;
  const std::string& s = n.Scalar();
  std::int64_t i = 0;
  if (auto r = std::from_chars(s.data(), s.data() + s.size(), i);
      r.ec == std::errc{} && r.ptr == s.data() + s.size())
    return literal{i};
  if (s == "true" || s == "True" || s == "TRUE") return literal{true};
  if (s == "false" || s == "False" || s == "FALSE") return literal{false};
  return std::nullopt;
}

bool is_null(const YAML::Node& n) {
  return n.IsNull() ||
         (n.IsScalar() && n.Tag() == "?" && (n.Scalar() == "null" || n.Scalar() == "~"));
}

// --- detection ----------------------------------------------------------------------------------

// What one rule may compile to: bytes of its values plus 16 per value or node. A YAML alias
// repeats a list or a map without repeating its text, and a condition repeats its selections,
// so a 2 KB file could ask for gigabytes and minutes (sigma_fuzz).
constexpr std::size_t max_rule_size = std::size_t{4} << 20;

class size_budget {
public:
  void charge(const YAML::Node& at, std::size_t n) {
    used_ += n;
    if (used_ > max_rule_size)
      refuse(at, "the detection compiles to more than 4 MiB of values (YAML aliases or a "
                 "condition repeating large selections)");
  }

private:
  std::size_t used_ = 0;
};

std::size_t size_of(const expr& e) {
  std::size_t n = 16;
  if (const auto* s = std::get_if<std::string>(&e.value)) n += s->size();
  for (const auto& c : e.children)
    n += size_of(c);
  return n;
}

struct modifiers {
  bool contains = false, startswith = false, endswith = false, all = false, cased = false;
  bool re = false, re_i = false, re_m = false, re_s = false;
  bool cidr = false, exists = false, fieldref = false, neq = false, windash_ = false;
  std::optional<op> compare; // gt, gte, lt, lte
  // value transformations in the order written: "utf16le", "utf16be", "utf16", "base64",
  // "base64offset", "windash"
  std::vector<std::string> transforms;
};

class compiler {
public:
  compiler(const product_map* pm, const logsource_map* lm, size_budget& budget)
      : pm_(pm), lm_(lm), budget_(budget) {}

  // The ECS field of a Sigma field named at `at`.
  std::string ecs(const std::string& sigma_field, const YAML::Node& at) const {
    std::string f = ecs(sigma_field);
    if (pm_ && pm_->refuse_unmapped && f == sigma_field && f.find('.') == std::string::npos)
      refuse(at, "field '" + sigma_field + "' has no mapping for product " + pm_->product +
                     " (config/sigma/" + pm_->product + ".toml)");
    // EQL names no empty path segment (`a..b`, `a.`) and no line break, even backquoted.
    if (f.empty() || f.front() == '.' || f.back() == '.' || f.find("..") != std::string::npos ||
        f.find_first_of("\r\n") != std::string::npos)
      refuse(at, "field '" + sigma_field + "' is not a field name EQL can use");
    return f;
  }

  std::string ecs(const std::string& sigma_field) const {
    if (lm_) {
      if (auto it = lm_->fields.find(sigma_field); it != lm_->fields.end()) return it->second;
    }
    if (pm_) {
      if (auto it = pm_->fields.find(sigma_field); it != pm_->fields.end()) return it->second;
      if (sigma_field.find('.') == std::string::npos) return pm_->unmapped_prefix + sigma_field;
    }
    return sigma_field;
  }

  // A search identifier's definition.
  expr selection(const YAML::Node& def, const std::string& name) {
    if (def.IsMap()) return field_map(def);
    if (def.IsSequence()) {
      if (def.size() == 0) refuse(def, "selection '" + name + "' is an empty list");
      std::vector<expr> alternatives;
      for (const auto& item : def) {
        if (!item.IsMap())
          refuse(item, "selection '" + name +
                           "' lists values without a field (keywords): they search every "
                           "field of an event, which chainwatch does not");
        alternatives.push_back(field_map(item));
      }
      return join(op::or_, std::move(alternatives));
    }
    refuse(def, "selection '" + name +
                    "' is a value without a field (keywords): it searches every field of an "
                    "event, which chainwatch does not");
  }

private:
  expr field_map(const YAML::Node& m) {
    if (m.size() == 0) refuse(m, "an empty map matches nothing");
    std::vector<expr> parts;
    for (const auto& kv : m) {
      const std::string key = kv.first.Scalar();
      parts.push_back(field_item(kv.first, key, kv.second));
    }
    return join(op::and_, std::move(parts));
  }

  modifiers parse_modifiers(const YAML::Node& at, const std::vector<std::string>& names) {
    modifiers m;
    for (const auto& n : names) {
      if (n == "contains")
        m.contains = true;
      else if (n == "startswith")
        m.startswith = true;
      else if (n == "endswith")
        m.endswith = true;
      else if (n == "all")
        m.all = true;
      else if (n == "cased")
        m.cased = true;
      else if (n == "re")
        m.re = true;
      else if (n == "i")
        m.re_i = true;
      else if (n == "m")
        m.re_m = true;
      else if (n == "s")
        m.re_s = true;
      else if (n == "cidr")
        m.cidr = true;
      else if (n == "exists")
        m.exists = true;
      else if (n == "fieldref")
        m.fieldref = true;
      else if (n == "neq")
        m.neq = true;
      else if (n == "gt")
        m.compare = op::gt;
      else if (n == "gte")
        m.compare = op::ge;
      else if (n == "lt")
        m.compare = op::lt;
      else if (n == "lte")
        m.compare = op::le;
      else if (n == "wide" || n == "utf16le")
        m.transforms.push_back("utf16le");
      else if (n == "utf16be" || n == "utf16" || n == "base64" || n == "base64offset")
        m.transforms.push_back(n);
      else if (n == "windash")
        m.transforms.push_back(n);
      else if (n == "expand")
        refuse(at, "modifier 'expand': placeholders need values from a processing pipeline, "
                   "which chainwatch does not have");
      else if (n == "minute" || n == "hour" || n == "day" || n == "week" || n == "month" ||
               n == "year")
        refuse(at, "time modifier '" + n + "' is not supported");
      else
        refuse(at, "unknown modifier '" + n + "'");
    }
    if ((m.re_i || m.re_m || m.re_s) && !m.re)
      refuse(at, "the regular expression flags i, m, s need the 're' modifier");
    if (int(m.contains) + int(m.startswith) + int(m.endswith) > 1)
      refuse(at, "contains, startswith and endswith exclude each other");
    return m;
  }

  expr field_item(const YAML::Node& key_node, const std::string& key, const YAML::Node& value) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    for (;;) {
      auto bar = key.find('|', start);
      parts.push_back(
          key.substr(start, bar == std::string::npos ? std::string::npos : bar - start));
      if (bar == std::string::npos) break;
      start = bar + 1;
    }
    const std::string sigma_field = parts[0];
    if (sigma_field.empty())
      refuse(key_node, "a value without a field (keywords) searches every field of an event, "
                       "which chainwatch does not");
    const modifiers m = parse_modifiers(key_node, {parts.begin() + 1, parts.end()});
    const std::string field = ecs(sigma_field, key_node);

    std::vector<YAML::Node> values;
    if (value.IsSequence()) {
      if (value.size() == 0) refuse(value, "field '" + sigma_field + "' has an empty value list");
      for (const auto& v : value)
        values.push_back(v);
    } else {
      values.push_back(value);
    }
    for (const auto& v : values) {
      if (v.IsMap() || v.IsSequence())
        refuse(v, "field '" + sigma_field + "': a value must be a scalar");
      budget_.charge(v, 16 + scalar(v).size());
    }

    expr out = match(field, m, values);
    if (m.neq)
      out = binary(op::and_, binary(op::ne, field_node(field), lit(std::monostate{})),
                   negate(std::move(out)));
    return out;
  }

  expr link(const modifiers& m, std::vector<expr> parts) {
    return join(m.all ? op::and_ : op::or_, std::move(parts));
  }

  expr match(const std::string& field, const modifiers& m, const std::vector<YAML::Node>& values) {
    if (m.exists) {
      if (values.size() != 1 || !typed(values[0]) ||
          !std::holds_alternative<bool>(*typed(values[0])))
        refuse(values[0], "'exists' takes true or false");
      const bool want = std::get<bool>(*typed(values[0]));
      return binary(want ? op::ne : op::eq, field_node(field), lit(std::monostate{}));
    }
    if (m.compare) {
      std::vector<expr> parts;
      for (const auto& v : values) {
        auto t = typed(v);
        literal bound;
        if (t && std::holds_alternative<std::int64_t>(*t)) {
          bound = *t;
        } else {
          double d = 0;
          const std::string s = scalar(v);
          auto r = std::from_chars(s.data(), s.data() + s.size(), d);
          if (s.empty() || r.ec != std::errc{} || r.ptr != s.data() + s.size())
            refuse(v, "gt/gte/lt/lte take a number");
          bound = d;
        }
        parts.push_back(binary(*m.compare, field_node(field), lit(std::move(bound))));
      }
      return link(m, std::move(parts));
    }
    if (m.cidr) {
      std::vector<expr> parts;
      for (const auto& v : values) {
        if (is_null(v)) refuse(v, "'cidr' takes a network, not null");
        parts.push_back(call("cidrMatch", {field_node(field), lit(scalar(v))}));
      }
      return link(m, std::move(parts));
    }
    if (m.fieldref) {
      std::vector<expr> parts;
      for (const auto& v : values) {
        expr other = field_node(ecs(scalar(v), v));
        const std::string tilde = m.cased ? "" : "~";
        if (m.startswith)
          parts.push_back(call("startsWith" + tilde, {field_node(field), other}));
        else if (m.endswith)
          parts.push_back(call("endsWith" + tilde, {field_node(field), other}));
        else if (m.contains)
          parts.push_back(call("stringContains" + tilde, {field_node(field), other}));
        else
          parts.push_back(
              binary(m.cased ? op::in : op::in_insensitive, field_node(field), list_of({other})));
      }
      return link(m, std::move(parts));
    }
    if (m.re) {
      std::vector<expr> parts;
      for (const auto& v : values) {
        if (is_null(v)) refuse(v, "'re' takes a regular expression, not null");
        std::string flags = m.re_m ? "m" : "";
        if (m.re_s) flags += "s";
        // Sigma searches; the EQL `regex` matches the whole value.
        std::string pattern =
            "(?s:.*)(?" + (flags.empty() ? std::string() : flags) + ":" + scalar(v) + ")(?s:.*)";
        parts.push_back(binary(m.re_i ? op::regex_insensitive : op::regex, field_node(field),
                               lit(std::move(pattern))));
      }
      return link(m, std::move(parts));
    }

    // Strings (and numbers and booleans as written). With `all`, each value must hold; else any.
    std::vector<expr> parts;
    std::vector<expr> exact, like, regex; // or-linked groups
    auto flush_one = [&](std::vector<expr>& group, op k) {
      if (group.empty()) return;
      parts.push_back(binary(k, field_node(field), list_of(std::move(group))));
      group.clear();
    };
    for (const auto& v : values) {
      if (is_null(v)) {
        if (m.contains || m.startswith || m.endswith || !m.transforms.empty())
          refuse(v, "null takes no string modifier");
        parts.push_back(binary(op::eq, field_node(field), lit(std::monostate{})));
        continue;
      }
      const auto t = typed(v);
      std::vector<sigma_string> forms{parse_sigma_string(scalar(v))};
      for (const auto& tr : m.transforms) {
        std::vector<sigma_string> next;
        for (const auto& f : forms) {
          if (tr == "windash") {
            auto w = windash_variants(f, 4096);
            if (w.empty()) refuse(v, "'windash' gives too many variants of this value");
            next.insert(next.end(), w.begin(), w.end());
            continue;
          }
          if (f.has_wildcard())
            refuse(v, "modifier '" + tr + "' cannot encode a value with wildcards");
          auto plain = [](std::string s) {
            sigma_string r;
            r.wild.assign(s.size(), false);
            r.text = std::move(s);
            return r;
          };
          if (tr == "utf16le" || tr == "utf16be" || tr == "utf16")
            next.push_back(plain(utf16(f.text, tr == "utf16be", tr == "utf16")));
          else if (tr == "base64")
            next.push_back(plain(base64(f.text)));
          else // base64offset
            for (auto& s : base64_offsets(f.text))
              next.push_back(plain(std::move(s)));
        }
        for (const auto& f : next)
          budget_.charge(v, 16 + f.text.size());
        forms = std::move(next);
      }
      for (const auto& f : forms)
        for (char c : f.text)
          if (c == '\0')
            refuse(v, "UTF-16 text can only be matched through base64 (add |base64 or "
                      "|base64offset)");
      std::vector<expr> mine_exact, mine_like, mine_regex;
      for (auto f : forms) {
        if (m.contains || m.endswith) {
          f.text.insert(f.text.begin(), '*');
          f.wild.insert(f.wild.begin(), true);
        }
        if (m.contains || m.startswith) {
          f.text.push_back('*');
          f.wild.push_back(true);
        }
        if (!f.has_wildcard()) {
          if (t && forms.size() == 1 && !m.contains && !m.startswith && !m.endswith)
            mine_exact.push_back(lit(*t)); // 4688 also matches the number
          // `in` follows the engine's case option; `like` is always case-sensitive.
          if (!m.cased)
            mine_exact.push_back(lit(f.text));
          else if (f.text.find_first_of("*?") == std::string::npos)
            mine_like.push_back(lit(f.text));
          else
            mine_regex.push_back(lit(to_regex(f)));
        } else if (has_literal_wildcard(f)) {
          mine_regex.push_back(lit(to_regex(f)));
        } else {
          mine_like.push_back(lit(f.text));
        }
      }
      if (m.all && values.size() > 1) {
        // this value's forms are alternatives; the values all hold
        std::vector<expr> alt;
        std::swap(exact, mine_exact);
        std::swap(like, mine_like);
        std::swap(regex, mine_regex);
        const std::size_t before = parts.size();
        flush_one(exact, op::in_insensitive);
        flush_one(like, m.cased ? op::like : op::like_insensitive);
        flush_one(regex, m.cased ? op::regex : op::regex_insensitive);
        alt.assign(std::make_move_iterator(parts.begin() + static_cast<std::ptrdiff_t>(before)),
                   std::make_move_iterator(parts.end()));
        parts.resize(before);
        parts.push_back(join(op::or_, std::move(alt)));
        continue;
      }
      for (auto& e : mine_exact)
        exact.push_back(std::move(e));
      for (auto& e : mine_like)
        like.push_back(std::move(e));
      for (auto& e : mine_regex)
        regex.push_back(std::move(e));
    }
    flush_one(exact, op::in_insensitive);
    flush_one(like, m.cased ? op::like : op::like_insensitive);
    flush_one(regex, m.cased ? op::regex : op::regex_insensitive);
    return (m.all && values.size() > 1) ? join(op::and_, std::move(parts))
                                        : join(op::or_, std::move(parts));
  }

  const product_map* pm_;
  const logsource_map* lm_;
  size_budget& budget_;
};

// --- condition ----------------------------------------------------------------------------------

// A missing field makes an EQL comparison null, and `not null` is null: under a `not`, each
// comparison is guarded by `field != null` so that it is false, as a Sigma selection is.
expr guarded(expr e) {
  if (e.kind == op::and_ || e.kind == op::or_ || e.kind == op::not_) {
    for (auto& c : e.children)
      c = guarded(std::move(c));
    return e;
  }
  if ((e.kind == op::eq || e.kind == op::ne) && e.children.size() == 2 &&
      e.children[1].kind == op::literal &&
      std::holds_alternative<std::monostate>(e.children[1].value))
    return e; // a null test is never null
  if (e.children.empty() || e.children[0].kind != op::field) return e;
  expr f = e.children[0];
  return binary(op::and_, binary(op::ne, std::move(f), lit(std::monostate{})), std::move(e));
}

class condition_parser {
public:
  condition_parser(const YAML::Node& at, std::string_view text,
                   const std::map<std::string, expr>& selections, size_budget& budget)
      : at_(at), s_(text), sel_(selections), budget_(budget) {}

  expr run() {
    tokenize();
    expr e = parse_or();
    if (pos_ != toks_.size()) {
      if (toks_[pos_] == "|")
        refuse(at_, "condition: '|' aggregations (count() by ...) are deprecated and not "
                    "supported; write a correlation rule");
      refuse(at_, "condition: unexpected '" + toks_[pos_] + "'");
    }
    return e;
  }

private:
  void tokenize() {
    std::size_t i = 0;
    while (i < s_.size()) {
      const char c = s_[i];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        ++i;
      } else if (c == '(' || c == ')' || c == '|') {
        toks_.emplace_back(1, c);
        ++i;
      } else {
        std::size_t j = i;
        while (j < s_.size() && s_[j] != ' ' && s_[j] != '\t' && s_[j] != '\n' && s_[j] != '\r' &&
               s_[j] != '(' && s_[j] != ')' && s_[j] != '|')
          ++j;
        toks_.emplace_back(s_.substr(i, j - i));
        i = j;
      }
    }
  }
  bool at_word(std::string_view w) const { return pos_ < toks_.size() && toks_[pos_] == w; }
  const std::string& next() {
    if (pos_ >= toks_.size()) refuse(at_, "condition: ends too early");
    return toks_[pos_++];
  }

  expr parse_or() {
    std::vector<expr> parts{parse_and()};
    while (at_word("or")) {
      ++pos_;
      parts.push_back(parse_and());
    }
    return join(op::or_, std::move(parts));
  }
  expr parse_and() {
    std::vector<expr> parts{parse_not()};
    while (at_word("and")) {
      ++pos_;
      parts.push_back(parse_not());
    }
    return join(op::and_, std::move(parts));
  }
  expr parse_not() {
    if (at_word("not")) {
      ++pos_;
      if (++depth_ > 200) refuse(at_, "condition: nested too deeply");
      expr e = negate(guarded(parse_not()));
      --depth_;
      return e;
    }
    return parse_primary();
  }
  expr parse_primary() {
    const std::string tok = next();
    if (tok == "(") {
      if (++depth_ > 200) refuse(at_, "condition: nested too deeply");
      expr e = parse_or();
      if (!at_word(")")) refuse(at_, "condition: expected ')'");
      ++pos_;
      --depth_;
      return e;
    }
    if ((tok == "1" || tok == "any" || tok == "all") && at_word("of")) {
      ++pos_;
      const std::string target = next();
      std::vector<expr> parts;
      for (const auto& [name, e] : sel_) {
        const bool hit =
            target == "them" ? !name.starts_with("_") : eql::wildcard_match(target, name, true);
        if (hit) {
          budget_.charge(at_, size_of(e));
          parts.push_back(e);
        }
      }
      if (parts.empty())
        refuse(at_, "condition: '" + tok + " of " + target + "' names no search identifier");
      return join(tok == "all" ? op::and_ : op::or_, std::move(parts));
    }
    if (std::all_of(tok.begin(), tok.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
        at_word("of"))
      refuse(at_, "condition: '" + tok + " of' is not supported (only 1 of, any of, all of)");
    if (tok == "and" || tok == "or" || tok == ")" || tok == "|" || tok == "of")
      refuse(at_, "condition: unexpected '" + tok + "'");
    auto it = sel_.find(tok);
    if (it == sel_.end()) refuse(at_, "condition: no search identifier '" + tok + "'");
    budget_.charge(at_, size_of(it->second));
    return it->second;
  }

  const YAML::Node& at_;
  std::string_view s_;
  const std::map<std::string, expr>& sel_;
  size_budget& budget_;
  std::vector<std::string> toks_;
  std::size_t pos_ = 0;
  int depth_ = 0;
};

// --- documents ----------------------------------------------------------------------------------

const product_map* product_of(const mapping& maps, const std::string& product) {
  for (const auto& p : maps.products)
    if (p.product == product) return &p;
  return nullptr;
}

rule compile_document(const YAML::Node& doc, const mapping& maps) {
  if (!doc.IsMap()) refuse(doc, "a Sigma document must be a map");
  if (doc["correlation"]) refuse(doc["correlation"], "correlation rules are not supported yet");
  if (doc["filter"]) refuse(doc["filter"], "Sigma filters are not supported yet");
  if (doc["action"])
    refuse(doc["action"], "rule collections (action: global/reset/repeat) are not supported");
  rule r;
  r.id = scalar(doc["id"]);
  r.title = scalar(doc["title"]);
  r.description = scalar(doc["description"]);
  r.status = scalar(doc["status"]);
  r.level = scalar(doc["level"]);
  if (const auto tags = doc["tags"]; tags && tags.IsSequence())
    for (const auto& t : tags)
      r.tags.push_back(scalar(t));
  if (const auto f = doc["fields"]; f && f.IsSequence())
    for (const auto& t : f)
      r.fields.push_back(scalar(t));
  if (r.title.empty()) refuse(doc, "a Sigma rule needs a title");
  const auto ls = doc["logsource"];
  if (!ls || !ls.IsMap()) refuse(doc, "a Sigma rule needs a logsource");
  r.source.product = scalar(ls["product"]);
  r.source.category = scalar(ls["category"]);
  r.source.service = scalar(ls["service"]);
  const auto det = doc["detection"];
  if (!det || !det.IsMap()) refuse(doc, "a Sigma rule needs a detection");

  const product_map* pm = product_of(maps, r.source.product);
  const std::string where_text =
      "product=" + r.source.product +
      (r.source.category.empty() ? "" : " category=" + r.source.category) +
      (r.source.service.empty() ? "" : " service=" + r.source.service);
  if (!pm)
    refuse(ls, "no field mapping for logsource " + where_text +
                   " (config/sigma/ has no table for product '" + r.source.product + "')");
  const logsource_map* lm = nullptr;
  for (const auto& l : pm->logsources) {
    if (!l.category.empty() && l.category != r.source.category) continue;
    if (!l.service.empty() && l.service != r.source.service) continue;
    lm = &l;
    break;
  }
  if (!lm && pm->require_logsource && (!r.source.category.empty() || !r.source.service.empty()))
    refuse(ls,
           "no logsource mapping for " + where_text + " in config/sigma/" + pm->product + ".toml");

  size_budget budget;
  compiler c(pm, lm, budget);
  std::map<std::string, expr> selections;
  YAML::Node cond_node;
  for (const auto& kv : det) {
    const std::string name = kv.first.Scalar();
    if (name == "condition") {
      cond_node = kv.second;
      continue;
    }
    if (name == "timeframe") refuse(kv.first, "'timeframe' belongs to aggregations; not supported");
    selections.emplace(name, c.selection(kv.second, name));
  }
  if (!cond_node) refuse(det, "detection needs a condition");
  std::string cond_text;
  if (cond_node.IsSequence()) {
    if (cond_node.size() != 1)
      refuse(cond_node, "a list of several conditions is not supported (write one with 'or')");
    cond_text = scalar(cond_node[0]);
  } else {
    cond_text = scalar(cond_node);
  }
  if (cond_text.empty()) refuse(cond_node, "the condition is empty");
  expr cond = condition_parser(cond_node, cond_text, selections, budget).run();

  eql::event_query q;
  q.category = "any";
  if (lm) {
    std::vector<expr> parts;
    for (const auto& [f, vals] : lm->where) {
      if (f == "event.category" && vals.size() == 1) {
        q.category = vals[0];
        continue;
      }
      std::vector<expr> items;
      for (const auto& v : vals)
        items.push_back(lit(v));
      parts.push_back(binary(op::in_insensitive, field_node(f), list_of(std::move(items))));
    }
    if (!parts.empty()) {
      parts.push_back(std::move(cond));
      cond = join(op::and_, std::move(parts));
    }
  }
  // What the engine would refuse (a `re` RE2 cannot run, a bad network in `cidr`) is refused
  // here, so that one such rule is skipped with its reason instead of failing a whole rule set.
  if (auto c = eql::compile(cond, {}); !c)
    refuse(det, "the EQL this detection compiles to is refused: " + c.error().message);
  q.condition = std::move(cond);
  r.query.body = std::move(q);
  return r;
}

// Notes where each document starts, and keeps nothing else.
class document_starts : public YAML::EventHandler {
public:
  void OnDocumentStart(const YAML::Mark& mark) override { start = mark; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
  YAML::Mark start;
};

// YAML::LoadAll, except that it ends. yaml-cpp 0.7 (Debian 12) loops forever, allocating, on
// a document starting with a token no node starts with (`,`): its parser returns an empty
// document for it again and again without consuming it (jbeder/yaml-cpp#1040, fixed upstream
// by #1319). A first pass that keeps nothing throws where a document starts where the one
// before it did; then LoadAll parses a stream known to end.
std::vector<YAML::Node> load_all(const std::string& text) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  document_starts starts;
  std::optional<int> previous;
  while (parser.HandleNextDocument(starts)) {
    if (previous && *previous == starts.start.pos) {
      const auto at = static_cast<std::size_t>(starts.start.pos);
      throw YAML::ParserException(
          starts.start, "unexpected '" + (at < text.size() ? text.substr(at, 1) : "") + "'");
    }
    previous = starts.start.pos;
  }
  return YAML::LoadAll(text);
}

} // namespace

std::vector<document> parse_rules(std::string_view yaml_text, const mapping& maps) {
  std::vector<document> out;
  std::vector<YAML::Node> docs;
  try {
    docs = load_all(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    document d;
    d.result = unexpected{error{"YAML: " + e.msg, static_cast<std::uint32_t>(e.mark.line + 1),
                                static_cast<std::uint32_t>(e.mark.column + 1)}};
    out.push_back(std::move(d));
    return out;
  }
  for (const auto& doc : docs) {
    if (doc.IsNull()) continue;
    document d;
    d.line = doc.Mark().is_null() ? 1 : static_cast<std::uint32_t>(doc.Mark().line + 1);
    try {
      if (doc.IsMap()) {
        d.title = scalar(doc["title"]);
        d.id = scalar(doc["id"]);
      }
      rule r = compile_document(doc, maps);
      r.line = d.line;
      d.result = std::move(r);
    } catch (const refusal& f) {
      d.result = unexpected{f.err};
    } catch (const YAML::Exception& e) {
      d.result = unexpected{error{"YAML: " + e.msg, static_cast<std::uint32_t>(e.mark.line + 1),
                                  static_cast<std::uint32_t>(e.mark.column + 1)}};
    }
    out.push_back(std::move(d));
  }
  return out;
}

} // namespace chainwatch::sigma
