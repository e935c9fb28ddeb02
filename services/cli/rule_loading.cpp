#include "rule_loading.hpp"

#include "input.hpp"

#include <algorithm>
#include <chainwatch/sigma/sigma.hpp>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>

namespace fs = std::filesystem;

namespace chainwatch::cli {

namespace {

std::string nth_line(std::string_view text, std::uint32_t line) {
  std::size_t pos = 0;
  for (std::uint32_t l = 1; l < line; ++l) {
    auto nl = text.find('\n', pos);
    if (nl == std::string_view::npos) return {};
    pos = nl + 1;
  }
  auto end = text.find('\n', pos);
  return std::string(text.substr(pos, end == std::string_view::npos ? end : end - pos));
}

bool is_sigma(const fs::path& p) {
  return p.extension() == ".yml" || p.extension() == ".yaml";
}

std::vector<std::string> expand(const std::vector<std::string>& paths,
                                std::vector<std::string>& errors) {
  std::vector<std::string> files;
  for (const auto& p : paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      std::vector<std::string> found;
      for (auto it = fs::recursive_directory_iterator(p, ec); !ec && it != fs::end(it);
           it.increment(ec))
        if (it->is_regular_file() && (it->path().extension() == ".toml" || is_sigma(it->path())))
          found.push_back(it->path().string());
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else if (fs::exists(p, ec)) {
      files.push_back(p);
    } else {
      errors.push_back(p + ": no such file or directory");
    }
  }
  return files;
}

// Why chainwatch does not run a rule (empty: it does). The rule type decides what the query
// means (Elastic's rule types): an EQL query under `type = "threshold"` is not an EQL rule.
std::string unsupported(const rules::rule& r) {
  if (r.type == "machine_learning")
    return "type = \"machine_learning\": runs an Elastic machine-learning job, not a query";
  if (r.type == "esql" || r.language == "esql")
    return "type = \"esql\": ES|QL queries are not supported";
  if (!r.filters_unsupported.empty())
    return "\"filters\" (Elasticsearch query DSL): " + r.filters_unsupported;
  return {};
}

// Why a rule's settings do not fit its type (empty: they do): an error, unlike unsupported().
std::string misfit(const rules::rule& r) {
  const std::string type = r.type.empty() ? "eql" : r.type;
  const bool query_language = r.language == "kuery" || r.language == "lucene";
  if (type == "eql") {
    if (r.language != "eql") return "type = \"eql\" with language = \"" + r.language + "\"";
  } else if (type == "query" || type == "threshold" || type == "new_terms" ||
             type == "threat_match") {
    if (!query_language)
      return "type = \"" + type + "\" takes a KQL or Lucene query, not language = \"" + r.language +
             "\"";
  } else {
    return "type = \"" + type + "\" is not an Elastic rule type chainwatch knows";
  }
  if ((type == "threshold") != r.threshold.has_value())
    return type == "threshold" ? "type = \"threshold\" needs [rule.threshold]"
                               : "[rule.threshold] on a rule of type \"" + type + "\"";
  if ((type == "new_terms") != r.new_terms.has_value())
    return type == "new_terms" ? "type = \"new_terms\" needs [rule.new_terms]"
                               : "[rule.new_terms] on a rule of type \"" + type + "\"";
  if ((type == "threat_match") != !r.threat_mappings.empty())
    return type == "threat_match" ? "type = \"threat_match\" needs [[rule.threat_mapping]]"
                                  : "[[rule.threat_mapping]] on a rule of type \"" + type + "\"";
  return {};
}

// What the engine runs for a rule: its query, and what its type adds (an aggregation, the
// lookup lists of threat_match). See ARCHITECTURE.md, "Elastic rule types".
engine::rule_source to_source(const rules::rule& r) {
  engine::rule_source src{r.rule_id, r.name, r.query, r.language, {}, {}};
  engine::aggregate& a = src.agg;
  if (r.suppression) { // query and EQL event rules; threshold below takes only its duration
    a.by = r.suppression->group_by;
    a.skip_missing = false;
    a.suppress_ns = r.suppression->duration_ns > 0 ? r.suppression->duration_ns : r.interval_ns;
  }
  if (r.threshold) {
    a.kind = engine::aggregate::type::count;
    a.by = r.threshold->fields;
    a.skip_missing = true;
    a.min_count = static_cast<std::uint32_t>(std::min<std::int64_t>(r.threshold->value, 1 << 30));
    a.distinct_field = r.threshold->cardinality_field;
    a.min_distinct =
        static_cast<std::uint32_t>(std::min<std::int64_t>(r.threshold->cardinality, 1 << 30));
    a.window_ns = r.lookback_ns;
    if (!r.suppression) a.suppress_ns = 0;
  }
  if (r.new_terms) { // a group alerts at most once per history window: suppression adds nothing
    a.kind = engine::aggregate::type::first_seen;
    a.by = r.new_terms->fields;
    a.skip_missing = true;
    a.window_ns = r.new_terms->history_ns;
    a.suppress_ns = 0;
  }
  // threat_match: an event field equal to an indicator's is a lookup in the list named after
  // the indicator field (config/lists/threat.indicator.ip.ips.txt); entries of one mapping
  // all hold, mappings are alternatives.
  if (!r.filters_eql.empty()) src.also = "(" + r.filters_eql + ")";
  std::string threat;
  for (const auto& m : r.threat_mappings) {
    std::string all;
    for (const auto& e : m.entries) {
      if (!all.empty()) all += " and ";
      all += "inList(" + e.field + ", \"" + e.indicator_field + "\")";
    }
    threat += (threat.empty() ? "(" : " or (") + all + ")";
  }
  if (!threat.empty()) src.also += (src.also.empty() ? "(" : " and (") + threat + ")";
  return src;
}

// The Sigma mapping tables (config/sigma/*.toml), read once per load_rules call that meets a
// Sigma file; problems go to `errors`.
sigma::mapping load_sigma_mapping(std::vector<std::string>& errors) {
  sigma::mapping maps;
  const auto dirs = default_sigma_dirs();
  if (dirs.empty())
    errors.push_back("Sigma rules need the mapping tables of config/sigma: run from the "
                     "directory that holds config/, or set $CHAINWATCH_SIGMA");
  for (const auto& dir : dirs) {
    std::error_code ec;
    std::vector<fs::path> files;
    for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::end(it); it.increment(ec))
      if (it->is_regular_file() && it->path().extension() == ".toml") files.push_back(it->path());
    if (ec) {
      errors.push_back(dir + ": " + ec.message());
      continue;
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      std::string text;
      if (auto e = read_file(f.string(), text); !e.empty()) {
        errors.push_back(e);
        continue;
      }
      auto m = sigma::parse_mapping(text, f.string());
      if (!m) {
        errors.push_back(m.error().render(f.string()));
        continue;
      }
      maps.products.push_back(std::move(*m));
    }
  }
  return maps;
}

// Sigma `level` as Elastic's risk score defaults per severity.
std::int64_t risk_of(const std::string& level) {
  if (level == "critical") return 99;
  if (level == "high") return 73;
  if (level == "medium") return 47;
  if (level == "low") return 21;
  return 0;
}

// The rules of one Sigma file, compiled to EQL text: refused ones and deprecated ones are
// skipped with the reason, a YAML syntax error is an error.
void load_sigma(const std::string& file, const std::string& text, const sigma::mapping& maps,
                std::vector<loaded_rule>& out, std::vector<std::string>& errors,
                std::vector<std::string>& skipped) {
  const auto docs = sigma::parse_rules(text, maps);
  for (std::size_t i = 0; i < docs.size(); ++i) {
    const auto& d = docs[i];
    const std::string name = d.title.empty() ? "" : " (" + d.title + ")";
    if (!d.result) {
      const auto& e = d.result.error();
      if (e.message.starts_with("YAML: "))
        errors.push_back(e.render(file));
      else
        skipped.push_back(e.render(file) + name + "; skipped");
      continue;
    }
    const sigma::rule& s = *d.result;
    if (s.status == "deprecated" || s.status == "unsupported") {
      skipped.push_back(file + ":" + std::to_string(s.line) + ":1: status: " + s.status + name +
                        "; skipped");
      continue;
    }
    loaded_rule r;
    r.origin = "sigma";
    r.meta.file = file;
    r.meta.rule_id = !s.id.empty() ? s.id
                                   : fs::path(file).stem().string() +
                                         (docs.size() > 1 ? "-" + std::to_string(i + 1) : "");
    r.meta.name = s.title;
    r.meta.description = s.description;
    r.meta.severity = s.level.empty() ? "medium" : s.level;
    r.meta.risk_score = risk_of(s.level);
    r.meta.tags = s.tags;
    r.meta.maturity = s.status;
    r.meta.type = "eql";
    r.meta.language = "eql";
    r.meta.query = eql::to_string(s.query);
    r.meta.query_line = s.line;
    r.meta.query_column = 1;
    out.push_back(std::move(r));
  }
}

} // namespace

std::vector<std::string> default_sigma_dirs() {
  if (const char* env = std::getenv("CHAINWATCH_SIGMA"); env && *env) return {env};
  std::error_code ec;
  if (fs::is_directory("config/sigma", ec)) return {"config/sigma"};
  return {};
}

std::vector<loaded_rule> load_rules(const std::vector<std::string>& paths,
                                    const std::vector<std::string>& queries,
                                    std::vector<std::string>& errors,
                                    std::vector<std::string>& skipped) {
  std::vector<loaded_rule> out;
  for (std::size_t i = 0; i < queries.size(); ++i) {
    loaded_rule r;
    r.inline_query = true;
    r.meta.file = "<query>";
    r.meta.rule_id = queries.size() == 1 ? "query" : "query-" + std::to_string(i + 1);
    r.meta.name = r.meta.rule_id;
    r.meta.language = "eql";
    r.meta.query = queries[i];
    out.push_back(std::move(r));
  }
  std::map<std::string, std::string> ids; // rule_id -> its file
  std::optional<sigma::mapping> sigma_maps;
  for (const auto& file : expand(paths, errors)) {
    std::string text;
    if (auto e = read_file(file, text); !e.empty()) {
      errors.push_back(e);
      continue;
    }
    if (is_sigma(file)) {
      if (!sigma_maps) sigma_maps = load_sigma_mapping(errors);
      std::vector<loaded_rule> compiled;
      load_sigma(file, text, *sigma_maps, compiled, errors, skipped);
      for (auto& r : compiled) {
        if (auto [it, fresh] = ids.try_emplace(r.meta.rule_id, file); !fresh) {
          errors.push_back(file + ":" + std::to_string(r.meta.query_line) + ":1: id " +
                           r.meta.rule_id + " is also the id of a rule in " + it->second);
          continue;
        }
        out.push_back(std::move(r));
      }
      continue;
    }
    auto r = rules::parse_rule(text, file);
    if (!r) {
      errors.push_back(r.error().render());
      continue;
    }
    // Alerts and checkpoints are keyed by rule_id: two rules with one id would be one rule.
    if (auto [it, fresh] = ids.try_emplace(r->rule_id, file); !fresh) {
      errors.push_back(file + ": rule_id " + r->rule_id + " is also the rule_id of " + it->second);
      continue;
    }
    if (auto why = unsupported(*r); !why.empty()) {
      skipped.push_back(file + ": " + why + "; skipped");
      continue;
    }
    if (auto why = misfit(*r); !why.empty()) {
      errors.push_back(file + ":1:1: " + why);
      continue;
    }
    out.push_back({std::move(*r), false, {}});
  }
  return out;
}

std::vector<std::string> default_list_dirs() {
  if (const char* env = std::getenv("CHAINWATCH_LISTS"); env && *env) return {env};
  std::error_code ec;
  if (fs::is_directory("config/lists", ec)) return {"config/lists"};
  return {};
}

void load_lists(const std::vector<std::string>& dirs, eql::list_registry& out,
                std::vector<std::string>& errors) {
  for (const auto& dir : dirs) {
    std::error_code ec;
    std::vector<fs::path> files;
    for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::end(it); it.increment(ec))
      if (it->is_regular_file() && it->path().extension() == ".txt") files.push_back(it->path());
    if (ec) {
      errors.push_back(dir + ": " + ec.message());
      continue;
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      // <name>.<kind>.txt
      auto stem = f.stem().string();
      auto dot = stem.rfind('.');
      if (dot == std::string::npos) continue;
      auto kind = eql::parse_list_kind(stem.substr(dot + 1));
      if (!kind) continue; // not a list file (README.txt and the like)
      std::string text;
      if (auto e = read_file(f.string(), text); !e.empty()) {
        errors.push_back(e);
        continue;
      }
      auto list = eql::lookup_list::parse(stem.substr(0, dot), *kind, text);
      if (!list) {
        errors.push_back(f.string() + ":" + list.error());
        continue;
      }
      out.add(std::move(*list));
    }
  }
}

std::string render_rule_error(const loaded_rule& r, const std::string& message, std::uint32_t line,
                              std::uint32_t column, const char* severity) {
  if (r.origin == "sigma") // the place is in the EQL the rule compiled to: show that EQL
    return r.meta.file + ":" + std::to_string(r.meta.query_line) + ":1: " + severity + ": " +
           message + " (in the EQL this Sigma rule compiles to, column " + std::to_string(column) +
           ")\n" + r.meta.query;
  auto [fl, fc] = rules::query_to_file(r.meta, line, column);
  std::string src_line = nth_line(r.meta.query, line);
  std::string out = r.meta.file + ":" + std::to_string(r.inline_query ? line : fl) + ":" +
                    std::to_string(r.inline_query ? column : fc) + ": " + severity + ": " +
                    message + "\n" + src_line + "\n";
  std::string caret;
  for (std::uint32_t i = 1; i < column && i <= src_line.size(); ++i)
    caret += src_line[i - 1] == '\t' ? '\t' : ' ';
  out += caret + "^";
  return out;
}

std::string render_rule_error(const loaded_rule& r, const eql::error& e) {
  if (r.inline_query || r.origin == "sigma")
    return render_rule_error(r, e.message, e.where.line, e.where.column);
  auto [line, column] = rules::query_to_file(r.meta, 1, 1);
  return render_rule_error(r, e.message_at(line - 1, column - 1), e.where.line, e.where.column);
}

expected<engine::rule_source, std::string> source_of(const loaded_rule& r,
                                                     const engine::options& opts) {
  // threat_match's indicators are lookup lists: name the missing one and where it goes.
  for (const auto& m : r.meta.threat_mappings)
    for (const auto& e : m.entries)
      if (!opts.lists || !opts.lists->find(e.indicator_field))
        return unexpected{r.meta.file + ":1:1: error: threat_match: no lookup list \"" +
                          e.indicator_field + "\" holds the indicators for " + e.field +
                          " (add config/lists/" + e.indicator_field +
                          ".<ips|domains|hashes|strings>.txt, or pass --lists)"};
  return to_source(r.meta);
}

expected<std::shared_ptr<const engine::ruleset>, std::string>
compile_loaded(const std::vector<loaded_rule>& rules, const engine::options& opts) {
  std::vector<engine::rule_source> sources;
  sources.reserve(rules.size());
  for (const auto& r : rules) {
    auto src = source_of(r, opts);
    if (!src) return unexpected{std::move(src.error())};
    sources.push_back(std::move(*src));
  }
  auto compiled = engine::ruleset::compile(std::move(sources), opts);
  if (!compiled) {
    const auto& e = compiled.error();
    return unexpected{render_rule_error(rules[e.rule_index], e.err)};
  }
  return std::move(*compiled);
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    auto comma = text.find(',', pos);
    auto item = text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    auto b = item.find_first_not_of(' ');
    auto e = item.find_last_not_of(' ');
    if (b != std::string::npos) out.push_back(item.substr(b, e - b + 1));
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return out;
}

} // namespace chainwatch::cli
