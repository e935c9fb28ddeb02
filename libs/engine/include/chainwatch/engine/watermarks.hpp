#pragma once

// Event-time watermarks per customer and source, and the clock-skew guard (pure; the caller
// passes wall-clock time). `chainwatch hunt` (each input file a source) and the mesh's watermark
// service (each cw.events subject a source) run the same rules:
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
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace chainwatch::engine {

/// The watermark before anything was seen.
inline constexpr std::int64_t no_watermark = std::numeric_limits<std::int64_t>::min();
/// The watermark of a customer whose sources are all at EOF.
inline constexpr std::int64_t end_of_time = std::numeric_limits<std::int64_t>::max();

/// A duration per source: a default and overrides by "source" or "customer/source" (lateness,
/// the skew guard's max_future).
struct source_durations {
  /// Default, ns.
  std::int64_t default_ns = 5'000'000'000;
  /// Overrides: key "source" (all customers) or "customer/source"; value ns.
  std::map<std::string, std::int64_t, std::less<>> overrides;
  /// The duration of one source of one customer.
  std::int64_t of(const std::string& customer, const std::string& source) const;
};

/// Parses "src=5s,acme/zeek.conn=250ms" (durations as time::parse_duration).
std::optional<std::map<std::string, std::int64_t, std::less<>>>
parse_overrides(std::string_view text, std::string* error = nullptr);

/// Default of the skew guard: an event more than this ahead of its reference clock is skewed.
/// Five minutes: NTP keeps hosts within a second and unsynchronised devices drift by seconds a
/// day, while the clock faults that do harm are hours or years (a local time read as UTC, a
/// dead RTC); every minute allowed is a minute of other sources' events made late.
inline constexpr std::int64_t default_max_future_ns = 300'000'000'000;

/// True when `event_ns` is more than `max_future_ns` ahead of `reference_ns`.
constexpr bool skewed(std::int64_t event_ns, std::int64_t reference_ns,
                      std::int64_t max_future_ns) noexcept {
  return reference_ns != no_watermark && event_ns > reference_ns &&
         static_cast<std::uint64_t>(event_ns) - static_cast<std::uint64_t>(reference_ns) >
             static_cast<std::uint64_t>(max_future_ns);
}

/// The reference clock of a stream without a wall clock (`chainwatch hunt`): the skew guard
/// judges an event by its neighbours in the same source, the median time of the events read
/// just before it and of those just after it. It is skewed when it is ahead of both (the
/// first event by those after it alone); the last event of a source is never skewed (it can
/// hold nothing of its source back). A lone bad clock is caught, a real jump in time is not
/// (the events after it agree with it), and an ordered stream never trips it.
bool skewed_among(std::span<const std::int64_t> before, std::int64_t event_ns,
                  std::span<const std::int64_t> after, std::int64_t max_future_ns);

/// How far the watermark moved, and on what evidence.
struct watermark_update {
  /// The new customer watermark, ns.
  std::int64_t watermark_ns = no_watermark;
  /// Event time up to which input is complete: the highest event time seen when every source
  /// reached end of input (watermark +inf), else +inf. A missing step whose window ends after
  /// it is undecided (engine::engine::advance).
  std::int64_t horizon_ns = end_of_time;
  /// The wall clock moved it: every source still sending is idle.
  bool idle = false;
};

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
  /// Every customer's sources by name.
  using source_map = std::map<std::string, std::map<std::string, source_state>>;

  /// Sources idle for `idle_timeout_ns` (wall clock) stop holding their customer back.
  watermark_tracker(source_durations lateness, std::int64_t idle_timeout_ns)
      : lateness_(std::move(lateness)), idle_timeout_ns_(idle_timeout_ns) {}

  /// An event of (customer, source) with time `event_ns`, seen at wall time `now_ns`.
  void observe(const std::string& customer, const std::string& source, std::int64_t event_ns,
               std::int64_t now_ns);
  /// End of input of (customer, source).
  void eof(const std::string& customer, const std::string& source, std::int64_t now_ns);
  /// Recomputes the customer's watermark at `now_ns`; returns it if it advanced.
  std::optional<watermark_update> advance(const std::string& customer, std::int64_t now_ns);
  /// advance() for every customer; returns the customers whose watermark advanced.
  std::vector<std::pair<std::string, watermark_update>> tick(std::int64_t now_ns);
  /// The customer's current watermark (no_watermark if unknown).
  std::int64_t watermark(const std::string& customer) const;
  /// True if the source is idle at `now_ns`.
  bool idle(const source_state& s, std::int64_t now_ns) const noexcept;
  /// One customer's sources and watermark, as save() found them (absent: not known then).
  struct saved_customer {
    std::optional<std::map<std::string, source_state>> sources;
    std::optional<std::int64_t> watermark;
  };
  /// The customer's state, to put back with put_back() (a round that failed to publish).
  saved_customer save(const std::string& customer) const;
  /// Restores what save() returned for `customer`.
  void put_back(const std::string& customer, saved_customer saved);
  /// Every customer's sources (metrics, checkpoints).
  const source_map& sources() const noexcept { return sources_; }
  /// Every customer's watermark (checkpoints).
  const std::map<std::string, std::int64_t>& watermarks() const noexcept { return watermarks_; }
  /// Replaces the whole state (a checkpoint's).
  void assign(source_map sources, std::map<std::string, std::int64_t> watermarks);

private:
  source_durations lateness_;
  std::int64_t idle_timeout_ns_;
  source_map sources_;
  std::map<std::string, std::int64_t> watermarks_;
};

} // namespace chainwatch::engine
