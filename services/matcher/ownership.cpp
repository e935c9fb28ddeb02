#include "ownership.hpp"

#include <algorithm>
#include <chainwatch/wire/partition.hpp>

namespace chainwatch::matcher {

std::string_view owner_of(std::uint32_t p, std::span<const std::string> members) {
  std::string_view best;
  std::uint64_t best_weight = 0;
  const auto key = std::to_string(p);
  for (const auto& m : members) {
    auto w = wire::key_hash(m, key);
    if (best.empty() || w > best_weight || (w == best_weight && m < best)) {
      best = m;
      best_weight = w;
    }
  }
  return best;
}

std::vector<std::uint32_t> partitions_of(std::string_view self,
                                         std::span<const std::string> members,
                                         std::uint32_t partitions) {
  std::vector<std::uint32_t> out;
  for (std::uint32_t p = 0; p < partitions; ++p)
    if (owner_of(p, members) == self) out.push_back(p);
  return out;
}

std::string sanitize_node_id(std::string_view text) {
  std::string out(text);
  for (auto& c : out) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_';
    if (!ok) c = '_';
  }
  return out.empty() ? "node" : out;
}

lease_table::lease_table(service::kv_bucket& kv, std::string node, std::uint32_t partitions)
    : kv_(kv), node_(std::move(node)), partitions_(partitions) {}

lease_changes lease_table::heartbeat(std::string_view info) {
  lease_changes out;
  out.started = std::chrono::steady_clock::now();
  // Our own entry first, so we count ourselves among the members below.
  (void)kv_.put(member_key(node_), info);
  if (auto keys = kv_.keys()) {
    members_.clear();
    for (const auto& k : *keys)
      if (k.starts_with("m.")) members_.push_back(k.substr(2));
    std::sort(members_.begin(), members_.end());
  }
  if (std::find(members_.begin(), members_.end(), node_) == members_.end())
    members_.push_back(node_); // the listing can lag our own put
  auto mine = partitions_of(node_, members_, partitions_);
  // Refresh what we hold: a failed compare-and-set means the lease expired (and may be held by
  // another node now): fence.
  for (auto it = held_.begin(); it != held_.end();) {
    auto rev = kv_.update(lease_key(it->first), node_, it->second);
    if (!rev) {
      out.lost.push_back(it->first);
      it = held_.erase(it);
      continue;
    }
    it->second = *rev;
    out.renewed.push_back(it->first);
    if (!std::binary_search(mine.begin(), mine.end(), it->first)) out.release.push_back(it->first);
    ++it;
  }
  // Take what is assigned to us and free: create fails while another node (the previous owner
  // handing over, or a crashed one until its lease expires) still holds it.
  for (auto p : mine) {
    if (held_.contains(p)) continue;
    if (auto rev = kv_.create(lease_key(p), node_)) {
      held_[p] = *rev;
      out.acquired.push_back(p);
      continue;
    }
    // A lease in our own name that we do not hold: this node restarted (node ids are unique
    // among live processes) or lost it and nobody took it since. Take it back at its revision.
    if (auto e = kv_.get(lease_key(p)); e && *e && (*e)->value == node_) {
      if (auto rev = kv_.update(lease_key(p), node_, (*e)->revision)) {
        held_[p] = *rev;
        out.acquired.push_back(p);
      }
    }
  }
  return out;
}

void lease_table::release(std::uint32_t p) {
  auto it = held_.find(p);
  if (it == held_.end()) return;
  // Only if still ours (same revision): never delete a lease another node took.
  if (auto e = kv_.get(lease_key(p)); e && *e && (*e)->revision == it->second)
    (void)kv_.erase(lease_key(p));
  held_.erase(it);
}

void lease_table::leave() {
  while (!held_.empty())
    release(held_.begin()->first);
  (void)kv_.erase(member_key(node_));
}

} // namespace chainwatch::matcher
