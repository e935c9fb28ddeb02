#pragma once

// Event-time helpers shared by the engine, the normalizers and the CLI.
// All times are int64 nanoseconds since the Unix epoch (UTC).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace chainwatch::time {

/// Nanoseconds per unit.
inline constexpr std::int64_t ns_per_ms = 1'000'000;
inline constexpr std::int64_t ns_per_s = 1'000'000'000;

/// Windows FILETIME (100 ns ticks since 1601-01-01) of the Unix epoch.
inline constexpr std::int64_t filetime_unix_epoch = 116444736000000000;

/// Parses a duration such as `500ms`, `10s`, `5m`, `1h`, `2d` (a bare number is seconds).
std::optional<std::int64_t> parse_duration(std::string_view text);

/// Parses ISO 8601 / RFC 3339 (`2020-10-22T08:29:55.123Z`, `+02:00` offsets,
/// space instead of `T`, no zone = `default_offset_s` east of UTC).
std::optional<std::int64_t> parse_iso8601(std::string_view text, std::int32_t default_offset_s = 0);

/// Converts epoch seconds (with fraction), milliseconds or FILETIME to ns.
std::optional<std::int64_t> from_epoch_s(double s);
std::optional<std::int64_t> from_epoch_ms(double ms);
std::optional<std::int64_t> from_filetime(std::int64_t ticks);

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept;

/// Formats ns as RFC 3339 UTC with millisecond precision (`2020-10-22T08:29:55.123Z`).
std::string format_iso8601(std::int64_t ns);

} // namespace chainwatch::time
