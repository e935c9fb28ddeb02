# Third-party dependencies, all from Debian 12 packages (see scripts/bootstrap).
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(GTest REQUIRED)
include(GoogleTest)
find_package(simdjson REQUIRED)
find_package(msgpack 4 CONFIG REQUIRED)  # target msgpackc-cxx

find_package(absl REQUIRED)
find_package(tomlplusplus REQUIRED)
find_package(ZLIB REQUIRED)
pkg_check_modules(RE2 REQUIRED IMPORTED_TARGET re2)
pkg_check_modules(XXHASH REQUIRED IMPORTED_TARGET libxxhash)
pkg_check_modules(ZSTD REQUIRED IMPORTED_TARGET libzstd)
if(CHAINWATCH_BENCH)
  find_package(benchmark REQUIRED)
endif()

# Service edges (services/common and the services): NATS, CAF, Prometheus, logging.
pkg_check_modules(NATS IMPORTED_TARGET libnats)
find_package(prometheus-cpp CONFIG)
find_package(spdlog CONFIG)
# CAF 0.17 ships no CMake config.
find_path(CAF_INCLUDE_DIR caf/all.hpp)
find_library(CAF_CORE_LIBRARY caf_core)
find_library(CAF_IO_LIBRARY caf_io)
if(CAF_INCLUDE_DIR AND CAF_CORE_LIBRARY AND NOT TARGET caf::core)
  add_library(caf::core UNKNOWN IMPORTED)
  set_target_properties(caf::core PROPERTIES IMPORTED_LOCATION ${CAF_CORE_LIBRARY}
    INTERFACE_INCLUDE_DIRECTORIES ${CAF_INCLUDE_DIR}
    INTERFACE_LINK_LIBRARIES Threads::Threads)
endif()
if(CAF_IO_LIBRARY AND TARGET caf::core AND NOT TARGET caf::io)
  add_library(caf::io UNKNOWN IMPORTED)
  set_target_properties(caf::io PROPERTIES IMPORTED_LOCATION ${CAF_IO_LIBRARY}
    INTERFACE_LINK_LIBRARIES caf::core)
endif()
