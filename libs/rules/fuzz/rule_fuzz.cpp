// libFuzzer target: any bytes must load as a detection rule or fail with a located error; what
// a loaded rule hands on must hold: its `filters` translated to EQL always parse.

#include <chainwatch/base/assert.hpp>
#include <chainwatch/eql/ast.hpp>
#include <chainwatch/eql/kql.hpp>
#include <chainwatch/rules/rule.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto r = chainwatch::rules::parse_rule(text, "fuzz.toml");
  if (!r) {
    (void)r.error().render();
    return 0;
  }
  if (!r->filters_eql.empty()) {
    auto e = chainwatch::eql::parse_expression(r->filters_eql);
    if (!e) {
      std::fprintf(stderr, "filters gave EQL that does not parse:\n%s\n",
                   e.error().render(r->filters_eql).c_str());
      CW_ASSERT(e.has_value());
    }
  }
  // An error in the query is reported at its place in the file.
  if (auto q = chainwatch::eql::parse_in(r->language, r->query); !q)
    (void)chainwatch::rules::query_to_file(*r, q.error().where.line, q.error().where.column);
  return 0;
}
