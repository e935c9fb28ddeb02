#include "event_time.hpp"

#include <charconv>
#include <cmath>

namespace chainwatch::cli {

std::optional<time_format> parse_time_format(std::string_view w) {
  if (w == "auto") return time_format::automatic;
  if (w == "iso8601") return time_format::iso8601;
  if (w == "epoch_s") return time_format::epoch_s;
  if (w == "epoch_ms") return time_format::epoch_ms;
  if (w == "filetime") return time_format::filetime;
  return std::nullopt;
}

namespace {

std::optional<std::int64_t> from_number(double n, bool is_int, std::int64_t i, time_format f) {
  // Security events are not from before 1970, and nothing past 2262 fits in int64 ns: such a
  // number is a wrong field or a broken clock, not a time (1e300 once read as 1677).
  if (!std::isfinite(n) || n < 0 || n > 9.2e18) return std::nullopt;
  switch (f) {
  case time_format::epoch_s:
    return time::from_epoch_s(n);
  case time_format::epoch_ms:
    return time::from_epoch_ms(n);
  case time_format::filetime:
    return time::from_filetime(is_int ? i : static_cast<std::int64_t>(n));
  case time_format::iso8601:
    return std::nullopt;
  case time_format::automatic:
    break;
  }
  double a = n < 0 ? -n : n;
  if (a < 1e11) return time::from_epoch_s(n);
  if (a < 1e14) return time::from_epoch_ms(n);
  if (a < 1e17) return is_int ? std::optional<std::int64_t>(i * 1000) : time::from_epoch_s(n / 1e6);
  if (a < 2e17) return time::from_filetime(is_int ? i : static_cast<std::int64_t>(n));
  return is_int ? std::optional<std::int64_t>(i)
                : std::optional<std::int64_t>(static_cast<std::int64_t>(n));
}

} // namespace

std::optional<std::int64_t> event_time(event::value_ref v, time_format f) {
  switch (v.type()) {
  case event::kind::integer:
    return from_number(static_cast<double>(v.as_int()), true, v.as_int(), f);
  case event::kind::real:
    return from_number(v.as_double(), false, 0, f);
  case event::kind::string: {
    auto s = v.as_string();
    if (f == time_format::iso8601 || f == time_format::automatic) {
      if (auto t = time::parse_iso8601(s)) return t;
      if (f == time_format::iso8601) return std::nullopt;
    }
    double d = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
    if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
    if (!std::isfinite(d) || d < 0 || d > 9.2e18) return std::nullopt;
    std::int64_t i = static_cast<std::int64_t>(d);
    return from_number(d, static_cast<double>(i) == d, i, f);
  }
  default:
    return std::nullopt;
  }
}

} // namespace chainwatch::cli
