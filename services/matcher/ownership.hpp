#pragma once

// Partition ownership among live matcher nodes (issue 5): members register in the JetStream KV
// bucket `cw_matchers` (`m.<node>`, rewritten every heartbeat; the bucket's TTL expires a dead
// node), partitions are assigned by rendezvous hashing over the live members, and a node takes a
// partition only by creating its lease `p.<p>` (compare-and-set on the KV revision), refreshed
// every heartbeat with update(last revision). A refresh that fails means another node may own
// the partition: the worker is fenced (stops without publishing, acking or checkpointing).
// Node ids must be unique among live processes: a lease in this node's own name that it does
// not hold (it restarted after a crash) is taken back at once instead of waiting for the TTL.

#include <chainwatch/service/nats_client.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace chainwatch::matcher {

/// Rendezvous (highest random weight) hashing: the member owning partition `p`; empty if none.
/// Adding or removing one member moves only the partitions it gains or had.
std::string_view owner_of(std::uint32_t p, std::span<const std::string> members);

/// The partitions of `self` among `members` (P = `partitions`), ascending.
std::vector<std::uint32_t> partitions_of(std::string_view self,
                                         std::span<const std::string> members,
                                         std::uint32_t partitions);

/// A KV key/node-id token: [A-Za-z0-9_-] kept, anything else becomes '_'.
std::string sanitize_node_id(std::string_view text);

/// What one heartbeat decided.
struct lease_changes {
  std::vector<std::uint32_t> acquired; ///< newly leased: start their workers
  std::vector<std::uint32_t> release;  ///< assigned elsewhere now: checkpoint, then release()
  std::vector<std::uint32_t> lost;     ///< refresh failed: fence their workers at once
  std::vector<std::uint32_t> renewed;  ///< held, refreshed by this heartbeat
  /// When the heartbeat started: the server wrote every lease it acquired or renewed after this,
  /// so none of them expires before `started` + TTL.
  std::chrono::steady_clock::time_point started;
};

/// The leases of one node in the `cw_matchers` bucket.
class lease_table {
public:
  lease_table(service::kv_bucket& kv, std::string node, std::uint32_t partitions);

  /// Rewrites the member entry (with `info`, shown by `chainwatch status`), refreshes held
  /// leases, and tries to create the leases of the partitions assigned to this node.
  lease_changes heartbeat(std::string_view info);
  /// Gives up the lease of `p` (after its worker checkpointed).
  void release(std::uint32_t p);
  /// Gives up every lease and the member entry (clean shutdown).
  void leave();
  /// Forgets the lease of `p` without touching the bucket (its worker fenced itself: the lease
  /// may have expired). If it is still ours, a later heartbeat takes it back at its revision.
  void forget(std::uint32_t p) { held_.erase(p); }
  /// The partitions leased now, with their lease revisions.
  const std::map<std::uint32_t, std::uint64_t>& held() const noexcept { return held_; }
  /// The live members at the last heartbeat.
  const std::vector<std::string>& members() const noexcept { return members_; }

  static std::string member_key(std::string_view node) { return "m." + std::string(node); }
  static std::string lease_key(std::uint32_t p) { return "p." + std::to_string(p); }

private:
  service::kv_bucket& kv_;
  std::string node_;
  std::uint32_t partitions_;
  std::map<std::uint32_t, std::uint64_t> held_; ///< partition -> lease revision
  std::vector<std::string> members_;
};

} // namespace chainwatch::matcher
