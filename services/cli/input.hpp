#pragma once

// Reading input files for the command line: line by line on demand, plain or gzip-compressed,
// or standard input ("-").

#include <chainwatch/base/expected.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace chainwatch::cli {

/// A file read line by line as the caller asks for lines (gzip detected by its magic bytes,
/// "-" reads stdin), so several files can be read side by side in bounded memory.
class line_reader {
public:
  /// Opens `path`; an error text ("path: reason") when it cannot be read.
  static expected<line_reader, std::string> open(const std::string& path);
  line_reader(line_reader&&) noexcept;
  line_reader& operator=(line_reader&&) noexcept;
  ~line_reader();

  /// The next line without its newline (or CR LF); valid until the next call. nullopt at the
  /// end of the file, or on a read error (then error() is not empty).
  std::optional<std::string_view> next();
  /// Appends everything not yet returned, byte for byte, to `out`; false on a read error.
  bool read_rest(std::string& out);
  /// Number of the line next() returned last (1-based).
  std::uint64_t line_number() const noexcept { return line_no_; }
  /// The read error that ended the file, empty when none.
  const std::string& error() const noexcept { return error_; }
  /// When the file was last modified, ns since the epoch (stdin: when it was opened): the date
  /// its year-less timestamps were written by.
  std::int64_t mtime_ns() const noexcept { return mtime_ns_; }

private:
  line_reader() = default;
  struct file;
  std::unique_ptr<file> f_;
  std::string path_;
  std::string buf_;
  std::size_t start_ = 0;
  bool eof_ = false;
  std::uint64_t line_no_ = 0;
  std::string error_;
  std::int64_t mtime_ns_ = 0;
};

/// Calls `on_line(line, line_number)` for every line of a file. Returns an error text on I/O
/// failure.
std::string for_each_line(const std::string& path,
                          const std::function<void(std::string_view, std::uint64_t)>& on_line);

/// Reads a whole file (gzip-aware, "-" for stdin) into `out`.
std::string read_file(const std::string& path, std::string& out);

} // namespace chainwatch::cli
