#pragma once

// Every metric of the matcher, in one place (`chainwatch_matcher_*`).

#include <chainwatch/service/metrics.hpp>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace chainwatch::matcher {

/// The matcher's metrics.
struct matcher_probe {
  /// Registers the metrics in `m`.
  explicit matcher_probe(service::metrics& m);

  service::metrics& metrics;
  prometheus::Counter& messages_in;          ///< partition_batch messages processed
  prometheus::Counter& events_in;            ///< event items taken
  prometheus::Counter& markers_in;           ///< watermark markers taken
  prometheus::Counter& matches_out;          ///< matches published
  prometheus::Counter& late_events;          ///< events behind the watermark (to cw.late)
  prometheus::Counter& overflow;             ///< partials dropped at max_pending
  prometheus::Counter& suppressed;           ///< alerts held back by alert_suppression
  prometheus::Gauge& partitions_owned;       ///< partitions this node works on
  prometheus::Counter& rebalances;           ///< partitions taken or handed over
  prometheus::Counter& leases_lost;          ///< leases lost (workers fenced)
  prometheus::Counter& checkpoints;          ///< partition checkpoints written
  prometheus::Gauge& checkpoint_bytes;       ///< size of the last checkpoint written
  prometheus::Histogram& checkpoint_seconds; ///< time to snapshot and store one
  prometheus::Counter& restores;             ///< partitions restored from a checkpoint
  prometheus::Histogram& restore_seconds;    ///< time to load and restore one
  prometheus::Counter& piped_dropped;        ///< matches of rules with pipes, dropped
  prometheus::Counter& undecided;            ///< absences undecided at the end of input
  prometheus::Counter& publish_retries;      ///< output rounds republished after a failure
  prometheus::Histogram& processing;         ///< time to process one partition_batch message
  service::queue_wait_probe queue_wait;      ///< time a partition_batch waited in CW_PART

  /// `chainwatch_matcher_partition_lag{partition}`: CW_PART messages not yet fetched (after a
  /// takeover: how far the replay from the checkpoint still has to go).
  prometheus::Gauge& partition_lag(std::uint32_t p);
  /// `chainwatch_matcher_errors_total{reason}`.
  prometheus::Counter& error(const std::string& reason);
  /// Sets the per-partition gauges (key states, pending sequences, state bytes).
  void set_partition(std::uint32_t p, std::int64_t live_keys, std::int64_t pending,
                     std::int64_t state_bytes);
};

} // namespace chainwatch::matcher
