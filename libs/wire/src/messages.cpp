#include "chainwatch/wire/messages.hpp"

#include "chainwatch/wire/codec.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

namespace chainwatch::wire {

// Decoding helpers: each returns early with the reader's error.
#define CW_WIRE_TRY(var, expr)                                                                     \
  auto var##_result = (expr);                                                                      \
  if (!var##_result) return unexpected{var##_result.error()};                                      \
  auto var = std::move(*var##_result)

namespace {

// Decompressed messages are decoded from a per-thread buffer: a batch is ~0.5 MiB, and a fresh
// allocation of that size per message makes glibc consolidate its free lists every time.
// Decoders copy what they keep, so the buffer is free again when they return.
std::string& plain_buffer() {
  thread_local std::string buffer;
  if (buffer.capacity() > (std::size_t{8} << 20)) std::string().swap(buffer); // after a huge one
  return buffer;
}

// What a decoder reserves for an element count read from the input: a 2 KiB zstd frame can
// claim 64M elements (gigabytes of vector), so larger batches grow as they are actually read.
std::size_t reserve_hint(std::uint32_t n) noexcept {
  return std::min<std::uint32_t>(n, 4096);
}

// Every string/bin field costs at most 5 header bytes, every integer 9, every array header 5.
constexpr std::size_t field_overhead = 9;

// Writes the envelope header: an array of `fields + 2` elements, kind, version.
void envelope(writer& w, kind k, std::uint32_t fields) {
  w.array(fields + 2);
  w.uint(static_cast<std::uint8_t>(k));
  w.uint(schema_version);
}

// The header of a partition_batch holding `items` items.
void partition_header(writer& w, std::uint32_t partition, std::uint32_t items) {
  envelope(w, kind::partition_batch, 2);
  w.uint(partition);
  w.array(items);
}

// The header of an event_batch holding `events` records.
void event_batch_header(writer& w, std::string_view customer, std::string_view source,
                        std::uint32_t events) {
  envelope(w, kind::event_batch, 3);
  w.str(customer);
  w.str(source);
  w.array(events);
}

// One partition item, as append(partition_batch) and partition_batch_builder write it (and the
// size_hint of each).
void put_partition_event(writer& w, std::string_view customer, std::uint64_t key_hash,
                         std::string_view key, std::int64_t event_ns, std::int64_t ingest_ns,
                         std::string_view event, std::uint64_t rules,
                         std::span<const std::uint32_t> hits) {
  const bool with_hits = !hits.empty() || rules != 0;
  w.array(with_hits ? 9 : 7);
  w.uint(0);
  w.str(customer);
  w.uint(key_hash);
  w.bin(key);
  w.sint(event_ns);
  w.sint(ingest_ns);
  w.bin(event);
  if (with_hits) {
    w.uint(rules);
    w.array(static_cast<std::uint32_t>(hits.size()));
    for (auto h : hits)
      w.uint(h);
  }
}

void put_marker(writer& w, std::string_view customer, std::int64_t watermark_ns,
                std::int64_t wall_ns, bool idle, std::int64_t horizon_ns) {
  const bool decision = idle || horizon_ns != std::numeric_limits<std::int64_t>::max();
  w.array(decision ? 6 : wall_ns != 0 ? 4 : 3);
  w.uint(1);
  w.str(customer);
  w.sint(watermark_ns);
  if (wall_ns != 0 || decision) w.sint(wall_ns); // appended fields: older readers skip them
  if (decision) {
    w.boolean(idle);
    w.sint(horizon_ns);
  }
}

// One event_record, as append(event_batch) and event_batch_builder write it. The routes are
// appended fields, written when there is anything to say (so every record decodes to what was
// encoded, rules 0 included: the watermark ignores those routes).
template <class Routes>
void put_event_record(writer& w, std::int64_t event_ns, std::int64_t ingest_ns,
                      std::string_view event, std::optional<std::string_view> raw,
                      std::uint64_t rules, const Routes& routes, bool event_rules) {
  const bool routed = rules != 0 || !routes.empty() || event_rules;
  w.array(routed ? 7 : 4);
  w.sint(event_ns);
  w.sint(ingest_ns);
  w.bin(event);
  if (raw)
    w.bin(*raw);
  else
    w.nil();
  if (!routed) return;
  w.uint(rules);
  w.array(static_cast<std::uint32_t>(routes.size()));
  for (const auto& route : routes) {
    w.array(2);
    w.bin(route.key);
    w.array(static_cast<std::uint32_t>(route.hits.size()));
    for (auto h : route.hits)
      w.uint(h);
  }
  w.boolean(event_rules);
}

// The size_hint of one event_record.
template <class Routes>
std::size_t event_record_hint(std::string_view event, std::optional<std::string_view> raw,
                              const Routes& routes) noexcept {
  std::size_t n = 8 * field_overhead + event.size() + (raw ? raw->size() : 0);
  for (const auto& route : routes)
    n += (3 + route.hits.size()) * field_overhead + route.key.size();
  return n;
}

std::size_t event_item_hint(std::string_view customer, std::string_view key, std::string_view event,
                            std::size_t hits) noexcept {
  return (10 + hits) * field_overhead + customer.size() + key.size() + event.size();
}

std::size_t marker_item_hint(std::string_view customer) noexcept {
  return 7 * field_overhead + customer.size();
}

// Opens a record array of at least `min` elements; returns how many extra trailing elements
// (fields added by a newer writer) must be skipped after the known ones.
expected<std::uint32_t, error> open_record(reader& r, std::uint32_t min) {
  auto start = r.offset();
  CW_WIRE_TRY(n, r.array());
  if (n < min) return unexpected{error{errc::bad_arity, start}};
  return n - min;
}

expected<bool, error> skip_extra(reader& r, std::uint32_t extra) {
  for (std::uint32_t i = 0; i < extra; ++i) {
    auto s = r.skip();
    if (!s) return s;
  }
  return true;
}

// Reads the envelope; returns the number of extra fields past `fields`.
expected<std::uint32_t, error> open_envelope(reader& r, kind want, std::uint32_t fields) {
  CW_WIRE_TRY(extra, open_record(r, fields + 2));
  auto at = r.offset();
  CW_WIRE_TRY(k, r.uint());
  if (k != static_cast<std::uint8_t>(want)) return unexpected{error{errc::bad_kind, at}};
  at = r.offset();
  CW_WIRE_TRY(v, r.uint());
  if (v != schema_version) return unexpected{error{errc::bad_version, at}};
  return extra;
}

expected<bool, error> close_envelope(reader& r, std::uint32_t extra) {
  CW_WIRE_TRY(ok, skip_extra(r, extra));
  if (!r.at_end()) return unexpected{error{errc::trailing_bytes, r.offset()}};
  return ok;
}

// Appends an array of step ids (u32) to `hits`, the batch's shared vector (no reserve per
// array: reserving the exact size would reallocate it every time).
expected<bool, error> read_hits(reader& r, std::vector<std::uint32_t>& hits) {
  CW_WIRE_TRY(count, r.array());
  for (std::uint32_t h = 0; h < count; ++h) {
    auto at = r.offset();
    CW_WIRE_TRY(hit, r.uint());
    if (hit > UINT32_MAX) return unexpected{error{errc::bad_value, at}};
    hits.push_back(static_cast<std::uint32_t>(hit));
  }
  return true;
}

expected<std::optional<std::string>, error> opt_bytes(reader& r) {
  if (r.try_nil()) return std::optional<std::string>{};
  CW_WIRE_TRY(b, r.bin());
  return std::optional<std::string>{std::string(b)};
}

expected<std::optional<std::uint64_t>, error> opt_uint(reader& r) {
  if (r.try_nil()) return std::optional<std::uint64_t>{};
  CW_WIRE_TRY(v, r.uint());
  return std::optional<std::uint64_t>{v};
}

} // namespace

const char* to_string(kind k) noexcept {
  switch (k) {
  case kind::raw_batch:
    return "raw_batch";
  case kind::event_batch:
    return "event_batch";
  case kind::partition_batch:
    return "partition_batch";
  case kind::match_batch:
    return "match_batch";
  case kind::dead_letter:
    return "dead_letter";
  case kind::late_event:
    return "late_event";
  case kind::partition_checkpoint:
    return "partition_checkpoint";
  case kind::watermark_checkpoint:
    return "watermark_checkpoint";
  }
  return "unknown";
}

// --- encoding -----------------------------------------------------------------------------------

void append(std::string& out, const raw_batch& msg) {
  writer w(out);
  const bool origin = !msg.origin.empty() || !msg.header.empty();
  envelope(w, kind::raw_batch, origin ? 6 : 4);
  w.str(msg.customer);
  w.str(msg.source_type);
  w.sint(msg.ingest_ns);
  w.array(static_cast<std::uint32_t>(msg.records.size()));
  for (const auto& rec : msg.records) {
    w.array(3);
    w.bin(rec.bytes);
    w.opt_str(rec.event_id);
    w.opt_uint(rec.sequence);
  }
  if (origin) { // appended fields
    w.str(msg.origin);
    w.array(static_cast<std::uint32_t>(msg.header.size()));
    for (const auto& line : msg.header)
      w.bin(line);
  }
}

void append(std::string& out, const event_batch& msg) {
  writer w(out);
  event_batch_header(w, msg.customer, msg.source, static_cast<std::uint32_t>(msg.events.size()));
  for (const auto& ev : msg.events)
    put_event_record(w, ev.event_ns, ev.ingest_ns, ev.event,
                     ev.raw ? std::optional<std::string_view>(*ev.raw) : std::nullopt, ev.rules,
                     ev.routes, ev.event_rules);
}

void append(std::string& out, const partition_batch& msg) {
  writer w(out);
  partition_header(w, msg.partition, static_cast<std::uint32_t>(msg.items.size()));
  for (const auto& item : msg.items) {
    if (const auto* ev = std::get_if<partition_event>(&item)) {
      put_partition_event(w, ev->customer, ev->key_hash, ev->key, ev->event_ns, ev->ingest_ns,
                          ev->event, ev->rules, ev->hits);
    } else {
      const auto& wm = std::get<watermark_marker>(item);
      put_marker(w, wm.customer, wm.watermark_ns, wm.wall_ns, wm.idle, wm.horizon_ns);
    }
  }
}

void append(std::string& out, const match_batch& msg) {
  writer w(out);
  envelope(w, kind::match_batch, 2);
  w.str(msg.customer);
  w.array(static_cast<std::uint32_t>(msg.matches.size()));
  for (const auto& m : msg.matches) {
    w.array(m.decided_by_idle ? 8 : m.watermark_wall_ns != 0 ? 7 : 6);
    w.str(m.rule_id);
    w.bin(m.key);
    w.array(static_cast<std::uint32_t>(m.events.size()));
    for (const auto& ev : m.events)
      w.bin(ev);
    w.sint(m.first_ns);
    w.sint(m.last_ns);
    w.sint(m.watermark_ns);
    if (m.watermark_wall_ns != 0 || m.decided_by_idle) w.sint(m.watermark_wall_ns); // appended
    if (m.decided_by_idle) w.boolean(true);                                         // appended
  }
}

void append(std::string& out, const dead_letter& msg) {
  writer w(out);
  envelope(w, kind::dead_letter, 8);
  w.str(msg.customer);
  w.str(msg.source);
  w.str(msg.stage);
  w.str(msg.reason);
  w.str(msg.detail);
  w.uint(msg.offset);
  w.bin(msg.raw);
  w.sint(msg.time_ns);
}

void append(std::string& out, const late_event& msg) {
  writer w(out);
  envelope(w, kind::late_event, msg.reason.empty() ? 6 : 7);
  w.str(msg.customer);
  w.bin(msg.key);
  w.sint(msg.event_ns);
  w.sint(msg.watermark_ns);
  w.sint(msg.ingest_ns);
  w.bin(msg.event);
  if (!msg.reason.empty()) w.str(msg.reason); // appended field
}

void append(std::string& out, const partition_checkpoint& msg) {
  writer w(out);
  envelope(w, kind::partition_checkpoint, 5);
  w.uint(msg.partition);
  w.str(msg.node);
  w.uint(msg.sequence);
  w.sint(msg.time_ns);
  w.array(static_cast<std::uint32_t>(msg.customers.size()));
  for (const auto& c : msg.customers) {
    w.array(3);
    w.str(c.customer);
    w.sint(c.watermark_ns);
    w.bin(c.state);
  }
}

void append(std::string& out, const watermark_checkpoint& msg) {
  writer w(out);
  envelope(w, kind::watermark_checkpoint, 2);
  w.array(static_cast<std::uint32_t>(msg.sources.size()));
  for (const auto& s : msg.sources) {
    w.array(6);
    w.str(s.customer);
    w.str(s.source);
    w.sint(s.max_event_ns);
    w.sint(s.last_seen_ns);
    w.sint(s.lateness_ns);
    w.boolean(s.eof);
  }
  w.array(static_cast<std::uint32_t>(msg.watermarks.size()));
  for (const auto& c : msg.watermarks) {
    w.array(2);
    w.str(c.customer);
    w.sint(c.watermark_ns);
  }
}

// --- decoding -----------------------------------------------------------------------------------

expected<kind, error> peek_kind(std::string_view in) {
  CW_WIRE_TRY(bytes, plain(in, plain_buffer()));
  reader r(bytes);
  auto start = r.offset();
  CW_WIRE_TRY(n, r.array());
  if (n < 2) return unexpected{error{errc::bad_arity, start}};
  auto at = r.offset();
  CW_WIRE_TRY(k, r.uint());
  if (k < 1 || k > static_cast<std::uint8_t>(kind::watermark_checkpoint))
    return unexpected{error{errc::bad_kind, at}};
  return static_cast<kind>(k);
}

expected<raw_batch, error> decode_raw_batch(std::string_view in) {
  CW_WIRE_TRY(bytes, plain(in, plain_buffer(), max_batch_bytes));
  reader r(bytes);
  CW_WIRE_TRY(extra, open_envelope(r, kind::raw_batch, 4));
  raw_batch out;
  CW_WIRE_TRY(customer, r.str());
  CW_WIRE_TRY(source, r.str());
  CW_WIRE_TRY(ingest, r.sint());
  CW_WIRE_TRY(n, r.array());
  out.customer = customer;
  out.source_type = source;
  out.ingest_ns = ingest;
  out.records.reserve(reserve_hint(n));
  for (std::uint32_t i = 0; i < n; ++i) {
    CW_WIRE_TRY(rec_extra, open_record(r, 3));
    auto& rec = out.records.emplace_back();
    CW_WIRE_TRY(bytes, r.bin());
    CW_WIRE_TRY(id, opt_bytes(r));
    CW_WIRE_TRY(seq, opt_uint(r));
    rec.bytes = bytes;
    rec.event_id = std::move(id);
    rec.sequence = seq;
    CW_WIRE_TRY(skipped, skip_extra(r, rec_extra));
    (void)skipped;
  }
  if (extra >= 2) { // origin and header (appended fields)
    extra -= 2;
    CW_WIRE_TRY(origin, r.str());
    out.origin = origin;
    CW_WIRE_TRY(lines, r.array());
    out.header.reserve(reserve_hint(lines));
    for (std::uint32_t i = 0; i < lines; ++i) {
      CW_WIRE_TRY(line, r.bin());
      out.header.emplace_back(line);
    }
  }
  CW_WIRE_TRY(closed, close_envelope(r, extra));
  (void)closed;
  return out;
}

expected<event_batch_view, error> decode_event_batch_view(std::string_view in) {
  CW_WIRE_TRY(bytes, plain(in, plain_buffer(), max_batch_bytes));
  reader r(bytes);
  CW_WIRE_TRY(extra, open_envelope(r, kind::event_batch, 3));
  event_batch_view out;
  CW_WIRE_TRY(customer, r.str());
  CW_WIRE_TRY(source, r.str());
  CW_WIRE_TRY(n, r.array());
  out.customer = customer;
  out.source = source;
  out.events.reserve(reserve_hint(n));
  for (std::uint32_t i = 0; i < n; ++i) {
    CW_WIRE_TRY(rec_extra, open_record(r, 4));
    auto& ev = out.events.emplace_back();
    CW_WIRE_TRY(event_ns, r.sint());
    CW_WIRE_TRY(ingest_ns, r.sint());
    CW_WIRE_TRY(blob, r.bin());
    ev.event_ns = event_ns;
    ev.ingest_ns = ingest_ns;
    ev.event = blob;
    if (!r.try_nil()) {
      CW_WIRE_TRY(raw, r.bin());
      ev.raw = raw;
    }
    ev.routes_first = static_cast<std::uint32_t>(out.routes.size());
    if (rec_extra >= 3) { // rules fingerprint, routes, event_rules (appended fields)
      rec_extra -= 3;
      CW_WIRE_TRY(rules, r.uint());
      ev.rules = rules;
      CW_WIRE_TRY(count, r.array());
      for (std::uint32_t k = 0; k < count; ++k) {
        CW_WIRE_TRY(route_extra, open_record(r, 2));
        CW_WIRE_TRY(key, r.bin());
        auto& route = out.routes.emplace_back();
        route.key = key;
        route.hits_first = static_cast<std::uint32_t>(out.hits.size());
        CW_WIRE_TRY(hits_read, read_hits(r, out.hits));
        (void)hits_read;
        route.hits_count = static_cast<std::uint32_t>(out.hits.size() - route.hits_first);
        CW_WIRE_TRY(skipped, skip_extra(r, route_extra));
        (void)skipped;
      }
      CW_WIRE_TRY(event_rules, r.boolean());
      ev.event_rules = event_rules;
    }
    ev.routes_count = static_cast<std::uint32_t>(out.routes.size() - ev.routes_first);
    CW_WIRE_TRY(skipped, skip_extra(r, rec_extra));
    (void)skipped;
  }
  CW_WIRE_TRY(closed, close_envelope(r, extra));
  (void)closed;
  return out;
}

expected<event_batch, error> decode_event_batch(std::string_view in) {
  CW_WIRE_TRY(view, decode_event_batch_view(in));
  event_batch out{std::move(view.customer), std::move(view.source), {}};
  out.events.reserve(view.events.size());
  for (const auto& v : view.events) {
    auto& ev = out.events.emplace_back();
    ev.event_ns = v.event_ns;
    ev.ingest_ns = v.ingest_ns;
    ev.event = v.event;
    if (v.raw) ev.raw = std::string(*v.raw);
    ev.rules = v.rules;
    ev.event_rules = v.event_rules;
    for (const auto& route : view.routes_of(v)) {
      auto hits = view.hits_of(route);
      ev.routes.push_back({std::string(route.key), {hits.begin(), hits.end()}});
    }
  }
  return out;
}

expected<partition_batch_view, error> decode_partition_batch_view(std::string_view in,
                                                                  std::string& buffer) {
  CW_WIRE_TRY(bytes, plain(in, buffer, max_batch_bytes));
  reader r(bytes);
  CW_WIRE_TRY(extra, open_envelope(r, kind::partition_batch, 2));
  partition_batch_view out;
  auto at = r.offset();
  CW_WIRE_TRY(partition, r.uint());
  if (partition > UINT32_MAX) return unexpected{error{errc::bad_value, at}};
  out.partition = static_cast<std::uint32_t>(partition);
  CW_WIRE_TRY(n, r.array());
  out.items.reserve(reserve_hint(n));
  for (std::uint32_t i = 0; i < n; ++i) {
    auto item_at = r.offset();
    CW_WIRE_TRY(fields, r.array());
    if (fields < 1) return unexpected{error{errc::bad_arity, item_at}};
    auto tag_at = r.offset();
    CW_WIRE_TRY(tag, r.uint());
    std::uint32_t known = 0;
    if (tag == 0) {
      known = 7;
      if (fields < known) return unexpected{error{errc::bad_arity, item_at}};
      partition_event_view ev;
      CW_WIRE_TRY(customer, r.str());
      CW_WIRE_TRY(hash, r.uint());
      CW_WIRE_TRY(key, r.bin());
      CW_WIRE_TRY(event_ns, r.sint());
      CW_WIRE_TRY(ingest_ns, r.sint());
      CW_WIRE_TRY(blob, r.bin());
      ev.customer = customer;
      ev.key_hash = hash;
      ev.key = key;
      ev.event_ns = event_ns;
      ev.ingest_ns = ingest_ns;
      ev.event = blob;
      ev.hits_first = static_cast<std::uint32_t>(out.hits.size());
      if (fields >= 9) { // rules fingerprint and hits (appended fields)
        known = 9;
        CW_WIRE_TRY(rules, r.uint());
        ev.rules = rules;
        CW_WIRE_TRY(hits_read, read_hits(r, out.hits));
        (void)hits_read;
      }
      ev.hits_count = static_cast<std::uint32_t>(out.hits.size() - ev.hits_first);
      out.items.emplace_back(ev);
    } else if (tag == 1) {
      known = 3;
      if (fields < known) return unexpected{error{errc::bad_arity, item_at}};
      CW_WIRE_TRY(customer, r.str());
      CW_WIRE_TRY(wm, r.sint());
      watermark_marker_view m{customer, wm};
      if (fields >= 4) { // emission wall clock (appended field)
        known = 4;
        CW_WIRE_TRY(at, r.sint());
        m.wall_ns = at;
      }
      if (fields >= 6) { // idle, horizon (appended fields)
        known = 6;
        CW_WIRE_TRY(idle, r.boolean());
        CW_WIRE_TRY(horizon, r.sint());
        m.idle = idle;
        m.horizon_ns = horizon;
      }
      out.items.emplace_back(m);
    } else {
      return unexpected{error{errc::bad_value, tag_at}};
    }
    CW_WIRE_TRY(skipped, skip_extra(r, fields - known));
    (void)skipped;
  }
  CW_WIRE_TRY(closed, close_envelope(r, extra));
  (void)closed;
  return out;
}

expected<partition_batch, error> decode_partition_batch(std::string_view in) {
  CW_WIRE_TRY(view, decode_partition_batch_view(in, plain_buffer()));
  partition_batch out;
  out.partition = view.partition;
  out.items.reserve(view.items.size());
  for (const auto& item : view.items) {
    if (const auto* e = std::get_if<partition_event_view>(&item)) {
      auto hits = view.hits_of(*e);
      out.items.emplace_back(partition_event{std::string(e->customer),
                                             e->key_hash,
                                             std::string(e->key),
                                             e->event_ns,
                                             e->ingest_ns,
                                             std::string(e->event),
                                             e->rules,
                                             {hits.begin(), hits.end()}});
    } else {
      const auto& m = std::get<watermark_marker_view>(item);
      out.items.emplace_back(watermark_marker{std::string(m.customer), m.watermark_ns, m.wall_ns,
                                              m.idle, m.horizon_ns});
    }
  }
  return out;
}

expected<match_batch, error> decode_match_batch(std::string_view in) {
  CW_WIRE_TRY(bytes, plain(in, plain_buffer(), max_batch_bytes));
  reader r(bytes);
  CW_WIRE_TRY(extra, open_envelope(r, kind::match_batch, 2));
  match_batch out;
  CW_WIRE_TRY(customer, r.str());
  out.customer = customer;
  CW_WIRE_TRY(n, r.array());
  out.matches.reserve(reserve_hint(n));
  for (std::uint32_t i = 0; i < n; ++i) {
    CW_WIRE_TRY(rec_extra, open_record(r, 6));
    auto& m = out.matches.emplace_back();
    CW_WIRE_TRY(rule_id, r.str());
    CW_WIRE_TRY(key, r.bin());
    m.rule_id = rule_id;
    m.key = key;
    CW_WIRE_TRY(events, r.array());
    m.events.reserve(reserve_hint(events));
    for (std::uint32_t j = 0; j < events; ++j) {
      CW_WIRE_TRY(blob, r.bin());
      m.events.emplace_back(blob);
    }
    CW_WIRE_TRY(first, r.sint());
    CW_WIRE_TRY(last, r.sint());
    CW_WIRE_TRY(wm, r.sint());
    m.first_ns = first;
    m.last_ns = last;
    m.watermark_ns = wm;
    if (rec_extra > 0) { // the marker's emission wall clock (appended field)
      CW_WIRE_TRY(wall, r.sint());
      m.watermark_wall_ns = wall;
      --rec_extra;
    }
    if (rec_extra > 0) { // decided by an idle advance (appended field)
      CW_WIRE_TRY(idle, r.boolean());
      m.decided_by_idle = idle;
      --rec_extra;
    }
    CW_WIRE_TRY(skipped, skip_extra(r, rec_extra));
    (void)skipped;
  }
  CW_WIRE_TRY(closed, close_envelope(r, extra));
  (void)closed;
  return out;
}

expected<dead_letter, error> decode_dead_letter(std::string_view in) {
  CW_WIRE_TRY(bytes, plain(in, plain_buffer(), max_batch_bytes));
  reader r(bytes);
  CW_WIRE_TRY(extra, open_envelope(r, kind::dead_letter, 8));
  dead_letter out;
  CW_WIRE_TRY(customer, r.str());
  CW_WIRE_TRY(source, r.str());
  CW_WIRE_TRY(stage, r.str());
  CW_WIRE_TRY(reason, r.str());
  CW_WIRE_TRY(detail, r.str());
  CW_WIRE_TRY(offset, r.uint());
  CW_WIRE_TRY(raw, r.bin());
  CW_WIRE_TRY(time_ns, r.sint());
  out.customer = customer;
  out.source = source;
  out.stage = stage;
  out.reason = reason;
  out.detail = detail;
  out.offset = offset;
  out.raw = raw;
  out.time_ns = time_ns;
  CW_WIRE_TRY(closed, close_envelope(r, extra));
  (void)closed;
  return out;
}

expected<late_event, error> decode_late_event(std::string_view in) {
  CW_WIRE_TRY(bytes, plain(in, plain_buffer(), max_batch_bytes));
  reader r(bytes);
  CW_WIRE_TRY(extra, open_envelope(r, kind::late_event, 6));
  late_event out;
  CW_WIRE_TRY(customer, r.str());
  CW_WIRE_TRY(key, r.bin());
  CW_WIRE_TRY(event_ns, r.sint());
  CW_WIRE_TRY(wm, r.sint());
  CW_WIRE_TRY(ingest_ns, r.sint());
  CW_WIRE_TRY(blob, r.bin());
  out.customer = customer;
  out.key = key;
  out.event_ns = event_ns;
  out.watermark_ns = wm;
  out.ingest_ns = ingest_ns;
  out.event = blob;
  if (extra > 0) { // reason (appended field)
    --extra;
    CW_WIRE_TRY(reason, r.str());
    out.reason = reason;
  }
  CW_WIRE_TRY(closed, close_envelope(r, extra));
  (void)closed;
  return out;
}

expected<partition_checkpoint, error> decode_partition_checkpoint(std::string_view in) {
  CW_WIRE_TRY(bytes, plain(in, plain_buffer()));
  reader r(bytes);
  CW_WIRE_TRY(extra, open_envelope(r, kind::partition_checkpoint, 5));
  partition_checkpoint out;
  CW_WIRE_TRY(partition, r.uint());
  CW_WIRE_TRY(node, r.str());
  CW_WIRE_TRY(sequence, r.uint());
  CW_WIRE_TRY(time_ns, r.sint());
  CW_WIRE_TRY(n, r.array());
  out.partition = static_cast<std::uint32_t>(partition);
  out.node = node;
  out.sequence = sequence;
  out.time_ns = time_ns;
  for (std::uint32_t i = 0; i < n; ++i) {
    CW_WIRE_TRY(rec_extra, open_record(r, 3));
    auto& c = out.customers.emplace_back();
    CW_WIRE_TRY(customer, r.str());
    CW_WIRE_TRY(wm, r.sint());
    CW_WIRE_TRY(state, r.bin());
    c.customer = customer;
    c.watermark_ns = wm;
    c.state = state;
    CW_WIRE_TRY(skipped, skip_extra(r, rec_extra));
    (void)skipped;
  }
  CW_WIRE_TRY(closed, close_envelope(r, extra));
  (void)closed;
  return out;
}

expected<watermark_checkpoint, error> decode_watermark_checkpoint(std::string_view in) {
  CW_WIRE_TRY(bytes, plain(in, plain_buffer()));
  reader r(bytes);
  CW_WIRE_TRY(extra, open_envelope(r, kind::watermark_checkpoint, 2));
  watermark_checkpoint out;
  CW_WIRE_TRY(n, r.array());
  for (std::uint32_t i = 0; i < n; ++i) {
    CW_WIRE_TRY(rec_extra, open_record(r, 6));
    auto& s = out.sources.emplace_back();
    CW_WIRE_TRY(customer, r.str());
    CW_WIRE_TRY(source, r.str());
    CW_WIRE_TRY(max_event, r.sint());
    CW_WIRE_TRY(last_seen, r.sint());
    CW_WIRE_TRY(lateness, r.sint());
    CW_WIRE_TRY(eof, r.boolean());
    s.customer = customer;
    s.source = source;
    s.max_event_ns = max_event;
    s.last_seen_ns = last_seen;
    s.lateness_ns = lateness;
    s.eof = eof;
    CW_WIRE_TRY(skipped, skip_extra(r, rec_extra));
    (void)skipped;
  }
  CW_WIRE_TRY(m, r.array());
  for (std::uint32_t i = 0; i < m; ++i) {
    CW_WIRE_TRY(rec_extra, open_record(r, 2));
    auto& c = out.watermarks.emplace_back();
    CW_WIRE_TRY(customer, r.str());
    CW_WIRE_TRY(wm, r.sint());
    c.customer = customer;
    c.watermark_ns = wm;
    CW_WIRE_TRY(skipped, skip_extra(r, rec_extra));
    (void)skipped;
  }
  CW_WIRE_TRY(closed, close_envelope(r, extra));
  (void)closed;
  return out;
}

// --- size hints ---------------------------------------------------------------------------------

std::size_t size_hint(const raw_record& r) noexcept {
  return 4 * field_overhead + r.bytes.size() + (r.event_id ? r.event_id->size() : 0);
}

std::size_t size_hint(const event_record& r) noexcept {
  return event_record_hint(r.event, r.raw ? std::optional<std::string_view>(*r.raw) : std::nullopt,
                           r.routes);
}

std::size_t size_hint(const partition_item& item) noexcept {
  if (const auto* ev = std::get_if<partition_event>(&item))
    return event_item_hint(ev->customer, ev->key, ev->event, ev->hits.size());
  return marker_item_hint(std::get<watermark_marker>(item).customer);
}

std::size_t size_hint(const match& m) noexcept {
  std::size_t n = 8 * field_overhead + m.rule_id.size() + m.key.size();
  for (const auto& ev : m.events)
    n += field_overhead + ev.size();
  return n;
}

namespace detail {

batch_encoder::batch_encoder(std::string prefix, std::size_t max_items, std::size_t max_bytes,
                             codec c)
    : codec_(c), prefix_(std::move(prefix)),
      room_(prefix_.size() + 5), // + the largest array header
      max_items_(max_items < 1 ? 1 : max_items), max_bytes_(max_bytes), body_(room_, '\0') {}

std::string& batch_encoder::next(std::size_t hint) {
  if (count_ > 0 && (count_ >= max_items_ || bytes_ + hint > max_bytes_)) seal();
  bytes_ += hint;
  ++count_;
  return body_;
}

void batch_encoder::seal() {
  std::string items_header; // at most 5 bytes: no allocation
  writer(items_header).array(count_);
  const std::size_t offset = room_ - prefix_.size() - items_header.size();
  std::memcpy(body_.data() + offset, prefix_.data(), prefix_.size());
  std::memcpy(body_.data() + offset + prefix_.size(), items_header.data(), items_header.size());
  done_.push_back(compressed(std::string_view(body_).substr(offset), codec_));
  body_.resize(room_);
  count_ = 0;
  bytes_ = 0;
}

std::vector<std::string> batch_encoder::finish() {
  if (count_ > 0) seal();
  return std::exchange(done_, {});
}

} // namespace detail

namespace {

// A header's bytes before its items' array header: `write` with 0 items, less that array header.
template <class Write>
std::string header_prefix(Write write) {
  std::string out;
  writer w(out);
  write(w);
  out.pop_back(); // the one-byte array header of 0 items
  return out;
}

} // namespace

partition_batch_builder::partition_batch_builder(std::uint32_t partition, std::size_t max_items,
                                                 std::size_t max_bytes)
    : items_(header_prefix([&](writer& w) { partition_header(w, partition, 0); }), max_items,
             max_bytes, wire_codec<partition_batch>) {}

void partition_batch_builder::add_event(std::string_view customer, std::uint64_t key_hash,
                                        std::string_view key, std::int64_t event_ns,
                                        std::int64_t ingest_ns, std::string_view event,
                                        std::uint64_t rules, std::span<const std::uint32_t> hits) {
  writer w(items_.next(event_item_hint(customer, key, event, hits.size())));
  put_partition_event(w, customer, key_hash, key, event_ns, ingest_ns, event, rules, hits);
}

void partition_batch_builder::add_marker(std::string_view customer, std::int64_t watermark_ns,
                                         std::int64_t wall_ns, bool idle, std::int64_t horizon_ns) {
  writer w(items_.next(marker_item_hint(customer)));
  put_marker(w, customer, watermark_ns, wall_ns, idle, horizon_ns);
}

event_batch_builder::event_batch_builder(std::string_view customer, std::string_view source,
                                         std::size_t max_events, std::size_t max_bytes)
    : items_(header_prefix([&](writer& w) { event_batch_header(w, customer, source, 0); }),
             max_events, max_bytes, wire_codec<event_batch>) {}

void event_batch_builder::add(std::int64_t event_ns, std::int64_t ingest_ns, std::string_view event,
                              std::optional<std::string_view> raw, std::uint64_t rules,
                              std::span<const event_route_ref> routes, bool event_rules) {
  writer w(items_.next(event_record_hint(event, raw, routes)));
  put_event_record(w, event_ns, ingest_ns, event, raw, rules, routes, event_rules);
}

} // namespace chainwatch::wire
