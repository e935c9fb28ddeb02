#include "chainwatch/service/config.hpp"

#include "chainwatch/base/time.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <set>
#include <sstream>
#include <toml++/toml.h>

namespace chainwatch::service {

namespace {

std::string format_duration(std::int64_t ns) {
  if (ns != 0 && ns % 1'000'000'000 == 0) return std::to_string(ns / 1'000'000'000) + "s";
  if (ns != 0 && ns % 1'000'000 == 0) return std::to_string(ns / 1'000'000) + "ms";
  if (ns != 0 && ns % 1'000 == 0) return std::to_string(ns / 1'000) + "us";
  return std::to_string(ns) + "ns";
}

std::string quote(std::string_view s) {
  return "'" + std::string(s) + "'";
}

std::optional<bool> parse_bool(std::string_view text) {
  std::string t(text);
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::tolower(c); });
  if (t == "true" || t == "1" || t == "yes" || t == "on") return true;
  if (t == "false" || t == "0" || t == "no" || t == "off") return false;
  return std::nullopt;
}

// Collects every leaf key of a TOML table as a dotted path.
void leaf_keys(const toml::table& tbl, const std::string& prefix, std::vector<std::string>& out) {
  for (const auto& [k, v] : tbl) {
    auto path = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    if (const auto* sub = v.as_table())
      leaf_keys(*sub, path, out);
    else
      out.push_back(path);
  }
}

} // namespace

config_binder::binding* config_binder::find(std::string_view key) {
  for (auto& b : bindings_)
    if (b.key == key) return &b;
  return nullptr;
}

void config_binder::bind(std::string key, std::string& target, std::string help) {
  binding b{std::move(key), std::move(help), quote(target), {}, {}};
  b.set_text = [&target](std::string_view text) {
    target = std::string(text);
    return std::string();
  };
  b.set_toml = [&target](const void* node) {
    auto v = static_cast<const toml::node*>(node)->value<std::string>();
    if (!v) return std::string("expected a string");
    target = *v;
    return std::string();
  };
  bindings_.push_back(std::move(b));
}

void config_binder::bind(std::string key, std::int64_t& target, std::string help) {
  binding b{std::move(key), std::move(help), std::to_string(target), {}, {}};
  b.set_text = [&target](std::string_view text) {
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size())
      return "expected an integer, got " + quote(text);
    target = v;
    return std::string();
  };
  b.set_toml = [&target](const void* node) {
    const auto* n = static_cast<const toml::node*>(node);
    if (!n->is_integer()) return std::string("expected an integer");
    target = *n->value<std::int64_t>();
    return std::string();
  };
  bindings_.push_back(std::move(b));
}

void config_binder::bind(std::string key, bool& target, std::string help) {
  binding b{std::move(key), std::move(help), target ? "true" : "false", {}, {}};
  b.set_text = [&target](std::string_view text) {
    auto v = parse_bool(text);
    if (!v) return "expected a boolean, got " + quote(text);
    target = *v;
    return std::string();
  };
  b.set_toml = [&target](const void* node) {
    const auto* n = static_cast<const toml::node*>(node);
    if (!n->is_boolean()) return std::string("expected a boolean");
    target = *n->value<bool>();
    return std::string();
  };
  bindings_.push_back(std::move(b));
}

void config_binder::bind(std::string key, double& target, std::string help) {
  std::ostringstream def;
  def << target;
  binding b{std::move(key), std::move(help), def.str(), {}, {}};
  b.set_text = [&target](std::string_view text) {
    char* end = nullptr;
    std::string t(text);
    double v = std::strtod(t.c_str(), &end);
    if (t.empty() || end != t.c_str() + t.size()) return "expected a number, got " + quote(text);
    target = v;
    return std::string();
  };
  b.set_toml = [&target](const void* node) {
    const auto* n = static_cast<const toml::node*>(node);
    if (!n->is_number()) return std::string("expected a number");
    target = *n->value<double>();
    return std::string();
  };
  bindings_.push_back(std::move(b));
}

void config_binder::bind_duration(std::string key, std::int64_t& target_ns, std::string help) {
  binding b{std::move(key), std::move(help), format_duration(target_ns), {}, {}};
  b.set_text = [&target_ns](std::string_view text) {
    auto v = time::parse_duration(text);
    if (!v) return "expected a duration like 250ms, 5s, 1m, got " + quote(text);
    target_ns = *v;
    return std::string();
  };
  b.set_toml = [&target_ns](const void* node) {
    const auto* n = static_cast<const toml::node*>(node);
    if (n->is_integer()) {
      target_ns = *n->value<std::int64_t>() * time::ns_per_s;
      return std::string();
    }
    auto s = n->value<std::string>();
    if (!s) return std::string("expected a duration string like \"5s\" or seconds");
    auto v = time::parse_duration(*s);
    if (!v) return "expected a duration like 250ms, 5s, 1m, got " + quote(*s);
    target_ns = *v;
    return std::string();
  };
  bindings_.push_back(std::move(b));
}

std::string config_binder::env_name(std::string_view key) const {
  std::string out = "CHAINWATCH_" + service_ + "_" + std::string(key);
  for (auto& c : out)
    c = c == '.' || c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

expected<std::monostate, std::string> config_binder::load_file(const std::string& path) {
  toml::table tbl;
  try {
    tbl = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << path << ":" << e.source().begin.line << ":" << e.source().begin.column << ": "
        << e.description();
    return unexpected{msg.str()};
  }
  std::vector<std::string> keys;
  leaf_keys(tbl, "", keys);
  for (const auto& key : keys) {
    auto* b = find(key);
    if (b == nullptr) return unexpected{path + ": unknown key " + quote(key)};
    auto node = tbl.at_path(key);
    if (auto err = b->set_toml(node.node()); !err.empty())
      return unexpected{path + ": " + key + ": " + err};
  }
  return std::monostate{};
}

expected<std::monostate, std::string> config_binder::load_env() {
  for (auto& b : bindings_) {
    auto name = env_name(b.key);
    if (const char* v = std::getenv(name.c_str())) {
      if (auto err = b.set_text(v); !err.empty()) return unexpected{name + ": " + err};
    }
  }
  return std::monostate{};
}

expected<std::vector<std::string>, std::string> config_binder::load(int argc,
                                                                    const char* const* argv) {
  std::vector<std::string> flags;
  for (int i = 1; i < argc; ++i)
    flags.emplace_back(argv[i]);
  std::string path;
  std::vector<std::string> rest;
  for (std::size_t i = 0; i < flags.size(); ++i) {
    if (flags[i] == "--config" && i + 1 < flags.size()) {
      path = flags[++i];
    } else if (flags[i].rfind("--config=", 0) == 0) {
      path = flags[i].substr(9);
    } else {
      rest.push_back(flags[i]);
    }
  }
  return load(path, rest);
}

expected<std::vector<std::string>, std::string>
config_binder::load(const std::string& path, const std::vector<std::string>& flags) {
  if (!path.empty())
    if (auto r = load_file(path); !r) return unexpected{r.error()};
  if (auto r = load_env(); !r) return unexpected{r.error()};
  std::vector<std::string> positional;
  for (std::size_t i = 0; i < flags.size(); ++i) {
    std::string_view f = flags[i];
    if (f.rfind("--", 0) != 0) {
      positional.emplace_back(f);
      continue;
    }
    f.remove_prefix(2);
    std::string key;
    std::string value;
    if (auto eq = f.find('='); eq != std::string_view::npos) {
      key = f.substr(0, eq);
      value = f.substr(eq + 1);
    } else {
      key = f;
      if (i + 1 >= flags.size()) return unexpected{"--" + key + ": missing value"};
      value = flags[++i];
    }
    auto* b = find(key);
    if (b == nullptr) return unexpected{"unknown flag --" + key};
    if (auto err = b->set_text(value); !err.empty()) return unexpected{"--" + key + ": " + err};
  }
  return positional;
}

std::string config_binder::describe() const {
  std::ostringstream out;
  for (const auto& b : bindings_)
    out << "  --" << b.key << " (env " << env_name(b.key) << ", default " << b.default_text
        << ")\n      " << b.help << "\n";
  return out.str();
}

void bind(config_binder& binder, common_config& config) {
  binder.bind("common.nats_url", config.nats_url, "NATS server URL(s), comma-separated");
  binder.bind("common.nats_name", config.nats_name,
              "connection name prefix shown by the server (empty: the service name)");
  binder.bind_duration("common.nats_reconnect_max", config.nats_reconnect_max_ns,
                       "maximum delay between reconnect attempts (exponential backoff from 50ms)");
  binder.bind("common.nats_max_pending", config.nats_max_pending,
              "maximum in-flight async JetStream publishes before publishing blocks");
  binder.bind("common.metrics_address", config.metrics_address,
              "host:port of the Prometheus /metrics endpoint (empty disables it)");
  binder.bind("common.log_level", config.log_level,
              "log level: trace, debug, info, warn, error, critical, off");
  binder.bind_duration("common.bad_message_log_interval", config.bad_message_log_interval_ns,
                       "minimum interval between two log lines of the same bad-message reason");
}

} // namespace chainwatch::service
