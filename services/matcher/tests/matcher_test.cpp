// The matcher against a real nats-server: partition batches in, matches out on cw.match, equal
// to the in-process engine (what `chainwatch hunt` runs) over the same events and watermarks.

#include "matcher_service.hpp"
#include "nats_server.hpp"

#include <algorithm>
#include <chainwatch/base/time.hpp>
#include <chainwatch/event/event.hpp>
#include <chainwatch/wire/partition.hpp>
#include <chainwatch/wire/subjects.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <gtest/gtest.h>
#include <thread>
#include <tuple>

namespace {

using namespace chainwatch;
using test_support::nats_server;
namespace fs = std::filesystem;

/// Polls `cond` until true or `seconds` pass.
bool eventually(const std::function<bool()>& cond, int seconds = 60) {
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return cond();
}

/// One event as the watermark service would send it: time, ECS event.
struct timed_event {
  std::int64_t ts;
  event::event_ptr ev;
};

event::event_ptr parse(std::string_view json) {
  event::json_decoder dec;
  auto ev = dec.decode(json);
  EXPECT_TRUE(ev.has_value()) << json;
  return std::make_shared<const event::event>(std::move(*ev));
}

std::int64_t timestamp(const event::event& ev) {
  auto v = ev.get(event::field_path{"@timestamp"});
  return time::parse_iso8601(v.as_string()).value_or(0);
}

/// A comparable summary of a match: rule, key, first and last event time, and the msgpack of its
/// events (the evidence bytes, which the matcher may forward without decoding them).
using summary = std::tuple<std::string, std::string, std::int64_t, std::int64_t, std::string>;

/// Writes `dir`/rules/seq.toml (rule seq-1: an authentication, then a process event, by
/// user.name) and an empty `dir`/lists.
void write_seq_rule(const fs::path& dir) {
  fs::create_directories(dir / "rules");
  fs::create_directories(dir / "lists");
  std::ofstream(dir / "rules" / "seq.toml") << R"([rule]
rule_id = "seq-1"
name = "auth then process"
severity = "high"
risk_score = 73
language = "eql"
type = "eql"
query = '''
sequence by user.name [authentication where true] [process where true]
'''
)";
}

class matcher_test : public ::testing::Test {
protected:
  void SetUp() override {
    CW_REQUIRE_NATS_SERVER();
    auto s = nats_server::start();
    ASSERT_TRUE(s.has_value()) << s.error();
    server_ = std::move(*s);
    service::nats_options opts;
    opts.url = server_->url();
    opts.name = "matcher-test";
    auto c = service::nats_client::connect(opts);
    ASSERT_TRUE(c.has_value()) << service::to_string(c.error());
    client_ = std::move(*c);
  }
  void TearDown() override {
    svc_.reset();
    client_.reset();
    server_.reset();
  }

  void start(const std::string& rules, const std::string& lists, std::int64_t partitions,
             const std::function<void(matcher::matcher_config&)>& tweak = {}) {
    matcher::catalog_options co;
    co.rule_paths = {rules};
    co.list_dirs = {lists};
    auto cat = matcher::load_catalog(co);
    ASSERT_TRUE(cat.has_value()) << cat.error();
    catalog_ = std::make_shared<const matcher::rule_catalog>(std::move(*cat));
    matcher::matcher_config cfg;
    cfg.partitions = partitions;
    cfg.fetch_timeout_ns = 100'000'000;
    if (tweak) tweak(cfg);
    svc_ = std::make_unique<matcher::matcher_service>(*client_, metrics_, cfg, catalog_);
    auto r = svc_->start();
    ASSERT_TRUE(r.has_value()) << service::to_string(r.error());
  }

  /// Publishes one partition_batch per partition holding `items`' share, in order.
  void publish(std::vector<std::vector<wire::partition_item>>& per_partition) {
    for (std::uint32_t p = 0; p < per_partition.size(); ++p) {
      if (per_partition[p].empty()) continue;
      wire::partition_batch b{p, std::move(per_partition[p])};
      per_partition[p].clear();
      auto r = client_->js_publish(wire::partition_subject(p), wire::encode(b),
                                   "pt." + std::to_string(++published_) + "." + std::to_string(p));
      ASSERT_TRUE(r.has_value()) << service::to_string(r.error());
      ++messages_;
    }
  }

  /// Adds one event as the watermark service would: once per join key with its hits, once with
  /// an empty key if it matches event-query rules. Every other keyed item goes without hits (as
  /// from a producer with other rules), so both of the matcher's paths are taken.
  void add_event(engine::router& rt, const timed_event& te, const std::string& customer,
                 std::vector<std::vector<wire::partition_item>>& out) {
    rt.route(*te.ev);
    std::string blob;
    event::append_msgpack(blob, *te.ev);
    auto add = [&](std::string key, std::span<const engine::step_id> hits) {
      auto h = wire::key_hash(customer, key);
      auto p = wire::partition_of(h, static_cast<std::uint32_t>(out.size()));
      bool send_hits = !hits.empty() && (keyed_items_++ % 2 == 0);
      out[p].push_back(
          wire::partition_event{customer, h, std::move(key), te.ts, te.ts, blob,
                                send_hits ? rt.rules()->fingerprint() : 0,
                                send_hits ? std::vector<std::uint32_t>(hits.begin(), hits.end())
                                          : std::vector<std::uint32_t>{}});
    };
    for (const auto& e : rt.entries())
      add(std::string(e.key), e.hits);
    if (!rt.event_rules().empty()) add("", {});
  }
  std::uint64_t keyed_items_ = 0;

  void add_marker(const std::string& customer, std::int64_t wm,
                  std::vector<std::vector<wire::partition_item>>& out, std::int64_t wall_ns = 0) {
    for (auto& items : out)
      items.push_back(wire::watermark_marker{customer, wm, wall_ns});
  }

  /// Pulls match batches of `customer` until `count` matches arrived (or a deadline).
  std::vector<wire::match> receive(const std::string& customer, std::size_t count) {
    if (!matches_in_) {
      auto c = client_->pull({.stream = "CW_MATCH",
                              .durable = "test-" + customer,
                              .filter_subject = wire::match_subject(customer)});
      EXPECT_TRUE(c.has_value());
      if (!c) return {};
      matches_in_ = std::move(*c);
    }
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (received_.size() < count && std::chrono::steady_clock::now() < end) {
      auto batch = matches_in_->fetch(16, 500);
      if (!batch) continue;
      for (auto& msg : *batch) {
        auto mb = wire::decode_match_batch(msg.data());
        EXPECT_TRUE(mb.has_value());
        if (mb) received_.insert(received_.end(), mb->matches.begin(), mb->matches.end());
        msg.ack();
      }
    }
    return received_;
  }

  /// After every published message was processed, no further match arrives.
  void expect_no_more() {
    ASSERT_TRUE(eventually([&] { return svc_->probe().messages_in.Value() == messages_; }));
    auto batch = matches_in_->fetch(16, 1000);
    ASSERT_TRUE(batch.has_value());
    EXPECT_TRUE(batch->empty()) << batch->size() << " unexpected match batches";
  }

  std::unique_ptr<nats_server> server_;
  std::unique_ptr<service::nats_client> client_;
  service::metrics metrics_{"matcher"};
  std::shared_ptr<const matcher::rule_catalog> catalog_;
  std::unique_ptr<matcher::matcher_service> svc_;
  std::unique_ptr<service::pull_consumer> matches_in_;
  std::vector<wire::match> received_;
  std::uint64_t published_ = 0;
  double messages_ = 0;
};

TEST_F(matcher_test, demo_matches_equal_the_engine) {
  const std::string src = CHAINWATCH_SOURCE_DIR;
  ASSERT_NO_FATAL_FAILURE(start(src + "/config/rules", src + "/config/lists", 4));

  std::vector<timed_event> events;
  std::ifstream in(src + "/tests/data/demo.ndjson");
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) {
      auto ev = parse(line);
      events.push_back({timestamp(*ev), ev});
    }
  ASSERT_GT(events.size(), 100u);
  // Out of order by a few seconds: every block of 8 reversed (as tests/cli/hunt_demo_test.sh).
  std::vector<timed_event> shuffled = events;
  for (std::size_t i = 0; i + 8 <= shuffled.size(); i += 8)
    std::reverse(shuffled.begin() + static_cast<std::ptrdiff_t>(i),
                 shuffled.begin() + static_cast<std::ptrdiff_t>(i + 8));

  engine::router rt(catalog_->compiled);
  std::vector<std::vector<wire::partition_item>> out(4);
  // The reference: the in-process engine (hunt's driver) with hunt's watermark policy (advance
  // in steps of at least 1 s to newest - lateness; finish at the end), fed the same events.
  auto feed = [&](const std::string& customer, const std::vector<timed_event>& input,
                  std::int64_t lateness) {
    std::vector<summary> expected;
    engine::engine eng(catalog_->compiled, [&](engine::match&& m) {
      std::string evidence;
      for (const auto& ev : m.events)
        event::append_msgpack(evidence, *ev);
      expected.emplace_back(catalog_->compiled->source(m.rule).id, m.key, m.first_ns, m.last_ns,
                            std::move(evidence));
    });
    std::int64_t max_ts = INT64_MIN, wm = INT64_MIN;
    for (std::size_t i = 0; i < input.size(); ++i) {
      const auto& te = input[i];
      if (eng.push(te.ev, te.ts) == engine::push_result::late) continue; // hunt skips it too
      add_event(rt, te, customer, out);
      if (te.ts > max_ts) {
        max_ts = te.ts;
        if (max_ts - lateness >= wm + time::ns_per_s) {
          wm = max_ts - lateness;
          eng.advance(wm);
          add_marker(customer, wm, out);
        }
      }
      if (i % 37 == 36) publish(out);
    }
    eng.finish();
    add_marker(customer, engine::no_deadline, out); // end of input
    publish(out);
    std::sort(expected.begin(), expected.end());
    return expected;
  };
  auto expected_acme = feed("acme", events, 5 * time::ns_per_s);
  auto expected_beta = feed("beta", shuffled, 300 * time::ns_per_s); // hunt's default 5m
  ASSERT_EQ(expected_acme.size(), 4u) << "the demo has four detections";
  ASSERT_EQ(expected_beta, expected_acme);

  for (const auto& [customer, expected] : {std::pair{std::string("acme"), expected_acme},
                                           std::pair{std::string("beta"), expected_beta}}) {
    matches_in_.reset();
    received_.clear();
    auto got = receive(customer, expected.size());
    std::vector<summary> actual;
    for (const auto& m : got) {
      std::string evidence;
      for (const auto& blob : m.events)
        evidence += blob;
      actual.emplace_back(m.rule_id, m.key, m.first_ns, m.last_ns, std::move(evidence));
    }
    std::sort(actual.begin(), actual.end());
    EXPECT_EQ(actual, expected) << customer;
    for (const auto& m : got)
      for (const auto& blob : m.events)
        EXPECT_TRUE(event::from_msgpack(blob).has_value());
    expect_no_more();
  }
  EXPECT_EQ(svc_->probe().matches_out.Value(), 8); // four per customer
  EXPECT_EQ(svc_->probe().late_events.Value(), 0);
}

TEST_F(matcher_test, markers_decide_keys_in_event_time) {
  auto dir = fs::temp_directory_path() / ("cw-matcher-test-" + std::to_string(::getpid()));
  write_seq_rule(dir);
  ASSERT_NO_FATAL_FAILURE(start((dir / "rules").string(), (dir / "lists").string(), 1));
  engine::router rt(catalog_->compiled);
  std::vector<std::vector<wire::partition_item>> out(1);
  auto ev = [](const char* user, const char* cat, int s) {
    return timed_event{s * time::ns_per_s,
                       parse(std::string("{\"@timestamp\":\"x\",\"event\":{\"category\":[\"") +
                             cat + "\"]},\"user\":{\"name\":\"" + user + "\"}}")};
  };
  add_event(rt, ev("alice", "authentication", 1000), "acme", out);
  add_event(rt, ev("bob", "authentication", 2000), "acme", out);
  add_marker("acme", 1500 * time::ns_per_s, out);
  ASSERT_NO_FATAL_FAILURE(publish(out));
  auto& probe = svc_->probe();
  ASSERT_TRUE(eventually([&] { return probe.messages_in.Value() == messages_; }));
  EXPECT_EQ(probe.markers_in.Value(), 1);
  EXPECT_EQ(probe.events_in.Value(), 2);
  EXPECT_EQ(probe.matches_out.Value(), 0);

  add_marker("acme", 2500 * time::ns_per_s, out);
  ASSERT_NO_FATAL_FAILURE(publish(out));
  ASSERT_TRUE(eventually([&] { return probe.messages_in.Value() == messages_; }));
  EXPECT_EQ(probe.matches_out.Value(), 0) << "alice waits for a process event";

  // Each marker carries when the watermark service emitted it; a match carries its releaser's.
  const std::int64_t emitted_2600 = 1'795'000'000'000'002'600, emitted_3500 = emitted_2600 + 900;
  add_marker("acme", 2600 * time::ns_per_s, out, emitted_2600); // nobody is due
  add_event(rt, ev("alice", "process", 3000), "acme", out);
  add_marker("acme", 3500 * time::ns_per_s, out, emitted_3500);
  ASSERT_NO_FATAL_FAILURE(publish(out));
  ASSERT_TRUE(eventually([&] { return probe.messages_in.Value() == messages_; }));
  auto got = receive("acme", 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].rule_id, "seq-1");
  EXPECT_EQ(got[0].first_ns, 1000 * time::ns_per_s);
  EXPECT_EQ(got[0].last_ns, 3000 * time::ns_per_s);
  EXPECT_EQ(got[0].watermark_ns, 3500 * time::ns_per_s);
  EXPECT_EQ(got[0].watermark_wall_ns, emitted_3500);
  EXPECT_EQ(got[0].events.size(), 2u);

  // A late event (behind 3500 s) goes to cw.late, not to a key.
  add_event(rt, ev("carol", "authentication", 10), "acme", out);
  ASSERT_NO_FATAL_FAILURE(publish(out));
  ASSERT_TRUE(eventually([&] { return probe.late_events.Value() == 1; }));
  ASSERT_TRUE(eventually([&] {
    auto n = client_->stream_messages("CW_LATE");
    return n && *n == 1;
  }));
  fs::remove_all(dir);
}

// A trailing missing step is decided by what the marker rests on: a window closed by a watermark
// the wall clock moved (idle sources) gives a match that says so; at the end of input, a window
// still open past the latest event time (the marker's horizon) is undecided, not a match.
TEST_F(matcher_test, idle_markers_mark_their_matches_and_the_end_of_input_leaves_open_windows) {
  auto dir = fs::temp_directory_path() / ("cw-matcher-absence-" + std::to_string(::getpid()));
  fs::create_directories(dir / "rules");
  fs::create_directories(dir / "lists");
  std::ofstream(dir / "rules" / "absence.toml") << R"([rule]
rule_id = "absence-1"
name = "authentication without a process within 5 minutes"
severity = "low"
risk_score = 21
language = "eql"
type = "eql"
query = '''
sequence by user.name with maxspan=5m [authentication where true] ![process where true]
'''
)";
  std::ofstream(dir / "rules" / "chain.toml") << R"([rule]
rule_id = "chain-1"
name = "a file then a network event"
severity = "low"
risk_score = 21
language = "eql"
type = "eql"
query = '''
sequence by user.name with maxspan=5m [file where true] [network where true]
'''
)";
  ASSERT_NO_FATAL_FAILURE(start((dir / "rules").string(), (dir / "lists").string(), 1));
  engine::router rt(catalog_->compiled);
  std::vector<std::vector<wire::partition_item>> out(1);
  auto auth = [](const char* user, int s) {
    return timed_event{s * time::ns_per_s,
                       parse(std::string(R"({"event":{"category":["authentication"]},)") +
                             R"("user":{"name":")" + user + R"("}})")};
  };
  add_event(rt, auth("alice", 1000), "acme", out);
  add_event(rt, auth("bob", 2000), "acme", out);
  add_event(
      rt,
      {1000 * time::ns_per_s, parse(R"({"event":{"category":["file"]},"user":{"name":"dave"}})")},
      "acme", out);
  add_event(rt,
            {1001 * time::ns_per_s,
             parse(R"({"event":{"category":["network"]},"user":{"name":"dave"}})")},
            "acme", out);
  // The sources went quiet: the wall clock moves the watermark past alice's window (1300 s).
  for (auto& items : out)
    items.push_back(wire::watermark_marker{
        .customer = "acme", .watermark_ns = 1400 * time::ns_per_s, .wall_ns = 1, .idle = true});
  // Every source ended at 2000 s: bob's window (to 2300 s) never closed in event time.
  for (auto& items : out)
    items.push_back(wire::watermark_marker{.customer = "acme",
                                           .watermark_ns = engine::no_deadline,
                                           .wall_ns = 2,
                                           .idle = false,
                                           .horizon_ns = 2000 * time::ns_per_s});
  ASSERT_NO_FATAL_FAILURE(publish(out));
  auto got = receive("acme", 2);
  ASSERT_EQ(got.size(), 2u);
  std::sort(got.begin(), got.end(), [](auto& a, auto& b) { return a.rule_id < b.rule_id; });
  EXPECT_EQ(got[0].rule_id, "absence-1");
  EXPECT_EQ(got[0].key, R"(["alice"])");
  EXPECT_TRUE(got[0].decided_by_idle) << "an absence the wall clock decided";
  EXPECT_EQ(got[1].rule_id, "chain-1");
  EXPECT_FALSE(got[1].decided_by_idle) << "a chain of events is evidence, whatever released it";
  auto& probe = svc_->probe();
  ASSERT_TRUE(eventually([&] { return probe.undecided.Value() == 1; }));
  ASSERT_NO_FATAL_FAILURE(expect_no_more());
  fs::remove_all(dir);
}

// A server that stops answering (SIGSTOP) stalls the heartbeat: the workers stop using their
// leases before these can expire (fenced), and once the server answers again the node takes the
// leases back and resumes each partition from its checkpoint, state intact.
TEST_F(matcher_test, a_stalled_server_fences_the_workers_which_resume_from_the_checkpoint) {
  auto dir = fs::temp_directory_path() / ("cw-matcher-fence-" + std::to_string(::getpid()));
  write_seq_rule(dir);
  ASSERT_NO_FATAL_FAILURE(
      start((dir / "rules").string(), (dir / "lists").string(), 2, [](matcher::matcher_config& c) {
        c.lease_ns = 900'000'000; // workers use it for 600 ms
        c.checkpoint_interval_ns = 100'000'000;
      }));
  auto& probe = svc_->probe();
  ASSERT_TRUE(eventually([&] { return probe.partitions_owned.Value() == 2; }));
  engine::router rt(catalog_->compiled);
  std::vector<std::vector<wire::partition_item>> out(2);
  auto ev = [](const char* cat, int s) {
    return timed_event{s * time::ns_per_s,
                       parse(std::string("{\"@timestamp\":\"x\",\"event\":{\"category\":[\"") +
                             cat + "\"]},\"user\":{\"name\":\"alice\"}}")};
  };
  add_event(rt, ev("authentication", 1000), "acme", out);
  add_marker("acme", 1500 * time::ns_per_s, out);
  ASSERT_NO_FATAL_FAILURE(publish(out));
  ASSERT_TRUE(eventually([&] { return probe.messages_in.Value() == messages_; }));
  // Both partitions checkpointed what they processed (alice's first step among it).
  const double saved = probe.checkpoints.Value();
  ASSERT_TRUE(eventually([&] { return probe.checkpoints.Value() >= saved + 2; }));

  server_->pause();
  ASSERT_TRUE(eventually([&] { return probe.leases_lost.Value() >= 2; }, 30))
      << "the workers kept their leases through a stalled server";
  ASSERT_TRUE(eventually([&] { return probe.partitions_owned.Value() == 0; }, 30));
  server_->resume();
  ASSERT_TRUE(eventually([&] { return probe.partitions_owned.Value() == 2; }, 30));
  EXPECT_GE(probe.restores.Value(), 2);

  add_event(rt, ev("process", 3000), "acme", out);
  add_marker("acme", 3500 * time::ns_per_s, out);
  ASSERT_NO_FATAL_FAILURE(publish(out));
  auto got = receive("acme", 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].first_ns, 1000 * time::ns_per_s) << "alice's first step survived the fence";
  EXPECT_EQ(got[0].last_ns, 3000 * time::ns_per_s);
  fs::remove_all(dir);
}

} // namespace
