#include "partition_actor.hpp"

#include <algorithm>
#include <chainwatch/event/event.hpp>
#include <map>
#include <tuple>
#include <unordered_map>
#include <utility>

namespace chainwatch::matcher {
namespace {

bool match_less(const wire::match& a, const wire::match& b) {
  return std::tie(a.last_ns, a.first_ns, a.rule_id, a.key, a.events) <
         std::tie(b.last_ns, b.first_ns, b.rule_id, b.key, b.events);
}

struct partition_state;

/// One customer in this partition: the same engine `chainwatch hunt` runs, holding the state of
/// every (customer, join key) of the partition.
struct customer_engine {
  std::unique_ptr<engine::engine> eng;
  bool finished = false;             ///< the end-of-input marker (+inf) was applied
  std::uint64_t overflow_seen = 0;   ///< engine overflow already reported
  std::uint64_t suppressed_seen = 0; ///< engine suppressed alerts already reported
  std::int64_t marker_wall_ns = 0;   ///< emission wall clock of the marker being applied
  bool marker_idle = false;          ///< the marker being applied was moved by the wall clock
};

/// Looks customers up by string_view (items are views).
struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

struct partition_state {
  static inline const char* name = "cw-partition";
  partition_options opts;
  std::unordered_map<std::string, customer_engine, string_hash, std::equal_to<>> customers;
  std::map<std::string, std::vector<wire::match>> matches; ///< per customer, this work unit
  partition_result result;
  std::uint64_t overflow = 0;   ///< not yet reported
  std::uint64_t suppressed = 0; ///< not yet reported

  customer_engine& customer(std::string_view name) {
    auto it = customers.find(name);
    if (it == customers.end()) it = customers.emplace(std::string(name), customer_engine{}).first;
    const std::string& c = it->first;
    auto& ce = it->second;
    // Input after the end-of-input marker (+inf, every key decided) starts a new run of the
    // customer, as a second `chainwatch hunt` would.
    if (!ce.eng || ce.finished) {
      if (ce.eng) {
        auto st = ce.eng->stats();
        overflow += st.overflow - ce.overflow_seen;
        suppressed += st.suppressed - ce.suppressed_seen;
      }
      ce.finished = false;
      ce.overflow_seen = 0;
      ce.suppressed_seen = 0;
      ce.eng = std::make_unique<engine::engine>(
          opts.rules, [this, c](engine::match&& m) { add_match(c, std::move(m)); });
    }
    return ce;
  }

  void add_match(const std::string& customer, engine::match&& m) {
    if (m.undecided) { // the window of its missing step was still open when input ended
      ++result.undecided;
      return;
    }
    if (m.rule < opts.piped.size() && opts.piped[m.rule]) {
      ++result.piped_dropped;
      return;
    }
    wire::match w;
    w.rule_id = opts.rules->source(m.rule).id;
    w.key = std::move(m.key);
    for (auto& ev : m.events) {
      std::string blob;
      if (ev) event::append_msgpack(blob, *ev);
      w.events.push_back(std::move(blob));
    }
    w.first_ns = m.first_ns;
    w.last_ns = m.last_ns;
    const auto& ce = customers.find(customer)->second;
    w.watermark_ns = ce.eng->watermark();
    w.watermark_wall_ns = ce.marker_wall_ns;
    // An absence decided by a watermark the wall clock moved rests on no event: it may be a gap
    // in the data. A chain of events is evidence whatever released it.
    w.decided_by_idle = ce.marker_idle && m.absence;
    matches[customer].push_back(std::move(w));
  }

  void on_event(const wire::partition_event_view& e, std::span<const std::uint32_t> steps) {
    ++result.events;
    auto& ce = customer(e.customer);
    if (e.event_ns < ce.eng->watermark()) {
      result.late.push_back({std::string(e.customer), std::string(e.key), e.event_ns,
                             ce.eng->watermark(), e.ingest_ns, std::string(e.event), "late"});
      return;
    }
    // Hits found by a watermark service with the same rules are used as they are; otherwise
    // (other rules loaded there, an older producer) the event is routed here.
    const bool hits = e.rules == opts.rules->fingerprint() && ce.eng->takes_hits(e.key, steps);
    engine::push_result r;
    if (hits && !ce.eng->reads_events_of(steps)) {
      // The engine will read no field: the event stays msgpack (no decode, no tree), and a
      // match's evidence is these very bytes. The watermark service decoded them to route.
      if (e.event.empty()) {
        ++result.bad_events;
        return;
      }
      r = ce.eng->push_hits(
          std::make_shared<const event::event>(event::event::encoded(std::string(e.event))),
          e.event_ns, e.key, steps);
    } else {
      auto decoded = event::from_msgpack(e.event);
      if (!decoded) {
        ++result.bad_events;
        return;
      }
      auto ev = std::make_shared<const event::event>(std::move(*decoded));
      r = hits ? ce.eng->push_hits(std::move(ev), e.event_ns, e.key, steps)
               : ce.eng->push_key(std::move(ev), e.event_ns, e.key);
    }
    if (r == engine::push_result::unrouted) ++result.unrouted;
  }

  void on_marker(const wire::watermark_marker_view& m) {
    ++result.markers;
    auto& ce = customer(m.customer);
    if (m.watermark_ns <= ce.eng->watermark()) return;
    ce.marker_wall_ns = m.wall_ns; // the matches this releases carry it, and what it rests on
    ce.marker_idle = m.idle;
    ce.eng->advance(m.watermark_ns, m.horizon_ns);
    ce.marker_idle = false;
    ce.finished = m.watermark_ns == engine::no_deadline;
  }

  partition_result finish_work() {
    for (auto& [customer, list] : matches) {
      std::sort(list.begin(), list.end(), match_less);
      result.matches.push_back({customer, std::move(list)});
    }
    matches.clear();
    return std::exchange(result, {});
  }

  /// Gauges and the overflow count over every customer engine (O(live keys): on a timer, not
  /// per message).
  void fill_gauges(partition_result& r) {
    r.overflow = std::exchange(overflow, 0);
    r.suppressed = std::exchange(suppressed, 0);
    for (auto& [c, ce] : customers) {
      auto st = ce.eng->stats();
      r.live_keys += static_cast<std::int64_t>(st.live_keys);
      r.pending += static_cast<std::int64_t>(st.pending_sequences);
      r.state_bytes += static_cast<std::int64_t>(st.state_bytes);
      r.overflow += st.overflow - std::exchange(ce.overflow_seen, st.overflow);
      r.suppressed += st.suppressed - std::exchange(ce.suppressed_seen, st.suppressed);
    }
  }
};

caf::behavior partition_actor(caf::stateful_actor<partition_state>* self, partition_options opts) {
  self->state.opts = std::move(opts);
  return {
      [self](checkpoint_atom) {
        partition_snapshot snap;
        for (auto& [c, ce] : self->state.customers) {
          auto& cc = snap.customers.emplace_back();
          cc.customer = c;
          cc.watermark_ns = ce.eng->watermark();
          ce.eng->snapshot(cc.state);
        }
        return snap;
      },
      [self](restore_atom, partition_snapshot& snap) {
        auto& s = self->state;
        s.customers.clear();
        std::string error;
        for (auto& cc : snap.customers) {
          auto& ce = s.customer(cc.customer);
          if (!ce.eng->restore(cc.state, &error)) {
            error = "customer " + cc.customer + ": " + error;
            s.customers.clear();
            break;
          }
          ce.finished = ce.eng->watermark() == engine::no_deadline;
          // Counted by the process that wrote the checkpoint: not again by this one.
          auto st = ce.eng->stats();
          ce.overflow_seen = st.overflow;
          ce.suppressed_seen = st.suppressed;
        }
        return error;
      },
      [self](partition_work& w) {
        auto& s = self->state;
        partition_results r;
        auto& out = r.per_message;
        out.reserve(w.messages.size());
        for (const auto& message : w.messages) {
          for (const auto& item : message.items) {
            if (const auto* e = std::get_if<wire::partition_event_view>(&item))
              s.on_event(*e, message.hits_of(*e));
            else
              s.on_marker(std::get<wire::watermark_marker_view>(item));
          }
          out.push_back(s.finish_work());
        }
        if (w.gauges && !out.empty()) {
          out.back().gauges = true;
          s.fill_gauges(out.back());
        }
        return r;
      },
  };
}

} // namespace

caf::actor spawn_partition_actor(caf::actor_system& sys, partition_options opts) {
  return sys.spawn(partition_actor, std::move(opts));
}

} // namespace chainwatch::matcher
