#pragma once

#include "chainwatch/base/expected.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <variant>

namespace chainwatch::service {

/// Sets up spdlog's default logger for `service` (stderr, "[time] [service] [level] msg") at
/// `level` (trace, debug, info, warn, error, critical, off); fails on an unknown level.
expected<std::monostate, std::string> setup_logging(std::string_view service,
                                                    std::string_view level);

/// Logs bad-message warnings at most once per interval per reason, with the count of
/// suppressed ones, so a flood of garbage cannot flood the log. Thread-safe.
class rate_limited_logger {
public:
  /// At most one line per reason per `interval`.
  explicit rate_limited_logger(std::chrono::nanoseconds interval = std::chrono::seconds(10))
      : interval_ns_(interval.count()) {}

  /// Logs "<message> [reason=<reason>, N similar suppressed]" at warn level if allowed now.
  void warn(std::string_view reason, std::string_view message);

  /// Pure decision for `reason` at `now_ns`: returns -1 to suppress, or the number of messages
  /// suppressed since the last allowed one.
  std::int64_t admit(std::string_view reason, std::int64_t now_ns);

  /// Total suppressed lines so far.
  std::uint64_t suppressed() const;

private:
  struct slot {
    std::int64_t last_ns = 0;
    std::int64_t suppressed = 0;
    bool seen = false;
  };
  std::int64_t interval_ns_;
  mutable std::mutex mutex_;
  std::map<std::string, slot, std::less<>> slots_;
  std::uint64_t total_suppressed_ = 0;
};

} // namespace chainwatch::service
