// libFuzzer target: any bytes must parse as Lucene or fail cleanly; what Lucene compiles to must be
// EQL that parses again, prints the same and compiles (its regular expressions are valid RE2).

#include <chainwatch/base/assert.hpp>
#include <chainwatch/eql/compile.hpp>
#include <chainwatch/eql/lucene.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <variant>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto q = chainwatch::eql::parse_lucene(text);
  if (!q) {
    (void)q.error().render(text);
    return 0;
  }
  std::string once = chainwatch::eql::to_string(*q);
  auto again = chainwatch::eql::parse(once);
  if (!again) {
    std::fprintf(stderr, "Lucene gave EQL that does not parse:\n%s\n",
                 again.error().render(once).c_str());
    CW_ASSERT(again.has_value());
  }
  CW_ASSERT(chainwatch::eql::to_string(*again) == once);
  const auto& condition = std::get<chainwatch::eql::event_query>(q->body).condition;
  auto compiled = chainwatch::eql::compile(condition, chainwatch::eql::compile_options{});
  if (!compiled) {
    std::fprintf(stderr, "Lucene gave EQL that does not compile:\n%s\n",
                 compiled.error().render(once).c_str());
    CW_ASSERT(compiled.has_value());
  }
  return 0;
}
