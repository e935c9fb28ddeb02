#pragma once

// Blobs larger than one NATS message (checkpoints) in a JetStream KV bucket. A blob `name` is
// written in chunks `<name>.g<generation % 2>.<writer>.<i>` and committed by writing the header
// `<name>` = "<generation> <chunks> <bytes> <writer>" last, so a reader (who follows the header)
// never sees a half-written generation: the chunks being written belong to the previous-but-one
// generation, which the header no longer names. One writer per blob at a time (the partition's
// owner), but a stale one (a matcher cut off from the server, whose writes the client buffered
// and sends when it reconnects) must not break the blob: `writer` is a random id per store, so
// its chunks never overwrite another writer's, and the header is written by compare-and-set on
// the revision this store last wrote or read, so its commit fails once another has written.
// (Headers of three fields, from before, name chunks `<name>.g<generation % 2>.<i>`.)

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

  explicit blob_store(kv_bucket& kv);

  /// Writes `bytes` under `name`; returns the bytes written. Fails, writing no header, when
  /// another store wrote `name` since this one last wrote or read it (the next save writes).
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
    std::string writer;         ///< the writing store's id ("": chunks named without one)
    std::uint64_t revision = 0; ///< of the header in the bucket
  };
  nats_result<std::optional<header>> read_header(const std::string& name);

  kv_bucket& kv_;
  std::string writer_;                 ///< this store's id in its chunk keys
  std::map<std::string, header> last_; ///< headers this store last wrote or read
  std::mutex mutex_;                   ///< last_ (save and load may run on other threads)
};

} // namespace chainwatch::service
