#include <chainwatch/base/assert.hpp>
#include <chainwatch/event/event.hpp>
#include <cstring>
#include <limits>

namespace chainwatch::event {

// ---- event -----------------------------------------------------------------

value_ref event::get(const field_path& path) const noexcept {
  if (nodes_.empty()) return {};
  return resolve(0, static_cast<std::uint32_t>(nodes_.size()), path, 0);
}

value_ref event::get(value_ref from, const field_path& path) const noexcept {
  if (from.owner() != this) return {};
  return resolve(from.index_, from.parent_end_, path, 0);
}

value_ref event::resolve(std::uint32_t index, std::uint32_t parent_end, const field_path& path,
                         std::size_t seg) const noexcept {
  const auto& segments = path.segments_;
  if (seg == segments.size()) return value_ref(this, index, parent_end);
  const node* nodes = nodes_.data();
  const node& n = nodes[index];
  const auto& s = segments[seg];
  if (s.is_index || s.name.empty()) {
    if (n.type != kind::array) return {};
    std::int64_t i = s.index;
    if (i < 0) i += n.size;
    if (i < 0 || i >= static_cast<std::int64_t>(n.size)) return {};
    std::uint32_t c = index + 1;
    for (; i > 0; --i)
      c = nodes[c].end;
    return resolve(c, n.end, path, seg + 1);
  }
  if (n.type != kind::object) return {};
  // A member matches when its key equals the join of segments seg..seg+m, so
  // nested objects, flat dotted keys and mixes resolve alike; on a dead end
  // the next candidate is tried.
  const auto& joined = path.joined_[seg];
  const symbol* first = joined.data();
  const std::size_t count = joined.size();
  for (std::uint32_t c = index + 1; c < n.end; c = nodes[c].end) {
    const symbol k = nodes[c].key;
    for (std::size_t m = 0; m < count; ++m) {
      if (first[m] != k) continue;
      value_ref r = resolve(c, n.end, path, seg + m + 1);
      if (r.exists()) return r;
    }
  }
  return {};
}

std::size_t event::memory_bytes() const noexcept {
  return nodes_.capacity() * sizeof(node) + (strings_.capacity() > 15 ? strings_.capacity() : 0);
}

bool event::operator==(const event& other) const {
  if (nodes_.size() != other.nodes_.size()) return false;
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    const node& a = nodes_[i];
    const node& b = other.nodes_[i];
    if (a.type != b.type || a.key != b.key || a.end != b.end || a.size != b.size) return false;
    switch (a.type) {
    case kind::null:
    case kind::array:
    case kind::object:
      break;
    case kind::boolean:
      if (a.b != b.b) return false;
      break;
    case kind::integer:
      if (a.i != b.i) return false;
      break;
    case kind::real:
      // Bitwise, so that NaN equals itself and -0.0 differs from 0.0 (exact round trips).
      if (std::memcmp(&a.d, &b.d, sizeof(double)) != 0) return false;
      break;
    case kind::string:
      if (std::memcmp(strings_.data() + a.str_offset, other.strings_.data() + b.str_offset,
                      a.size) != 0)
        return false;
      break;
    }
  }
  return true;
}

// ---- builder ---------------------------------------------------------------

builder::builder() {
  ev_.nodes_.reserve(64);
  ev_.strings_.reserve(1024);
  stack_.reserve(16);
}

void builder::reset() {
  ev_.nodes_.clear();
  ev_.strings_.clear();
  stack_.clear();
  pending_key_ = 0;
}

builder& builder::key(std::string_view k) {
  pending_key_ = symbols::intern(k);
  return *this;
}

builder& builder::copy(value_ref v) {
  if (!v.exists()) return null();
  const event& src = *v.owner();
  const std::uint32_t first = v.index();
  const std::uint32_t last = src.nodes_[first].end;
  const std::uint32_t base = push(src.nodes_[first].type);
  auto& nodes = ev_.nodes_;
  // push() already wrote the root of the copy with its new key; keep that key.
  const symbol root_key = nodes[base].key;
  nodes.insert(nodes.end(), src.nodes_.begin() + first + 1, src.nodes_.begin() + last);
  CW_ASSERT(nodes.size() < std::numeric_limits<std::uint32_t>::max());
  nodes[base] = src.nodes_[first];
  nodes[base].key = root_key;
  for (std::uint32_t i = base; i < nodes.size(); ++i) {
    node& n = nodes[i];
    n.end = n.end - first + base;
    if (n.type == kind::string) {
      const std::uint64_t offset = ev_.strings_.size();
      ev_.strings_.append(src.strings_.data() + n.str_offset, n.size);
      n.str_offset = offset;
    }
  }
  return *this;
}

event builder::finish() {
  CW_ASSERT(stack_.empty());
  event out;
  out.nodes_.assign(ev_.nodes_.begin(), ev_.nodes_.end());
  out.strings_.assign(ev_.strings_);
  reset();
  return out;
}

builder::checkpoint builder::save() const noexcept {
  checkpoint c;
  c.nodes = ev_.nodes_.size();
  c.strings = ev_.strings_.size();
  c.depth = stack_.size();
  c.pending_key = pending_key_;
  return c;
}

void builder::restore(const checkpoint& c) noexcept {
  // The value being rolled back was a child of the innermost open container.
  if (c.nodes < ev_.nodes_.size() && c.depth > 0) --ev_.nodes_[stack_[c.depth - 1]].size;
  ev_.nodes_.resize(c.nodes);
  ev_.strings_.resize(c.strings);
  stack_.resize(c.depth);
  pending_key_ = c.pending_key;
}

} // namespace chainwatch::event
