// chainwatch-normalizer: raw batches (CW_INGEST) -> ECS event batches (CW_EVENTS).

#include "chainwatch/service/runtime.hpp"
#include "compiled_rules.hpp"
#include "normalizer_service.hpp"

#include <cstring>
#include <iostream>
#include <optional>
#include <spdlog/spdlog.h>

using namespace chainwatch;

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], "--version") == 0) {
      std::cout << "chainwatch-normalizer " << CHAINWATCH_VERSION << "\n";
      return 0;
    }
  normalizer::normalizer_config cfg;
  auto started = service::runtime::start("normalizer", argc, argv,
                                         [&](service::config_binder& b) { bind(b, cfg); });
  if (!started) return service::report(started.error());
  auto& rt = **started;
  std::optional<cli::compiled_rules> rules; // its lists outlive the pipeline
  if (!cfg.rules.empty()) {
    auto r = cli::compile_rules(cfg.rules, cfg.lists, cfg.event_type_field, cfg.case_sensitive);
    if (!r) {
      std::cerr << "normalizer: rules:\n" << r.error();
      return 2;
    }
    for (const auto& s : r->skipped)
      spdlog::warn("normalizer: skipped rule: {}", s);
    spdlog::info("normalizer: routing with {} rules (fingerprint {:016x})", r->rules->size(),
                 r->rules->fingerprint());
    rules = std::move(*r);
  }
  auto p = normalizer::pipeline::create(cfg.sources_dir,
                                        {.timestamp_field = cfg.timestamp_field,
                                         .keep_raw = cfg.keep_raw,
                                         .max_events = static_cast<std::size_t>(cfg.max_events),
                                         .max_bytes = static_cast<std::size_t>(cfg.max_bytes),
                                         .rules = rules ? rules->rules : nullptr});
  if (!p) {
    spdlog::critical("normalizer: {}", p.error());
    return 2;
  }
  normalizer::normalizer_service svc(rt.nats(), rt.metrics(), cfg, std::move(*p));
  if (auto r = svc.start(); !r) {
    spdlog::critical("normalizer: start: {}", service::to_string(r.error()));
    return 1;
  }
  spdlog::info("normalizer consuming CW_INGEST as durable '{}'", cfg.durable);
  // A round in progress finishes (publish, ack) before the loop sees the stop request.
  svc.run_until([&] {
    rt.update_probes();
    return rt.stop().requested();
  });
  spdlog::info("normalizer stopped");
  return 0;
}
