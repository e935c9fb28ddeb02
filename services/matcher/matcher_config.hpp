#pragma once

// The matcher's own config keys, section [matcher] (config/matcher.toml documents each).

#include "rule_catalog.hpp"

#include <chainwatch/base/expected.hpp>
#include <chainwatch/service/config.hpp>
#include <cstdint>
#include <string>
#include <vector>

namespace chainwatch::matcher {

/// Settings of the pattern-matcher service.
struct matcher_config {
  std::int64_t partitions = 8; ///< P, partitions of the deployment
  std::string owned = "auto";  ///< partitions this instance consumes: auto (leased) or fixed
  std::string node_id;         ///< this node's id for leases (default: host-pid)
  std::int64_t lease_ns = 6'000'000'000;               ///< lease TTL; a heartbeat every third of it
  std::int64_t checkpoint_interval_ns = 5'000'000'000; ///< partition checkpoints; 0 = none
  std::string rules = "config/rules";                  ///< rule files/directories, comma-separated
  std::string lists = "config/lists";                  ///< list directories, comma-separated
  std::string event_type_field = "event.category";     ///< category field of the rules
  bool case_sensitive = true;                          ///< Elastic EQL comparisons (hunt's default)
  std::int64_t max_pending = 1000;                     ///< pending partials per rule per key
  std::int64_t threads = 2;                            ///< CAF scheduler threads
  std::int64_t fetch_batch = 16;                       ///< partition batches per fetch
  std::int64_t fetch_timeout_ns = 500'000'000;         ///< fetch wait
  std::int64_t publish_timeout_ns = 10'000'000'000;    ///< wait for match acks before retrying
};

/// Binds the [matcher] keys.
void bind(service::config_binder& b, matcher_config& c);

/// Parses "all", "3", "0-7" or "0,2,5-6" into sorted partition ids below `partitions`.
expected<std::vector<std::uint32_t>, std::string> parse_partitions(const std::string& text,
                                                                   std::int64_t partitions);

} // namespace chainwatch::matcher
