#include "merged_inputs.hpp"

#include <chainwatch/base/time.hpp>

namespace chainwatch::cli {

merged_inputs::merged_inputs(std::vector<record_reader> files, options o, reports r)
    : opts_(std::move(o)), reports_(std::move(r)), ts_path_(opts_.timestamp_field),
      tracker_({.default_ns = opts_.lateness_ns, .overrides = {}},
               engine::end_of_time) { // no wall clock: never idle
  for (auto& f : files)
    sources_.push_back({.reader = std::move(f),
                        .name = std::to_string(sources_.size()),
                        .window = {},
                        .next = 0,
                        .decided = std::size_t(-1),
                        .ended = false,
                        .observed = engine::no_watermark});
}

void merged_inputs::fill(source& s) {
  while (s.window.size() < s.next + neighbours + 1) {
    auto r = s.reader.next();
    if (!r) {
      if (!s.reader.error().empty()) reports_.read_error(s.reader.error());
      return;
    }
    if (!r->error.empty()) {
      reports_.malformed(*r, r->error);
      continue;
    }
    auto ts = event_time(r->ev->get(ts_path_), opts_.format);
    if (!ts) {
      reports_.malformed(*r, "no valid timestamp in '" + opts_.timestamp_field + "'");
      continue;
    }
    s.window.push_back({std::move(*r), *ts});
  }
}

timed_record* merged_inputs::head(source& s) {
  for (;;) {
    if (s.next >= s.window.size()) return nullptr;
    auto& it = s.window[s.next];
    if (s.decided == s.next) return &it;
    if (!opts_.arrival) {
      std::int64_t before[neighbours], after[neighbours];
      std::size_t nb = 0, na = 0;
      for (std::size_t i = s.next > neighbours ? s.next - neighbours : 0; i < s.next; ++i)
        before[nb++] = s.window[i].ts;
      for (std::size_t i = s.next + 1; i < s.window.size() && na < neighbours; ++i)
        after[na++] = s.window[i].ts;
      if (engine::skewed_among({before, nb}, it.ts, {after, na}, opts_.max_future_ns)) {
        reports_.skewed(it, nb > 0 ? before[nb - 1] : after[0]);
        s.window.erase(s.window.begin() + static_cast<std::ptrdiff_t>(s.next));
        fill(s);
        continue;
      }
      // The file has reached this time. The tracker hears of it a second of event time at a
      // time, as the engine advances (a watermark up to a second behind is the conservative
      // side: fewer late events, never an earlier decision).
      if (s.observed == engine::no_watermark || it.ts >= s.observed + time::ns_per_s) {
        tracker_.observe("", s.name, it.ts, 0);
        s.observed = it.ts;
        moved_ = true;
      }
    }
    s.decided = s.next;
    return &it;
  }
}

std::optional<timed_record> merged_inputs::next() {
  source* pick = nullptr;
  timed_record* best = nullptr;
  for (auto& s : sources_) {
    if (s.ended) continue;
    fill(s);
    auto* h = head(s);
    if (!h) {
      s.ended = true;
      if (!opts_.arrival) {
        tracker_.eof("", s.name, 0);
        moved_ = true;
      }
      continue;
    }
    if (!best || (!opts_.arrival && h->ts < best->ts)) {
      pick = &s;
      best = h;
    }
    if (opts_.arrival) break; // one file after another
  }
  if (!pick) return std::nullopt;
  timed_record out = std::move(*best);
  ++pick->next;
  pick->decided = std::size_t(-1);
  while (pick->next > neighbours) { // keep the neighbours the guard looks back at
    pick->window.pop_front();
    --pick->next;
  }
  return out;
}

std::optional<std::int64_t> merged_inputs::advance() {
  if (opts_.arrival || !moved_) return std::nullopt;
  moved_ = false;
  auto u = tracker_.advance("", 0);
  if (!u || u->watermark_ns == engine::end_of_time) return std::nullopt;
  if (advanced_ != engine::no_watermark && u->watermark_ns < advanced_ + time::ns_per_s)
    return std::nullopt;
  advanced_ = u->watermark_ns;
  return advanced_;
}

} // namespace chainwatch::cli
