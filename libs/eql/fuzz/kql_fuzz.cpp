// libFuzzer target: any bytes must parse as KQL or fail cleanly; what KQL compiles to must be
// EQL that parses again and prints the same.

#include <chainwatch/base/assert.hpp>
#include <chainwatch/eql/kql.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto q = chainwatch::eql::parse_kql(text);
  if (!q) {
    (void)q.error().render(text);
    return 0;
  }
  std::string once = chainwatch::eql::to_string(*q);
  auto again = chainwatch::eql::parse(once);
  if (!again) {
    std::fprintf(stderr, "KQL gave EQL that does not parse:\n%s\n",
                 again.error().render(once).c_str());
    CW_ASSERT(again.has_value());
  }
  CW_ASSERT(chainwatch::eql::to_string(*again) == once);
  return 0;
}
