#include "chainwatch/wire/codec.hpp"

#include <cstring>
#include <endian.h>
#include <limits>

namespace chainwatch::wire {

namespace {

constexpr int max_skip_depth = 32;

} // namespace

const char* to_string(errc code) noexcept {
  switch (code) {
  case errc::truncated:
    return "truncated";
  case errc::bad_type:
    return "bad_type";
  case errc::bad_kind:
    return "bad_kind";
  case errc::bad_version:
    return "bad_version";
  case errc::bad_arity:
    return "bad_arity";
  case errc::bad_value:
    return "bad_value";
  case errc::trailing_bytes:
    return "trailing_bytes";
  case errc::bad_compression:
    return "bad_compression";
  case errc::too_large:
    return "too_large";
  case errc::too_deep:
    return "too_deep";
  }
  return "unknown";
}

std::string to_string(const error& err) {
  return std::string(to_string(err.code)) + " at byte " + std::to_string(err.offset);
}

// --- writer -------------------------------------------------------------------------------------

void writer::put_tagged(std::uint8_t tag, std::uint64_t v, int bytes) {
  // One append per value instead of one per byte (the encoders' hottest lines).
  char buf[9];
  buf[0] = static_cast<char>(tag);
  for (int i = 0; i < bytes; ++i)
    buf[1 + i] = static_cast<char>(v >> (8 * (bytes - 1 - i)));
  out_.append(buf, static_cast<std::size_t>(bytes) + 1);
}

void writer::array(std::uint32_t n) {
  if (n < 16) {
    put(static_cast<std::uint8_t>(0x90 | n));
  } else if (n <= 0xffff) {
    put_tagged(0xdc, n, 2);
  } else {
    put_tagged(0xdd, n, 4);
  }
}

void writer::uint(std::uint64_t v) {
  if (v < 128) {
    put(static_cast<std::uint8_t>(v));
  } else if (v <= 0xff) {
    put_tagged(0xcc, v, 1);
  } else if (v <= 0xffff) {
    put_tagged(0xcd, v, 2);
  } else if (v <= 0xffffffff) {
    put_tagged(0xce, v, 4);
  } else {
    put_tagged(0xcf, v, 8);
  }
}

void writer::sint(std::int64_t v) {
  if (v >= 0) {
    uint(static_cast<std::uint64_t>(v));
  } else if (v >= -32) {
    put(static_cast<std::uint8_t>(v));
  } else if (v >= std::numeric_limits<std::int8_t>::min()) {
    put_tagged(0xd0, static_cast<std::uint64_t>(v), 1);
  } else if (v >= std::numeric_limits<std::int16_t>::min()) {
    put_tagged(0xd1, static_cast<std::uint64_t>(v), 2);
  } else if (v >= std::numeric_limits<std::int32_t>::min()) {
    put_tagged(0xd2, static_cast<std::uint64_t>(v), 4);
  } else {
    put_tagged(0xd3, static_cast<std::uint64_t>(v), 8);
  }
}

void writer::str(std::string_view s) {
  auto n = s.size();
  if (n < 32) {
    put(static_cast<std::uint8_t>(0xa0 | n));
  } else if (n <= 0xff) {
    put_tagged(0xd9, n, 1);
  } else if (n <= 0xffff) {
    put_tagged(0xda, n, 2);
  } else {
    put_tagged(0xdb, n, 4);
  }
  out_.append(s);
}

void writer::bin(std::string_view b) {
  auto n = b.size();
  if (n <= 0xff) {
    put_tagged(0xc4, n, 1);
  } else if (n <= 0xffff) {
    put_tagged(0xc5, n, 2);
  } else {
    put_tagged(0xc6, n, 4);
  }
  out_.append(b);
}

void writer::nil() {
  put(0xc0);
}

void writer::boolean(bool v) {
  put(v ? 0xc3 : 0xc2);
}

void writer::opt_str(const std::optional<std::string>& s) {
  if (s)
    str(*s);
  else
    nil();
}

void writer::opt_uint(const std::optional<std::uint64_t>& v) {
  if (v)
    uint(*v);
  else
    nil();
}

// --- reader -------------------------------------------------------------------------------------

expected<std::uint64_t, error> reader::be(int bytes) {
  if (remaining() < static_cast<std::size_t>(bytes)) return unexpected{fail(errc::truncated)};
  const char* p = in_.data() + pos_;
  pos_ += static_cast<std::size_t>(bytes);
  switch (bytes) { // msgpack is big-endian; one load and a byte swap each
  case 1:
    return static_cast<std::uint8_t>(*p);
  case 2: {
    std::uint16_t v;
    std::memcpy(&v, p, 2);
    return std::uint64_t{be16toh(v)};
  }
  case 4: {
    std::uint32_t v;
    std::memcpy(&v, p, 4);
    return std::uint64_t{be32toh(v)};
  }
  default: {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    return be64toh(v);
  }
  }
}

expected<std::string_view, error> reader::take(std::uint64_t n) {
  if (remaining() < n) return unexpected{fail(errc::truncated)};
  auto out = in_.substr(pos_, n);
  pos_ += n;
  return out;
}

expected<std::uint32_t, error> reader::array() {
  if (at_end()) return unexpected{fail(errc::truncated)};
  auto start = pos_;
  auto tag = static_cast<std::uint8_t>(in_[pos_++]);
  std::uint64_t n = 0;
  if ((tag & 0xf0) == 0x90) {
    n = tag & 0x0f;
  } else if (tag == 0xdc || tag == 0xdd) {
    auto len = be(tag == 0xdc ? 2 : 4);
    if (!len) return unexpected{len.error()};
    n = *len;
  } else {
    pos_ = start;
    return unexpected{fail(errc::bad_type)};
  }
  // Every element takes at least one byte, so a longer count is a lie: reject it before any
  // caller reserves memory for it.
  if (n > remaining()) return unexpected{fail(errc::truncated)};
  return static_cast<std::uint32_t>(n);
}

expected<std::uint32_t, error> reader::array_of(std::uint32_t want) {
  auto start = pos_;
  auto n = array();
  if (!n) return n;
  if (*n != want) return unexpected{error{errc::bad_arity, start}};
  return n;
}

expected<std::uint64_t, error> reader::uint() {
  if (at_end()) return unexpected{fail(errc::truncated)};
  auto start = pos_;
  auto tag = static_cast<std::uint8_t>(in_[pos_++]);
  if (tag < 0x80) return std::uint64_t{tag};
  switch (tag) {
  case 0xcc:
    return be(1);
  case 0xcd:
    return be(2);
  case 0xce:
    return be(4);
  case 0xcf:
    return be(8);
  case 0xd0:
  case 0xd1:
  case 0xd2:
  case 0xd3: {
    pos_ = start;
    auto v = sint();
    if (!v) return unexpected{v.error()};
    if (*v < 0) return unexpected{error{errc::bad_value, start}};
    return static_cast<std::uint64_t>(*v);
  }
  default:
    pos_ = start;
    return unexpected{fail(errc::bad_type)};
  }
}

expected<std::int64_t, error> reader::sint() {
  if (at_end()) return unexpected{fail(errc::truncated)};
  auto start = pos_;
  auto tag = static_cast<std::uint8_t>(in_[pos_]);
  if (tag >= 0xe0) {
    ++pos_;
    return static_cast<std::int64_t>(static_cast<std::int8_t>(tag));
  }
  if (tag >= 0xd0 && tag <= 0xd3) {
    ++pos_;
    int bytes = 1 << (tag - 0xd0);
    auto raw = be(bytes);
    if (!raw) return unexpected{raw.error()};
    // Sign-extend from `bytes` bytes.
    int shift = 64 - 8 * bytes;
    return static_cast<std::int64_t>(*raw << shift) >> shift;
  }
  auto u = uint();
  if (!u) return unexpected{u.error()};
  if (*u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
    return unexpected{error{errc::bad_value, start}};
  return static_cast<std::int64_t>(*u);
}

expected<std::string_view, error> reader::bytes(bool want_bin) {
  if (at_end()) return unexpected{fail(errc::truncated)};
  auto start = pos_;
  auto tag = static_cast<std::uint8_t>(in_[pos_++]);
  expected<std::uint64_t, error> n = std::uint64_t{0};
  if ((tag & 0xe0) == 0xa0)
    n = std::uint64_t{tag & 0x1fu};
  else if (tag == 0xd9 || tag == 0xc4)
    n = be(1);
  else if (tag == 0xda || tag == 0xc5)
    n = be(2);
  else if (tag == 0xdb || tag == 0xc6)
    n = be(4);
  else {
    pos_ = start;
    return unexpected{fail(errc::bad_type)};
  }
  (void)want_bin; // str and bin are interchangeable on read: both are byte strings to us
  if (!n) return unexpected{n.error()};
  return take(*n);
}

expected<std::string_view, error> reader::str() {
  return bytes(false);
}

expected<std::string_view, error> reader::bin() {
  return bytes(true);
}

expected<bool, error> reader::boolean() {
  if (at_end()) return unexpected{fail(errc::truncated)};
  auto tag = static_cast<std::uint8_t>(in_[pos_]);
  if (tag != 0xc2 && tag != 0xc3) return unexpected{fail(errc::bad_type)};
  ++pos_;
  return tag == 0xc3;
}

bool reader::try_nil() {
  if (!at_end() && static_cast<std::uint8_t>(in_[pos_]) == 0xc0) {
    ++pos_;
    return true;
  }
  return false;
}

expected<bool, error> reader::skip() {
  return skip_depth(0);
}

expected<bool, error> reader::skip_depth(int depth) {
  if (depth > max_skip_depth) return unexpected{fail(errc::too_deep)};
  if (at_end()) return unexpected{fail(errc::truncated)};
  auto tag = static_cast<std::uint8_t>(in_[pos_]);
  auto skip_n = [&](std::uint64_t n) -> expected<bool, error> {
    auto t = take(n);
    if (!t) return unexpected{t.error()};
    return true;
  };
  auto skip_children = [&](std::uint64_t n) -> expected<bool, error> {
    if (n > remaining()) return unexpected{fail(errc::truncated)};
    for (std::uint64_t i = 0; i < n; ++i) {
      auto r = skip_depth(depth + 1);
      if (!r) return r;
    }
    return true;
  };
  auto len_then = [&](int bytes, std::uint64_t mult, bool children) -> expected<bool, error> {
    ++pos_;
    auto n = be(bytes);
    if (!n) return unexpected{n.error()};
    return children ? skip_children(*n * mult) : skip_n(*n);
  };
  if (tag < 0x80 || tag >= 0xe0 || tag == 0xc0 || tag == 0xc2 || tag == 0xc3) {
    ++pos_;
    return true;
  }
  if ((tag & 0xf0) == 0x80) { // fixmap
    ++pos_;
    return skip_children(2u * (tag & 0x0f));
  }
  if ((tag & 0xf0) == 0x90) { // fixarray
    ++pos_;
    return skip_children(tag & 0x0f);
  }
  if ((tag & 0xe0) == 0xa0) { // fixstr
    ++pos_;
    return skip_n(tag & 0x1f);
  }
  switch (tag) {
  case 0xc4:
  case 0xd9:
    return len_then(1, 1, false);
  case 0xc5:
  case 0xda:
    return len_then(2, 1, false);
  case 0xc6:
  case 0xdb:
    return len_then(4, 1, false);
  case 0xc7: // ext 8/16/32: length, then type byte, then data
  case 0xc8:
  case 0xc9: {
    int bytes = tag == 0xc7 ? 1 : (tag == 0xc8 ? 2 : 4);
    ++pos_;
    auto n = be(bytes);
    if (!n) return unexpected{n.error()};
    return skip_n(*n + 1);
  }
  case 0xca:
    ++pos_;
    return skip_n(4);
  case 0xcb:
    ++pos_;
    return skip_n(8);
  case 0xcc:
  case 0xd0:
    ++pos_;
    return skip_n(1);
  case 0xcd:
  case 0xd1:
    ++pos_;
    return skip_n(2);
  case 0xce:
  case 0xd2:
    ++pos_;
    return skip_n(4);
  case 0xcf:
  case 0xd3:
    ++pos_;
    return skip_n(8);
  case 0xd4: // fixext 1/2/4/8/16: type byte + data
    ++pos_;
    return skip_n(2);
  case 0xd5:
    ++pos_;
    return skip_n(3);
  case 0xd6:
    ++pos_;
    return skip_n(5);
  case 0xd7:
    ++pos_;
    return skip_n(9);
  case 0xd8:
    ++pos_;
    return skip_n(17);
  case 0xdc:
    return len_then(2, 1, true);
  case 0xdd:
    return len_then(4, 1, true);
  case 0xde:
    return len_then(2, 2, true);
  case 0xdf:
    return len_then(4, 2, true);
  default: // 0xc1 is never used
    return unexpected{fail(errc::bad_type)};
  }
}

} // namespace chainwatch::wire
