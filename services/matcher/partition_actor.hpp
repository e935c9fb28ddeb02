#pragma once

// The matcher's actors (CAF 0.17): one partition actor per owned partition routes each event to
// the actor of its (customer, join key), which holds that key's engine::key_state; watermark
// markers wake only the keys whose deadline they pass (a min-heap per customer).

#include <caf/all.hpp>
#include <chainwatch/engine/engine.hpp>
#include <chainwatch/wire/messages.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace chainwatch::matcher {

/// The decoded items of one partition_batch message, handed to a partition actor.
struct partition_work {
  std::vector<wire::partition_item> items; ///< events and markers in stream order
};

/// What a partition actor produced for one partition_work, once every key actor answered.
struct partition_result {
  std::vector<wire::match_batch> matches; ///< one batch per customer, matches sorted
  std::vector<wire::late_event> late;     ///< events behind their customer's watermark
  std::uint64_t events = 0;               ///< event items taken
  std::uint64_t markers = 0;              ///< watermark markers taken
  std::uint64_t unrouted = 0;             ///< events whose key no rule produced (dropped)
  std::uint64_t bad_events = 0;           ///< event blobs that did not decode (dropped)
  std::uint64_t key_failures = 0;         ///< key actors that failed a request (state lost)
  std::uint64_t wakeups = 0;              ///< advance messages sent to key actors
  std::uint64_t spawned = 0;              ///< key actors spawned
  std::uint64_t retired = 0;              ///< key actors retired (state empty)
  std::uint64_t overflow = 0;             ///< partials dropped at max_pending_per_key
  std::uint64_t piped_dropped = 0;        ///< matches of rules with pipes (not run in the mesh)
  std::int64_t live_keys = 0;             ///< key actors alive afterwards
  std::int64_t pending = 0;               ///< pending partial sequences afterwards
  std::int64_t state_bytes = 0;           ///< approximate key state bytes afterwards
};

/// Settings of a partition actor.
struct partition_options {
  std::uint32_t partition = 0;                  ///< the partition id
  std::shared_ptr<const engine::ruleset> rules; ///< shared compiled rules
  std::vector<bool> piped;                      ///< per rule: has pipes (its matches dropped)
};

/// Spawns the partition actor; it answers each partition_work with a partition_result.
caf::actor spawn_partition_actor(caf::actor_system& sys, partition_options opts);

} // namespace chainwatch::matcher

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chainwatch::matcher::partition_work)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chainwatch::matcher::partition_result)
