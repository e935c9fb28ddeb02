#pragma once

// Helpers shared by the normalize tests: table loading and field flattening.

#include <algorithm>
#include <chainwatch/event/event.hpp>
#include <chainwatch/normalize/normalizer.hpp>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <simdjson.h>
#include <sstream>
#include <string>
#include <vector>

namespace chainwatch::normalize::testing {

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

/// Texts of all config/sources/*.toml tables (kept alive by the returned storage).
struct loaded_tables {
  std::vector<std::string> names;
  std::vector<std::string> texts;
  std::vector<table_text> views;
};

inline loaded_tables load_tables() {
  loaded_tables out;
  const std::filesystem::path dir = std::filesystem::path(CHAINWATCH_SOURCE_DIR) / "config/sources";
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() == ".toml") {
      files.push_back(e.path());
    }
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    out.names.push_back(f.stem().string());
    out.texts.push_back(read_file(f));
  }
  for (std::size_t i = 0; i < files.size(); ++i) {
    out.views.push_back(table_text{out.names[i], out.texts[i]});
  }
  return out;
}

inline normalizer make_normalizer() {
  static const loaded_tables tables = load_tables();
  auto n = normalizer::create(tables.views);
  if (!n) {
    throw std::runtime_error(n.error().table + ": " + n.error().reason);
  }
  return std::move(*n);
}

/// Canonical text of a scalar: numbers (and numeric strings) as shortest numbers.
inline std::string canonical_number_or(std::string_view s) {
  double d = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), d);
  if (!s.empty() && r.ec == std::errc{} && r.ptr == s.data() + s.size() && std::isfinite(d)) {
    char buf[64];
    auto w = std::to_chars(buf, buf + sizeof buf, d);
    return "#" + std::string(buf, w.ptr);
  }
  return std::string(s);
}

inline std::string canon(const event::value_ref& v);

/// A field of an event as text: strings as they are, integers and booleans written out,
/// arrays canonical (canon); "" when absent or of another kind.
inline std::string field_text(const event::event& ev, std::string_view path) {
  auto v = ev.get(event::field_path(path));
  switch (v.type()) {
  case event::kind::string:
    return std::string(v.as_string());
  case event::kind::integer:
    return std::to_string(v.as_int());
  case event::kind::boolean:
    return v.as_bool() ? "true" : "false";
  case event::kind::array:
    return canon(v);
  default:
    return {};
  }
}

/// A flattened document: dotted path -> canonical value (arrays as sorted sets).
using flat_doc = std::map<std::string, std::string>;

inline std::string canon(const event::value_ref& v);

inline std::string canon_array(std::vector<std::string> items) {
  std::sort(items.begin(), items.end());
  items.erase(std::unique(items.begin(), items.end()), items.end());
  std::string out = "[";
  for (const auto& i : items) {
    out += i;
    out += '\x1f';
  }
  return out + "]";
}

inline std::string canon(const event::value_ref& v) {
  switch (v.type()) {
  case event::kind::null:
    return "null";
  case event::kind::boolean:
    return v.as_bool() ? "true" : "false";
  case event::kind::integer:
    return canonical_number_or(std::to_string(v.as_int()));
  case event::kind::real: {
    char buf[64];
    auto w = std::to_chars(buf, buf + sizeof buf, v.as_double());
    return canonical_number_or(std::string_view(buf, w.ptr - buf));
  }
  case event::kind::string:
    return canonical_number_or(v.as_string());
  case event::kind::array: {
    std::vector<std::string> items;
    for (auto c = v.first_child(); c.exists(); c = c.next_sibling()) {
      items.push_back(canon(c));
    }
    return canon_array(std::move(items));
  }
  case event::kind::object: {
    std::string out = "{";
    for (auto c = v.first_child(); c.exists(); c = c.next_sibling()) {
      out += std::string(event::symbols::name(c.key())) + "=" + canon(c) + ",";
    }
    return out + "}";
  }
  }
  return {};
}

inline void flatten(const event::value_ref& v, const std::string& prefix, flat_doc& out) {
  if (v.type() == event::kind::object) {
    for (auto c = v.first_child(); c.exists(); c = c.next_sibling()) {
      const std::string key(event::symbols::name(c.key()));
      flatten(c, prefix.empty() ? key : prefix + "." + key, out);
    }
    return;
  }
  out[prefix] = canon(v);
}

inline flat_doc flatten(const event::event& ev) {
  flat_doc out;
  flatten(ev.root(), "", out);
  return out;
}

inline std::string canon(simdjson::dom::element el) {
  switch (el.type()) {
  case simdjson::dom::element_type::NULL_VALUE:
    return "null";
  case simdjson::dom::element_type::BOOL:
    return el.get_bool().value_unsafe() ? "true" : "false";
  case simdjson::dom::element_type::INT64:
    return canonical_number_or(std::to_string(el.get_int64().value_unsafe()));
  case simdjson::dom::element_type::UINT64:
    return canonical_number_or(std::to_string(el.get_uint64().value_unsafe()));
  case simdjson::dom::element_type::DOUBLE: {
    char buf[64];
    auto w = std::to_chars(buf, buf + sizeof buf, el.get_double().value_unsafe());
    return canonical_number_or(std::string_view(buf, w.ptr - buf));
  }
  case simdjson::dom::element_type::STRING:
    return canonical_number_or(el.get_string().value_unsafe());
  case simdjson::dom::element_type::ARRAY: {
    std::vector<std::string> items;
    simdjson::dom::array arr;
    if (el.get_array().get(arr) == simdjson::SUCCESS) {
      for (auto c : arr) {
        items.push_back(canon(c));
      }
    }
    return canon_array(std::move(items));
  }
  case simdjson::dom::element_type::OBJECT: {
    std::string out = "{";
    simdjson::dom::object obj;
    if (el.get_object().get(obj) == simdjson::SUCCESS) {
      for (auto [k, c] : obj) {
        out += std::string(k) + "=" + canon(c) + ",";
      }
    }
    return out + "}";
  }
  }
  return {};
}

inline void flatten(simdjson::dom::element el, const std::string& prefix, flat_doc& out) {
  simdjson::dom::object obj;
  if (el.get_object().get(obj) == simdjson::SUCCESS) {
    for (auto [k, c] : obj) {
      flatten(c, prefix.empty() ? std::string(k) : prefix + "." + std::string(k), out);
    }
    return;
  }
  out[prefix] = canon(el);
}

} // namespace chainwatch::normalize::testing
