#pragma once

// Blobs larger than one NATS message (checkpoints) in a JetStream KV bucket. A blob `name` is
// written in chunks `<name>.g<generation % 2>.<i>` and committed by writing the header `<name>` =
// "<generation> <chunks> <bytes>" last, so a reader (who follows the header) never sees a
// half-written generation: the chunks being written belong to the previous-but-one generation,
// which the header no longer names. One writer per blob (the partition's owner).

#include <chainwatch/service/nats_client.hpp>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chainwatch::service {

class blob_store {
public:
  static constexpr std::size_t chunk_bytes = 256 * 1024;

  explicit blob_store(kv_bucket& kv) : kv_(kv) {}

  /// Writes `bytes` under `name`; returns the bytes written.
  nats_result<std::size_t> save(const std::string& name, std::string_view bytes);
  /// The last committed blob `name`, if any.
  nats_result<std::optional<std::string>> load(const std::string& name);
  /// The names of the stored blobs (headers only).
  nats_result<std::vector<std::string>> names();

private:
  struct header {
    std::uint64_t generation = 0;
    std::uint64_t chunks = 0;
    std::uint64_t bytes = 0;
  };
  nats_result<std::optional<header>> read_header(const std::string& name);

  kv_bucket& kv_;
  std::map<std::string, header> last_; ///< headers this store wrote (one writer per blob)
  std::mutex mutex_;                   ///< last_ (save and load may run on other threads)
};

} // namespace chainwatch::service
