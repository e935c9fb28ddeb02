// chainwatch-alerter: matches in (CW_MATCH), alert JSON out (CW_ALERTS). See README.md.

#include "alerter_service.hpp"

#include <cstdio>
#include <string_view>

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::string_view(argv[i]) == "--version") {
      std::printf("chainwatch-alerter %s\n", CHAINWATCH_VERSION);
      return 0;
    }
  chainwatch::alerter::alerter_config cfg;
  auto rt = chainwatch::service::runtime::start(
      "alerter", argc, argv,
      [&](chainwatch::service::config_binder& b) { chainwatch::alerter::bind(b, cfg); });
  if (!rt) return chainwatch::service::report(rt.error());
  return chainwatch::alerter::run(**rt, cfg);
}
