#pragma once

// The watermark service: consumes normalized event batches (CW_EVENTS), tracks event-time
// watermarks per customer, routes each event once per distinct join key to
// cw.part.<partition_of(key_hash(customer, key), P)>, interleaves watermark markers, and sends
// events behind the watermark to cw.late.<customer>.

#include "chainwatch/engine/engine.hpp"
#include "chainwatch/service/blob_store.hpp"
#include "chainwatch/service/mesh.hpp"
#include "chainwatch/service/nats_client.hpp"
#include "watermark_config.hpp"
#include "watermark_probe.hpp"

#include <chainwatch/engine/watermarks.hpp>
#include <map>
#include <memory>
#include <span>

namespace chainwatch::watermark {

/// What one input batch (or an idle tick) produces.
struct routed_output {
  /// Limits of one partition_batch message (watermark.max_items, watermark.max_bytes).
  std::size_t max_items = 1000;
  std::size_t max_bytes = 512 * 1024;
  /// Items per partition, in order (events, then markers), encoded as they come.
  std::map<std::uint32_t, wire::partition_batch_builder> parts;
  /// The builder of partition `p`.
  wire::partition_batch_builder& part(std::uint32_t p) {
    return parts.try_emplace(p, p, max_items, max_bytes).first->second;
  }
  /// Events behind their customer's watermark (reason "late") or too far ahead of their ingest
  /// time (reason "skew").
  std::vector<wire::late_event> late;
  /// Of `late`, the skewed ones.
  std::size_t skewed = 0;
  /// Events that no rule step can use.
  std::size_t dropped = 0;
  /// Events routed to at least one partition.
  std::size_t routed = 0;
  /// Events whose routes the normalizer found with these rules (taken, not decoded).
  std::size_t prerouted = 0;
  /// Events the normalizer routed with other rules (another fingerprint): routed again.
  std::size_t rerouted = 0;
  /// Partition event items (one per key).
  std::size_t items = 0;
  /// Markers appended.
  std::size_t markers = 0;
  /// Events whose msgpack could not be decoded.
  std::vector<wire::dead_letter> dead_letters;
};

/// The pure part: routing, lateness and markers (no NATS).
class router_stage {
public:
  /// Routes with `rules` to `partitions` partitions, watermarks from `tracker`; an event more
  /// than `max_future` (per source) ahead of its ingest time is skewed: set aside as late with
  /// reason "skew", without moving the watermark.
  router_stage(std::shared_ptr<const engine::ruleset> rules, std::uint32_t partitions,
               engine::watermark_tracker tracker, engine::source_durations max_future);
  /// Routes every event of `batch` (seen at wall time `now_ns`) into `out`, then appends a
  /// marker to every partition if the customer's watermark advanced. An event the normalizer
  /// routed with the same rules (event_record::rules equal to their fingerprint) goes where its
  /// routes say, undecoded; any other is decoded and routed here. Both give the same items.
  void add(const wire::event_batch_view& batch, std::int64_t now_ns, routed_output& out);
  /// End of input of (customer, source); appends markers if the watermark advanced.
  void eof(const std::string& customer, const std::string& source, std::int64_t now_ns,
           routed_output& out);
  /// Advances idle customers (wall clock); appends markers for each that advanced.
  void tick(std::int64_t now_ns, routed_output& out);
  /// The tracker (for metrics).
  const engine::watermark_tracker& tracker() const noexcept { return tracker_; }
  /// The tracker (checkpoint restore).
  engine::watermark_tracker& tracker() noexcept { return tracker_; }
  /// Number of partitions.
  std::uint32_t partitions() const noexcept { return partitions_; }

private:
  void marker(const std::string& customer, const engine::watermark_update& u, std::int64_t now_ns,
              routed_output& out);

  engine::router router_;
  std::uint64_t fingerprint_; // of the rules: sent with the hits
  std::uint32_t partitions_;
  engine::watermark_tracker tracker_;
  engine::source_durations max_future_;
};

/// The tracker's state as a wire::watermark_checkpoint (msgpack).
std::string snapshot(const engine::watermark_tracker& t);
/// Replaces the tracker's state with a snapshot's; false (state unchanged) on malformed input.
bool restore(engine::watermark_tracker& t, std::string_view bytes);

/// The service loop over NATS.
class watermark_service {
public:
  /// Uses `client` and registers metrics in `m`; both must outlive the service.
  watermark_service(service::nats_client& client, service::metrics& m, watermark_config cfg,
                    std::shared_ptr<const engine::ruleset> rules, engine::source_durations lateness,
                    engine::source_durations max_future);
  /// Ensures the mesh streams and binds the durable consumer.
  service::nats_status start();
  /// One fetch/route/publish/ack round (plus an idle tick); returns input messages handled.
  std::size_t run_once();
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
  void encode(routed_output& r, const std::string& id_prefix, std::vector<output>& outs);
  /// Index one past the last input of the round starting at `begin`.
  std::size_t round_end(const std::vector<service::message>& msgs, std::size_t begin);
  /// Routes, publishes and acks one round; false (nothing acked) when publishing failed.
  bool run_round(std::span<service::message> msgs);
  /// KV blob holding "<first seq> <last seq>" of the last round begun.
  std::string round_plan_name() const;
  routed_output fresh_output() const;
  bool publish_round(const std::vector<output>& outs);
  void update_gauges(std::int64_t now_ns);

  service::nats_client& client_;
  watermark_config cfg_;
  router_stage stage_;
  watermark_probe probe_;
  service::dead_letter_sink dlq_;
  service::rate_limited_logger log_;
  std::unique_ptr<service::pull_consumer> consumer_;
  std::int64_t last_tick_ns_ = 0;
  // Checkpoints of the tracker (KV cw_checkpoints, blob `watermark.<durable>`), written after a
  // round is acked: at most every checkpoint_interval, at once after an end of input.
  void checkpoint(bool now);
  std::unique_ptr<service::kv_bucket> checkpoints_kv_;
  std::unique_ptr<service::blob_store> checkpoints_;
  std::int64_t last_checkpoint_ns_ = 0;
  bool dirty_ = false;
  std::uint64_t replay_until_ = 0; ///< last input of a round to cut again (0: none)
  bool rebind_ = false;            ///< a round failed: read again from the ack floor
  /// (Re)creates the durable consumer just past its ack floor.
  service::nats_status bind();
};

} // namespace chainwatch::watermark
