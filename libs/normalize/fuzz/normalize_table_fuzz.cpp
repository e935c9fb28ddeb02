// Fuzzes the table compiler: any text must compile or yield a table_error,
// and a compiled table must normalize a fixed event without crashing.

#include <chainwatch/normalize/normalizer.hpp>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace chainwatch::normalize;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const table_text tables[] = {{"windows", text}};
  auto n = normalizer::create(tables);
  if (n) {
    (void)n->normalize(
        source_type::windows,
        R"({"winlog":{"event_id":4625,"event_data":{"TargetUserName":"x","IpAddress":"::1"}},"a":[1,{"b":null}]})");
  }
  return 0;
}
