// The watermark service against a real nats-server: events routed to the partition of their
// join key with markers after them, an event behind the watermark sent to cw.late, and the
// watermark advancing on idle sources and to +inf at EOF.

#include "chainwatch/event/event.hpp"
#include "chainwatch/service/mesh.hpp"
#include "chainwatch/wire/partition.hpp"
#include "chainwatch/wire/subjects.hpp"
#include "nats_server.hpp"
#include "watermark_service.hpp"

#include <chrono>
#include <gtest/gtest.h>
#include <map>
#include <set>

using namespace chainwatch;
using namespace std::chrono_literals;

namespace {

constexpr std::int64_t s = 1'000'000'000;

std::shared_ptr<const engine::ruleset> test_rules() {
  engine::options eo;
  auto r = engine::ruleset::compile({{"seq", "ssh after a", R"(sequence by host.id
          [process where process.name == "a"]
          [network where destination.port == 22])"},
                                     {"file", "file x", R"(file where file.name == "x")"}},
                                    eo);
  EXPECT_TRUE(r);
  return *r;
}

wire::event_record record(const std::string& json, std::int64_t t) {
  event::json_decoder d;
  auto ev = d.decode(json);
  EXPECT_TRUE(ev) << json;
  wire::event_record r{.event_ns = t, .ingest_ns = 7, .event = {}, .raw = {}};
  event::append_msgpack(r.event, *ev);
  return r;
}

struct fixture {
  std::unique_ptr<test_support::nats_server> server;
  std::unique_ptr<service::nats_client> client;
  service::metrics metrics{"watermark"};
  std::unique_ptr<watermark::watermark_service> svc;

  bool start(watermark::watermark_config cfg, engine::source_durations lateness) {
    auto srv = test_support::nats_server::start();
    if (!srv) return false;
    server = std::move(*srv);
    service::nats_options opts;
    opts.url = server->url();
    auto c = service::nats_client::connect(opts);
    if (!c) return false;
    client = std::move(*c);
    svc = std::make_unique<watermark::watermark_service>(
        *client, metrics, cfg, test_rules(), lateness,
        engine::source_durations{engine::default_max_future_ns, {}});
    return svc->start().has_value();
  }

  void publish(const std::string& subject, const wire::event_batch& b, const std::string& id) {
    ASSERT_TRUE(client->js_publish(subject, wire::encode(b), id));
  }

  // Pumps the service and fetches from `stream` until `done(messages)` or 30 s.
  std::vector<service::message>
  collect(const std::string& stream, const std::string& filter,
          const std::function<bool(const std::vector<service::message>&)>& done) {
    auto consumer = client->pull({.stream = stream,
                                  .durable = "test-" + stream + "-" + std::to_string(filter.size()),
                                  .filter_subject = filter});
    EXPECT_TRUE(consumer);
    std::vector<service::message> out;
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (!done(out) && std::chrono::steady_clock::now() < deadline) {
      svc->run_once();
      auto got = (*consumer)->fetch(64, 100);
      if (!got) continue;
      for (auto& m : *got) {
        m.ack();
        out.push_back(std::move(m));
      }
    }
    return out;
  }
};

// The round tests: two partitions, no idle advance, short fetches.
watermark::watermark_config round_config() {
  watermark::watermark_config cfg;
  cfg.partitions = 2;
  cfg.idle_timeout_ns = 3600 * s;
  cfg.fetch_timeout_ns = 100'000'000;
  return cfg;
}

// Publishes inputs `first`..`last` (msg ids ev.<i>), each one routed event at 100 s + i s.
void publish_inputs(fixture& f, int first, int last) {
  for (int i = first; i <= last; ++i) {
    wire::event_batch b{.customer = "acme", .source = "ecs", .events = {}};
    b.events.push_back(
        record(R"({"event":{"category":"process"},"process":{"name":"a"},"host":{"id":"h1"}})",
               100 * s + i * s));
    f.publish(wire::events_subject("acme", "ecs"), b, "ev." + std::to_string(i));
  }
}

std::multiset<std::string> msg_ids(const std::vector<service::message>& got) {
  std::multiset<std::string> out;
  for (const auto& m : got)
    out.insert(std::string(m.header("Nats-Msg-Id").value_or("")));
  return out;
}

// Routes `b`'s events with `rules` as the normalizer does (event_record::rules, routes,
// event_rules).
void preroute(wire::event_batch& b, const std::shared_ptr<const engine::ruleset>& rules) {
  engine::router router(rules);
  for (auto& rec : b.events) {
    auto ev = event::from_msgpack(rec.event);
    ASSERT_TRUE(ev);
    router.route(*ev);
    rec.rules = rules->fingerprint();
    rec.routes.clear();
    for (const auto& e : router.entries())
      rec.routes.push_back({std::string(e.key), {e.hits.begin(), e.hits.end()}});
    rec.event_rules = !router.event_rules().empty();
  }
}

// Routes `b` with a fresh router_stage (4 partitions, lateness 1 s); the encoded partition
// batches by partition, and the counts.
std::map<std::uint32_t, std::vector<std::string>> route_batch(const wire::event_batch& b,
                                                              watermark::routed_output& out) {
  watermark::router_stage stage(
      test_rules(), 4, engine::watermark_tracker({.default_ns = 1 * s, .overrides = {}}, 3600 * s),
      {.default_ns = engine::default_max_future_ns, .overrides = {}});
  auto bytes = wire::encode(b);
  auto view = wire::decode_event_batch_view(bytes);
  EXPECT_TRUE(view);
  stage.add(*view, 0, out);
  std::map<std::uint32_t, std::vector<std::string>> parts;
  for (auto& [p, builder] : out.parts)
    parts[p] = builder.finish();
  return parts;
}

wire::event_batch mixed_batch() {
  wire::event_batch b{.customer = "acme", .source = "ecs", .events = {}};
  // A sequence step with an array-valued key, an event-query match, both, and nothing.
  b.events.push_back(
      record(R"({"event":{"category":"process"},"process":{"name":"a"},"host":{"id":["h1","h3"]}})",
             100 * s));
  b.events.push_back(record(R"({"event":{"category":"file"},"file":{"name":"x"}})", 101 * s));
  b.events.push_back(record(R"({"event":{"category":["file","network"]},"file":{"name":"x"},)"
                            R"("destination":{"port":22},"host":{"id":"h2"}})",
                            102 * s));
  b.events.push_back(record(R"({"event":{"category":"dns"}})", 103 * s));
  return b;
}

} // namespace

// The normalizer's routes are what the watermark service would find itself: taken when their
// fingerprint is this service's (no decode), routed again when it is another's; the partition
// batches are the same bytes every way.
TEST(watermark_service, routes_found_by_the_normalizer_give_the_same_partition_batches) {
  watermark::routed_output own, taken, foreign;
  auto plain = mixed_batch();
  auto expected = route_batch(plain, own);
  EXPECT_EQ(own.routed, 3u);
  EXPECT_EQ(own.dropped, 1u);
  EXPECT_EQ(own.prerouted, 0u);
  EXPECT_GE(own.items, 4u);

  auto routed = mixed_batch();
  preroute(routed, test_rules());
  EXPECT_EQ(routed.events[0].routes.size(), 1u);
  EXPECT_TRUE(routed.events[1].event_rules);
  EXPECT_TRUE(routed.events[3].routes.empty());
  EXPECT_EQ(route_batch(routed, taken), expected);
  EXPECT_EQ(taken.prerouted, 4u);
  EXPECT_EQ(taken.rerouted, 0u);
  EXPECT_EQ(taken.routed, own.routed);
  EXPECT_EQ(taken.dropped, own.dropped);
  EXPECT_EQ(taken.items, own.items);

  // Routed with other rules: the routes say nothing here (they would be wrong), routed again.
  auto other = mixed_batch();
  engine::options eo;
  preroute(other,
           *engine::ruleset::compile({{"other", "other", R"(file where file.name == "x")"}}, eo));
  EXPECT_EQ(route_batch(other, foreign), expected);
  EXPECT_EQ(foreign.prerouted, 0u);
  EXPECT_EQ(foreign.rerouted, 4u);
}

TEST(watermark_checkpoint, snapshot_restores_sources_and_watermarks) {
  engine::watermark_tracker t({.default_ns = 5 * s, .overrides = {}}, 60 * s);
  t.observe("acme", "a", 100 * s, 7);
  t.observe("acme", "b", 50 * s, 8);
  t.eof("acme", "b", 9);
  ASSERT_EQ(t.advance("acme", 10)->watermark_ns, 95 * s);
  auto snap = watermark::snapshot(t);
  engine::watermark_tracker u({.default_ns = 5 * s, .overrides = {}}, 60 * s);
  ASSERT_TRUE(watermark::restore(u, snap));
  EXPECT_EQ(watermark::snapshot(u), snap);
  EXPECT_EQ(u.watermark("acme"), 95 * s);
  EXPECT_FALSE(u.advance("acme", 10).has_value()) << "nothing new";
  u.eof("acme", "a", 11);
  auto end = u.advance("acme", 11);
  ASSERT_TRUE(end);
  EXPECT_EQ(end->watermark_ns, engine::end_of_time) << "b's end of input survived the restore";
  EXPECT_EQ(end->horizon_ns, 100 * s);
  EXPECT_FALSE(watermark::restore(u, snap.substr(0, snap.size() - 1))) << "truncated";
  EXPECT_FALSE(watermark::restore(u, "v1\ns acme a 1 1 2 0\n")) << "the old text format";
  EXPECT_FALSE(watermark::restore(u, "garbage"));
  EXPECT_EQ(u.watermark("acme"), engine::end_of_time) << "a failed restore changes nothing";
}

// The skew guard: one event stamped 2099 in a stream received today goes to the late output
// with reason "skew" and leaves the watermark alone, so the events after it are not late.
TEST(watermark_service, an_event_far_ahead_of_its_ingest_time_is_skewed_not_the_watermark) {
  const std::int64_t now = 1'765'000'000 * s; // Dec 2025
  auto at = [&](std::int64_t t) {
    auto r = record(R"({"event":{"category":"file"},"file":{"name":"x"}})", t);
    r.ingest_ns = now;
    return r;
  };
  wire::event_batch b{.customer = "acme", .source = "syslog", .events = {}};
  b.events.push_back(at(now - 40 * s));
  b.events.push_back(at(4'070'908'800 * s)); // 2099-01-01
  b.events.push_back(at(now - 30 * s));
  b.events.push_back(at(now + 299 * s)); // a clock a little fast: within max_future
  b.events.push_back(at(now - 20 * s));
  watermark::router_stage stage(
      test_rules(), 2, engine::watermark_tracker({.default_ns = 60 * s, .overrides = {}}, 3600 * s),
      {.default_ns = engine::default_max_future_ns, .overrides = {{"acme/fast", 1 * s}}});
  auto bytes = wire::encode(b);
  auto view = wire::decode_event_batch_view(bytes);
  ASSERT_TRUE(view);
  watermark::routed_output out;
  stage.add(*view, now, out);
  ASSERT_EQ(out.late.size(), 1u);
  EXPECT_EQ(out.late[0].reason, "skew");
  EXPECT_EQ(out.late[0].event_ns, 4'070'908'800 * s);
  EXPECT_EQ(out.skewed, 1u);
  EXPECT_EQ(out.items, 4u) << "the four others were routed, none late";
  EXPECT_EQ(stage.tracker().watermark("acme"), now + 299 * s - 60 * s);
  // A per-source max_future: "acme/fast" allows 1 s.
  wire::event_batch fast{.customer = "acme", .source = "fast", .events = {at(now + 2 * s)}};
  auto fast_bytes = wire::encode(fast);
  auto fast_view = wire::decode_event_batch_view(fast_bytes);
  ASSERT_TRUE(fast_view);
  watermark::routed_output out2;
  stage.add(*fast_view, now, out2);
  EXPECT_EQ(out2.skewed, 1u);
  // The late output round-trips with its reason; an older writer's (no reason) decodes as "".
  auto le = wire::decode_late_event(wire::encode(out.late[0]));
  ASSERT_TRUE(le);
  EXPECT_EQ(le->reason, "skew");
}

TEST(watermark_service, routes_by_join_key_with_markers_and_sends_late_events) {
  CW_REQUIRE_NATS_SERVER();
  fixture f;
  watermark::watermark_config cfg;
  cfg.partitions = 4;
  cfg.idle_timeout_ns = 3600 * s;
  cfg.fetch_timeout_ns = 100'000'000;
  ASSERT_TRUE(f.start(cfg, {.default_ns = 1 * s, .overrides = {}}));

  wire::event_batch b{.customer = "acme", .source = "ecs", .events = {}};
  b.events.push_back(record(
      R"({"event":{"category":"process"},"process":{"name":"a"},"host":{"id":"h1"}})", 100 * s));
  b.events.push_back(record(
      R"({"event":{"category":"network"},"destination":{"port":22},"host":{"id":"h2"}})", 101 * s));
  b.events.push_back(record(R"({"event":{"category":"file"},"file":{"name":"x"}})", 102 * s));
  b.events.push_back(record(R"({"event":{"category":"dns"}})", 103 * s));
  f.publish(wire::events_subject("acme", "ecs"), b, "ev.1");

  auto parts = f.collect("CW_PART", "", [](const auto& got) { return got.size() >= 4; });
  ASSERT_EQ(parts.size(), 4u); // one batch per partition: every one gets the marker
  std::size_t events = 0;
  std::set<std::string> keys;
  std::set<std::uint32_t> seen_partitions;
  for (auto& m : parts) {
    auto pb = wire::decode_partition_batch(m.data());
    ASSERT_TRUE(pb);
    EXPECT_EQ(m.subject(), wire::partition_subject(pb->partition));
    EXPECT_EQ(m.header("Nats-Msg-Id").value_or(""), "pt.1." + std::to_string(pb->partition));
    seen_partitions.insert(pb->partition);
    ASSERT_FALSE(pb->items.empty());
    // The marker comes last, after every event of the batch.
    auto* marker = std::get_if<wire::watermark_marker>(&pb->items.back());
    ASSERT_NE(marker, nullptr);
    EXPECT_EQ(marker->customer, "acme");
    EXPECT_EQ(marker->watermark_ns, 102 * s); // max 103 s - lateness 1 s
    for (std::size_t i = 0; i + 1 < pb->items.size(); ++i) {
      auto* e = std::get_if<wire::partition_event>(&pb->items[i]);
      ASSERT_NE(e, nullptr);
      ++events;
      keys.insert(e->key);
      EXPECT_EQ(e->customer, "acme");
      EXPECT_EQ(e->ingest_ns, 7);
      if (!e->key.empty()) {
        EXPECT_EQ(e->key_hash, wire::key_hash("acme", e->key));
      }
      EXPECT_EQ(wire::partition_of(e->key_hash, 4), pb->partition);
    }
  }
  EXPECT_EQ(seen_partitions.size(), 4u);
  EXPECT_EQ(events, 3u); // the dns event matches no step: dropped
  ASSERT_EQ(keys.size(), 3u);
  EXPECT_EQ(*keys.begin(), ""); // the event-query copy
  EXPECT_NE(std::next(keys.begin())->find("h1"), std::string::npos);
  EXPECT_NE(std::next(keys.begin(), 2)->find("h2"), std::string::npos);

  // Behind the watermark (102 s): to cw.late.acme, not to a partition.
  wire::event_batch late{.customer = "acme", .source = "ecs", .events = {}};
  late.events.push_back(record(
      R"({"event":{"category":"process"},"process":{"name":"a"},"host":{"id":"h1"}})", 50 * s));
  f.publish(wire::events_subject("acme", "ecs"), late, "ev.2");
  auto lates = f.collect("CW_LATE", "", [](const auto& got) { return !got.empty(); });
  ASSERT_EQ(lates.size(), 1u);
  EXPECT_EQ(lates[0].subject(), "cw.late.acme");
  auto le = wire::decode_late_event(lates[0].data());
  ASSERT_TRUE(le);
  EXPECT_EQ(le->event_ns, 50 * s);
  EXPECT_EQ(le->watermark_ns, 102 * s);
  EXPECT_EQ(le->customer, "acme");
  auto stored = f.client->stream_messages("CW_PART");
  ASSERT_TRUE(stored);
  EXPECT_EQ(*stored, 4u);
}

TEST(watermark_service, advances_on_idle_sources_and_to_infinity_at_eof) {
  CW_REQUIRE_NATS_SERVER();
  fixture f;
  watermark::watermark_config cfg;
  cfg.partitions = 2;
  cfg.idle_timeout_ns = 300'000'000;
  cfg.fetch_timeout_ns = 50'000'000;
  cfg.marker_interval_ns = 100'000'000;
  ASSERT_TRUE(f.start(cfg, {.default_ns = 0, .overrides = {}}));
  auto file_event = [](std::int64_t t) {
    return record(R"({"event":{"category":"file"},"file":{"name":"x"}})", t);
  };
  f.publish(wire::events_subject("acme", "b"),
            {.customer = "acme", .source = "b", .events = {file_event(100 * s)}}, "ev.1");
  f.publish(wire::events_subject("acme", "a"),
            {.customer = "acme", .source = "a", .events = {file_event(200 * s)}}, "ev.2");

  std::vector<wire::watermark_marker> last_markers;
  auto markers_in = [&](const std::vector<service::message>& got) {
    std::vector<std::int64_t> out;
    last_markers.clear();
    for (auto& m : got) {
      auto pb = wire::decode_partition_batch(m.data());
      EXPECT_TRUE(pb);
      if (!pb) continue;
      for (auto& item : pb->items)
        if (auto* mk = std::get_if<wire::watermark_marker>(&item)) {
          out.push_back(mk->watermark_ns);
          last_markers.push_back(*mk);
        }
    }
    return out;
  };
  // Both sources go idle after 300 ms: the watermark passes the highest event time.
  auto idle = f.collect("CW_PART", "cw.part.0", [&](const auto& got) {
    auto m = markers_in(got);
    return !m.empty() && m.back() > 200 * s;
  });
  auto m = markers_in(idle);
  ASSERT_FALSE(m.empty());
  EXPECT_GT(m.back(), 200 * s);
  EXPECT_LT(m.back(), 200 * s + 3600 * s);
  EXPECT_TRUE(std::is_sorted(m.begin(), m.end()));
  EXPECT_TRUE(last_markers.back().idle) << "the wall clock moved it: the marker says so";
  EXPECT_FALSE(last_markers.front().idle) << "the first marker came from the events";

  // EOF of both sources: +inf closes every window.
  f.publish(wire::events_subject("acme", "a") + ".eof",
            {.customer = "acme", .source = "a", .events = {}}, "ev.3");
  f.publish(wire::events_subject("acme", "b") + ".eof",
            {.customer = "acme", .source = "b", .events = {}}, "ev.4");
  auto eof = f.collect("CW_PART", "cw.part.1", [&](const auto& got) {
    auto mk = markers_in(got);
    return !mk.empty() && mk.back() == engine::end_of_time;
  });
  auto mk = markers_in(eof);
  ASSERT_FALSE(mk.empty());
  EXPECT_EQ(mk.back(), engine::end_of_time);
  EXPECT_EQ(last_markers.back().horizon_ns, 200 * s)
      << "input is complete up to the latest event: absences past it are undecided";
  EXPECT_FALSE(last_markers.back().idle);
}

// A round is every input of a fetch, one partition_batch per partition; a restarted service cuts
// the round it had begun (its extent is in KV) the same way again, so its outputs get the same
// msg ids and JetStream drops what the crashed one had stored.
TEST(watermark_service, a_fetch_is_one_round_and_a_begun_round_is_cut_again_after_a_restart) {
  CW_REQUIRE_NATS_SERVER();
  fixture f;
  auto cfg = round_config();
  ASSERT_TRUE(f.start(cfg, {.default_ns = 1 * s, .overrides = {}}));
  ASSERT_NO_FATAL_FAILURE(publish_inputs(f, 1, 3));
  // As if a service had begun the round of inputs 1 and 2 and crashed: its plan is in KV.
  {
    auto kv = f.client->key_value("cw_checkpoints", 1);
    ASSERT_TRUE(kv);
    service::blob_store store(**kv);
    ASSERT_TRUE(store.save("watermark.watermark.round", "1 2"));
  }
  f.svc = std::make_unique<watermark::watermark_service>(
      *f.client, f.metrics, cfg, test_rules(), engine::source_durations{1 * s, {}},
      engine::source_durations{engine::default_max_future_ns, {}});
  ASSERT_TRUE(f.svc->start().has_value());
  // Two rounds, each a batch for both partitions (the marker goes to every partition).
  auto parts = f.collect("CW_PART", "", [](const auto& got) { return got.size() >= 4; });
  EXPECT_EQ(msg_ids(parts),
            (std::multiset<std::string>{"pt.1-2.0", "pt.1-2.1", "pt.3.0", "pt.3.1"}));
  // Without a plan to honour, the inputs a fetch brings are one round.
  ASSERT_NO_FATAL_FAILURE(publish_inputs(f, 4, 6));
  parts = f.collect("CW_PART", "", [](const auto& got) { return got.size() >= 2; });
  EXPECT_EQ(msg_ids(parts), (std::multiset<std::string>{"pt.4-6.0", "pt.4-6.1"}));
}

// A round that cannot be published must not be acknowledged by a later one (AckAll): the
// service reads again from its first input and cuts the same round.
TEST(watermark_service, a_round_that_failed_to_publish_comes_again_before_later_inputs) {
  CW_REQUIRE_NATS_SERVER();
  fixture f;
  auto cfg = round_config();
  cfg.publish_retries = 0;
  cfg.publish_timeout_ns = 2 * s;
  ASSERT_TRUE(f.start(cfg, {.default_ns = 1 * s, .overrides = {}}));
  ASSERT_NO_FATAL_FAILURE(publish_inputs(f, 1, 2));
  ASSERT_TRUE(f.client->delete_stream("CW_PART")); // the round's publishes fail
  EXPECT_EQ(f.svc->run_once(), 2u);
  ASSERT_NO_FATAL_FAILURE(publish_inputs(f, 3, 3));
  ASSERT_TRUE(service::ensure_mesh_streams(*f.client));
  auto parts = f.collect("CW_PART", "", [](const auto& got) { return got.size() >= 4; });
  EXPECT_EQ(msg_ids(parts),
            (std::multiset<std::string>{"pt.1-2.0", "pt.1-2.1", "pt.3.0", "pt.3.1"}));
}
