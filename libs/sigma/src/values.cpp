// Sigma string values: escapes, wildcards and the encodings of the value modifiers.

#include "values.hpp"

#include <chainwatch/sigma/sigma.hpp>

namespace chainwatch::sigma {

bool sigma_string::has_wildcard() const {
  for (bool w : wild)
    if (w) return true;
  return false;
}

sigma_string parse_sigma_string(std::string_view raw) {
  sigma_string out;
  auto push = [&](char c, bool wildcard) {
    out.text.push_back(c);
    out.wild.push_back(wildcard);
  };
  for (std::size_t i = 0; i < raw.size(); ++i) {
    const char c = raw[i];
    if (c == '\\' && i + 1 < raw.size() &&
        (raw[i + 1] == '*' || raw[i + 1] == '?' || raw[i + 1] == '\\')) {
      push(raw[i + 1], false);
      ++i;
      continue;
    }
    push(c, c == '*' || c == '?');
  }
  return out;
}

std::string base64(std::string_view bytes) {
  static constexpr char digits[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const auto n = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16 |
                   static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8 |
                   static_cast<unsigned char>(bytes[i + 2]);
    out += digits[n >> 18 & 63];
    out += digits[n >> 12 & 63];
    out += digits[n >> 6 & 63];
    out += digits[n & 63];
  }
  if (const std::size_t rest = bytes.size() - i; rest > 0) {
    std::uint32_t n = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
    if (rest == 2) n |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    out += digits[n >> 18 & 63];
    out += digits[n >> 12 & 63];
    out += rest == 2 ? digits[n >> 6 & 63] : '=';
    out += '=';
  }
  return out;
}

std::vector<std::string> base64_offsets(std::string_view bytes) {
  // The value after i (0..2) unknown bytes: the first characters mix in those bytes, the last
  // ones the bytes after the value, so both ends are cut to what the value alone decides.
  static constexpr std::size_t cut_start[] = {0, 2, 3};
  static constexpr std::size_t cut_end[] = {0, 3, 2}; // by (size + i) % 3
  std::vector<std::string> out;
  for (std::size_t i = 0; i < 3; ++i) {
    std::string padded(i, ' ');
    padded.append(bytes);
    std::string enc = base64(padded);
    const std::size_t end_cut = cut_end[(bytes.size() + i) % 3];
    if (enc.size() < cut_start[i] + end_cut) continue;
    out.push_back(enc.substr(cut_start[i], enc.size() - cut_start[i] - end_cut));
  }
  return out;
}

namespace {

bool is_word(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

} // namespace

// The dashes `windash` puts in place of a `-` or `/` that starts a word.
static constexpr std::string_view dashes[] = {"-", "/", "\xE2\x80\x93", "\xE2\x80\x94",
                                              "\xE2\x80\x95"};

std::vector<sigma_string> windash_variants(const sigma_string& s, std::size_t limit) {
  std::vector<std::size_t> at; // positions to vary
  for (std::size_t i = 0; i < s.text.size(); ++i) {
    const char c = s.text[i];
    if ((c == '-' || c == '/') && (i == 0 || !is_word(s.text[i - 1])) && i + 1 < s.text.size() &&
        is_word(s.text[i + 1]))
      at.push_back(i);
  }
  std::vector<sigma_string> out{sigma_string{}};
  std::size_t from = 0;
  for (std::size_t p : at) {
    if (out.size() * 5 > limit) return {};
    std::vector<sigma_string> next;
    for (const auto& prefix : out) {
      for (auto d : dashes) {
        sigma_string v = prefix;
        v.text.append(s.text, from, p - from);
        v.wild.insert(v.wild.end(), s.wild.begin() + static_cast<std::ptrdiff_t>(from),
                      s.wild.begin() + static_cast<std::ptrdiff_t>(p));
        v.text.append(d);
        v.wild.insert(v.wild.end(), d.size(), false);
        next.push_back(std::move(v));
      }
    }
    out = std::move(next);
    from = p + 1;
  }
  for (auto& v : out) {
    v.text.append(s.text, from);
    v.wild.insert(v.wild.end(), s.wild.begin() + static_cast<std::ptrdiff_t>(from), s.wild.end());
  }
  return out;
}

std::vector<std::string> windash(std::string_view text, std::size_t limit) {
  std::vector<std::string> out;
  sigma_string s;
  s.text = std::string(text);
  s.wild.assign(text.size(), false);
  for (auto& v : windash_variants(s, limit))
    out.push_back(std::move(v.text));
  return out;
}

std::string utf16(std::string_view utf8, bool big_endian, bool bom) {
  std::string out;
  auto unit = [&](std::uint32_t u) {
    const char hi = static_cast<char>(u >> 8 & 0xff), lo = static_cast<char>(u & 0xff);
    out += big_endian ? hi : lo;
    out += big_endian ? lo : hi;
  };
  if (bom) unit(0xfeff);
  for (std::size_t i = 0; i < utf8.size();) {
    const auto c = static_cast<unsigned char>(utf8[i]);
    std::uint32_t cp = c;
    std::size_t n = 1;
    if (c >= 0xf0 && i + 3 < utf8.size()) {
      cp = (c & 0x07u) << 18 | (static_cast<unsigned char>(utf8[i + 1]) & 0x3fu) << 12 |
           (static_cast<unsigned char>(utf8[i + 2]) & 0x3fu) << 6 |
           (static_cast<unsigned char>(utf8[i + 3]) & 0x3fu);
      n = 4;
    } else if (c >= 0xe0 && i + 2 < utf8.size()) {
      cp = (c & 0x0fu) << 12 | (static_cast<unsigned char>(utf8[i + 1]) & 0x3fu) << 6 |
           (static_cast<unsigned char>(utf8[i + 2]) & 0x3fu);
      n = 3;
    } else if (c >= 0xc0 && i + 1 < utf8.size()) {
      cp = (c & 0x1fu) << 6 | (static_cast<unsigned char>(utf8[i + 1]) & 0x3fu);
      n = 2;
    }
    i += n;
    if (cp >= 0x10000) {
      cp -= 0x10000;
      unit(0xd800 + (cp >> 10));
      unit(0xdc00 + (cp & 0x3ff));
    } else {
      unit(cp);
    }
  }
  return out;
}

} // namespace chainwatch::sigma
