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
#include <memory>

namespace chainwatch::normalizer {

/// One normalizer replica.
class normalizer_service {
public:
  /// Uses `client` and registers metrics in `m`; both must outlive the service.
  normalizer_service(service::nats_client& client, service::metrics& m, normalizer_config cfg,
                     pipeline p);

  /// Ensures the mesh streams and binds the durable consumer.
  service::nats_status start();
  /// One fetch/normalize/publish/ack round; returns the number of input messages handled.
  std::size_t run_once();
  /// Runs rounds until `stop` becomes true, then finishes the round in progress.
  void run(const std::atomic<bool>& stop);
  /// Runs rounds until `stop()` returns true.
  template <class Stop>
  void run_until(Stop&& stop) {
    while (!stop())
      run_once();
  }

private:
  struct output {
    std::string subject;
    std::string data;
    std::string msg_id;
  };
  bool publish_round(const std::vector<output>& outs);

  service::nats_client& client_;
  normalizer_config cfg_;
  pipeline pipeline_;
  normalizer_probe probe_;
  service::dead_letter_sink dlq_;
  service::rate_limited_logger log_;
  std::unique_ptr<service::pull_consumer> consumer_;
};

} // namespace chainwatch::normalizer
