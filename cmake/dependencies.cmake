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
if(CHAINWATCH_BENCH)
  find_package(benchmark REQUIRED)
endif()
