#pragma once

// The alerter: durable pull consumer `alerter` on CW_MATCH; each match becomes an alert JSON on
// CW_ALERTS (cw.alerts.<customer>.<severity>.<rule_id>, deterministic msg id); inputs are
// acknowledged once the alerts are stored.

#include "alert.hpp"
#include "rule_catalog.hpp"

#include <atomic>
#include <chainwatch/service/blob_store.hpp>
#include <chainwatch/service/logging.hpp>
#include <chainwatch/service/mesh.hpp>
#include <chainwatch/service/runtime.hpp>
#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>

namespace chainwatch::alerter {

/// Settings of the alerter, section [alerter] (config/alerter.toml documents each).
struct alerter_config {
  std::string rules = "config/rules";                  ///< rule files/directories, comma-separated
  std::int64_t suppress_window_ns = 3'600'000'000'000; ///< per (rule, key); 0 disables
  std::int64_t fetch_batch = 64;                       ///< match batches per fetch
  std::int64_t fetch_timeout_ns = 500'000'000;         ///< fetch wait
  std::int64_t ack_wait_ns = 5'000'000'000;            ///< redelivery of an unacked batch
  std::int64_t publish_timeout_ns = 10'000'000'000;    ///< wait for alert acks before retrying
  std::int64_t checkpoint_interval_ns =
      1'000'000'000;               ///< suppression checkpoints, at most this often
  std::string durable = "alerter"; ///< consumer name (shared by instances)
};

/// Binds the [alerter] keys.
void bind(service::config_binder& b, alerter_config& c);

/// Every metric of the alerter (`chainwatch_alerter_*`).
struct alerter_probe {
  /// Registers the metrics in `m`.
  explicit alerter_probe(service::metrics& m);
  service::metrics& metrics;
  prometheus::Counter& messages_in;         ///< match_batch messages processed
  prometheus::Counter& matches_in;          ///< matches received
  prometheus::Counter& alerts_out;          ///< alerts published (all rules)
  prometheus::Counter& suppressed;          ///< matches suppressed within the window
  prometheus::Counter& repeats;             ///< identical matches republished (deduplicated)
  prometheus::Counter& publish_retries;     ///< output rounds republished after a failure
  prometheus::Counter& checkpoints;         ///< suppression checkpoints written
  prometheus::Histogram& processing;        ///< time to process one match_batch message
  prometheus::Histogram& detection;         ///< wall clock at alert - last event time
  prometheus::Histogram& event_time_lag;    ///< watermark at detection - last event time
  prometheus::Histogram& watermark_latency; ///< wall clock at alert - when the watermark passed
  service::queue_wait_probe queue_wait;     ///< time a match_batch waited in CW_MATCH
  /// `chainwatch_alerter_alerts_total{rule, severity}`.
  prometheus::Counter& alert(const std::string& rule, const std::string& severity);
  /// `chainwatch_alerter_errors_total{reason}`.
  prometheus::Counter& error(const std::string& reason);
};

/// The running alerter.
class alerter_service {
public:
  /// Uses `nats` and `m` (both outlive it) and the rule metadata in `rules`.
  alerter_service(service::nats_client& nats, service::metrics& m, alerter_config cfg,
                  std::shared_ptr<const matcher::rule_catalog> rules);
  /// Stops (see stop()).
  ~alerter_service();
  alerter_service(const alerter_service&) = delete;
  alerter_service& operator=(const alerter_service&) = delete;

  /// Ensures the streams, creates the consumer and starts the fetch thread.
  service::nats_status start();
  /// Stops fetching, finishes the batch in hand (publish, ack).
  void stop();
  /// The metrics.
  alerter_probe& probe() noexcept { return probe_; }

private:
  void loop();
  /// Acks the processed inputs in hand once the suppression state they changed is checkpointed
  /// (every checkpoint_interval, or now when `now`); inputs that changed nothing are acked at once.
  /// The checkpoint is written beside the loop (at most one at a time), so match batches do not
  /// wait for it: writing a state of 10k entries took tens of ms, the alerter's p99 queue wait.
  void settle(bool now);
  /// Collects the checkpoint being written, waiting for it when `wait`; false while it runs.
  bool collect_checkpoint(bool wait);

  service::nats_client& nats_;
  alerter_config cfg_;
  std::shared_ptr<const matcher::rule_catalog> rules_;
  alerter_probe probe_;
  service::dead_letter_sink dlq_;
  suppressor suppressor_;
  // The suppressor's state survives restarts: KV cw_checkpoints, blob `alerter.<durable>`,
  // written after the alerts are stored and before the inputs that made them are acked. The
  // whole state is written, so at most once per checkpoint_interval: until then the inputs stay
  // unacked (a crash redelivers them; their alerts are repeats with the same msg ids).
  std::unique_ptr<service::kv_bucket> checkpoints_kv_;
  std::unique_ptr<service::blob_store> checkpoints_;
  std::unique_ptr<service::pull_consumer> in_;
  std::vector<service::message> unacked_; ///< processed and published, awaiting the checkpoint
  bool dirty_ = false;                    ///< the suppressor changed since the last checkpoint
  /// The checkpoint being written and acked beside the loop: its error, if it failed.
  std::future<std::optional<std::string>> saving_;
  std::chrono::steady_clock::time_point checkpoint_due_{};
  std::thread thread_;
  std::atomic<bool> stop_{false};
  service::rate_limited_logger log_;
};

/// Runs the service until SIGTERM/SIGINT; returns the exit code.
int run(service::runtime& rt, const alerter_config& cfg);

} // namespace chainwatch::alerter
