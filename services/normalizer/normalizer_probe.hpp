#pragma once

// Every metric of the normalizer service, in one place.

#include "chainwatch/service/metrics.hpp"

#include <string>

namespace chainwatch::normalizer {

/// The normalizer's metrics (chainwatch_normalizer_*).
struct normalizer_probe {
  /// Registers the metrics in `m`.
  explicit normalizer_probe(service::metrics& m)
      : metrics_(m), batches_in(m.counter("batches_in", "raw batches consumed")),
        events_in(m.counter("events_in", "raw records consumed")),
        events_out(m.counter("events_out", "normalized events published")),
        batches_out(m.counter("batches_out", "event batches published")),
        eof_markers(m.counter("eof_markers", "end-of-input markers forwarded")),
        publish_retries(m.counter("publish_retries", "rounds republished after a failure")),
        naks(m.counter("naks", "input batches nak'ed after publish failures")),
        latency(m.histogram("processing", "time from fetch to ack of one round",
                            service::latency_buckets())),
        queue_wait(m) {}

  /// Errors by reason (chainwatch_normalizer_errors_total{reason}).
  prometheus::Counter& errors(const std::string& reason) {
    return metrics_.counter("errors", "records or batches rejected, by reason",
                            {{"reason", reason}});
  }

  service::metrics& metrics_;
  /// Raw batches consumed.
  prometheus::Counter& batches_in;
  /// Raw records consumed.
  prometheus::Counter& events_in;
  /// Normalized events published.
  prometheus::Counter& events_out;
  /// Event batches published.
  prometheus::Counter& batches_out;
  /// EOF markers forwarded.
  prometheus::Counter& eof_markers;
  /// Rounds republished.
  prometheus::Counter& publish_retries;
  /// Inputs nak'ed.
  prometheus::Counter& naks;
  /// Round latency.
  prometheus::Histogram& latency;
  /// Time a raw batch waited in CW_INGEST.
  service::queue_wait_probe queue_wait;
};

} // namespace chainwatch::normalizer
