// Mapping tables (config/sigma/<product>.toml): see config/sigma/README.md for the format.

#include <chainwatch/sigma/sigma.hpp>
#include <toml++/toml.h>

namespace chainwatch::sigma {

namespace {

error at(const toml::node& n, std::string message) {
  const auto& s = n.source();
  return error{std::move(message), s.begin.line, s.begin.column};
}

// A string or an array of strings.
bool strings_of(const toml::node& n, std::vector<std::string>& out) {
  if (auto s = n.value<std::string>()) {
    out.push_back(*s);
    return true;
  }
  const auto* arr = n.as_array();
  if (!arr || arr->empty()) return false;
  for (const auto& e : *arr) {
    auto s = e.value<std::string>();
    if (!s) return false;
    out.push_back(*s);
  }
  return true;
}

bool fields_of(const toml::node& n, std::map<std::string, std::string>& out, error& err) {
  const auto* t = n.as_table();
  if (!t) {
    err = at(n, "`fields` must be a table of Sigma field = \"ECS field\"");
    return false;
  }
  for (const auto& [k, v] : *t) {
    auto s = v.value<std::string>();
    if (!s || s->empty()) {
      err = at(v, "field " + std::string(k.str()) + ": the ECS field must be a non-empty string");
      return false;
    }
    out[std::string(k.str())] = *s;
  }
  return true;
}

} // namespace

expected<product_map, error> parse_mapping(std::string_view toml_text, std::string_view name) {
  toml::table root;
  try {
    root = toml::parse(toml_text, name);
  } catch (const toml::parse_error& e) {
    return unexpected{
        error{std::string(e.description()), e.source().begin.line, e.source().begin.column}};
  }
  product_map out;
  const auto* p = root["pipeline"].as_table();
  if (!p) return unexpected{error{"missing [pipeline]", 1, 1}};
  auto product = (*p)["product"].value<std::string>();
  if (!product || product->empty()) return unexpected{at(*p, "[pipeline] needs product = \"...\"")};
  out.product = *product;
  out.unmapped_prefix = (*p)["unmapped_prefix"].value_or(std::string{});
  out.require_logsource = (*p)["require_logsource"].value_or(true);
  out.refuse_unmapped = (*p)["refuse_unmapped"].value_or(false);
  error err;
  if (const auto* f = root.get("fields"); f && !fields_of(*f, out.fields, err))
    return unexpected{err};
  if (const auto* ls = root.get("logsource")) {
    const auto* arr = ls->as_array();
    if (!arr) return unexpected{at(*ls, "`logsource` must be an array of tables ([[logsource]])")};
    for (const auto& e : *arr) {
      const auto* t = e.as_table();
      if (!t) return unexpected{at(e, "[[logsource]] must be a table")};
      logsource_map m;
      m.category = (*t)["category"].value_or(std::string{});
      m.service = (*t)["service"].value_or(std::string{});
      if (m.category.empty() && m.service.empty())
        return unexpected{at(e, "[[logsource]] needs a category or a service")};
      if (const auto* w = t->get("where")) {
        const auto* wt = w->as_table();
        if (!wt) return unexpected{at(*w, "`where` must be a table of ECS field = value(s)")};
        for (const auto& [k, v] : *wt) {
          std::vector<std::string> values;
          if (!strings_of(v, values))
            return unexpected{at(v, "where." + std::string(k.str()) +
                                        ": a string or a non-empty array of strings")};
          m.where.emplace_back(std::string(k.str()), std::move(values));
        }
      }
      if (const auto* f = t->get("fields"); f && !fields_of(*f, m.fields, err))
        return unexpected{err};
      out.logsources.push_back(std::move(m));
    }
  }
  return out;
}

std::string error::render(std::string_view file) const {
  std::string out(file);
  if (line > 0) out += ":" + std::to_string(line) + ":" + std::to_string(column);
  return out + ": " + message;
}

} // namespace chainwatch::sigma
