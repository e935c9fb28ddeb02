#pragma once

// Prometheus metrics of one service: a registry, an optional HTTP exposer, and helpers that name
// metrics `chainwatch_<service>_<what>_total` (counters), `chainwatch_<service>_<what>` (gauges)
// and `chainwatch_<service>_<what>_seconds` (histograms).
//
// Probe pattern: each service declares one struct listing all its metrics, built from a
// `metrics&` in its constructor, so the metric set is greppable in one place:
//
//   struct normalizer_probe {
//     explicit normalizer_probe(service::metrics& m)
//         : events(m.counter("events", "events normalized")),
//           batch_latency(m.histogram("batch", "batch processing time",
//           service::latency_buckets())) {}
//     prometheus::Counter& events;
//     prometheus::Histogram& batch_latency;
//     prometheus::Counter& dead_letter(std::string_view reason);  // labelled, cached by family
//   };

#include "chainwatch/base/expected.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <string>
#include <vector>

namespace prometheus {
class Exposer;
} // namespace prometheus

namespace chainwatch::service {

class nats_client;
class message;

/// Label name/value pairs of one time series.
using metric_labels = std::map<std::string, std::string>;

/// Histogram buckets for latencies: 100 us to 30 s in 1-2-5 steps (seconds), fine enough for a
/// p99 near a 50 ms target to read within 20-50 ms rather than 30-100 ms.
std::vector<double> latency_buckets();

/// The registry and exposer of one service.
class metrics {
public:
  /// A registry without HTTP exposure (tests, tools).
  explicit metrics(std::string service);
  /// A registry served on `address` ("host:port", port 0 = any) at /metrics; fails if the
  /// address cannot be bound.
  static expected<std::unique_ptr<metrics>, std::string> serve(std::string service,
                                                               const std::string& address);
  ~metrics();

  /// The counter `chainwatch_<service>_<what>_total{labels}` (created on first use).
  prometheus::Counter& counter(const std::string& what, const std::string& help,
                               const metric_labels& labels = {});
  /// The gauge `chainwatch_<service>_<what>{labels}`.
  prometheus::Gauge& gauge(const std::string& what, const std::string& help,
                           const metric_labels& labels = {});
  /// The histogram `chainwatch_<service>_<what>_seconds{labels}` with `buckets` (seconds).
  prometheus::Histogram& histogram(const std::string& what, const std::string& help,
                                   const std::vector<double>& buckets,
                                   const metric_labels& labels = {});

  /// The underlying registry.
  const std::shared_ptr<prometheus::Registry>& registry() const noexcept { return registry_; }
  /// The bound HTTP port (0 without an exposer).
  std::uint16_t port() const noexcept { return port_; }
  /// The service name used in metric names.
  const std::string& service() const noexcept { return service_; }

private:
  std::string name(const std::string& what, const char* suffix) const;

  std::string service_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::uint16_t port_ = 0;
  std::mutex mutex_;
  std::map<std::string, prometheus::Family<prometheus::Counter>*> counters_;
  std::map<std::string, prometheus::Family<prometheus::Gauge>*> gauges_;
  std::map<std::string, prometheus::Family<prometheus::Histogram>*> histograms_;
};

/// The NATS client's own metrics (reconnects, disconnects, JetStream publish failures and
/// duplicates), as `chainwatch_<service>_nats_*_total`. Call update() periodically.
class nats_probe {
public:
  /// Registers the metrics.
  explicit nats_probe(metrics& m);
  /// Copies the client's counters into the metrics.
  void update(const nats_client& client);

private:
  prometheus::Counter& reconnects_;
  prometheus::Counter& disconnects_;
  prometheus::Counter& publish_failures_;
  prometheus::Counter& publish_duplicates_;
  prometheus::Gauge& connected_;
  std::uint64_t last_[4] = {0, 0, 0, 0};
};

/// How long fetched JetStream messages waited in their stream before this service took them
/// (`chainwatch_<service>_queue_wait_seconds`): wall clock at fetch minus the time nats-server
/// stored the message. A consumer's lag in time, and this hop's share of an event's end-to-end
/// latency (the processing histograms hold the rest).
class queue_wait_probe {
public:
  /// Registers the histogram.
  explicit queue_wait_probe(metrics& m);
  /// Observes every JetStream message of a fetch, now (core NATS messages, which carry no store
  /// time, are skipped).
  void observe(const std::vector<message>& fetched);

private:
  prometheus::Histogram& wait_;
};

} // namespace chainwatch::service
