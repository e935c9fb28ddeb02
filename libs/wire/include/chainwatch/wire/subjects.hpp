#pragma once

// NATS subject names of the mesh (docs/mesh.md). Customer ids, source names, severities and
// rule ids must be valid subject tokens; check them with valid_token before building subjects.

#include <cstdint>
#include <string>
#include <string_view>

namespace chainwatch::wire {

/// True if `token` is a non-empty subject token of [A-Za-z0-9_-] only (no '.', '*', '>', space).
bool valid_token(std::string_view token) noexcept;

/// "cw.ingest.<customer>.<source>": raw_batch.
std::string ingest_subject(std::string_view customer, std::string_view source);
/// "cw.events.<customer>.<source>": event_batch.
std::string events_subject(std::string_view customer, std::string_view source);
/// "cw.part.<p>": partition_batch.
std::string partition_subject(std::uint32_t partition);
/// "cw.match.<customer>": match_batch.
std::string match_subject(std::string_view customer);
/// "cw.alerts.<customer>.<severity>.<rule_id>": alerts.
std::string alert_subject(std::string_view customer, std::string_view severity,
                          std::string_view rule_id);
/// "cw.dlq.<customer>": dead_letter.
std::string dlq_subject(std::string_view customer);
/// "cw.late.<customer>": late_event.
std::string late_subject(std::string_view customer);

/// Returns the `index`-th (0-based) dot-separated token of `subject`, or "" if absent.
std::string_view subject_token(std::string_view subject, std::size_t index) noexcept;

} // namespace chainwatch::wire
