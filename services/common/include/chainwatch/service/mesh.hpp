#pragma once

// The mesh's JetStream streams with their recommended settings (docs/mesh.md), and a
// dead-letter sink every stage uses for records it cannot process.

#include "chainwatch/service/logging.hpp"
#include "chainwatch/service/metrics.hpp"
#include "chainwatch/service/nats_client.hpp"
#include "chainwatch/wire/messages.hpp"

#include <string>
#include <vector>

namespace chainwatch::service {

/// Stream CW_INGEST (cw.ingest.>): raw batches; file, 24h, dup window 2m.
stream_spec ingest_stream();
/// Stream CW_EVENTS (cw.events.>): normalized event batches; file, 24h, dup window 2m.
stream_spec events_stream();
/// Stream CW_PART (cw.part.>): partition batches; file, 24h, dup window 2m.
stream_spec partition_stream();
/// Stream CW_MATCH (cw.match.>): match batches; file, 7d, dup window 10m.
stream_spec match_stream();
/// Stream CW_ALERTS (cw.alerts.>): alerts; file, 30d, dup window 10m.
stream_spec alerts_stream();
/// Stream CW_DLQ (cw.dlq.>): dead letters; file, 7d.
stream_spec dlq_stream();
/// Stream CW_LATE (cw.late.>): late events; file, 7d.
stream_spec late_stream();
/// All of the above.
std::vector<stream_spec> mesh_streams();

/// Creates or updates every mesh stream (idempotent); stops at the first error.
nats_status ensure_mesh_streams(nats_client& client);

/// Publishes dead letters to cw.dlq.<customer>, counts them by reason
/// (`chainwatch_<service>_dead_letters_total{reason}`) and logs each reason rate-limited.
class dead_letter_sink {
public:
  /// Publishes through `client`, counts in `m`, logs at most once per `log_interval` per reason.
  dead_letter_sink(nats_client& client, metrics& m, std::string stage,
                   std::chrono::nanoseconds log_interval = std::chrono::seconds(10));

  /// Sends `letter` (stage and time_ns filled in if empty/zero); returns the publish status.
  /// `msg_id` (the Nats-Msg-Id) should name the input position (stream sequence, index), so a
  /// redelivered input does not file its dead letters twice.
  nats_status send(wire::dead_letter letter, const std::string& msg_id = {});

private:
  nats_client& client_;
  metrics& metrics_;
  std::string stage_;
  rate_limited_logger log_;
};

} // namespace chainwatch::service
