#include "chainwatch/service/runtime.hpp"

#include "chainwatch/service/logging.hpp"

#include <cstdio>
#include <spdlog/spdlog.h>

namespace chainwatch::service {

int report(const startup_error& err) {
  std::fprintf(err.exit_code == 0 ? stdout : stderr, "%s\n", err.message.c_str());
  return err.exit_code;
}

runtime::~runtime() {
  // Close NATS (waits for in-flight async publishes briefly) before the metrics it reports to.
  nats_probe_.reset();
  nats_.reset();
  metrics_.reset();
}

expected<std::unique_ptr<runtime>, startup_error>
runtime::start(const std::string& service, int argc, const char* const* argv,
               const std::function<void(config_binder&)>& bind_keys) {
  std::unique_ptr<runtime> rt(new runtime());
  rt->name_ = service;
  // First, before any thread exists, so that every later thread inherits the blocked signals.
  rt->stop_ = std::make_unique<shutdown_signal>();

  config_binder binder(service);
  bind(binder, rt->common_);
  if (bind_keys) bind_keys(binder);
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--help" || a == "-h")
      return unexpected{startup_error{
          0, "usage: " + service + " [--config FILE] [--KEY VALUE]...\n\n" + binder.describe()}};
  }
  auto args = binder.load(argc, argv);
  if (!args) return unexpected{startup_error{2, service + ": config: " + args.error()}};
  rt->args_ = std::move(*args);

  if (auto r = setup_logging(service, rt->common_.log_level); !r)
    return unexpected{startup_error{2, service + ": " + r.error()}};

  if (rt->common_.metrics_address.empty()) {
    rt->metrics_ = std::make_unique<service::metrics>(service);
  } else {
    auto m = metrics::serve(service, rt->common_.metrics_address);
    if (!m) return unexpected{startup_error{1, service + ": " + m.error()}};
    rt->metrics_ = std::move(*m);
    spdlog::info("metrics on {} (port {})", rt->common_.metrics_address, rt->metrics_->port());
  }

  nats_options opts;
  opts.url = rt->common_.nats_url;
  opts.name = rt->common_.nats_name.empty() ? service : rt->common_.nats_name;
  opts.reconnect_wait_max_ms = rt->common_.nats_reconnect_max_ns / 1'000'000;
  opts.js_max_pending = rt->common_.nats_max_pending;
  opts.on_event = [](connection_event ev, std::string_view detail) {
    if (ev == connection_event::reconnected || ev == connection_event::closed)
      spdlog::info("nats {} {}", to_string(ev), detail);
    else
      spdlog::warn("nats {} {}", to_string(ev), detail);
  };
  opts.on_publish_error = [](std::string_view subject, std::string_view id,
                             std::string_view error) {
    spdlog::warn("jetstream publish to {} (id '{}') failed: {}", subject, id, error);
  };
  auto nats = nats_client::connect(std::move(opts));
  if (!nats) return unexpected{startup_error{1, service + ": " + to_string(nats.error())}};
  rt->nats_ = std::move(*nats);
  rt->nats_probe_ = std::make_unique<nats_probe>(*rt->metrics_);
  spdlog::info("{} connected to {}", service, rt->common_.nats_url);
  return rt;
}

void runtime::update_probes() {
  nats_probe_->update(*nats_);
}

} // namespace chainwatch::service
