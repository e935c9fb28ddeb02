#pragma once

// The normalized event: a tree of named, typed fields (ECS dotted paths such as
// `source.ip`). One event owns two flat buffers, its nodes in depth-first order
// and its string bytes, so building, copying and freeing cost two allocations.
// Keys are interned symbols; a pre-resolved `field_path` finds a field by
// comparing 32-bit symbols, never by hashing strings per event.

#include <chainwatch/base/expected.hpp>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace chainwatch::event {

/// The type of a field value.
enum class kind : std::uint8_t { null, boolean, integer, real, string, array, object };

/// Interned key name; 0 means "no key" (array elements, the root).
using symbol = std::uint32_t;

/// Process-wide, thread-safe interner for object keys.
class symbols {
public:
  /// Returns the symbol for `name`, creating it on first use.
  static symbol intern(std::string_view name);
  /// Returns the symbol for `name` or 0 when it was never interned (no insert).
  static symbol find(std::string_view name);
  /// Returns the text of a symbol; valid for the life of the process.
  static std::string_view name(symbol s);
};

/// One node of the depth-first tree. Containers are followed by their
/// descendants; `end` is the index one past the node's last descendant.
struct node {
  kind type = kind::null;
  symbol key = 0;      ///< Key within the parent object, 0 otherwise.
  std::uint32_t end = 0; ///< One past the last descendant (self + 1 for scalars).
  std::uint32_t size = 0; ///< Number of direct children (containers) or string length.
  union {
    bool b;
    std::int64_t i;
    double d;
    std::uint64_t str_offset; ///< Offset of the string bytes in the event's arena.
  };
  node() : i(0) {}
};

class event;

/// A cheap view of one value inside an event. A default or "missing" ref
/// refers to nothing and reads as null.
class value_ref {
public:
  value_ref() = default;
  value_ref(const event* ev, std::uint32_t index) : ev_(ev), index_(index) {}

  /// True when the ref points at a field (which may hold null).
  bool exists() const noexcept { return ev_ != nullptr; }
  kind type() const noexcept;
  bool is_null() const noexcept { return type() == kind::null; }
  bool as_bool() const noexcept;
  std::int64_t as_int() const noexcept;
  double as_double() const noexcept; ///< Integers convert.
  std::string_view as_string() const noexcept;

  /// Number of elements (array) or members (object); 0 for scalars.
  std::size_t size() const noexcept;
  /// The i-th element of an array or member value of an object (linear walk).
  value_ref at(std::size_t i) const noexcept;
  /// Key of this value within its parent object, or 0.
  symbol key() const noexcept;
  /// Object member with this key symbol; missing ref when absent.
  value_ref find(symbol key) const noexcept;

  /// Iterates children: `for (auto c = v.first_child(); c.exists(); c = c.next_sibling())`.
  value_ref first_child() const noexcept;
  value_ref next_sibling() const noexcept;

  const event* owner() const noexcept { return ev_; }
  std::uint32_t index() const noexcept { return index_; }

private:
  const event* ev_ = nullptr;
  std::uint32_t index_ = 0;
  std::uint32_t parent_end_ = 0; // bound for next_sibling
  friend class event;
};

/// A pre-resolved dotted field path such as `source.ip` or `process.args[0]`.
/// Lookup matches nested objects (`{"source":{"ip":..}}`) and flattened dotted
/// keys (`{"source.ip":..}`) and any mix of the two, by symbol comparison only.
class field_path {
public:
  field_path() = default;
  /// Parses `a.b[2].c`; segments in backquotes (`` `a b`.c ``) may hold dots.
  explicit field_path(std::string_view dotted);

  /// Builds a path from already split segments; an index segment is a number
  /// with `is_index` set.
  struct segment {
    std::string name; ///< Field name, empty for an index.
    std::int64_t index = -1; ///< Array index (negative counts from the end), when name is empty.
  };
  explicit field_path(std::vector<segment> segments);

  const std::vector<segment>& segments() const noexcept { return segments_; }
  std::string to_string() const;
  bool empty() const noexcept { return segments_.empty(); }

private:
  friend class event;
  std::vector<segment> segments_;
  // joined_[i][j-i]: symbol of segments i..j joined with '.', or 0 if never interned.
  std::vector<std::vector<symbol>> joined_;
};

/// A normalized event. Movable and copyable (deep copy of two buffers).
class event {
public:
  event() = default;

  /// The root value (an object for every decoded event).
  value_ref root() const noexcept;
  /// Resolves a path against the root; missing ref when absent.
  value_ref get(const field_path& path) const noexcept;
  /// Resolves a path starting from `from` (an object or array inside this event).
  value_ref get(value_ref from, const field_path& path) const noexcept;

  std::span<const node> nodes() const noexcept { return nodes_; }
  std::string_view strings() const noexcept { return strings_; }
  /// Approximate heap bytes held by this event.
  std::size_t memory_bytes() const noexcept;

  bool operator==(const event& other) const; ///< Structural equality (keys, order, values).

private:
  friend class builder;
  friend class value_ref;
  std::vector<node> nodes_;
  std::string strings_;
};

/// Shared immutable events: the engine and the CLI pass these around.
using event_ptr = std::shared_ptr<const event>;

/// Builds an event in depth-first order. Used by decoders and normalizers.
/// `key()` sets the key for the next value when inside an object.
class builder {
public:
  builder();
  void reset(); ///< Clears state, keeping capacity.

  builder& key(std::string_view k);
  builder& key(symbol k);
  builder& null();
  builder& boolean(bool v);
  builder& integer(std::int64_t v);
  builder& real(double v);
  builder& string(std::string_view v);
  builder& begin_object();
  builder& end_object();
  builder& begin_array();
  builder& end_array();
  /// Copies a value (and its subtree) from another event.
  builder& copy(value_ref v);

  /// Current nesting depth (0 at top level).
  std::size_t depth() const noexcept { return stack_.size(); }
  /// Finishes the event; the root must be a single complete value.
  event finish();

private:
  std::uint32_t push(kind k);
  event ev_;
  std::vector<std::uint32_t> stack_;
  symbol pending_key_ = 0;
};

/// Decoding error with a human-readable reason and byte offset in the input.
struct decode_error {
  std::string reason;
  std::size_t offset = 0;
};

/// Limits that protect against hostile input.
struct decode_limits {
  std::size_t max_bytes = 1 << 20;  ///< Largest accepted document.
  std::size_t max_depth = 64;       ///< Deepest accepted nesting.
};

/// Reusable JSON decoder (holds simdjson parser buffers). Not thread-safe;
/// use one per thread.
class json_decoder {
public:
  json_decoder();
  ~json_decoder();
  json_decoder(json_decoder&&) noexcept;
  json_decoder& operator=(json_decoder&&) noexcept;

  /// Decodes one JSON document (object, or any value) into an event.
  expected<event, decode_error> decode(std::string_view json, decode_limits limits = {});
  /// Decodes a document into `b` as the current value (for embedding).
  expected<bool, decode_error> decode_into(std::string_view json, builder& b,
                                           decode_limits limits = {});

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// Appends the JSON text of a value (keys in original order, original names).
void append_json(std::string& out, value_ref v);
/// The JSON text of a whole event.
std::string to_json(const event& ev);

/// Appends a JSON string literal (quoted, escaped) for `s`.
void append_json_string(std::string& out, std::string_view s);

/// Encodes an event as msgpack (maps, arrays, nil, bool, int, float64, str).
void append_msgpack(std::string& out, const event& ev);
/// Decodes msgpack produced by append_msgpack (or any msgpack map/value).
expected<event, decode_error> from_msgpack(std::string_view bytes, decode_limits limits = {});

} // namespace chainwatch::event
