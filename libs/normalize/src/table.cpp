#include "internal.hpp"

#include <charconv>
#include <sstream>
#include <toml++/toml.h>

namespace chainwatch::normalize::detail {

namespace {

struct compile_error {
  std::string reason;
};

std::string where(const toml::node& n) {
  const auto& s = n.source();
  return " (line " + std::to_string(s.begin.line) + ")";
}

// Builds a constant event from a TOML value.
void build(const toml::node& n, event::builder& b) {
  if (auto s = n.as_string()) {
    b.string(s->get());
  } else if (auto i = n.as_integer()) {
    b.integer(i->get());
  } else if (auto f = n.as_floating_point()) {
    b.real(f->get());
  } else if (auto bo = n.as_boolean()) {
    b.boolean(bo->get());
  } else if (auto a = n.as_array()) {
    b.begin_array();
    for (const auto& e : *a) {
      build(e, b);
    }
    b.end_array();
  } else if (auto t = n.as_table()) {
    b.begin_object();
    for (const auto& [k, v] : *t) {
      b.key(k.str());
      build(v, b);
    }
    b.end_object();
  } else {
    b.null();
  }
}

std::unique_ptr<event::event> make_constant(const toml::node& n) {
  event::builder b;
  build(n, b);
  return std::make_unique<event::event>(b.finish());
}

// Reads a string or an array of strings.
std::vector<std::string> strings(const toml::node* n, std::string_view what) {
  std::vector<std::string> out;
  if (n == nullptr) {
    return out;
  }
  if (auto s = n->as_string()) {
    out.emplace_back(s->get());
    return out;
  }
  if (auto a = n->as_array()) {
    for (const auto& e : *a) {
      if (auto s = e.as_string()) {
        out.emplace_back(s->get());
      } else {
        throw compile_error{std::string(what) + ": expected strings" + where(e)};
      }
    }
    return out;
  }
  throw compile_error{std::string(what) + ": expected a string or an array of strings" + where(*n)};
}

conv parse_conv(std::string_view s, const toml::node& at) {
  static constexpr std::pair<std::string_view, conv> names[] = {
      {"keyword", conv::none},
      {"string", conv::string},
      {"long", conv::integer},
      {"double", conv::real},
      {"bool", conv::boolean},
      {"ip", conv::ip},
      {"timestamp", conv::timestamp},
      {"hex", conv::hex},
      {"duration_ns", conv::duration_ns},
      {"basename", conv::basename},
      {"lowercase", conv::lowercase},
      {"uppercase", conv::uppercase},
      {"split", conv::split},
      {"ms_duration_ns", conv::ms_duration_ns},
      {"first", conv::first},
      {"account_domain", conv::account_domain},
      {"account_name", conv::account_name},
      {"kv", conv::kv},
      {"path_after", conv::path_after},
      {"indexed_snake", conv::indexed_snake},
      {"name_value", conv::name_value},
      {"email", conv::email},
      {"ip_version", conv::ip_version},
      {"syslog_facility", conv::syslog_facility},
      {"syslog_severity", conv::syslog_severity},
      {"contains", conv::contains},
      {"trim", conv::trim},
      {"domain", conv::domain}};
  for (const auto& [n, c] : names) {
    if (n == s) {
      return c;
    }
  }
  throw compile_error{"unknown type '" + std::string(s) + "'" + where(at)};
}

std::int32_t parse_tz(std::string_view s) {
  if (auto off = chainwatch::time::parse_utc_offset(s)) {
    return *off;
  }
  throw compile_error{"timezone must be UTC or +hh:mm, got '" + std::string(s) + "'"};
}

class compiler {
public:
  explicit compiler(source_table& t) : t_(t) {}

  std::uint32_t input(const std::string& key) {
    auto& e = t_.keys[key];
    if (e.input == UINT32_MAX) {
      e.input = t_.input_count++;
      e.key_symbol = event::symbols::intern(key);
    }
    return e.input;
  }

  std::uint32_t slot(const std::string& path) {
    auto& e = t_.keys[path];
    if (e.slot == UINT32_MAX) {
      e.slot = static_cast<std::uint32_t>(t_.slot_paths.size());
      t_.slot_paths.push_back(path);
      t_.slot_symbols.push_back(event::symbols::intern(path));
    }
    return e.slot;
  }

  value_map* map_from_table(const toml::table& tbl) {
    auto m = std::make_unique<value_map>();
    for (const auto& [k, v] : tbl) {
      if (k.str() == "*") {
        m->fallback = make_constant(v);
        continue;
      }
      m->entries.emplace(std::string(k.str()), static_cast<std::uint32_t>(m->values.size()));
      m->values.push_back(make_constant(v));
    }
    t_.maps.push_back(std::move(m));
    return t_.maps.back().get();
  }

  const value_map* map_ref(const toml::node* n) {
    if (n == nullptr) {
      return nullptr;
    }
    if (auto s = n->as_string()) {
      auto it = t_.named_maps.find(key_of(s->get()));
      if (it == t_.named_maps.end()) {
        throw compile_error{"unknown map '" + s->get() + "'" + where(*n)};
      }
      return it->second;
    }
    if (auto tbl = n->as_table()) {
      return map_from_table(*tbl);
    }
    throw compile_error{"map: expected a map name or an inline table" + where(*n)};
  }

  void unmapped(const toml::table& tbl, bool& has, std::string& prefix, bool& drop) {
    if (auto p = tbl["unmapped_prefix"].value<std::string>()) {
      has = true;
      prefix = *p;
    }
    if (auto d = tbl["drop_unmapped"].value<bool>()) {
      has = true;
      drop = *d;
    }
  }

  // `{ from = "k", pattern = "Built %{dir} %{proto} conn" }` or `patterns = [...]` (the first
  // that matches wins), optionally `consume = true`; `%{}` or `%{?x}` skips.
  dissect compile_dissect(const toml::table& d) {
    dissect out;
    auto from = d["from"].value<std::string>();
    auto texts = strings(d.get("pattern"), "pattern");
    for (auto& p : strings(d.get("patterns"), "patterns")) {
      texts.push_back(std::move(p));
    }
    if (!from || texts.empty()) {
      throw compile_error{"dissect needs 'from' and 'pattern' or 'patterns'" + where(d)};
    }
    out.from = input(*from);
    out.consume = d["consume"].value_or(false);
    for (const auto& text : texts) {
      out.patterns.push_back(compile_pattern(text, d));
    }
    return out;
  }

  dissect::pattern compile_pattern(std::string_view p, const toml::table& d) {
    dissect::pattern out;
    std::string literal;
    while (!p.empty()) {
      const auto open = p.find("%{");
      if (open == std::string_view::npos) {
        literal += p;
        break;
      }
      literal += p.substr(0, open);
      const auto close = p.find('}', open);
      if (close == std::string_view::npos) {
        throw compile_error{"dissect pattern: unclosed %{" + where(d)};
      }
      dissect::part part;
      part.literal = literal;
      literal.clear();
      std::string name(p.substr(open + 2, close - open - 2));
      if (const auto colon = name.find(':'); colon != std::string::npos) {
        const std::string kind = name.substr(colon + 1);
        name.resize(colon);
        if (kind == "word") {
          part.kind = dissect::shape::word;
        } else if (kind == "digits") {
          part.kind = dissect::shape::digits;
        } else if (kind == "host") {
          part.kind = dissect::shape::host;
        } else {
          throw compile_error{"dissect capture shape must be word, digits or host, got '" + kind +
                              "'" + where(d)};
        }
      }
      if (!name.empty() && name[0] != '?') {
        part.key = name;
        part.input = input(name);
      }
      if (!out.parts.empty() && part.literal.empty()) {
        throw compile_error{"dissect pattern: two captures need a delimiter" + where(d)};
      }
      out.parts.push_back(std::move(part));
      p.remove_prefix(close + 1);
    }
    out.tail = literal;
    if (out.parts.empty()) {
      throw compile_error{"dissect pattern without captures" + where(d)};
    }
    if (out.parts.size() > 32) {
      throw compile_error{"dissect pattern with more than 32 captures" + where(d)};
    }
    return out;
  }

  void compile_rule(const toml::table& r, mapping& m, bool keep_default) {
    rule out;
    for (const auto& f : strings(r.get("from"), "from")) {
      out.from.push_back(input(f));
    }
    for (const auto& to : strings(r.get("to"), "to")) {
      out.to.push_back(slot(to));
    }
    if (out.from.empty()) {
      throw compile_error{"rule without 'from'" + where(r)};
    }
    if (auto ty = r["type"].value<std::string>()) {
      out.type = parse_conv(*ty, r);
    }
    if (auto then = r["then"].value<std::string>()) {
      out.then = parse_conv(*then, r);
    }
    const char* default_format = out.type == conv::split  ? ","
                                 : out.type == conv::trim ? " \t\r\n"
                                                          : "iso8601";
    out.format = r["format"].value_or(std::string(default_format));
    if (out.type == conv::contains && !r.contains("format")) {
      throw compile_error{"type 'contains' needs the text to look for in 'format'" + where(r)};
    }
    out.map = map_ref(r.get("map"));
    out.keep = r["keep"].value_or(keep_default);
    m.rules.push_back(std::move(out));
  }

  void compile_derive(const toml::table& r, mapping& m) {
    derive d;
    auto to = r["to"].value<std::string>();
    if (!to) {
      throw compile_error{"derive without 'to'" + where(r)};
    }
    d.to = slot(*to);
    if (r.contains("sum")) {
      d.kind = derive::op::sum;
      for (const auto& s : strings(r.get("sum"), "sum")) {
        d.inputs.push_back(slot(s));
      }
    } else if (r.contains("join")) {
      d.kind = derive::op::join;
      d.from_inputs = true;
      for (const auto& s : strings(r.get("join"), "join")) {
        d.inputs.push_back(input(s));
      }
    } else if (r.contains("collect") || r.contains("collect_inputs")) {
      d.kind = derive::op::collect;
      for (const auto& s : strings(r.get("collect"), "collect")) {
        d.inputs.push_back(slot(s));
      }
      for (const auto& s : strings(r.get("collect_inputs"), "collect_inputs")) {
        d.extra_inputs.push_back(input(s));
      }
    } else if (r.contains("flags")) {
      d.kind = derive::op::flags;
      d.from_inputs = true;
      for (const auto& s : strings(r.get("flags"), "flags")) {
        d.inputs.push_back(input(s));
        d.names.push_back(s);
      }
    } else if (r.contains("first")) {
      d.kind = derive::op::first;
      for (const auto& s : strings(r.get("first"), "first")) {
        d.inputs.push_back(slot(s));
      }
    } else {
      throw compile_error{"derive needs one of sum, join, collect, first, flags" + where(r)};
    }
    if (auto ty = r["type"].value<std::string>()) {
      d.type = parse_conv(*ty, r);
    }
    d.format = r["format"].value_or(std::string("iso8601"));
    d.map = map_ref(r.get("map"));
    m.derives.push_back(std::move(d));
  }

  // `[csv]`: `type_columns = [3]` and `[csv.columns]` TYPE = ["name", ...].
  void compile_csv(const toml::table& csv) {
    if (const auto* tc = csv["type_columns"].as_array()) {
      for (const auto& n : *tc) {
        const auto v = n.value<std::int64_t>();
        if (!v || *v < 0 || *v > 4096) {
          throw compile_error{"csv.type_columns must hold column numbers" + where(n)};
        }
        t_.csv_type_columns.push_back(static_cast<std::uint32_t>(*v));
      }
    } else {
      t_.csv_type_columns.push_back(3);
    }
    t_.csv_tail_key = csv["tail_key"].value_or(std::string());
    if (!t_.csv_tail_key.empty()) {
      input(t_.csv_tail_key);
    }
    const auto tail = csv["tail_offset"].value_or(std::int64_t{4});
    if (tail < 0 || tail > 4096) {
      throw compile_error{"csv.tail_offset must be a column count"};
    }
    t_.csv_tail_offset = static_cast<std::uint32_t>(tail);
    const auto* cols = csv["columns"].as_table();
    if (cols == nullptr) {
      throw compile_error{"[csv] needs a columns table"};
    }
    for (const auto& [k, v] : *cols) {
      auto names = strings(&v, "csv.columns");
      for (const auto& name : names) {
        if (!name.empty()) {
          input(name);
        }
      }
      t_.csv_columns.emplace(std::string(k.str()), std::move(names));
    }
  }

  void compile(const toml::table& root) {
    const auto* src = root["source"].as_table();
    if (src == nullptr) {
      throw compile_error{"missing [source] table"};
    }
    t_.name = (*src)["name"].value_or(std::string());
    t_.format = (*src)["format"].value_or(std::string("json"));
    if (t_.format != "json" && t_.format != "zeek" && t_.format != "cef" && t_.format != "kv" &&
        t_.format != "syslog" && t_.format != "csv" && t_.format != "leef") {
      throw compile_error{"unknown format '" + t_.format + "'"};
    }
    t_.tz_offset_s = parse_tz((*src)["timezone"].value_or(std::string("UTC")));
    t_.kind_field = (*src)["kind_field"].value_or(std::string());
    if (!t_.kind_field.empty()) {
      t_.kind_input = input(t_.kind_field);
    }
    if (const auto* sigs = (*src)["kind_signatures"].as_array()) {
      for (const auto& sn : *sigs) {
        const auto* sig = sn.as_table();
        const auto kind = sig != nullptr ? (*sig)["kind"].value<std::string>() : std::nullopt;
        if (!kind || kind->empty() || !sig->contains("fields")) {
          throw compile_error{"kind_signatures entries need 'kind' and 'fields'" + where(sn)};
        }
        kind_signature out;
        out.kind = *kind;
        for (const auto& f : strings(sig->get("fields"), "fields")) {
          out.inputs.push_back(input(f));
        }
        if (out.inputs.empty()) {
          throw compile_error{"kind_signatures entry without fields" + where(sn)};
        }
        t_.kind_signatures.push_back(std::move(out));
      }
    }
    t_.file_name_kinds = strings(src->get("kinds_from_file_name"), "kinds_from_file_name");
    t_.null_values = strings(src->get("null_values"), "null_values");
    t_.embedded_json = strings(src->get("embedded_json"), "embedded_json");
    t_.strip_prefixes = strings(src->get("strip_prefixes"), "strip_prefixes");
    t_.envelope_fields = strings(src->get("envelope_fields"), "envelope_fields");
    if (const auto* ds = (*src)["dissect"].as_array()) {
      for (const auto& dn : *ds) {
        const auto* d = dn.as_table();
        if (d == nullptr) {
          throw compile_error{"dissect entries must be tables" + where(dn)};
        }
        t_.header_dissects.push_back(compile_dissect(*d));
      }
    }
    if (const auto* csv = root["csv"].as_table()) {
      compile_csv(*csv);
    } else if (t_.format == "csv") {
      throw compile_error{"format csv needs a [csv] table"};
    }
    bool has = false;
    unmapped(*src, has, t_.unmapped_prefix, t_.drop_unmapped);
    const bool keep_default = (*src)["keep_mapped"].value_or(false);
    const auto key_case = (*src)["unmapped_case"].value_or(std::string("keep"));
    if (key_case != "keep" && key_case != "snake") {
      throw compile_error{"unmapped_case must be keep or snake"};
    }
    t_.snake_case_unmapped = key_case == "snake";
    t_.snake_case_depth = static_cast<std::size_t>((*src)["unmapped_case_depth"].value_or(64));

    absl::flat_hash_map<std::string, std::string> common_aliases;
    if (const auto* al = (*src)["aliases"].as_table()) {
      for (const auto& [k, v] : *al) {
        common_aliases.emplace(std::string(k.str()), v.value_or(std::string()));
      }
    }
    if (const auto* maps = root["maps"].as_table()) {
      for (const auto& [name, v] : *maps) {
        const auto* tbl = v.as_table();
        if (tbl == nullptr) {
          throw compile_error{"maps." + std::string(name.str()) + " must be a table" + where(v)};
        }
        t_.named_maps.emplace(std::string(name.str()), map_from_table(*tbl));
      }
    }
    variant def;
    def.name = "default";
    def.aliases = common_aliases;
    t_.variants.push_back(std::move(def));
    if (const auto* vs = root["variant"].as_array()) {
      for (const auto& vn : *vs) {
        const auto* v = vn.as_table();
        if (v == nullptr) {
          throw compile_error{"[[variant]] must be tables" + where(vn)};
        }
        variant out;
        out.name = (*v)["name"].value_or(std::string());
        out.detect = (*v)["detect"].value_or(std::string());
        out.xml = (*v)["xml"].value_or(false);
        if (out.detect.empty() && !out.xml) {
          throw compile_error{"variant without 'detect'" + where(vn)};
        }
        out.aliases = common_aliases;
        if (const auto* al = (*v)["aliases"].as_table()) {
          for (const auto& [k, a] : *al) {
            out.aliases.insert_or_assign(std::string(k.str()), a.value_or(std::string()));
          }
        }
        unmapped(*v, out.has_unmapped, out.unmapped_prefix, out.drop_unmapped);
        out.input_prefix = (*v)["input_prefix"].value_or(std::string());
        t_.variants.push_back(std::move(out));
      }
    }
    if (const auto* ms = root["mapping"].as_array()) {
      for (const auto& mn : *ms) {
        const auto* m = mn.as_table();
        if (m == nullptr) {
          throw compile_error{"[[mapping]] must be tables" + where(mn)};
        }
        mapping out;
        unmapped(*m, out.has_unmapped, out.unmapped_prefix, out.drop_unmapped);
        if (const auto* cs = (*m)["constants"].as_table()) {
          for (const auto& [k, v] : *cs) {
            out.constants.emplace_back(slot(std::string(k.str())), make_constant(v));
          }
        }
        if (const auto* rs = (*m)["map"].as_array()) {
          for (const auto& rn : *rs) {
            const auto* r = rn.as_table();
            if (r == nullptr) {
              throw compile_error{"map entries must be tables" + where(rn)};
            }
            compile_rule(*r, out, keep_default);
          }
        }
        if (const auto* ds = (*m)["dissect"].as_array()) {
          for (const auto& dn : *ds) {
            const auto* d = dn.as_table();
            if (d == nullptr) {
              throw compile_error{"dissect entries must be tables" + where(dn)};
            }
            out.dissects.push_back(compile_dissect(*d));
          }
        }
        for (const auto& d : strings(m->get("drop"), "drop")) {
          out.drops.push_back(input(d));
        }
        if (const auto* ds = (*m)["derive"].as_array()) {
          for (const auto& dn : *ds) {
            const auto* d = dn.as_table();
            if (d == nullptr) {
              throw compile_error{"derive entries must be tables" + where(dn)};
            }
            compile_derive(*d, out);
          }
        }
        const auto index = static_cast<std::uint32_t>(t_.mappings.size());
        const auto kinds = strings(m->get("kinds"), "kinds");
        if (kinds.empty()) {
          t_.universal.push_back(index);
          for (auto& [k, list] : t_.by_kind) {
            list.push_back(index);
          }
        } else {
          for (const auto& k : kinds) {
            auto [it, inserted] = t_.by_kind.try_emplace(k);
            if (inserted) {
              it->second = t_.universal;
            }
            it->second.push_back(index);
          }
        }
        t_.mappings.push_back(std::move(out));
      }
    }
  }

private:
  source_table& t_;
};

} // namespace

expected<std::unique_ptr<source_table>, table_error> compile_table(const table_text& t) {
  auto out = std::make_unique<source_table>();
  try {
    toml::table root = toml::parse(t.text, t.name);
    compiler c(*out);
    c.compile(root);
  } catch (const toml::parse_error& e) {
    std::ostringstream os;
    os << e.description() << " (line " << e.source().begin.line << ", column "
       << e.source().begin.column << ")";
    return unexpected{table_error{std::string(t.name), os.str()}};
  } catch (const compile_error& e) {
    return unexpected{table_error{std::string(t.name), e.reason}};
  }
  if (out->name.empty()) {
    out->name = std::string(t.name);
  }
  for (const auto& [key, entry] : out->keys) {
    for (std::size_t dot = key.find('.'); dot != std::string::npos; dot = key.find('.', dot + 1)) {
      out->scoped_keys[key.substr(0, dot)].emplace(key.substr(dot + 1), entry);
    }
  }
  return out;
}

} // namespace chainwatch::normalize::detail
