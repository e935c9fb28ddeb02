#include "commands.hpp"
#include "event_time.hpp"
#include "merged_inputs.hpp"
#include "normalize_input.hpp"
#include "records.hpp"
#include "rule_loading.hpp"

#include <cerrno>
#include <chainwatch/base/time.hpp>
#include <chainwatch/engine/engine.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
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

/// Set-aside events (--late): one NDJSON line each, with where it came from and why.
class side_output {
public:
  explicit side_output(std::FILE* f) : f_(f) {}
  void write(const record& r, const event::event& ev, std::int64_t ts, const char* reason,
             std::int64_t reference_ns) {
    if (!f_) return;
    line_.clear();
    line_ += "{\"reason\":\"";
    line_ += reason;
    line_ += "\",\"file\":";
    event::append_json_string(line_, *r.file);
    line_ += ",\"line\":" + std::to_string(r.line) + ",\"event_time\":\"" +
             time::format_iso8601(ts) + "\",\"" +
             (std::string_view(reason) == "late" ? "watermark" : "reference") + "\":\"" +
             time::format_iso8601(reference_ns) + "\",\"event\":";
    event::append_json(line_, ev.root());
    line_ += "}\n";
    std::fwrite(line_.data(), 1, line_.size(), f_);
  }

private:
  std::FILE* f_;
  std::string line_;
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
  auto max_future = time::parse_duration(o.max_future);
  if (!max_future) {
    std::cerr << "chainwatch hunt: invalid --max-future '" << o.max_future << "' (e.g. 5m, 1h)\n";
    return 2;
  }
  auto reference_ns = reference_time("hunt", o.reference_time);
  if (!reference_ns) {
    std::cerr << reference_ns.error() << "\n";
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

  std::unique_ptr<std::FILE, int (*)(std::FILE*)> late_file(nullptr, &std::fclose);
  if (!o.late_file.empty()) {
    late_file.reset(std::fopen(o.late_file.c_str(), "w"));
    if (!late_file) {
      std::cerr << "chainwatch hunt: --late " << o.late_file << ": " << std::strerror(errno)
                << "\n";
      return 2;
    }
  }
  side_output set_aside(late_file.get());

  std::string out;
  std::uint64_t matches = 0, undecided = 0;
  auto sink = [&](engine::match&& m) {
    if (m.undecided) {
      ++undecided;
      if (!o.undecided) return;
    } else {
      ++matches;
    }
    const auto& meta = rules[m.rule].meta;
    out.clear();
    out += m.undecided ? "{\"undecided\":true,\"rule\":" : "{\"rule\":";
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
    std::fwrite(out.data(), 1, out.size(), o.out);
  };
  engine::engine eng(*compiled, sink);

  std::optional<normalize::normalizer> norm;
  std::optional<normalize::source_type> source_type;
  if (!o.source.empty()) {
    source_type = normalize::parse_source_type(o.source);
    if (!source_type) {
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
  std::vector<record_reader> files;
  for (const auto& f : o.files) {
    auto r =
        norm ? record_reader::open(f, *norm, *source_type, *reference_ns) : record_reader::open(f);
    if (!r) {
      std::cerr << "chainwatch hunt: " << r.error() << "\n";
      status = 1;
      continue;
    }
    files.push_back(std::move(*r));
  }

  // Each file is a source with its own watermark, read side by side by event time (see
  // merged_inputs.hpp); the engine follows the lowest watermark of the files still being read.
  progress bar{o.progress};
  std::uint64_t events = 0, malformed = 0, late = 0, skewed = 0;
  merged_inputs inputs(std::move(files),
                       {.timestamp_field = o.timestamp_field,
                        .format = *fmt,
                        .lateness_ns = *lateness,
                        .max_future_ns = *max_future,
                        .arrival = eo.ordering == engine::options::order::arrival},
                       {.malformed =
                            [&](const record& r, const std::string& why) {
                              ++malformed;
                              std::cerr << "\r\033[K" << *r.file << ":" << r.line << ": " << why
                                        << " (skipped)\n";
                            },
                        .skewed =
                            [&](const timed_record& t, std::int64_t reference_ns) {
                              ++skewed;
                              set_aside.write(t.rec, *t.rec.ev, t.ts, "skew", reference_ns);
                            },
                        .read_error =
                            [&](const std::string& error) {
                              std::cerr << "chainwatch hunt: " << error << "\n";
                              status = 1;
                            }});
  std::int64_t horizon = engine::no_watermark; // the latest event time taken
  while (auto t = inputs.next()) {
    ++events;
    event::event_ptr kept = late_file ? t->rec.ev : nullptr;
    if (eng.push(std::move(t->rec.ev), t->ts) == engine::push_result::late) {
      ++late;
      if (kept) set_aside.write(t->rec, *kept, t->ts, "late", eng.watermark());
    } else {
      horizon = std::max(horizon, t->ts);
      if (auto wm = inputs.advance()) eng.advance(*wm);
    }
    bar.tick(events, matches);
  }
  // End of input: what the last events decide is decided; a missing step's window that reaches
  // past the latest event time stays undecided (no event says it stayed missing).
  eng.finish(horizon);
  std::fflush(o.out);
  bar.done();
  double secs = bar.seconds();
  if (o.summary)
    std::fprintf(
        stderr,
        "hunt: %llu events, %llu matches, %llu malformed, %llu late (behind --lateness %s), "
        "%llu skewed (over --max-future %s ahead), %llu undecided absences, "
        "%llu sequences dropped at the pending cap, %llu suppressed, %.2fs (%.0f events/s)\n",
        static_cast<unsigned long long>(events), static_cast<unsigned long long>(matches),
        static_cast<unsigned long long>(malformed), static_cast<unsigned long long>(late),
        o.lateness.c_str(), static_cast<unsigned long long>(skewed), o.max_future.c_str(),
        static_cast<unsigned long long>(undecided),
        static_cast<unsigned long long>(eng.stats().overflow),
        static_cast<unsigned long long>(eng.stats().suppressed), secs,
        events / (secs > 0 ? secs : 1));
  return status;
}

} // namespace chainwatch::cli
