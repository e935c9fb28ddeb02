// Timestamps: the implementation is chainwatch::time (libs/base); these are the normalizer's
// public names for it.
#include <chainwatch/base/time.hpp>
#include <chainwatch/normalize/normalizer.hpp>

namespace chainwatch::normalize {

std::optional<std::int64_t> parse_timestamp(std::string_view text, std::string_view format,
                                            std::int32_t tz_offset_s,
                                            std::int64_t reference_ns) noexcept {
  return chainwatch::time::parse(text, format, tz_offset_s, reference_ns);
}

std::string format_timestamp(std::int64_t ns) {
  return chainwatch::time::format_iso8601(ns);
}

} // namespace chainwatch::normalize
