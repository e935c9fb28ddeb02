#pragma once

// Event-time watermarks per customer (pure; the caller passes wall-clock time).
// source watermark   = max event time seen - lateness(source)
// customer watermark = min over the customer's active sources (not idle, not at EOF);
//                      when every source is idle or at EOF: the highest source watermark plus
//                      the wall-clock time since the customer's last event (time keeps moving);
//                      when every source is at EOF: +inf (INT64_MAX), so every window closes.
// The customer watermark never moves backwards.

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace chainwatch::watermark {

/// The watermark before anything was seen.
inline constexpr std::int64_t no_watermark = std::numeric_limits<std::int64_t>::min();
/// The watermark of a customer whose sources are all at EOF.
inline constexpr std::int64_t end_of_time = std::numeric_limits<std::int64_t>::max();

/// Lateness settings: a default and overrides by "source" or "customer/source".
struct lateness_policy {
  /// Default allowed lateness, ns.
  std::int64_t default_ns = 5'000'000'000;
  /// Overrides: key "source" (all customers) or "customer/source"; value ns.
  std::map<std::string, std::int64_t, std::less<>> overrides;
  /// Lateness of one source of one customer.
  std::int64_t of(const std::string& customer, const std::string& source) const;
};

/// Parses "src=5s,acme/zeek.conn=250ms" (durations: ns, us, ms, s, m, h; bare = seconds).
std::optional<std::map<std::string, std::int64_t, std::less<>>>
parse_overrides(std::string_view text, std::string* error = nullptr);

/// Parses a duration such as "250ms", "5s", "1m"; a bare number is seconds.
std::optional<std::int64_t> parse_duration(std::string_view text);

/// Tracks sources and watermarks of every customer.
class watermark_tracker {
public:
  /// State of one source of one customer.
  struct source_state {
    std::int64_t max_event_ns = no_watermark; ///< highest event time seen
    std::int64_t last_seen_ns = 0;            ///< wall clock of its last event
    std::int64_t lateness_ns = 0;             ///< its allowed lateness
    bool eof = false;                         ///< end of input seen
  };

  /// Sources idle for `idle_timeout_ns` (wall clock) stop holding their customer back.
  watermark_tracker(lateness_policy lateness, std::int64_t idle_timeout_ns)
      : lateness_(std::move(lateness)), idle_timeout_ns_(idle_timeout_ns) {}

  /// An event of (customer, source) with time `event_ns`, seen at wall time `now_ns`.
  void observe(const std::string& customer, const std::string& source, std::int64_t event_ns,
               std::int64_t now_ns);
  /// End of input of (customer, source).
  void eof(const std::string& customer, const std::string& source, std::int64_t now_ns);
  /// Recomputes the customer's watermark at `now_ns`; returns it if it advanced.
  std::optional<std::int64_t> advance(const std::string& customer, std::int64_t now_ns);
  /// advance() for every customer; returns the customers whose watermark advanced.
  std::vector<std::pair<std::string, std::int64_t>> tick(std::int64_t now_ns);
  /// The customer's current watermark (no_watermark if unknown).
  std::int64_t watermark(const std::string& customer) const;
  /// True if the source is idle at `now_ns`.
  bool idle(const source_state& s, std::int64_t now_ns) const noexcept;
  /// The whole state as a wire::watermark_checkpoint (msgpack; checkpoints).
  std::string snapshot() const;
  /// Replaces the state with a snapshot's; false (state unchanged) on malformed input.
  bool restore(std::string_view bytes);
  /// One customer's sources and watermark, as save() found them (absent: not known then).
  struct saved_customer {
    std::optional<std::map<std::string, source_state>> sources;
    std::optional<std::int64_t> watermark;
  };
  /// The customer's state, to put back with put_back() (a round that failed to publish).
  saved_customer save(const std::string& customer) const;
  /// Restores what save() returned for `customer`.
  void put_back(const std::string& customer, saved_customer saved);
  /// Every customer's sources (for metrics).
  const std::map<std::string, std::map<std::string, source_state>>& sources() const noexcept {
    return sources_;
  }

private:
  lateness_policy lateness_;
  std::int64_t idle_timeout_ns_;
  std::map<std::string, std::map<std::string, source_state>> sources_;
  std::map<std::string, std::int64_t> watermarks_;
};

} // namespace chainwatch::watermark
