// libFuzzer target: any bytes must parse or fail cleanly; a parsed query must
// print to text that parses again and prints the same.

#include <chainwatch/base/assert.hpp>
#include <chainwatch/eql/ast.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto q = chainwatch::eql::parse(text);
  if (!q) {
    // Rendering must cope with any location the parser reports.
    (void)q.error().render(text);
    return 0;
  }
  std::string once = chainwatch::eql::to_string(*q);
  auto again = chainwatch::eql::parse(once);
  if (!again) {
    std::fprintf(stderr, "re-parse failed:\n%s\n", again.error().render(once).c_str());
    CW_ASSERT(again.has_value());
  }
  std::string twice = chainwatch::eql::to_string(*again);
  if (twice != once) {
    std::fprintf(stderr, "to_string not stable:\n%s\n%s\n", once.c_str(), twice.c_str());
    CW_ASSERT(twice == once);
  }
  auto e = chainwatch::eql::parse_expression(text);
  if (e) (void)chainwatch::eql::to_string(*e);
  return 0;
}
