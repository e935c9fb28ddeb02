// Fuzzes the Zeek stream reader: the input is split into lines and fed in
// order, so header directives and data lines interleave arbitrarily.

#include "fuzz_tables.hpp"

#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace chainwatch::normalize;
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  stream_reader reader(fuzzing::shared_normalizer(), source_type::zeek, context{"dns.log"});
  while (!rest.empty()) {
    const auto nl = rest.find('\n');
    (void)reader.next(rest.substr(0, nl));
    if (nl == std::string_view::npos) {
      break;
    }
    rest.remove_prefix(nl + 1);
  }
  return 0;
}
