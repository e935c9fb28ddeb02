#include "compiled_rules.hpp"

#include "rule_loading.hpp"

namespace chainwatch::cli {

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
  auto compiled = compile_loaded(rules, eo);
  if (!compiled) return unexpected{compiled.error()};
  out.rules = std::move(*compiled);
  return out;
}

} // namespace chainwatch::cli
