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

/// `--reference-time` (ISO 8601) in ns, 0 when not given (record_reader then takes each file's
/// modification time); a usage error naming `command` when it is no time.
expected<std::int64_t, std::string> reference_time(std::string_view command,
                                                   const std::string& text);

} // namespace chainwatch::cli
