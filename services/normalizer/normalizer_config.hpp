#pragma once

// The normalizer's own keys, section [normalizer] (documented in config/normalizer.toml).

#include "chainwatch/service/config.hpp"

#include <cstdint>
#include <string>

namespace chainwatch::normalizer {

/// Settings of the normalizer service.
struct normalizer_config {
  /// Durable consumer on CW_INGEST shared by every replica.
  std::string durable = "normalizer";
  /// Only consume this subject (e.g. "cw.ingest.acme.>"); empty = the whole stream.
  std::string filter_subject;
  /// Directory of the mapping tables (<name>.toml), e.g. config/sources.
  std::string sources_dir = "config/sources";
  /// Field holding the event time.
  std::string timestamp_field = "@timestamp";
  /// Keep the raw record in each event_record (alert evidence; doubles the volume).
  bool keep_raw = false;
  /// Rule TOML files or directories, comma-separated: route each event with them (its join keys
  /// and step hits travel in the event_record, so the watermark service need not decode and
  /// route it). Empty: do not route (the watermark service does). The same rules, lists,
  /// event_type_field and case_sensitive as the watermark service's, or it routes again.
  std::string rules;
  /// Lookup list directories, comma-separated.
  std::string lists;
  /// Field holding the event category (as the watermark service's).
  std::string event_type_field = "event.category";
  /// Case-sensitive comparisons and join keys (as the watermark service's).
  bool case_sensitive = true;
  /// Raw batches fetched per round.
  std::int64_t fetch_batch = 16;
  /// How long a fetch waits for input, ns.
  std::int64_t fetch_timeout_ns = 500'000'000;
  /// Redelivery of an unacknowledged raw batch (a crashed replica's) to the others, ns.
  std::int64_t ack_wait_ns = 5'000'000'000;
  /// Maximum events per published event_batch (a raw batch may be split).
  std::int64_t max_events = 1000;
  /// Maximum size hint of one published event_batch, bytes.
  std::int64_t max_bytes = 512 * 1024;
  /// How long to wait for the publish acks of one round, ns.
  std::int64_t publish_timeout_ns = 30'000'000'000;
  /// Republish attempts of a round whose publishes failed, before the inputs are nak'ed.
  std::int64_t publish_retries = 5;
};

/// Binds the [normalizer] keys.
void bind(service::config_binder& b, normalizer_config& c);

} // namespace chainwatch::normalizer
