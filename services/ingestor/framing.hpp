#pragma once

// Syslog-over-TCP framing (RFC 6587): octet counting ("<len> <msg>") and non-transparent
// framing (newline-terminated), detected per frame: a frame is octet-counted when it starts
// with digits, a space and '<' (the message's PRI); anything else runs to the next newline. Pure,
// so it is tested without sockets.

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace chainwatch::ingestor {

/// Splits a TCP byte stream into syslog frames.
class frame_decoder {
public:
  /// Frame callback: the frame bytes (without length prefix or newline).
  using sink = std::function<void(std::string_view frame)>;

  /// Frames longer than `max_frame` bytes are cut into pieces of that length (counted by
  /// truncated()); nothing received is dropped.
  explicit frame_decoder(std::size_t max_frame = 64 * 1024) : max_frame_(max_frame) {}

  /// Feeds bytes received; calls `out` for each complete frame.
  void feed(std::string_view data, const sink& out);
  /// End of stream: emits a trailing unterminated line, if any.
  void finish(const sink& out);
  /// Frames cut into pieces.
  std::size_t truncated() const noexcept { return truncated_; }
  /// Bytes held waiting for the rest of a frame.
  std::size_t buffered() const noexcept { return buf_.size(); }

private:
  std::size_t max_frame_;
  std::string buf_;
  std::size_t truncated_ = 0;
  std::size_t octets_left_ = 0;
};

} // namespace chainwatch::ingestor
