#pragma once

// Turns raw security log lines into ECS events. Built-in parsers do the wire
// format work (JSON, Zeek TSV, ...); declarative TOML tables (config/sources/)
// do the field work. The library never reads files: the caller hands it the
// table texts. Events are emitted with flattened dotted ECS keys
// (`{"source.ip": ...}`), which event::field_path resolves like nested ones.

#include <chainwatch/base/expected.hpp>
#include <chainwatch/event/event.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace chainwatch::normalize {

/// Every input the normalizer understands (`chainwatch normalize --source TYPE`).
enum class source_type : std::uint8_t {
  zeek,
  zeek_http,
  zeek_dns,
  zeek_conn,
  zeek_files,
  zeek_ssh,
  zeek_ssl,
  zeek_notice,
  windows,
  o365,
  azure_signinlogs,
  azure_auditlogs,
  cef,
  leef,
  fortigate,
  panos,
  cisco_asa,
  syslog,
  ecs,
};

/// Name, one-line description and implementation state of a source type.
struct source_info {
  source_type type;
  std::string_view name;        ///< Command-line name, e.g. `zeek.http`.
  std::string_view description; ///< One line for `--help`.
  std::string_view table;       ///< Table (file stem under config/sources/) it needs, or empty.
  bool implemented;             ///< False while the source is still a stub.
};

/// All source types in enum order.
std::span<const source_info> sources() noexcept;
/// Info for one source type.
const source_info& info(source_type t) noexcept;
/// Parses a command-line name such as `zeek.dns`; nullopt when unknown.
std::optional<source_type> parse_source_type(std::string_view name) noexcept;

/// Why an input was rejected.
enum class errc : std::uint8_t {
  too_large,       ///< Input exceeds limits::max_bytes.
  too_deep,        ///< Nesting exceeds limits::max_depth.
  bad_json,        ///< Not valid JSON where JSON was expected.
  bad_format,      ///< The wire format (TSV, syslog, ...) is malformed.
  missing_header,  ///< Zeek TSV data before its `#fields` header.
  unknown_kind,    ///< The log kind (Zeek path, ...) could not be determined.
  not_implemented, ///< The source type has no parser yet.
  no_table,        ///< The source's mapping table was not loaded.
};

/// Short stable name of an error code (for dead-letter reasons and metrics).
std::string_view to_string(errc e) noexcept;

/// A rejected input: everything a dead-letter queue needs.
struct normalize_error {
  std::string source; ///< Source type name.
  errc code;          ///< Machine-readable reason.
  std::string reason; ///< Human-readable detail.
  std::size_t offset; ///< Byte offset in `raw` where the problem was found.
  std::string raw;    ///< The rejected input bytes, kept verbatim.
};

/// A mapping table rejected at load time.
struct table_error {
  std::string table;  ///< Table name as given in table_text::name.
  std::string reason; ///< What is wrong, with the TOML source position when known.
};

/// One mapping table: its name (file stem, e.g. `zeek`) and TOML text.
struct table_text {
  std::string_view name;
  std::string_view text;
};

/// Guards against hostile input.
struct limits {
  std::size_t max_bytes = 1 << 20; ///< Largest accepted input line.
  std::size_t max_depth = 32;      ///< Deepest accepted JSON nesting.
  std::size_t max_fields = 4096;   ///< Most input fields per event.
};

/// Per-input hints.
struct context {
  std::string_view file_name; ///< Used to guess the Zeek log kind (`http.log` -> http).
  /// Reference time (ns since epoch): when the line was received, or the file's modification
  /// time. Gives year-less syslog times their year; 0 is unknown (1970).
  std::int64_t now_ns = 0;
  /// UTC offset (seconds east) of times written without a zone; unset: the table's `timezone`.
  std::optional<std::int32_t> tz_offset_s = std::nullopt;
};

/// Normalizes lines of any source type. Holds scratch buffers: use one per
/// thread (copies share the immutable compiled tables).
class normalizer {
public:
  /// Compiles the given tables; fails on the first bad table.
  static expected<normalizer, table_error> create(std::span<const table_text> tables,
                                                  limits lim = {});
  normalizer(const normalizer& other);
  normalizer& operator=(const normalizer& other);
  normalizer(normalizer&&) noexcept;
  normalizer& operator=(normalizer&&) noexcept;
  ~normalizer();

  /// Normalizes one self-contained input (a JSON line, or a raw text line
  /// optionally wrapped in a JSON envelope's `message`).
  expected<event::event, normalize_error> normalize(source_type source, std::string_view raw,
                                                    const context& ctx = {});

  /// True when the table a source needs was loaded.
  bool has_table(source_type source) const noexcept;

private:
  friend class stream_reader;
  normalizer();
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// Reads one stream (file) line by line, keeping per-stream state such as the
/// Zeek TSV `#fields`/`#types` header. Borrows the normalizer.
class stream_reader {
public:
  /// Starts a stream of `source` normalized with `n`, which must outlive the reader.
  stream_reader(normalizer& n, source_type source, context ctx = {});
  ~stream_reader();
  stream_reader(stream_reader&&) noexcept;
  stream_reader& operator=(stream_reader&&) noexcept;

  /// Feeds one line (without its newline). Returns nullopt for header,
  /// comment and blank lines, an event for data lines, or an error.
  expected<std::optional<event::event>, normalize_error> next(std::string_view line);

private:
  struct state;
  normalizer* n_;
  source_type source_;
  std::unique_ptr<state> state_;
};

/// Parses a timestamp into nanoseconds since the Unix epoch (forwards to chainwatch::time::parse
/// in libs/base). `format` is one of `epoch` (seconds, fractions allowed), `epoch_ms`,
/// `epoch_auto`, `iso8601`, `filetime`
/// (100 ns ticks since 1601, decimal), `syslog` (`Mmm dd hh:mm:ss`, year from
/// `reference_ns`), or a strftime-like pattern using %Y %m %d %H %M %S %f %b %z.
/// `tz_offset_s` applies when the text carries no zone.
std::optional<std::int64_t> parse_timestamp(std::string_view text, std::string_view format,
                                            std::int32_t tz_offset_s = 0,
                                            std::int64_t reference_ns = 0) noexcept;

/// Formats nanoseconds since the epoch as ECS `@timestamp` text
/// (`2019-01-11T06:33:35.857Z`, millisecond precision).
std::string format_timestamp(std::int64_t ns);

} // namespace chainwatch::normalize
