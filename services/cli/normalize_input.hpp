#pragma once

// Raw vendor logs as a stream of ECS events, for `normalize` and `hunt --source`.

#include "input.hpp"

#include <chainwatch/normalize/normalizer.hpp>
#include <functional>
#include <string>
#include <vector>

namespace chainwatch::cli {

/// The default mapping-table directory: $CHAINWATCH_SOURCES, else ./config/sources.
std::vector<std::string> default_source_dirs();

/// Compiles every `*.toml` table in the directories.
expected<normalize::normalizer, std::string> load_normalizer(const std::vector<std::string>& dirs);

/// Normalizes a raw file line by line (a JSON-array file element by element);
/// each result, event or error, goes to `on_record`. Returns an I/O error text.
std::string read_normalized(const std::string& path, normalize::normalizer& n,
                            normalize::source_type source,
                            const std::function<void(record&&)>& on_record);

} // namespace chainwatch::cli
