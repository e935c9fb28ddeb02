// libFuzzer target: any bytes must compile as Sigma rules (with the shipped mapping tables of
// config/sigma) or fail with a reason; what a rule compiles to must be EQL that parses.

#include <chainwatch/base/assert.hpp>
#include <chainwatch/eql/ast.hpp>
#include <chainwatch/sigma/sigma.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

namespace {

const chainwatch::sigma::mapping& shipped_maps() {
  static const chainwatch::sigma::mapping maps = [] {
    chainwatch::sigma::mapping out;
    const auto dir = std::filesystem::path(__FILE__).parent_path() / "../../../config/sigma";
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
      if (e.path().extension() != ".toml") continue;
      std::ifstream in(e.path(), std::ios::binary);
      std::ostringstream os;
      os << in.rdbuf();
      auto p = chainwatch::sigma::parse_mapping(os.str(), e.path().string());
      if (!p) {
        std::fprintf(stderr, "%s\n", p.error().render(e.path().string()).c_str());
        std::abort();
      }
      out.products.push_back(std::move(*p));
    }
    if (out.products.empty()) std::abort();
    return out;
  }();
  return maps;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  for (const auto& d : chainwatch::sigma::parse_rules(text, shipped_maps())) {
    if (!d.result) {
      (void)d.result.error().render("fuzz.yml");
      continue;
    }
    const std::string eql = chainwatch::eql::to_string(d.result->query);
    auto q = chainwatch::eql::parse(eql);
    if (!q) {
      std::fprintf(stderr, "Sigma gave EQL that does not parse:\n%s\n",
                   q.error().render(eql).c_str());
      CW_ASSERT(q.has_value());
    }
  }
  return 0;
}
