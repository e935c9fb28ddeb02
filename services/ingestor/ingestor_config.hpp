#pragma once

// The ingestor's own keys, section [ingestor] (documented in config/ingestor.toml).

#include "chainwatch/base/expected.hpp"
#include "chainwatch/service/config.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace chainwatch::ingestor {

/// Settings of the ingestor service.
struct ingestor_config {
  /// Listeners, comma-separated "proto:host:port:customer:source" (proto tcp or udp).
  std::string listeners;
  /// Records per raw_batch.
  std::int64_t max_records = 1000;
  /// Bytes per raw_batch (size hints).
  std::int64_t max_bytes = 512 * 1024;
  /// Oldest record wait before a batch is published, ns.
  std::int64_t linger_ns = 5'000'000;
  /// Accepted bytes not yet stored in JetStream above which TCP reads pause (backpressure).
  std::int64_t max_buffer_bytes = 64 * 1024 * 1024;
  /// Longest record; longer frames are cut (counted).
  std::int64_t max_record_bytes = 64 * 1024;
  /// How long to wait for the publish acks of one round, ns.
  std::int64_t publish_timeout_ns = 30'000'000'000;
  /// On shutdown, how long to keep retrying to store what was accepted, ns.
  std::int64_t drain_timeout_ns = 60'000'000'000;
  /// Producer id in message ids (empty: <hostname>-<pid>-<boot time>).
  std::string producer_id;
};

/// One configured listener.
struct listener_spec {
  /// "tcp" or "udp".
  std::string proto;
  /// Address to bind (IPv4 or a host name).
  std::string host;
  /// Port (0 = any free port).
  std::uint16_t port = 0;
  /// Customer stamped on its records.
  std::string customer;
  /// Source type stamped on its records.
  std::string source;
};

/// Parses ingestor_config::listeners.
expected<std::vector<listener_spec>, std::string> parse_listeners(std::string_view text);

/// Binds the [ingestor] keys.
void bind(service::config_binder& b, ingestor_config& c);

} // namespace chainwatch::ingestor
