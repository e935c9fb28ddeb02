#include "xml.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdio>

namespace chainwatch::normalize::detail {
namespace {

bool is_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

bool is_name_char(char c) noexcept {
  return c != '>' && c != '/' && c != '=' && !is_space(c) && c != '<' && c != '"' && c != '\'';
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    out += "\xEF\xBF\xBD"; // U+FFFD
  } else if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Appends `s` with entities decoded; unknown entities stay as written.
void decode_into(std::string& out, std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto amp = s.find('&', i);
    if (amp == std::string_view::npos) {
      out.append(s.substr(i));
      return;
    }
    out.append(s.substr(i, amp - i));
    const auto semi = s.find(';', amp);
    if (semi == std::string_view::npos || semi - amp > 12) {
      out += '&';
      i = amp + 1;
      continue;
    }
    const std::string_view name = s.substr(amp + 1, semi - amp - 1);
    if (name == "lt") {
      out += '<';
    } else if (name == "gt") {
      out += '>';
    } else if (name == "amp") {
      out += '&';
    } else if (name == "quot") {
      out += '"';
    } else if (name == "apos") {
      out += '\'';
    } else if (name.size() > 1 && name[0] == '#') {
      std::uint32_t cp = 0;
      const bool hex = name[1] == 'x' || name[1] == 'X';
      const std::string_view digits = name.substr(hex ? 2 : 1);
      const auto r =
          std::from_chars(digits.data(), digits.data() + digits.size(), cp, hex ? 16 : 10);
      if (digits.empty() || r.ec != std::errc{} || r.ptr != digits.data() + digits.size()) {
        out.append(s.substr(amp, semi - amp + 1));
      } else {
        append_utf8(out, cp);
      }
    } else {
      out.append(s.substr(amp, semi - amp + 1));
    }
    i = semi + 1;
  }
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && is_space(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && is_space(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

// Drops a namespace prefix (`ns:Event` -> `Event`).
std::string_view local_name(std::string_view n) noexcept {
  const auto colon = n.find(':');
  return colon == std::string_view::npos ? n : n.substr(colon + 1);
}

} // namespace

bool xml_reader::push_leaf(std::string_view key, std::string_view value, bool event_data,
                           const xml_limits& lim) {
  if (count_ >= lim.max_leaves) {
    return false;
  }
  if (count_ == leaves_.size()) {
    leaves_.emplace_back();
  }
  xml_leaf& l = leaves_[count_++];
  l.key.assign(key);
  l.value.assign(value);
  l.event_data = event_data;
  return true;
}

// `<Data Name="k">v</Data>` under EventData: key `k`, or `param<N>` when unnamed.
bool xml_reader::push_data(const open_element& e, const xml_limits& lim) {
  if (!e.data_name.empty()) {
    return push_leaf(e.data_name, trim(e.text), true, lim);
  }
  char key[32];
  const auto n =
      static_cast<std::size_t>(std::snprintf(key, sizeof key, "param%zu", ++unnamed_data_));
  return push_leaf({key, std::min(n, sizeof key - 1)}, trim(e.text), true, lim);
}

std::size_t xml_reader::flatten(std::string_view in, xml_limits lim) {
  count_ = 0;
  depth_ = 0;
  path_.clear();
  unnamed_data_ = 0;
  bool seen_root = false;
  std::size_t i = 0;
  while (i < in.size()) {
    const auto lt = in.find('<', i);
    const std::string_view text = in.substr(i, (lt == std::string_view::npos ? in.size() : lt) - i);
    if (depth_ > 0) {
      decode_into(stack_[depth_ - 1].text, text);
    } else if (!trim(text).empty()) {
      return i; // text outside the root element
    }
    if (lt == std::string_view::npos) {
      break;
    }
    i = lt;
    const std::string_view rest = in.substr(i);
    if (rest.starts_with("<?")) {
      const auto end = in.find("?>", i + 2);
      if (end == std::string_view::npos) {
        return i;
      }
      i = end + 2;
      continue;
    }
    if (rest.starts_with("<!--")) {
      const auto end = in.find("-->", i + 4);
      if (end == std::string_view::npos) {
        return i;
      }
      i = end + 3;
      continue;
    }
    if (rest.starts_with("<![CDATA[")) {
      const auto end = in.find("]]>", i + 9);
      if (end == std::string_view::npos || depth_ == 0) {
        return i;
      }
      stack_[depth_ - 1].text.append(in.substr(i + 9, end - i - 9));
      i = end + 3;
      continue;
    }
    if (rest.starts_with("<!")) {
      return i; // DOCTYPE and entity declarations are refused
    }
    if (rest.starts_with("</")) {
      std::size_t j = i + 2;
      while (j < in.size() && is_name_char(in[j])) {
        ++j;
      }
      const std::string_view name = in.substr(i + 2, j - i - 2);
      while (j < in.size() && is_space(in[j])) {
        ++j;
      }
      if (j >= in.size() || in[j] != '>' || depth_ == 0 || stack_[depth_ - 1].name != name) {
        return i;
      }
      const open_element& e = stack_[depth_ - 1];
      const bool in_event_data = depth_ >= 2 && local_name(stack_[depth_ - 2].name) == "EventData";
      if (local_name(e.name) == "Data" && in_event_data) {
        if (!push_data(e, lim)) {
          return i;
        }
      } else if (!e.has_children && !path_.empty()) {
        const std::string_view value = trim(e.text);
        if (!value.empty() && !push_leaf(path_, value, false, lim)) {
          return i;
        }
      }
      path_.resize(e.path_len);
      --depth_;
      i = j + 1;
      continue;
    }
    // Start tag.
    std::size_t j = i + 1;
    while (j < in.size() && is_name_char(in[j])) {
      ++j;
    }
    const std::string_view name = in.substr(i + 1, j - i - 1);
    if (name.empty() || (depth_ == 0 && seen_root) || depth_ >= lim.max_depth) {
      return i; // no name, a second root, or too deep
    }
    if (depth_ > 0) {
      stack_[depth_ - 1].has_children = true;
    }
    if (depth_ == stack_.size()) {
      stack_.emplace_back();
    }
    open_element& e = stack_[depth_];
    e.name = name;
    e.path_len = path_.size();
    e.data_name.clear();
    e.has_children = false;
    e.text.clear();
    if (depth_ > 0) {
      if (!path_.empty()) {
        path_ += '.';
      }
      path_.append(local_name(name));
    }
    seen_root = true;
    // Attributes.
    bool self_closing = false;
    while (true) {
      while (j < in.size() && is_space(in[j])) {
        ++j;
      }
      if (j >= in.size()) {
        return j;
      }
      if (in[j] == '>') {
        ++j;
        break;
      }
      if (in[j] == '/') {
        if (j + 1 >= in.size() || in[j + 1] != '>') {
          return j;
        }
        self_closing = true;
        j += 2;
        break;
      }
      const std::size_t an = j;
      while (j < in.size() && is_name_char(in[j])) {
        ++j;
      }
      const std::string_view attr = in.substr(an, j - an);
      while (j < in.size() && is_space(in[j])) {
        ++j;
      }
      if (attr.empty() || j >= in.size() || in[j] != '=') {
        return j;
      }
      ++j;
      while (j < in.size() && is_space(in[j])) {
        ++j;
      }
      if (j >= in.size() || (in[j] != '"' && in[j] != '\'')) {
        return j;
      }
      const char q = in[j];
      const auto close = in.find(q, j + 1);
      if (close == std::string_view::npos) {
        return j;
      }
      attr_value_.clear();
      decode_into(attr_value_, in.substr(j + 1, close - j - 1));
      j = close + 1;
      if (attr.starts_with("xmlns")) {
        continue;
      }
      if (local_name(name) == "Data" && attr == "Name") {
        e.data_name = attr_value_;
      } else if (depth_ > 0) {
        const std::size_t before = path_.size();
        path_ += '.';
        path_.append(local_name(attr));
        const bool ok = push_leaf(path_, attr_value_, false, lim);
        path_.resize(before);
        if (!ok) {
          return an;
        }
      }
    }
    if (self_closing) {
      const bool in_event_data = depth_ > 0 && local_name(stack_[depth_ - 1].name) == "EventData";
      if (local_name(name) == "Data" && in_event_data && !push_data(e, lim)) {
        return i;
      }
      path_.resize(e.path_len);
    } else {
      ++depth_;
    }
    i = j;
  }
  if (depth_ != 0 || !seen_root) {
    return in.size();
  }
  return std::string::npos;
}

} // namespace chainwatch::normalize::detail
