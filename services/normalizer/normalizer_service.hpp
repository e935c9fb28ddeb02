#pragma once

// The normalizer's NATS loop: fetch raw batches from CW_INGEST, normalize them, publish
// event_batches to cw.events.<customer>.<source> and dead letters to cw.dlq.<customer>, then
// acknowledge the inputs once every output is stored.

#include "chainwatch/service/mesh.hpp"
#include "chainwatch/service/nats_client.hpp"
#include "normalizer_config.hpp"
#include "normalizer_probe.hpp"
#include "pipeline.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>

namespace chainwatch::normalizer {

/// One normalizer replica.
class normalizer_service {
public:
  /// Uses `client` and registers metrics in `m`; both must outlive the service.
  normalizer_service(service::nats_client& client, service::metrics& m, normalizer_config cfg,
                     pipeline p);

  /// Ensures the mesh streams and binds the durable consumer.
  service::nats_status start();
  /// One fetch/normalize/publish round; returns the number of input messages handled. Under
  /// load (a full fetch) the round's outputs are still being stored when it returns: the next
  /// round normalizes meanwhile and acks this one's inputs once they are stored, before
  /// publishing its own (so outputs keep the input order). Otherwise the round is settled.
  std::size_t run_once();
  /// Waits for the publishes of the round in flight and acks (or naks) its inputs.
  void settle();
  /// Inputs of the round in flight (unacked until settled).
  std::size_t in_flight() const noexcept { return in_flight_ ? in_flight_->inputs.size() : 0; }
  /// Runs rounds until `stop` becomes true, then settles the round in flight.
  void run(const std::atomic<bool>& stop);
  /// Runs rounds until `stop()` returns true, then settles the round in flight.
  template <class Stop>
  void run_until(Stop&& stop) {
    while (!stop())
      run_once();
    settle();
  }

private:
  struct output {
    std::string subject;
    std::string data;
    std::string msg_id;
  };
  /// Publishes `outs` asynchronously; false if one could not be sent.
  bool publish_async(const std::vector<output>& outs);
  /// Waits for the acks of what publish_async sent; republishes up to publish_retries times.
  bool complete_round(const std::vector<output>& outs, bool sent);

  service::nats_client& client_;
  normalizer_config cfg_;
  pipeline pipeline_;
  normalizer_probe probe_;
  service::dead_letter_sink dlq_;
  service::rate_limited_logger log_;
  std::unique_ptr<service::pull_consumer> consumer_;
  // The round in flight: its inputs, published outputs and start time (settle()).
  struct round_in_flight {
    std::vector<service::message> inputs;
    std::vector<output> outs;
    bool sent = false;
    std::chrono::steady_clock::time_point started;
  };
  std::optional<round_in_flight> in_flight_;
  std::uint64_t failures_before_ = 0; // js_publish_failures() when the round was published
};

} // namespace chainwatch::normalizer
