#pragma once

// The normalized event: a tree of named, typed fields (ECS dotted paths such as
// `source.ip`). One event owns two flat buffers, its nodes in depth-first order
// and its string bytes, so building, copying and freeing cost two allocations.
// Keys are interned symbols; a pre-resolved `field_path` finds a field by
// comparing 32-bit symbols, never by hashing strings per event.

#include <chainwatch/base/assert.hpp>
#include <chainwatch/base/expected.hpp>
#include <cstdint>
#include <limits>
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
  /// A coded key's code + 1, or 0 when `s` is not one. Coded keys are ~230 common ECS and
  /// vendor key names with a fixed number each (append-only, libs/event/src/symbols.cpp), which
  /// append_msgpack writes instead of the name: one byte for the first 128 codes.
  static std::uint32_t code(symbol s) noexcept;
  /// The symbol of coded key `code`, or 0 when there is no such code.
  static symbol of_code(std::uint64_t code);
};

/// One node of the depth-first tree. Containers are followed by their
/// descendants; `end` is the index one past the node's last descendant.
struct node {
  kind type = kind::null; ///< The value's type.
  symbol key = 0;         ///< Key within the parent object, 0 otherwise.
  std::uint32_t end = 0;  ///< One past the last descendant (self + 1 for scalars).
  std::uint32_t size = 0; ///< Number of direct children (containers) or string length.
  union {
    bool b;                   ///< kind::boolean
    std::int64_t i;           ///< kind::integer
    double d;                 ///< kind::real
    std::uint64_t str_offset; ///< Offset of the string bytes in the event's arena.
  };
  node() : i(0) {}
};

class event;

/// A cheap view of one value inside an event. A default or "missing" ref
/// refers to nothing and reads as null.
class value_ref {
public:
  /// A missing ref.
  value_ref() = default;
  /// A ref to node `index` of `ev` without siblings (next_sibling() is missing).
  value_ref(const event* ev, std::uint32_t index) : ev_(ev), index_(index) {}
  /// A ref whose siblings end before `parent_end` (the parent's `node::end`).
  value_ref(const event* ev, std::uint32_t index, std::uint32_t parent_end)
      : ev_(ev), index_(index), parent_end_(parent_end) {}

  /// True when the ref points at a field (which may hold null).
  bool exists() const noexcept { return ev_ != nullptr; }
  /// The value's type; null for a missing ref.
  kind type() const noexcept;
  /// True for a null value or a missing ref.
  bool is_null() const noexcept { return type() == kind::null; }
  /// The boolean value; false for other types.
  bool as_bool() const noexcept;
  /// The integer value (reals truncate when in range); 0 for other types.
  std::int64_t as_int() const noexcept;
  double as_double() const noexcept; ///< Integers convert.
  /// The string bytes (valid while the event lives); empty for other types.
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
  /// The next child of the same parent; missing after the last one.
  value_ref next_sibling() const noexcept;

  /// The event this ref points into, or nullptr.
  const event* owner() const noexcept { return ev_; }
  /// Index of the value's node in `event::nodes()`.
  std::uint32_t index() const noexcept { return index_; }
  /// The value's node; only valid when `exists()`.
  const node& get_node() const noexcept;

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
  /// The empty path.
  field_path() = default;
  /// Parses `a.b[2].c`; segments in backquotes (`` `a b`.c ``) may hold dots.
  explicit field_path(std::string_view dotted);

  /// Builds a path from already split segments; an index segment is a number
  /// with `is_index` set.
  struct segment {
    std::string name;        ///< Field name, empty for an index.
    std::int64_t index = -1; ///< Array index (negative counts from the end), when name is empty.
    bool is_index = false;   ///< True for an array index segment.
    bool operator==(const segment&) const = default;
  };
  explicit field_path(std::vector<segment> segments);
  /// Parses like the constructor but reports malformed text (unclosed backquote,
  /// empty segment, bad index) instead of keeping the whole text as one name.
  static expected<field_path, std::string> parse(std::string_view dotted);

  /// The parsed segments.
  const std::vector<segment>& segments() const noexcept { return segments_; }
  /// The path as text, backquoting names that need it (round-trips through parse).
  std::string to_string() const;
  /// True for the empty path (resolves to the starting value itself).
  bool empty() const noexcept { return segments_.empty(); }
  /// Structural equality of the segments.
  bool operator==(const field_path& other) const noexcept;

private:
  friend class event;
  void resolve_symbols();
  std::vector<segment> segments_;
  // joined_[i][j-i]: interned symbol of name segments i..j joined with '.'; empty
  // for index segments and stops at the next index segment.
  std::vector<std::vector<symbol>> joined_;
};

/// A normalized event. Movable and copyable (deep copy of two buffers).
class event {
public:
  /// An empty event (no root value).
  event() = default;
  /// An event kept as its msgpack bytes (append_msgpack's output), not decoded: it has no fields
  /// to read (every lookup is missing, root() too) and append_msgpack writes the bytes back as
  /// they are. For a holder that only stores and forwards events (the mesh's matcher, when the
  /// watermark service already found the steps they match); from_msgpack decodes them.
  static event encoded(std::string msgpack) {
    event ev;
    ev.strings_ = std::move(msgpack);
    return ev;
  }

  /// True when the event holds no value (default constructed).
  bool empty() const noexcept { return nodes_.empty() && strings_.empty(); }
  /// True for an event made by encoded(): msgpack bytes, no fields.
  bool is_encoded() const noexcept { return nodes_.empty() && !strings_.empty(); }
  /// The root value (an object for every decoded event).
  value_ref root() const noexcept;
  /// Resolves a path against the root; missing ref when absent.
  value_ref get(const field_path& path) const noexcept;
  /// Resolves a path starting from `from` (an object or array inside this event).
  value_ref get(value_ref from, const field_path& path) const noexcept;

  /// All nodes in depth-first order; node 0 is the root.
  std::span<const node> nodes() const noexcept { return nodes_; }
  /// The string arena that `node::str_offset` points into.
  std::string_view strings() const noexcept { return strings_; }
  /// Approximate heap bytes held by this event.
  std::size_t memory_bytes() const noexcept;

  bool operator==(const event& other) const; ///< Structural equality (keys, order, values).

private:
  friend class builder;
  friend class value_ref;
  value_ref resolve(std::uint32_t index, std::uint32_t parent_end, const field_path& path,
                    std::size_t seg) const noexcept;
  std::vector<node> nodes_;
  std::string strings_;
};

/// Shared immutable events: the engine and the CLI pass these around.
using event_ptr = std::shared_ptr<const event>;

/// Builds an event in depth-first order. Used by decoders and normalizers.
/// `key()` sets the key for the next value when inside an object.
class builder {
public:
  /// A builder with some capacity reserved.
  builder();
  void reset(); ///< Clears state, keeping capacity.

  /// Sets the key of the next value (interns the name).
  builder& key(std::string_view k);
  /// Sets the key of the next value by symbol.
  builder& key(symbol k);
  /// Appends a null.
  builder& null();
  /// Appends a boolean.
  builder& boolean(bool v);
  /// Appends an integer.
  builder& integer(std::int64_t v);
  /// Appends a real.
  builder& real(double v);
  /// Appends a string (copied into the event's arena).
  builder& string(std::string_view v);
  /// Opens an object; members follow as key()/value pairs.
  builder& begin_object();
  /// Closes the innermost object.
  builder& end_object();
  /// Opens an array.
  builder& begin_array();
  /// Closes the innermost array.
  builder& end_array();
  /// Copies a value (and its subtree) from another event.
  builder& copy(value_ref v);

  /// Current nesting depth (0 at top level).
  std::size_t depth() const noexcept { return stack_.size(); }
  /// Finishes the event; the root must be a single complete value. The result
  /// holds exactly-sized buffers; the builder keeps its capacity for reuse.
  event finish();

private:
  friend class json_decoder;
  struct checkpoint {
    std::size_t nodes = 0;
    std::size_t strings = 0;
    std::size_t depth = 0;
    symbol pending_key = 0;
  };
  checkpoint save() const noexcept;
  void restore(const checkpoint& c) noexcept;
  std::uint32_t push(kind k);
  event ev_;
  std::vector<std::uint32_t> stack_;
  symbol pending_key_ = 0;
};

/// Decoding error with a human-readable reason and byte offset in the input.
struct decode_error {
  std::string reason;     ///< What went wrong.
  std::size_t offset = 0; ///< Byte offset in the input, 0 when unknown.
};

/// Limits that protect against hostile input.
struct decode_limits {
  std::size_t max_bytes = 1 << 20; ///< Largest accepted document.
  std::size_t max_depth = 64;      ///< Deepest accepted nesting (`{}` is 1, `{"a":[]}` is 2).
};

/// Reusable JSON decoder (holds simdjson parser buffers). Not thread-safe;
/// use one per thread.
class json_decoder {
public:
  /// A decoder; buffers are allocated on first use and then reused.
  json_decoder();
  ~json_decoder();                                  ///< Releases the parser buffers.
  json_decoder(json_decoder&&) noexcept;            ///< Moves the parser buffers.
  json_decoder& operator=(json_decoder&&) noexcept; ///< Moves the parser buffers.

  /// Decodes one JSON document (object, or any value) into an event.
  expected<event, decode_error> decode(std::string_view json, decode_limits limits = {});
  /// Decodes a document into `b` as the current value (for embedding); on error
  /// `b` is left as it was before the call.
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

/// How append_msgpack writes object keys.
enum class msgpack_keys : std::uint8_t {
  /// Coded keys (symbols::code) as their code, a msgpack positive int; others as str. What
  /// chainwatch's services exchange: ~35% fewer bytes per ECS event to copy and compress.
  coded,
  /// Every key as its name (str): for readers that are not chainwatch (late events on cw.late).
  names,
};

/// Encodes an event as msgpack (maps, arrays, nil, bool, int, float64, str); map keys as `keys`
/// says. An event kept as its bytes is copied as it is, or re-encoded for msgpack_keys::names.
void append_msgpack(std::string& out, const event& ev, msgpack_keys keys = msgpack_keys::coded);
/// Decodes msgpack produced by append_msgpack (or any msgpack map/value whose keys are strings
/// or key codes this build knows; an unknown code is an error).
expected<event, decode_error> from_msgpack(std::string_view bytes, decode_limits limits = {});

// Hot accessors, inline so that the engine's per-event field reads stay cheap.

inline const node& value_ref::get_node() const noexcept {
  return ev_->nodes_[index_];
}
inline kind value_ref::type() const noexcept {
  return ev_ ? get_node().type : kind::null;
}
inline bool value_ref::as_bool() const noexcept {
  return ev_ && get_node().type == kind::boolean && get_node().b;
}
inline std::int64_t value_ref::as_int() const noexcept {
  if (!ev_) return 0;
  const node& n = get_node();
  if (n.type == kind::integer) return n.i;
  // Casting an out-of-range double is undefined behaviour, so check first.
  if (n.type == kind::real && n.d >= -9223372036854775808.0 && n.d < 9223372036854775808.0)
    return static_cast<std::int64_t>(n.d);
  return 0;
}
inline double value_ref::as_double() const noexcept {
  if (!ev_) return 0.0;
  const node& n = get_node();
  if (n.type == kind::real) return n.d;
  if (n.type == kind::integer) return static_cast<double>(n.i);
  return 0.0;
}
inline std::string_view value_ref::as_string() const noexcept {
  if (!ev_) return {};
  const node& n = get_node();
  if (n.type != kind::string) return {};
  return std::string_view(ev_->strings_.data() + n.str_offset, n.size);
}
inline std::size_t value_ref::size() const noexcept {
  if (!ev_) return 0;
  const node& n = get_node();
  return n.type == kind::array || n.type == kind::object ? n.size : 0;
}
inline symbol value_ref::key() const noexcept {
  return ev_ ? get_node().key : 0;
}
inline value_ref value_ref::first_child() const noexcept {
  if (size() == 0) return {};
  return value_ref(ev_, index_ + 1, get_node().end);
}
inline value_ref value_ref::next_sibling() const noexcept {
  if (!ev_) return {};
  std::uint32_t next = get_node().end;
  if (next >= parent_end_) return {};
  return value_ref(ev_, next, parent_end_);
}
inline value_ref value_ref::find(symbol k) const noexcept {
  if (type() != kind::object) return {};
  const node* nodes = ev_->nodes_.data();
  std::uint32_t end = nodes[index_].end;
  for (std::uint32_t i = index_ + 1; i < end; i = nodes[i].end)
    if (nodes[i].key == k) return value_ref(ev_, i, end);
  return {};
}
inline value_ref value_ref::at(std::size_t i) const noexcept {
  if (i >= size()) return {};
  const node* nodes = ev_->nodes_.data();
  std::uint32_t end = nodes[index_].end;
  std::uint32_t c = index_ + 1;
  for (; i > 0; --i)
    c = nodes[c].end;
  return value_ref(ev_, c, end);
}
inline value_ref event::root() const noexcept {
  if (nodes_.empty()) return {};
  return value_ref(this, 0, static_cast<std::uint32_t>(nodes_.size()));
}

// Builder operations, inline because decoders and normalizers call them per field.

inline builder& builder::key(symbol k) {
  pending_key_ = k;
  return *this;
}
inline std::uint32_t builder::push(kind k) {
  auto& nodes = ev_.nodes_;
  CW_ASSERT(nodes.size() < std::numeric_limits<std::uint32_t>::max());
  const auto index = static_cast<std::uint32_t>(nodes.size());
  symbol key = 0;
  if (!stack_.empty()) {
    node& parent = nodes[stack_.back()];
    ++parent.size;
    if (parent.type == kind::object) key = pending_key_;
  } else {
    // Only one root value per event.
    CW_ASSERT(nodes.empty());
  }
  pending_key_ = 0;
  node& n = nodes.emplace_back();
  n.type = k;
  n.key = key;
  n.end = index + 1;
  return index;
}
inline builder& builder::null() {
  push(kind::null);
  return *this;
}
inline builder& builder::boolean(bool v) {
  ev_.nodes_[push(kind::boolean)].b = v;
  return *this;
}
inline builder& builder::integer(std::int64_t v) {
  ev_.nodes_[push(kind::integer)].i = v;
  return *this;
}
inline builder& builder::real(double v) {
  ev_.nodes_[push(kind::real)].d = v;
  return *this;
}
inline builder& builder::string(std::string_view v) {
  CW_ASSERT(v.size() <= std::numeric_limits<std::uint32_t>::max());
  node& n = ev_.nodes_[push(kind::string)];
  n.str_offset = ev_.strings_.size();
  n.size = static_cast<std::uint32_t>(v.size());
  ev_.strings_.append(v);
  return *this;
}
inline builder& builder::begin_object() {
  stack_.push_back(push(kind::object));
  return *this;
}
inline builder& builder::begin_array() {
  stack_.push_back(push(kind::array));
  return *this;
}
inline builder& builder::end_object() {
  CW_ASSERT(!stack_.empty() && ev_.nodes_[stack_.back()].type == kind::object);
  ev_.nodes_[stack_.back()].end = static_cast<std::uint32_t>(ev_.nodes_.size());
  stack_.pop_back();
  return *this;
}
inline builder& builder::end_array() {
  CW_ASSERT(!stack_.empty() && ev_.nodes_[stack_.back()].type == kind::array);
  ev_.nodes_[stack_.back()].end = static_cast<std::uint32_t>(ev_.nodes_.size());
  stack_.pop_back();
  return *this;
}

} // namespace chainwatch::event
