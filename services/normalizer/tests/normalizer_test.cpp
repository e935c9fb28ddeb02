// The normalizer against a real nats-server: raw ECS lines in, event batches, dead letters and
// EOF markers out, inputs acknowledged.

#include "chainwatch/event/event.hpp"
#include "chainwatch/service/mesh.hpp"
#include "chainwatch/wire/subjects.hpp"
#include "nats_server.hpp"
#include "normalizer_service.hpp"

#include <algorithm>
#include <chrono>
#include <gtest/gtest.h>

using namespace chainwatch;
using namespace std::chrono_literals;

namespace {

const char* sources_dir = CHAINWATCH_SOURCE_DIR "/config/sources";

wire::raw_batch ecs_batch(std::vector<std::string> lines) {
  wire::raw_batch b{.customer = "acme",
                    .source_type = "ecs",
                    .ingest_ns = 42,
                    .records = {},
                    .origin = {},
                    .header = {}};
  for (auto& l : lines)
    b.records.push_back({std::move(l), std::nullopt, std::nullopt});
  return b;
}

normalizer::pipeline make_pipeline() {
  auto p = normalizer::pipeline::create(sources_dir, {});
  EXPECT_TRUE(p) << (p ? "" : p.error());
  return std::move(*p);
}

// A real nats-server and a client connected to it.
struct nats_env {
  std::unique_ptr<test_support::nats_server> server;
  std::unique_ptr<service::nats_client> client;
};

void start_nats(nats_env& env) {
  auto server = test_support::nats_server::start();
  ASSERT_TRUE(server) << server.error();
  env.server = std::move(*server);
  service::nats_options opts;
  opts.url = env.server->url();
  auto client = service::nats_client::connect(opts);
  ASSERT_TRUE(client);
  env.client = std::move(*client);
}

// Fetches from a fresh durable until `want` messages arrived or the deadline passed.
std::vector<service::message> collect(service::nats_client& c, const std::string& stream,
                                      const std::string& filter, std::size_t want,
                                      const std::function<void()>& pump) {
  auto consumer = c.pull({.stream = stream, .durable = "test-" + stream, .filter_subject = filter});
  EXPECT_TRUE(consumer);
  std::vector<service::message> out;
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (out.size() < want && std::chrono::steady_clock::now() < deadline) {
    if (pump) pump();
    auto got = (*consumer)->fetch(static_cast<int>(want - out.size()), 200);
    if (!got) continue;
    for (auto& m : *got) {
      m.ack();
      out.push_back(std::move(m));
    }
  }
  return out;
}

// The pipeline's encoded batches, decoded (a batch that does not decode fails the test).
std::vector<wire::event_batch> decoded(const normalizer::pipeline_output& out) {
  std::vector<wire::event_batch> batches;
  for (const auto& m : out.batches) {
    auto b = wire::decode_event_batch(m);
    EXPECT_TRUE(b) << wire::to_string(b.error());
    if (b) batches.push_back(std::move(*b));
  }
  return batches;
}

} // namespace

TEST(normalizer_pipeline, ecs_lines_become_events_and_bad_lines_dead_letters) {
  auto p = make_pipeline();
  auto out = p.process(ecs_batch({R"({"@timestamp":"2024-01-02T03:04:05Z","host":{"id":"h1"}})",
                                  R"({"@timestamp":1704164645000,"host.id":"h2"})", "{not json",
                                  R"({"host":{"id":"h3"}})"}),
                       7);
  auto batches = decoded(out);
  ASSERT_EQ(batches.size(), 1u);
  ASSERT_EQ(batches[0].events.size(), 2u);
  EXPECT_EQ(batches[0].events[0].event_ns, 1704164645'000'000'000);
  EXPECT_EQ(batches[0].events[1].event_ns, 1704164645'000'000'000);
  EXPECT_EQ(batches[0].events[0].ingest_ns, 42);
  auto ev = event::from_msgpack(batches[0].events[0].event);
  ASSERT_TRUE(ev);
  EXPECT_EQ(event::to_json(*ev), R"({"@timestamp":"2024-01-02T03:04:05Z","host":{"id":"h1"}})");
  ASSERT_EQ(out.dead_letters.size(), 2u);
  EXPECT_EQ(out.dead_letters[0].reason, "json_syntax");
  EXPECT_EQ(out.dead_letters[0].raw, "{not json");
  EXPECT_EQ(out.dead_letters[0].stage, "normalizer");
  EXPECT_EQ(out.dead_letters[1].reason, "no_timestamp");
}

TEST(normalizer_pipeline, splits_large_batches_and_rejects_unknown_sources) {
  auto p = normalizer::pipeline::create(sources_dir, {.max_events = 2});
  ASSERT_TRUE(p);
  std::vector<std::string> lines(5, R"({"@timestamp":"2024-01-02T03:04:05Z"})");
  auto out = p->process(ecs_batch(lines), 0);
  auto batches = decoded(out);
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[0].events.size(), 2u);
  EXPECT_EQ(batches[2].events.size(), 1u);
  EXPECT_EQ(out.events, 5u);
  auto bad = ecs_batch({"x"});
  bad.source_type = "no_such_source";
  auto rejected = p->process(bad, 0);
  ASSERT_EQ(rejected.dead_letters.size(), 1u);
  EXPECT_EQ(rejected.dead_letters[0].reason, "unknown_source");
  EXPECT_EQ(normalizer::pipeline::source_token("zeek.dns"), "zeek_dns");
}

// With rules, each event carries what engine::router finds for it and the rules' fingerprint,
// so the watermark service need not decode it; without, nothing (it routes itself).
TEST(normalizer_pipeline, routes_each_event_with_the_rules_it_was_given) {
  engine::options eo;
  auto rules = engine::ruleset::compile({{"seq", "a then ssh", R"(sequence by host.id
          [process where process.name == "a"]
          [network where destination.port == 22])"},
                                         {"file", "file x", R"(file where file.name == "x")"}},
                                        eo);
  ASSERT_TRUE(rules);
  const std::vector<std::string> lines = {
      R"({"@timestamp":1,"event":{"category":"process"},"process":{"name":"a"},"host":{"id":"h1"}})",
      R"({"@timestamp":2,"event":{"category":"file"},"file":{"name":"x"}})",
      R"({"@timestamp":3,"event":{"category":"dns"},"host":{"id":"h1"}})"};
  auto p = normalizer::pipeline::create(sources_dir, {.rules = *rules});
  ASSERT_TRUE(p);
  auto out = p->process(ecs_batch(lines), 0);
  auto batches = decoded(out);
  ASSERT_EQ(batches.size(), 1u);
  const auto& ev = batches[0].events;
  ASSERT_EQ(ev.size(), 3u);
  engine::router router(*rules);
  for (std::size_t i = 0; i < ev.size(); ++i) {
    EXPECT_EQ(ev[i].rules, (*rules)->fingerprint());
    router.route(*event::from_msgpack(ev[i].event));
    ASSERT_EQ(ev[i].routes.size(), router.entries().size()) << i;
    for (std::size_t k = 0; k < ev[i].routes.size(); ++k) {
      EXPECT_EQ(ev[i].routes[k].key, router.entries()[k].key);
      EXPECT_TRUE(std::ranges::equal(ev[i].routes[k].hits, router.entries()[k].hits));
    }
    EXPECT_EQ(ev[i].event_rules, !router.event_rules().empty()) << i;
  }
  EXPECT_EQ(ev[0].routes.size(), 1u);
  EXPECT_TRUE(ev[1].event_rules);
  EXPECT_TRUE(ev[2].routes.empty());
  EXPECT_FALSE(ev[2].event_rules);

  auto plain = make_pipeline().process(ecs_batch(lines), 0);
  auto plain_batches = decoded(plain); // a local: the loop below views into it
  ASSERT_EQ(plain_batches.size(), 1u);
  for (const auto& e : plain_batches[0].events) {
    EXPECT_EQ(e.rules, 0u);
    EXPECT_TRUE(e.routes.empty());
  }
}

TEST(normalizer_service, publishes_events_dead_letters_and_eof_then_acks) {
  CW_REQUIRE_NATS_SERVER();
  nats_env env;
  ASSERT_NO_FATAL_FAILURE(start_nats(env));
  auto& c = *env.client;
  service::metrics m("normalizer");
  normalizer::normalizer_config cfg;
  cfg.fetch_timeout_ns = 100'000'000;
  normalizer::normalizer_service svc(c, m, cfg, make_pipeline());
  ASSERT_TRUE(svc.start());

  auto batch = ecs_batch({R"({"@timestamp":"2024-01-02T03:04:05Z","host":{"id":"h1"}})",
                          R"({"@timestamp":"2024-01-02T03:04:06.5Z","host":{"id":"h2"}})",
                          "{broken", R"({"@timestamp":"2024-01-02T03:04:07Z"})"});
  ASSERT_TRUE(c.js_publish(wire::ingest_subject("acme", "ecs"), wire::encode(batch), "in.1"));
  auto eof = ecs_batch({});
  ASSERT_TRUE(
      c.js_publish(wire::ingest_subject("acme", "ecs") + ".eof", wire::encode(eof), "in.2"));
  // Garbage on the ingest subject: a dead letter with the whole message.
  ASSERT_TRUE(c.js_publish(wire::ingest_subject("acme", "ecs"), "garbage", "in.3"));

  auto pump = [&] { svc.run_once(); };
  auto events = collect(c, "CW_EVENTS", "", 2, pump);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].subject(), "cw.events.acme.ecs");
  auto decoded = wire::decode_event_batch(events[0].data());
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->customer, "acme");
  EXPECT_EQ(decoded->source, "ecs");
  ASSERT_EQ(decoded->events.size(), 3u);
  EXPECT_EQ(decoded->events[1].event_ns, 1704164646'500'000'000);
  EXPECT_EQ(events[0].header("Nats-Msg-Id").value_or(""), "ev.1");
  EXPECT_EQ(events[1].subject(), "cw.events.acme.ecs.eof");
  auto marker = wire::decode_event_batch(events[1].data());
  ASSERT_TRUE(marker);
  EXPECT_TRUE(marker->events.empty());

  auto dead = collect(c, "CW_DLQ", "", 2, pump);
  ASSERT_EQ(dead.size(), 2u);
  std::vector<std::string> reasons;
  for (auto& d : dead) {
    EXPECT_EQ(d.subject(), "cw.dlq.acme");
    auto letter = wire::decode_dead_letter(d.data());
    ASSERT_TRUE(letter);
    EXPECT_EQ(letter->stage, "normalizer");
    reasons.push_back(letter->reason);
    if (letter->reason == "json_syntax")
      EXPECT_EQ(letter->raw, "{broken");
    else
      EXPECT_EQ(letter->raw, "garbage");
  }
  ASSERT_EQ(reasons.size(), 2u);
  EXPECT_EQ(reasons[0], "json_syntax");

  // Everything was handled: nothing more to fetch.
  EXPECT_EQ(svc.run_once(), 0u);
}

// Under load (full fetches) a round's inputs stay unacked while the next round is normalized,
// and are acked once their outputs are stored, before the next round publishes: outputs keep
// the input order. A partial fetch, and stopping, settle the round at once.
TEST(normalizer_service, overlaps_storing_a_round_with_normalizing_the_next) {
  CW_REQUIRE_NATS_SERVER();
  nats_env env;
  ASSERT_NO_FATAL_FAILURE(start_nats(env));
  auto& c = *env.client;
  service::metrics m("normalizer");
  normalizer::normalizer_config cfg;
  cfg.fetch_timeout_ns = 100'000'000;
  cfg.fetch_batch = 2;
  normalizer::normalizer_service svc(c, m, cfg, make_pipeline());
  ASSERT_TRUE(svc.start());
  auto publish = [&](int i) {
    auto line = R"({"@timestamp":)" + std::to_string(i) + "}";
    ASSERT_TRUE(c.js_publish(wire::ingest_subject("acme", "ecs"), wire::encode(ecs_batch({line})),
                             "in." + std::to_string(i)));
  };
  // Acks are asynchronous: the count the server reports once it processed them.
  auto pending = [&](std::int64_t want) {
    std::int64_t n = -1;
    for (auto deadline = std::chrono::steady_clock::now() + 10s;
         n != want && std::chrono::steady_clock::now() < deadline;)
      if (auto r = c.ack_pending("CW_INGEST", cfg.durable)) n = *r;
    return n;
  };
  for (int i = 1; i <= 5; ++i)
    publish(i);
  EXPECT_EQ(svc.run_once(), 2u);
  EXPECT_EQ(svc.in_flight(), 2u);
  EXPECT_EQ(pending(2), 2);
  EXPECT_EQ(svc.run_once(), 2u);
  EXPECT_EQ(svc.in_flight(), 2u);
  EXPECT_EQ(pending(2), 2); // the first round acked, the second in flight
  EXPECT_EQ(svc.run_once(), 1u);
  EXPECT_EQ(svc.in_flight(), 0u); // a partial fetch: settled at once
  EXPECT_EQ(pending(0), 0);
  for (int i = 6; i <= 7; ++i)
    publish(i);
  EXPECT_EQ(svc.run_once(), 2u);
  EXPECT_EQ(svc.in_flight(), 2u);
  svc.settle(); // as run_until does when stopped
  EXPECT_EQ(svc.in_flight(), 0u);
  EXPECT_EQ(pending(0), 0);

  auto events = collect(c, "CW_EVENTS", "", 7, nullptr);
  ASSERT_EQ(events.size(), 7u);
  for (std::size_t i = 0; i < events.size(); ++i) {
    auto b = wire::decode_event_batch(events[i].data());
    ASSERT_TRUE(b);
    ASSERT_EQ(b->events.size(), 1u);
    EXPECT_EQ(b->events[0].event_ns, static_cast<std::int64_t>(i + 1) * 1'000'000'000) << i;
  }
}

TEST(normalizer_pipeline, zeek_json_and_tsv_lines_through_the_mapping_tables) {
  auto p = make_pipeline();
  wire::raw_batch b{.customer = "acme",
                    .source_type = "zeek.conn",
                    .ingest_ns = 1,
                    .records = {},
                    .origin = {},
                    .header = {}};
  b.records.push_back(
      {R"({"ts":1547188415.857497,"uid":"C1","id.orig_h":"10.0.0.1","id.orig_p":1,"id.resp_h":"10.0.0.2","id.resp_p":22,"proto":"tcp"})",
       std::nullopt, std::nullopt});
  auto out = p.process(b, 0);
  ASSERT_TRUE(out.dead_letters.empty())
      << out.dead_letters[0].reason << ": " << out.dead_letters[0].detail;
  auto batches = decoded(out);
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(out.source_token, "zeek_conn");
  EXPECT_EQ(batches[0].customer, "acme");
  EXPECT_EQ(batches[0].source, "zeek.conn");
  ASSERT_EQ(batches[0].events.size(), 1u);
  EXPECT_EQ(batches[0].events[0].event_ns / 1'000'000, 1547188415857);

  // TSV: the header lines of the batch apply to the data lines after them.
  wire::raw_batch tsv{.customer = "acme",
                      .source_type = "zeek_dns",
                      .ingest_ns = 1,
                      .records = {},
                      .origin = {},
                      .header = {}};
  for (const char* line :
       {"#separator \\x09", "#set_separator\t,", "#empty_field\t(empty)", "#unset_field\t-",
        "#path\tdns", "#fields\tts\tuid\tid.orig_h\tid.orig_p\tquery",
        "#types\ttime\tstring\taddr\tport\tstring", "1547188416.5\tC2\t10.0.0.1\t53\texample.com"})
    tsv.records.push_back({line, std::nullopt, std::nullopt});
  auto tsv_out = p.process(tsv, 0);
  ASSERT_TRUE(tsv_out.dead_letters.empty()) << tsv_out.dead_letters[0].detail;
  auto tsv_batches = decoded(tsv_out);
  ASSERT_EQ(tsv_batches.size(), 1u);
  ASSERT_EQ(tsv_batches[0].events.size(), 1u);
  EXPECT_EQ(tsv_batches[0].events[0].event_ns, 1547188416'500'000'000);
  EXPECT_EQ(tsv_out.source_token, "zeek_dns");
}

// A batch carries the header of its file (a TSV file longer than one batch keeps its #fields on
// every replica) and its origin (the file name, a Zeek log's type); year-less syslog dates take
// the batch's ingest time as their year's reference.
TEST(normalizer_pipeline, a_batch_brings_its_file_header_origin_and_ingest_year) {
  auto p = make_pipeline();
  wire::raw_batch tsv{.customer = "acme",
                      .source_type = "zeek",
                      .ingest_ns = 1,
                      .records = {},
                      .origin = {},
                      .header = {}};
  tsv.origin = "ssh.log";
  tsv.header = {"#separator \\x09", "#fields\tts\tuid\tid.orig_h\tid.orig_p\tauth_success",
                "#types\ttime\tstring\taddr\tport\tbool"};
  tsv.records.push_back({"1521911958.864751\tC3\t10.128.0.233\t36040\tF", std::nullopt, 7});
  auto out = p.process(tsv, 0);
  ASSERT_TRUE(out.dead_letters.empty()) << out.dead_letters[0].detail;
  auto batches = decoded(out);
  ASSERT_EQ(batches.size(), 1u);
  ASSERT_EQ(batches[0].events.size(), 1u);
  auto ev = event::from_msgpack(batches[0].events[0].event);
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->get(event::field_path{"event.outcome"}).as_string(), "failure")
      << "the ssh mapping ran: the type came with the batch";
  // Without the header, the same line is a dead letter (no #fields), as before.
  tsv.header.clear();
  EXPECT_EQ(p.process(tsv, 0).dead_letters.size(), 1u);

  // RFC 3164 without a year, received on 2027-01-01: a Dec 31 line is of 2026.
  wire::raw_batch sys{.customer = "acme",
                      .source_type = "syslog",
                      .ingest_ns = 1'798'761'600'000'000'000, // 2027-01-01T00:00:00Z
                      .records = {},
                      .origin = {},
                      .header = {}};
  sys.records.push_back(
      {"<34>Dec 31 23:59:58 host sshd[1]: Failed password for root from 10.0.0.5 port 22 ssh2",
       std::nullopt, std::nullopt});
  auto sys_out = p.process(sys, 0);
  ASSERT_TRUE(sys_out.dead_letters.empty()) << sys_out.dead_letters[0].detail;
  auto sys_batches = decoded(sys_out);
  ASSERT_EQ(sys_batches.size(), 1u);
  ASSERT_EQ(sys_batches[0].events.size(), 1u);
  EXPECT_EQ(sys_batches[0].events[0].event_ns, 1'798'761'598'000'000'000) << "2026-12-31T23:59:58Z";
  EXPECT_EQ(sys_batches[0].events[0].ingest_ns, sys.ingest_ns);
}
