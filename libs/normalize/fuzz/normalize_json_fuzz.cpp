// Fuzzes normalize() on JSON-shaped input for every source type. The first
// byte picks the source type; the rest is the input line.

#include "fuzz_tables.hpp"

#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace chainwatch::normalize;
  if (size == 0) {
    return 0;
  }
  const auto all = sources();
  const auto& src = all[data[0] % all.size()];
  const std::string_view raw(reinterpret_cast<const char*>(data + 1), size - 1);
  auto ev = fuzzing::shared_normalizer().normalize(src.type, raw, context{"conn.log"});
  if (!ev && ev.error().raw != raw) {
    __builtin_trap(); // the dead-letter copy must be the input, byte for byte
  }
  return 0;
}
