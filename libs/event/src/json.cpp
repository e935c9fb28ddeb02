#include <array>
#include <chainwatch/event/event.hpp>
#include <charconv>
#include <cstring>
#include <limits>
#include <new>
#include <simdjson.h>

namespace chainwatch::event {

// ---- decoding --------------------------------------------------------------

struct json_decoder::impl {
  simdjson::dom::parser parser;
  std::unique_ptr<simdjson::ondemand::parser> locator; // error path only
  std::unique_ptr<char[]> buffer;
  std::size_t buffer_capacity = 0;
  std::size_t parser_depth = 0;
  builder scratch;
};

namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

constexpr std::size_t max_document = std::numeric_limits<std::uint32_t>::max() - 1;

decode_error make_error(std::string reason, std::size_t offset = 0) {
  return decode_error{std::move(reason), offset};
}

// Walks a simdjson DOM element into the builder. simdjson already bounds the
// depth (the parser is allocated with max_depth + 1), so recursion is bounded.
bool walk(element e, builder& b, std::size_t depth, std::size_t max_depth) {
  switch (e.type()) {
  case element_type::OBJECT: {
    if (depth >= max_depth) return false;
    simdjson::dom::object obj = e.get_object().value_unsafe();
    b.begin_object();
    for (simdjson::dom::key_value_pair kv : obj) {
      b.key(symbols::intern(kv.key));
      if (!walk(kv.value, b, depth + 1, max_depth)) return false;
    }
    b.end_object();
    return true;
  }
  case element_type::ARRAY: {
    if (depth >= max_depth) return false;
    simdjson::dom::array arr = e.get_array().value_unsafe();
    b.begin_array();
    for (element child : arr)
      if (!walk(child, b, depth + 1, max_depth)) return false;
    b.end_array();
    return true;
  }
  case element_type::INT64:
    b.integer(e.get_int64().value_unsafe());
    return true;
  case element_type::UINT64:
    // Only values above INT64_MAX get here; keep them as the nearest double.
    b.real(static_cast<double>(e.get_uint64().value_unsafe()));
    return true;
  case element_type::DOUBLE:
    b.real(e.get_double().value_unsafe());
    return true;
  case element_type::STRING:
    b.string(e.get_string().value_unsafe());
    return true;
  case element_type::BOOL:
    b.boolean(e.get_bool().value_unsafe());
    return true;
  case element_type::NULL_VALUE:
    b.null();
    return true;
  }
  return false;
}

// The DOM parser reports what is wrong but not where. On the error path only,
// re-read the document with the on-demand API, which stops at the offending
// token and can say where it is.
simdjson::error_code visit(simdjson::ondemand::value v, std::size_t depth, std::size_t max_depth) {
  using simdjson::ondemand::json_type;
  json_type t;
  if (auto e = v.type().get(t)) return e;
  switch (t) {
  case json_type::object: {
    if (depth >= max_depth) return simdjson::DEPTH_ERROR;
    simdjson::ondemand::object o;
    if (auto e = v.get_object().get(o)) return e;
    for (auto field : o) {
      simdjson::ondemand::value child;
      if (auto e = field.value().get(child)) return e;
      if (auto e = visit(child, depth + 1, max_depth)) return e;
    }
    return simdjson::SUCCESS;
  }
  case json_type::array: {
    if (depth >= max_depth) return simdjson::DEPTH_ERROR;
    simdjson::ondemand::array a;
    if (auto e = v.get_array().get(a)) return e;
    for (auto element : a) {
      simdjson::ondemand::value child;
      if (auto e = element.get(child)) return e;
      if (auto e = visit(child, depth + 1, max_depth)) return e;
    }
    return simdjson::SUCCESS;
  }
  case json_type::number: {
    simdjson::ondemand::number n;
    return v.get_number().get(n);
  }
  case json_type::string: {
    std::string_view text;
    return v.get_string().get(text);
  }
  case json_type::boolean: {
    bool b = false;
    return v.get_bool().get(b);
  }
  case json_type::null: {
    bool is_null = false;
    if (auto e = v.is_null().get(is_null)) return e;
    return is_null ? simdjson::SUCCESS : simdjson::INCORRECT_TYPE;
  }
  }
  return simdjson::SUCCESS;
}

// Byte offset of the first error in `data` (padded), or 0 when unknown.
std::size_t locate_error(simdjson::ondemand::parser& parser, const char* data, std::size_t size,
                         std::size_t max_depth) {
  simdjson::ondemand::document doc;
  if (parser.iterate(data, size, size + simdjson::SIMDJSON_PADDING).get(doc)) return 0;
  simdjson::ondemand::value root;
  if (doc.get_value().get(root) == simdjson::SUCCESS) (void)visit(root, 0, max_depth);
  // On success the location is that of trailing content, which is the error.
  const char* at = nullptr;
  if (doc.current_location().get(at) != simdjson::SUCCESS || at < data || at > data + size)
    return 0;
  return static_cast<std::size_t>(at - data);
}

} // namespace

json_decoder::json_decoder() : impl_(std::make_unique<impl>()) {}
json_decoder::~json_decoder() = default;
json_decoder::json_decoder(json_decoder&&) noexcept = default;
json_decoder& json_decoder::operator=(json_decoder&&) noexcept = default;

expected<event, decode_error> json_decoder::decode(std::string_view json, decode_limits limits) {
  if (!impl_) impl_ = std::make_unique<impl>();
  builder& b = impl_->scratch;
  b.reset();
  auto r = decode_into(json, b, limits);
  if (!r) return unexpected{std::move(r.error())};
  return b.finish();
}

expected<bool, decode_error> json_decoder::decode_into(std::string_view json, builder& b,
                                                       decode_limits limits) {
  if (json.size() > limits.max_bytes)
    return unexpected{make_error("document of " + std::to_string(json.size()) +
                                     " bytes exceeds max_bytes " + std::to_string(limits.max_bytes),
                                 limits.max_bytes)};
  if (json.size() > max_document)
    return unexpected{make_error("document larger than 4 GiB", max_document)};
  if (limits.max_depth == 0 || limits.max_depth > 1'000'000)
    return unexpected{make_error("max_depth must be between 1 and 1000000")};
  if (!impl_) impl_ = std::make_unique<impl>();
  impl& s = *impl_;
  const builder::checkpoint mark = b.save();
  try {
    // simdjson reads up to SIMDJSON_PADDING bytes past the end, so parse a
    // padded copy held across calls.
    const std::size_t need = json.size() + simdjson::SIMDJSON_PADDING;
    if (s.buffer_capacity < need) {
      std::size_t cap = s.buffer_capacity ? s.buffer_capacity : 4096;
      while (cap < need)
        cap *= 2;
      s.buffer.reset(new char[cap]);
      s.buffer_capacity = cap;
    }
    std::memcpy(s.buffer.get(), json.data(), json.size());
    std::memset(s.buffer.get() + json.size(), 0, simdjson::SIMDJSON_PADDING);
    // simdjson counts the document itself as one level.
    const std::size_t parser_depth = limits.max_depth + 1;
    if (s.parser_depth != parser_depth) {
      const std::size_t capacity = std::max<std::size_t>(s.parser.capacity(), 4096);
      if (auto err = s.parser.allocate(capacity, parser_depth); err != simdjson::SUCCESS)
        return unexpected{
            make_error(std::string("parser allocation failed: ") + simdjson::error_message(err))};
      s.parser_depth = parser_depth;
    }
    element root;
    auto err = s.parser.parse(s.buffer.get(), json.size(), false).get(root);
    if (err == simdjson::DEPTH_ERROR)
      return unexpected{
          make_error("nesting deeper than max_depth " + std::to_string(limits.max_depth))};
    if (err != simdjson::SUCCESS) {
      if (!s.locator) s.locator = std::make_unique<simdjson::ondemand::parser>();
      const std::size_t at =
          locate_error(*s.locator, s.buffer.get(), json.size(), limits.max_depth);
      return unexpected{make_error(std::string("invalid JSON: ") + simdjson::error_message(err) +
                                       " (near byte " + std::to_string(at) + ")",
                                   at)};
    }
    if (!walk(root, b, 0, limits.max_depth)) {
      b.restore(mark);
      return unexpected{
          make_error("nesting deeper than max_depth " + std::to_string(limits.max_depth))};
    }
    return true;
  } catch (const std::bad_alloc&) {
    b.restore(mark);
    return unexpected{make_error("out of memory")};
  } catch (const std::exception& e) {
    b.restore(mark);
    return unexpected{make_error(std::string("JSON decoder failed: ") + e.what())};
  }
}

// ---- encoding --------------------------------------------------------------

namespace {

// 0: copy as is; 1: short escape; 2: \u00XX.
constexpr std::array<std::uint8_t, 256> escape_class = [] {
  std::array<std::uint8_t, 256> t{};
  for (int c = 0; c < 0x20; ++c)
    t[c] = 2;
  t['"'] = 1;
  t['\\'] = 1;
  t['\b'] = 1;
  t['\f'] = 1;
  t['\n'] = 1;
  t['\r'] = 1;
  t['\t'] = 1;
  return t;
}();

// SWAR test of eight bytes for '"', '\\' or a byte below 0x20.
inline bool needs_escape(const char* p) noexcept {
  constexpr std::uint64_t ones = 0x0101010101010101ULL;
  constexpr std::uint64_t highs = 0x8080808080808080ULL;
  std::uint64_t w;
  std::memcpy(&w, p, 8);
  auto has_zero = [](std::uint64_t v) { return (v - ones) & ~v & highs; };
  // Bytes >= 0x80 (UTF-8) must not count as "below 0x20", hence the `& ~w`.
  const std::uint64_t below = (w - ones * 0x20) & ~w & highs;
  return (below | has_zero(w ^ (ones * '"')) | has_zero(w ^ (ones * '\\'))) != 0;
}

void append_real(std::string& out, double d) {
  if (d != d || d == std::numeric_limits<double>::infinity() ||
      d == -std::numeric_limits<double>::infinity()) {
    // JSON has no NaN or infinity.
    out.append("null");
    return;
  }
  char buf[32];
  auto [p, ec] = std::to_chars(buf, buf + sizeof(buf), d);
  std::string_view text(buf, p - buf);
  out.append(text);
  // Keep reals real on the way back: `1.0` must not come back as the integer 1.
  if (text.find_first_of(".e") == std::string_view::npos) out.append(".0");
}

void append_integer(std::string& out, std::int64_t i) {
  char buf[24];
  auto [p, ec] = std::to_chars(buf, buf + sizeof(buf), i);
  out.append(buf, p - buf);
}

void append_node(std::string& out, const event& ev, std::uint32_t index) {
  const node* nodes = ev.nodes().data();
  const node& n = nodes[index];
  switch (n.type) {
  case kind::null:
    out.append("null");
    return;
  case kind::boolean:
    out.append(n.b ? "true" : "false");
    return;
  case kind::integer:
    append_integer(out, n.i);
    return;
  case kind::real:
    append_real(out, n.d);
    return;
  case kind::string:
    append_json_string(out, ev.strings().substr(n.str_offset, n.size));
    return;
  case kind::array: {
    out.push_back('[');
    bool first = true;
    for (std::uint32_t c = index + 1; c < n.end; c = nodes[c].end) {
      if (!first) out.push_back(',');
      first = false;
      append_node(out, ev, c);
    }
    out.push_back(']');
    return;
  }
  case kind::object: {
    out.push_back('{');
    bool first = true;
    for (std::uint32_t c = index + 1; c < n.end; c = nodes[c].end) {
      if (!first) out.push_back(',');
      first = false;
      append_json_string(out, symbols::name(nodes[c].key));
      out.push_back(':');
      append_node(out, ev, c);
    }
    out.push_back('}');
    return;
  }
  }
}

} // namespace

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out.push_back('"');
  const char* p = s.data();
  const char* end = p + s.size();
  const char* run = p;
  while (true) {
    // Skip eight plain bytes at a time (no control character, quote or backslash),
    // then look at most eight bytes one by one.
    while (end - p >= 8 && !needs_escape(p))
      p += 8;
    const char* stop = end - p > 8 ? p + 8 : end;
    while (p != stop && escape_class[static_cast<unsigned char>(*p)] == 0)
      ++p;
    if (p == end) break;
    if (p == stop) continue;
    out.append(run, p - run);
    run = p + 1;
    const char c = *p;
    switch (c) {
    case '"':
      out.append("\\\"");
      break;
    case '\\':
      out.append("\\\\");
      break;
    case '\b':
      out.append("\\b");
      break;
    case '\f':
      out.append("\\f");
      break;
    case '\n':
      out.append("\\n");
      break;
    case '\r':
      out.append("\\r");
      break;
    case '\t':
      out.append("\\t");
      break;
    default: {
      const char u[6] = {'\\', 'u', '0', '0', hex[(c >> 4) & 0xf], hex[c & 0xf]};
      out.append(u, 6);
    }
    }
    ++p;
  }
  out.append(run, end - run);
  out.push_back('"');
}

void append_json(std::string& out, value_ref v) {
  if (!v.exists()) {
    out.append("null");
    return;
  }
  append_node(out, *v.owner(), v.index());
}

std::string to_json(const event& ev) {
  std::string out;
  out.reserve(ev.strings().size() + ev.nodes().size() * 16 + 16);
  append_json(out, ev.root());
  return out;
}

} // namespace chainwatch::event
