#include "key_core.hpp"

#include <absl/container/flat_hash_map.h>
#include <absl/container/flat_hash_set.h>
#include <absl/container/inlined_vector.h>
#include <algorithm>
#include <array>
#include <cstring>
#include <deque>
#include <msgpack.hpp>
#include <stdexcept>
#include <xxhash.h>

namespace chainwatch::engine {

namespace {

/// A value for ordering (`sort`): nulls first, then booleans, numbers, strings, others.
struct sort_value {
  int rank = 0;
  double num = 0;
  std::string str;
  bool operator<(const sort_value& o) const {
    if (rank != o.rank) return rank < o.rank;
    if (num != o.num) return num < o.num;
    return str < o.str;
  }
};

sort_value to_sort_value(const eql::value& v, bool fold) {
  sort_value s;
  switch (v.t) {
  case eql::value::type::null:
    s.rank = 0;
    break;
  case eql::value::type::boolean:
    s.rank = 1;
    s.num = v.b ? 1 : 0;
    break;
  case eql::value::type::integer:
    s.rank = 2;
    s.num = static_cast<double>(v.i);
    break;
  case eql::value::type::real:
    s.rank = 2;
    s.num = v.d;
    break;
  case eql::value::type::string:
    s.rank = 3;
    s.str.assign(v.s);
    if (fold)
      for (auto& ch : s.str)
        if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
    break;
  default:
    s.rank = 4;
    detail::append_key_value(s.str, v, fold);
    break;
  }
  return s;
}

/// The pipes of one rule, applied to its match stream. Blocking pipes (tail,
/// sort, count, unique_count) hold matches until finish().
class pipe_chain {
public:
  pipe_chain(const detail::rule& r, const options& opts, std::function<void(match&&)>* sink)
      : sink_(sink), fold_(!opts.case_sensitive) {
    eql::compile_options copts;
    copts.case_sensitive = opts.case_sensitive;
    copts.lists = opts.lists;
    for (auto& p : r.pipes) {
      stage s;
      s.kind = p.kind;
      for (auto& a : p.args) {
        if ((p.kind == eql::pipe::type::head || p.kind == eql::pipe::type::tail) &&
            a.kind == eql::op::literal) {
          if (auto* i = std::get_if<std::int64_t>(&a.value))
            s.n = static_cast<std::size_t>(std::max<std::int64_t>(0, *i));
          continue;
        }
        auto e = eql::compile(a, copts);
        if (!e) {
          error = e.error();
          return;
        }
        s.exprs.push_back(std::move(*e));
      }
      if ((p.kind == eql::pipe::type::head || p.kind == eql::pipe::type::tail) && p.args.empty())
        s.n = 50;
      stages_.push_back(std::move(s));
    }
  }

  std::optional<eql::error> error;

  void push(match&& m) { push_at(0, std::move(m)); }
  void finish() { finish_at(0); }
  /// True when a head pipe has cut the stream: further matches are dropped.
  bool closed() const noexcept {
    return !stages_.empty() && stages_[0].kind == eql::pipe::type::head &&
           stages_[0].count >= stages_[0].n;
  }

private:
  struct stage {
    eql::pipe::type kind;
    std::size_t n = 0;
    std::size_t count = 0;
    std::vector<eql::expression> exprs;
    std::deque<match> held;
    std::vector<std::pair<std::vector<sort_value>, match>> sorted;
    absl::flat_hash_set<std::string> seen;
    absl::flat_hash_map<std::string, std::size_t> index; // unique_count / count
    std::vector<std::pair<match, std::size_t>> firsts;
    std::vector<std::pair<std::string, std::size_t>> counts;
  };

  void bind(const match& m) {
    raw_.clear();
    for (auto& e : m.events)
      raw_.push_back(e.get());
    ctx_.current = raw_.empty() ? nullptr : raw_[0];
    ctx_.sequence = raw_;
  }

  std::string key_of(const stage& s, const match& m) {
    bind(m);
    std::string k = "[";
    for (std::size_t i = 0; i < s.exprs.size(); ++i) {
      if (i) k.push_back(',');
      ctx_.current = raw_.empty() ? nullptr : raw_[0];
      detail::append_key_value(k, s.exprs[i].eval(ctx_), fold_);
    }
    k.push_back(']');
    return k;
  }

  void push_at(std::size_t i, match&& m) {
    if (i == stages_.size()) {
      (*sink_)(std::move(m));
      return;
    }
    stage& s = stages_[i];
    switch (s.kind) {
    case eql::pipe::type::head:
      if (s.count >= s.n) return;
      ++s.count;
      push_at(i + 1, std::move(m));
      return;
    case eql::pipe::type::tail:
      if (s.n == 0) return;
      s.held.push_back(std::move(m));
      if (s.held.size() > s.n) s.held.pop_front();
      return;
    case eql::pipe::type::filter: {
      bind(m);
      bool ok = true;
      for (auto& e : s.exprs) {
        ctx_.current = raw_.empty() ? nullptr : raw_[0];
        ok = ok && e.test(ctx_);
      }
      if (ok) push_at(i + 1, std::move(m));
      return;
    }
    case eql::pipe::type::unique:
      if (s.seen.insert(key_of(s, m)).second) push_at(i + 1, std::move(m));
      return;
    case eql::pipe::type::unique_count: {
      auto k = key_of(s, m);
      auto [it, fresh] = s.index.try_emplace(k, s.firsts.size());
      if (fresh)
        s.firsts.emplace_back(std::move(m), 1);
      else
        ++s.firsts[it->second].second;
      return;
    }
    case eql::pipe::type::count: {
      auto k = key_of(s, m);
      auto [it, fresh] = s.index.try_emplace(k, s.counts.size());
      if (fresh)
        s.counts.emplace_back(std::move(k), 1);
      else
        ++s.counts[it->second].second;
      return;
    }
    case eql::pipe::type::sort: {
      bind(m);
      std::vector<sort_value> key;
      for (auto& e : s.exprs) {
        ctx_.current = raw_.empty() ? nullptr : raw_[0];
        key.push_back(to_sort_value(e.eval(ctx_), fold_));
      }
      s.sorted.emplace_back(std::move(key), std::move(m));
      return;
    }
    }
  }

  static event::event_ptr with_counts(const event::event& ev, std::size_t count, double percent) {
    event::builder b;
    b.begin_object();
    auto count_sym = event::symbols::intern("count");
    auto percent_sym = event::symbols::intern("percent");
    for (auto c = ev.root().first_child(); c.exists(); c = c.next_sibling()) {
      if (c.key() == count_sym || c.key() == percent_sym) continue;
      b.key(c.key()).copy(c);
    }
    b.key(count_sym).integer(static_cast<std::int64_t>(count));
    b.key(percent_sym).real(percent);
    b.end_object();
    return std::make_shared<const event::event>(b.finish());
  }

  void finish_at(std::size_t i) {
    if (i == stages_.size()) return;
    stage& s = stages_[i];
    switch (s.kind) {
    case eql::pipe::type::tail:
      while (!s.held.empty()) {
        match m = std::move(s.held.front());
        s.held.pop_front();
        push_at(i + 1, std::move(m));
      }
      break;
    case eql::pipe::type::sort:
      std::stable_sort(s.sorted.begin(), s.sorted.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
      for (auto& [k, m] : s.sorted)
        push_at(i + 1, std::move(m));
      s.sorted.clear();
      break;
    case eql::pipe::type::unique_count: {
      std::size_t total = 0;
      for (auto& f : s.firsts)
        total += f.second;
      for (auto& [m, n] : s.firsts) {
        if (!m.events.empty() && m.events[0])
          m.events[0] = with_counts(*m.events[0], n, total ? double(n) / double(total) : 0.0);
        push_at(i + 1, std::move(m));
      }
      s.firsts.clear();
      break;
    }
    case eql::pipe::type::count: {
      std::size_t total = 0;
      for (auto& c : s.counts)
        total += c.second;
      std::stable_sort(s.counts.begin(), s.counts.end(), [](const auto& a, const auto& b) {
        return a.second != b.second ? a.second < b.second : a.first < b.first;
      });
      event::json_decoder dec;
      for (auto& [k, n] : s.counts) {
        std::string json = "{\"key\":";
        if (s.exprs.empty())
          json += "\"totals\"";
        else if (s.exprs.size() == 1)
          json.append(k, 1, k.size() - 2);
        else
          json += k;
        json += ",\"count\":" + std::to_string(n);
        if (!s.exprs.empty())
          json += ",\"percent\":" + std::to_string(total ? double(n) / double(total) : 0.0);
        json += "}";
        auto ev = dec.decode(json);
        if (!ev) continue;
        match m;
        m.events.push_back(std::make_shared<const event::event>(std::move(*ev)));
        push_at(i + 1, std::move(m));
      }
      s.counts.clear();
      break;
    }
    default:
      break;
    }
    finish_at(i + 1);
  }

  std::vector<stage> stages_;
  std::function<void(match&&)>* sink_;
  bool fold_;
  eql::eval_context ctx_;
  std::vector<const event::event*> raw_;
};

} // namespace

struct engine::impl : key_sink {
  /// One join key: its records and key text in a single allocation, found through the
  /// router's 64-bit key hash (recomputed from the text when the table grows). The events the
  /// records bind live in the engine's event store; the records' earliest deadline doubles as
  /// the deadline-heap bookkeeping (a heap entry is live when it equals it).
  struct node {
    detail::key_core core;
    std::uint32_t refs = 0; ///< heap entries and queued events naming this node; drop only at 0
    std::uint32_t len = 0;
    std::string_view key() const noexcept { return {reinterpret_cast<const char*>(this + 1), len}; }
    static node* make(std::string_view key) {
      void* p = ::operator new(sizeof(node) + key.size());
      node* n = new (p) node;
      n->len = static_cast<std::uint32_t>(key.size());
      std::memcpy(reinterpret_cast<char*>(n + 1), key.data(), key.size());
      return n;
    }
    static void destroy(node* n) noexcept {
      n->~node();
      ::operator delete(n);
    }
    /// Starts loading the node (state and key text) into the cache.
    void prefetch() const noexcept {
      const char* p = reinterpret_cast<const char*>(this);
      for (std::size_t off = 0; off < sizeof(node) + len; off += 64)
        __builtin_prefetch(p + off);
    }
    /// Heap bytes of the allocation (glibc chunk rounding included) and of spilled records.
    std::size_t bytes() const noexcept {
      return detail::heap_bytes(sizeof(node) + len) + core.heap_bytes();
    }
  };
  struct probe {
    std::string_view key;
    std::uint64_t hash;
  };
  struct node_hash {
    using is_transparent = void;
    std::size_t operator()(const node* n) const noexcept {
      return XXH3_64bits(reinterpret_cast<const char*>(n + 1), n->len);
    }
    std::size_t operator()(const probe& p) const noexcept { return p.hash; }
  };
  struct node_eq {
    using is_transparent = void;
    bool operator()(const node* a, const node* b) const noexcept { return a == b; }
    bool operator()(const probe& p, const node* n) const noexcept {
      return n->len == p.key.size() &&
             std::memcmp(reinterpret_cast<const char*>(n + 1), p.key.data(), n->len) == 0;
    }
    bool operator()(const node* n, const probe& p) const noexcept { return (*this)(p, n); }
  };
  using node_set = absl::flat_hash_set<node*, node_hash, node_eq>;
  struct heap_entry {
    std::int64_t deadline;
    node* n;
    bool operator>(const heap_entry& o) const { return deadline > o.deadline; }
  };

  impl(std::shared_ptr<const ruleset> r, std::function<void(match&&)> s)
      : rules(std::move(r)), rt(rules), sink(std::move(s)) {
    const auto& c = rules->impl();
    counted_sink = [this](match&& m) {
      ++matches;
      sink(std::move(m));
    };
    lineage.resize(c.lineage.size());
    for (auto& rule : c.rules) {
      if (rule.pipes.empty())
        pipes.emplace_back(nullptr);
      else
        pipes.push_back(std::make_unique<pipe_chain>(rule, c.opts, &counted_sink));
    }
  }

  ~impl() override {
    for (node* n : keys)
      node::destroy(n);
  }

  void on_match(match&& m) override {
    if (m.undecided) { // a report, not a match: no pipe, not counted as one
      ++undecided;
      sink(std::move(m));
      return;
    }
    if (auto& p = pipes[m.rule])
      p->push(std::move(m));
    else
      counted_sink(std::move(m));
  }
  void on_overflow() override { ++overflow; }
  void on_suppressed() override { ++suppressed; }

  /// After the node's records changed from deadline `before`: a new earliest deadline gets
  /// a heap entry (entries that no longer equal it are stale and skipped when popped).
  void schedule(node* n, std::int64_t before) {
    const std::int64_t d = n->core.min_deadline;
    if (d == before || d == no_deadline) return;
    ++n->refs;
    // Grow by a quarter rather than doubling: the heap holds about one entry per key.
    if (heap.size() == heap.capacity()) heap.reserve(heap.size() + heap.size() / 4 + 16);
    heap.push_back({d, n});
    std::push_heap(heap.begin(), heap.end(), std::greater<>{});
  }

  void maybe_drop(node* n) {
    if (n->refs == 0 && n->core.empty()) {
      keys.erase(n);
      node::destroy(n);
    }
  }

  /// Processes one event at a node now.
  void process(node* n, event::event_ptr ev, std::int64_t ts, std::span<const step_id> hits) {
    const detail::compiled& c = rules->impl();
    const std::int64_t before = n->core.min_deadline;
    const std::uint32_t slot = store.add(std::move(ev), ts);
    n->core.expire(c, store, n->key(), ts, *this);
    n->core.process(c, store, n->key(), slot, hits, *this);
    store.release(slot);
    schedule(n, before);
  }

  void run_until(std::int64_t wm) {
    const detail::compiled& c = rules->impl();
    while (!heap.empty() && heap.front().deadline <= wm) {
      std::pop_heap(heap.begin(), heap.end(), std::greater<>{});
      heap_entry e = heap.back();
      heap.pop_back();
      if (heap.capacity() > 1024 && heap.size() * 2 < heap.capacity()) heap.shrink_to_fit();
      node* n = e.n;
      --n->refs;
      if (e.deadline == n->core.min_deadline) {
        n->core.expire(c, store, n->key(), wm, *this);
        schedule(n, e.deadline);
      }
      maybe_drop(n);
    }
  }

  static constexpr std::size_t prefetch_ahead = 8;

  /// A routed event waiting for the watermark (order::time).
  struct queued {
    std::int64_t ts;
    std::uint64_t seq;
    node* n;
    event::event_ptr ev;
    absl::InlinedVector<step_id, 6> hits;
  };

  // Processes queued events at or before `wm` in (time, arrival) order.
  void drain(std::int64_t wm) {
    while (!queue.empty() && queue.front().ts <= wm) {
      // Key states are scattered over the heap: start loading the one a few events ahead.
      if (queue.size() > prefetch_ahead) queue[prefetch_ahead].n->prefetch();
      queued q = std::move(queue.front());
      queue.pop_front();
      --q.n->refs;
      process(q.n, std::move(q.ev), q.ts, q.hits);
      maybe_drop(q.n);
    }
  }

  /// Process sets of one lineage term (Endgame semantics: deaths apply on the next process event).
  struct lineage_state {
    absl::flat_hash_set<std::string> sources, members, dead;
  };

  static std::string value_text(const event::event& ev, const event::field_path& p) {
    std::string out;
    detail::append_key_value(out, eql::value::from(ev.get(p)), false);
    return out;
  }

  static bool value_in(event::value_ref v, const std::vector<std::string>& set) {
    auto one = [&](event::value_ref x) {
      std::string t;
      auto val = eql::value::from(x);
      if (val.t == eql::value::type::string)
        t.assign(val.s);
      else
        detail::append_key_value(t, val, false);
      return std::find(set.begin(), set.end(), t) != set.end();
    };
    if (v.type() == event::kind::array) {
      for (auto c = v.first_child(); c.exists(); c = c.next_sibling())
        if (one(c)) return true;
      return false;
    }
    return v.exists() && one(v);
  }

  bool in_category(const event::event& ev, std::string_view cat) const {
    if (cat == "any") return true;
    auto v = ev.get(rules->impl().category);
    if (v.type() == event::kind::array) {
      for (auto c = v.first_child(); c.exists(); c = c.next_sibling())
        if (c.type() == event::kind::string && c.as_string() == cat) return true;
      return false;
    }
    return v.type() == event::kind::string && v.as_string() == cat;
  }

  bool lineage_check(std::uint32_t id, const event::event& ev) {
    const auto& t = rules->impl().lineage[id];
    bool in = lineage[id].members.contains(detail::av(value_text(ev, rules->impl().pid)));
    return in != t.negated;
  }

  // Hook order of the reference engine: update on process events, nested terms, then collect.
  void lineage_visit(std::uint32_t id, const event::event& ev) {
    const detail::compiled& c = rules->impl();
    const auto& t = c.lineage[id];
    auto& st = lineage[id];
    const options& o = c.opts;
    if (in_category(ev, o.process_category)) {
      std::string pid = value_text(ev, c.pid);
      std::string ppid = value_text(ev, c.ppid);
      for (auto& d : st.dead) {
        st.members.erase(d);
        st.sources.erase(d);
      }
      st.dead.clear();
      auto sub = ev.get(c.subtype);
      if (t.kind != detail::lineage_kind::event && value_in(sub, o.process_create)) {
        bool parent =
            st.sources.contains(detail::av(ppid)) ||
            (t.kind == detail::lineage_kind::descendant && st.members.contains(detail::av(ppid)));
        if (parent) st.members.insert(pid);
      } else if (value_in(sub, o.process_terminate)) {
        st.dead.insert(pid);
      }
    }
    for (auto n : t.nested)
      lineage_visit(n, ev);
    if (!in_category(ev, t.category)) return;
    auto pid = eql::value::from(ev.get(c.pid));
    if (pid.t == eql::value::type::null || (pid.t == eql::value::type::integer && pid.i == 0))
      return;
    ctx.current = &ev;
    ctx.sequence = {};
    if (!t.condition.test(ctx)) return;
    for (auto n : t.nested)
      if (!lineage_check(n, ev)) return;
    std::string key = value_text(ev, c.pid);
    (t.kind == detail::lineage_kind::event ? st.members : st.sources).insert(std::move(key));
  }

  std::shared_ptr<const ruleset> rules;
  std::vector<lineage_state> lineage;
  eql::eval_context ctx;
  std::deque<queued> queue;
  router rt;
  std::function<void(match&&)> sink;
  std::function<void(match&&)> counted_sink;
  std::vector<std::unique_ptr<pipe_chain>> pipes;
  node_set keys;
  std::vector<heap_entry> heap;
  detail::event_store store{7}; // chunks of 128 events (4 KiB)
  std::uint64_t seq = 0;
  std::uint64_t events = 0, late = 0, overflow = 0, matches = 0, undecided = 0, suppressed = 0;
};

engine::engine(std::shared_ptr<const ruleset> rules, std::function<void(match&&)> sink)
    : impl_(std::make_unique<impl>(std::move(rules), std::move(sink))) {}

engine::~engine() = default;

push_result engine::push(event::event_ptr ev, std::int64_t timestamp_ns) {
  return push_impl(std::move(ev), timestamp_ns, nullptr);
}

push_result engine::push_key(event::event_ptr ev, std::int64_t timestamp_ns, std::string_view key) {
  return push_impl(std::move(ev), timestamp_ns, &key);
}

push_result engine::push_impl(event::event_ptr ev, std::int64_t timestamp_ns,
                              const std::string_view* only_key) {
  impl& d = *impl_;
  ++d.events;
  if (timestamp_ns < watermark_) {
    ++d.late;
    return push_result::late;
  }
  d.rt.route(*ev);
  const detail::compiled& c = d.rules->impl();
  if (!c.lineage.empty()) {
    for (auto& r : c.rules)
      for (auto id : r.lineage)
        d.lineage_visit(id, *ev);
  }
  const bool event_rules = only_key == nullptr || only_key->empty();
  bool taken = event_rules && !d.rt.event_rules().empty();
  for (std::uint32_t rule : d.rt.event_rules()) {
    if (!event_rules) break;
    if (d.pipes[rule] && d.pipes[rule]->closed()) continue;
    bool lineage_ok = true;
    for (auto id : c.rules[rule].lineage)
      lineage_ok = lineage_ok && d.lineage_check(id, *ev);
    if (!lineage_ok) continue;
    match m;
    m.rule = rule;
    m.key = "[]";
    m.events.push_back(ev);
    m.first_ns = m.last_ns = timestamp_ns;
    d.on_match(std::move(m));
  }
  const std::uint64_t seq = d.seq++;
  for (const route_entry& e : d.rt.entries()) {
    if (only_key != nullptr && e.key != *only_key) continue;
    taken = true;
    enqueue(ev, timestamp_ns, seq, e.key, e.hash, e.hits);
  }
  return taken || only_key == nullptr ? push_result::accepted : push_result::unrouted;
}

bool engine::takes_hits(std::string_view key, std::span<const step_id> hits) const noexcept {
  const detail::compiled& c = impl_->rules->impl();
  if (key.empty() || hits.empty() || !c.lineage.empty()) return false;
  const auto* flags = c.step_flags.data();
  const auto n = c.step_flags.size();
  for (auto h : hits)
    if (h >= n || (flags[h] & detail::compiled::step_of_event_rule)) return false;
  return true;
}

bool engine::reads_events_of(std::span<const step_id> hits) const noexcept {
  const detail::compiled& c = impl_->rules->impl();
  for (auto h : hits)
    if (h < c.step_flags.size() && (c.step_flags[h] & detail::compiled::step_reads_events))
      return true;
  return false;
}

push_result engine::push_hits(event::event_ptr ev, std::int64_t timestamp_ns, std::string_view key,
                              std::span<const step_id> hits) {
  impl& d = *impl_;
  if (!takes_hits(key, hits)) return push_key(std::move(ev), timestamp_ns, key);
  ++d.events;
  if (timestamp_ns < watermark_) {
    ++d.late;
    return push_result::late;
  }
  enqueue(ev, timestamp_ns, d.seq++, key, XXH3_64bits(key.data(), key.size()), hits);
  return push_result::accepted;
}

void engine::enqueue(const event::event_ptr& ev, std::int64_t timestamp_ns, std::uint64_t seq,
                     std::string_view key, std::uint64_t hash, std::span<const step_id> hits) {
  impl& d = *impl_;
  impl::node* n;
  if (auto it = d.keys.find(impl::probe{key, hash}); it != d.keys.end()) {
    n = *it;
  } else {
    n = impl::node::make(key);
    d.keys.insert(n);
  }
  if (d.rules->opts().ordering == options::order::arrival) {
    d.process(n, ev, timestamp_ns, hits);
    d.maybe_drop(n);
    return;
  }
  // One engine-wide time-ordered queue instead of per-key buffers: no per-key
  // allocation for buffering. Mostly in order, so insert from the back.
  ++n->refs; // keeps the key alive while queued
  auto pos = d.queue.end();
  while (pos != d.queue.begin() && std::prev(pos)->ts > timestamp_ns)
    --pos;
  d.queue.insert(pos, impl::queued{timestamp_ns, seq, n, ev,
                                   absl::InlinedVector<step_id, 6>(hits.begin(), hits.end())});
}

void engine::advance(std::int64_t watermark_ns, std::int64_t horizon_ns) {
  if (watermark_ns > watermark_) watermark_ = watermark_ns;
  impl_->horizon = horizon_ns;
  impl_->drain(watermark_);
  impl_->run_until(watermark_);
  impl_->horizon = no_deadline;
}

void engine::finish(std::int64_t horizon_ns) {
  watermark_ = no_deadline;
  impl_->horizon = horizon_ns;
  impl_->drain(no_deadline);
  impl_->run_until(no_deadline);
  impl_->horizon = no_deadline;
  for (auto& p : impl_->pipes)
    if (p) p->finish();
}

engine_stats engine::stats() const {
  engine_stats s;
  s.events = impl_->events;
  s.late = impl_->late;
  s.overflow = impl_->overflow;
  s.matches = impl_->matches;
  s.undecided = impl_->undecided;
  s.suppressed = impl_->suppressed;
  s.evaluations = impl_->rt.evaluations();
  s.live_keys = impl_->keys.size();
  // Every heap byte the key states hold, counted as glibc hands it out (chunk header and
  // 16-byte rounding): the per-key allocation (records + key text) and spilled records, the
  // event store (pointer, time and count of every event a record binds), the hash
  // table (one pointer and one control byte per bucket, empty buckets included), the deadline
  // heap and the time-order queue (deque blocks of 512 bytes).
  for (const impl::node* n : impl_->keys) {
    s.pending_sequences += n->core.pending();
    s.state_bytes += n->bytes();
  }
  s.state_bytes += impl_->store.memory_bytes();
  s.state_bytes += impl_->keys.capacity() * (sizeof(impl::node*) + 1);
  s.state_bytes += detail::heap_bytes(impl_->heap.capacity() * sizeof(impl::heap_entry));
  constexpr std::size_t per_block = std::max<std::size_t>(1, 512 / sizeof(impl::queued));
  s.state_bytes += (impl_->queue.size() / per_block + 1) * detail::heap_bytes(512);
  return s;
}

// --- snapshot / restore -------------------------------------------------------------------------
//
// msgpack: [version, fingerprint, watermark, seq, [events, late, overflow, matches, suppressed],
//           store: [[slot, ts, refs, event], ...],
//           keys: [[key, min_deadline, flat words | null, table | null], ...]
//                 (table: [[rule, min_deadline, [words]], ...]),
//           queue: [[ts, seq, key, event, [hits]], ...],
//           lineage: [[[sources], [members], [dead]], ...],
//           checksum]   (xxh3 of everything before it)
// Pipes are not included (the mesh does not run them).

namespace {

constexpr std::uint64_t snapshot_version = 1;

struct string_sink {
  std::string* s;
  void write(const char* p, std::size_t n) { s->append(p, n); }
};

// Snapshots also depend on the ordering and the per-key cap.
std::uint64_t rules_fingerprint(const ruleset& rs) {
  const auto& o = rs.opts();
  std::uint64_t parts[] = {rs.fingerprint(), static_cast<std::uint64_t>(o.ordering),
                           static_cast<std::uint64_t>(o.max_pending_per_key)};
  return XXH3_64bits(parts, sizeof parts);
}

template <class Packer>
void pack_words(Packer& pk, const detail::word_vec& w) {
  pk.pack_array(static_cast<std::uint32_t>(w.size()));
  for (std::size_t i = 0; i < w.size(); ++i)
    pk.pack(w[i]);
}

template <class Packer>
void pack_bytes(Packer& pk, std::string_view b) {
  pk.pack_bin(static_cast<std::uint32_t>(b.size()));
  pk.pack_bin_body(b.data(), static_cast<std::uint32_t>(b.size()));
}

/// Reading helpers: throw std::runtime_error with a reason (caught by restore).
const msgpack::object& at(const msgpack::object& o, std::uint32_t i) {
  if (o.type != msgpack::type::ARRAY || i >= o.via.array.size)
    throw std::runtime_error("snapshot: bad structure");
  return o.via.array.ptr[i];
}
std::uint32_t size_of(const msgpack::object& o) {
  if (o.type == msgpack::type::NIL) return 0;
  if (o.type != msgpack::type::ARRAY) throw std::runtime_error("snapshot: array expected");
  return o.via.array.size;
}
std::string_view bytes_of(const msgpack::object& o) {
  if (o.type != msgpack::type::BIN) throw std::runtime_error("snapshot: bytes expected");
  return {o.via.bin.ptr, o.via.bin.size};
}
void unpack_words(const msgpack::object& o, detail::word_vec& w) {
  auto n = size_of(o);
  if (n == 0) return;
  auto* d = w.insert(0, n);
  for (std::uint32_t i = 0; i < n; ++i)
    d[i] = at(o, i).as<std::uint32_t>();
}

} // namespace

void engine::snapshot(std::string& out) const {
  const impl& d = *impl_;
  std::string body;
  string_sink sink{&body};
  msgpack::packer<string_sink> pk(sink);
  pk.pack_array(9);
  pk.pack(snapshot_version);
  pk.pack(rules_fingerprint(*d.rules));
  pk.pack(watermark_);
  pk.pack(d.seq);
  pk.pack_array(5);
  pk.pack(d.events);
  pk.pack(d.late);
  pk.pack(d.overflow);
  pk.pack(d.matches);
  pk.pack(d.suppressed);
  std::vector<std::uint32_t> slots;
  d.store.for_each([&](std::uint32_t s, const event::event_ptr&, std::int64_t, std::uint32_t) {
    slots.push_back(s);
  });
  pk.pack_array(static_cast<std::uint32_t>(slots.size()));
  std::string blob;
  d.store.for_each(
      [&](std::uint32_t s, const event::event_ptr& ev, std::int64_t ts, std::uint32_t refs) {
        pk.pack_array(4);
        pk.pack(s);
        pk.pack(ts);
        pk.pack(refs);
        blob.clear();
        if (ev) event::append_msgpack(blob, *ev);
        pack_bytes(pk, blob);
      });
  // Keys sorted by text, so equal states give equal bytes.
  std::vector<const impl::node*> nodes(d.keys.begin(), d.keys.end());
  std::sort(nodes.begin(), nodes.end(),
            [](const impl::node* a, const impl::node* b) { return a->key() < b->key(); });
  pk.pack_array(static_cast<std::uint32_t>(nodes.size()));
  for (const impl::node* n : nodes) {
    pk.pack_array(4);
    pack_bytes(pk, n->key());
    pk.pack(n->core.min_deadline);
    if (const auto* t = n->core.big()) {
      pk.pack_nil();
      pk.pack_array(static_cast<std::uint32_t>(t->groups.size()));
      for (const auto& g : t->groups) {
        pk.pack_array(3);
        pk.pack(g.rule);
        pk.pack(g.min_deadline);
        pack_words(pk, g.words);
      }
    } else {
      pack_words(pk, n->core.words);
      pk.pack_nil();
    }
  }
  pk.pack_array(static_cast<std::uint32_t>(d.queue.size()));
  for (const auto& q : d.queue) {
    pk.pack_array(5);
    pk.pack(q.ts);
    pk.pack(q.seq);
    pack_bytes(pk, q.n->key());
    blob.clear();
    if (q.ev) event::append_msgpack(blob, *q.ev);
    pack_bytes(pk, blob);
    pk.pack_array(static_cast<std::uint32_t>(q.hits.size()));
    for (auto h : q.hits)
      pk.pack(h);
  }
  pk.pack_array(static_cast<std::uint32_t>(d.lineage.size()));
  for (const auto& l : d.lineage) {
    pk.pack_array(3);
    for (const auto* set : {&l.sources, &l.members, &l.dead}) {
      std::vector<std::string> sorted(set->begin(), set->end());
      std::sort(sorted.begin(), sorted.end());
      pk.pack_array(static_cast<std::uint32_t>(sorted.size()));
      for (const auto& s : sorted)
        pack_bytes(pk, s);
    }
  }
  // The checksum closes the outer array (10 elements); patch the array header from 9.
  body[0] = static_cast<char>(0x90 | 10);
  string_sink osink{&out};
  msgpack::packer<string_sink> opk(osink);
  out.append(body);
  opk.pack_fix_uint64(XXH3_64bits(body.data(), body.size()));
}

bool engine::restore(std::string_view bytes, std::string* error) {
  auto fail = [&](std::string why) {
    if (error) *error = std::move(why);
    return false;
  };
  auto fresh = std::make_unique<impl>(impl_->rules, impl_->sink);
  impl& d = *fresh;
  std::int64_t wm = 0;
  try {
    auto oh = msgpack::unpack(bytes.data(), bytes.size());
    const msgpack::object& root = oh.get();
    if (root.type != msgpack::type::ARRAY || root.via.array.size != 10)
      return fail("snapshot: not an engine snapshot");
    // Everything before the checksum (the last element) is covered by it.
    if (bytes.size() < 10 || static_cast<unsigned char>(bytes[bytes.size() - 9]) != 0xcf)
      return fail("snapshot: checksum missing");
    auto body = bytes.substr(0, bytes.size() - 9);
    if (XXH3_64bits(body.data(), body.size()) != at(root, 9).as<std::uint64_t>())
      return fail("snapshot: checksum mismatch (corrupt)");
    if (at(root, 0).as<std::uint64_t>() != snapshot_version)
      return fail("snapshot: unknown version");
    if (at(root, 1).as<std::uint64_t>() != rules_fingerprint(*d.rules))
      return fail("snapshot: written with other rules or options; not restorable");
    wm = at(root, 2).as<std::int64_t>();
    d.seq = at(root, 3).as<std::uint64_t>();
    const auto& counters = at(root, 4);
    d.events = at(counters, 0).as<std::uint64_t>();
    d.late = at(counters, 1).as<std::uint64_t>();
    d.overflow = at(counters, 2).as<std::uint64_t>();
    d.matches = at(counters, 3).as<std::uint64_t>();
    d.suppressed = size_of(counters) > 4 ? at(counters, 4).as<std::uint64_t>() : 0;
    auto decode = [](std::string_view blob) {
      auto ev = event::from_msgpack(blob);
      if (!ev) throw std::runtime_error("snapshot: bad event: " + ev.error().reason);
      return std::make_shared<const event::event>(std::move(*ev));
    };
    const auto& store = at(root, 5);
    for (std::uint32_t i = 0, n = size_of(store); i < n; ++i) {
      const auto& e = at(store, i);
      auto slot = at(e, 0).as<std::uint32_t>();
      if (slot >= (1u << 28)) throw std::runtime_error("snapshot: slot out of range");
      d.store.restore(slot, decode(bytes_of(at(e, 3))), at(e, 1).as<std::int64_t>(),
                      at(e, 2).as<std::uint32_t>());
    }
    d.store.rebuild_free_list();
    auto node_for = [&](std::string_view key) {
      if (auto it = d.keys.find(impl::probe{key, XXH3_64bits(key.data(), key.size())});
          it != d.keys.end())
        return *it;
      impl::node* n = impl::node::make(key);
      d.keys.insert(n);
      return n;
    };
    const auto& keys = at(root, 6);
    for (std::uint32_t i = 0, n = size_of(keys); i < n; ++i) {
      const auto& k = at(keys, i);
      impl::node* node = node_for(bytes_of(at(k, 0)));
      node->core.min_deadline = at(k, 1).as<std::int64_t>();
      if (at(k, 3).type != msgpack::type::NIL) {
        auto* t = new detail::key_core::table();
        node->core.words.set_tag(t);
        for (std::uint32_t g = 0, gn = size_of(at(k, 3)); g < gn; ++g) {
          const auto& go = at(at(k, 3), g);
          auto& grp = t->groups.emplace_back();
          grp.rule = at(go, 0).as<std::uint32_t>();
          grp.min_deadline = at(go, 1).as<std::int64_t>();
          unpack_words(at(go, 2), grp.words);
        }
      } else {
        unpack_words(at(k, 2), node->core.words);
      }
      if (node->core.min_deadline != no_deadline) {
        ++node->refs;
        d.heap.push_back({node->core.min_deadline, node});
      }
    }
    std::make_heap(d.heap.begin(), d.heap.end(), std::greater<>{});
    const auto& queue = at(root, 7);
    for (std::uint32_t i = 0, n = size_of(queue); i < n; ++i) {
      const auto& q = at(queue, i);
      impl::node* node = node_for(bytes_of(at(q, 2)));
      ++node->refs;
      absl::InlinedVector<step_id, 6> hits;
      for (std::uint32_t h = 0, hn = size_of(at(q, 4)); h < hn; ++h)
        hits.push_back(at(at(q, 4), h).as<step_id>());
      d.queue.push_back(impl::queued{at(q, 0).as<std::int64_t>(), at(q, 1).as<std::uint64_t>(),
                                     node, decode(bytes_of(at(q, 3))), std::move(hits)});
    }
    const auto& lineage = at(root, 8);
    if (size_of(lineage) != d.lineage.size()) return fail("snapshot: lineage terms differ");
    for (std::uint32_t i = 0; i < d.lineage.size(); ++i) {
      std::array<absl::flat_hash_set<std::string>*, 3> sets{
          &d.lineage[i].sources, &d.lineage[i].members, &d.lineage[i].dead};
      for (std::uint32_t s = 0; s < 3; ++s) {
        const auto& so = at(at(lineage, i), s);
        for (std::uint32_t j = 0, jn = size_of(so); j < jn; ++j)
          sets[s]->insert(std::string(bytes_of(at(so, j))));
      }
    }
  } catch (const std::exception& e) {
    return fail(std::string("snapshot: ") + e.what());
  }
  impl_ = std::move(fresh);
  watermark_ = wm;
  return true;
}

} // namespace chainwatch::engine
