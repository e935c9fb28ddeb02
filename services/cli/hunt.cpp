#include "commands.hpp"
#include "event_time.hpp"
#include "input.hpp"
#include "normalize_input.hpp"
#include "rule_loading.hpp"

#include <chainwatch/base/time.hpp>
#include <chainwatch/engine/engine.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <optional>
#include <unistd.h>

namespace chainwatch::cli {

namespace {

using clock = std::chrono::steady_clock;

/// A one-line progress display on stderr, only when it is a terminal.
class progress {
public:
  explicit progress(bool enabled) : enabled_(enabled && isatty(2)), start_(clock::now()) {}

  void tick(std::uint64_t events, std::uint64_t matches) {
    if (!enabled_ || (events & 0x3fff) != 0) return;
    auto now = clock::now();
    if (now - last_ < std::chrono::milliseconds(250)) return;
    last_ = now;
    double secs = std::chrono::duration<double>(now - start_).count();
    std::fprintf(stderr, "\r\033[K%llu events  %.0f events/s  %llu matches",
                 static_cast<unsigned long long>(events), events / (secs > 0 ? secs : 1),
                 static_cast<unsigned long long>(matches));
  }
  void done() {
    if (enabled_) std::fputs("\r\033[K", stderr);
  }
  double seconds() const { return std::chrono::duration<double>(clock::now() - start_).count(); }

private:
  bool enabled_;
  clock::time_point start_;
  clock::time_point last_{};
};

} // namespace

int run_hunt(const hunt_options& o) {
  auto fmt = parse_time_format(o.timestamp_format);
  if (!fmt) {
    std::cerr << "chainwatch hunt: unknown --timestamp-format '" << o.timestamp_format
              << "' (auto, iso8601, epoch_s, epoch_ms, filetime)\n";
    return 2;
  }
  auto lateness = time::parse_duration(o.lateness);
  if (!lateness) {
    std::cerr << "chainwatch hunt: invalid --lateness '" << o.lateness << "' (e.g. 30s, 5m)\n";
    return 2;
  }
  if (o.order != "time" && o.order != "arrival") {
    std::cerr << "chainwatch hunt: --order must be time or arrival\n";
    return 2;
  }
  if (o.queries.empty() && o.rule_paths.empty()) {
    std::cerr << "chainwatch hunt: give at least one --query or --rules\n";
    return 2;
  }

  std::vector<std::string> errors, skipped;
  auto rules = load_rules(o.rule_paths, o.queries, errors, skipped);
  eql::list_registry lists;
  load_lists(o.list_dirs.empty() ? default_list_dirs() : o.list_dirs, lists, errors);
  for (const auto& s : skipped)
    std::cerr << s << "\n";

  engine::options eo;
  eo.category_field = o.event_type_field;
  eo.case_sensitive = o.case_sensitive;
  eo.ordering = o.order == "time" ? engine::options::order::time : engine::options::order::arrival;
  eo.max_pending_per_key = o.max_pending;
  eo.lists = &lists;
  auto compiled = compile_loaded(rules, eo);
  if (!compiled) errors.push_back(compiled.error());
  if (!errors.empty()) {
    for (const auto& e : errors)
      std::cerr << e << "\n";
    return 2;
  }

  std::string out;
  std::uint64_t matches = 0;
  auto sink = [&](engine::match&& m) {
    ++matches;
    const auto& meta = rules[m.rule].meta;
    out.clear();
    out += "{\"rule\":";
    event::append_json_string(out, meta.rule_id);
    out += ",\"name\":";
    event::append_json_string(out, meta.name);
    if (!meta.severity.empty()) {
      out += ",\"severity\":";
      event::append_json_string(out, meta.severity);
    }
    out += ",\"key\":";
    out += m.key.empty() ? "[]" : m.key;
    out += ",\"first\":\"" + time::format_iso8601(m.first_ns) + "\",\"last\":\"" +
           time::format_iso8601(m.last_ns) + "\",\"events\":[";
    for (std::size_t i = 0; i < m.events.size(); ++i) {
      if (i) out += ',';
      if (m.events[i])
        event::append_json(out, m.events[i]->root());
      else
        out += "null";
    }
    out += "]}\n";
    std::fwrite(out.data(), 1, out.size(), stdout);
  };
  engine::engine eng(*compiled, sink);

  event::json_decoder decoder;
  event::field_path ts_path{o.timestamp_field};
  progress bar{o.progress};
  std::uint64_t events = 0, malformed = 0, late = 0;
  std::int64_t max_ts = INT64_MIN;
  std::int64_t watermark = INT64_MIN;
  bool arrival = eo.ordering == engine::options::order::arrival;

  auto on_record = [&](record&& r) {
    if (!r.error.empty()) {
      ++malformed;
      std::cerr << "\r\033[K" << *r.file << ":" << r.line << ": " << r.error << " (skipped)\n";
      return;
    }
    auto ts = event_time(r.ev->get(ts_path), *fmt);
    if (!ts) {
      ++malformed;
      std::cerr << *r.file << ":" << r.line << ": no valid timestamp in '" << o.timestamp_field
                << "' (skipped)\n";
      return;
    }
    ++events;
    if (eng.push(std::move(r.ev), *ts) == engine::push_result::late) {
      ++late;
    } else if (!arrival && *ts > max_ts) {
      max_ts = *ts;
      // Advance in steps of at least a second of event time: the engine's work per
      // watermark is proportional to the keys it wakes, not to the calls.
      std::int64_t wm = max_ts - *lateness;
      if (wm >= watermark + time::ns_per_s) {
        watermark = wm;
        eng.advance(wm);
      }
    }
    bar.tick(events, matches);
  };

  std::optional<normalize::normalizer> norm;
  std::optional<normalize::source_type> source;
  if (!o.source.empty()) {
    source = normalize::parse_source_type(o.source);
    if (!source) {
      std::cerr << "chainwatch hunt: unknown --source '" << o.source
                << "' (see `chainwatch sources`)\n";
      return 2;
    }
    auto n = load_normalizer(o.source_dirs.empty() ? default_source_dirs() : o.source_dirs);
    if (!n) {
      std::cerr << "chainwatch hunt: " << n.error() << "\n";
      return 2;
    }
    norm.emplace(std::move(*n));
  }

  int status = 0;
  for (const auto& f : o.files) {
    auto e =
        norm ? read_normalized(f, *norm, *source, on_record) : read_events(f, decoder, on_record);
    if (!e.empty()) {
      std::cerr << "chainwatch hunt: " << e << "\n";
      status = 1;
    }
  }
  eng.finish();
  std::fflush(stdout);
  bar.done();
  double secs = bar.seconds();
  std::fprintf(stderr,
               "hunt: %llu events, %llu matches, %llu malformed, %llu late (behind --lateness %s), "
               "%llu sequences dropped at the pending cap, %.2fs (%.0f events/s)\n",
               static_cast<unsigned long long>(events), static_cast<unsigned long long>(matches),
               static_cast<unsigned long long>(malformed), static_cast<unsigned long long>(late),
               o.lateness.c_str(), static_cast<unsigned long long>(eng.stats().overflow), secs,
               events / (secs > 0 ? secs : 1));
  return status;
}

} // namespace chainwatch::cli
