// libFuzzer target: any bytes must parse as KQL or fail cleanly; what KQL compiles to must be
// EQL that parses again and prints the same.

#include "round_trip.hpp"

#include <chainwatch/eql/kql.hpp>
#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  chainwatch::eql::fuzz::round_trip("KQL", text, chainwatch::eql::parse_kql(text));
  return 0;
}
