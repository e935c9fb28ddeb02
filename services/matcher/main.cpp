// chainwatch-matcher: EQL sequence matching over partitioned events (docs/mesh.md).

#include "matcher_service.hpp"

#include <cstdio>
#include <string_view>

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::string_view(argv[i]) == "--version") {
      std::printf("chainwatch-matcher %s\n", CHAINWATCH_VERSION);
      return 0;
    }
  chainwatch::matcher::matcher_config cfg;
  auto rt = chainwatch::service::runtime::start(
      "matcher", argc, argv,
      [&](chainwatch::service::config_binder& b) { chainwatch::matcher::bind(b, cfg); });
  if (!rt) return chainwatch::service::report(rt.error());
  return chainwatch::matcher::run(**rt, cfg);
}
