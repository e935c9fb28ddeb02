#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace chainwatch::wire {

/// Why a message could not be decoded.
enum class errc : std::uint8_t {
  truncated = 1,   ///< the input ended inside a value
  bad_type,        ///< a value had another msgpack type than the schema says
  bad_kind,        ///< the envelope names another message kind than the one asked for
  bad_version,     ///< the envelope's schema version is not supported
  bad_arity,       ///< an array had another number of elements than the schema says
  bad_value,       ///< a value is out of its allowed range (e.g. unknown item tag)
  trailing_bytes,  ///< bytes follow the message
  too_deep,        ///< nesting deeper than the decoder allows (skipping unknown values)
  bad_compression, ///< a zstd frame that does not decompress (or has no content size)
  too_large,       ///< decompresses to more than max_message_bytes
};

/// A decode failure: what went wrong and at which byte of the input.
struct error {
  /// The failure class.
  errc code;
  /// Byte offset in the input where the failure was detected.
  std::size_t offset = 0;
};

/// Returns a short stable name for `code` (used as a dead-letter reason and metric label).
const char* to_string(errc code) noexcept;

/// Returns "<name> at byte <offset>".
std::string to_string(const error& err);

} // namespace chainwatch::wire
