#pragma once

// Every metric of the watermark service, in one place.

#include "chainwatch/service/metrics.hpp"

#include <string>

namespace chainwatch::watermark {

/// The watermark service's metrics (chainwatch_watermark_*).
struct watermark_probe {
  /// Registers the metrics in `m`.
  explicit watermark_probe(service::metrics& m)
      : metrics_(m), batches_in(m.counter("batches_in", "event batches consumed")),
        events_in(m.counter("events_in", "events consumed")),
        events_routed(m.counter("events_routed", "events routed to at least one partition")),
        events_dropped(m.counter("events_dropped", "events no rule step can use (dropped)")),
        events_prerouted(m.counter("events_prerouted",
                                   "events the normalizer routed with these rules (not decoded)")),
        events_rerouted(m.counter("events_rerouted", "events the normalizer routed with other "
                                                     "rules (fingerprint differs): routed again")),
        events_out(m.counter("events_out", "partition items published (one per key)")),
        markers_out(m.counter("markers_out", "watermark markers published")),
        eof_markers(m.counter("eof_markers", "end-of-input markers received")),
        publish_retries(m.counter("publish_retries", "rounds republished after a failure")),
        latency(m.histogram("processing",
                            "time from fetch to ack of one fetched round of input batches",
                            service::latency_buckets())),
        queue_wait(m) {}

  /// Errors by reason.
  prometheus::Counter& errors(const std::string& reason) {
    return metrics_.counter("errors", "errors, by reason", {{"reason", reason}});
  }
  /// Late events by customer.
  prometheus::Counter& late(const std::string& customer) {
    return metrics_.counter("late_events", "events behind the watermark, sent to cw.late",
                            {{"customer", customer}});
  }
  /// Skewed events by customer.
  prometheus::Counter& skewed(const std::string& customer) {
    return metrics_.counter("skewed_events",
                            "events more than max_future ahead of their ingest time, sent to "
                            "cw.late with reason skew (they do not move the watermark)",
                            {{"customer", customer}});
  }
  /// Wall clock minus the customer watermark, seconds.
  prometheus::Gauge& customer_lag(const std::string& customer) {
    return metrics_.gauge("watermark_lag_seconds", "wall clock minus the customer watermark",
                          {{"customer", customer}});
  }
  /// Wall clock minus the source's max event time, seconds.
  prometheus::Gauge& source_lag(const std::string& customer, const std::string& source) {
    return metrics_.gauge("source_lag_seconds", "wall clock minus the source's max event time",
                          {{"customer", customer}, {"source", source}});
  }
  /// Idle sources by customer.
  prometheus::Gauge& idle_sources(const std::string& customer) {
    return metrics_.gauge("idle_sources", "sources idle past the idle timeout",
                          {{"customer", customer}});
  }

  service::metrics& metrics_;
  /// Event batches consumed.
  prometheus::Counter& batches_in;
  /// Events consumed.
  prometheus::Counter& events_in;
  /// Events routed.
  prometheus::Counter& events_routed;
  /// Events dropped early.
  prometheus::Counter& events_dropped;
  /// Events whose routes came from the normalizer.
  prometheus::Counter& events_prerouted;
  /// Events the normalizer routed with other rules.
  prometheus::Counter& events_rerouted;
  /// Partition items published.
  prometheus::Counter& events_out;
  /// Markers published.
  prometheus::Counter& markers_out;
  /// EOF markers received.
  prometheus::Counter& eof_markers;
  /// Rounds republished.
  prometheus::Counter& publish_retries;
  /// Per fetched round latency.
  prometheus::Histogram& latency;
  /// Time an event batch waited in CW_EVENTS.
  service::queue_wait_probe queue_wait;
};

} // namespace chainwatch::watermark
