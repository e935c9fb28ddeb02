// chainwatch-watermark: event batches (CW_EVENTS) -> keyed partition batches with watermark
// markers (CW_PART), late events (CW_LATE).

#include "chainwatch/service/runtime.hpp"
#include "compiled_rules.hpp"
#include "watermark_service.hpp"

#include <cstring>
#include <iostream>
#include <spdlog/spdlog.h>

using namespace chainwatch;

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], "--version") == 0) {
      std::cout << "chainwatch-watermark " << CHAINWATCH_VERSION << "\n";
      return 0;
    }
  watermark::watermark_config cfg;
  auto started = service::runtime::start("watermark", argc, argv,
                                         [&](service::config_binder& b) { bind(b, cfg); });
  if (!started) return service::report(started.error());
  auto& rt = **started;
  std::string error;
  auto overrides = engine::parse_overrides(cfg.lateness_overrides, &error);
  auto future = overrides ? engine::parse_overrides(cfg.max_future_overrides, &error) : overrides;
  if (!overrides || !future || cfg.partitions < 1 || cfg.partitions > 65536) {
    std::cerr << "watermark: config: "
              << (future ? "watermark.partitions must be in [1, 65536]" : error) << "\n";
    return 2;
  }
  auto rules = cli::compile_rules(cfg.rules, cfg.lists, cfg.event_type_field, cfg.case_sensitive);
  if (!rules) {
    std::cerr << "watermark: rules:\n" << rules.error();
    return 2;
  }
  for (const auto& s : rules->skipped)
    spdlog::warn("watermark: skipped rule: {}", s);
  spdlog::info("watermark: {} rules (fingerprint {:016x}), {} partitions", rules->rules->size(),
               rules->rules->fingerprint(), cfg.partitions);
  watermark::watermark_service svc(rt.nats(), rt.metrics(), cfg, rules->rules,
                                   {.default_ns = cfg.lateness_ns, .overrides = *overrides},
                                   {.default_ns = cfg.max_future_ns, .overrides = *future});
  if (auto r = svc.start(); !r) {
    spdlog::critical("watermark: start: {}", service::to_string(r.error()));
    return 1;
  }
  // A round in progress finishes (publish, ack) before the loop sees the stop request.
  svc.run_until([&] {
    rt.update_probes();
    return rt.stop().requested();
  });
  spdlog::info("watermark stopped");
  return 0;
}
