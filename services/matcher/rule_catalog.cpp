#include "rule_catalog.hpp"

#include "rule_loading.hpp"

#include <chainwatch/eql/ast.hpp>
#include <chainwatch/eql/kql.hpp>

namespace chainwatch::matcher {

const rules::rule* rule_catalog::find(const std::string& id) const {
  auto it = by_id.find(id);
  return it == by_id.end() ? nullptr : &rules[it->second];
}

expected<rule_catalog, std::string> load_catalog(const catalog_options& o) {
  rule_catalog c;
  std::vector<std::string> errors, skipped;
  auto loaded = cli::load_rules(o.rule_paths, {}, errors, skipped);
  c.lists = std::make_unique<eql::list_registry>();
  cli::load_lists(o.list_dirs, *c.lists, errors);
  c.warnings = std::move(skipped);
  for (auto& r : loaded) {
    c.by_id.emplace(r.meta.rule_id, c.rules.size());
    auto q = eql::parse_in(r.meta.language, r.meta.query);
    bool piped = q && !q->pipes.empty();
    if (piped)
      c.warnings.push_back("rule " + r.meta.rule_id + " (" + r.meta.name +
                           ") uses pipes, which the mesh does not run: its matches are dropped; "
                           "use `chainwatch hunt` for it");
    c.piped.push_back(piped);
    c.rules.push_back(r.meta);
  }
  if (o.compile && errors.empty()) {
    engine::options eo;
    eo.category_field = o.event_type_field;
    eo.case_sensitive = o.case_sensitive;
    eo.ordering = engine::options::order::time;
    eo.max_pending_per_key = o.max_pending;
    eo.lists = c.lists.get();
    auto compiled = cli::compile_loaded(loaded, eo);
    if (!compiled)
      errors.push_back(compiled.error());
    else
      c.compiled = std::move(*compiled);
  }
  if (!errors.empty()) {
    std::string all;
    for (auto& e : errors)
      all += e + "\n";
    return unexpected{std::move(all)};
  }
  return c;
}

} // namespace chainwatch::matcher
