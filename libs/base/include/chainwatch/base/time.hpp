#pragma once

// Event-time helpers shared by the engine, the normalizers and the CLI: the one implementation
// of time parsing and formatting in the project (libs/normalize forwards to it).
// All times are int64 nanoseconds since the Unix epoch (UTC). Parsers never throw, never
// allocate, and return nullopt for malformed text or times outside the int64 ns range
// (years 1678..2261).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace chainwatch::time {

/// Nanoseconds per unit.
inline constexpr std::int64_t ns_per_us = 1'000;
inline constexpr std::int64_t ns_per_ms = 1'000'000;
inline constexpr std::int64_t ns_per_s = 1'000'000'000;

/// Windows FILETIME (100 ns ticks since 1601-01-01) of the Unix epoch.
inline constexpr std::int64_t filetime_unix_epoch = 116444736000000000;

/// Parses a duration such as `500ms`, `10s`, `5m`, `1h`, `2d` (a bare number is seconds).
std::optional<std::int64_t> parse_duration(std::string_view text);

/// Parses a UTC offset as written in configuration: `UTC`, `Z` or empty (0), `+hh:mm`,
/// `+hhmm`, `+hh` (and `-`). Returns seconds east of UTC.
std::optional<std::int32_t> parse_utc_offset(std::string_view text) noexcept;

/// Parses ISO 8601 / RFC 3339: `2020-10-22T08:29:55.123Z`, `T`/`t`/space between date and
/// time, optional seconds, `.` or `,` fraction (up to ns, extra digits ignored), zone `Z`,
/// `+hh:mm`, `+hhmm`, `+hh` (optionally after spaces); a date alone is midnight. Text without
/// a zone is `default_offset_s` east of UTC (the source's default time zone).
std::optional<std::int64_t> parse_iso8601(std::string_view text,
                                          std::int32_t default_offset_s = 0) noexcept;

/// Parses decimal epoch text in units of `unit_ns` (ns_per_s, ns_per_ms, ns_per_us, 1) with an
/// optional sign and fraction (`1547188415.857497`), exactly (no floating point).
std::optional<std::int64_t> parse_epoch(std::string_view text, std::int64_t unit_ns) noexcept;

/// Epoch text whose unit is chosen by the number of integer digits: up to 11 seconds, 14 ms,
/// 17 us, else ns (FortiGate `eventtime`).
std::optional<std::int64_t> parse_epoch_auto(std::string_view text) noexcept;

/// Decimal Windows FILETIME text (100 ns ticks since 1601-01-01).
std::optional<std::int64_t> parse_filetime(std::string_view text) noexcept;

/// Year-less syslog time `Mmm dd hh:mm:ss[.fff]` (day zero- or space-padded, or one digit after
/// one space), in `default_offset_s`. The year is the one (of the reference's, the one before
/// and the one after) that puts the date closest to `reference_ns` (when the line was received,
/// or the file's modification time) without lying more than 31 days after it: a Dec 31 line
/// read on Jan 1 is of the year before, a Jan 1 line received on Dec 31 (a sender's clock ahead)
/// of the year after, a Jun line read in Jun of the reference's year. Feb 29 takes the closest
/// such leap year, else the latest leap year before. A reference of 0 (unknown) gives 1970, or 1969
/// after February; any other reference before 1971 (seconds or ms passed as ns) gives nullopt.
std::optional<std::int64_t> parse_syslog(std::string_view text, std::int32_t default_offset_s,
                                         std::int64_t reference_ns) noexcept;

/// strftime-like pattern: %Y %m %d %e %H %M %S %f (fraction) %b (month name) %z (zone) %%;
/// other characters match themselves. Missing fields default to 1970-01-01 00:00:00.
std::optional<std::int64_t> parse_pattern(std::string_view text, std::string_view pattern,
                                          std::int32_t default_offset_s) noexcept;

/// Dispatches on a format name: `epoch`, `epoch_ms`, `epoch_auto`, `iso8601`, `filetime`,
/// `syslog`, else a parse_pattern pattern. Trailing spaces are ignored; text over 64 bytes is
/// rejected.
std::optional<std::int64_t> parse(std::string_view text, std::string_view format,
                                  std::int32_t default_offset_s = 0,
                                  std::int64_t reference_ns = 0) noexcept;

/// Converts epoch seconds (with fraction), milliseconds or FILETIME to ns.
std::optional<std::int64_t> from_epoch_s(double s);
std::optional<std::int64_t> from_epoch_ms(double ms);
std::optional<std::int64_t> from_filetime(std::int64_t ticks);

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept;

/// Size of the buffer format_iso8601_into writes.
inline constexpr std::size_t iso8601_buffer_size = 48;

/// Formats ns as RFC 3339 UTC with millisecond precision (`2020-10-22T08:29:55.123Z`) into
/// `buf` (iso8601_buffer_size bytes, not terminated); returns the length. Allocation-free.
std::size_t format_iso8601_into(char* buf, std::int64_t ns) noexcept;

/// Formats ns as RFC 3339 UTC with millisecond precision (`2020-10-22T08:29:55.123Z`).
std::string format_iso8601(std::int64_t ns);

} // namespace chainwatch::time
