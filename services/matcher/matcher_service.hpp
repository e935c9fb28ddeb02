#pragma once

// The pattern-matcher: one durable pull consumer `matcher-<p>` per owned partition on CW_PART,
// a fetch thread per partition feeding that partition's actor, matches published to
// cw.match.<customer> (deterministic msg ids), inputs acknowledged once outputs are stored.
// Owned partitions are fixed (`owned = all | 0-7 ...`) or, with `owned = auto`, leased at run
// time among the live matcher nodes (ownership.hpp): a heartbeat thread starts and stops the
// partition workers as nodes join and leave.

#include "matcher_config.hpp"
#include "ownership.hpp"
#include "probe.hpp"
#include "rule_catalog.hpp"

#include <atomic>
#include <chainwatch/service/blob_store.hpp>
#include <chainwatch/service/mesh.hpp>
#include <chainwatch/service/nats_client.hpp>
#include <chainwatch/service/runtime.hpp>
#include <chainwatch/wire/messages.hpp>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace caf {
class actor_system;
class actor_system_config;
class scoped_actor;
} // namespace caf

namespace chainwatch::matcher {

/// The running matcher: actors, consumers and fetch threads.
class matcher_service {
public:
  /// Uses `nats` and `m` (both outlive it) and the compiled `rules`.
  matcher_service(service::nats_client& nats, service::metrics& m, matcher_config cfg,
                  std::shared_ptr<const rule_catalog> rules);
  /// Stops (see stop()).
  ~matcher_service();
  matcher_service(const matcher_service&) = delete;
  matcher_service& operator=(const matcher_service&) = delete;

  /// Ensures the streams, spawns the actors, creates the consumers and starts fetching.
  service::nats_status start();
  /// Stops fetching, finishes the message in hand (publish, ack), stops the actors.
  void stop();
  /// The metrics.
  matcher_probe& probe() noexcept { return probe_; }
  /// This node's id (matcher.node_id, or host-pid).
  const std::string& node_id() const noexcept { return node_id_; }

private:
  struct output {
    std::string subject, data, msg_id;
  };
  struct partition_slot;
  service::nats_status start_worker(std::uint32_t p, std::int64_t lease_until_ns = INT64_MAX);
  void stop_worker(std::uint32_t p, bool fenced);
  void coordinate();
  void run_partition(partition_slot& slot);
  void checkpoint(partition_slot& slot, caf::scoped_actor& self);
  void write_checkpoints();
  void flush_checkpoint(std::uint32_t p);
  bool publish_all(const std::vector<output>& outputs, const partition_slot& slot);
  bool lease_valid(partition_slot& slot);

  service::nats_client& nats_;
  matcher_config cfg_;
  std::shared_ptr<const rule_catalog> rules_;
  matcher_probe probe_;
  service::dead_letter_sink dlq_;
  std::string node_id_;
  std::vector<std::uint32_t> partitions_;
  std::unique_ptr<caf::actor_system_config> caf_cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  std::mutex slots_mutex_;
  std::map<std::uint32_t, std::shared_ptr<partition_slot>> slots_;
  /// A checkpoint taken, waiting for the writer thread.
  struct checkpoint_job {
    std::uint32_t partition = 0;
    std::string bytes;
    std::uint64_t sequence = 0;
    std::shared_ptr<partition_slot> slot; ///< its fenced flag
    std::chrono::steady_clock::time_point started;
  };
  std::mutex ckpt_mutex_;
  std::condition_variable ckpt_cv_;
  std::map<std::uint32_t, checkpoint_job> ckpt_pending_;
  std::uint32_t ckpt_writing_ = UINT32_MAX;
  bool ckpt_stop_ = false;
  std::thread ckpt_thread_;
  std::unique_ptr<service::kv_bucket> checkpoints_kv_;
  std::unique_ptr<service::blob_store> checkpoints_;
  std::unique_ptr<service::kv_bucket> leases_kv_;
  std::unique_ptr<lease_table> leases_;
  std::thread coordinator_;
  std::mutex coordinator_mutex_;
  std::condition_variable coordinator_cv_;
  std::atomic<bool> stop_{false};
  service::rate_limited_logger log_;
};

/// The blob name of partition `p`'s checkpoint in the cw_checkpoints bucket: `p.<p>`.
std::string checkpoint_name(std::uint32_t partition);

/// The deterministic Nats-Msg-Id of a match batch: `m.<p>.<hash of rule, key, first, last...>`.
std::string match_batch_id(std::uint32_t partition, const wire::match_batch& batch);

/// Runs the service until SIGTERM/SIGINT; returns the exit code.
int run(service::runtime& rt, const matcher_config& cfg);

} // namespace chainwatch::matcher
