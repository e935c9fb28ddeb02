#include <array>
#include <chainwatch/rules/rule.hpp>
#include <charconv>
#include <cmath>
#include <limits>
#include <toml++/toml.h>

namespace chainwatch::rules {

namespace {

std::string str(const toml::node_view<const toml::node>& n) {
  if (auto v = n.value<std::string>()) return *v;
  return {};
}

std::vector<technique> techniques_of(const toml::node_view<const toml::node>& n,
                                     const char* child) {
  std::vector<technique> out;
  if (auto arr = n.as_array()) {
    for (const auto& t : *arr) {
      auto tv = toml::node_view<const toml::node>{t};
      technique tech{str(tv["id"]), str(tv["name"]), str(tv["reference"]), {}};
      if (child) tech.subtechniques = techniques_of(tv[child], nullptr);
      out.push_back(std::move(tech));
    }
  }
  return out;
}

// Returns the byte offset where 1-based `line` starts in `text`.
std::size_t line_start(std::string_view text, std::uint32_t line) {
  std::size_t pos = 0;
  for (std::uint32_t l = 1; l < line && pos < text.size(); ++l) {
    auto nl = text.find('\n', pos);
    if (nl == std::string_view::npos) return text.size();
    pos = nl + 1;
  }
  return pos;
}

/// A string or an array of strings (Elastic writes threshold.field both ways).
std::optional<std::vector<std::string>> strings(const toml::node* n) {
  std::vector<std::string> out;
  if (!n) return out;
  if (auto v = n->value<std::string>()) {
    if (!v->empty()) out.push_back(*v);
    return out;
  }
  const toml::array* arr = n->as_array();
  if (!arr) return std::nullopt;
  for (const auto& x : *arr) {
    auto v = x.value<std::string>();
    if (!v) return std::nullopt;
    out.push_back(*v);
  }
  return out;
}

/// An EQL string literal. EQL strings end at a line break, so control characters are escaped.
std::string eql_string(std::string_view v) {
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') {
      out += '\\';
    } else if (c == '\n' || c == '\r' || c == '\t') {
      out += c == '\n' ? "\\n" : c == '\r' ? "\\r" : "\\t";
      continue;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      const char* hex = "0123456789abcdef";
      out += "\\u{";
      out += hex[(c >> 4) & 0xF];
      out += hex[c & 0xF];
      out += '}';
      continue;
    }
    out += c;
  }
  return out + "\"";
}

bool eql_keyword(std::string_view s) {
  static constexpr std::string_view words[] = {"and",   "or",    "not",  "in",       "like",
                                               "regex", "where", "by",   "with",     "until",
                                               "true",  "false", "null", "sequence", "join"};
  for (auto w : words) {
    if (w.size() != s.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < s.size() && same; ++i)
      same = (s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' : s[i]) == w[i];
    if (same) return true;
  }
  return false;
}

/// A query DSL field (`process.name`) as an EQL field path: a segment that is not a plain name
/// (or a keyword) is backquoted. Nullopt for what EQL cannot name: an empty segment, a line
/// break.
std::optional<std::string> eql_field(std::string_view f) {
  std::string out;
  std::size_t start = 0;
  for (;;) {
    const std::size_t dot = f.find('.', start);
    const std::string_view seg = f.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (seg.empty() || seg.find_first_of("\n\r") != std::string_view::npos) return std::nullopt;
    bool plain = (seg[0] >= 'a' && seg[0] <= 'z') || (seg[0] >= 'A' && seg[0] <= 'Z') ||
                 seg[0] == '_' || seg[0] == '@';
    for (char c : seg.substr(1))
      plain = plain && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '_');
    if (!out.empty()) out += '.';
    if (plain && !(start == 0 && eql_keyword(seg))) {
      out += seg;
    } else {
      out += '`';
      for (char c : seg)
        out += c == '`' ? std::string("``") : std::string(1, c);
      out += '`';
    }
    if (dot == std::string_view::npos) return out;
    start = dot + 1;
  }
}

/// An EQL literal for a query DSL value (strings quoted, numbers and booleans as they are);
/// nullopt for what EQL has no literal for (NaN, infinities).
std::optional<std::string> eql_literal(const toml::node& n) {
  if (auto s = n.value<std::string>()) return eql_string(*s);
  if (auto i = n.value<std::int64_t>()) return std::to_string(*i);
  if (auto b = n.value<bool>()) return *b ? "true" : "false";
  if (auto d = n.value<double>()) {
    if (!std::isfinite(*d)) return std::nullopt;
    // Shortest text that reads back as the same double; a `.0` keeps it a real in EQL.
    std::array<char, 64> buf{};
    auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), *d);
    std::string text(buf.data(), end);
    if (text.find_first_of(".eE") == std::string::npos) text += ".0";
    return text;
  }
  return std::nullopt;
}

/// Elasticsearch query DSL (a rule's `filters`) as an EQL condition; nullopt with `why` set
/// when a clause has no EQL form here. Keyword semantics, as for KQL: match and match_phrase
/// are exact values. A negated clause holds where its field is missing (the guard `!= null`).
std::optional<std::string> dsl_to_eql(const toml::node& q, std::string& why, int depth = 0) {
  const toml::table* t = q.as_table();
  if (!t || t->size() != 1 || depth > 32) {
    why = "a filter clause that is not one query";
    return std::nullopt;
  }
  auto clause = t->begin(); // its proxy pair lives in the iterator
  const std::string kind(clause->first.str());
  const toml::table* b = clause->second.as_table();
  if (!b) {
    why = "filter clause " + kind + " without a body";
    return std::nullopt;
  }
  // A comparison is false, not null, where the field is missing, so that `not` holds there.
  auto guarded = [](std::string_view field, const std::string& test) {
    return "(" + std::string(field) + " != null and " + std::string(field) + test + ")";
  };
  struct field_value {
    std::string field;
    const toml::node* value = nullptr;
  };
  // The clause's one field, as EQL; nullopt with `why` set otherwise.
  auto one_field = [&]() -> std::optional<field_value> {
    if (b->size() != 1) return why = kind + " on several fields", std::nullopt;
    auto it = b->begin();
    auto f = eql_field(it->first.str());
    if (!f) return why = kind + " on a field EQL cannot name", std::nullopt;
    return field_value{std::move(*f), &it->second};
  };
  if (kind == "exists") {
    auto f = (*b)["field"].value<std::string>();
    if (!f) return why = "exists without a field", std::nullopt;
    auto name = eql_field(*f);
    if (!name) return why = "exists on a field EQL cannot name", std::nullopt;
    return *name + " != null";
  }
  if (kind == "match_phrase" || kind == "match" || kind == "term") {
    auto fv = one_field();
    if (!fv) return std::nullopt;
    const toml::node* v = fv->value;
    if (auto inner = fv->value->as_table()) v = inner->get(kind == "term" ? "value" : "query");
    auto lit = v ? eql_literal(*v) : std::nullopt;
    if (!lit) return why = kind + " without a value", std::nullopt;
    return guarded(fv->field, " == " + *lit);
  }
  if (kind == "terms") {
    auto fv = one_field();
    if (!fv) return std::nullopt;
    const toml::array* arr = fv->value->as_array();
    if (!arr || arr->empty()) return why = "terms without a list of values", std::nullopt;
    std::string list;
    for (const auto& v : *arr) {
      auto lit = eql_literal(v);
      if (!lit) return why = "terms with a value that is not a scalar", std::nullopt;
      list += (list.empty() ? "" : ", ") + *lit;
    }
    return guarded(fv->field, " in (" + list + ")");
  }
  if (kind == "wildcard" || kind == "prefix") {
    auto fv = one_field();
    if (!fv) return std::nullopt;
    const toml::node* v = fv->value;
    bool insensitive = false;
    if (auto inner = fv->value->as_table()) {
      v = inner->get("value");
      insensitive =
          inner->get("case_insensitive") && inner->get("case_insensitive")->value_or(false);
    }
    auto s = v ? v->value<std::string>() : std::nullopt;
    if (!s) return why = kind + " without a string value", std::nullopt;
    // Elasticsearch's wildcard escapes with a backslash; EQL's like takes a backslash as it is.
    std::string pattern;
    for (std::size_t i = 0; i < s->size(); ++i) {
      char c = (*s)[i];
      if (kind == "wildcard" && c == '\\' && i + 1 < s->size()) {
        c = (*s)[++i];
        if (c == '*' || c == '?') return why = "a wildcard with an escaped * or ?", std::nullopt;
      } else if (kind == "prefix" && (c == '*' || c == '?')) {
        return why = "a prefix holding * or ?", std::nullopt;
      }
      pattern += c;
    }
    if (kind == "prefix") pattern += '*';
    return guarded(fv->field, (insensitive ? " like~ " : " like ") + eql_string(pattern));
  }
  if (kind == "range") {
    auto fv = one_field();
    if (!fv) return std::nullopt;
    const toml::table* r = fv->value->as_table();
    if (!r || r->empty()) return why = "range without bounds", std::nullopt;
    std::string out;
    for (const auto& [op, v] : *r) {
      const std::string o(op.str());
      const char* sym = o == "gt"    ? " > "
                        : o == "gte" ? " >= "
                        : o == "lt"  ? " < "
                        : o == "lte" ? " <= "
                                     : nullptr;
      auto lit = eql_literal(v);
      if (!sym || !lit) return why = "range bound " + o + " is not supported", std::nullopt;
      out += (out.empty() ? "" : " and ") + std::string(fv->field) + sym + *lit;
    }
    return "(" + std::string(fv->field) + " != null and " + out + ")";
  }
  if (kind == "bool") {
    std::vector<std::string> all;
    auto clauses = [&](const char* key, bool negate, bool any) -> bool {
      const toml::node* n = b->get(key);
      if (!n) return true;
      std::vector<std::string> parts;
      auto add = [&](const toml::node& c) {
        auto e = dsl_to_eql(c, why, depth + 1);
        if (!e) return false;
        parts.push_back(negate ? "not (" + *e + ")" : "(" + *e + ")");
        return true;
      };
      if (auto arr = n->as_array()) {
        for (const auto& c : *arr)
          if (!add(c)) return false;
      } else if (!add(*n)) {
        return false;
      }
      if (parts.empty()) return true;
      std::string joined;
      for (const auto& p : parts)
        joined += (joined.empty() ? "" : any ? " or " : " and ") + p;
      all.push_back(parts.size() > 1 ? "(" + joined + ")" : joined);
      return true;
    };
    for (const auto& [k, v] : *b) {
      const std::string key(k.str());
      if (key != "must" && key != "filter" && key != "should" && key != "must_not" &&
          key != "minimum_should_match")
        return why = "bool." + key + " is not supported", std::nullopt;
    }
    if (auto m = b->get("minimum_should_match"); m && m->value_or<std::int64_t>(1) != 1)
      return why = "bool.minimum_should_match other than 1", std::nullopt;
    if (!clauses("must", false, false) || !clauses("filter", false, false) ||
        !clauses("should", false, true) || !clauses("must_not", true, false))
      return std::nullopt;
    if (all.empty()) return "true";
    std::string out;
    for (const auto& p : all)
      out += (out.empty() ? "" : " and ") + p;
    return out;
  }
  why = "query DSL clause " + kind + " is not supported";
  return std::nullopt;
}

/// The rule's `filters` as one EQL condition (disabled filters left out, negated ones under
/// `not`), or the reason they cannot run.
void parse_filters(rule& r, const toml::array& filters) {
  std::string all;
  for (const auto& f : filters) {
    auto fv = toml::node_view<const toml::node>{f};
    if (fv["meta"]["disabled"].value_or(false)) continue;
    const toml::node* q = fv["query"].node();
    if (!q) {
      r.filters_unsupported = "a filter without a query";
      return;
    }
    std::string why;
    auto e = dsl_to_eql(*q, why);
    if (!e) {
      r.filters_unsupported = why;
      return;
    }
    const bool negate = fv["meta"]["negate"].value_or(false);
    all += (all.empty() ? "" : " and ") + std::string(negate ? "not (" : "(") + *e + ")";
  }
  r.filters_eql = std::move(all);
}

} // namespace

std::optional<std::int64_t> parse_duration(std::string_view t) {
  if (t.starts_with("now-")) t.remove_prefix(4);
  if (t.empty()) return std::nullopt;
  std::int64_t n = 0;
  std::size_t i = 0;
  for (; i < t.size() && t[i] >= '0' && t[i] <= '9'; ++i) {
    if (n > 1'000'000'000) return std::nullopt;
    n = n * 10 + (t[i] - '0');
  }
  if (i == 0 || i + 1 != t.size()) return std::nullopt;
  constexpr std::int64_t s = 1'000'000'000;
  std::int64_t unit = 0;
  switch (t[i]) {
  case 's':
    unit = s;
    break;
  case 'm':
    unit = 60 * s;
    break;
  case 'h':
    unit = 3600 * s;
    break;
  case 'd':
    unit = 86400 * s;
    break;
  case 'w':
    unit = 7 * 86400 * s;
    break;
  default:
    return std::nullopt;
  }
  // Beyond about 292 years the nanoseconds do not fit in 64 bits.
  if (n > std::numeric_limits<std::int64_t>::max() / unit) return std::nullopt;
  return n * unit;
}

std::string load_error::render() const {
  return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message;
}

namespace {

/// Reads the settings of the rule types (lookback, threshold, new_terms, alert suppression,
/// threat mappings); an error at the offending node.
template <class Fail>
std::optional<load_error> parse_rule_type_settings(rule& r, toml::node_view<const toml::node> rt,
                                                   Fail& fail) {
  auto duration_of = [&](const char* key, std::int64_t& out) -> std::optional<load_error> {
    const toml::node* n = rt[key].node();
    if (!n) return std::nullopt;
    auto v = n->value<std::string>();
    auto d = v ? parse_duration(*v) : std::nullopt;
    if (!d) return fail(std::string(key) + " must be a time like now-9m or 5m", n).value;
    out = *d;
    return std::nullopt;
  };
  if (auto e = duration_of("from", r.lookback_ns)) return e;
  if (auto e = duration_of("interval", r.interval_ns)) return e;
  if (auto m = rt["max_signals"].value<std::int64_t>()) r.max_signals = *m;
  r.timestamp_override = str(rt["timestamp_override"]);
  r.threat_indicator_path = str(rt["threat_indicator_path"]);

  if (const toml::node* t = rt["threshold"].node()) {
    auto tv = toml::node_view<const toml::node>{t};
    threshold_spec th;
    auto fields = strings(tv["field"].node());
    if (!fields) return fail("threshold.field must be a string or a list of strings", t).value;
    th.fields = std::move(*fields);
    auto value = tv["value"].value<std::int64_t>();
    if (!value || *value < 1)
      return fail("threshold.value must be a number of at least 1", t).value;
    th.value = *value;
    if (auto card = tv["cardinality"].as_array(); card && !card->empty()) {
      if (card->size() > 1) return fail("threshold.cardinality takes one field", t).value;
      auto cv = toml::node_view<const toml::node>{(*card)[0]};
      th.cardinality_field = str(cv["field"]);
      auto n = cv["value"].value<std::int64_t>();
      if (th.cardinality_field.empty() || !n || *n < 1)
        return fail("threshold.cardinality needs a field and a value of at least 1", t).value;
      th.cardinality = *n;
    }
    r.threshold = std::move(th);
  }
  if (const toml::node* t = rt["new_terms"].node()) {
    auto tv = toml::node_view<const toml::node>{t};
    new_terms_spec nt;
    auto fields = strings(tv["value"].node());
    if (!fields || fields->empty())
      return fail("new_terms.value must list the new terms fields", t).value;
    nt.fields = std::move(*fields);
    std::string history = "now-7d";
    if (auto h = tv["history_window_start"].as_array(); h && !h->empty())
      history = str(toml::node_view<const toml::node>{(*h)[0]}["value"]);
    auto d = parse_duration(history);
    if (!d || *d <= 0)
      return fail("new_terms.history_window_start must be a time like now-7d", t).value;
    nt.history_ns = *d;
    r.new_terms = std::move(nt);
  }
  if (const toml::node* t = rt["alert_suppression"].node()) {
    auto tv = toml::node_view<const toml::node>{t};
    suppression_spec sp;
    auto group = strings(tv["group_by"].node());
    if (!group) return fail("alert_suppression.group_by must be a list of fields", t).value;
    sp.group_by = std::move(*group);
    if (const toml::node* d = tv["duration"].node()) {
      auto dv = toml::node_view<const toml::node>{d};
      auto n = dv["value"].value<std::int64_t>();
      auto unit = dv["unit"].value<std::string>();
      auto ns = n && unit ? parse_duration(std::to_string(*n) + *unit) : std::nullopt;
      if (!ns)
        return fail("alert_suppression.duration needs a value and a unit (s, m, h)", d).value;
      sp.duration_ns = *ns;
    }
    const std::string missing = str(tv["missing_fields_strategy"]);
    if (!missing.empty() && missing != "suppress" && missing != "doNotSuppress")
      return fail("alert_suppression.missing_fields_strategy is suppress or doNotSuppress", t)
          .value;
    sp.suppress_missing = missing != "doNotSuppress";
    r.suppression = std::move(sp);
  }
  if (auto mappings = rt["threat_mapping"].as_array()) {
    for (const auto& m : *mappings) {
      threat_mapping tm;
      if (auto entries = toml::node_view<const toml::node>{m}["entries"].as_array())
        for (const auto& e : *entries) {
          auto ev = toml::node_view<const toml::node>{e};
          tm.entries.push_back({str(ev["field"]), str(ev["value"])});
          if (tm.entries.back().field.empty() || tm.entries.back().indicator_field.empty())
            return fail("threat_mapping entries need a field and a value", &e).value;
        }
      if (tm.entries.empty()) return fail("a threat_mapping without entries", &m).value;
      r.threat_mappings.push_back(std::move(tm));
    }
  }
  return std::nullopt;
}

} // namespace

expected<rule, load_error> parse_rule(std::string_view text, std::string_view file) {
  toml::table doc_mut;
  try {
    doc_mut = toml::parse(text, file);
  } catch (const toml::parse_error& e) {
    return unexpected{load_error{std::string(file), e.source().begin.line, e.source().begin.column,
                                 std::string(e.description())}};
  }
  const toml::table& doc = doc_mut;
  rule r;
  r.file = file;
  auto fail = [&](std::string msg, const toml::node* at = nullptr) {
    std::uint32_t line = at ? at->source().begin.line : 1;
    std::uint32_t col = at ? at->source().begin.column : 1;
    return unexpected{load_error{r.file, line, col, std::move(msg)}};
  };
  auto rt = doc["rule"];
  if (!rt.as_table()) return fail("missing [rule] table");
  r.rule_id = str(rt["rule_id"]);
  r.name = str(rt["name"]);
  r.description = str(rt["description"]);
  r.severity = str(rt["severity"]);
  r.language = str(rt["language"]);
  r.type = str(rt["type"]);
  r.maturity = str(doc["metadata"]["maturity"]);
  if (auto f = rt["filters"].as_array()) parse_filters(r, *f);
  if (r.language.empty()) r.language = "eql";
  if (auto rs = rt["risk_score"].value<std::int64_t>()) r.risk_score = *rs;
  if (auto tags = rt["tags"].as_array())
    for (const auto& t : *tags)
      if (auto s = t.value<std::string>()) r.tags.push_back(*s);
  if (r.rule_id.empty()) return fail("[rule] has no rule_id", rt.node());
  if (r.name.empty()) return fail("[rule] has no name", rt.node());
  const toml::node* q = rt["query"].node();
  // Machine-learning rules run an Elastic ML job, not a query: loaded so the caller can skip
  // them with a reason.
  if (!q && r.type == "machine_learning") return r;
  if (!q || !q->is_string()) return fail("[rule] has no query string", rt.node());
  r.query = *q->value<std::string>();

  // Locate the first character of the query in the file so EQL errors point
  // into the file. A multi-line string drops the newline right after `'''`.
  auto src = q->source();
  std::size_t at = line_start(text, src.begin.line) + (src.begin.column - 1);
  r.query_line = src.begin.line;
  r.query_column = src.begin.column;
  if (at < text.size()) {
    std::string_view rest = text.substr(at);
    std::size_t delim = (rest.starts_with("'''") || rest.starts_with("\"\"\"")) ? 3 : 1;
    std::size_t after = at + delim;
    if (delim == 3 && after < text.size() && (text[after] == '\n' || text[after] == '\r')) {
      r.query_line += 1;
      r.query_column = 1;
    } else {
      r.query_column += static_cast<std::uint32_t>(delim);
    }
  }

  if (auto e = parse_rule_type_settings(r, rt, fail)) return unexpected{std::move(*e)};

  if (auto threats = rt["threat"].as_array()) {
    for (const auto& t : *threats) {
      auto tv = toml::node_view<const toml::node>{t};
      threat th;
      th.framework = str(tv["framework"]);
      th.tactic_id = str(tv["tactic"]["id"]);
      th.tactic_name = str(tv["tactic"]["name"]);
      th.tactic_reference = str(tv["tactic"]["reference"]);
      th.techniques = techniques_of(tv["technique"], "subtechnique");
      r.threats.push_back(std::move(th));
    }
  }
  return r;
}

std::pair<std::uint32_t, std::uint32_t> query_to_file(const rule& r, std::uint32_t line,
                                                      std::uint32_t column) {
  if (line <= 1) return {r.query_line, r.query_column + column - 1};
  return {r.query_line + line - 1, column};
}

} // namespace chainwatch::rules
