#include "chainwatch/service/mesh.hpp"

#include "chainwatch/wire/subjects.hpp"

#include <chrono>

namespace chainwatch::service {

namespace {

constexpr std::int64_t minute_ns = 60LL * 1'000'000'000;
constexpr std::int64_t day_ns = 24 * 60 * minute_ns;

stream_spec make(const char* name, const char* subject, std::int64_t max_age_ns,
                 std::int64_t dup_ns) {
  stream_spec s;
  s.name = name;
  s.subjects = {subject};
  s.storage = storage_kind::file;
  s.max_age_ns = max_age_ns;
  s.duplicate_window_ns = dup_ns;
  return s;
}

} // namespace

stream_spec ingest_stream() {
  return make("CW_INGEST", "cw.ingest.>", day_ns, 2 * minute_ns);
}
stream_spec events_stream() {
  return make("CW_EVENTS", "cw.events.>", day_ns, 2 * minute_ns);
}
stream_spec partition_stream() {
  return make("CW_PART", "cw.part.>", day_ns, 2 * minute_ns);
}
stream_spec match_stream() {
  // Matches and alerts are few; an hour of msg ids covers a matcher replaying from its checkpoint
  // after a long outage (the replay re-emits what was published before the crash).
  return make("CW_MATCH", "cw.match.>", 7 * day_ns, 60 * minute_ns);
}
stream_spec alerts_stream() {
  return make("CW_ALERTS", "cw.alerts.>", 30 * day_ns, 60 * minute_ns);
}
stream_spec dlq_stream() {
  return make("CW_DLQ", "cw.dlq.>", 7 * day_ns, 0);
}
stream_spec late_stream() {
  return make("CW_LATE", "cw.late.>", 7 * day_ns, 0);
}

std::vector<stream_spec> mesh_streams() {
  return {ingest_stream(), events_stream(), partition_stream(), match_stream(),
          alerts_stream(), dlq_stream(),    late_stream()};
}

nats_status ensure_mesh_streams(nats_client& client) {
  for (const auto& spec : mesh_streams())
    if (auto r = client.ensure_stream(spec); !r) return r;
  return nats_ok();
}

dead_letter_sink::dead_letter_sink(nats_client& client, metrics& m, std::string stage,
                                   std::chrono::nanoseconds log_interval)
    : client_(client), metrics_(m), stage_(std::move(stage)), log_(log_interval) {}

nats_status dead_letter_sink::send(wire::dead_letter letter, const std::string& msg_id) {
  if (letter.stage.empty()) letter.stage = stage_;
  if (letter.time_ns == 0)
    letter.time_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  metrics_
      .counter("dead_letters", "records sent to the dead-letter subject, by reason",
               {{"reason", letter.reason}})
      .Increment();
  log_.warn(letter.reason,
            "dead letter from " + letter.customer + "/" + letter.source + ": " + letter.detail);
  // A customer id that is not a subject token cannot name a subject: file it under "_invalid".
  auto customer = wire::valid_token(letter.customer) ? letter.customer : "_invalid";
  return client_.js_publish_async(wire::dlq_subject(customer), wire::encode(letter), msg_id);
}

} // namespace chainwatch::service
