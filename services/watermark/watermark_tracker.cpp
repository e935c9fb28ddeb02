#include "watermark_tracker.hpp"

#include <algorithm>
#include <chainwatch/wire/messages.hpp>

namespace chainwatch::watermark {

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

} // namespace

std::optional<std::int64_t> parse_duration(std::string_view text) {
  text = trim(text);
  std::size_t i = 0;
  double value = 0;
  bool digits = false;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    value = value * 10 + (text[i++] - '0');
    digits = true;
  }
  if (i < text.size() && text[i] == '.') {
    double scale = 0.1;
    for (++i; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, scale /= 10)
      value += (text[i] - '0') * scale;
  }
  if (!digits) return std::nullopt;
  auto unit = text.substr(i);
  double mul = 1e9;
  if (unit == "ns")
    mul = 1;
  else if (unit == "us")
    mul = 1e3;
  else if (unit == "ms")
    mul = 1e6;
  else if (unit == "s" || unit.empty())
    mul = 1e9;
  else if (unit == "m")
    mul = 60e9;
  else if (unit == "h")
    mul = 3600e9;
  else
    return std::nullopt;
  return static_cast<std::int64_t>(value * mul);
}

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
    if (eq != std::string_view::npos) d = parse_duration(item.substr(eq + 1));
    if (!d || trim(item.substr(0, eq)).empty()) {
      if (error) *error = "bad lateness override '" + std::string(item) + "' (want source=5s)";
      return std::nullopt;
    }
    out[std::string(trim(item.substr(0, eq)))] = *d;
  }
  return out;
}

std::int64_t lateness_policy::of(const std::string& customer, const std::string& source) const {
  if (auto it = overrides.find(customer + "/" + source); it != overrides.end()) return it->second;
  if (auto it = overrides.find(source); it != overrides.end()) return it->second;
  return default_ns;
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

std::optional<std::int64_t> watermark_tracker::advance(const std::string& customer,
                                                       std::int64_t now_ns) {
  auto it = sources_.find(customer);
  if (it == sources_.end() || it->second.empty()) return std::nullopt;
  std::int64_t active_min = end_of_time;
  bool any_active = false;
  bool all_eof = true;
  std::int64_t idle_max = no_watermark;
  std::int64_t last_seen = 0;
  for (const auto& [name, s] : it->second) {
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
  std::int64_t candidate;
  if (all_eof)
    candidate = end_of_time;
  else if (any_active)
    candidate = active_min;
  else
    candidate = sat_add(idle_max, now_ns - last_seen);
  auto& wm = watermarks_.try_emplace(customer, no_watermark).first->second;
  if (candidate <= wm) return std::nullopt;
  wm = candidate;
  return wm;
}

std::vector<std::pair<std::string, std::int64_t>> watermark_tracker::tick(std::int64_t now_ns) {
  std::vector<std::pair<std::string, std::int64_t>> out;
  for (const auto& [customer, srcs] : sources_)
    if (auto wm = advance(customer, now_ns)) out.emplace_back(customer, *wm);
  return out;
}

std::int64_t watermark_tracker::watermark(const std::string& customer) const {
  auto it = watermarks_.find(customer);
  return it == watermarks_.end() ? no_watermark : it->second;
}

std::string watermark_tracker::snapshot() const {
  wire::watermark_checkpoint c;
  for (const auto& [customer, sources] : sources_)
    for (const auto& [source, s] : sources)
      c.sources.push_back({customer, source, s.max_event_ns, s.last_seen_ns, s.lateness_ns, s.eof});
  for (const auto& [customer, wm] : watermarks_)
    c.watermarks.push_back({customer, wm});
  return wire::encode(c);
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

bool watermark_tracker::restore(std::string_view bytes) {
  auto c = wire::decode_watermark_checkpoint(bytes);
  if (!c) return false;
  std::map<std::string, std::map<std::string, source_state>> sources;
  std::map<std::string, std::int64_t> watermarks;
  for (const auto& s : c->sources)
    sources[s.customer][s.source] = {s.max_event_ns, s.last_seen_ns, s.lateness_ns, s.eof};
  for (const auto& w : c->watermarks)
    watermarks[w.customer] = w.watermark_ns;
  sources_ = std::move(sources);
  watermarks_ = std::move(watermarks);
  return true;
}

} // namespace chainwatch::watermark
