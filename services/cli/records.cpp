#include "records.hpp"

namespace chainwatch::cli {

record_reader::record_reader(record_reader&&) noexcept = default;
record_reader& record_reader::operator=(record_reader&&) noexcept = default;
record_reader::~record_reader() = default;

expected<record_reader, std::string> record_reader::open(const std::string& path) {
  auto lines = line_reader::open(path);
  if (!lines) return unexpected{lines.error()};
  return record_reader(path, std::move(*lines));
}

expected<record_reader, std::string> record_reader::open(const std::string& path,
                                                         normalize::normalizer& n,
                                                         normalize::source_type source,
                                                         std::int64_t reference_ns) {
  auto r = open(path);
  if (!r) return r;
  r->normalizer_ = &n;
  // The path itself is the file name the normalizer reads a Zeek log type from (it takes the
  // last component); the path outlives the reader.
  normalize::context ctx{path, reference_ns != 0 ? reference_ns : r->lines_.mtime_ns()};
  r->stream_ = std::make_unique<normalize::stream_reader>(n, source, ctx);
  return r;
}

std::optional<record> record_reader::next() {
  if (mode_ == mode::array) return from_array();
  while (auto line = lines_.next()) {
    const auto first = line->find_first_not_of(" \t");
    if (first == std::string_view::npos) continue;
    if (mode_ == mode::unknown) {
      if ((*line)[first] == '[') {
        // One JSON array (a common export format): decoded whole, then element by element.
        mode_ = mode::array;
        std::string text(*line);
        text.push_back('\n');
        if (!lines_.read_rest(text)) return std::nullopt;
        event::decode_limits limits;
        limits.max_bytes = text.size() + 1;
        limits.max_depth += 1; // the enclosing array
        auto doc = decoder_.decode(text, limits);
        if (!doc)
          return fail(1, doc.error().reason + " at byte " + std::to_string(doc.error().offset));
        array_ = std::make_unique<event::event>(std::move(*doc));
        cursor_ = array_->root().first_child();
        return from_array();
      }
      mode_ = mode::lines;
    }
    if (auto r = from_line(*line, lines_.line_number())) return r;
  }
  return std::nullopt;
}

std::optional<record> record_reader::from_line(std::string_view text, std::uint64_t no) {
  if (stream_) {
    auto r = stream_->next(text);
    if (!r) {
      const auto& e = r.error();
      return fail(no, std::string(normalize::to_string(e.code)) + ": " + e.reason + " at byte " +
                          std::to_string(e.offset));
    }
    if (!*r) return std::nullopt; // a header or comment line
    return record{path_, no, std::make_shared<const event::event>(std::move(**r)), {}};
  }
  auto ev = decoder_.decode(text);
  if (!ev) return fail(no, ev.error().reason + " at byte " + std::to_string(ev.error().offset));
  if (ev->root().type() != event::kind::object) return fail(no, "line is not a JSON object");
  return record{path_, no, std::make_shared<const event::event>(std::move(*ev)), {}};
}

std::optional<record> record_reader::from_array() {
  while (cursor_.exists()) {
    auto c = cursor_;
    cursor_ = cursor_.next_sibling();
    const auto no = ++index_;
    if (c.type() != event::kind::object) return fail(no, "array element is not a JSON object");
    if (stream_) {
      element_.clear();
      event::append_json(element_, c);
      if (auto r = from_line(element_, no)) return r;
      continue;
    }
    event::builder b;
    b.copy(c);
    return record{path_, no, std::make_shared<const event::event>(b.finish()), {}};
  }
  array_.reset();
  return std::nullopt;
}

} // namespace chainwatch::cli
