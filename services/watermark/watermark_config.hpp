#pragma once

// The watermark service's own keys, section [watermark] (documented in config/watermark.toml).

#include "chainwatch/service/config.hpp"

#include <cstdint>
#include <string>

namespace chainwatch::watermark {

/// Settings of the watermark service.
struct watermark_config {
  /// Durable consumer on CW_EVENTS.
  std::string durable = "watermark";
  /// Only consume this subject, e.g. "cw.events.acme.>" (shard by customer); empty = all.
  std::string filter_subject;
  /// Partitions P of the deployment (cw.part.0 .. P-1); must match the matchers.
  std::int64_t partitions = 8;
  /// Rule TOML files or directories, comma-separated (same as the matcher's).
  std::string rules = "config/rules";
  /// Lookup list directories, comma-separated.
  std::string lists = "config/lists";
  /// Field holding the event category (as the matcher).
  std::string event_type_field = "event.category";
  /// Case-sensitive comparisons and join keys (as the matcher and hunt).
  bool case_sensitive = true;
  /// Default allowed lateness, ns.
  std::int64_t lateness_ns = 5'000'000'000;
  /// Per-source lateness overrides: "source=10s,customer/source=250ms".
  std::string lateness_overrides;
  /// The skew guard: an event more than this ahead of its ingest time is skewed, ns.
  std::int64_t max_future_ns = 300'000'000'000;
  /// Per-source max_future overrides, as lateness_overrides.
  std::string max_future_overrides;
  /// A source without events for this long stops holding its customer's watermark back, ns.
  std::int64_t idle_timeout_ns = 30'000'000'000;
  /// Minimum interval between two idle-driven (wall-clock) marker rounds, ns.
  std::int64_t marker_interval_ns = 1'000'000'000;
  /// Input event batches fetched at most at once (a round; larger under a backlog: fewer and
  /// fuller partition messages).
  std::int64_t fetch_batch = 64;
  /// How long a fetch waits, ns (also the idle-check period when no input arrives).
  std::int64_t fetch_timeout_ns = 200'000'000;
  /// Maximum items per published partition_batch.
  std::int64_t max_items = 1000;
  /// Maximum size hint of one partition_batch, bytes.
  std::int64_t max_bytes = 512 * 1024;
  /// How long to wait for the publish acks of one round, ns.
  std::int64_t publish_timeout_ns = 30'000'000'000;
  /// Republish attempts of a failed round before the input is nak'ed.
  std::int64_t publish_retries = 5;
  /// How often the per-source state is checkpointed to KV cw_checkpoints, ns (0 = never).
  std::int64_t checkpoint_interval_ns = 1'000'000'000;
};

/// Binds the [watermark] keys.
void bind(service::config_binder& b, watermark_config& c);

} // namespace chainwatch::watermark
