// Engine throughput: events/s on one core for 1, 100 and 1,000 rules over
// 1M distinct keys with Zipf-skewed traffic, time order, watermark every 1,000 events.

#include <algorithm>
#include <benchmark/benchmark.h>
#include <chainwatch/engine/engine.hpp>
#include <cmath>
#include <random>

namespace cw = chainwatch;
namespace eng = chainwatch::engine;

namespace {

constexpr std::size_t key_count = 1'000'000;
constexpr std::size_t event_count = 1'000'000;
constexpr std::size_t watermark_every = 1'000;
constexpr std::int64_t ms = 1'000'000;

struct timed {
  cw::event::event_ptr ev;
  std::int64_t ts;
};

std::vector<std::string> make_rules(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    auto v = std::to_string(i / 2);
    if (i % 2 == 0)
      out.push_back("sequence by user.name with maxspan=5m "
                    "[authentication where event.outcome == \"failure\" and service.name == \"svc" +
                    v +
                    "\"] with runs=5 "
                    "[authentication where event.outcome == \"success\" and service.name == \"svc" +
                    v + "\"]");
    else
      out.push_back(
          "sequence by host.id with maxspan=10m "
          "[network where http.request.method == \"GET\" and file.extension in "
          "(\"exe\",\"dll\") and url.domain == \"dl" +
          v +
          ".example\"] "
          "[network where http.request.method == \"POST\" and destination.domain == \"c2-" +
          v + ".example\"]");
  }
  return out;
}

/// Events whose constants are drawn from `services` values (rule i uses value i/2).
std::vector<timed> make_events(int services) {
  {
    std::mt19937_64 rng(42);
    // Zipf(s=1.1) over key ranks via an inverse CDF table.
    std::vector<double> cdf(key_count);
    double sum = 0;
    for (std::size_t k = 0; k < key_count; ++k)
      cdf[k] = (sum += 1.0 / std::pow(double(k + 1), 1.1));
    std::uniform_real_distribution<double> u(0, sum);
    auto key = [&] {
      return std::size_t(std::lower_bound(cdf.begin(), cdf.end(), u(rng)) - cdf.begin());
    };
    std::vector<timed> v;
    v.reserve(event_count);
    cw::event::builder b;
    for (std::size_t i = 0; i < event_count; ++i) {
      b.reset();
      b.begin_object();
      auto svc = std::to_string(rng() % services);
      if (i % 2 == 0) {
        bool fail = rng() % 5 != 0;
        b.key("event").begin_object().key("category").string("authentication");
        b.key("outcome").string(fail ? "failure" : "success").end_object();
        b.key("user")
            .begin_object()
            .key("name")
            .string("user" + std::to_string(key()))
            .end_object();
        b.key("service").begin_object().key("name").string("svc" + svc).end_object();
      } else {
        bool get = rng() % 2 == 0;
        b.key("event").begin_object().key("category").string("network").end_object();
        b.key("host").begin_object().key("id").string("host" + std::to_string(key())).end_object();
        b.key("http").begin_object().key("request").begin_object();
        b.key("method").string(get ? "GET" : "POST").end_object().end_object();
        if (get) {
          b.key("file").begin_object().key("extension").string("exe").end_object();
          b.key("url").begin_object().key("domain").string("dl" + svc + ".example").end_object();
        } else {
          b.key("destination").begin_object().key("domain").string("c2-" + svc + ".example");
          b.end_object();
        }
      }
      b.end_object();
      v.push_back({std::make_shared<const cw::event::event>(b.finish()), std::int64_t(i) * ms});
    }
    return v;
  }
}

const std::vector<timed>& events(int services) {
  static std::vector<std::pair<int, std::vector<timed>>> cache;
  for (auto& [s, v] : cache)
    if (s == services) return v;
  cache.emplace_back(services, make_events(services));
  return cache.back().second;
}

void bm_engine(benchmark::State& state) {
  const auto& evs = events(int(state.range(1)));
  std::vector<eng::rule_source> src;
  int i = 0;
  for (auto& q : make_rules(int(state.range(0))))
    src.push_back({"r" + std::to_string(i), "r" + std::to_string(i++), q});
  auto rs = eng::ruleset::compile(src, {});
  if (!rs) {
    state.SkipWithError(rs.error().err.message.c_str());
    return;
  }
  std::uint64_t matches = 0;
  eng::engine_stats st;
  for (auto _ : state) {
    eng::engine e(*rs, [&](eng::match&&) { ++matches; });
    std::size_t n = 0;
    for (auto& t : evs) {
      e.push(t.ev, t.ts);
      if (++n % watermark_every == 0) e.advance(t.ts - 2'000 * ms);
    }
    state.PauseTiming();
    st = e.stats();
    state.ResumeTiming();
    e.finish();
  }
  state.SetItemsProcessed(std::int64_t(state.iterations() * evs.size()));
  state.counters["pending"] = double(st.pending_sequences);
  state.counters["live_keys"] = double(st.live_keys);
  // state_bytes counts every heap byte of the key states as glibc allocates it (key table
  // with its empty buckets, per-key allocations, spilled vectors, deadline heap, time
  // queue), excluding the events themselves; see libs/engine/README.md "State".
  state.counters["bytes_per_pending"] =
      st.pending_sequences ? double(st.state_bytes) / double(st.pending_sequences) : 0;
  state.counters["evals_per_event"] = double(st.evaluations) / double(evs.size());
  state.counters["matches"] = double(matches) / double(state.iterations());
}

/// The 100-rule set of bm_engine.
std::shared_ptr<const eng::ruleset> rules100() {
  static std::shared_ptr<const eng::ruleset> rs = [] {
    std::vector<eng::rule_source> src;
    int i = 0;
    for (auto& q : make_rules(100))
      src.push_back({"r" + std::to_string(i), "r" + std::to_string(i++), q});
    return *eng::ruleset::compile(src, {});
  }();
  return rs;
}

/// An engine holding the state after the first `n` events of the {100 rules, 50 constants} run.
std::unique_ptr<eng::engine> loaded_engine(std::size_t n) {
  const auto& evs = events(50);
  auto e = std::make_unique<eng::engine>(rules100(), [](eng::match&&) {});
  for (std::size_t k = 0; k < n && k < evs.size(); ++k) {
    e->push(evs[k].ev, evs[k].ts);
    if ((k + 1) % watermark_every == 0) e->advance(evs[k].ts - 2'000 * ms);
  }
  return e;
}

// Checkpoint cost: engine::snapshot of a partition-sized state (items = live keys).
void bm_snapshot(benchmark::State& state) {
  auto e = loaded_engine(std::size_t(state.range(0)));
  auto st = e->stats();
  std::string bytes;
  for (auto _ : state) {
    bytes.clear();
    e->snapshot(bytes);
    benchmark::DoNotOptimize(bytes.data());
  }
  state.SetItemsProcessed(std::int64_t(state.iterations() * st.live_keys));
  state.counters["live_keys"] = double(st.live_keys);
  state.counters["pending"] = double(st.pending_sequences);
  state.counters["snapshot_bytes_per_key"] = double(bytes.size()) / double(st.live_keys);
}

// Recovery cost: engine::restore of that state into a new engine (items = live keys).
void bm_restore(benchmark::State& state) {
  auto e = loaded_engine(std::size_t(state.range(0)));
  auto live = e->stats().live_keys;
  std::string bytes;
  e->snapshot(bytes);
  for (auto _ : state) {
    eng::engine fresh(rules100(), [](eng::match&&) {});
    if (!fresh.restore(bytes)) state.SkipWithError("restore failed");
  }
  state.SetItemsProcessed(std::int64_t(state.iterations() * live));
}

} // namespace

// Args: rules, distinct constants in the traffic. {100, 50} and {1000, 50}: the same traffic
// (it matches the first 100 rules' constants), so the extra 900 rules only cost index work.
// {1000, 500}: traffic spread over all 1,000 rules' constants (10x the matching work).
// {100, 200}: selective traffic: about a third of the events hit a step of the 100 rules.
BENCHMARK(bm_engine)
    ->Args({1, 50})
    ->Args({100, 200})
    ->Args({100, 50})
    ->Args({1000, 50})
    ->Args({1000, 500})
    ->ArgNames({"rules", "constants"})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);
// Args: events pushed before the snapshot (100k: ~a partition's share of a busy minute).
BENCHMARK(bm_snapshot)->Arg(100'000)->ArgNames({"events"})->Unit(benchmark::kMillisecond);
BENCHMARK(bm_restore)->Arg(100'000)->ArgNames({"events"})->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
