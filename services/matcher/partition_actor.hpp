#pragma once

// The matcher's actors (CAF 0.17). Each (customer, join key) maps to the actor of its partition,
// which holds that key's partial-match state: per customer, the same engine::engine that
// `chainwatch hunt` runs (time-ordered queue, key states, deadline heap), fed one item per event
// and key (engine::push_key) and advanced by the watermark markers, so a marker touches only
// the keys whose deadline it passes and a key's state is dropped once drained. Not one actor per
// key: at ~340k short-lived keys per 300k events that cost ~50 us per item in spawns and
// messages (ARCHITECTURE.md, "Key state and actors").

#include <caf/all.hpp>
#include <chainwatch/engine/engine.hpp>
#include <chainwatch/wire/messages.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace chainwatch::matcher {

/// The decoded partition_batch messages of one fetch, handed to a partition actor in one request
/// (a request per message cost a worker wake-up and a context switch each). The items are views
/// into the fetched messages and the fetch thread's decompression buffers: the fetch thread waits
/// for the answer, so they outlive the request; the actor copies what it keeps.
struct partition_work {
  std::vector<wire::partition_batch_view> messages; ///< per message, items in stream order
  bool gauges = false; ///< also fill the (O(live keys)) gauges, in the last result
};

/// What a partition actor produced for one message of a partition_work (the answer is one per
/// message, in order: outputs keep per-message msg ids, so a replay with other fetch boundaries
/// publishes the same ids).
struct partition_result {
  std::vector<wire::match_batch> matches; ///< one batch per customer, matches sorted
  std::vector<wire::late_event> late;     ///< events behind their customer's watermark
  std::uint64_t events = 0;               ///< event items taken
  std::uint64_t markers = 0;              ///< watermark markers taken
  std::uint64_t unrouted = 0;             ///< events whose key no rule produced (dropped)
  std::uint64_t bad_events = 0;           ///< event blobs that did not decode (dropped)
  std::uint64_t piped_dropped = 0;        ///< matches of rules with pipes (not run in the mesh)
  std::uint64_t undecided = 0;            ///< absences still open at the end of input (not matches)
  bool gauges = false;                    ///< the fields below are filled
  std::uint64_t overflow = 0;             ///< partials dropped at max_pending since last gauges
  std::uint64_t suppressed = 0;           ///< alerts suppressed (alert_suppression) since then
  std::int64_t live_keys = 0;             ///< (customer, key) states held
  std::int64_t pending = 0;               ///< pending partial sequences
  std::int64_t state_bytes = 0;           ///< approximate key state bytes (events excluded)
};

/// The answer to a partition_work: one result per message, in order.
struct partition_results {
  std::vector<partition_result> per_message;
};

/// A partition actor's state per customer, for a checkpoint (answer to checkpoint_atom) or a
/// restore (restore_atom; `error` says why it failed, empty on success).
struct partition_snapshot {
  std::vector<wire::customer_checkpoint> customers;
  std::string error;
};

using checkpoint_atom = caf::atom_constant<caf::atom("ckpt")>;
using restore_atom = caf::atom_constant<caf::atom("restore")>;

/// Settings of a partition actor.
struct partition_options {
  std::uint32_t partition = 0;                  ///< the partition id
  std::shared_ptr<const engine::ruleset> rules; ///< shared compiled rules
  std::vector<bool> piped;                      ///< per rule: has pipes (its matches dropped)
};

/// Spawns the partition actor; it answers each partition_work with partition_results,
/// checkpoint_atom with its partition_snapshot, and (restore_atom, partition_snapshot) with the
/// partition_snapshot's error (empty: restored).
caf::actor spawn_partition_actor(caf::actor_system& sys, partition_options opts);

} // namespace chainwatch::matcher

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chainwatch::matcher::partition_work)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chainwatch::matcher::partition_results)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chainwatch::matcher::partition_snapshot)
