#pragma once

#include "chainwatch/base/assert.hpp"

#include <cstddef>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

namespace chainwatch::wire {

/// When a batch is flushed; the first limit reached wins.
struct batch_policy {
  /// Flush when the batch holds this many items (default 1000).
  std::size_t max_items = 1000;
  /// Flush when the items' size hints add up to this many bytes (default 512 KiB, half of the
  /// NATS default max_payload, so one batch always fits in one message).
  std::size_t max_bytes = 512 * 1024;
  /// Flush when the oldest item has waited this long, ns (default 5 ms).
  std::int64_t linger_ns = 5'000'000;
};

/// Why a batch should be flushed now.
enum class flush_reason : std::uint8_t {
  none,   ///< not yet
  count,  ///< max_items reached
  bytes,  ///< max_bytes reached (or the next item would not fit)
  linger, ///< the oldest item is older than linger_ns
};

/// Returns "none", "count", "bytes" or "linger" (a metric label).
inline const char* to_string(flush_reason r) noexcept {
  switch (r) {
  case flush_reason::none:
    return "none";
  case flush_reason::count:
    return "count";
  case flush_reason::bytes:
    return "bytes";
  case flush_reason::linger:
    return "linger";
  }
  return "none";
}

/// Accumulates items and says when to flush by count, bytes or linger time. Pure: the caller
/// passes the current time, so tests and simulations control the clock. Not thread-safe.
template <class Item>
class batcher {
public:
  /// Creates an empty batcher with the given limits.
  explicit batcher(batch_policy policy = {}) : policy_(policy) { CW_ASSERT(policy_.max_items > 0); }

  /// True if an item of `bytes` can be added without passing max_bytes (an empty batch always
  /// accepts one item, however large). When false, flush first.
  bool fits(std::size_t bytes) const noexcept {
    return items_.empty() || bytes_ + bytes <= policy_.max_bytes;
  }

  /// Adds an item whose encoded size is about `bytes` at time `now_ns`; returns whether the batch
  /// must be flushed now (count or bytes reached).
  flush_reason add(Item item, std::size_t bytes, std::int64_t now_ns) {
    if (items_.empty()) first_ns_ = now_ns;
    items_.push_back(std::move(item));
    bytes_ += bytes;
    if (items_.size() >= policy_.max_items) return flush_reason::count;
    if (bytes_ >= policy_.max_bytes) return flush_reason::bytes;
    return flush_reason::none;
  }

  /// Returns flush_reason::linger if the non-empty batch's oldest item has waited linger_ns.
  flush_reason poll(std::int64_t now_ns) const noexcept {
    if (!items_.empty() && now_ns - first_ns_ >= policy_.linger_ns) return flush_reason::linger;
    return flush_reason::none;
  }

  /// Time at which poll() will report linger; INT64_MAX while empty (for a timer).
  std::int64_t deadline_ns() const noexcept {
    if (items_.empty()) return std::numeric_limits<std::int64_t>::max();
    return first_ns_ + policy_.linger_ns;
  }

  /// Removes and returns the batched items; the batcher is empty afterwards.
  std::vector<Item> take() {
    std::vector<Item> out;
    out.swap(items_);
    items_.reserve(out.size());
    bytes_ = 0;
    return out;
  }

  /// The batched items (for in-place encoding before clear()).
  const std::vector<Item>& items() const noexcept { return items_; }
  /// Drops the batched items, keeping capacity.
  void clear() noexcept {
    items_.clear();
    bytes_ = 0;
  }
  /// Number of batched items.
  std::size_t size() const noexcept { return items_.size(); }
  /// Sum of the batched items' size hints.
  std::size_t bytes() const noexcept { return bytes_; }
  /// True when nothing is batched.
  bool empty() const noexcept { return items_.empty(); }
  /// The limits.
  const batch_policy& policy() const noexcept { return policy_; }

private:
  batch_policy policy_;
  std::vector<Item> items_;
  std::size_t bytes_ = 0;
  std::int64_t first_ns_ = 0;
};

} // namespace chainwatch::wire
