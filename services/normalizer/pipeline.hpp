#pragma once

// The normalizer's pure part: one raw_batch in, event_batches (split by size) and dead letters
// out. No NATS here, so it is tested without a server.

#include "chainwatch/base/expected.hpp"
#include "chainwatch/engine/engine.hpp"
#include "chainwatch/normalize/normalizer.hpp"
#include "chainwatch/wire/messages.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace chainwatch::event {
class json_decoder;
} // namespace chainwatch::event

namespace chainwatch::normalizer {

/// What one raw batch turns into.
struct pipeline_output {
  /// Subject token of the source (source type with '.' replaced by '_').
  std::string source_token;
  /// Normalized events as encoded event_batch messages (wire::encode's form), split into
  /// batches of at most max_events / max_bytes.
  std::vector<std::string> batches;
  /// Records (or the whole batch) that could not be normalized.
  std::vector<wire::dead_letter> dead_letters;
  /// Number of events in `batches`.
  std::size_t events = 0;
};

/// Pipeline settings.
struct pipeline_options {
  /// Field holding the event time.
  std::string timestamp_field = "@timestamp";
  /// Keep the raw record in each event_record.
  bool keep_raw = false;
  /// Maximum events per output batch.
  std::size_t max_events = 1000;
  /// Maximum size hint of one output batch, bytes.
  std::size_t max_bytes = 512 * 1024;
  /// Rules to route each event with (event_record::rules, routes, event_rules); null: none.
  std::shared_ptr<const engine::ruleset> rules = nullptr;
};

/// Normalizes raw batches of any source type the normalize library knows.
class pipeline {
public:
  /// Compiles the mapping tables found in `sources_dir` (every `<name>.toml`; a missing
  /// directory means no tables: `ecs` still works).
  static expected<pipeline, std::string> create(const std::string& sources_dir,
                                                pipeline_options opts);
  pipeline(pipeline&&) noexcept;
  pipeline& operator=(pipeline&&) noexcept;
  ~pipeline();

  /// Normalizes `in`; `now_ns` stamps the dead letters.
  pipeline_output process(const wire::raw_batch& in, std::int64_t now_ns);

  /// The subject token of a source type name ("zeek.dns" -> "zeek_dns").
  static std::string source_token(std::string_view source_type);

private:
  pipeline() = default;
  pipeline_options opts_;
  std::optional<normalize::normalizer> normalizer_;
  std::unique_ptr<event::json_decoder> json_;
  std::optional<engine::router> router_;
  std::string event_bytes_;                   ///< scratch: one event's msgpack
  std::vector<wire::event_route_ref> routes_; ///< scratch: one event's routes
};

} // namespace chainwatch::normalizer
