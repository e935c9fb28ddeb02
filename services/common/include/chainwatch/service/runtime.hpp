#pragma once

// The start-up every service repeats, in the right order: signals (before any thread), config
// (defaults < TOML < env < flags), logging, metrics endpoint, NATS client with logged connection
// events. A service's main() becomes:
//
//   int main(int argc, char** argv) {
//     my_config cfg;
//     auto rt = service::runtime::start("normalizer", argc, argv,
//                                       [&](service::config_binder& b) { bind(b, cfg); });
//     if (!rt) return service::report(rt.error());
//     return my_application(**rt, cfg).run();   // loops until rt->stop().requested()
//   }

#include "chainwatch/base/expected.hpp"
#include "chainwatch/service/config.hpp"
#include "chainwatch/service/metrics.hpp"
#include "chainwatch/service/nats_client.hpp"
#include "chainwatch/service/shutdown.hpp"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace chainwatch::service {

/// Why start-up ended: --help (exit code 0) or an error (exit code 2 config, 1 otherwise).
struct startup_error {
  /// The process exit code to use.
  int exit_code = 1;
  /// What to print (usage text for --help).
  std::string message;
};

/// Prints `err.message` (stdout for exit code 0, stderr otherwise) and returns its exit code.
int report(const startup_error& err);

/// The running service's shared infrastructure.
class runtime {
public:
  /// Starts everything; `bind_keys` binds the service's own keys (the [common] keys are bound
  /// here). `--help` lists every key with its env variable and default.
  static expected<std::unique_ptr<runtime>, startup_error>
  start(const std::string& service, int argc, const char* const* argv,
        const std::function<void(config_binder&)>& bind_keys = {});

  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;
  ~runtime();

  /// The service name.
  const std::string& name() const noexcept { return name_; }
  /// SIGTERM/SIGINT state.
  shutdown_signal& stop() noexcept { return *stop_; }
  /// The [common] config.
  const common_config& common() const noexcept { return common_; }
  /// Positional command-line arguments.
  const std::vector<std::string>& args() const noexcept { return args_; }
  /// The metrics registry (served on common.metrics_address unless empty).
  service::metrics& metrics() noexcept { return *metrics_; }
  /// The NATS client.
  nats_client& nats() noexcept { return *nats_; }
  /// Copies the NATS client's counters into metrics; call periodically (e.g. each loop).
  void update_probes();

private:
  runtime() = default;

  std::string name_;
  std::unique_ptr<shutdown_signal> stop_;
  common_config common_;
  std::vector<std::string> args_;
  std::unique_ptr<service::metrics> metrics_;
  std::unique_ptr<nats_client> nats_;
  std::unique_ptr<nats_probe> nats_probe_;
};

} // namespace chainwatch::service
