#include <array>
#include <chainwatch/base/time.hpp>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>

namespace chainwatch::time {

std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
  // Howard Hinnant's algorithm.
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

namespace {

std::optional<std::int64_t> checked_scale(double v, double scale) {
  double r = v * scale;
  if (!std::isfinite(r) || r > 9.2e18 || r < -9.2e18) return std::nullopt;
  return static_cast<std::int64_t>(std::llround(r));
}

struct civil {
  std::int64_t y;
  unsigned m, d;
};

constexpr civil civil_from_days(std::int64_t z) noexcept {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp + (mp < 10 ? 3 : -9);
  return {y + (m <= 2), m, d};
}

// Reads exactly `n` digits at `pos`.
bool digits(std::string_view s, std::size_t& pos, std::size_t n, int& out) noexcept {
  if (pos + n > s.size()) {
    return false;
  }
  int v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const char c = s[pos + i];
    if (c < '0' || c > '9') {
      return false;
    }
    v = v * 10 + (c - '0');
  }
  pos += n;
  out = v;
  return true;
}

// Reads 1..max digits.
bool some_digits(std::string_view s, std::size_t& pos, std::size_t max, int& out) noexcept {
  std::size_t n = 0;
  int v = 0;
  while (pos < s.size() && n < max && s[pos] >= '0' && s[pos] <= '9') {
    v = v * 10 + (s[pos] - '0');
    ++pos;
    ++n;
  }
  out = v;
  return n > 0;
}

// Fraction digits after the separator, scaled to nanoseconds (extra digits ignored).
std::int64_t fraction_ns(std::string_view s, std::size_t& pos) noexcept {
  std::int64_t v = 0;
  int n = 0;
  while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
    if (n < 9) {
      v = v * 10 + (s[pos] - '0');
      ++n;
    }
    ++pos;
  }
  while (n++ < 9) {
    v *= 10;
  }
  return v;
}

int month_from_name(std::string_view s) noexcept {
  static constexpr std::array<std::string_view, 12> names = {
      "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"};
  if (s.size() < 3) {
    return 0;
  }
  char low[3];
  for (int i = 0; i < 3; ++i) {
    low[i] = static_cast<char>(s[i] | 0x20);
  }
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (std::string_view{low, 3} == names[i]) {
      return static_cast<int>(i) + 1;
    }
  }
  return 0;
}

// Parses `Z`, `+hh:mm`, `+hhmm`, `+hh`; returns false when malformed.
bool zone(std::string_view s, std::size_t& pos, std::int32_t& offset_s, bool& has_zone) noexcept {
  if (pos >= s.size()) {
    return true;
  }
  if (s[pos] == 'Z' || s[pos] == 'z') {
    ++pos;
    offset_s = 0;
    has_zone = true;
    return true;
  }
  if (s[pos] != '+' && s[pos] != '-') {
    return true;
  }
  const int sign = s[pos] == '-' ? -1 : 1;
  ++pos;
  int hh = 0, mm = 0;
  if (!digits(s, pos, 2, hh)) {
    return false;
  }
  if (pos < s.size() && s[pos] == ':') {
    ++pos;
  }
  if (pos < s.size()) {
    digits(s, pos, 2, mm);
  }
  offset_s = sign * (hh * 3600 + mm * 60);
  has_zone = true;
  return true;
}

bool valid(int mo, int d, int h, int mi, int sec) noexcept {
  return mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h >= 0 && h <= 24 && mi >= 0 && mi <= 59 &&
         sec >= 0 && sec <= 60;
}

// Nanoseconds since the epoch, or nullopt outside the int64 range (years 1678..2261).
std::optional<std::int64_t> combine(std::int64_t y, int mo, int d, int h, int mi, int sec,
                                    std::int64_t frac, std::int32_t offset_s) noexcept {
  if (y < 1678 || y > 2261) {
    return std::nullopt;
  }
  const std::int64_t days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  const std::int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - offset_s;
  if (secs <= INT64_MIN / ns_per_s + 1 || secs >= INT64_MAX / ns_per_s - 1) {
    return std::nullopt;
  }
  return secs * ns_per_s + frac;
}

std::optional<std::int64_t> epoch_impl(std::string_view s, std::int64_t unit_ns) noexcept {
  std::size_t pos = 0;
  bool neg = false;
  if (pos < s.size() && s[pos] == '-') {
    neg = true;
    ++pos;
  }
  std::int64_t whole = 0;
  std::size_t start = pos;
  while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
    // Overflow guard only; the range check against the unit follows. (This was 9e12, which
    // rejected every 16-digit microsecond epoch in `epoch_auto`.)
    if (whole > (INT64_MAX - 9) / 10) {
      return std::nullopt;
    }
    whole = whole * 10 + (s[pos] - '0');
    ++pos;
  }
  if (pos == start) {
    return std::nullopt;
  }
  std::int64_t frac = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    frac = fraction_ns(s, pos); // in units of 1e-9 of the unit
  }
  if (pos != s.size()) {
    return std::nullopt;
  }
  if (whole > INT64_MAX / unit_ns - 1) {
    return std::nullopt;
  }
  std::int64_t v = whole * unit_ns + frac / (ns_per_s / unit_ns);
  return neg ? -v : v;
}

std::optional<std::int64_t> iso_impl(std::string_view s, std::int32_t tz) noexcept {
  std::size_t pos = 0;
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (!digits(s, pos, 4, y) || pos >= s.size() || s[pos++] != '-' || !digits(s, pos, 2, mo) ||
      pos >= s.size() || s[pos++] != '-' || !digits(s, pos, 2, d)) {
    return std::nullopt;
  }
  std::int64_t frac = 0;
  if (pos < s.size() && (s[pos] == 'T' || s[pos] == 't' || s[pos] == ' ')) {
    ++pos;
    if (!digits(s, pos, 2, h) || pos >= s.size() || s[pos++] != ':' || !digits(s, pos, 2, mi)) {
      return std::nullopt;
    }
    if (pos < s.size() && s[pos] == ':') {
      ++pos;
      if (!digits(s, pos, 2, sec)) {
        return std::nullopt;
      }
    }
    if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
      ++pos;
      frac = fraction_ns(s, pos);
    }
  }
  bool has_zone = false;
  std::int32_t off = tz;
  while (pos < s.size() && s[pos] == ' ') {
    ++pos;
  }
  if (!zone(s, pos, off, has_zone) || pos != s.size() || !valid(mo, d, h, mi, sec)) {
    return std::nullopt;
  }
  return combine(y, mo, d, h, mi, sec, frac, off);
}

bool leap_year(std::int64_t y) noexcept {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

// The year a year-less date belongs to, read at `reference_ns` (see parse_syslog in time.hpp).
std::optional<std::int64_t> syslog_year(int mo, int d, int h, int mi, int sec, std::int64_t frac,
                                        std::int32_t tz, std::int64_t reference_ns) noexcept {
  if (reference_ns == 0) {
    // Unknown reference: kept as it always was (1970, or 1969 after February).
    return mo > 2 ? 1969 : 1970;
  }
  constexpr std::int64_t ns_per_day = 86400 * ns_per_s;
  // Anything before 1971 is a unit mistake (seconds or ms passed as ns), not a receive time.
  if (reference_ns < 365 * ns_per_day) {
    return std::nullopt;
  }
  // The year that puts the date closest to the reference, but never more than 31 days after it:
  // up to 31 days ahead is a sender's clock running ahead (a Jan 1 line received on Dec 31 is
  // next year's), further ahead it is last year's date (a Dec 31 line read on Jan 1).
  const std::int64_t ry = civil_from_days(reference_ns / ns_per_day).y;
  std::optional<std::int64_t> best;
  std::int64_t best_distance = 0;
  for (std::int64_t y = ry + 1; y >= ry - 1; --y) {
    if (mo == 2 && d == 29 && !leap_year(y)) continue;
    const auto at = combine(y, mo, d, h, mi, sec, frac, tz);
    if (!at || *at > reference_ns + 31 * ns_per_day) continue;
    const std::int64_t distance = *at > reference_ns ? *at - reference_ns : reference_ns - *at;
    if (!best || distance < best_distance) {
      best = y;
      best_distance = distance;
    }
  }
  if (best) return best;
  // Feb 29 of none of them: the latest leap year before.
  std::int64_t y = ry - 1;
  while (!leap_year(y))
    --y;
  return y;
}

std::optional<std::int64_t> syslog_impl(std::string_view s, std::int32_t tz,
                                        std::int64_t reference_ns) noexcept {
  // `Mmm dd hh:mm:ss`, `Mmm  d hh:mm:ss` or `Mmm d hh:mm:ss`, optional fraction.
  if (s.size() < 14) {
    return std::nullopt;
  }
  const int mo = month_from_name(s);
  if (mo == 0 || s[3] != ' ') {
    return std::nullopt;
  }
  std::size_t pos = 3;
  while (pos < s.size() && s[pos] == ' ') {
    ++pos;
  }
  int d = 0, h = 0, mi = 0, sec = 0;
  if (!some_digits(s, pos, 2, d) || pos >= s.size() || s[pos++] != ' ' || !digits(s, pos, 2, h) ||
      pos >= s.size() || s[pos++] != ':' || !digits(s, pos, 2, mi) || pos >= s.size() ||
      s[pos++] != ':' || !digits(s, pos, 2, sec)) {
    return std::nullopt;
  }
  std::int64_t frac = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    frac = fraction_ns(s, pos);
  }
  static constexpr std::array<int, 12> month_days = {31, 29, 31, 30, 31, 30,
                                                     31, 31, 30, 31, 30, 31};
  if (pos != s.size() || !valid(mo, d, h, mi, sec) || d > month_days[mo - 1]) {
    return std::nullopt;
  }
  const auto y = syslog_year(mo, d, h, mi, sec, frac, tz, reference_ns);
  if (!y) {
    return std::nullopt;
  }
  return combine(*y, mo, d, h, mi, sec, frac, tz);
}

std::optional<std::int64_t> pattern_impl(std::string_view s, std::string_view fmt,
                                         std::int32_t tz) noexcept {
  std::size_t pos = 0;
  int y = 1970, mo = 1, d = 1, h = 0, mi = 0, sec = 0;
  std::int64_t frac = 0;
  std::int32_t off = tz;
  bool has_zone = false;
  for (std::size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] != '%' || i + 1 == fmt.size()) {
      if (pos >= s.size() || s[pos] != fmt[i]) {
        return std::nullopt;
      }
      ++pos;
      continue;
    }
    bool ok = true;
    switch (fmt[++i]) {
    case 'Y':
      ok = digits(s, pos, 4, y);
      break;
    case 'm':
      ok = some_digits(s, pos, 2, mo);
      break;
    case 'd':
      ok = some_digits(s, pos, 2, d);
      break;
    case 'e':
      while (pos < s.size() && s[pos] == ' ') {
        ++pos;
      }
      ok = some_digits(s, pos, 2, d);
      break;
    case 'H':
      ok = some_digits(s, pos, 2, h);
      break;
    case 'M':
      ok = digits(s, pos, 2, mi);
      break;
    case 'S':
      ok = digits(s, pos, 2, sec);
      break;
    case 'f':
      frac = fraction_ns(s, pos);
      break;
    case 'b':
      mo = month_from_name(s.substr(pos));
      ok = mo != 0;
      pos += 3;
      break;
    case 'z':
      ok = zone(s, pos, off, has_zone);
      break;
    case '%':
      ok = pos < s.size() && s[pos++] == '%';
      break;
    default:
      ok = false;
    }
    if (!ok) {
      return std::nullopt;
    }
  }
  if (pos != s.size() || !valid(mo, d, h, mi, sec)) {
    return std::nullopt;
  }
  return combine(y, mo, d, h, mi, sec, frac, off);
}

} // namespace

std::optional<std::int64_t> parse_duration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::size_t i = 0;
  while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.'))
    ++i;
  if (i == 0) return std::nullopt;
  double n = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + i, n);
  if (ec != std::errc{} || p != text.data() + i || n < 0) return std::nullopt;
  std::string_view unit = text.substr(i);
  double scale;
  if (unit.empty() || unit == "s")
    scale = 1e9;
  else if (unit == "ms")
    scale = 1e6;
  else if (unit == "us")
    scale = 1e3;
  else if (unit == "ns")
    scale = 1;
  else if (unit == "m")
    scale = 60e9;
  else if (unit == "h")
    scale = 3600e9;
  else if (unit == "d")
    scale = 86400e9;
  else
    return std::nullopt;
  return checked_scale(n, scale);
}

std::optional<std::int32_t> parse_utc_offset(std::string_view s) noexcept {
  if (s.empty() || s == "UTC" || s == "Z") {
    return 0;
  }
  std::size_t pos = 0;
  std::int32_t off = 0;
  bool has_zone = false;
  if ((s[0] != '+' && s[0] != '-') || !zone(s, pos, off, has_zone) || pos != s.size() ||
      off <= -86400 || off >= 86400) {
    return std::nullopt;
  }
  return off;
}

std::optional<std::int64_t> parse_iso8601(std::string_view text,
                                          std::int32_t default_offset_s) noexcept {
  return iso_impl(text, default_offset_s);
}

std::optional<std::int64_t> parse_epoch(std::string_view text, std::int64_t unit_ns) noexcept {
  if (unit_ns <= 0 || unit_ns > ns_per_s || ns_per_s % unit_ns != 0) {
    return std::nullopt;
  }
  if (unit_ns == 1) {
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    return ec == std::errc{} && p == text.data() + text.size() ? std::optional<std::int64_t>(v)
                                                               : std::nullopt;
  }
  return epoch_impl(text, unit_ns);
}

std::optional<std::int64_t> parse_epoch_auto(std::string_view text) noexcept {
  // Unit by magnitude: 10 digits seconds, 13 ms, 16 us, 19 ns (FortiGate eventtime).
  const std::size_t dot = text.find('.');
  const std::size_t n = dot == std::string_view::npos ? text.size() : dot;
  const std::int64_t unit = n <= 11 ? ns_per_s : n <= 14 ? ns_per_ms : n <= 17 ? ns_per_us : 1;
  return parse_epoch(text, unit);
}

std::optional<std::int64_t> parse_filetime(std::string_view text) noexcept {
  std::uint64_t ticks = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), ticks);
  if (text.empty() || ec != std::errc{} || p != text.data() + text.size()) {
    return std::nullopt;
  }
  constexpr auto epoch_delta = static_cast<std::uint64_t>(filetime_unix_epoch);
  if (ticks < epoch_delta ||
      ticks - epoch_delta >
          static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max() / 100)) {
    return std::nullopt;
  }
  return static_cast<std::int64_t>(ticks - epoch_delta) * 100;
}

std::optional<std::int64_t> parse_syslog(std::string_view text, std::int32_t default_offset_s,
                                         std::int64_t reference_ns) noexcept {
  return syslog_impl(text, default_offset_s, reference_ns);
}

std::optional<std::int64_t> parse_pattern(std::string_view text, std::string_view pattern,
                                          std::int32_t default_offset_s) noexcept {
  return pattern_impl(text, pattern, default_offset_s);
}

std::optional<std::int64_t> parse(std::string_view text, std::string_view format,
                                  std::int32_t default_offset_s,
                                  std::int64_t reference_ns) noexcept {
  while (!text.empty() && text.back() == ' ') {
    text.remove_suffix(1);
  }
  if (text.empty() || text.size() > 64) {
    return std::nullopt;
  }
  if (format == "epoch") {
    return parse_epoch(text, ns_per_s);
  }
  if (format == "epoch_ms") {
    return parse_epoch(text, ns_per_ms);
  }
  if (format == "epoch_auto") {
    return parse_epoch_auto(text);
  }
  if (format == "iso8601") {
    return iso_impl(text, default_offset_s);
  }
  if (format == "filetime") {
    return parse_filetime(text);
  }
  if (format == "syslog") {
    return syslog_impl(text, default_offset_s, reference_ns);
  }
  return pattern_impl(text, format, default_offset_s);
}

std::optional<std::int64_t> from_epoch_s(double s) {
  return checked_scale(s, 1e9);
}
std::optional<std::int64_t> from_epoch_ms(double ms) {
  return checked_scale(ms, 1e6);
}

std::optional<std::int64_t> from_filetime(std::int64_t ticks) {
  std::int64_t rel = ticks - filetime_unix_epoch;
  if (rel > std::numeric_limits<std::int64_t>::max() / 100 ||
      rel < std::numeric_limits<std::int64_t>::min() / 100)
    return std::nullopt;
  return rel * 100;
}

std::size_t format_iso8601_into(char* buf, std::int64_t ns) noexcept {
  std::int64_t secs = ns / ns_per_s;
  std::int64_t rem = ns % ns_per_s;
  if (rem < 0) {
    rem += ns_per_s;
    --secs;
  }
  std::int64_t days = secs / 86400;
  std::int64_t sod = secs % 86400;
  if (sod < 0) {
    sod += 86400;
    --days;
  }
  const civil c = civil_from_days(days);
  if (c.y < 0 || c.y > 9999) {
    const int n = std::snprintf(buf, iso8601_buffer_size, "%04lld-%02u-%02uT%02d:%02d:%02d.%03dZ",
                                static_cast<long long>(c.y), c.m, c.d, static_cast<int>(sod / 3600),
                                static_cast<int>(sod / 60 % 60), static_cast<int>(sod % 60),
                                static_cast<int>(rem / 1'000'000));
    return n > 0 ? static_cast<std::size_t>(n) : 0;
  }
  // Hand-rolled: this runs once per event and snprintf showed in profiles.
  auto put = [&](std::size_t at, std::int64_t v, int width) {
    for (int i = width - 1; i >= 0; --i) {
      buf[at + static_cast<std::size_t>(i)] = static_cast<char>('0' + v % 10);
      v /= 10;
    }
  };
  put(0, c.y, 4);
  buf[4] = '-';
  put(5, c.m, 2);
  buf[7] = '-';
  put(8, c.d, 2);
  buf[10] = 'T';
  put(11, sod / 3600, 2);
  buf[13] = ':';
  put(14, sod / 60 % 60, 2);
  buf[16] = ':';
  put(17, sod % 60, 2);
  buf[19] = '.';
  put(20, rem / 1'000'000, 3);
  buf[23] = 'Z';
  return 24;
}
std::string format_iso8601(std::int64_t ns) {
  char buf[iso8601_buffer_size];
  return std::string(buf, format_iso8601_into(buf, ns));
}

} // namespace chainwatch::time
