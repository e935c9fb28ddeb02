#include "commands.hpp"
#include "rule_loading.hpp"

#include <chainwatch/engine/cost.hpp>
#include <chainwatch/engine/engine.hpp>
#include <chainwatch/eql/ast.hpp>
#include <iostream>

namespace chainwatch::cli {

int run_lint(const lint_options& o) {
  if (o.queries.empty() && o.paths.empty()) {
    std::cerr << "chainwatch lint: give rule files, directories or --query\n";
    return 2;
  }
  std::vector<std::string> errors, skipped;
  auto rules = load_rules(o.paths, o.queries, errors, skipped);
  eql::list_registry lists;
  load_lists(o.list_dirs.empty() ? default_list_dirs() : o.list_dirs, lists, errors);
  for (const auto& e : errors)
    std::cerr << e << "\n";
  for (const auto& s : skipped)
    std::cerr << s << "\n";

  engine::options eo;
  eo.category_field = o.event_type_field;
  eo.lists = &lists;
  std::size_t failed = errors.size(), warnings = 0;
  for (const auto& r : rules) {
    // Compile each rule on its own so one bad rule does not hide the others.
    auto src = source_of(r, eo);
    if (!src) {
      ++failed;
      std::cerr << src.error() << "\n";
      continue;
    }
    auto compiled = engine::ruleset::compile({std::move(*src)}, eo);
    if (!compiled) {
      ++failed;
      const auto& e = compiled.error().err;
      std::cerr << render_rule_error(r, e) << "\n";
      continue;
    }
    if (!o.cost) continue;
    for (const auto& w : engine::cost_warnings(**compiled)) {
      ++warnings;
      std::cerr << render_rule_error(r,
                                     w.message + " [cost:" + std::string(to_string(w.reason)) + "]",
                                     w.where.line, w.where.column, "warning")
                << "\n";
    }
  }
  std::cerr << "lint: " << rules.size() << " rules, " << failed << " errors, " << warnings
            << " warnings, " << skipped.size() << " skipped\n";
  return failed ? 1 : 0;
}

} // namespace chainwatch::cli
