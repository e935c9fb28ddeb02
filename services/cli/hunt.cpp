#include "commands.hpp"
#include "event_time.hpp"
#include "normalize_input.hpp"
#include "records.hpp"
#include "rule_loading.hpp"

#include <cerrno>
#include <chainwatch/base/time.hpp>
#include <chainwatch/engine/engine.hpp>
#include <chainwatch/engine/watermarks.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
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

/// How many events on each side of an event the skew guard weighs, in the event's own file.
constexpr std::size_t skew_neighbours = 8;

/// One input file: a source with a watermark of its own (as a cw.events subject in the mesh),
/// read a few records ahead for the skew guard.
struct source {
  record_reader reader;
  std::string name; ///< the tracker's name for it: its position (a file may be given twice)
  struct item {
    record rec;
    std::int64_t ts;
  };
  std::deque<item> window;               ///< [0, next) taken, [next, end) read ahead
  std::size_t next = 0;                  ///< the next record to take
  std::size_t decided = std::size_t(-1); ///< `next` when the skew guard passed it
  bool exhausted = false;                ///< the reader is at its end
  bool ended = false;                    ///< and its end of input was counted
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
  std::int64_t reference_ns = 0;
  if (!o.reference_time.empty()) {
    auto t = time::parse_iso8601(o.reference_time);
    if (!t) {
      std::cerr << "chainwatch hunt: --reference-time wants an ISO 8601 time, not '"
                << o.reference_time << "'\n";
      return 2;
    }
    reference_ns = *t;
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
    std::fwrite(out.data(), 1, out.size(), stdout);
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
  std::vector<source> sources;
  for (const auto& f : o.files) {
    auto r =
        norm ? record_reader::open(f, *norm, *source_type, reference_ns) : record_reader::open(f);
    if (!r) {
      std::cerr << "chainwatch hunt: " << r.error() << "\n";
      status = 1;
      continue;
    }
    sources.push_back({std::move(*r), std::to_string(sources.size())});
  }

  // Event time across files: each file is a source with its own watermark (its latest event
  // time less the lateness) and the engine follows the lowest of those of the files still being
  // read, as the mesh's watermark service does for its sources. Files are read side by side,
  // always taking the record with the earliest time among their next ones, so files covering
  // the same hour interleave (memory is bounded by the lateness, not by the files' sizes).
  // --order arrival reads the files one after another, as given.
  const bool arrival = eo.ordering == engine::options::order::arrival;
  const event::field_path ts_path{o.timestamp_field};
  engine::watermark_tracker tracker({.default_ns = *lateness, .overrides = {}},
                                    engine::end_of_time); // no wall clock: never idle
  progress bar{o.progress};
  std::uint64_t events = 0, malformed = 0, late = 0, skewed = 0;
  std::int64_t advanced = engine::no_watermark; // the watermark the engine has
  std::int64_t horizon = engine::no_watermark;  // the latest event time taken

  auto advance = [&] {
    auto u = tracker.advance("", 0);
    // Steps of at least a second of event time: the engine's work per watermark is
    // proportional to the keys it wakes, not to the calls.
    if (u && u->watermark_ns != engine::end_of_time &&
        (advanced == engine::no_watermark || u->watermark_ns >= advanced + time::ns_per_s)) {
      advanced = u->watermark_ns;
      eng.advance(advanced);
    }
  };
  auto fill = [&](source& s) {
    while (!s.exhausted && s.window.size() < s.next + skew_neighbours + 1) {
      auto r = s.reader.next();
      if (!r) {
        s.exhausted = true;
        if (!s.reader.error().empty()) {
          std::cerr << "chainwatch hunt: " << s.reader.error() << "\n";
          status = 1;
        }
        break;
      }
      if (!r->error.empty()) {
        ++malformed;
        std::cerr << "\r\033[K" << *r->file << ":" << r->line << ": " << r->error << " (skipped)\n";
        continue;
      }
      auto ts = event_time(r->ev->get(ts_path), *fmt);
      if (!ts) {
        ++malformed;
        std::cerr << *r->file << ":" << r->line << ": no valid timestamp in '" << o.timestamp_field
                  << "' (skipped)\n";
        continue;
      }
      s.window.push_back({std::move(*r), *ts});
    }
  };
  // The next record of `s` that the skew guard lets through, or null at its end. An event far
  // ahead of its neighbours in its file is set aside (it would move the watermark and make the
  // events after it late); see engine::skewed_among.
  auto head = [&](source& s) -> source::item* {
    for (;;) {
      fill(s);
      if (s.next >= s.window.size()) return nullptr;
      auto& it = s.window[s.next];
      if (s.decided == s.next) return &it;
      if (!arrival) {
        std::int64_t before[skew_neighbours], after[skew_neighbours];
        std::size_t nb = 0, na = 0;
        for (std::size_t i = s.next > skew_neighbours ? s.next - skew_neighbours : 0; i < s.next;
             ++i)
          before[nb++] = s.window[i].ts;
        for (std::size_t i = s.next + 1; i < s.window.size() && na < skew_neighbours; ++i)
          after[na++] = s.window[i].ts;
        if (engine::skewed_among({before, nb}, it.ts, {after, na}, *max_future)) {
          ++skewed;
          set_aside.write(it.rec, *it.rec.ev, it.ts, "skew", nb > 0 ? before[nb - 1] : after[0]);
          s.window.erase(s.window.begin() + static_cast<std::ptrdiff_t>(s.next));
          continue;
        }
        tracker.observe("", s.name, it.ts, 0); // the file has reached this time
      }
      s.decided = s.next;
      return &it;
    }
  };

  for (;;) {
    source* pick = nullptr;
    source::item* best = nullptr;
    for (auto& s : sources) {
      if (s.ended) continue;
      auto* h = head(s);
      if (!h) {
        s.ended = true;
        if (!arrival) {
          tracker.eof("", s.name, 0);
          advance();
        }
        continue;
      }
      if (!best || (!arrival && h->ts < best->ts)) {
        pick = &s;
        best = h;
      }
      if (arrival) break; // one file after another
    }
    if (!pick) break;
    record rec = std::move(best->rec);
    const std::int64_t ts = best->ts;
    ++pick->next;
    pick->decided = std::size_t(-1);
    while (pick->next > skew_neighbours) { // keep the neighbours the guard looks back at
      pick->window.pop_front();
      --pick->next;
    }
    ++events;
    event::event_ptr kept = late_file ? rec.ev : nullptr;
    if (eng.push(std::move(rec.ev), ts) == engine::push_result::late) {
      ++late;
      if (kept) set_aside.write(rec, *kept, ts, "late", eng.watermark());
    } else {
      horizon = std::max(horizon, ts);
      if (!arrival) advance();
    }
    bar.tick(events, matches);
  }
  // End of input: what the last events decide is decided; a missing step's window that reaches
  // past the latest event time stays undecided (no event says it stayed missing).
  eng.finish(horizon);
  std::fflush(stdout);
  bar.done();
  double secs = bar.seconds();
  std::fprintf(stderr,
               "hunt: %llu events, %llu matches, %llu malformed, %llu late (behind --lateness %s), "
               "%llu skewed (over --max-future %s ahead), %llu undecided absences, "
               "%llu sequences dropped at the pending cap, %.2fs (%.0f events/s)\n",
               static_cast<unsigned long long>(events), static_cast<unsigned long long>(matches),
               static_cast<unsigned long long>(malformed), static_cast<unsigned long long>(late),
               o.lateness.c_str(), static_cast<unsigned long long>(skewed), o.max_future.c_str(),
               static_cast<unsigned long long>(undecided),
               static_cast<unsigned long long>(eng.stats().overflow), secs,
               events / (secs > 0 ? secs : 1));
  return status;
}

} // namespace chainwatch::cli
