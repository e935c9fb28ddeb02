#include "compiled_rules.hpp"

#include "rule_loading.hpp"

namespace chainwatch::cli {

namespace {

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  auto push = [&] {
    auto b = cur.find_first_not_of(' ');
    auto e = cur.find_last_not_of(' ');
    if (b != std::string::npos) out.push_back(cur.substr(b, e - b + 1));
    cur.clear();
  };
  for (char c : text) {
    if (c == ',')
      push();
    else
      cur.push_back(c);
  }
  push();
  return out;
}

} // namespace

expected<compiled_rules, std::string> compile_rules(const std::string& rule_paths,
                                                    const std::string& list_dirs,
                                                    const std::string& event_type_field,
                                                    bool case_sensitive) {
  std::vector<std::string> errors;
  compiled_rules out;
  auto rules = cli::load_rules(split_list(rule_paths), {}, errors, out.skipped);
  out.lists = std::make_unique<eql::list_registry>();
  cli::load_lists(split_list(list_dirs), *out.lists, errors);
  if (!errors.empty()) {
    std::string text;
    for (auto& e : errors)
      text += e + "\n";
    return unexpected{text};
  }
  engine::options eo;
  eo.category_field = event_type_field;
  eo.case_sensitive = case_sensitive;
  eo.lists = out.lists.get();
  std::vector<engine::rule_source> sources;
  for (const auto& r : rules)
    sources.push_back({r.meta.rule_id, r.meta.name, r.meta.query});
  auto compiled = engine::ruleset::compile(sources, eo);
  if (!compiled) {
    const auto& e = compiled.error();
    return unexpected{cli::render_rule_error(rules[e.rule_index], e.err.message, e.err.where.line,
                                             e.err.where.column)};
  }
  out.rules = std::move(*compiled);
  return out;
}

} // namespace chainwatch::cli
