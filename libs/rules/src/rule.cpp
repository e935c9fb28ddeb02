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

} // namespace

std::string load_error::render() const {
  return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message;
}

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
