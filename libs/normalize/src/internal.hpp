#pragma once

// Internal model shared by the table compiler, the parsers and the mapping engine.

#include <absl/container/flat_hash_map.h>
#include <absl/strings/string_view.h>
#include <chainwatch/base/time.hpp>
#include <chainwatch/normalize/normalizer.hpp>
#include <cstdint>
#include <memory>
#include <simdjson.h>
#include <string>
#include <string_view>
#include <vector>

namespace chainwatch::normalize::detail {

/// Abseil's string hash takes absl::string_view, which is not std::string_view in this build.
inline absl::string_view key_of(std::string_view s) noexcept {
  return {s.data(), s.size()};
}

/// Size of the buffer format_timestamp_into writes.
inline constexpr std::size_t timestamp_buffer_size = chainwatch::time::iso8601_buffer_size;

/// A field value in flight: borrowed from the input, the scratch arena or a table.
struct value {
  enum class tag : std::uint8_t {
    none,
    null,
    boolean,
    integer,
    real,
    string,
    json,
    list,
    constant
  };
  // Laid out so the flags share the first 8 bytes: a value is one 64-byte cache line and is
  // copied per input field and per output slot.
  tag type = tag::none;
  char sep = ','; ///< Separator of a `list` (Zeek set/vector text).
  bool b = false;
  bool indexed_snake = false; ///< `json`: arrays become objects keyed by index, keys snake_case.
  bool name_value = false;    ///< `json`: `[{"Name":k,"Value":v}]` becomes `{k: v}`.
  std::int64_t i = 0;
  double d = 0;
  std::string_view s;              ///< `string` and `list` text.
  simdjson::dom::element el;       ///< `json` arrays and objects.
  const event::event* c = nullptr; ///< `constant` from a table.

  bool present() const noexcept { return type != tag::none; }
  static value str(std::string_view v) noexcept {
    value r;
    r.type = tag::string;
    r.s = v;
    return r;
  }
  static value integer(std::int64_t v) noexcept {
    value r;
    r.type = tag::integer;
    r.i = v;
    return r;
  }
  static value real(double v) noexcept {
    value r;
    r.type = tag::real;
    r.d = v;
    return r;
  }
  static value boolean(bool v) noexcept {
    value r;
    r.type = tag::boolean;
    r.b = v;
    return r;
  }
  static value constant(const event::event* e) noexcept {
    value r;
    r.type = tag::constant;
    r.c = e;
    return r;
  }
};

static_assert(sizeof(value) <= 64,
              "value is copied per field and per slot: keep it one cache line");

/// Bump allocator for per-event strings; reset per event, keeps its blocks.
class arena {
public:
  char* alloc(std::size_t n);
  std::string_view copy(std::string_view s);
  void reset() noexcept;

private:
  static constexpr std::size_t block_size = 16384;
  std::vector<std::unique_ptr<char[]>> blocks_;
  std::vector<std::unique_ptr<char[]>> big_;
  std::size_t block_ = 0;
  std::size_t used_ = block_size;
};

/// How a rule converts its input value.
enum class conv : std::uint8_t {
  none,
  string,
  integer,
  real,
  boolean,
  ip,
  timestamp,
  hex,
  duration_ns,
  basename,
  lowercase,
  uppercase,
  split,
  ms_duration_ns,
  first,
  account_domain,
  account_name,
  kv,
  path_after,
  indexed_snake,
  name_value,
  email,
  ip_version,
  syslog_facility,
  syslog_severity,
  contains,
  trim,
  domain
};

/// A value map: input text -> constant (string, number, array...).
struct value_map {
  absl::flat_hash_map<std::string, std::uint32_t> entries; ///< Index into `values`.
  std::vector<std::unique_ptr<event::event>> values;
  std::unique_ptr<event::event> fallback; ///< Used when no entry matches; may be null.
  bool pass_unmatched = false;            ///< Keep the converted value when nothing matches.
};

/// `from` -> `to` with a conversion and an optional value map.
struct rule {
  std::vector<std::uint32_t> from; ///< Input key ids; the first present wins.
  std::vector<std::uint32_t> to;   ///< Output slots.
  conv type = conv::none;
  conv then = conv::none; ///< Second conversion applied after `type`.
  std::string format;     ///< Timestamp format, split separator or kv key.
  const value_map* map = nullptr;
  bool keep = false; ///< Also pass the input through.
};

/// A value computed from other values after the rules ran.
struct derive {
  enum class op : std::uint8_t { sum, join, collect, first, flags };
  op kind = op::sum;
  std::uint32_t to = 0;
  std::vector<std::uint32_t> inputs;       ///< Input key ids (join) or slots (sum, collect, first).
  bool from_inputs = false;                ///< `inputs` are input key ids, not slots.
  std::vector<std::uint32_t> extra_inputs; ///< `collect` also reads these input key ids.
  std::vector<std::string> names;          ///< `flags`: output text per input.
  const value_map* map = nullptr;
  conv type = conv::none;
  std::string format;
};

/// Dissect patterns: literal delimiters between `%{name}` captures.
struct dissect {
  std::uint32_t from = 0; ///< Input key id of the text to split.
  /// What a capture must hold for its pattern to match (`%{name:host}`).
  enum class shape : std::uint8_t { any, word, digits, host };
  struct part {
    std::string literal;              ///< Text that precedes the capture.
    std::uint32_t input = UINT32_MAX; ///< Capture's input key id; UINT32_MAX skips it.
    std::string key;                  ///< Capture's key name.
    shape kind = shape::any;
  };
  struct pattern {
    std::vector<part> parts;
    std::string tail; ///< Literal after the last capture.
  };
  std::vector<pattern> patterns; ///< Alternatives: the first that matches adds its captures.
  bool consume = false;          ///< A match removes the `from` input for later rules.
};

/// One `[[mapping]]` block.
struct mapping {
  std::vector<dissect> dissects; ///< Run first; their captures become inputs.
  std::vector<std::pair<std::uint32_t, std::unique_ptr<event::event>>> constants;
  std::vector<rule> rules;
  std::vector<derive> derives;
  std::vector<std::uint32_t> drops; ///< Input key ids consumed without output.
  bool has_unmapped = false;
  std::string unmapped_prefix; ///< Prefix for unconsumed inputs ("" keeps the key).
  bool drop_unmapped = false;
};

/// A recognisable input dialect (NXLog vs Winlogbeat ...), picked by a key.
struct variant {
  std::string name;
  std::string detect; ///< Top-level key whose presence selects the variant.
  bool xml = false;   ///< Chosen for XML input (`<Event ...>`) instead of by `detect`.
  absl::flat_hash_map<std::string, std::string> aliases; ///< Input key -> canonical key.
  std::string input_prefix; ///< Prepended to keys without an alias (NXLog event data).
  bool has_unmapped = false;
  std::string unmapped_prefix;
  bool drop_unmapped = false;
};

/// Entry of the combined key dictionary: an input key id and/or an output slot.
struct key_entry {
  std::uint32_t input = UINT32_MAX;
  std::uint32_t slot = UINT32_MAX;
  event::symbol key_symbol =
      0; ///< The key itself, interned at load so passthrough skips interning.
};

/// Field signature of a kind: the kind of a record holding all these inputs.
struct kind_signature {
  std::string kind;
  std::vector<std::uint32_t> inputs; ///< Input key ids, all present for a match.
};

/// A compiled source table.
struct source_table {
  std::string name;
  std::string format = "json"; ///< json | zeek | cef | kv | syslog | csv
  std::int32_t tz_offset_s = 0;
  std::string kind_field;
  std::uint32_t kind_input = UINT32_MAX;
  std::vector<kind_signature> kind_signatures; ///< Tried in order when `kind_field` is absent.
  std::vector<std::string> file_name_kinds;    ///< Kinds a file name may give (`ssh.log`).
  std::vector<std::string> null_values;        ///< Input texts treated as absent by rules.
  std::vector<std::string>
      embedded_json; ///< Top-level keys whose string value is a JSON record to merge.
  std::vector<std::string> strip_prefixes; ///< Removed from input keys first (`o365audit.`).
  std::vector<std::string>
      envelope_fields;                  ///< Text formats: JSON keys that may carry the raw line.
  std::vector<dissect> header_dissects; ///< Run before the kind is determined.
  std::vector<std::uint32_t> csv_type_columns; ///< `csv`: columns whose text picks a layout.
  absl::flat_hash_map<std::string, std::vector<std::string>>
      csv_columns;                   ///< `csv`: log type -> column names (`*` = fallback).
  std::string csv_tail_key;          ///< `csv`: input key for the raw text from a cell on.
  std::uint32_t csv_tail_offset = 4; ///< `csv`: that cell, counted from the type column.
  absl::flat_hash_map<std::string, key_entry> keys;
  /// `keys` split at every dot: object prefix (`winlog.event_data`) -> rest of the key
  /// (`TargetUserName`) -> entry. Nested JSON objects look their members up here by the member
  /// name alone instead of hashing the whole flattened key; a prefix absent here has no known
  /// key below it.
  absl::flat_hash_map<std::string, absl::flat_hash_map<std::string, key_entry>> scoped_keys;
  std::uint32_t input_count = 0;
  std::vector<std::string> slot_paths;
  std::vector<event::symbol> slot_symbols;
  std::vector<std::unique_ptr<value_map>> maps;
  absl::flat_hash_map<std::string, const value_map*> named_maps;
  std::vector<mapping> mappings;
  std::vector<std::uint32_t> universal; ///< Mappings without `kinds`.
  absl::flat_hash_map<std::string, std::vector<std::uint32_t>>
      by_kind; ///< Includes universal ones, in order.
  std::vector<variant> variants;
  bool drop_unmapped = false;
  std::string unmapped_prefix;
  bool snake_case_unmapped = false;  ///< camelCase keys of unconsumed inputs become snake_case.
  std::size_t snake_case_depth = 64; ///< Only the first this many key segments are converted.
};

/// Compiles one TOML table.
expected<std::unique_ptr<source_table>, table_error> compile_table(const table_text& t);

/// Formats `ns` as ECS time text into `buf` (timestamp_buffer_size bytes); returns the length.
inline std::size_t format_timestamp_into(char* buf, std::int64_t ns) noexcept {
  return chainwatch::time::format_iso8601_into(buf, ns);
}

} // namespace chainwatch::normalize::detail
