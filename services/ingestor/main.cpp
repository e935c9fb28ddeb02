// chainwatch-ingestor: syslog TCP/UDP listeners -> raw batches in CW_INGEST.

#include "chainwatch/service/runtime.hpp"
#include "ingestor_service.hpp"

#include <cstring>
#include <iostream>
#include <spdlog/spdlog.h>

using namespace chainwatch;

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], "--version") == 0) {
      std::cout << "chainwatch-ingestor " << CHAINWATCH_VERSION << "\n";
      return 0;
    }
  ingestor::ingestor_config cfg;
  auto started = service::runtime::start("ingestor", argc, argv,
                                         [&](service::config_binder& b) { bind(b, cfg); });
  if (!started) return service::report(started.error());
  auto& rt = **started;
  if (auto specs = ingestor::parse_listeners(cfg.listeners); !specs) {
    std::cerr << "ingestor: config: " << specs.error() << "\n";
    return 2;
  }
  ingestor::ingestor_service svc(rt.nats(), rt.metrics(), cfg);
  if (auto r = svc.start(); !r) {
    spdlog::critical("ingestor: {}", r.error());
    return 1;
  }
  while (!rt.stop().wait_for(std::chrono::seconds(1)))
    rt.update_probes();
  spdlog::info("ingestor stopping: closing listeners, storing what was accepted");
  svc.stop();
  rt.update_probes();
  spdlog::info("ingestor stopped");
  return 0;
}
