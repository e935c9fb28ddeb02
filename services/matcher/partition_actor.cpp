#include "partition_actor.hpp"

#include <algorithm>
#include <chainwatch/event/event.hpp>
#include <functional>
#include <map>
#include <optional>
#include <tuple>
#include <unordered_map>
#include <utility>

namespace chainwatch::matcher {
namespace {

using retire_atom = caf::atom_constant<caf::atom("retire")>;

/// One routed event for a key actor.
struct key_event {
  event::event_ptr ev;
  std::int64_t ts = 0;
  std::uint64_t seq = 0;
  std::vector<engine::step_id> hits;
  std::int64_t watermark = 0;
};

/// Raise a key's watermark.
struct key_advance {
  std::int64_t watermark = 0;
};

/// A key actor's answer to a key_event or key_advance.
struct key_reply {
  std::int64_t deadline = engine::no_deadline;
  std::vector<engine::match> matches;
  std::int64_t watermark = 0;
  bool from_advance = false;
  bool empty = false;
  std::size_t pending = 0;
  std::size_t bytes = 0;
  std::uint64_t overflow = 0;
};

} // namespace
} // namespace chainwatch::matcher

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chainwatch::matcher::key_event)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chainwatch::matcher::key_advance)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chainwatch::matcher::key_reply)

namespace chainwatch::matcher {
namespace {

/// State of a key actor: the engine's per-key state and a sink collecting its matches.
struct key_actor_state : engine::key_sink {
  static inline const char* name = "cw-key";
  engine::key_state ks;
  std::vector<engine::match> out;
  std::uint64_t overflow = 0;

  void on_match(engine::match&& m) override { out.push_back(std::move(m)); }
  void on_overflow() override { ++overflow; }

  key_reply reply(std::int64_t deadline, std::int64_t wm, bool from_advance) {
    key_reply r{deadline,     std::move(out),    wm,      from_advance, ks.empty(),
                ks.pending(), ks.memory_bytes(), overflow};
    out.clear();
    overflow = 0;
    return r;
  }
};

/// One (customer, join key): its engine state lives in its own actor.
caf::behavior key_actor(caf::stateful_actor<key_actor_state>* self,
                        std::shared_ptr<const engine::ruleset> rules, std::string key) {
  return {
      [=](const key_event& e) {
        auto& s = self->state;
        auto next = s.ks.on_event(*rules, key, e.ev, e.ts, e.seq, e.hits, s);
        return s.reply(next, e.watermark, false);
      },
      [=](const key_advance& a) {
        auto& s = self->state;
        return s.reply(s.ks.advance(*rules, key, a.watermark, s), a.watermark, true);
      },
      [=](retire_atom) { self->quit(); },
  };
}

/// What the partition actor knows about a key actor.
struct key_info {
  caf::actor actor;
  std::string customer;
  std::int64_t scheduled = engine::no_deadline; ///< deadline in the heap (lazy deletion)
  std::int64_t advanced_to = INT64_MIN;         ///< last watermark sent to it
  std::uint32_t outstanding = 0;                ///< requests without reply
  bool empty = false;
  std::size_t pending = 0;
  std::size_t bytes = 0;
};

/// Per customer in this partition: its watermark and the deadline heap of its keys.
struct customer_state {
  std::int64_t watermark = INT64_MIN;
  std::vector<std::pair<std::int64_t, std::string>> heap; ///< (deadline, key id), min-heap
};

bool match_less(const wire::match& a, const wire::match& b) {
  return std::tie(a.last_ns, a.first_ns, a.rule_id, a.key, a.events) <
         std::tie(b.last_ns, b.first_ns, b.rule_id, b.key, b.events);
}

struct partition_state {
  static inline const char* name = "cw-partition";
  partition_options opts;
  std::optional<engine::router> router;
  std::unordered_map<std::string, key_info> keys; ///< by customer '\0' key
  std::unordered_map<std::string, customer_state> customers;
  std::map<std::string, std::vector<wire::match>> matches; ///< per customer, this work unit
  partition_result result;
  std::optional<caf::response_promise> promise;
  std::uint64_t outstanding = 0;
  std::uint64_t seq = 0;
  std::int64_t pending_total = 0;
  std::int64_t bytes_total = 0;
};

using partition_actor_t = caf::stateful_actor<partition_state>;

std::string key_id(std::string_view customer, std::string_view key) {
  std::string id(customer);
  id.push_back('\0');
  id.append(key);
  return id;
}

void add_match(partition_state& s, const std::string& customer, engine::match&& m,
               std::int64_t wm) {
  if (m.rule < s.opts.piped.size() && s.opts.piped[m.rule]) {
    ++s.result.piped_dropped;
    return;
  }
  wire::match w;
  w.rule_id = s.opts.rules->source(m.rule).id;
  w.key = std::move(m.key);
  for (auto& ev : m.events) {
    std::string blob;
    if (ev) event::append_msgpack(blob, *ev);
    w.events.push_back(std::move(blob));
  }
  w.first_ns = m.first_ns;
  w.last_ns = m.last_ns;
  w.watermark_ns = wm;
  s.matches[customer].push_back(std::move(w));
}

void schedule(partition_state& s, const std::string& id, key_info& k, std::int64_t deadline) {
  if (deadline == engine::no_deadline || deadline >= k.scheduled) return;
  k.scheduled = deadline;
  auto& heap = s.customers[k.customer].heap;
  heap.emplace_back(deadline, id);
  std::push_heap(heap.begin(), heap.end(), std::greater<>{});
}

void on_reply(partition_actor_t* self, const std::string& id, key_reply& r);

template <class Message>
void ask(partition_actor_t* self, const std::string& id, key_info& k, Message msg) {
  ++k.outstanding;
  ++self->state.outstanding;
  self->request(k.actor, caf::infinite, std::move(msg))
      .then([self, id](key_reply& r) { on_reply(self, id, r); },
            [self, id](caf::error&) {
              // Only if a key actor died (never retired with requests outstanding): its state
              // is lost; count it and keep the partition going.
              ++self->state.result.key_failures;
              key_reply r;
              r.empty = true;
              on_reply(self, id, r);
            });
}

void wake(partition_actor_t* self, const std::string& id, key_info& k, std::int64_t wm) {
  k.advanced_to = wm;
  ++self->state.result.wakeups;
  ask(self, id, k, key_advance{wm});
}

void maybe_finish(partition_actor_t* self) {
  auto& s = self->state;
  if (!s.promise || s.outstanding != 0) return;
  for (auto& [customer, list] : s.matches) {
    std::sort(list.begin(), list.end(), match_less);
    s.result.matches.push_back({customer, std::move(list)});
  }
  s.matches.clear();
  s.result.live_keys = static_cast<std::int64_t>(s.keys.size());
  s.result.pending = s.pending_total;
  s.result.state_bytes = s.bytes_total;
  auto rp = std::move(*s.promise);
  s.promise.reset();
  rp.deliver(std::exchange(s.result, {}));
}

void on_reply(partition_actor_t* self, const std::string& id, key_reply& r) {
  auto& s = self->state;
  --s.outstanding;
  auto it = s.keys.find(id);
  if (it != s.keys.end()) {
    key_info& k = it->second;
    --k.outstanding;
    s.pending_total += static_cast<std::int64_t>(r.pending) - static_cast<std::int64_t>(k.pending);
    s.bytes_total += static_cast<std::int64_t>(r.bytes) - static_cast<std::int64_t>(k.bytes);
    k.pending = r.pending;
    k.bytes = r.bytes;
    k.empty = r.empty;
    s.result.overflow += r.overflow;
    auto& cs = s.customers[k.customer];
    for (auto& m : r.matches)
      add_match(s, k.customer, std::move(m), r.from_advance ? r.watermark : cs.watermark);
    // A deadline at or before a watermark already sent to the key is stale: that advance's own
    // reply carries the fresh one. One the watermark has passed since (markers processed while
    // this advance was in flight) is decided now, as the engine's run_until would.
    if (r.deadline != engine::no_deadline && r.deadline > k.advanced_to) {
      if (r.from_advance && r.deadline <= cs.watermark)
        wake(self, id, k, cs.watermark);
      else
        schedule(s, id, k, r.deadline);
    }
    if (k.outstanding == 0 && k.empty && k.scheduled == engine::no_deadline) {
      self->send(k.actor, retire_atom::value);
      s.keys.erase(it);
      ++s.result.retired;
    }
  }
  maybe_finish(self);
}

void on_event(partition_actor_t* self, wire::partition_event& e) {
  auto& s = self->state;
  ++s.result.events;
  auto& cs = s.customers[e.customer];
  // Input after the end-of-input marker (+inf, every key decided) starts a new run of the
  // customer, as a second `chainwatch hunt` would; its results come at the next markers.
  if (cs.watermark == engine::no_deadline) cs.watermark = INT64_MIN;
  if (e.event_ns < cs.watermark) {
    s.result.late.push_back(
        {e.customer, e.key, e.event_ns, cs.watermark, e.ingest_ns, std::move(e.event)});
    return;
  }
  auto decoded = event::from_msgpack(e.event);
  if (!decoded) {
    ++s.result.bad_events;
    return;
  }
  auto ev = std::make_shared<const event::event>(std::move(*decoded));
  s.router->route(*ev);
  if (e.key.empty()) {
    // Event-query rules: stateless, emitted now (as engine::push does).
    if (s.router->event_rules().empty()) ++s.result.unrouted;
    for (auto rule : s.router->event_rules()) {
      engine::match m{rule, {}, {ev}, e.event_ns, e.event_ns};
      add_match(s, e.customer, std::move(m), cs.watermark);
    }
    return;
  }
  const engine::route_entry* entry = nullptr;
  for (const auto& r : s.router->entries())
    if (r.key == e.key) entry = &r;
  if (entry == nullptr) {
    ++s.result.unrouted;
    return;
  }
  auto id = key_id(e.customer, e.key);
  auto [it, fresh] = s.keys.try_emplace(id);
  key_info& k = it->second;
  if (fresh) {
    k.customer = e.customer;
    k.actor = self->spawn<caf::linked>(key_actor, s.opts.rules, e.key);
    ++s.result.spawned;
  }
  key_event ke{ev, e.event_ns, s.seq++, {entry->hits.begin(), entry->hits.end()}, cs.watermark};
  ask(self, id, k, std::move(ke));
  // Time order: the event is buffered and due at its own time, a lower bound of the key's next
  // deadline known before the reply comes back (markers later in this batch must see it).
  schedule(s, id, k, e.event_ns);
}

void on_marker(partition_actor_t* self, const wire::watermark_marker& m) {
  auto& s = self->state;
  ++s.result.markers;
  auto& cs = s.customers[m.customer];
  if (m.watermark_ns <= cs.watermark) return;
  cs.watermark = m.watermark_ns;
  auto& heap = cs.heap;
  while (!heap.empty() && heap.front().first <= cs.watermark) {
    std::pop_heap(heap.begin(), heap.end(), std::greater<>{});
    auto [deadline, id] = std::move(heap.back());
    heap.pop_back();
    auto it = s.keys.find(id);
    if (it == s.keys.end() || it->second.scheduled != deadline) continue; // stale entry
    it->second.scheduled = engine::no_deadline;
    wake(self, id, it->second, cs.watermark);
  }
}

caf::behavior partition_actor(partition_actor_t* self, partition_options opts) {
  self->state.opts = std::move(opts);
  self->state.router.emplace(self->state.opts.rules);
  return {
      [self](partition_work& w) -> caf::result<partition_result> {
        auto rp = self->make_response_promise();
        self->state.promise = rp;
        for (auto& item : w.items) {
          if (auto* e = std::get_if<wire::partition_event>(&item))
            on_event(self, *e);
          else
            on_marker(self, std::get<wire::watermark_marker>(item));
        }
        maybe_finish(self);
        return rp;
      },
  };
}

} // namespace

caf::actor spawn_partition_actor(caf::actor_system& sys, partition_options opts) {
  return sys.spawn(partition_actor, std::move(opts));
}

} // namespace chainwatch::matcher
