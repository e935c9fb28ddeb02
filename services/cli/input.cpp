#include "input.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <zlib.h>

namespace chainwatch::cli {

namespace {

// gzopen reads plain files transparently, so one code path serves both.
struct gz_closer {
  void operator()(gzFile f) const { gzclose(f); }
};
using gz_ptr = std::unique_ptr<gzFile_s, gz_closer>;

gz_ptr open(const std::string& path, std::string& err) {
  gzFile f = path == "-" ? gzdopen(dup(0), "rb") : gzopen(path.c_str(), "rb");
  if (!f)
    err = path + ": " + std::strerror(errno);
  else
    gzbuffer(f, 1 << 17);
  return gz_ptr{f};
}

} // namespace

std::string for_each_line(const std::string& path,
                          const std::function<void(std::string_view, std::uint64_t)>& on_line) {
  std::string err;
  auto f = open(path, err);
  if (!f) return err;
  std::string buf;
  std::size_t start = 0;
  std::uint64_t line_no = 0;
  char chunk[1 << 16];
  for (;;) {
    int n = gzread(f.get(), chunk, sizeof chunk);
    if (n < 0) {
      int code = 0;
      return path + ": " + gzerror(f.get(), &code);
    }
    if (n == 0) break;
    buf.append(chunk, static_cast<std::size_t>(n));
    std::size_t nl;
    while ((nl = buf.find('\n', start)) != std::string::npos) {
      std::string_view line{buf.data() + start, nl - start};
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      on_line(line, ++line_no);
      start = nl + 1;
    }
    buf.erase(0, start);
    start = 0;
  }
  if (!buf.empty()) on_line(buf, ++line_no);
  return {};
}

std::string read_file(const std::string& path, std::string& out) {
  std::string err;
  auto f = open(path, err);
  if (!f) return err;
  char chunk[1 << 16];
  for (;;) {
    int n = gzread(f.get(), chunk, sizeof chunk);
    if (n < 0) {
      int code = 0;
      return path + ": " + gzerror(f.get(), &code);
    }
    if (n == 0) break;
    out.append(chunk, static_cast<std::size_t>(n));
  }
  return {};
}

namespace {

// Emits every element of a JSON array document as one record.
void emit_array(const std::string& path, std::string_view text, event::json_decoder& decoder,
                const std::function<void(record&&)>& on_record) {
  event::decode_limits limits;
  limits.max_bytes = text.size() + 1;
  limits.max_depth += 1; // the enclosing array
  auto doc = decoder.decode(text, limits);
  if (!doc) {
    on_record(
        {&path, 1, nullptr, doc.error().reason + " at byte " + std::to_string(doc.error().offset)});
    return;
  }
  std::uint64_t index = 0;
  event::builder b;
  for (auto c = doc->root().first_child(); c.exists(); c = c.next_sibling()) {
    ++index;
    if (c.type() != event::kind::object) {
      on_record({&path, index, nullptr, "array element is not a JSON object"});
      continue;
    }
    b.reset();
    b.copy(c);
    on_record({&path, index, std::make_shared<const event::event>(b.finish()), {}});
  }
}

} // namespace

std::string read_events(const std::string& path, event::json_decoder& decoder,
                        const std::function<void(record&&)>& on_record) {
  // The first non-blank line tells a JSON array (collected whole, then split)
  // from NDJSON (streamed line by line). This works for stdin too.
  enum class mode { unknown, ndjson, array } m = mode::unknown;
  std::string array_text;
  auto err = for_each_line(path, [&](std::string_view line, std::uint64_t no) {
    if (m == mode::array) {
      array_text.append(line).push_back('\n');
      return;
    }
    auto first = line.find_first_not_of(" \t");
    if (first == std::string_view::npos) return;
    if (m == mode::unknown) {
      m = line[first] == '[' ? mode::array : mode::ndjson;
      if (m == mode::array) {
        array_text.append(line).push_back('\n');
        return;
      }
    }
    auto ev = decoder.decode(line);
    if (!ev) {
      on_record({&path, no, nullptr,
                 ev.error().reason + " at byte " + std::to_string(ev.error().offset)});
      return;
    }
    if (ev->root().type() != event::kind::object) {
      on_record({&path, no, nullptr, "line is not a JSON object"});
      return;
    }
    on_record({&path, no, std::make_shared<const event::event>(std::move(*ev)), {}});
  });
  if (!err.empty()) return err;
  if (m == mode::array) emit_array(path, array_text, decoder, on_record);
  return {};
}

} // namespace chainwatch::cli
