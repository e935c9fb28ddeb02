#include "probe.hpp"

namespace chainwatch::matcher {

matcher_probe::matcher_probe(service::metrics& m)
    : metrics(m), messages_in(m.counter("messages_in", "partition_batch messages processed")),
      events_in(m.counter("events_in", "event items received")),
      markers_in(m.counter("markers_in", "watermark markers received")),
      matches_out(m.counter("matches", "matches published on cw.match")),
      late_events(m.counter("late_events", "events behind the watermark, sent to cw.late")),
      overflow(m.counter("overflow", "partial sequences dropped at max_pending")),
      suppressed(m.counter("suppressed", "alerts held back by a rule's alert_suppression")),
      partitions_owned(m.gauge("partitions_owned", "partitions this node works on")),
      rebalances(m.counter("rebalances", "partitions taken or handed over")),
      leases_lost(m.counter("leases_lost", "partition leases lost (workers fenced)")),
      checkpoints(m.counter("checkpoints", "partition checkpoints written")),
      checkpoint_bytes(m.gauge("checkpoint_bytes", "size of the last partition checkpoint")),
      checkpoint_seconds(m.histogram("checkpoint", "time to snapshot and store a checkpoint",
                                     service::latency_buckets())),
      restores(m.counter("restores", "partitions restored from a checkpoint")),
      restore_seconds(m.histogram("restore", "time to load and restore a checkpoint",
                                  service::latency_buckets())),
      piped_dropped(
          m.counter("piped_dropped", "matches of rules with pipes (not run in the mesh)")),
      undecided(m.counter("undecided", "missing steps whose window was still open in event time "
                                       "when every source ended (not alerted)")),
      publish_retries(m.counter("publish_retries", "output rounds republished after a failure")),
      processing(m.histogram("processing", "time to process one partition_batch message",
                             service::latency_buckets())),
      queue_wait(m) {}

prometheus::Gauge& matcher_probe::partition_lag(std::uint32_t p) {
  return metrics.gauge("partition_lag", "CW_PART messages of the partition not yet fetched",
                       {{"partition", std::to_string(p)}});
}

prometheus::Counter& matcher_probe::error(const std::string& reason) {
  return metrics.counter("errors", "inputs dropped, by reason", {{"reason", reason}});
}

void matcher_probe::set_partition(std::uint32_t p, std::int64_t live_keys, std::int64_t pending,
                                  std::int64_t state_bytes) {
  service::metric_labels l{{"partition", std::to_string(p)}};
  metrics.gauge("live_keys", "(customer, join key) states held", l)
      .Set(static_cast<double>(live_keys));
  metrics.gauge("pending_sequences", "pending partial sequences", l)
      .Set(static_cast<double>(pending));
  metrics
      .gauge("state_bytes",
             "approximate bytes of key states (events excluded; updated every second)", l)
      .Set(static_cast<double>(state_bytes));
}

} // namespace chainwatch::matcher
