#pragma once

// RAII over nats.c: two connections (publish, subscribe) with reconnect-forever backoff,
// core publish/subscribe, idempotent JetStream stream/consumer set-up, async JetStream publish
// with message ids and backpressure, durable pull consumers, and a small KV wrapper.

#include "chainwatch/base/expected.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

// nats.c types, so that users of this header do not include <nats/nats.h>.
struct __natsConnection;
struct __natsSubscription;
struct __natsMsg;
struct __jsCtx;
struct __kvStore;
struct jsPubAck;
struct jsPubAckErr;

namespace chainwatch::service {

/// A failed NATS call: the nats.c status, the JetStream error code (0 if none) and a message.
struct nats_error {
  /// natsStatus value (NATS_OK = 0 never appears here).
  int status = 0;
  /// jsErrCode (e.g. 10059 stream not found), 0 when not a JetStream API error.
  int js_code = 0;
  /// Human-readable description (nats.c status text plus context).
  std::string text;
};

/// A value or a nats_error.
template <class T>
using nats_result = expected<T, nats_error>;

/// Success or a nats_error.
using nats_status = nats_result<std::monostate>;

/// The success value of a nats_status.
inline nats_status nats_ok() {
  return std::monostate{};
}

/// Connection lifecycle events reported to nats_options::on_event.
enum class connection_event : std::uint8_t {
  disconnected, ///< lost the server; reconnecting
  reconnected,  ///< reconnected (subscriptions and consumers are restored by the library)
  closed,       ///< closed for good (only on shutdown, since reconnects never give up)
  error,        ///< asynchronous error (slow consumer, permission, ...)
};

/// Returns "disconnected", "reconnected", "closed" or "error".
const char* to_string(connection_event ev) noexcept;

/// Connection settings. Every field has a default; config keys map onto them (docs/mesh.md).
struct nats_options {
  /// Server URL(s), comma-separated.
  std::string url = "nats://127.0.0.1:4222";
  /// Connection name shown by the server (suffixed with "-pub" / "-sub").
  std::string name = "chainwatch";
  /// First reconnect delay, ms; doubles per attempt up to reconnect_wait_max_ms.
  std::int64_t reconnect_wait_min_ms = 50;
  /// Cap of the reconnect delay, ms.
  std::int64_t reconnect_wait_max_ms = 2000;
  /// Bytes of publishes buffered while reconnecting (nats.c default 8 MiB).
  int reconnect_buffer_bytes = 8 * 1024 * 1024;
  /// TCP connect timeout, ms.
  std::int64_t connect_timeout_ms = 2000;
  /// PING interval, ms, and PINGs without PONG before the connection counts as dead and the
  /// client reconnects. nats.c's default (2 min) left a matcher cut off by `docker network
  /// disconnect` on its dead connection for minutes after the network came back (no RST, new IP).
  std::int64_t ping_interval_ms = 5000;
  int max_pings_out = 2;
  /// If true, start even when no server is up yet and keep trying in the background.
  bool retry_on_failed_connect = false;
  /// Timeout of JetStream API requests (stream/consumer management, sync acks), ms.
  std::int64_t js_timeout_ms = 5000;
  /// Maximum in-flight async JetStream publishes before js_publish_async blocks.
  std::int64_t js_max_pending = 4096;
  /// An async publish not acknowledged within this time fails (counted, reported), ms; without
  /// it a publish whose ack was lost in a reconnect would hold a pending slot forever.
  std::int64_t js_ack_timeout_ms = 10'000;
  /// Called from a nats.c thread for each failed async publish: subject, Nats-Msg-Id (may be
  /// empty), error text. The payload is gone by then; keep batches until complete() to replay.
  std::function<void(std::string_view subject, std::string_view msg_id, std::string_view error)>
      on_publish_error;
  /// Called from nats.c threads on connection events; keep it short (count, log).
  std::function<void(connection_event, std::string_view detail)> on_event;
};

/// JetStream stream storage.
enum class storage_kind : std::uint8_t {
  file,   ///< on disk (survives server restarts)
  memory, ///< in memory
};

/// What ensure_stream creates or updates.
struct stream_spec {
  /// Stream name (no '.', '*', '>').
  std::string name;
  /// Subjects the stream captures (wildcards allowed).
  std::vector<std::string> subjects;
  /// Storage type; cannot change once created.
  storage_kind storage = storage_kind::file;
  /// Discard messages older than this, ns (0 = keep forever).
  std::int64_t max_age_ns = 0;
  /// Window within which a repeated Nats-Msg-Id is dropped, ns (0 = server default, 2 min).
  std::int64_t duplicate_window_ns = 0;
  /// Maximum stream size in bytes (-1 = unlimited).
  std::int64_t max_bytes = -1;
  /// If true, a message is removed once acknowledged (work-queue retention).
  bool work_queue = false;
};

/// What pull_consumer creates or binds to.
struct consumer_spec {
  /// The stream.
  std::string stream;
  /// Durable consumer name (no '.'); survives client and server restarts.
  std::string durable;
  /// Only deliver messages on this subject (empty = all of the stream).
  std::string filter_subject;
  /// Redeliver a message not acknowledged within this time, ns.
  std::int64_t ack_wait_ns = 30'000'000'000;
  /// Maximum delivered-but-unacknowledged messages.
  std::int64_t max_ack_pending = 20'000;
  /// Give up redelivering after this many deliveries (-1 = never).
  std::int64_t max_deliver = -1;
  /// When creating the consumer: start at this stream sequence (0 = from the first message).
  /// Ignored if the durable exists (delete it first to move its start).
  std::uint64_t start_sequence = 0;
  /// For a consumer with a single reader that needs stream order (the watermark service): an
  /// existing durable is recreated just past its ack floor (at its start when nothing was
  /// acked), so what a crashed predecessor held unacknowledged is delivered at once and in
  /// order, not after ack_wait behind newer messages.
  /// Never set it where replicas share the durable: they would each restart it.
  bool resume_at_ack_floor = false;
  /// For a consumer with a single in-order reader (a matcher's partition, the watermark
  /// service): acknowledging a message acknowledges every earlier one (AckAll), so the reader
  /// acks only the last message of a fetch: one ack, and one consumer-state update on the
  /// server, per fetch instead of per message. An existing durable with the other policy is
  /// recreated just past its ack floor. Never set it where replicas share the durable.
  bool ack_all = false;
};

/// One received message; owns the natsMsg. JetStream messages can be acknowledged.
class message {
public:
  /// Takes ownership of `msg`.
  explicit message(__natsMsg* msg) noexcept : msg_(msg) {}
  message(message&& other) noexcept;
  message& operator=(message&& other) noexcept;
  message(const message&) = delete;
  message& operator=(const message&) = delete;
  ~message();

  /// The subject it was published on.
  std::string_view subject() const noexcept;
  /// The payload; valid while the message lives.
  std::string_view data() const noexcept;
  /// The value of header `key`, if present.
  std::optional<std::string_view> header(const char* key) const;
  /// JetStream delivery metadata of a message from a consumer.
  struct metadata {
    /// Stream sequence (stable across redeliveries: use it to derive output msg ids).
    std::uint64_t stream_sequence = 0;
    /// Consumer sequence.
    std::uint64_t consumer_sequence = 0;
    /// How many times it was delivered (1 on first delivery).
    std::uint64_t delivered = 0;
    /// Messages still pending for the consumer.
    std::uint64_t pending = 0;
    /// Time the message was stored, ns since the epoch.
    std::int64_t timestamp_ns = 0;
  };
  /// The JetStream metadata; an error for core NATS messages.
  nats_result<metadata> meta() const;
  /// Acknowledges (JetStream; fire-and-forget).
  nats_status ack();
  /// Acknowledges and waits for the server's confirmation.
  nats_status ack_sync();
  /// Asks for redelivery (after `delay_ms` if > 0).
  nats_status nak(std::int64_t delay_ms = 0);
  /// Tells the server never to redeliver it.
  nats_status term();

private:
  __natsMsg* msg_;
};

/// A core NATS subscription delivering to a callback on a nats.c thread.
class subscription {
public:
  /// Message callback (called on one nats.c thread per subscription, never concurrently).
  using handler = std::function<void(message)>;

  subscription(const subscription&) = delete;
  subscription& operator=(const subscription&) = delete;
  /// Unsubscribes and waits until the callback has returned for the last time.
  ~subscription();

  /// Stops interest after delivering what is pending; waits up to `timeout_ms`.
  nats_status drain(std::int64_t timeout_ms);
  /// Messages received and not yet delivered to the callback.
  int pending() const;
  /// Messages dropped because the pending limit was reached (slow consumer).
  std::int64_t dropped() const;

private:
  friend class nats_client;
  explicit subscription(handler h) : handler_(std::move(h)) {}
  static void on_message(__natsConnection*, __natsSubscription*, __natsMsg*, void*);
  static void on_complete(void*);

  handler handler_;
  __natsSubscription* sub_ = nullptr;
  std::mutex mutex_;
  std::condition_variable done_cv_;
  bool done_ = false;
};

/// A durable JetStream pull consumer (bound to a consumer created by the client, so destroying
/// the subscription never deletes the durable).
class pull_consumer {
public:
  pull_consumer(const pull_consumer&) = delete;
  pull_consumer& operator=(const pull_consumer&) = delete;
  /// Destroys the subscription (not the durable consumer).
  ~pull_consumer();

  /// Fetches up to `batch` messages, waiting up to `timeout_ms`; an empty vector on timeout.
  nats_result<std::vector<message>> fetch(int batch, std::int64_t timeout_ms);
  /// Stops fetching and waits up to `timeout_ms` for in-flight deliveries.
  nats_status drain(std::int64_t timeout_ms);
  /// The consumer's spec.
  const consumer_spec& spec() const noexcept { return spec_; }

private:
  friend class nats_client;
  explicit pull_consumer(consumer_spec spec) : spec_(std::move(spec)) {}

  consumer_spec spec_;
  __natsSubscription* sub_ = nullptr;
};

/// A JetStream key-value bucket (for checkpoints, e.g. per-partition watermarks).
class kv_bucket {
public:
  kv_bucket(const kv_bucket&) = delete;
  kv_bucket& operator=(const kv_bucket&) = delete;
  ~kv_bucket();

  /// A value with its revision.
  struct entry {
    /// The value bytes.
    std::string value;
    /// The revision (for compare-and-set with update).
    std::uint64_t revision = 0;
  };

  /// Writes `value`; returns the new revision.
  nats_result<std::uint64_t> put(const std::string& key, std::string_view value);
  /// Writes only if `key` does not exist; returns the revision.
  nats_result<std::uint64_t> create(const std::string& key, std::string_view value);
  /// Writes only if the current revision is `last`; returns the new revision.
  nats_result<std::uint64_t> update(const std::string& key, std::string_view value,
                                    std::uint64_t last);
  /// Reads `key`; nullopt if absent or deleted.
  nats_result<std::optional<entry>> get(const std::string& key);
  /// Deletes `key` (a delete marker: `create` succeeds on it again).
  nats_status erase(const std::string& key);
  /// The live keys (empty if none).
  nats_result<std::vector<std::string>> keys();

private:
  friend class nats_client;
  kv_bucket() = default;
  __kvStore* kv_ = nullptr;
  __jsCtx* js_ = nullptr; ///< own JetStream context (own timeout), or null: the client's
};

/// The NATS client of one service: a publish connection and a subscribe connection.
class nats_client {
public:
  /// Connects both connections; fails if the server cannot be reached (unless
  /// retry_on_failed_connect).
  static nats_result<std::unique_ptr<nats_client>> connect(nats_options options);

  nats_client(const nats_client&) = delete;
  nats_client& operator=(const nats_client&) = delete;
  /// Waits for pending async publishes (briefly), then closes both connections.
  ~nats_client();

  /// Publishes on the publish connection (core NATS, at most once).
  nats_status publish(const std::string& subject, std::string_view data);
  /// Flushes the publish connection and waits for the server's PONG.
  nats_status flush(std::int64_t timeout_ms);
  /// Subscribes on the subscribe connection; `queue` non-empty makes it a queue group member.
  nats_result<std::unique_ptr<subscription>> subscribe(const std::string& subject,
                                                       subscription::handler handler,
                                                       const std::string& queue = {});

  /// Creates the stream, or updates it to `spec` if it exists (idempotent).
  nats_status ensure_stream(const stream_spec& spec);
  /// Shorthand for ensure_stream with the most used fields.
  nats_status ensure_stream(const std::string& name, const std::vector<std::string>& subjects,
                            storage_kind storage, std::int64_t max_age_ns,
                            std::int64_t duplicate_window_ns);
  /// Deletes a stream (tests, tooling).
  nats_status delete_stream(const std::string& name);
  /// Number of messages stored in a stream.
  nats_result<std::uint64_t> stream_messages(const std::string& name);

  /// Publishes to JetStream without waiting for the ack. `msg_id` (if not empty) becomes
  /// Nats-Msg-Id for server-side de-duplication. Blocks while js_max_pending publishes are in
  /// flight, up to `max_block_ms` (-1 = forever), then fails with NATS_TIMEOUT.
  nats_status js_publish_async(const std::string& subject, std::string_view data,
                               const std::string& msg_id = {}, std::int64_t max_block_ms = -1);
  /// Waits until every async publish is acknowledged (or failed), up to `timeout_ms`.
  nats_status js_publish_complete(std::int64_t timeout_ms);
  /// Publishes to JetStream and waits for the ack; returns the stream sequence.
  nats_result<std::uint64_t> js_publish(const std::string& subject, std::string_view data,
                                        const std::string& msg_id = {});
  /// Async publishes the server rejected or that timed out (counted, never retried here).
  std::uint64_t js_publish_failures() const noexcept { return js_counters_.failures.load(); }
  /// Async publishes acknowledged as duplicates of an earlier Nats-Msg-Id.
  std::uint64_t js_publish_duplicates() const noexcept { return js_counters_.duplicates.load(); }

  /// Creates the durable consumer if needed (updating its config otherwise) and binds a pull
  /// subscription to it on the subscribe connection.
  nats_result<std::unique_ptr<pull_consumer>> pull(const consumer_spec& spec);
  /// Deletes a durable consumer (tests, tooling).
  nats_status delete_consumer(const std::string& stream, const std::string& durable);
  /// Messages a durable consumer delivered and has not seen acknowledged (tests, tooling).
  nats_result<std::int64_t> ack_pending(const std::string& stream, const std::string& durable);

  /// Opens a KV bucket, creating it (file storage, `history` revisions kept) if needed.
  /// `ttl_ns` > 0 makes entries expire that long after their last write (leases, heartbeats).
  /// With `create` false, a missing bucket is an error (NATS_NOT_FOUND) instead.
  /// `timeout_ms` > 0: each operation waits at most that long for the server's reply (default:
  /// the client's JetStream timeout), so that a reply lost in a server restart does not stall a
  /// lease holder past its TTL.
  nats_result<std::unique_ptr<kv_bucket>> key_value(const std::string& bucket, int history = 1,
                                                    std::int64_t ttl_ns = 0, bool create = true,
                                                    std::int64_t timeout_ms = 0);

  /// Reconnections of either connection since start.
  std::uint64_t reconnects() const noexcept { return reconnects_.load(); }
  /// Disconnections of either connection since start.
  std::uint64_t disconnects() const noexcept { return disconnects_.load(); }
  /// True when both connections are connected.
  bool connected() const noexcept;
  /// The options in use.
  const nats_options& options() const noexcept { return options_; }

private:
  explicit nats_client(nats_options options) : options_(std::move(options)) {}
  nats_status open(__natsConnection** nc, const char* suffix);
  static void on_disconnected(__natsConnection*, void*);
  static void on_reconnected(__natsConnection*, void*);
  static void on_closed(__natsConnection*, void*);
  static void on_publish_ack(__jsCtx*, __natsMsg*, jsPubAck*, jsPubAckErr*, void*);
  static std::int64_t reconnect_delay(__natsConnection*, int attempts, void*);
  void emit(connection_event ev, std::string_view detail);

  nats_options options_;
  __natsConnection* pub_ = nullptr;
  __natsConnection* sub_ = nullptr;
  __jsCtx* pub_js_ = nullptr;
  __jsCtx* sub_js_ = nullptr;
  std::atomic<std::uint64_t> reconnects_{0};
  std::atomic<std::uint64_t> disconnects_{0};
  /// Updated by the async publish ack handler.
  struct publish_counters {
    std::atomic<std::uint64_t> failures{0};
    std::atomic<std::uint64_t> duplicates{0};
  } js_counters_;
  std::mutex closed_mutex_;
  std::condition_variable closed_cv_;
  int closed_ = 0;
};

/// Returns "<text> (status N, js code M)".
std::string to_string(const nats_error& err);

} // namespace chainwatch::service
