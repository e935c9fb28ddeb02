// libFuzzer target: any bytes must parse or fail cleanly; a parsed query must
// print to text that parses again and prints the same.

#include "round_trip.hpp"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  chainwatch::eql::fuzz::round_trip("EQL", text, chainwatch::eql::parse(text));
  auto e = chainwatch::eql::parse_expression(text);
  if (e) (void)chainwatch::eql::to_string(*e);
  return 0;
}
