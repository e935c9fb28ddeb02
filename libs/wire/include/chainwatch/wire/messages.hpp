#pragma once

// The messages services exchange over NATS. Each is one msgpack array:
// [kind, version, fields...]; docs/mesh.md lists every field in order with its type.
// Events travel as opaque byte blobs (msgpack produced by the event library's append_msgpack),
// so this library does not depend on the event model.

#include "chainwatch/base/expected.hpp"
#include "chainwatch/wire/error.hpp"

#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace chainwatch::wire {

/// The message kind, first element of every envelope.
enum class kind : std::uint8_t {
  raw_batch = 1,            ///< raw input records (cw.ingest.<customer>.<source>)
  event_batch = 2,          ///< normalized events of one customer and source
  partition_batch = 3,      ///< keyed events and watermark markers of one partition (cw.part.<p>)
  match_batch = 4,          ///< completed sequence matches of one customer (cw.match.<customer>)
  dead_letter = 5,          ///< a record that could not be processed (cw.dlq.<customer>)
  late_event = 6,           ///< an event behind the watermark (cw.late.<customer>)
  partition_checkpoint = 7, ///< a matcher partition's state (KV cw_checkpoints, p.<p>)
  watermark_checkpoint = 8, ///< the watermark service's per-source state (KV, watermark.<durable>)
};

/// The schema version written by this build; decoders accept exactly this version.
inline constexpr std::uint8_t schema_version = 1;

/// Returns the kind name ("raw_batch", ...) or "unknown".
const char* to_string(kind k) noexcept;

/// One raw input record, as received (a log line, a JSON document, ...).
struct raw_record {
  /// The record's bytes.
  std::string bytes;
  /// Producer-assigned event id, if the source has one (used for de-duplication).
  std::optional<std::string> event_id;
  /// Producer-assigned sequence number (e.g. file offset or Kafka offset), if any.
  std::optional<std::uint64_t> sequence;

  friend bool operator==(const raw_record&, const raw_record&) = default;
};

/// Raw records of one customer and source type, as the ingestor publishes them.
struct raw_batch {
  /// Customer (tenant) id.
  std::string customer;
  /// Source type name (a normalizer mapping name, e.g. "zeek.conn").
  std::string source_type;
  /// Time the ingestor received the batch, ns since the epoch (0: unknown; the watermark
  /// service's skew guard then has no reference for its events).
  std::int64_t ingest_ns = 0;
  /// The records.
  std::vector<raw_record> records;
  /// Where the records come from, when it says what they are: a file name (`ssh.log`, which
  /// names a Zeek log's type). Empty: unknown (appended field).
  std::string origin;
  /// The stream's header lines in force before the first record (a Zeek TSV `#fields` block
  /// read earlier in the file): a batch normalizes on its own, on any normalizer replica
  /// (appended field, written with `origin`).
  std::vector<std::string> header;

  friend bool operator==(const raw_batch&, const raw_batch&) = default;
};

/// One join key an event contributes to, with the steps it hit under that key (what
/// engine::router found for it; see event_record::rules).
struct event_route {
  /// The join key bytes.
  std::string key;
  /// Engine step ids, router order.
  std::vector<std::uint32_t> hits;

  friend bool operator==(const event_route&, const event_route&) = default;
};

/// One normalized ECS event.
struct event_record {
  /// Event time (@timestamp), ns since the epoch.
  std::int64_t event_ns = 0;
  /// Ingest time, ns since the epoch.
  std::int64_t ingest_ns = 0;
  /// The ECS event as msgpack (event library's append_msgpack output).
  std::string event;
  /// The raw record it came from, when the pipeline keeps it.
  std::optional<std::string> raw;
  /// engine::ruleset::fingerprint() of the rules the normalizer routed the event with; 0 when
  /// it did not route it (then `routes` and `event_rules` mean nothing and the watermark service
  /// routes it itself, as it also does when its own rules have another fingerprint). The three
  /// fields are written when any of them is set.
  std::uint64_t rules = 0;
  /// The join keys the event contributes to (engine::router::entries()), in router order.
  std::vector<event_route> routes = {};
  /// The event matched at least one event-query rule (it also travels with an empty key).
  bool event_rules = false;

  friend bool operator==(const event_record&, const event_record&) = default;
};

/// Normalized events of one customer and source, as the normalizer publishes them.
struct event_batch {
  /// Customer id.
  std::string customer;
  /// Source type name.
  std::string source;
  /// The events.
  std::vector<event_record> events;

  friend bool operator==(const event_batch&, const event_batch&) = default;
};

/// A keyed event routed to a partition.
struct partition_event {
  /// Customer id.
  std::string customer;
  /// key_hash(customer, key): decides the partition and lets a matcher shard without rehashing.
  std::uint64_t key_hash = 0;
  /// The join key bytes (rule-independent routing key, e.g. host.id).
  std::string key;
  /// Event time, ns since the epoch.
  std::int64_t event_ns = 0;
  /// Ingest time, ns since the epoch (for end-to-end latency).
  std::int64_t ingest_ns = 0;
  /// The ECS event as msgpack.
  std::string event;
  /// engine::ruleset::fingerprint() of the rules that found `hits`; 0 when there are none.
  std::uint64_t rules = 0;
  /// The steps the event matched under `key` (engine step ids, router order), so the matcher
  /// need not route again when its rules have the same fingerprint.
  std::vector<std::uint32_t> hits;

  friend bool operator==(const partition_event&, const partition_event&) = default;
};

/// A watermark marker: no later item of this partition for `customer` has event time below it.
struct watermark_marker {
  /// Customer id.
  std::string customer;
  /// The watermark, ns since the epoch.
  std::int64_t watermark_ns = 0;
  /// Wall clock when the watermark service emitted it, ns since the epoch (0: unknown): the
  /// moment the watermark passed, from which watermark-to-alert latency is measured.
  std::int64_t wall_ns = 0;
  /// The wall clock moved the watermark (every source of the customer still sending was idle):
  /// what it decides rests on no event (appended field).
  bool idle = false;
  /// Event time up to which the customer's input is complete: its latest event time when
  /// every source reached end of input (watermark +inf); INT64_MAX otherwise. A missing step
  /// whose window ends after it is undecided (appended field, written with `idle`).
  std::int64_t horizon_ns = std::numeric_limits<std::int64_t>::max();

  friend bool operator==(const watermark_marker&, const watermark_marker&) = default;
};

/// One item of a partition batch: an event or a watermark marker, in stream order.
using partition_item = std::variant<partition_event, watermark_marker>;

/// Events and watermark markers of one partition, in order (cw.part.<p>).
struct partition_batch {
  /// Partition id in [0, partitions).
  std::uint32_t partition = 0;
  /// Items in stream order: a marker applies to every item before it.
  std::vector<partition_item> items;

  friend bool operator==(const partition_batch&, const partition_batch&) = default;
};

/// One completed match of a rule for a key.
struct match {
  /// Rule id (detection-rules `rule_id`).
  std::string rule_id;
  /// The join key the sequence matched on (empty for single-event rules).
  std::string key;
  /// The matched events (msgpack blobs), in sequence order.
  std::vector<std::string> events;
  /// Event time of the first matched event, ns.
  std::int64_t first_ns = 0;
  /// Event time of the last matched event, ns.
  std::int64_t last_ns = 0;
  /// The watermark when the match was detected, ns.
  std::int64_t watermark_ns = 0;
  /// Wall clock when the watermark service emitted the marker that released the match, ns
  /// (watermark_marker::wall_ns; 0: unknown, e.g. released by an end of input in `hunt`). Not
  /// part of the match's identity (msg ids leave it out).
  std::int64_t watermark_wall_ns = 0;
  /// An absence (the rule ends with a missing step) decided by a marker the wall clock moved,
  /// its sources idle (watermark_marker::idle): it rests on no event, and may be a gap in the
  /// data (appended field).
  bool decided_by_idle = false;

  friend bool operator==(const match&, const match&) = default;
};

/// Matches of one customer, as the matcher publishes them (cw.match.<customer>).
struct match_batch {
  /// Customer id.
  std::string customer;
  /// The matches.
  std::vector<match> matches;

  friend bool operator==(const match_batch&, const match_batch&) = default;
};

/// A record a stage could not process, with the reason (cw.dlq.<customer>).
struct dead_letter {
  /// Customer id.
  std::string customer;
  /// Source type name (may be empty when unknown).
  std::string source;
  /// The stage that rejected it ("ingestor", "normalizer", "matcher", ...).
  std::string stage;
  /// A short stable reason code, also a metric label (e.g. "json_syntax", "no_timestamp").
  std::string reason;
  /// Human-readable detail (parser message).
  std::string detail;
  /// Byte offset in `raw` where the problem was found (0 when not applicable).
  std::uint64_t offset = 0;
  /// The offending bytes.
  std::string raw;
  /// When it was dead-lettered, ns since the epoch.
  std::int64_t time_ns = 0;

  friend bool operator==(const dead_letter&, const dead_letter&) = default;
};

/// An event that arrived behind the watermark (cw.late.<customer>).
struct late_event {
  /// Customer id.
  std::string customer;
  /// The join key, if it was routed.
  std::string key;
  /// Event time, ns.
  std::int64_t event_ns = 0;
  /// The watermark it was behind, ns.
  std::int64_t watermark_ns = 0;
  /// Ingest time, ns.
  std::int64_t ingest_ns = 0;
  /// The ECS event as msgpack.
  std::string event;
  /// Why it was set aside: "late" (behind the watermark) or "skew" (more than max_future ahead
  /// of its ingest time); empty from an older writer, which means "late" (appended field).
  std::string reason;

  friend bool operator==(const late_event&, const late_event&) = default;
};

/// One customer's part of a partition checkpoint.
struct customer_checkpoint {
  /// Customer id.
  std::string customer;
  /// The customer's watermark in this partition, ns.
  std::int64_t watermark_ns = 0;
  /// The engine's state (engine::engine::snapshot bytes).
  std::string state;

  friend bool operator==(const customer_checkpoint&, const customer_checkpoint&) = default;
};

/// A matcher partition's state: restored by the partition's next owner, which then consumes
/// cw.part.<p> from `sequence + 1`.
struct partition_checkpoint {
  /// The partition.
  std::uint32_t partition = 0;
  /// The node that wrote it.
  std::string node;
  /// Last CW_PART stream sequence whose effects the state includes.
  std::uint64_t sequence = 0;
  /// When it was written, ns since the epoch.
  std::int64_t time_ns = 0;
  /// Per customer: watermark and engine state.
  std::vector<customer_checkpoint> customers;

  friend bool operator==(const partition_checkpoint&, const partition_checkpoint&) = default;
};

/// Event-time state of one (customer, source) in the watermark service.
struct source_checkpoint {
  std::string customer;
  std::string source;
  std::int64_t max_event_ns = 0; ///< largest event time seen
  std::int64_t last_seen_ns = 0; ///< wall clock of its last event (idle detection)
  std::int64_t lateness_ns = 0;  ///< the source's lateness
  bool eof = false;              ///< its end of input was seen

  friend bool operator==(const source_checkpoint&, const source_checkpoint&) = default;
};

/// One customer's current watermark in the watermark service.
struct customer_watermark {
  std::string customer;
  std::int64_t watermark_ns = 0;

  friend bool operator==(const customer_watermark&, const customer_watermark&) = default;
};

/// The watermark service's state: restored on restart before it consumes CW_EVENTS again.
struct watermark_checkpoint {
  std::vector<source_checkpoint> sources;
  std::vector<customer_watermark> watermarks;

  friend bool operator==(const watermark_checkpoint&, const watermark_checkpoint&) = default;
};

/// Appends the encoding of `msg` to `out`.
void append(std::string& out, const raw_batch& msg);
/// Appends the encoding of `msg` to `out`.
void append(std::string& out, const event_batch& msg);
/// Appends the encoding of `msg` to `out`.
void append(std::string& out, const partition_batch& msg);
/// Appends the encoding of `msg` to `out`.
void append(std::string& out, const match_batch& msg);
/// Appends the encoding of `msg` to `out`.
void append(std::string& out, const dead_letter& msg);
/// Appends the encoding of `msg` to `out`.
void append(std::string& out, const late_event& msg);
/// Appends the encoding of `msg` to `out`.
void append(std::string& out, const partition_checkpoint& msg);
/// Appends the encoding of `msg` to `out`.
void append(std::string& out, const watermark_checkpoint& msg);

/// How a message travels: as plain msgpack or as one compressed frame of it.
enum class codec : std::uint8_t {
  none,
  /// zstd level 1: ~11x on batches of security events, ~0.65 GB/s to compress here. For what is
  /// kept long or comes from outside: raw batches (CW_INGEST, the replay source), matches,
  /// checkpoints.
  zstd,
  /// LZ4 (block format behind chainwatch's own 8-byte header): ~6x, 1.5x faster to compress and
  /// 2.5x faster to decompress than zstd level 1. For the hot hops between chainwatch's own
  /// services, the event and partition batches, where compression was a third of their CPU.
  lz4,
};

/// Messages of at least this many bytes are sent compressed when that is smaller: batches of
/// security events compress 5-11x, and every JetStream hop stores and copies what it is given.
inline constexpr std::size_t compress_min_bytes = 1024;
/// Largest decompressed checkpoint a decoder accepts (a bound against decompression bombs).
inline constexpr std::size_t max_message_bytes = std::size_t{64} << 20;
/// Largest decompressed batch, dead letter or late event: producers cut batches at 512 KiB, so
/// 8 MiB leaves room for one oversized record while bounding what a small hostile frame can
/// make a decoder build (about 20x its decompressed size for minimal records).
inline constexpr std::size_t max_batch_bytes = std::size_t{8} << 20;

/// Replaces `bytes` by its frame in `c` when `bytes` is at least compress_min_bytes long and the
/// frame is smaller; otherwise leaves it alone.
void compress(std::string& bytes, codec c);
/// What compress() would make of `bytes`, as a new string.
std::string compressed(std::string_view bytes, codec c);
/// The plain message: `in` itself, or, when `in` is a zstd or LZ4 frame of at most `limit`
/// decompressed bytes, its content decompressed into `buffer`. Decoders call it first, so they
/// take every form whatever codec the writer chose.
expected<std::string_view, error> plain(std::string_view in, std::string& buffer,
                                        std::size_t limit = max_message_bytes);

/// The codec encode() uses for a kind. Dead letters and late events stay plain msgpack for the
/// operators' tools that read those subjects.
template <class Message>
inline constexpr codec wire_codec = codec::zstd;
template <>
inline constexpr codec wire_codec<event_batch> = codec::lz4;
template <>
inline constexpr codec wire_codec<partition_batch> = codec::lz4;
template <>
inline constexpr codec wire_codec<dead_letter> = codec::none;
template <>
inline constexpr codec wire_codec<late_event> = codec::none;

/// Returns the encoding of `msg`, compressed as compress() decides in the kind's codec.
template <class Message>
std::string encode(const Message& msg) {
  std::string out;
  append(out, msg);
  if constexpr (wire_codec<Message> != codec::none) compress(out, wire_codec<Message>);
  return out;
}

/// Reads the envelope's kind without decoding the rest.
expected<kind, error> peek_kind(std::string_view in);

/// Decodes a raw_batch; fails on any malformed, truncated or trailing input. Error offsets are
/// into the plain (decompressed) message.
expected<raw_batch, error> decode_raw_batch(std::string_view in);
/// Decodes an event_batch.
expected<event_batch, error> decode_event_batch(std::string_view in);
/// An event_route whose key is a view; its hits are event_batch_view::hits_of() it.
struct event_route_view {
  std::string_view key;
  std::uint32_t hits_first = 0;
  std::uint32_t hits_count = 0;
};
/// An event_record whose bytes are views into a decoded message.
struct event_record_view {
  std::int64_t event_ns = 0;
  std::int64_t ingest_ns = 0;
  std::string_view event;
  std::optional<std::string_view> raw;
  std::uint64_t rules = 0;
  std::uint32_t routes_first = 0; ///< the event's routes: event_batch_view::routes_of()
  std::uint32_t routes_count = 0;
  bool event_rules = false;
};
/// An event_batch whose records are views (the watermark service's hot path: no copy per event).
struct event_batch_view {
  std::string customer;
  std::string source;
  std::vector<event_record_view> events;
  std::vector<event_route_view> routes; ///< every event's routes, back to back
  std::vector<std::uint32_t> hits;      ///< every route's hits, back to back
  /// The routes of `e` (an event of this batch).
  std::span<const event_route_view> routes_of(const event_record_view& e) const noexcept {
    return {routes.data() + e.routes_first, e.routes_count};
  }
  /// The hits of `r` (a route of this batch).
  std::span<const std::uint32_t> hits_of(const event_route_view& r) const noexcept {
    return {hits.data() + r.hits_first, r.hits_count};
  }
};
/// Decodes an event_batch without copying its records. The views point into `in`, or for a zstd
/// frame into this thread's decompression buffer: valid until the next decode_* on this thread.
expected<event_batch_view, error> decode_event_batch_view(std::string_view in);
/// Decodes a partition_batch.
expected<partition_batch, error> decode_partition_batch(std::string_view in);
/// A partition_event whose bytes are views into a decoded message.
struct partition_event_view {
  std::string_view customer;
  std::uint64_t key_hash = 0;
  std::string_view key;
  std::int64_t event_ns = 0;
  std::int64_t ingest_ns = 0;
  std::string_view event;
  std::uint64_t rules = 0;
  std::uint32_t hits_first = 0; ///< the event's hits: partition_batch_view::hits_of()
  std::uint32_t hits_count = 0;
};
/// A watermark_marker whose customer is a view.
struct watermark_marker_view {
  std::string_view customer;
  std::int64_t watermark_ns = 0;
  std::int64_t wall_ns = 0;
  bool idle = false;
  std::int64_t horizon_ns = std::numeric_limits<std::int64_t>::max();
};
using partition_item_view = std::variant<partition_event_view, watermark_marker_view>;
/// A partition_batch whose items are views (the matcher's hot path: no allocation per item).
struct partition_batch_view {
  std::uint32_t partition = 0;
  std::vector<partition_item_view> items;
  std::vector<std::uint32_t> hits; ///< every event's hits, back to back
  /// The steps `e` (an item of this batch) hit.
  std::span<const std::uint32_t> hits_of(const partition_event_view& e) const noexcept {
    return {hits.data() + e.hits_first, e.hits_count};
  }
};
/// Decodes a partition_batch without copying its items. The views point into `in`, or for a
/// zstd frame into `buffer` (decompressed there): valid while both live unchanged, so a caller
/// holding several views gives each its own buffer.
expected<partition_batch_view, error> decode_partition_batch_view(std::string_view in,
                                                                  std::string& buffer);
/// Decodes a match_batch.
expected<match_batch, error> decode_match_batch(std::string_view in);
/// Decodes a dead_letter.
expected<dead_letter, error> decode_dead_letter(std::string_view in);
/// Decodes a late_event.
expected<late_event, error> decode_late_event(std::string_view in);
/// Decodes a partition_checkpoint.
expected<partition_checkpoint, error> decode_partition_checkpoint(std::string_view in);
/// Decodes a watermark_checkpoint.
expected<watermark_checkpoint, error> decode_watermark_checkpoint(std::string_view in);

/// Upper bound of the encoded size of one item (for batcher byte accounting).
std::size_t size_hint(const raw_record& r) noexcept;
/// Upper bound of the encoded size of one item.
std::size_t size_hint(const event_record& r) noexcept;
/// Upper bound of the encoded size of one item.
std::size_t size_hint(const partition_item& item) noexcept;
/// Upper bound of the encoded size of one item.
std::size_t size_hint(const match& m) noexcept;

namespace detail {

/// The part both batch builders share: the items of the open batch are encoded behind room for
/// the message header, which sealing writes in front of them, so the items are copied only by
/// the compressor. A batch is sealed before an item that would exceed `max_items` items or
/// (unless it is the first) `max_bytes` of size_hint.
class batch_encoder {
public:
  /// `prefix`: the header's bytes before the items' array header; `c`: the kind's wire_codec.
  batch_encoder(std::string prefix, std::size_t max_items, std::size_t max_bytes, codec c);
  /// Makes room for one item of `hint` bytes (sealing the open batch if it is full) and returns
  /// the buffer to append its encoding to.
  std::string& next(std::size_t hint);
  /// The encoded messages (frames where encode() would compress), in order; resets.
  std::vector<std::string> finish();

private:
  void seal();
  codec codec_;
  std::string prefix_;
  std::size_t room_; ///< bytes kept in front of the items for the header
  std::size_t max_items_, max_bytes_;
  std::string body_;        ///< room_ bytes, then the items of the open batch, encoded
  std::uint32_t count_ = 0; ///< items in body_
  std::size_t bytes_ = 0;   ///< size_hint sum of the open batch
  std::vector<std::string> done_;
};

} // namespace detail

/// Builds the partition_batch messages of one partition item by item, each item encoded once
/// from views (no partition_item, no copies of the event blob): the watermark service's hot
/// path. Batches are cut as detail::batch_encoder says; finish() returns exactly what encode()
/// returns for the same items cut the same way.
class partition_batch_builder {
public:
  partition_batch_builder(std::uint32_t partition, std::size_t max_items, std::size_t max_bytes);
  /// Appends a partition_event (hits written when `hits` is non-empty or `rules` is not 0).
  void add_event(std::string_view customer, std::uint64_t key_hash, std::string_view key,
                 std::int64_t event_ns, std::int64_t ingest_ns, std::string_view event,
                 std::uint64_t rules, std::span<const std::uint32_t> hits);
  /// Appends a watermark_marker.
  void add_marker(std::string_view customer, std::int64_t watermark_ns, std::int64_t wall_ns,
                  bool idle = false,
                  std::int64_t horizon_ns = std::numeric_limits<std::int64_t>::max());
  /// The encoded messages (frames where encode() would compress), in order; resets.
  std::vector<std::string> finish() { return items_.finish(); }

private:
  detail::batch_encoder items_;
};

/// One route of an event as event_batch_builder takes it (engine::router::entries() as views).
struct event_route_ref {
  std::string_view key;
  std::span<const std::uint32_t> hits;
};

/// Builds the event_batch messages of one (customer, source) record by record, each written
/// once from views (no event_record): the normalizer's hot path. Batches are cut as
/// detail::batch_encoder says (size_hint of each record); finish() returns exactly what encode()
/// returns for the same records cut the same way.
class event_batch_builder {
public:
  event_batch_builder(std::string_view customer, std::string_view source, std::size_t max_events,
                      std::size_t max_bytes);
  /// Appends an event_record (the route fields written when `rules` is not 0, `routes` is not
  /// empty or `event_rules` is set, as event_record says).
  void add(std::int64_t event_ns, std::int64_t ingest_ns, std::string_view event,
           std::optional<std::string_view> raw, std::uint64_t rules,
           std::span<const event_route_ref> routes, bool event_rules);
  /// The encoded messages, in order; resets.
  std::vector<std::string> finish() { return items_.finish(); }

private:
  detail::batch_encoder items_;
};

} // namespace chainwatch::wire
