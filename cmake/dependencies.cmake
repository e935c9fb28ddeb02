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
pkg_check_modules(LZ4 REQUIRED IMPORTED_TARGET liblz4)
pkg_check_modules(YAMLCPP REQUIRED IMPORTED_TARGET yaml-cpp)  # libs/sigma
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

# tcmalloc (gperftools' tcmalloc_minimal, as Envoy links it) for the service and CLI binaries. The
# matcher and normalizer allocate per event and free in bulk at the next watermark; glibc malloc
# spent a quarter of the matcher's CPU on that (bins, consolidation). Pipeline bench, same
# binaries with LD_PRELOAD: matcher CPU -23%, normalizer -16% (BENCHMARKS.md). Not under the
# sanitizers (ASan brings its own allocator) nor for fuzzing; without the package the binaries
# keep glibc malloc.
if(CHAINWATCH_TCMALLOC AND NOT CHAINWATCH_SANITIZE AND NOT CHAINWATCH_FUZZ)
  pkg_check_modules(TCMALLOC IMPORTED_TARGET libtcmalloc_minimal)
endif()
function(chainwatch_fast_malloc target)
  if(TARGET PkgConfig::TCMALLOC)
    # Linked even though no symbol is referenced by name: it replaces malloc and operator new.
    target_link_options(${target} PRIVATE "LINKER:--no-as-needed")
    target_link_libraries(${target} PRIVATE PkgConfig::TCMALLOC)
    target_compile_options(${target} PRIVATE -fno-builtin-malloc -fno-builtin-calloc
                                             -fno-builtin-realloc -fno-builtin-free)
  endif()
endfunction()
