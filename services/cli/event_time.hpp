#pragma once

// Reads an event's time from a field in one of the formats users meet.

#include <chainwatch/base/time.hpp>
#include <chainwatch/event/event.hpp>
#include <optional>
#include <string_view>

namespace chainwatch::cli {

/// How the timestamp field is written.
enum class time_format { automatic, iso8601, epoch_s, epoch_ms, filetime };

/// Parses a `--timestamp-format` word.
std::optional<time_format> parse_time_format(std::string_view word);

/// The time of a field in ns since the epoch. `automatic` reads strings as
/// ISO 8601 (or a number in a string) and numbers by magnitude: below 1e11
/// seconds, below 1e14 milliseconds, below 1e17 microseconds, otherwise FILETIME
/// when below 2e17, else nanoseconds.
std::optional<std::int64_t> event_time(event::value_ref v, time_format f);

} // namespace chainwatch::cli
