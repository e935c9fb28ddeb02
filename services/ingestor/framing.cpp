#include "framing.hpp"

#include <algorithm>

namespace chainwatch::ingestor {

namespace {

std::string_view trim_cr(std::string_view s) {
  while (!s.empty() && (s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

} // namespace

void frame_decoder::feed(std::string_view data, const sink& out) {
  buf_.append(data);
  std::size_t pos = 0;
  while (pos < buf_.size()) {
    if (octets_left_ > 0) {
      // The next piece of an oversized octet-counted frame.
      std::size_t want = std::min(octets_left_, max_frame_);
      if (buf_.size() - pos < want) break;
      out(std::string_view(buf_).substr(pos, want));
      pos += want;
      octets_left_ -= want;
      continue;
    }
    char c = buf_[pos];
    if (c == '\n' || c == '\r') {
      ++pos; // blank line between frames
      continue;
    }
    if (c >= '1' && c <= '9') {
      // Octet counting: MSG-LEN SP MSG. A digit run not followed by a space is a plain line.
      std::size_t i = pos;
      std::size_t len = 0;
      while (i < buf_.size() && i - pos < 10 && buf_[i] >= '0' && buf_[i] <= '9')
        len = len * 10 + static_cast<std::size_t>(buf_[i++] - '0');
      if (i == buf_.size() && i - pos < 10) break; // need more bytes to decide
      // Octet counting needs "<len> <": a syslog message starts with its "<PRI>", so a plain
      // line that happens to start with a number and a space is not taken for a length.
      if (buf_[i] == ' ' && i + 1 == buf_.size()) break; // need more bytes to decide
      if (buf_[i] == ' ' && buf_[i + 1] == '<') {
        std::size_t avail = buf_.size() - (i + 1);
        if (len <= max_frame_) {
          if (avail < len) break; // incomplete frame
          out(std::string_view(buf_).substr(i + 1, len));
          pos = i + 1 + len;
          continue;
        }
        // Too long: cut into pieces of max_frame bytes (below), nothing is dropped.
        ++truncated_;
        octets_left_ = len;
        pos = i + 1;
        continue;
      }
    }
    // Non-transparent framing: up to the next newline.
    auto nl = buf_.find('\n', pos);
    if (nl == std::string::npos) {
      if (buf_.size() - pos >= max_frame_) {
        ++truncated_;
        out(std::string_view(buf_).substr(pos, max_frame_));
        pos += max_frame_;
        continue;
      }
      break;
    }
    auto line = trim_cr(std::string_view(buf_).substr(pos, nl - pos));
    if (line.size() > max_frame_) ++truncated_;
    while (line.size() > max_frame_) {
      out(line.substr(0, max_frame_));
      line.remove_prefix(max_frame_);
    }
    if (!line.empty()) out(line);
    pos = nl + 1;
  }
  buf_.erase(0, pos);
}

void frame_decoder::finish(const sink& out) {
  std::string_view rest = trim_cr(buf_);
  if (octets_left_ > 0) rest = std::string_view(buf_); // a short final piece
  octets_left_ = 0;
  while (rest.size() > max_frame_) {
    out(rest.substr(0, max_frame_));
    rest.remove_prefix(max_frame_);
  }
  if (!rest.empty()) out(rest);
  buf_.clear();
}

} // namespace chainwatch::ingestor
