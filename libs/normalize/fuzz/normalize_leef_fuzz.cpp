// Fuzzes normalize() on LEEF 1.0/2.0 lines (header, custom delimiters, devTime): any input must
// give an event or a normalize_error carrying the input verbatim, never a crash.

#include "fuzz_tables.hpp"

#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace chainwatch::normalize;
  const std::string_view raw(reinterpret_cast<const char*>(data), size);
  auto ev = fuzzing::shared_normalizer().normalize(source_type::leef, raw);
  if (!ev && ev.error().raw != raw) {
    __builtin_trap(); // the dead-letter copy must be the input, byte for byte
  }
  return 0;
}
