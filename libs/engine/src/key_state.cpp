#include "compiled.hpp"

#include <algorithm>

namespace chainwatch::engine {

namespace {

enum record_type : std::uint32_t { partial = 1, held = 2, join = 3, last_seen = 4 };

constexpr std::size_t npos = static_cast<std::size_t>(-1);
constexpr std::uint32_t empty_slot = ~0u;
constexpr std::size_t header_words = 3;

std::int64_t saturating_deadline(std::int64_t t, std::int64_t span) {
  if (t > no_deadline - span - 1) return no_deadline;
  return t + span + 1;
}

std::uint32_t rec_type(const std::uint32_t* r) {
  return r[0] >> 28;
}
std::uint32_t rec_stage(const std::uint32_t* r) {
  return (r[0] >> 16) & 0xfff;
}
std::uint32_t rec_count(const std::uint32_t* r) {
  return r[0] & 0xffff;
}
std::int64_t rec_time(const std::uint32_t* r) {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(r[1]) |
                                   (static_cast<std::uint64_t>(r[2]) << 32));
}
void set_time(std::uint32_t* r, std::int64_t t) {
  auto u = static_cast<std::uint64_t>(t);
  r[1] = static_cast<std::uint32_t>(u);
  r[2] = static_cast<std::uint32_t>(u >> 32);
}

thread_local std::vector<std::uint32_t> tmp_slots;

} // namespace

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

key_state::key_state() = default;
key_state::~key_state() = default;
key_state::key_state(key_state&&) noexcept = default;
key_state& key_state::operator=(key_state&&) noexcept = default;

bool key_state::empty() const noexcept {
  return rules_.empty() && (!buffer_ || buffer_->head == buffer_->items.size());
}

std::size_t key_state::memory_bytes() const noexcept {
  using detail::heap_bytes;
  // Inlined vectors hold their first elements in place: only spilled storage is on the heap.
  auto spilled = [](const auto& v, std::size_t inline_n, std::size_t elem) {
    return v.capacity() > inline_n ? heap_bytes(v.capacity() * elem) : 0;
  };
  std::size_t n = sizeof(key_state) + spilled(slots_, 1, sizeof(slot)) +
                  spilled(rules_, 1, sizeof(rule_state));
  for (auto& r : rules_)
    n += spilled(r.words, 6, sizeof(std::uint32_t));
  if (buffer_)
    n += heap_bytes(sizeof(time_buffer)) +
         heap_bytes(buffer_->items.capacity() * sizeof(time_buffer::item)) +
         heap_bytes(buffer_->hits.capacity() * sizeof(step_id));
  return n;
}

std::uint32_t key_state::add_slot(const event::event_ptr& ev, std::int64_t ts) {
  std::uint32_t s;
  if (free_head_ != ~0u) {
    s = free_head_;
    free_head_ = static_cast<std::uint32_t>(slots_[s].ts);
  } else {
    s = static_cast<std::uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  slots_[s].ev = ev;
  slots_[s].ts = ts;
  slots_[s].refs = 1;
  return s;
}

void key_state::release(std::uint32_t s) noexcept {
  if (s == empty_slot) return;
  if (--slots_[s].refs != 0) return;
  slots_[s].ev.reset();
  // Trim trailing free slots so a drained key gives its memory back.
  if (s + 1 == slots_.size()) {
    slots_.pop_back();
    if (slots_.empty()) {
      free_head_ = ~0u;
      slots_.shrink_to_fit();
    }
    return;
  }
  slots_[s].ts = free_head_;
  free_head_ = s;
}

key_state::rule_state* key_state::find_rule(std::uint32_t rule) noexcept {
  auto it = std::lower_bound(rules_.begin(), rules_.end(), rule,
                             [](const rule_state& r, std::uint32_t x) { return r.rule < x; });
  return it != rules_.end() && it->rule == rule ? &*it : nullptr;
}

key_state::rule_state& key_state::get_rule(std::uint32_t rule) {
  auto it = std::lower_bound(rules_.begin(), rules_.end(), rule,
                             [](const rule_state& r, std::uint32_t x) { return r.rule < x; });
  if (it != rules_.end() && it->rule == rule) return *it;
  it = rules_.emplace(it);
  it->rule = rule;
  return *it;
}

void key_state::drop_if_empty(std::uint32_t rule) noexcept {
  auto it = std::lower_bound(rules_.begin(), rules_.end(), rule,
                             [](const rule_state& r, std::uint32_t x) { return r.rule < x; });
  if (it == rules_.end() || it->rule != rule || !it->words.empty()) return;
  rules_.erase(it);
  if (rules_.empty()) {
    rules_.shrink_to_fit();
    min_deadline_ = no_deadline;
  }
}

std::size_t key_state::find_record(const rule_state& rs, std::uint32_t type,
                                   std::uint32_t stage) const noexcept {
  const auto& w = rs.words;
  for (std::size_t p = 0; p < w.size(); p += header_words + rec_count(&w[p])) {
    if (rec_type(&w[p]) == type && rec_stage(&w[p]) == stage) return p;
  }
  return npos;
}

void key_state::erase_record(rule_state& rs, std::size_t at) noexcept {
  auto& w = rs.words;
  std::uint32_t n = rec_count(&w[at]);
  if (rec_type(&w[at]) != last_seen) --pending_;
  for (std::uint32_t i = 0; i < n; ++i)
    release(w[at + header_words + i]);
  w.erase(w.begin() + static_cast<std::ptrdiff_t>(at),
          w.begin() + static_cast<std::ptrdiff_t>(at + header_words + n));
}

void key_state::append_record(const ruleset& rules, rule_state& rs, std::uint32_t type,
                              std::int64_t t, std::span<const std::uint32_t> slots) {
  // Stage is the number of bound events for partials; joins keep one slot per step.
  std::uint32_t stage = type == partial ? static_cast<std::uint32_t>(slots.size()) : 0;
  auto& w = rs.words;
  const std::size_t at = w.size();
  w.push_back(type << 28 | (stage & 0xfff) << 16 | static_cast<std::uint32_t>(slots.size()));
  w.push_back(0);
  w.push_back(0);
  set_time(&w[at], t);
  for (std::uint32_t s : slots) {
    if (s != empty_slot) ++slots_[s].refs;
    w.push_back(s);
  }
  if (type != last_seen) ++pending_;
  const auto& rule = rules.impl().rules[rs.rule];
  if (rule.maxspan && type != join)
    min_deadline_ = std::min(min_deadline_, saturating_deadline(t, *rule.maxspan));
}

void key_state::clear_rule(std::uint32_t rule) noexcept {
  rule_state* rs = find_rule(rule);
  if (!rs) return;
  while (!rs->words.empty())
    erase_record(*rs, 0);
  drop_if_empty(rule);
}

void key_state::enforce_cap(const ruleset& rules, rule_state& rs, key_sink& out) {
  const std::size_t cap = std::max<std::size_t>(1, rules.opts().max_pending_per_key);
  for (;;) {
    std::size_t count = 0, oldest = npos;
    std::int64_t oldest_t = no_deadline;
    const auto& w = rs.words;
    for (std::size_t p = 0; p < w.size(); p += header_words + rec_count(&w[p])) {
      if (rec_type(&w[p]) == last_seen) continue;
      ++count;
      if (oldest == npos || rec_time(&w[p]) < oldest_t) {
        oldest = p;
        oldest_t = rec_time(&w[p]);
      }
    }
    if (count <= cap) return;
    erase_record(rs, oldest);
    out.on_overflow();
  }
}

void key_state::emit(std::string_view key, std::uint32_t rule, std::span<const std::uint32_t> slots,
                     key_sink& out) {
  match m;
  m.rule = rule;
  m.key.assign(key);
  m.events.reserve(slots.size());
  m.first_ns = no_deadline;
  m.last_ns = std::numeric_limits<std::int64_t>::min();
  for (std::uint32_t s : slots) {
    m.events.push_back(slots_[s].ev);
    m.first_ns = std::min(m.first_ns, slots_[s].ts);
    m.last_ns = std::max(m.last_ns, slots_[s].ts);
  }
  out.on_match(std::move(m));
}

void key_state::process(const ruleset& rules, std::string_view key, std::uint32_t ev_slot,
                        std::span<const step_id> hits, key_sink& out) {
  const detail::compiled& c = rules.impl();
  const std::int64_t t = slots_[ev_slot].ts;
  for (step_id id : hits) {
    const detail::step& s = c.steps[id];
    const detail::rule& r = c.rules[s.rule];
    const std::uint32_t positives = r.positives;
    if (s.what == detail::role::until) {
      clear_rule(s.rule);
      continue;
    }
    if (s.what == detail::role::missing) {
      if (s.index == 0) {
        rule_state& rs = get_rule(s.rule);
        std::size_t at = find_record(rs, last_seen, 0);
        if (at == npos)
          append_record(rules, rs, last_seen, t, {});
        else
          set_time(&rs.words[at], std::max(t, rec_time(&rs.words[at])));
        continue;
      }
      rule_state* rs = find_rule(s.rule);
      if (!rs) continue;
      if (s.index == positives) {
        for (std::size_t at; (at = find_record(*rs, held, 0)) != npos;)
          erase_record(*rs, at);
      } else if (std::size_t at = find_record(*rs, partial, s.index); at != npos) {
        erase_record(*rs, at);
      }
      drop_if_empty(s.rule);
      continue;
    }
    if (r.kind == detail::rule_kind::join) {
      rule_state& rs = get_rule(s.rule);
      std::size_t at = find_record(rs, join, 0);
      if (at == npos) {
        tmp_slots.assign(positives, empty_slot);
        at = rs.words.size();
        append_record(rules, rs, join, t, tmp_slots);
      }
      std::uint32_t* rec = &rs.words[at];
      if (rec[header_words + s.index] != empty_slot) continue;
      rec[header_words + s.index] = ev_slot;
      ++slots_[ev_slot].refs;
      bool complete = true;
      for (std::uint32_t i = 0; i < positives; ++i)
        complete = complete && rec[header_words + i] != empty_slot;
      if (complete) {
        tmp_slots.assign(rec + header_words, rec + header_words + positives);
        // Keep the events alive while the record is erased and the match built.
        for (auto x : tmp_slots)
          ++slots_[x].refs;
        erase_record(rs, at);
        drop_if_empty(s.rule);
        emit(key, s.rule, tmp_slots, out);
        for (auto x : tmp_slots)
          release(x);
      }
      continue;
    }
    // Sequence step.
    std::int64_t first = t;
    tmp_slots.clear();
    if (s.index == 0) {
      if (r.leading_missing) {
        if (rule_state* rs = find_rule(s.rule)) {
          std::size_t at = find_record(*rs, last_seen, 0);
          if (at != npos && t - rec_time(&rs->words[at]) <= *r.maxspan) continue;
        }
      }
    } else {
      rule_state* rs = find_rule(s.rule);
      if (!rs) continue;
      std::size_t at = find_record(*rs, partial, s.index);
      if (at == npos) continue;
      const std::uint32_t* rec = &rs->words[at];
      first = rec_time(rec);
      if (r.maxspan && t - first > *r.maxspan) {
        erase_record(*rs, at);
        drop_if_empty(s.rule);
        continue;
      }
      tmp_slots.assign(rec + header_words, rec + header_words + rec_count(rec));
      for (auto x : tmp_slots)
        ++slots_[x].refs;
      if (!s.fork) erase_record(*rs, at);
    }
    tmp_slots.push_back(ev_slot);
    ++slots_[ev_slot].refs;
    if (tmp_slots.size() == positives) {
      if (r.trailing_missing) {
        rule_state& rs = get_rule(s.rule);
        append_record(rules, rs, held, first, tmp_slots);
        enforce_cap(rules, rs, out);
      } else {
        emit(key, s.rule, tmp_slots, out);
      }
    } else {
      // At most one partial per stage: the newest replaces.
      rule_state& rs = get_rule(s.rule);
      if (std::size_t old = find_record(rs, partial, static_cast<std::uint32_t>(tmp_slots.size()));
          old != npos)
        erase_record(rs, old);
      append_record(rules, rs, partial, first, tmp_slots);
      enforce_cap(rules, rs, out);
    }
    for (auto x : tmp_slots)
      release(x);
    drop_if_empty(s.rule);
  }
}

void key_state::expire(const ruleset& rules, std::string_view key, std::int64_t threshold,
                       key_sink& out) {
  if (threshold < min_deadline_) return;
  const detail::compiled& c = rules.impl();
  std::int64_t next = no_deadline;
  for (std::size_t ri = 0; ri < rules_.size();) {
    rule_state& rs = rules_[ri];
    const detail::rule& rule = c.rules[rs.rule];
    std::size_t p = 0;
    while (p < rs.words.size()) {
      const std::uint32_t* r = &rs.words[p];
      std::uint32_t type = rec_type(r);
      if (!rule.maxspan || type == join) {
        p += header_words + rec_count(r);
        continue;
      }
      std::int64_t d = saturating_deadline(rec_time(r), *rule.maxspan);
      if (d > threshold) {
        next = std::min(next, d);
        p += header_words + rec_count(r);
        continue;
      }
      if (type == held) {
        tmp_slots.assign(r + header_words, r + header_words + rec_count(r));
        for (auto x : tmp_slots)
          ++slots_[x].refs;
        erase_record(rs, p);
        emit(key, rs.rule, tmp_slots, out);
        for (auto x : tmp_slots)
          release(x);
      } else {
        erase_record(rs, p);
      }
    }
    if (rs.words.empty())
      rules_.erase(rules_.begin() + static_cast<std::ptrdiff_t>(ri));
    else
      ++ri;
  }
  min_deadline_ = next;
}

std::int64_t key_state::next_deadline() const noexcept {
  std::int64_t d = min_deadline_;
  if (buffer_ && buffer_->head < buffer_->items.size())
    d = std::min(d, buffer_->items[buffer_->head].ts);
  return d;
}

std::int64_t key_state::process_now(const ruleset& rules, std::string_view key,
                                    const event::event_ptr& ev, std::int64_t ts,
                                    std::span<const step_id> hits, key_sink& out) {
  std::uint32_t s = add_slot(ev, ts);
  expire(rules, key, ts, out);
  process(rules, key, s, hits, out);
  release(s);
  return next_deadline();
}

std::int64_t key_state::on_event(const ruleset& rules, std::string_view key,
                                 const event::event_ptr& ev, std::int64_t ts, std::uint64_t seq,
                                 std::span<const step_id> hits, key_sink& out) {
  std::uint32_t s = add_slot(ev, ts);
  if (rules.opts().ordering == options::order::arrival) {
    expire(rules, key, ts, out);
    process(rules, key, s, hits, out);
    release(s);
    return next_deadline();
  }
  if (!buffer_) buffer_ = std::make_unique<time_buffer>();
  auto& b = *buffer_;
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
  if (buffer_) {
    auto& b = *buffer_;
    while (b.head < b.items.size() && b.items[b.head].ts <= watermark) {
      auto it = b.items[b.head++];
      expire(rules, key, it.ts, out);
      process(rules, key, it.slot,
              std::span<const step_id>(b.hits.data() + it.hit_begin, it.hit_count), out);
      release(it.slot);
    }
    if (b.head == b.items.size()) {
      buffer_.reset();
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
  }
  expire(rules, key, watermark, out);
  return next_deadline();
}

} // namespace chainwatch::engine
