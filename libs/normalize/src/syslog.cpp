#include "syslog.hpp"

#include <array>

namespace chainwatch::normalize::detail {

namespace {

constexpr std::size_t npos = std::string_view::npos;

bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

bool is_alnum(char c) noexcept {
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool all_digits(std::string_view s) noexcept {
  if (s.empty()) {
    return false;
  }
  for (char c : s) {
    if (!is_digit(c)) {
      return false;
    }
  }
  return true;
}

bool month_name(std::string_view s) noexcept {
  static constexpr std::array<std::string_view, 12> names = {
      "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"};
  if (s.size() < 3) {
    return false;
  }
  const char low[3] = {static_cast<char>(s[0] | 0x20), static_cast<char>(s[1] | 0x20),
                       static_cast<char>(s[2] | 0x20)};
  for (auto n : names) {
    if (n == std::string_view(low, 3)) {
      return true;
    }
  }
  return false;
}

// Skips `n` to `max` digits at `pos`.
bool skip_digits(std::string_view s, std::size_t& pos, std::size_t n, std::size_t max) noexcept {
  std::size_t k = 0;
  while (pos < s.size() && k < max && is_digit(s[pos])) {
    ++pos;
    ++k;
  }
  return k >= n;
}

// `hh:mm:ss[.fff]` at `pos`.
bool skip_clock(std::string_view s, std::size_t& pos) noexcept {
  if (!skip_digits(s, pos, 1, 2) || pos >= s.size() || s[pos++] != ':' ||
      !skip_digits(s, pos, 2, 2) || pos >= s.size() || s[pos++] != ':' ||
      !skip_digits(s, pos, 2, 2)) {
    return false;
  }
  if (pos + 1 < s.size() && s[pos] == '.' && is_digit(s[pos + 1])) {
    ++pos;
    skip_digits(s, pos, 1, 9);
  }
  return true;
}

// End of the timestamp starting at `pos`: `Mmm dd hh:mm:ss`, `Mmm  d ...`, `Mmm d ...`,
// `Mmm dd yyyy hh:mm:ss` (Cisco) or an ISO 8601 token. npos when there is none.
std::size_t timestamp_end(std::string_view s, std::size_t pos) noexcept {
  if (month_name(s.substr(pos)) && pos + 3 < s.size() && s[pos + 3] == ' ') {
    std::size_t p = pos + 3;
    while (p < s.size() && s[p] == ' ' && p < pos + 5) {
      ++p;
    }
    if (!skip_digits(s, p, 1, 2) || p >= s.size() || s[p++] != ' ') {
      return npos;
    }
    if (std::size_t y = p; skip_digits(s, y, 4, 4) && y < s.size() && s[y] == ' ') {
      p = y + 1;
    }
    return skip_clock(s, p) ? p : npos;
  }
  std::size_t p = pos;
  if (!skip_digits(s, p, 4, 4) || p >= s.size() || s[p] != '-') {
    return npos;
  }
  while (p < s.size() && s[p] != ' ') {
    ++p;
  }
  // `2018-10-11T10:00:00Z: text` has no host: the colon is not part of the time.
  return s[p - 1] == ':' ? p - 1 : p;
}

// A token that can be a HOSTNAME: a name or an IP address.
bool hostname_like(std::string_view s) noexcept {
  if (s.empty() || !is_alnum(s[0])) {
    return false;
  }
  for (char c : s) {
    if (!is_alnum(c) && c != '.' && c != '-' && c != '_' && c != ':') {
      return false;
    }
  }
  return true;
}

// `TAG[PID]: MSG` or `TAG: MSG` at `pos` of the first line `first`: the tag runs to the first
// colon followed by a space (or the end of the line) and may hold spaces (`Google Chrome[7]:`,
// `launchd[1] (com.apple.x[2]):`), as Elastic's `%{DATA}` reads it, unless `one_word`. Returns
// where the message starts, or npos when there is no tag.
std::size_t read_tag(std::string_view first, std::size_t pos, syslog_header& h,
                     bool one_word = false) noexcept {
  if (pos >= first.size() || first[pos] == '%') {
    return npos; // `%ASA-6-302013: text` is the message, not a tag
  }
  std::size_t colon = pos;
  while (true) {
    colon = first.find(':', colon);
    if (colon == npos) {
      return npos;
    }
    if (colon + 1 == first.size() || first[colon + 1] == ' ' || first[colon + 1] == '\t') {
      break;
    }
    ++colon;
  }
  if (one_word && first.substr(pos, colon - pos).find(' ') != npos) {
    return npos;
  }
  if (colon == pos) {
    return colon + 1; // `host : text`: an empty tag
  }
  std::string_view tag = first.substr(pos, colon - pos);
  if (const auto open = tag.rfind('['); open != npos && tag.ends_with(']') &&
                                        all_digits(tag.substr(open + 1, tag.size() - open - 2))) {
    h.pid = tag.substr(open + 1, tag.size() - open - 2);
    tag = tag.substr(0, open);
  }
  h.program = tag;
  return colon + 1;
}

std::size_t skip_blanks(std::string_view s, std::size_t pos) noexcept {
  while (pos < s.size() && (s[pos] == ' ' || s[pos] == '\t')) {
    ++pos;
  }
  return pos;
}

// Next space-separated RFC 5424 header field; the NILVALUE `-` reads as empty.
std::string_view field_5424(std::string_view s, std::size_t& pos) noexcept {
  pos = skip_blanks(s, pos);
  const std::size_t start = pos;
  while (pos < s.size() && s[pos] != ' ') {
    ++pos;
  }
  const auto v = s.substr(start, pos - start);
  return v == "-" ? std::string_view{} : v;
}

// End of the SD elements `[id k="v" ...][...]` starting at `pos`; npos when malformed.
std::size_t sd_end(std::string_view s, std::size_t pos) noexcept {
  while (pos < s.size() && s[pos] == '[') {
    bool quoted = false;
    ++pos;
    while (pos < s.size() && (quoted || s[pos] != ']')) {
      if (quoted && s[pos] == '\\') {
        ++pos;
      } else if (s[pos] == '"') {
        quoted = !quoted;
      }
      ++pos;
    }
    if (pos >= s.size()) {
      return npos;
    }
    ++pos; // ']'
  }
  return pos;
}

void parse_5424(std::string_view line, std::string_view first, std::size_t pos,
                syslog_header& h) noexcept {
  h.timestamp = field_5424(first, pos);
  h.hostname = field_5424(first, pos);
  h.program = field_5424(first, pos);
  h.pid = field_5424(first, pos);
  h.msgid = field_5424(first, pos);
  pos = skip_blanks(first, pos);
  if (pos < first.size() && first[pos] == '-' &&
      (pos + 1 == first.size() || first[pos + 1] == ' ')) {
    ++pos;
  } else if (pos < first.size() && first[pos] == '[') {
    const std::size_t end = sd_end(line, pos);
    if (end == npos) {
      h.ok = false;
      return;
    }
    h.structured_data = line.substr(pos, end - pos);
    pos = end;
  }
  // Senders put one or more spaces before MSG; a UTF-8 BOM may start it.
  pos = skip_blanks(line, pos);
  if (line.substr(pos).starts_with("\xEF\xBB\xBF")) {
    pos += 3;
  }
  h.message = line.substr(pos);
}

} // namespace

syslog_header parse_syslog_header(std::string_view line) noexcept {
  syslog_header h;
  h.ok = true;
  const std::string_view first = line.substr(0, line.find('\n'));
  std::size_t pos = 0;
  if (!first.empty() && first[0] == '<') {
    const auto close = first.find('>');
    if (close == npos || close < 2 || close > 4 || !all_digits(first.substr(1, close - 1))) {
      h.ok = false;
      return h;
    }
    h.priority = first.substr(1, close - 1);
    pos = close + 1;
  }
  // RFC 5424: `VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP SD [SP MSG]`.
  if (std::size_t v = pos; skip_digits(first, v, 1, 2) && v < first.size() && first[v] == ' ' &&
                           first[pos] != '0' && timestamp_end(first, pos) == npos) {
    h.version = first.substr(pos, v - pos);
    parse_5424(line, first, v + 1, h);
    return h;
  }
  pos = skip_blanks(first, pos);
  const std::size_t ts_end = timestamp_end(first, pos);
  if (ts_end == npos) {
    // No time: `TAG: MSG` or just a message.
    const std::size_t msg = read_tag(first, pos, h, true);
    h.message = line.substr(skip_blanks(line, msg == npos ? pos : msg));
    return h;
  }
  h.timestamp = first.substr(pos, ts_end - pos);
  pos = ts_end;
  if (pos < first.size() && first[pos] == ':') {
    // `May  5 17:51:17: %ASA-...` has no host.
    h.message = line.substr(skip_blanks(line, pos + 1));
    return h;
  }
  if (pos < first.size() && first[pos] == ' ') {
    ++pos;
  }
  std::size_t msg = npos;
  if (pos < first.size() && first[pos] == ' ') {
    // Two spaces: an empty HOSTNAME (`Feb 22 10:21:43  sshd[1332]: ...`).
    pos = skip_blanks(first, pos);
    msg = read_tag(first, pos, h);
  } else {
    auto space = first.find(' ', pos);
    if (space == npos) {
      space = first.size();
    }
    const std::string_view host = first.substr(pos, space - pos);
    if (host.ends_with(':') && hostname_like(host.substr(0, host.size() - 1))) {
      // `dev01: %ASA-...`: a host and no tag.
      h.hostname = host.substr(0, host.size() - 1);
      msg = space;
    } else if (hostname_like(host)) {
      h.hostname = host;
      pos = skip_blanks(first, space);
      msg = read_tag(first, pos, h);
    } else if (host.ends_with(':')) {
      // No host: the token is the tag (`sshd[12]: ...`).
      msg = read_tag(first, pos, h, true);
    }
  }
  h.message = line.substr(skip_blanks(line, msg == npos ? pos : msg));
  return h;
}

bool next_sd_param(std::string_view sd, std::size_t& pos, std::string_view& id,
                   syslog_sd_param& out) noexcept {
  while (pos < sd.size()) {
    if (sd[pos] == '[') {
      const std::size_t start = ++pos;
      while (pos < sd.size() && sd[pos] != ' ' && sd[pos] != ']') {
        ++pos;
      }
      id = sd.substr(start, pos - start);
      continue;
    }
    if (sd[pos] == ']' || sd[pos] == ' ') {
      ++pos;
      continue;
    }
    const auto eq = sd.find('=', pos);
    if (eq == npos || eq + 1 >= sd.size() || sd[eq + 1] != '"') {
      return false;
    }
    out.id = id;
    out.name = sd.substr(pos, eq - pos);
    out.escaped = false;
    pos = eq + 2;
    const std::size_t start = pos;
    while (pos < sd.size() && sd[pos] != '"') {
      if (sd[pos] == '\\') {
        out.escaped = true;
        ++pos;
      }
      ++pos;
    }
    if (pos >= sd.size()) {
      return false;
    }
    out.value = sd.substr(start, pos - start);
    ++pos; // closing quote
    return true;
  }
  return false;
}

} // namespace chainwatch::normalize::detail
