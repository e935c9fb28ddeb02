#include "key_core.hpp"

#include <algorithm>
#include <xxhash.h>

namespace chainwatch::engine {

namespace detail {

namespace {

// Aggregate rules: `counter` holds the events counted in the window ([slot] or, with a distinct
// field, [slot, value hash] pairs: stage 1), `seen` a group's last-seen time (first_seen), `quiet`
// the time until which its alerts are suppressed.
enum record_type : std::uint32_t {
  partial = 1,
  held = 2,
  join = 3,
  last_seen = 4,
  counter = 5,
  seen = 6,
  quiet = 7
};

/// Records holding a time (2 words) instead of event slots.
bool timed(std::uint32_t type) {
  return type == last_seen || type == seen || type == quiet;
}

constexpr std::size_t npos = static_cast<std::size_t>(-1);
constexpr std::uint32_t empty_slot = ~0u;
constexpr std::size_t group_header = 2; // [rule][words of records]

std::int64_t saturating_deadline(std::int64_t t, std::int64_t span) {
  if (t > no_deadline - span - 1) return no_deadline;
  return t + span + 1;
}

std::uint32_t rec_type(std::uint32_t h) {
  return h >> 28;
}
std::uint32_t rec_stage(std::uint32_t h) {
  return (h >> 16) & 0xfff;
}
std::uint32_t rec_count(std::uint32_t h) {
  return h & 0xffff;
}
std::uint32_t rec_header(std::uint32_t type, std::uint32_t stage, std::size_t count) {
  return type << 28 | (stage & 0xfff) << 16 | static_cast<std::uint32_t>(count);
}
std::int64_t get_time(const std::uint32_t* p) {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(p[0]) |
                                   (static_cast<std::uint64_t>(p[1]) << 32));
}
void set_time(std::uint32_t* p, std::int64_t t) {
  auto u = static_cast<std::uint64_t>(t);
  p[0] = static_cast<std::uint32_t>(u);
  p[1] = static_cast<std::uint32_t>(u >> 32);
}

thread_local std::vector<std::uint32_t> tmp_slots;

/// One rule's group: in the flat vector at offset `g`, or a table group (offset 0).
struct gref {
  word_vec* v = nullptr;
  std::size_t g = 0;
  key_core::group* tg = nullptr; // table group
  explicit operator bool() const noexcept { return v != nullptr; }
  std::uint32_t& operator[](std::size_t i) const noexcept { return (*v)[i]; }
  std::size_t begin() const noexcept { return g + group_header; }
  std::size_t end() const noexcept { return g + group_header + (*v)[g + 1]; }
  bool empty() const noexcept { return (*v)[g + 1] == 0; }
};

/// Operations on one key_core with its owner's store.
struct ops {
  key_core& k;
  event_store& st;
  const compiled& c;

  using table = key_core::table;

  // Flat vector: offset of the first group whose rule is >= `rule` (or the end).
  std::size_t lower_group(std::uint32_t rule) const noexcept {
    const word_vec& w = k.words;
    std::size_t p = 0;
    while (p < w.size() && w[p] < rule)
      p += group_header + w[p + 1];
    return p;
  }
  static auto lower_table(table& t, std::uint32_t rule) noexcept {
    return std::lower_bound(t.groups.begin(), t.groups.end(), rule,
                            [](const key_core::group& g, std::uint32_t x) { return g.rule < x; });
  }

  gref find_group(std::uint32_t rule) noexcept {
    if (table* t = k.big()) {
      auto it = lower_table(*t, rule);
      if (it == t->groups.end() || it->rule != rule) return {};
      return {&it->words, 0, &*it};
    }
    std::size_t p = lower_group(rule);
    if (p < k.words.size() && k.words[p] == rule) return {&k.words, p, nullptr};
    return {};
  }

  gref get_group(std::uint32_t rule) {
    if (table* t = k.big()) {
      auto it = lower_table(*t, rule);
      if (it == t->groups.end() || it->rule != rule) {
        it = t->groups.emplace(it);
        it->rule = rule;
        std::uint32_t* h = it->words.insert(0, group_header);
        h[0] = rule;
        h[1] = 0;
      }
      return {&it->words, 0, &*it};
    }
    word_vec& w = k.words;
    std::size_t p = lower_group(rule);
    if (p < w.size() && w[p] == rule) return {&w, p, nullptr};
    std::size_t groups = 0;
    for (std::size_t q = 0; q < w.size(); q += group_header + w[q + 1])
      ++groups;
    if (groups >= key_core::flat_groups) {
      to_table();
      return get_group(rule);
    }
    std::uint32_t* h = w.insert(p, group_header);
    h[0] = rule;
    h[1] = 0;
    return {&w, p, nullptr};
  }

  /// Moves the flat groups into a table.
  void to_table() {
    auto t = std::make_unique<table>();
    word_vec& w = k.words;
    for (std::size_t q = 0; q < w.size(); q += group_header + w[q + 1]) {
      auto& g = t->groups.emplace_back();
      g.rule = w[q];
      const std::size_t n = group_header + w[q + 1];
      std::memcpy(g.words.insert(0, n), &w[q], n * 4);
      g.min_deadline = k.min_deadline; // a lower bound
    }
    w.set_tag(t.release());
  }

  /// Drops the group if it holds no record (invalidates `gr`).
  void drop_if_empty(gref gr) noexcept {
    if (!gr.empty()) return;
    if (table* t = k.big()) {
      t->groups.erase(t->groups.begin() + (gr.tg - t->groups.data()));
      if (t->groups.empty()) {
        delete t;
        k.words.clear_tag();
      }
    } else {
      k.words.erase(gr.g, group_header);
    }
    if (k.empty()) k.min_deadline = no_deadline;
  }

  std::size_t find_record(const gref& gr, std::uint32_t type, std::uint32_t stage) const noexcept {
    const std::size_t end = gr.end();
    for (std::size_t p = gr.begin(); p < end; p += 1 + rec_count(gr[p])) {
      std::uint32_t h = gr[p];
      if (rec_type(h) == type && rec_stage(h) == stage) return p;
    }
    return npos;
  }

  /// Time of a record: of its first event (partials, held), of its earliest event (joins), or
  /// the stored time (last seen).
  std::int64_t rec_time(const gref& gr, std::size_t at) const noexcept {
    const std::uint32_t h = gr[at];
    switch (rec_type(h)) {
    case last_seen:
    case seen:
    case quiet:
      return get_time(&gr[at + 1]);
    case join: {
      std::int64_t t = no_deadline;
      for (std::uint32_t i = 0; i < rec_count(h); ++i)
        if (gr[at + 1 + i] != empty_slot) t = std::min(t, st.ts(gr[at + 1 + i]));
      return t;
    }
    default:
      return st.ts(gr[at + 1]);
    }
  }

  void erase_record(const gref& gr, std::size_t at) noexcept {
    const std::uint32_t h = gr[at];
    const std::uint32_t n = rec_count(h);
    if (!timed(rec_type(h))) {
      const std::uint32_t stride = rec_type(h) == counter && rec_stage(h) == 1 ? 2 : 1;
      for (std::uint32_t i = 0; i < n; i += stride)
        if (gr[at + 1 + i] != empty_slot) st.release(gr[at + 1 + i]);
    }
    gr.v->erase(at, 1 + n);
    gr[gr.g + 1] -= 1 + n;
  }

  /// Appends a record to the group; returns its offset. `t` is the record's time.
  std::size_t append_record(const gref& gr, std::uint32_t type, std::int64_t t,
                            std::span<const std::uint32_t> slots) {
    // Stage is the number of bound events for partials; joins keep one slot per step.
    const std::uint32_t stage = type == partial ? static_cast<std::uint32_t>(slots.size()) : 0;
    const std::size_t payload = type == last_seen ? 2 : slots.size();
    const std::size_t at = gr.end();
    std::uint32_t* r = gr.v->insert(at, 1 + payload);
    r[0] = rec_header(type, stage, payload);
    if (type == last_seen) {
      set_time(r + 1, t);
    } else {
      for (std::size_t i = 0; i < slots.size(); ++i) {
        r[1 + i] = slots[i];
        if (slots[i] != empty_slot) st.ref(slots[i]);
      }
    }
    gr[gr.g + 1] += static_cast<std::uint32_t>(1 + payload);
    const auto& rule = c.rules[gr[gr.g]];
    if (rule.maxspan && type != join) {
      const std::int64_t d = saturating_deadline(t, *rule.maxspan);
      k.min_deadline = std::min(k.min_deadline, d);
      if (gr.tg) gr.tg->min_deadline = std::min(gr.tg->min_deadline, d);
    }
    return at;
  }

  void clear_rule(std::uint32_t rule) noexcept {
    gref gr = find_group(rule);
    if (!gr) return;
    while (!gr.empty())
      erase_record(gr, gr.begin());
    drop_if_empty(gr);
  }

  void enforce_cap(const gref& gr, key_sink& out) {
    const std::size_t cap = std::max<std::size_t>(1, c.opts.max_pending_per_key);
    for (;;) {
      std::size_t count = 0;
      const std::size_t end = gr.end();
      for (std::size_t p = gr.begin(); p < end; p += 1 + rec_count(gr[p]))
        count += rec_type(gr[p]) != last_seen;
      if (count <= cap) return;
      std::size_t oldest = npos;
      std::int64_t oldest_t = no_deadline;
      for (std::size_t p = gr.begin(); p < end; p += 1 + rec_count(gr[p])) {
        if (rec_type(gr[p]) == last_seen) continue;
        std::int64_t t = rec_time(gr, p);
        if (oldest == npos || t < oldest_t) {
          oldest = p;
          oldest_t = t;
        }
      }
      erase_record(gr, oldest);
      out.on_overflow();
    }
  }

  void emit(std::string_view key, std::uint32_t rule, std::span<const std::uint32_t> slots,
            key_sink& out, bool absence = false, bool undecided = false) {
    match m;
    m.rule = rule;
    m.absence = absence;
    m.undecided = undecided;
    m.key.assign(key);
    m.events.reserve(slots.size());
    m.first_ns = no_deadline;
    m.last_ns = std::numeric_limits<std::int64_t>::min();
    for (std::uint32_t s : slots) {
      m.events.push_back(st.ev(s));
      m.first_ns = std::min(m.first_ns, st.ts(s));
      m.last_ns = std::max(m.last_ns, st.ts(s));
    }
    out.on_match(std::move(m));
  }

  /// Copies the slots of the record at `at` into tmp_slots, each with a reference.
  void take_slots(const gref& gr, std::size_t at, std::size_t n) {
    tmp_slots.assign(&gr[at + 1], &gr[at + 1] + n);
    for (auto x : tmp_slots)
      st.ref(x);
  }
  void release_tmp() noexcept {
    for (auto x : tmp_slots)
      st.release(x);
  }

  /// Lowers the key's (and table group's) earliest deadline to `d`.
  void note_deadline(const gref& gr, std::int64_t d) noexcept {
    k.min_deadline = std::min(k.min_deadline, d);
    if (gr.tg) gr.tg->min_deadline = std::min(gr.tg->min_deadline, d);
  }

  /// Sets (or adds) the group's record of a timed type to `t`, due at `deadline`.
  void set_timed(const gref& gr, std::uint32_t type, std::int64_t t, std::int64_t deadline) {
    std::size_t at = find_record(gr, type, 0);
    if (at == npos) {
      at = gr.end();
      gr.v->insert(at, 3)[0] = rec_header(type, 0, 2);
      gr[gr.g + 1] += 3;
    }
    set_time(&gr[at + 1], t);
    note_deadline(gr, deadline);
  }

  /// Drops the oldest events of the counter at `at` while `stale(time)` holds, `limit` words at
  /// most, keeping its header in step; returns the words left.
  template <class Stale>
  std::uint32_t drop_counted(const gref& gr, std::size_t at, Stale stale, std::uint32_t limit) {
    const std::uint32_t h = gr[at];
    const std::uint32_t n = rec_count(h);
    const std::uint32_t stride = rec_stage(h) == 1 ? 2 : 1;
    std::uint32_t drop = 0;
    while (drop < n && drop < limit && stale(st.ts(gr[at + 1 + drop])))
      drop += stride;
    if (drop == 0) return n;
    for (std::uint32_t i = 0; i < drop; i += stride)
      st.release(gr[at + 1 + i]);
    gr.v->erase(at + 1, drop);
    gr[gr.g + 1] -= drop;
    gr[at] = rec_header(counter, rec_stage(h), n - drop);
    return n - drop;
  }

  /// Hash of an event's distinct-count value (its canonical key text).
  std::uint32_t distinct_hash(const rule& r, std::uint32_t slot) {
    thread_local std::string text;
    text.clear();
    eql::value v = eql::value::from(st.ev(slot)->get(r.distinct));
    append_key_value(text, v, !c.opts.case_sensitive);
    return static_cast<std::uint32_t>(XXH3_64bits(text.data(), text.size()));
  }

  /// Adds an event to the group's counter; true (the counted slots in tmp_slots, each with a
  /// reference, the counter gone) when the group reaches the rule's count.
  bool count_event(const gref& gr, const rule& r, std::uint32_t slot, std::int64_t t,
                   key_sink& out) {
    const aggregate& a = r.agg;
    const bool pairs = !r.distinct.empty();
    const std::uint32_t stride = pairs ? 2 : 1;
    std::size_t at = find_record(gr, counter, pairs ? 1 : 0);
    if (at == npos) {
      at = gr.end();
      gr.v->insert(at, 1)[0] = rec_header(counter, pairs ? 1 : 0, 0);
      gr[gr.g + 1] += 1;
    }
    // Events that no longer fit in the window before this one (expire already dropped those
    // due at t; arrival order may bring older ones).
    std::uint32_t n = drop_counted(
        gr, at, [&](std::int64_t ts) { return t - ts > a.window_ns; }, rec_count(gr[at]));
    if (n / stride >= r.max_counted) { // the oldest goes: counted, never silent
      n = drop_counted(
          gr, at, [](std::int64_t) { return true; }, stride);
      out.on_overflow();
    }
    std::uint32_t* w = gr.v->insert(at + 1 + n, stride);
    w[0] = slot;
    st.ref(slot);
    if (pairs) w[1] = distinct_hash(r, slot);
    n += stride;
    gr[at] = rec_header(counter, pairs ? 1 : 0, n);
    gr[gr.g + 1] += stride;
    bool reached = n / stride >= a.min_count;
    if (reached && pairs) {
      thread_local std::vector<std::uint32_t> hashes;
      hashes.clear();
      for (std::uint32_t i = 1; i < n; i += 2)
        hashes.push_back(gr[at + 1 + i]);
      std::sort(hashes.begin(), hashes.end());
      reached = static_cast<std::size_t>(std::unique(hashes.begin(), hashes.end()) -
                                         hashes.begin()) >= a.min_distinct;
    }
    if (!reached) {
      note_deadline(gr, saturating_deadline(st.ts(gr[at + 1]), a.window_ns));
      return false;
    }
    tmp_slots.clear();
    for (std::uint32_t i = 0; i < n; i += stride) {
      tmp_slots.push_back(gr[at + 1 + i]);
      st.ref(gr[at + 1 + i]);
    }
    erase_record(gr, at);
    return true;
  }

  /// Runs one event of an aggregate rule.
  void aggregate_event(std::uint32_t rule_id, std::string_view key, std::uint32_t slot,
                       std::int64_t t, key_sink& out) {
    const rule& r = c.rules[rule_id];
    const aggregate& a = r.agg;
    gref gr = get_group(rule_id);
    bool fire = false;
    if (a.kind == aggregate::type::first_seen) {
      std::size_t at = find_record(gr, seen, 0);
      std::int64_t last = at == npos ? t : std::max(t, get_time(&gr[at + 1]));
      fire = at == npos || t - get_time(&gr[at + 1]) > a.window_ns;
      set_timed(gr, seen, last, saturating_deadline(last, a.window_ns));
      if (fire) tmp_slots.assign(1, slot), st.ref(slot);
    } else if (a.kind == aggregate::type::count && (a.min_count > 1 || a.min_distinct > 1)) {
      fire = count_event(gr, r, slot, t, out);
    } else {
      fire = true;
      tmp_slots.assign(1, slot);
      st.ref(slot);
    }
    if (fire && a.suppress_ns > 0) {
      std::size_t q = find_record(gr, quiet, 0);
      if (q != npos && get_time(&gr[q + 1]) > t) {
        out.on_suppressed();
        release_tmp();
        drop_if_empty(gr);
        return;
      }
      const std::int64_t until = saturating_deadline(t, a.suppress_ns - 1);
      set_timed(gr, quiet, until, until);
    }
    drop_if_empty(gr);
    if (fire) {
      emit(key, rule_id, tmp_slots, out);
      release_tmp();
    }
  }

  /// Decides the records of an aggregate rule's group due at or before `threshold` (counted
  /// events leave the window, last-seen times and suppression end); returns the next deadline.
  std::int64_t expire_aggregate(const gref& gr, const rule& r, std::int64_t threshold) {
    std::int64_t next = no_deadline;
    std::size_t p = gr.begin();
    while (p < gr.end()) {
      const std::uint32_t h = gr[p];
      const std::uint32_t type = rec_type(h);
      if (type == counter) {
        const std::uint32_t n = drop_counted(
            gr, p,
            [&](std::int64_t ts) { return saturating_deadline(ts, r.agg.window_ns) <= threshold; },
            rec_count(h));
        if (n == 0) {
          erase_record(gr, p);
          continue;
        }
        next = std::min(next, saturating_deadline(st.ts(gr[p + 1]), r.agg.window_ns));
        p += 1 + n;
        continue;
      }
      const std::int64_t time = get_time(&gr[p + 1]);
      const std::int64_t due = type == quiet ? time : saturating_deadline(time, r.agg.window_ns);
      if (due <= threshold) {
        erase_record(gr, p);
        continue;
      }
      next = std::min(next, due);
      p += 1 + rec_count(h);
    }
    return next;
  }

  /// Decides the records of one group whose deadline is at or before `threshold`; returns the
  /// group's next deadline.
  std::int64_t expire_group(const gref& gr, std::int64_t threshold, std::string_view key,
                            key_sink& out) {
    const std::uint32_t rule_id = gr[gr.g];
    const rule& r = c.rules[rule_id];
    if (r.kind == rule_kind::aggregate) return expire_aggregate(gr, r, threshold);
    if (!r.maxspan) return no_deadline;
    std::int64_t next = no_deadline;
    std::size_t p = gr.begin();
    while (p < gr.end()) {
      const std::uint32_t h = gr[p];
      const std::uint32_t type = rec_type(h);
      if (type == join) {
        p += 1 + rec_count(h);
        continue;
      }
      std::int64_t d = saturating_deadline(rec_time(gr, p), *r.maxspan);
      if (d > threshold) {
        next = std::min(next, d);
        p += 1 + rec_count(h);
        continue;
      }
      if (type == held) {
        take_slots(gr, p, rec_count(h));
        erase_record(gr, p);
        // The window of the missing step closes at d: only input up to d proves the absence.
        emit(key, rule_id, tmp_slots, out, true, d > out.horizon);
        release_tmp();
      } else {
        erase_record(gr, p);
      }
    }
    return next;
  }
};

} // namespace

std::size_t key_core::pending() const noexcept {
  auto count = [](const word_vec& w) {
    std::size_t n = 0;
    for (std::size_t g = 0; g < w.size(); g += group_header + w[g + 1]) {
      const std::size_t end = g + group_header + w[g + 1];
      for (std::size_t p = g + group_header; p < end; p += 1 + rec_count(w[p]))
        n += rec_type(w[p]) != last_seen && rec_type(w[p]) != quiet;
    }
    return n;
  };
  if (const table* t = big()) {
    std::size_t n = 0;
    for (auto& g : t->groups)
      n += count(g.words);
    return n;
  }
  return count(words);
}

std::size_t key_core::heap_bytes() const noexcept {
  if (const table* t = big()) {
    std::size_t n = detail::heap_bytes(sizeof(table)) +
                    detail::heap_bytes(t->groups.capacity() * sizeof(group));
    for (auto& g : t->groups)
      n += g.words.heap_bytes();
    return n;
  }
  return words.heap_bytes();
}

void key_core::process(const compiled& c, event_store& st, std::string_view key,
                       std::uint32_t ev_slot, std::span<const step_id> hits, key_sink& out) {
  ops o{*this, st, c};
  const std::int64_t t = st.ts(ev_slot);
  for (step_id id : hits) {
    const step& s = c.steps[id];
    const rule& r = c.rules[s.rule];
    const std::uint32_t positives = r.positives;
    if (s.what == role::until) {
      o.clear_rule(s.rule);
      continue;
    }
    if (r.kind == rule_kind::aggregate) {
      o.aggregate_event(s.rule, key, ev_slot, t, out);
      continue;
    }
    if (s.what == role::missing) {
      if (s.index == 0) {
        gref g = o.get_group(s.rule);
        std::size_t at = o.find_record(g, last_seen, 0);
        if (at == npos)
          o.append_record(g, last_seen, t, {});
        else
          set_time(&g[at + 1], std::max(t, get_time(&g[at + 1])));
        continue;
      }
      gref g = o.find_group(s.rule);
      if (!g) continue;
      if (s.index == positives) {
        for (std::size_t at; (at = o.find_record(g, held, 0)) != npos;)
          o.erase_record(g, at);
      } else if (std::size_t at = o.find_record(g, partial, s.index); at != npos) {
        o.erase_record(g, at);
      }
      o.drop_if_empty(g);
      continue;
    }
    if (r.kind == rule_kind::join) {
      gref g = o.get_group(s.rule);
      std::size_t at = o.find_record(g, join, 0);
      if (at == npos) {
        tmp_slots.assign(positives, empty_slot);
        at = o.append_record(g, join, t, tmp_slots);
      }
      if (g[at + 1 + s.index] != empty_slot) continue;
      g[at + 1 + s.index] = ev_slot;
      st.ref(ev_slot);
      bool complete = true;
      for (std::uint32_t i = 0; i < positives; ++i)
        complete = complete && g[at + 1 + i] != empty_slot;
      if (complete) {
        // Keep the events alive while the record is erased and the match built.
        o.take_slots(g, at, positives);
        o.erase_record(g, at);
        o.drop_if_empty(g);
        o.emit(key, s.rule, tmp_slots, out);
        o.release_tmp();
      }
      continue;
    }
    // Sequence step.
    std::int64_t first = t;
    tmp_slots.clear();
    if (s.index == 0) {
      if (r.leading_missing) {
        if (gref g = o.find_group(s.rule)) {
          std::size_t at = o.find_record(g, last_seen, 0);
          if (at != npos && t - get_time(&g[at + 1]) <= *r.maxspan) continue;
        }
      }
    } else {
      gref g = o.find_group(s.rule);
      if (!g) continue;
      std::size_t at = o.find_record(g, partial, s.index);
      if (at == npos) continue;
      first = o.rec_time(g, at);
      if (r.maxspan && t - first > *r.maxspan) {
        o.erase_record(g, at);
        o.drop_if_empty(g);
        continue;
      }
      o.take_slots(g, at, rec_count(g[at]));
      if (!s.fork) o.erase_record(g, at);
    }
    tmp_slots.push_back(ev_slot);
    st.ref(ev_slot);
    gref g;
    if (tmp_slots.size() == positives) {
      if (r.trailing_missing) {
        g = o.get_group(s.rule);
        o.append_record(g, held, first, tmp_slots);
        o.enforce_cap(g, out);
      } else {
        o.emit(key, s.rule, tmp_slots, out);
      }
    } else {
      // At most one partial per stage: the newest replaces.
      g = o.get_group(s.rule);
      if (std::size_t old = o.find_record(g, partial, static_cast<std::uint32_t>(tmp_slots.size()));
          old != npos)
        o.erase_record(g, old);
      o.append_record(g, partial, first, tmp_slots);
      o.enforce_cap(g, out);
    }
    o.release_tmp();
    if (!g) g = o.find_group(s.rule);
    if (g) o.drop_if_empty(g);
  }
}

void key_core::expire(const compiled& c, event_store& st, std::string_view key,
                      std::int64_t threshold, key_sink& out) {
  if (threshold < min_deadline) return;
  ops o{*this, st, c};
  std::int64_t next = no_deadline;
  if (table* t = big()) {
    for (std::size_t i = 0; i < t->groups.size();) {
      group& g = t->groups[i];
      if (g.min_deadline > threshold) {
        next = std::min(next, g.min_deadline);
        ++i;
        continue;
      }
      g.min_deadline = o.expire_group({&g.words, 0, &g}, threshold, key, out);
      next = std::min(next, g.min_deadline);
      if (g.words[1] == 0)
        t->groups.erase(t->groups.begin() + static_cast<std::ptrdiff_t>(i));
      else
        ++i;
    }
    if (t->groups.empty()) {
      delete t;
      words.clear_tag();
    }
  } else {
    for (std::size_t g = 0; g < words.size();) {
      next = std::min(next, o.expire_group({&words, g, nullptr}, threshold, key, out));
      if (words[g + 1] == 0)
        words.erase(g, group_header);
      else
        g += group_header + words[g + 1];
    }
  }
  min_deadline = next;
}

} // namespace detail

/// Events waiting for the watermark, sorted by (time, arrival).
struct key_state::time_buffer {
  struct item {
    std::uint32_t slot;
    std::uint32_t hit_begin;
    std::uint32_t hit_count;
    std::uint64_t seq;
    std::int64_t ts;
  };
  std::vector<item> items;
  std::vector<step_id> hits;
  std::size_t head = 0;
};

/// A standalone key: its records, its own event store and its time-order buffer.
struct key_state::impl {
  detail::key_core core;
  detail::event_store store{3}; // chunks of 8 events
  time_buffer buffer;
};

key_state::key_state() = default;
key_state::~key_state() = default;
key_state::key_state(key_state&&) noexcept = default;
key_state& key_state::operator=(key_state&&) noexcept = default;

key_state::impl& key_state::get() {
  if (!impl_) impl_ = std::make_unique<impl>();
  return *impl_;
}

bool key_state::empty() const noexcept {
  return !impl_ || (impl_->core.empty() && impl_->buffer.head == impl_->buffer.items.size());
}

std::size_t key_state::pending() const noexcept {
  return impl_ ? impl_->core.pending() : 0;
}

std::size_t key_state::memory_bytes() const noexcept {
  using detail::heap_bytes;
  std::size_t n = sizeof(key_state);
  if (impl_) {
    const auto& b = impl_->buffer;
    n += heap_bytes(sizeof(impl)) + impl_->core.heap_bytes() + impl_->store.memory_bytes() +
         heap_bytes(b.items.capacity() * sizeof(time_buffer::item)) +
         heap_bytes(b.hits.capacity() * sizeof(step_id));
  }
  return n;
}

std::int64_t key_state::next_deadline() const noexcept {
  if (!impl_) return no_deadline;
  std::int64_t d = impl_->core.min_deadline;
  const auto& b = impl_->buffer;
  if (b.head < b.items.size()) d = std::min(d, b.items[b.head].ts);
  return d;
}

std::int64_t key_state::process_now(const ruleset& rules, std::string_view key,
                                    const event::event_ptr& ev, std::int64_t ts,
                                    std::span<const step_id> hits, key_sink& out) {
  impl& d = get();
  std::uint32_t s = d.store.add(ev, ts);
  d.core.expire(rules.impl(), d.store, key, ts, out);
  d.core.process(rules.impl(), d.store, key, s, hits, out);
  d.store.release(s);
  return next_deadline();
}

std::int64_t key_state::on_event(const ruleset& rules, std::string_view key,
                                 const event::event_ptr& ev, std::int64_t ts, std::uint64_t seq,
                                 std::span<const step_id> hits, key_sink& out) {
  if (rules.opts().ordering == options::order::arrival)
    return process_now(rules, key, ev, ts, hits, out);
  impl& d = get();
  auto& b = d.buffer;
  std::uint32_t s = d.store.add(ev, ts);
  time_buffer::item it{s, static_cast<std::uint32_t>(b.hits.size()),
                       static_cast<std::uint32_t>(hits.size()), seq, ts};
  b.hits.insert(b.hits.end(), hits.begin(), hits.end());
  // Mostly in order: insert from the back.
  auto pos = b.items.end();
  while (pos != b.items.begin() + static_cast<std::ptrdiff_t>(b.head) && (pos - 1)->ts > ts)
    --pos;
  b.items.insert(pos, it);
  return next_deadline();
}

std::int64_t key_state::advance(const ruleset& rules, std::string_view key, std::int64_t watermark,
                                key_sink& out) {
  if (!impl_) return no_deadline;
  impl& d = *impl_;
  const detail::compiled& c = rules.impl();
  auto& b = d.buffer;
  while (b.head < b.items.size() && b.items[b.head].ts <= watermark) {
    auto it = b.items[b.head++];
    d.core.expire(c, d.store, key, it.ts, out);
    d.core.process(c, d.store, key, it.slot,
                   std::span<const step_id>(b.hits.data() + it.hit_begin, it.hit_count), out);
    d.store.release(it.slot);
  }
  if (b.head == b.items.size()) {
    b.items.clear();
    b.items.shrink_to_fit();
    b.hits.clear();
    b.hits.shrink_to_fit();
    b.head = 0;
  } else if (b.head > 64 && b.head * 2 > b.items.size()) {
    // Compact both the items and their hits so a key that never drains stays bounded.
    std::vector<step_id> hits;
    hits.reserve(b.hits.size());
    for (std::size_t i = b.head; i < b.items.size(); ++i) {
      auto& item = b.items[i];
      auto begin = static_cast<std::uint32_t>(hits.size());
      hits.insert(hits.end(), b.hits.begin() + item.hit_begin,
                  b.hits.begin() + item.hit_begin + item.hit_count);
      item.hit_begin = begin;
    }
    b.hits = std::move(hits);
    b.items.erase(b.items.begin(), b.items.begin() + static_cast<std::ptrdiff_t>(b.head));
    b.head = 0;
  }
  d.core.expire(c, d.store, key, watermark, out);
  return next_deadline();
}

} // namespace chainwatch::engine
