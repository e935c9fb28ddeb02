#pragma once

// The matching engine: compiles EQL rules into an immutable `ruleset`, routes
// each event to the steps it can match (`router`), keeps per-join-key pending
// state (`key_state`) and drives it by event time with watermarks (`engine`).
// The split lets a mesh run each key's state in its own actor.

#include <absl/container/inlined_vector.h>
#include <chainwatch/base/expected.hpp>
#include <chainwatch/eql/ast.hpp>
#include <chainwatch/eql/compile.hpp>
#include <chainwatch/eql/lists.hpp>
#include <chainwatch/event/event.hpp>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace chainwatch::engine {

/// A deadline that never passes.
inline constexpr std::int64_t no_deadline = std::numeric_limits<std::int64_t>::max();

/// Engine-wide settings, fixed when a ruleset is compiled.
struct options {
  /// Order in which a key's events are processed.
  enum class order : std::uint8_t { time, arrival };
  std::string category_field = "event.category"; ///< string or array of strings
  bool case_sensitive = false;                   ///< EQL comparisons and join keys
  order ordering = order::time;                  ///< time: buffer until the watermark passes
  std::size_t max_pending_per_key = 1000;        ///< pending partials per rule per key
  const eql::list_registry* lists = nullptr;     ///< for `inList`
  // Process lineage (`descendant of`, `child of`, `event of` in event queries):
  std::string pid_field = "process.pid";                ///< process id
  std::string ppid_field = "process.parent.pid";        ///< parent process id
  std::string process_category = "process";             ///< category of process events
  std::string process_subtype_field = "event.type";     ///< string, number or array of them
  std::vector<std::string> process_create = {"start"};  ///< subtype values of a process start
  std::vector<std::string> process_terminate = {"end"}; ///< subtype values of a process end
};

/// What a rule's event query feeds when its matching events are not alerted on one by one:
/// Elastic's threshold and new_terms rules and alert suppression (and the shape of Sigma's
/// event_count / value_count correlations). Matching events are grouped by the values of `by`
/// (the group is the join key: it is routed, partitioned and checkpointed like a sequence's).
struct aggregate {
  enum class type : std::uint8_t {
    none,      ///< every matching event is an alert (unless suppressed)
    count,     ///< a group alerts when min_count events (min_distinct distinct values of
               ///< distinct_field) fit within window_ns; the events counted are its evidence and
               ///< are consumed, so the next alert counts later events
    first_seen ///< a group alerts on its first event, and again after window_ns without one
  };
  type kind = type::none;
  std::vector<std::string> by; ///< group fields (paths)
  /// An event missing a `by` field is not counted (threshold and new_terms); false: such events
  /// form the group whose value is null (alert suppression's default).
  bool skip_missing = true;
  std::uint32_t min_count = 1;
  std::string distinct_field;
  std::uint32_t min_distinct = 0;
  std::int64_t window_ns = 0;   ///< count: span of the events counted; first_seen: the history
  std::int64_t suppress_ns = 0; ///< after an alert, the group's alerts are suppressed this long
  bool active() const noexcept { return kind != type::none || suppress_ns > 0; }
};

/// One rule as written.
struct rule_source {
  std::string id;
  std::string name;
  std::string query;
  std::string language = "eql"; ///< "eql", "kuery" or "lucene" (eql::parse_in)
  aggregate agg{};              ///< an event query's aggregation, if any
  /// An EQL condition the event query must also meet (and-ed to it): what a rule type adds to
  /// the query (threat_match's lookup lists). Empty: none.
  std::string also{};
};

/// Why a rule failed to compile.
struct rule_error {
  std::size_t rule_index = 0; ///< index into the rules passed to compile
  eql::error err;
};

/// One result: the events bound to each step, in step order.
struct match {
  std::uint32_t rule = 0;               ///< index of the rule in the ruleset
  std::string key;                      ///< JSON array text of the join key values
  std::vector<event::event_ptr> events; ///< one per step (runs expanded)
  std::int64_t first_ns = 0;            ///< earliest event time
  std::int64_t last_ns = 0;             ///< latest event time
  /// The rule ends with a missing step: the match was decided by event time passing the end of
  /// its window (the watermark), not by an event.
  bool absence = false;
  /// An absence whose window had not closed in event time when input ended (its end is past
  /// the horizon given to engine::finish / advance): not a match, only a report.
  bool undecided = false;
};

namespace detail {
struct compiled;
} // namespace detail

/// Compiled rules: immutable, shared between engines and threads.
class ruleset {
public:
  /// Parses and compiles every rule; the first failure is returned.
  static expected<std::shared_ptr<const ruleset>, rule_error>
  compile(std::vector<rule_source> rules, const options& opts);
  ~ruleset();
  /// Number of rules.
  std::size_t size() const noexcept;
  /// The source of a rule.
  const rule_source& source(std::uint32_t rule) const noexcept;
  /// The options the rules were compiled with.
  const options& opts() const noexcept;
  /// Number of indexed steps (all rules, runs expanded, until and missing steps included).
  std::size_t step_count() const noexcept;
  /// Hash of what decides routing (rule ids and queries, step count, case mode, category field):
  /// equal fingerprints give equal step ids, so a router's hits can be replayed elsewhere.
  std::uint64_t fingerprint() const noexcept;
  /// Internal representation, used by router, key_state and engine.
  const detail::compiled& impl() const noexcept { return *impl_; }

private:
  ruleset() = default;
  std::unique_ptr<detail::compiled> impl_;
};

/// A global step id: identifies a rule and one of its steps.
using step_id = std::uint32_t;

/// One join key an event contributes to, with the steps it matched under that key.
struct route_entry {
  std::string_view key;          ///< JSON array text of the key values
  std::uint64_t hash = 0;        ///< 64-bit hash of `key`, for partitioning
  std::span<const step_id> hits; ///< in processing order (per rule: until, then steps in reverse)
};

/// Finds the steps an event matches and groups them by join key. Holds only
/// scratch buffers: one per thread or actor; the ruleset is shared.
class router {
public:
  explicit router(std::shared_ptr<const ruleset> rules);
  ~router();
  router(router&&) noexcept;
  router& operator=(router&&) noexcept;

  /// Routes one event; the result is valid until the next call.
  void route(const event::event& ev);
  /// Join keys (sequence and join rules) the last routed event contributes to.
  std::span<const route_entry> entries() const noexcept { return entries_; }
  /// Event-query rules the last routed event matched, in rule order.
  std::span<const std::uint32_t> event_rules() const noexcept { return event_rules_; }
  /// Total step conditions evaluated so far (for index tests).
  std::uint64_t evaluations() const noexcept { return evaluations_; }
  /// The ruleset.
  const std::shared_ptr<const ruleset>& rules() const noexcept { return rules_; }

private:
  void add_candidates(std::span<const step_id> steps);
  std::shared_ptr<const ruleset> rules_;
  eql::eval_context ctx_;
  // Candidate steps of this event as a bitmap by step id (read in id order: no sort), and the
  // words of it that are set (cleared as they are read).
  std::vector<std::uint64_t> candidate_bits_;
  std::vector<std::uint32_t> candidate_words_;
  std::vector<std::uint32_t> condition_stamp_; // epoch << 1 | value, by condition id
  std::vector<std::uint32_t> key_list_stamp_;  // epoch, by key-list id
  std::vector<std::uint32_t> key_list_entry_;  // entry index, by key-list id
  std::vector<std::uint8_t> key_list_null_;    // a key value is null, by key-list id
  std::vector<event::value_ref> field_values_; // this event's field reads, by field slot
  std::vector<std::uint32_t> field_stamps_;    // epoch, by field slot
  std::uint32_t epoch_ = 0;
  std::vector<step_id> candidates_;
  std::vector<std::pair<std::uint32_t, step_id>> tagged_; // (entry, step)
  std::vector<step_id> hits_;
  std::string keys_;
  std::vector<std::pair<std::size_t, std::size_t>> key_spans_;
  std::vector<route_entry> entries_;
  std::vector<std::uint32_t> event_rules_;
  std::uint64_t evaluations_ = 0;
};

/// Receives what a key_state decides.
class key_sink {
public:
  virtual ~key_sink() = default;
  /// A completed sequence or join.
  virtual void on_match(match&& m) = 0;
  /// A pending partial was dropped because of max_pending_per_key.
  virtual void on_overflow() {}
  /// An alert of an aggregate rule was suppressed (aggregate::suppress_ns).
  virtual void on_suppressed() {}

  /// Event time up to which input is known to be complete. A trailing missing step whose
  /// window ends after it is reported with match::undecided instead of matching.
  std::int64_t horizon = no_deadline;
};

/// All pending state of one join key, for every rule, with its own event store and time-order
/// buffer (the engine keeps the same records in its key table, with one event store and one
/// queue for all keys). Not thread-safe.
class key_state {
public:
  key_state();
  ~key_state();
  key_state(key_state&&) noexcept;
  key_state& operator=(key_state&&) noexcept;

  /// Takes one routed event: processes it now (order::arrival) or buffers it
  /// until the watermark passes it (order::time). Returns the next deadline.
  std::int64_t on_event(const ruleset& rules, std::string_view key, const event::event_ptr& ev,
                        std::int64_t ts, std::uint64_t seq, std::span<const step_id> hits,
                        key_sink& out);
  /// Processes one routed event now, whatever the ordering (for owners that keep
  /// their own time-ordered queue). Returns the next deadline.
  std::int64_t process_now(const ruleset& rules, std::string_view key, const event::event_ptr& ev,
                           std::int64_t ts, std::span<const step_id> hits, key_sink& out);
  /// Processes buffered events and decides expiries at or before `watermark`;
  /// returns the next deadline (`no_deadline` when nothing is pending).
  std::int64_t advance(const ruleset& rules, std::string_view key, std::int64_t watermark,
                       key_sink& out);
  /// True when nothing is pending or buffered: the state may be dropped.
  bool empty() const noexcept;
  /// Pending partial sequences and joins (including completed ones awaiting a trailing missing
  /// step). O(records).
  std::size_t pending() const noexcept;
  /// Heap bytes held (glibc chunk rounding included), excluding the events themselves.
  std::size_t memory_bytes() const noexcept;

  /// Scheduling bookkeeping for the owner's deadline heap.
  std::int64_t scheduled = no_deadline;
  /// Owner references (heap entries, queued events) naming this state; drop only at 0.
  std::uint32_t heap_refs = 0;

private:
  struct time_buffer;
  struct impl; // records, an event store of its own, the time-order buffer
  impl& get();
  std::int64_t next_deadline() const noexcept;
  std::unique_ptr<impl> impl_;
};

/// Counters and gauges of an engine.
struct engine_stats {
  std::uint64_t events = 0;          ///< pushed events
  std::uint64_t late = 0;            ///< behind the watermark on push, not processed
  std::uint64_t overflow = 0;        ///< partials dropped by max_pending_per_key
  std::uint64_t matches = 0;         ///< matches handed to the sink (after pipes)
  std::uint64_t undecided = 0;       ///< absences whose window was still open at the horizon
  std::uint64_t suppressed = 0;      ///< alerts of aggregate rules suppressed (suppress_ns)
  std::uint64_t evaluations = 0;     ///< step conditions evaluated
  std::size_t live_keys = 0;         ///< key states held
  std::size_t pending_sequences = 0; ///< pending partials over all keys
  std::size_t state_bytes = 0;       ///< approximate bytes of key states (events excluded)
};

/// What push did with an event.
/// `unrouted` only from push_key: the event matched no step of that key (and, for the empty
/// key, no event-query rule).
enum class push_result : std::uint8_t { accepted, late, unrouted };

/// A single-threaded engine: router + key states + deadline heap + pipes.
class engine {
public:
  engine(std::shared_ptr<const ruleset> rules, std::function<void(match&&)> sink);
  ~engine();
  engine(const engine&) = delete;
  engine& operator=(const engine&) = delete;

  /// Takes one event (arrival); late events (timestamp < watermark) are counted and skipped.
  push_result push(event::event_ptr ev, std::int64_t timestamp_ns);
  /// As push, for one join key only: a mesh partition gets one item per event and join key, so
  /// only the steps of `key` are taken, and event-query rules only when `key` is empty.
  push_result push_key(event::event_ptr ev, std::int64_t timestamp_ns, std::string_view key);
  /// As push_key with the steps already found by a router over a ruleset with the same
  /// fingerprint (the mesh's watermark service routes once; its hits travel with the event).
  /// Hits that cannot be this ruleset's (bad ids, an event-query rule's step), an empty key or
  /// lineage rules fall back to routing the event here.
  push_result push_hits(event::event_ptr ev, std::int64_t timestamp_ns, std::string_view key,
                        std::span<const step_id> hits);
  /// True when push_hits takes `hits` for `key` as they are (no fallback to routing). Then,
  /// unless reads_events_of(hits), the engine reads none of the event's fields (it only keeps the
  /// event as evidence), so a caller may pass an event that is still msgpack
  /// (event::event::encoded) and never decode it.
  bool takes_hits(std::string_view key, std::span<const step_id> hits) const noexcept;
  /// True when a rule of one of `hits` has pipes, which read the fields of its matches' events.
  bool reads_events_of(std::span<const step_id> hits) const noexcept;
  /// Raises the watermark: buffered events at or before it are processed, deadlines
  /// at or before it decided (maxspan expiry, trailing missing steps), drained keys dropped.
  /// `horizon_ns` is the event time up to which input is complete (below the watermark only at
  /// the end of input, when the watermark is +inf): a trailing missing step whose window ends
  /// after it is undecided, handed to the sink with match::undecided set (not a match, not
  /// piped, counted in engine_stats::undecided).
  void advance(std::int64_t watermark_ns, std::int64_t horizon_ns = no_deadline);
  /// End of input: processes everything, decides all pending steps (those past `horizon_ns`,
  /// the latest event time seen, as undecided: see advance), closes pipes.
  void finish(std::int64_t horizon_ns = no_deadline);
  /// The current watermark.
  std::int64_t watermark() const noexcept { return watermark_; }
  /// Counters; O(live keys) because gauges are summed on demand.
  engine_stats stats() const;
  /// Appends the whole state (watermark, queued events, every key's partial matches with their
  /// events, lineage, counters; not pipes) as msgpack with a checksum, for checkpoints.
  void snapshot(std::string& out) const;
  /// Replaces the state with a snapshot's. Fails, changing nothing, on corrupt input or a
  /// snapshot written with other rules or options (`error` says why).
  bool restore(std::string_view bytes, std::string* error = nullptr);

  struct impl;

private:
  push_result push_impl(event::event_ptr ev, std::int64_t timestamp_ns,
                        const std::string_view* only_key);
  void enqueue(const event::event_ptr& ev, std::int64_t timestamp_ns, std::uint64_t seq,
               std::string_view key, std::uint64_t hash, std::span<const step_id> hits);

  std::unique_ptr<impl> impl_;
  std::int64_t watermark_ = std::numeric_limits<std::int64_t>::min();
};

} // namespace chainwatch::engine
