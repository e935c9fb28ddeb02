#pragma once

// Reading event files for the command line: NDJSON or a JSON array, plain or
// gzip-compressed, or standard input ("-").

#include <chainwatch/event/event.hpp>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace chainwatch::cli {

/// Calls `on_line(line, line_number)` for every line of a file (gzip is detected
/// by its magic bytes, "-" reads stdin). Returns an error text on I/O failure.
std::string for_each_line(const std::string& path,
                          const std::function<void(std::string_view, std::uint64_t)>& on_line);

/// Reads a whole file (gzip-aware, "-" for stdin) into `out`.
std::string read_file(const std::string& path, std::string& out);

/// One decoded input record, or why it could not be decoded.
struct record {
  const std::string* file = nullptr;
  std::uint64_t line = 0; ///< 1-based line (NDJSON) or element index + 1 (JSON array)
  event::event_ptr ev;    ///< null when `error` is set
  std::string error;
};

/// Streams the events of NDJSON or JSON-array files. A file whose first
/// non-space byte is `[` is read as one JSON array; anything else as NDJSON.
/// Blank lines are skipped. Returns an I/O error text, empty on success.
std::string read_events(const std::string& path, event::json_decoder& decoder,
                        const std::function<void(record&&)>& on_record);

} // namespace chainwatch::cli
