#include <chainwatch/rules/rule.hpp>
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
  switch (t[i]) {
  case 's':
    return n * s;
  case 'm':
    return n * 60 * s;
  case 'h':
    return n * 3600 * s;
  case 'd':
    return n * 86400 * s;
  case 'w':
    return n * 7 * 86400 * s;
  default:
    return std::nullopt;
  }
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
  if (auto f = rt["filters"].as_array()) r.has_filters = !f->empty();
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
