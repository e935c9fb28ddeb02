#pragma once

// Service configuration: a typed struct per service whose fields are bound to dotted keys
// ("common.nats_url"). Values come from, lowest to highest precedence: the struct's defaults, a
// TOML file (`--config <path>`), environment variables CHAINWATCH_<SERVICE>_<KEY> (key upper-cased,
// '.' -> '_', e.g. CHAINWATCH_NORMALIZER_COMMON_NATS_URL), and `--<key> <value>` or
// `--<key>=<value>` flags. Unknown keys in the file or flags are errors (typos fail loudly).

#include "chainwatch/base/expected.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace chainwatch::service {

/// Binds config keys to fields and loads them from a TOML file, the environment and flags.
class config_binder {
public:
  /// For service `service` (lower-case; used in env variable names).
  explicit config_binder(std::string service) : service_(std::move(service)) {}

  /// Binds a string key.
  void bind(std::string key, std::string& target, std::string help);
  /// Binds an integer key.
  void bind(std::string key, std::int64_t& target, std::string help);
  /// Binds a boolean key (true/false, 1/0, yes/no, on/off).
  void bind(std::string key, bool& target, std::string help);
  /// Binds a floating-point key.
  void bind(std::string key, double& target, std::string help);
  /// Binds a duration key ("250ms", "5s", "1m"; a bare number is seconds) stored in ns.
  void bind_duration(std::string key, std::int64_t& target_ns, std::string help);

  /// Loads `argv`: `--config <file>` first, then env, then the other flags. Returns the
  /// positional arguments (non-flag words) on success, a message naming the key on failure.
  expected<std::vector<std::string>, std::string> load(int argc, const char* const* argv);
  /// Loads the TOML file at `path`, then env, then `flags` (already split, without argv[0]).
  expected<std::vector<std::string>, std::string> load(const std::string& path,
                                                       const std::vector<std::string>& flags);

  /// Env variable name of `key` for this service.
  std::string env_name(std::string_view key) const;
  /// A table of every key: name, env variable, default, help (for --help and docs).
  std::string describe() const;

private:
  struct binding {
    std::string key;
    std::string help;
    std::string default_text;
    // Parses text into the target; returns an error message or empty.
    std::function<std::string(std::string_view)> set_text;
    // Sets from a TOML node (type-checked); returns an error message or empty.
    std::function<std::string(const void* node)> set_toml;
  };
  binding* find(std::string_view key);
  expected<std::monostate, std::string> load_file(const std::string& path);
  expected<std::monostate, std::string> load_env();

  std::string service_;
  std::vector<binding> bindings_;
};

/// Keys every service has, section [common].
struct common_config {
  /// NATS server URL(s), comma-separated.
  std::string nats_url = "nats://127.0.0.1:4222";
  /// Connection name prefix shown by the NATS server (default: the service name).
  std::string nats_name;
  /// Maximum reconnect backoff.
  std::int64_t nats_reconnect_max_ns = 2'000'000'000;
  /// Maximum in-flight async JetStream publishes.
  std::int64_t nats_max_pending = 4096;
  /// host:port of the Prometheus /metrics endpoint ("" disables it).
  std::string metrics_address = "0.0.0.0:9464";
  /// spdlog level: trace, debug, info, warn, error, critical, off.
  std::string log_level = "info";
  /// Minimum interval between two logs of the same bad-message reason.
  std::int64_t bad_message_log_interval_ns = 10'000'000'000;
};

/// Binds the [common] keys: common.nats_url, common.nats_name, common.nats_reconnect_max,
/// common.nats_max_pending, common.metrics_address, common.log_level,
/// common.bad_message_log_interval.
void bind(config_binder& binder, common_config& config);

} // namespace chainwatch::service
