#pragma once

// The records of one input file for `hunt` and `normalize`: ECS JSON events (NDJSON or one JSON
// array), or raw vendor logs normalized on the way, read one at a time.

#include "input.hpp"

#include <chainwatch/event/event.hpp>
#include <chainwatch/normalize/normalizer.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace chainwatch::cli {

/// One decoded input record, or why it could not be decoded.
struct record {
  const std::string* file = nullptr;
  std::uint64_t line = 0; ///< 1-based line (NDJSON) or element index + 1 (JSON array)
  event::event_ptr ev;    ///< null when `error` is set
  std::string error;
};

/// Reads one file's records on demand. A file whose first non-blank byte is `[` is one JSON
/// array (read whole); anything else is read line by line, blank lines skipped.
class record_reader {
public:
  /// ECS JSON events from `path` (which must outlive the reader).
  static expected<record_reader, std::string> open(const std::string& path);
  /// Raw logs of `source` from `path`, normalized with `n` (both must outlive the reader). The
  /// normalizer learns the file's name (a Zeek log's type) and the time year-less dates are read
  /// against: `reference_ns`, or when it is 0 the file's modification time (stdin: now).
  static expected<record_reader, std::string> open(const std::string& path,
                                                   normalize::normalizer& n,
                                                   normalize::source_type source,
                                                   std::int64_t reference_ns);
  record_reader(record_reader&&) noexcept;
  record_reader& operator=(record_reader&&) noexcept;
  ~record_reader();

  /// The next record; nullopt at the end (error() tells a read error).
  std::optional<record> next();
  /// The file's read error, empty when none.
  const std::string& error() const noexcept { return lines_.error(); }
  /// The file name as given.
  const std::string& path() const noexcept { return *path_; }

private:
  record_reader(const std::string& path, line_reader lines)
      : path_(&path), lines_(std::move(lines)) {}
  std::optional<record> from_line(std::string_view text, std::uint64_t no);
  std::optional<record> from_array();
  record fail(std::uint64_t no, std::string error) const {
    return {path_, no, nullptr, std::move(error)};
  }

  const std::string* path_;
  line_reader lines_;
  event::json_decoder decoder_;
  normalize::normalizer* normalizer_ = nullptr;
  std::unique_ptr<normalize::stream_reader> stream_;
  enum class mode : std::uint8_t { unknown, lines, array } mode_ = mode::unknown;
  std::unique_ptr<event::event> array_; // a JSON array file, decoded whole
  event::value_ref cursor_;             // its next element
  std::uint64_t index_ = 0;
  std::string element_; // scratch: an array element as JSON text for the normalizer
};

} // namespace chainwatch::cli
