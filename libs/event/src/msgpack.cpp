// msgpack encoding is hand-written: the subset we emit is small, and a
// hand-written decoder bounds every length against the remaining input before
// touching memory, so hostile bytes cannot make it allocate or read past the end.

#include <bit>
#include <chainwatch/event/event.hpp>
#include <cstring>
#include <limits>
#include <new>
#include <simdjson.h>

namespace chainwatch::event {

namespace {

void put_u8(std::string& out, std::uint8_t v) {
  out.push_back(static_cast<char>(v));
}

template <class T>
void put_be(std::string& out, std::uint8_t tag, T v) {
  char buf[1 + sizeof(T)];
  buf[0] = static_cast<char>(tag);
  for (std::size_t i = 0; i < sizeof(T); ++i)
    buf[1 + i] = static_cast<char>(static_cast<std::uint64_t>(v) >> (8 * (sizeof(T) - 1 - i)));
  out.append(buf, sizeof(buf));
}

void put_str(std::string& out, std::string_view s) {
  const std::size_t n = s.size();
  if (n < 32)
    put_u8(out, static_cast<std::uint8_t>(0xa0 | n));
  else if (n <= 0xff)
    put_be<std::uint8_t>(out, 0xd9, static_cast<std::uint8_t>(n));
  else if (n <= 0xffff)
    put_be<std::uint16_t>(out, 0xda, static_cast<std::uint16_t>(n));
  else
    put_be<std::uint32_t>(out, 0xdb, static_cast<std::uint32_t>(n));
  out.append(s);
}

void put_int(std::string& out, std::int64_t v) {
  if (v >= 0) {
    if (v < 128)
      put_u8(out, static_cast<std::uint8_t>(v));
    else if (v <= 0xff)
      put_be<std::uint8_t>(out, 0xcc, static_cast<std::uint8_t>(v));
    else if (v <= 0xffff)
      put_be<std::uint16_t>(out, 0xcd, static_cast<std::uint16_t>(v));
    else if (v <= 0xffffffffLL)
      put_be<std::uint32_t>(out, 0xce, static_cast<std::uint32_t>(v));
    else
      put_be<std::uint64_t>(out, 0xcf, static_cast<std::uint64_t>(v));
  } else {
    if (v >= -32)
      put_u8(out, static_cast<std::uint8_t>(v));
    else if (v >= -128)
      put_be<std::uint8_t>(out, 0xd0, static_cast<std::uint8_t>(v));
    else if (v >= -32768)
      put_be<std::uint16_t>(out, 0xd1, static_cast<std::uint16_t>(v));
    else if (v >= -2147483648LL)
      put_be<std::uint32_t>(out, 0xd2, static_cast<std::uint32_t>(v));
    else
      put_be<std::uint64_t>(out, 0xd3, static_cast<std::uint64_t>(v));
  }
}

void put_container(std::string& out, std::uint8_t fix, std::uint8_t tag16, std::uint32_t n) {
  if (n < 16)
    put_u8(out, static_cast<std::uint8_t>(fix | n));
  else if (n <= 0xffff)
    put_be<std::uint16_t>(out, tag16, static_cast<std::uint16_t>(n));
  else
    put_be<std::uint32_t>(out, static_cast<std::uint8_t>(tag16 + 1), n);
}

} // namespace

namespace {

template <msgpack_keys Keys>
void put_node(std::string& out, const event& ev, std::uint32_t index) {
  const node* nodes = ev.nodes().data();
  const node& n = nodes[index];
  switch (n.type) {
  case kind::null:
    put_u8(out, 0xc0);
    return;
  case kind::boolean:
    put_u8(out, n.b ? 0xc3 : 0xc2);
    return;
  case kind::integer:
    put_int(out, n.i);
    return;
  case kind::real:
    put_be<std::uint64_t>(out, 0xcb, std::bit_cast<std::uint64_t>(n.d));
    return;
  case kind::string:
    put_str(out, ev.strings().substr(n.str_offset, n.size));
    return;
  case kind::array:
    put_container(out, 0x90, 0xdc, n.size);
    for (std::uint32_t c = index + 1; c < n.end; c = nodes[c].end)
      put_node<Keys>(out, ev, c);
    return;
  case kind::object:
    put_container(out, 0x80, 0xde, n.size);
    for (std::uint32_t c = index + 1; c < n.end; c = nodes[c].end) {
      const std::uint32_t code = Keys == msgpack_keys::coded ? symbols::code(nodes[c].key) : 0;
      if (code != 0)
        put_int(out, code - 1);
      else
        put_str(out, symbols::name(nodes[c].key));
      put_node<Keys>(out, ev, c);
    }
    return;
  }
}

} // namespace

void append_msgpack(std::string& out, const event& ev, msgpack_keys keys) {
  if (ev.is_encoded()) {
    if (keys == msgpack_keys::names) {
      // The bytes may hold coded keys: spell them out (a rare path: late events).
      if (auto decoded = from_msgpack(ev.strings())) {
        append_msgpack(out, *decoded, keys);
        return;
      }
    }
    out += ev.strings();
    return;
  }
  if (ev.nodes().empty()) {
    put_u8(out, 0xc0);
    return;
  }
  if (keys == msgpack_keys::coded)
    put_node<msgpack_keys::coded>(out, ev, 0);
  else
    put_node<msgpack_keys::names>(out, ev, 0);
}

namespace {

// Most keys and values are short ASCII; checking that inline avoids the
// dispatched UTF-8 validator call.
inline bool is_ascii(const char* s, std::size_t n) noexcept {
  std::uint64_t acc = 0;
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t w;
    std::memcpy(&w, s + i, 8);
    acc |= w;
  }
  for (; i < n; ++i)
    acc |= static_cast<unsigned char>(s[i]);
  return (acc & 0x8080808080808080ULL) == 0;
}

class msgpack_reader {
public:
  msgpack_reader(std::string_view in, builder& b, std::size_t max_depth)
      : begin_(reinterpret_cast<const std::uint8_t*>(in.data())), p_(begin_),
        end_(begin_ + in.size()), b_(b), max_depth_(max_depth) {}

  bool value(std::size_t depth) {
    if (p_ == end_) return fail("truncated input");
    const std::uint8_t tag = *p_++;
    if (tag <= 0x7f) return b_.integer(tag), true;
    if (tag >= 0xe0) return b_.integer(static_cast<std::int8_t>(tag)), true;
    if ((tag & 0xf0) == 0x80) return map(tag & 0x0f, depth);
    if ((tag & 0xf0) == 0x90) return array(tag & 0x0f, depth);
    if ((tag & 0xe0) == 0xa0) return str(tag & 0x1f);
    std::uint64_t n = 0;
    switch (tag) {
    case 0xc0:
      b_.null();
      return true;
    case 0xc2:
      b_.boolean(false);
      return true;
    case 0xc3:
      b_.boolean(true);
      return true;
    case 0xc4:
    case 0xd9:
      return read_be(1, n) && str(n);
    case 0xc5:
    case 0xda:
      return read_be(2, n) && str(n);
    case 0xc6:
    case 0xdb:
      return read_be(4, n) && str(n);
    case 0xca: {
      if (!read_be(4, n)) return false;
      b_.real(static_cast<double>(std::bit_cast<float>(static_cast<std::uint32_t>(n))));
      return true;
    }
    case 0xcb:
      if (!read_be(8, n)) return false;
      b_.real(std::bit_cast<double>(n));
      return true;
    case 0xcc:
    case 0xcd:
    case 0xce:
    case 0xcf:
      if (!read_be(std::size_t{1} << (tag - 0xcc), n)) return false;
      // Like JSON: unsigned values above INT64_MAX become reals.
      if (n > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        b_.real(static_cast<double>(n));
      else
        b_.integer(static_cast<std::int64_t>(n));
      return true;
    case 0xd0:
      if (!read_be(1, n)) return false;
      b_.integer(static_cast<std::int8_t>(n));
      return true;
    case 0xd1:
      if (!read_be(2, n)) return false;
      b_.integer(static_cast<std::int16_t>(n));
      return true;
    case 0xd2:
      if (!read_be(4, n)) return false;
      b_.integer(static_cast<std::int32_t>(n));
      return true;
    case 0xd3:
      if (!read_be(8, n)) return false;
      b_.integer(static_cast<std::int64_t>(n));
      return true;
    case 0xdc:
      return read_be(2, n) && array(n, depth);
    case 0xdd:
      return read_be(4, n) && array(n, depth);
    case 0xde:
      return read_be(2, n) && map(n, depth);
    case 0xdf:
      return read_be(4, n) && map(n, depth);
    default:
      // 0xc1 (never used), ext types and fixext.
      --p_;
      return fail("unsupported msgpack type 0x" + hex(tag));
    }
  }

  bool at_end() const noexcept { return p_ == end_; }
  std::size_t offset() const noexcept { return static_cast<std::size_t>(error_at_ - begin_); }
  std::size_t position() const noexcept { return static_cast<std::size_t>(p_ - begin_); }
  std::string& reason() noexcept { return reason_; }

private:
  static std::string hex(std::uint8_t v) {
    static constexpr char digits[] = "0123456789abcdef";
    return {digits[v >> 4], digits[v & 0xf]};
  }

  bool fail(std::string reason) {
    reason_ = std::move(reason);
    error_at_ = p_;
    return false;
  }

  std::size_t remaining() const noexcept { return static_cast<std::size_t>(end_ - p_); }

  bool read_be(std::size_t bytes, std::uint64_t& out) {
    if (remaining() < bytes) return fail("truncated input");
    out = 0;
    for (std::size_t i = 0; i < bytes; ++i)
      out = (out << 8) | p_[i];
    p_ += bytes;
    return true;
  }

  bool take_utf8(std::uint64_t n, std::string_view& out) {
    if (remaining() < n) return fail("truncated string");
    const char* s = reinterpret_cast<const char*>(p_);
    // Events hold valid UTF-8 only, so that their JSON is always valid.
    if (!is_ascii(s, n) && !simdjson::validate_utf8(s, n)) return fail("string is not valid UTF-8");
    out = std::string_view(s, n);
    p_ += n;
    return true;
  }

  bool str(std::uint64_t n) {
    std::string_view s;
    if (!take_utf8(n, s)) return false;
    b_.string(s);
    return true;
  }

  bool array(std::uint64_t n, std::size_t depth) {
    if (depth >= max_depth_)
      return fail("nesting deeper than max_depth " + std::to_string(max_depth_));
    // Every element takes at least one byte: reject impossible counts early.
    if (n > remaining()) return fail("array length exceeds input");
    b_.begin_array();
    for (std::uint64_t i = 0; i < n; ++i)
      if (!value(depth + 1)) return false;
    b_.end_array();
    return true;
  }

  bool map(std::uint64_t n, std::size_t depth) {
    if (depth >= max_depth_)
      return fail("nesting deeper than max_depth " + std::to_string(max_depth_));
    if (n > remaining() / 2) return fail("map length exceeds input");
    b_.begin_object();
    for (std::uint64_t i = 0; i < n; ++i) {
      if (!key()) return false;
      if (!value(depth + 1)) return false;
    }
    b_.end_object();
    return true;
  }

  bool key() {
    if (p_ == end_) return fail("truncated input");
    const std::uint8_t tag = *p_++;
    std::uint64_t n = 0;
    if (tag <= 0x7f) return coded_key(tag, p_ - 1);
    if (tag == 0xcc || tag == 0xcd)
      return read_be(tag == 0xcc ? 1 : 2, n) && coded_key(n, p_ - 1 - (tag == 0xcc ? 1 : 2));
    if ((tag & 0xe0) == 0xa0) {
      n = tag & 0x1f;
    } else if (tag == 0xd9 || tag == 0xc4) {
      if (!read_be(1, n)) return false;
    } else if (tag == 0xda || tag == 0xc5) {
      if (!read_be(2, n)) return false;
    } else if (tag == 0xdb || tag == 0xc6) {
      if (!read_be(4, n)) return false;
    } else {
      --p_;
      return fail("map key is neither a string nor a key code");
    }
    std::string_view s;
    if (!take_utf8(n, s)) return false;
    b_.key(symbols::intern(s));
    return true;
  }

  // A key written as its code (symbols::code): a newer writer's code is an error, not a guess.
  bool coded_key(std::uint64_t code, const std::uint8_t* at) {
    const symbol s = symbols::of_code(code);
    if (s == 0) {
      p_ = at;
      return fail("unknown key code " + std::to_string(code));
    }
    b_.key(s);
    return true;
  }

  const std::uint8_t* begin_;
  const std::uint8_t* p_;
  const std::uint8_t* end_;
  const std::uint8_t* error_at_ = nullptr;
  builder& b_;
  std::size_t max_depth_;
  std::string reason_;
};

} // namespace

expected<event, decode_error> from_msgpack(std::string_view bytes, decode_limits limits) {
  if (bytes.size() > limits.max_bytes)
    return unexpected{decode_error{"document of " + std::to_string(bytes.size()) +
                                       " bytes exceeds max_bytes " +
                                       std::to_string(limits.max_bytes),
                                   limits.max_bytes}};
  if (bytes.size() >= std::numeric_limits<std::uint32_t>::max())
    return unexpected{decode_error{"document larger than 4 GiB", 0}};
  try {
    thread_local builder b;
    b.reset();
    msgpack_reader reader(bytes, b, limits.max_depth);
    if (!reader.value(0)) {
      decode_error e{std::move(reader.reason()), reader.offset()};
      b.reset();
      return unexpected{std::move(e)};
    }
    if (!reader.at_end()) {
      b.reset();
      return unexpected{decode_error{"trailing bytes after the value", reader.position()}};
    }
    return b.finish();
  } catch (const std::bad_alloc&) {
    return unexpected{decode_error{"out of memory", 0}};
  }
}

} // namespace chainwatch::event
