#pragma once

// Raw vendor logs as a stream of ECS events, for `normalize` and `hunt --source`.

#include <chainwatch/normalize/normalizer.hpp>
#include <functional>
#include <string>
#include <vector>

namespace chainwatch::cli {

/// The default mapping-table directory: $CHAINWATCH_SOURCES, else ./config/sources.
std::vector<std::string> default_source_dirs();

/// Compiles every `*.toml` table in the directories.
expected<normalize::normalizer, std::string> load_normalizer(const std::vector<std::string>& dirs);

} // namespace chainwatch::cli
