#include "chainwatch/service/logging.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace chainwatch::service {

expected<std::monostate, std::string> setup_logging(std::string_view service,
                                                    std::string_view level) {
  auto lvl = spdlog::level::from_str(std::string(level));
  // from_str maps unknown names to "off"; only accept "off" when asked for.
  if (lvl == spdlog::level::off && level != "off")
    return unexpected{"unknown log level '" + std::string(level) +
                      "' (trace, debug, info, warn, error, critical, off)"};
  // Setting up twice (tests, reloads) replaces the logger of that name.
  spdlog::drop(std::string(service));
  std::shared_ptr<spdlog::logger> logger;
  try {
    logger = spdlog::stderr_color_mt(std::string(service));
  } catch (const spdlog::spdlog_ex& e) {
    return unexpected{std::string("logging: ") + e.what()};
  }
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%fZ [%n] [%l] %v", spdlog::pattern_time_type::utc);
  logger->set_level(lvl);
  spdlog::set_default_logger(logger);
  return std::monostate{};
}

std::int64_t rate_limited_logger::admit(std::string_view reason, std::int64_t now_ns) {
  std::lock_guard lock(mutex_);
  auto it = slots_.find(reason);
  if (it == slots_.end()) it = slots_.emplace(std::string(reason), slot{}).first;
  auto& s = it->second;
  if (s.seen && now_ns - s.last_ns < interval_ns_) {
    ++s.suppressed;
    ++total_suppressed_;
    return -1;
  }
  auto n = s.suppressed;
  s = slot{now_ns, 0, true};
  return n;
}

void rate_limited_logger::warn(std::string_view reason, std::string_view message) {
  auto now = std::chrono::steady_clock::now().time_since_epoch().count();
  auto n = admit(reason, now);
  if (n < 0) return;
  if (n == 0)
    spdlog::warn("{} [reason={}]", message, reason);
  else
    spdlog::warn("{} [reason={}, {} similar suppressed]", message, reason, n);
}

std::uint64_t rate_limited_logger::suppressed() const {
  std::lock_guard lock(mutex_);
  return total_suppressed_;
}

} // namespace chainwatch::service
