#include "pipeline.hpp"

#include "chainwatch/event/event.hpp"
#include "chainwatch/wire/subjects.hpp"
#include "event_time.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace chainwatch::normalizer {

namespace {

std::optional<normalize::source_type> parse_source(std::string_view name) {
  if (auto t = normalize::parse_source_type(name)) return t;
  std::string dotted(name);
  std::replace(dotted.begin(), dotted.end(), '_', '.');
  return normalize::parse_source_type(dotted);
}

} // namespace

pipeline::pipeline(pipeline&&) noexcept = default;
pipeline& pipeline::operator=(pipeline&&) noexcept = default;
pipeline::~pipeline() = default;

std::string pipeline::source_token(std::string_view source_type) {
  std::string out(source_type);
  std::replace(out.begin(), out.end(), '.', '_');
  return out;
}

expected<pipeline, std::string> pipeline::create(const std::string& sources_dir,
                                                 pipeline_options opts) {
  namespace fs = std::filesystem;
  std::vector<std::string> names;
  std::vector<std::string> texts;
  std::error_code ec;
  if (!sources_dir.empty() && fs::is_directory(sources_dir, ec)) {
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(sources_dir, ec))
      if (entry.path().extension() == ".toml") files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      std::ifstream in(f, std::ios::binary);
      if (!in) return unexpected{"cannot read " + f.string()};
      std::ostringstream text;
      text << in.rdbuf();
      names.push_back(f.stem().string());
      texts.push_back(text.str());
    }
  }
  std::vector<normalize::table_text> tables;
  for (std::size_t i = 0; i < names.size(); ++i)
    tables.push_back({names[i], texts[i]});
  auto n = normalize::normalizer::create(tables);
  if (!n) return unexpected{"mapping table " + n.error().table + ": " + n.error().reason};
  pipeline p;
  p.opts_ = std::move(opts);
  p.normalizer_.emplace(std::move(*n));
  p.json_ = std::make_unique<event::json_decoder>();
  if (p.opts_.rules) p.router_.emplace(p.opts_.rules);
  return p;
}

pipeline_output pipeline::process(const wire::raw_batch& in, std::int64_t now_ns) {
  pipeline_output out;
  out.source_token = source_token(in.source_type);
  auto dead = [&](std::string reason, std::string detail, std::uint64_t offset, std::string raw) {
    out.dead_letters.push_back(wire::dead_letter{.customer = in.customer,
                                                 .source = in.source_type,
                                                 .stage = "normalizer",
                                                 .reason = std::move(reason),
                                                 .detail = std::move(detail),
                                                 .offset = offset,
                                                 .raw = std::move(raw),
                                                 .time_ns = now_ns});
  };
  if (!wire::valid_token(in.customer) || !wire::valid_token(out.source_token)) {
    for (const auto& r : in.records)
      dead("bad_subject_token", "customer or source is not a subject token", 0, r.bytes);
    return out;
  }
  auto type = parse_source(in.source_type);
  if (!type) {
    for (const auto& r : in.records)
      dead("unknown_source", "unknown source type '" + in.source_type + "'", 0, r.bytes);
    return out;
  }

  // A producer that did not stamp the batch: it was received now (0 stays 0: unknown).
  const std::int64_t ingest_ns = in.ingest_ns != 0 ? in.ingest_ns : now_ns;
  const event::field_path ts_path(opts_.timestamp_field);
  wire::event_batch_builder batches(in.customer, in.source_type,
                                    std::max<std::size_t>(1, opts_.max_events), opts_.max_bytes);
  auto emit = [&](const event::event& ev, const wire::raw_record& r) {
    auto ts = cli::event_time(ev.get(ts_path), cli::time_format::automatic);
    if (!ts) {
      dead("no_timestamp", "no usable " + opts_.timestamp_field + " field", 0, r.bytes);
      return;
    }
    event_bytes_.clear(); // scratch: the builder copies the event into the message
    event::append_msgpack(event_bytes_, ev);
    std::optional<std::string_view> raw;
    if (opts_.keep_raw) raw = r.bytes;
    std::uint64_t rules = 0;
    bool event_rules = false;
    routes_.clear();
    if (router_) { // what the watermark service would find (it checks the fingerprint)
      router_->route(ev);
      rules = router_->rules()->fingerprint();
      for (const auto& e : router_->entries())
        routes_.push_back({e.key, e.hits});
      event_rules = !router_->event_rules().empty();
    }
    batches.add(*ts, ingest_ns, event_bytes_, raw, rules, routes_, event_rules);
    ++out.events;
  };

  if (*type == normalize::source_type::ecs) {
    // Already ECS JSON: decode it directly.
    for (const auto& r : in.records) {
      auto ev = json_->decode(r.bytes);
      if (!ev) {
        dead("json_syntax", ev.error().reason, ev.error().offset, r.bytes);
        continue;
      }
      emit(*ev, r);
    }
  } else {
    // One stream reader per batch: a Zeek TSV header applies to the lines after it, and the
    // header of the batch's file (read earlier by its producer) comes with the batch, so any
    // replica normalizes any batch. The origin (a file name) may name a Zeek log's type; the
    // ingest time is when year-less syslog dates were received (their year's reference).
    normalize::stream_reader reader(*normalizer_, *type, normalize::context{in.origin, ingest_ns});
    for (const auto& line : in.header)
      (void)reader.next(line); // directives only: they yield no event
    for (const auto& r : in.records) {
      std::string_view line = r.bytes;
      while (!line.empty() && (line.back() == '\n' || line.back() == '\r'))
        line.remove_suffix(1);
      auto ev = reader.next(line);
      if (!ev) {
        const auto& e = ev.error();
        dead(std::string(normalize::to_string(e.code)), e.reason, e.offset, r.bytes);
        continue;
      }
      if (*ev) emit(**ev, r);
    }
  }
  out.batches = batches.finish();
  return out;
}

} // namespace chainwatch::normalizer
