#pragma once

// Pure alert building: a match (wire::match_batch item) plus its rule's metadata becomes the alert
// JSON published on cw.alerts.<customer>.<severity>.<rule_id>; repeats per (rule, key) are
// suppressed within a window of event time.

#include <chainwatch/rules/rule.hpp>
#include <chainwatch/wire/messages.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

namespace chainwatch::alerter {

/// One alert ready to publish.
struct alert {
  std::string subject;  ///< cw.alerts.<customer>.<severity>.<rule_id>
  std::string msg_id;   ///< a.<hash of customer, rule, key, first_ns, last_ns>
  std::string severity; ///< the rule's severity ("unknown" without a rule)
  std::string json;     ///< the alert document
};

/// The deterministic Nats-Msg-Id of the alert of `m`.
std::string alert_id(std::string_view customer, const wire::match& m);

/// Builds the alert of match `m` of `customer`; `rule` may be null (unknown rule id).
/// `detected_ns` is the wall-clock detection time. Evidence events that do not decode are
/// rendered as null and counted in `bad_events`.
alert build_alert(std::string_view customer, const wire::match& m, const rules::rule* rule,
                  std::int64_t detected_ns, std::size_t& bad_events);

/// Decides which matches become alerts: per (customer, rule, key) at most one alert within
/// `window_ns` of event time (between the last events of the alerted and the new match).
class suppressor {
public:
  /// What to do with a match.
  enum class decision : std::uint8_t {
    publish,  ///< a new alert
    repeat,   ///< the very match alerted before: republish (the msg id makes it a duplicate)
    suppress, ///< a different match within the window: counted, not published
  };
  /// `window_ns` 0 disables suppression.
  explicit suppressor(std::int64_t window_ns) : window_ns_(window_ns) {}
  /// Decides for match `m` of `customer` and remembers published ones.
  decision admit(std::string_view customer, const wire::match& m);
  /// Remembered (customer, rule, key) entries.
  std::size_t size() const noexcept { return last_.size(); }
  /// The remembered entries as bytes (checkpoints), sorted, so equal states give equal bytes.
  std::string snapshot() const;
  /// Replaces the entries with a snapshot's; false (nothing changed) on malformed input.
  bool restore(std::string_view bytes);

private:
  struct seen {
    std::int64_t first_ns = 0;
    std::int64_t last_ns = 0;
  };
  std::int64_t window_ns_;
  std::int64_t newest_ns_ = INT64_MIN;
  std::unordered_map<std::string, seen> last_;
};

/// A subject token from `text` ([A-Za-z0-9_-], others replaced by '_'; "unknown" if empty).
std::string token_of(std::string_view text);

} // namespace chainwatch::alerter
