// `chainwatch-bench-pipeline stages`: the mesh's per-event work without the mesh. The pure
// stages the services run (normalizer pipeline, watermark router_stage, matcher partition
// actors) are fed the same messages in one process, one stage at a time, and each stage's CPU
// time per event is printed. Noise from the other processes of a shared 2-core machine does
// not reach it, so it is the A/B measure for a change to one stage; NATS, JetStream and the
// services' loops are what the whole-mesh run adds.

#include "stages.hpp"

#include "compiled_rules.hpp"
#include "partition_actor.hpp"
#include "pipeline.hpp"
#include "watermark_service.hpp"

#include <caf/all.hpp>
#include <chainwatch/wire/messages.hpp>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace chainwatch::bench {

namespace {

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts); // every thread: the matcher's actors too
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

struct stage_time {
  const char* name;
  double seconds = 0;
  std::size_t messages_in = 0, messages_out = 0, bytes_out = 0, plain_out = 0;
};

const std::string& bytes_of(const std::string& m) {
  return m;
}
const std::string& bytes_of(const std::pair<std::uint32_t, std::string>& m) {
  return m.second;
}

} // namespace

int run_stages(const stages_options& o) {
  auto rules = cli::compile_rules(o.rules_dir, o.lists_dir, "event.category", true);
  if (!rules) {
    std::fprintf(stderr, "stages: %s\n", rules.error().c_str());
    return 1;
  }
  std::ifstream in(o.events_file);
  if (!in) {
    std::fprintf(stderr, "stages: cannot read %s\n", o.events_file.c_str());
    return 1;
  }

  // The ingest messages, as `chainwatch replay` and the pipeline bench's publisher cut them.
  std::vector<std::string> raw_msgs;
  std::size_t events = 0;
  {
    // Ingest time 0: unknown, so the skew guard has no reference (the generator's event times
    // are not tied to this run's clock).
    wire::raw_batch batch{o.customer, "ecs", 0, {}, {}, {}};
    std::size_t bytes = 0;
    auto flush = [&] {
      if (batch.records.empty()) return;
      raw_msgs.push_back(wire::encode(batch));
      batch.records.clear();
      bytes = 0;
    };
    for (std::string line; std::getline(in, line);) {
      if (batch.records.size() >= 1000 || bytes + line.size() > 512 * 1024) flush();
      bytes += line.size() + 16;
      batch.records.push_back({std::move(line), std::nullopt, events++});
    }
    flush();
  }

  std::vector<stage_time> times;
  // Normalizer: decode the raw batch, normalize and route, encode event batches.
  auto pipe = normalizer::pipeline::create("", {.rules = rules->rules});
  if (!pipe) {
    std::fprintf(stderr, "stages: %s\n", pipe.error().c_str());
    return 1;
  }
  std::vector<std::string> event_msgs;
  auto normalize = [&]() -> double {
    event_msgs.clear();
    const double c0 = cpu_seconds();
    for (const auto& m : raw_msgs) {
      auto raw = wire::decode_raw_batch(m);
      if (!raw) return -1;
      auto out = pipe->process(*raw, 0);
      for (auto& b : out.batches)
        event_msgs.push_back(std::move(b));
    }
    return cpu_seconds() - c0;
  };

  // Watermark: rounds of `round` input batches, one partition_batch per partition and round.
  std::vector<std::pair<std::uint32_t, std::string>> part_msgs;
  auto route = [&]() -> double {
    part_msgs.clear();
    engine::source_durations lateness{.default_ns = o.lateness_ns, .overrides = {}};
    watermark::router_stage stage(rules->rules, o.partitions,
                                  engine::watermark_tracker(lateness, 60'000'000'000),
                                  {.default_ns = engine::default_max_future_ns, .overrides = {}});
    const double c0 = cpu_seconds();
    for (std::size_t i = 0; i < event_msgs.size(); i += o.round) {
      watermark::routed_output out;
      for (std::size_t k = i; k < std::min(event_msgs.size(), i + o.round); ++k) {
        auto view = wire::decode_event_batch_view(event_msgs[k]); // used before the next decode
        if (!view) return -1;
        stage.add(*view, 0, out);
      }
      if (i + o.round >= event_msgs.size()) // the last round ends the input, as replay does
        stage.eof(o.customer, "ecs", 0, out);
      for (auto& [p, builder] : out.parts)
        for (auto& m : builder.finish())
          part_msgs.emplace_back(p, std::move(m));
    }
    return cpu_seconds() - c0;
  };

  // Matcher: each message decoded and handed to its partition's actor, as the fetch threads do.
  std::vector<wire::match> matches;
  auto match = [&]() -> double {
    matches.clear();
    caf::actor_system_config cfg;
    cfg.set("scheduler.max-threads", std::size_t{1});
    cfg.set("scheduler.policy", caf::atom("sharing"));
    cfg.set("logger.verbosity", caf::atom("quiet"));
    caf::actor_system sys(cfg);
    std::map<std::uint32_t, caf::actor> actors;
    std::vector<bool> piped(rules->rules->size(), false);
    for (std::uint32_t p = 0; p < o.partitions; ++p)
      actors[p] = matcher::spawn_partition_actor(sys, {p, rules->rules, piped});
    caf::scoped_actor self{sys};
    std::string buffer;
    bool ok = true;
    const double c0 = cpu_seconds();
    for (const auto& [p, m] : part_msgs) {
      auto view = wire::decode_partition_batch_view(m, buffer);
      if (!view) {
        ok = false;
        break;
      }
      matcher::partition_work work;
      work.messages.push_back(std::move(*view));
      self->request(actors[p], caf::infinite, std::move(work))
          .receive(
              [&](const matcher::partition_results& r) {
                for (const auto& res : r.per_message)
                  for (const auto& b : res.matches)
                    matches.insert(matches.end(), b.matches.begin(), b.matches.end());
              },
              [&](const caf::error&) { ok = false; });
      if (!ok) break;
    }
    const double seconds = cpu_seconds() - c0;
    // Always stopped: the actor system's destructor waits for every actor.
    for (auto& [p, a] : actors)
      self->send_exit(a, caf::exit_reason::user_shutdown);
    return ok ? seconds : -1;
  };

  // Each stage `repeat` times on the same input, from fresh state; the least CPU time counts
  // (the machine's noise only ever adds).
  auto best = [&](const char* name, auto&& run, std::size_t in, const auto& out) {
    stage_time t{name};
    for (int r = 0; r < o.repeat; ++r) {
      double s = run();
      if (s < 0) return false;
      if (r == 0 || s < t.seconds) t.seconds = s;
    }
    t.messages_in = in;
    t.messages_out = out.size();
    std::string buffer;
    for (const auto& m : out) {
      t.bytes_out += bytes_of(m).size();
      auto plain = wire::plain(bytes_of(m), buffer);
      t.plain_out += plain ? plain->size() : 0;
    }
    times.push_back(t);
    return true;
  };
  if (!best("normalizer", normalize, raw_msgs.size(), event_msgs) ||
      !best("watermark", route, event_msgs.size(), part_msgs) ||
      !best("matcher", match, part_msgs.size(), std::vector<std::string>{})) {
    std::fprintf(stderr, "stages: a stage failed (a message did not decode or an actor failed)\n");
    return 1;
  }

  std::printf("stages: %zu events, %zu rules, %u partitions, rounds of %zu batches, lateness %lld "
              "ms, %zu matches; least CPU of %d runs each\n",
              events, rules->rules->size(), o.partitions, o.round,
              static_cast<long long>(o.lateness_ns / 1'000'000), matches.size(), o.repeat);
  double total = 0;
  for (const auto& t : times) {
    std::printf("  %-10s %6.2f us/event CPU  (%zu messages in, %zu out: %.1f MB on the wire, "
                "%.1f MB plain)\n",
                t.name, t.seconds * 1e6 / double(events), t.messages_in, t.messages_out,
                double(t.bytes_out) / 1e6, double(t.plain_out) / 1e6);
    total += t.seconds;
  }
  std::printf("  %-10s %6.2f us/event CPU\n", "total", total * 1e6 / double(events));
  if (!o.matches_file.empty()) { // one JSON line per match, as tests/mesh/alertset.py reads them
    std::ofstream out(o.matches_file);
    for (const auto& m : matches)
      out << "{\"rule\":\"" << m.rule_id << "\",\"key\":" << m.key << ",\"first_ns\":" << m.first_ns
          << ",\"last_ns\":" << m.last_ns << "}\n";
    if (!out) {
      std::fprintf(stderr, "stages: cannot write %s\n", o.matches_file.c_str());
      return 1;
    }
  }
  return 0;
}

} // namespace chainwatch::bench
