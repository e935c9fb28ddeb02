#pragma once

// The shipped tables for the fuzz targets, read once from config/sources/.

#include <chainwatch/normalize/normalizer.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace chainwatch::normalize::fuzzing {

inline normalizer& shared_normalizer() {
  static normalizer* n = [] {
    static std::vector<std::string> names;
    static std::vector<std::string> texts;
    std::vector<table_text> views;
    const auto dir = std::filesystem::path(__FILE__).parent_path() / "../../../config/sources";
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
      if (e.path().extension() != ".toml") {
        continue;
      }
      std::ifstream in(e.path(), std::ios::binary);
      std::ostringstream os;
      os << in.rdbuf();
      names.push_back(e.path().stem().string());
      texts.push_back(os.str());
    }
    for (std::size_t i = 0; i < names.size(); ++i) {
      views.push_back({names[i], texts[i]});
    }
    auto created = normalizer::create(views, limits{.max_bytes = 1 << 16, .max_depth = 32});
    if (!created) {
      std::abort();
    }
    return new normalizer(std::move(*created));
  }();
  return *n;
}

} // namespace chainwatch::normalize::fuzzing
