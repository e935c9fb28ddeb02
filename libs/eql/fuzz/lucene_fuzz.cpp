// libFuzzer target: any bytes must parse as Lucene or fail cleanly; what Lucene compiles to must be
// EQL that parses again, prints the same and compiles (its regular expressions are valid RE2).

#include "round_trip.hpp"

#include <chainwatch/base/assert.hpp>
#include <chainwatch/eql/compile.hpp>
#include <chainwatch/eql/lucene.hpp>
#include <cstddef>
#include <cstdint>
#include <variant>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto q = chainwatch::eql::parse_lucene(text);
  auto once = chainwatch::eql::fuzz::round_trip("Lucene", text, q);
  if (!once) return 0;
  const auto& condition = std::get<chainwatch::eql::event_query>(q->body).condition;
  auto compiled = chainwatch::eql::compile(condition, chainwatch::eql::compile_options{});
  if (!compiled) {
    std::fprintf(stderr, "Lucene gave EQL that does not compile:\n%s\n",
                 compiled.error().render(*once).c_str());
    CW_ASSERT(compiled.has_value());
  }
  return 0;
}
