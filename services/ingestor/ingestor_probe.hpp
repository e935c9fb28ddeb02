#pragma once

// Every metric of the ingestor service, in one place.

#include "chainwatch/service/metrics.hpp"

#include <string>

namespace chainwatch::ingestor {

/// The ingestor's metrics (chainwatch_ingestor_*).
struct ingestor_probe {
  /// Registers the metrics in `m`.
  explicit ingestor_probe(service::metrics& m)
      : metrics_(m), events_out(m.counter("events_out", "records stored in CW_INGEST")),
        batches_out(m.counter("batches_out", "raw batches stored in CW_INGEST")),
        publish_retries(m.counter("publish_retries", "rounds republished after a failure")),
        connections(m.gauge("tcp_connections", "open TCP connections")),
        buffered_bytes(m.gauge("buffered_bytes", "accepted bytes not yet stored")),
        backpressure(m.counter("backpressure_waits", "times intake paused on a full buffer")),
        latency(m.histogram("publish", "time to store one round of batches",
                            service::latency_buckets())) {}

  /// Records received by protocol (chainwatch_ingestor_events_in_total{proto}).
  prometheus::Counter& events_in(const std::string& proto) {
    return metrics_.counter("events_in", "records received", {{"proto", proto}});
  }
  /// Errors by reason (chainwatch_ingestor_errors_total{reason}).
  prometheus::Counter& errors(const std::string& reason) {
    return metrics_.counter("errors", "errors, by reason", {{"reason", reason}});
  }
  /// Flushes by reason (chainwatch_ingestor_flushes_total{reason}).
  prometheus::Counter& flushes(const std::string& reason) {
    return metrics_.counter("flushes", "batches flushed, by reason", {{"reason", reason}});
  }

  service::metrics& metrics_;
  /// Records stored.
  prometheus::Counter& events_out;
  /// Batches stored.
  prometheus::Counter& batches_out;
  /// Rounds republished.
  prometheus::Counter& publish_retries;
  /// Open TCP connections.
  prometheus::Gauge& connections;
  /// Accepted, not yet stored bytes.
  prometheus::Gauge& buffered_bytes;
  /// Intake pauses.
  prometheus::Counter& backpressure;
  /// Round latency.
  prometheus::Histogram& latency;
};

} // namespace chainwatch::ingestor
