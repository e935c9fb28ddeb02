#include "chainwatch/service/metrics.hpp"

#include "chainwatch/service/nats_client.hpp"

#include <algorithm>
#include <chrono>
#include <exception>
#include <prometheus/exposer.h>

namespace chainwatch::service {

std::vector<double> latency_buckets() {
  return {0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05,
          0.1,    0.2,    0.5,    1,     2,     5,     10,   20,   30};
}

metrics::metrics(std::string service)
    : service_(std::move(service)), registry_(std::make_shared<prometheus::Registry>()) {}

metrics::~metrics() = default;

expected<std::unique_ptr<metrics>, std::string> metrics::serve(std::string service,
                                                               const std::string& address) {
  auto m = std::make_unique<metrics>(std::move(service));
  try {
    // civetweb throws when it cannot bind; this is the adapter edge.
    m->exposer_ = std::make_unique<prometheus::Exposer>(address, 1);
  } catch (const std::exception& e) {
    return unexpected{"metrics: cannot listen on " + address + ": " + e.what()};
  }
  m->exposer_->RegisterCollectable(m->registry_);
  auto ports = m->exposer_->GetListeningPorts();
  if (!ports.empty()) m->port_ = static_cast<std::uint16_t>(ports.front());
  return m;
}

std::string metrics::name(const std::string& what, const char* suffix) const {
  return "chainwatch_" + service_ + "_" + what + suffix;
}

prometheus::Counter& metrics::counter(const std::string& what, const std::string& help,
                                      const metric_labels& labels) {
  std::lock_guard lock(mutex_);
  auto& family = counters_[what];
  if (family == nullptr)
    family = &prometheus::BuildCounter().Name(name(what, "_total")).Help(help).Register(*registry_);
  return family->Add(labels);
}

prometheus::Gauge& metrics::gauge(const std::string& what, const std::string& help,
                                  const metric_labels& labels) {
  std::lock_guard lock(mutex_);
  auto& family = gauges_[what];
  if (family == nullptr)
    family = &prometheus::BuildGauge().Name(name(what, "")).Help(help).Register(*registry_);
  return family->Add(labels);
}

prometheus::Histogram& metrics::histogram(const std::string& what, const std::string& help,
                                          const std::vector<double>& buckets,
                                          const metric_labels& labels) {
  std::lock_guard lock(mutex_);
  auto& family = histograms_[what];
  if (family == nullptr)
    family =
        &prometheus::BuildHistogram().Name(name(what, "_seconds")).Help(help).Register(*registry_);
  return family->Add(labels, buckets);
}

nats_probe::nats_probe(metrics& m)
    : reconnects_(m.counter("nats_reconnects", "NATS reconnections")),
      disconnects_(m.counter("nats_disconnects", "NATS disconnections")),
      publish_failures_(
          m.counter("nats_publish_failures", "JetStream async publishes rejected or timed out")),
      publish_duplicates_(m.counter("nats_publish_duplicates",
                                    "JetStream publishes dropped as duplicate Nats-Msg-Id")),
      connected_(m.gauge("nats_connected", "1 when both NATS connections are up")) {}

void nats_probe::update(const nats_client& client) {
  std::uint64_t now[4] = {client.reconnects(), client.disconnects(), client.js_publish_failures(),
                          client.js_publish_duplicates()};
  prometheus::Counter* targets[4] = {&reconnects_, &disconnects_, &publish_failures_,
                                     &publish_duplicates_};
  for (int i = 0; i < 4; ++i) {
    if (now[i] > last_[i]) targets[i]->Increment(static_cast<double>(now[i] - last_[i]));
    last_[i] = now[i];
  }
  connected_.Set(client.connected() ? 1 : 0);
}

queue_wait_probe::queue_wait_probe(metrics& m)
    : wait_(m.histogram("queue_wait",
                        "time a fetched message waited in its stream (store to fetch, wall clock)",
                        latency_buckets())) {}

void queue_wait_probe::observe(const std::vector<message>& fetched) {
  const std::int64_t now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count();
  for (const auto& msg : fetched) {
    auto meta = msg.meta();
    if (!meta || meta->timestamp_ns <= 0) continue;
    // Clocks of one host (or NTP-synced ones): a negative wait is skew, counted as none.
    wait_.Observe(static_cast<double>(std::max<std::int64_t>(0, now_ns - meta->timestamp_ns)) /
                  1e9);
  }
}

} // namespace chainwatch::service
