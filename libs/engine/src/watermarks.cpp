#include <algorithm>
#include <chainwatch/base/time.hpp>
#include <chainwatch/engine/watermarks.hpp>

namespace chainwatch::engine {

namespace {

std::int64_t sat_sub(std::int64_t a, std::int64_t b) {
  if (a == no_watermark) return no_watermark;
  if (b > 0 && a < no_watermark + b) return no_watermark;
  return a - b;
}

std::int64_t sat_add(std::int64_t a, std::int64_t b) {
  if (a == no_watermark) return no_watermark;
  if (b > 0 && a > end_of_time - b) return end_of_time - 1;
  return a + b;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ')
    s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ')
    s.remove_suffix(1);
  return s;
}

// The median of a few times (the lower middle one of an even count).
std::int64_t median(std::span<const std::int64_t> times) {
  std::int64_t buf[64];
  const std::size_t n = std::min<std::size_t>(times.size(), 64);
  std::copy_n(times.begin(), n, buf);
  std::nth_element(buf, buf + (n - 1) / 2, buf + n);
  return buf[(n - 1) / 2];
}

} // namespace

std::optional<std::map<std::string, std::int64_t, std::less<>>>
parse_overrides(std::string_view text, std::string* error) {
  std::map<std::string, std::int64_t, std::less<>> out;
  while (!trim(text).empty()) {
    auto comma = text.find(',');
    auto item = trim(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    if (item.empty()) continue;
    auto eq = item.find('=');
    std::optional<std::int64_t> d;
    if (eq != std::string_view::npos) d = time::parse_duration(trim(item.substr(eq + 1)));
    if (!d || trim(item.substr(0, eq)).empty()) {
      if (error) *error = "bad override '" + std::string(item) + "' (want source=5s)";
      return std::nullopt;
    }
    out[std::string(trim(item.substr(0, eq)))] = *d;
  }
  return out;
}

std::int64_t source_durations::of(const std::string& customer, const std::string& source) const {
  if (overrides.empty()) return default_ns;
  if (auto it = overrides.find(customer + "/" + source); it != overrides.end()) return it->second;
  if (auto it = overrides.find(source); it != overrides.end()) return it->second;
  return default_ns;
}

bool skewed_among(std::span<const std::int64_t> before, std::int64_t event_ns,
                  std::span<const std::int64_t> after, std::int64_t max_future_ns) {
  if (after.empty()) return false;
  // Nearly every event is within max_future of its neighbours: the least of those after it
  // says so without a median (the median is not below it).
  if (!skewed(event_ns, *std::min_element(after.begin(), after.end()), max_future_ns)) return false;
  if (!skewed(event_ns, median(after), max_future_ns)) return false;
  return before.empty() || skewed(event_ns, median(before), max_future_ns);
}

void watermark_tracker::observe(const std::string& customer, const std::string& source,
                                std::int64_t event_ns, std::int64_t now_ns) {
  auto& sources = sources_[customer];
  // Input after the customer's end of input (every source at EOF, watermark +inf) starts a new
  // run, as a second `chainwatch hunt` would (the matchers start a new engine too): the
  // watermark and every source's max event time restart; the other sources stay at EOF until
  // they send again.
  if (auto w = watermarks_.find(customer); w != watermarks_.end() && w->second == end_of_time) {
    w->second = no_watermark;
    for (auto& [name, src] : sources)
      src.max_event_ns = no_watermark;
  }
  auto& s = sources[source];
  if (s.last_seen_ns == 0) s.lateness_ns = lateness_.of(customer, source);
  s.max_event_ns = std::max(s.max_event_ns, event_ns);
  s.last_seen_ns = now_ns;
  s.eof = false;
}

void watermark_tracker::eof(const std::string& customer, const std::string& source,
                            std::int64_t now_ns) {
  auto& s = sources_[customer][source];
  if (s.last_seen_ns == 0) s.lateness_ns = lateness_.of(customer, source);
  s.last_seen_ns = now_ns;
  s.eof = true;
}

bool watermark_tracker::idle(const source_state& s, std::int64_t now_ns) const noexcept {
  return !s.eof && now_ns - s.last_seen_ns >= idle_timeout_ns_;
}

std::optional<watermark_update> watermark_tracker::advance(const std::string& customer,
                                                           std::int64_t now_ns) {
  auto it = sources_.find(customer);
  if (it == sources_.end() || it->second.empty()) return std::nullopt;
  std::int64_t active_min = end_of_time;
  bool any_active = false;
  bool all_eof = true;
  std::int64_t idle_max = no_watermark;
  std::int64_t last_seen = 0;
  std::int64_t max_event = no_watermark;
  for (const auto& [name, s] : it->second) {
    max_event = std::max(max_event, s.max_event_ns);
    if (s.eof) continue;
    all_eof = false;
    auto wm = sat_sub(s.max_event_ns, s.lateness_ns);
    if (!idle(s, now_ns)) {
      any_active = true;
      active_min = std::min(active_min, wm);
    } else {
      idle_max = std::max(idle_max, wm);
      last_seen = std::max(last_seen, s.last_seen_ns);
    }
  }
  watermark_update u;
  if (all_eof) {
    u.watermark_ns = end_of_time;
    u.horizon_ns = max_event;
  } else if (any_active) {
    u.watermark_ns = active_min;
  } else {
    u.watermark_ns = sat_add(idle_max, now_ns - last_seen);
    u.idle = true;
  }
  auto& wm = watermarks_.try_emplace(customer, no_watermark).first->second;
  if (u.watermark_ns <= wm) return std::nullopt;
  wm = u.watermark_ns;
  return u;
}

std::vector<std::pair<std::string, watermark_update>> watermark_tracker::tick(std::int64_t now_ns) {
  std::vector<std::pair<std::string, watermark_update>> out;
  for (const auto& [customer, srcs] : sources_)
    if (auto u = advance(customer, now_ns)) out.emplace_back(customer, *u);
  return out;
}

std::int64_t watermark_tracker::watermark(const std::string& customer) const {
  auto it = watermarks_.find(customer);
  return it == watermarks_.end() ? no_watermark : it->second;
}

watermark_tracker::saved_customer watermark_tracker::save(const std::string& customer) const {
  saved_customer out;
  if (auto it = sources_.find(customer); it != sources_.end()) out.sources = it->second;
  if (auto it = watermarks_.find(customer); it != watermarks_.end()) out.watermark = it->second;
  return out;
}

void watermark_tracker::put_back(const std::string& customer, saved_customer saved) {
  if (saved.sources)
    sources_[customer] = std::move(*saved.sources);
  else
    sources_.erase(customer);
  if (saved.watermark)
    watermarks_[customer] = *saved.watermark;
  else
    watermarks_.erase(customer);
}

void watermark_tracker::assign(source_map sources, std::map<std::string, std::int64_t> watermarks) {
  sources_ = std::move(sources);
  watermarks_ = std::move(watermarks);
}

} // namespace chainwatch::engine
