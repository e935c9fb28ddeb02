// The alerter against a real nats-server: a match_batch on cw.match becomes an alert JSON on
// cw.alerts.<customer>.<severity>.<rule>; a repeat is suppressed; an identical match published
// again is dropped by JetStream as a duplicate msg id.

#include "alerter_service.hpp"
#include "nats_server.hpp"

#include <atomic>
#include <chainwatch/base/time.hpp>
#include <chainwatch/event/event.hpp>
#include <chainwatch/wire/subjects.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <thread>

namespace {

using namespace chainwatch;
using test_support::nats_server;

const char* brute_force = "5d2c8a4e-6c2b-4f7e-9a51-2f0f0c7a1b01";

bool eventually(const std::function<bool()>& cond, int seconds = 60) {
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return cond();
}

std::string blob(std::string_view json) {
  event::json_decoder dec;
  auto ev = dec.decode(json);
  EXPECT_TRUE(ev.has_value());
  std::string out;
  if (ev) event::append_msgpack(out, *ev);
  return out;
}

wire::match make_match(std::int64_t first_s, std::int64_t last_s) {
  wire::match m;
  m.rule_id = brute_force;
  m.key = "[\"svc-backup\"]";
  m.events = {blob(R"({"event":{"outcome":"failure"},"user":{"name":"svc-backup"}})"),
              blob(R"({"event":{"outcome":"success"},"user":{"name":"svc-backup"}})")};
  m.first_ns = first_s * time::ns_per_s;
  m.last_ns = last_s * time::ns_per_s;
  m.watermark_ns = (last_s + 5) * time::ns_per_s;
  return m;
}

class alerter_test : public ::testing::Test {
protected:
  void SetUp() override {
    CW_REQUIRE_NATS_SERVER();
    auto s = nats_server::start();
    ASSERT_TRUE(s.has_value()) << s.error();
    server_ = std::move(*s);
    service::nats_options opts;
    opts.url = server_->url();
    auto c = service::nats_client::connect(opts);
    ASSERT_TRUE(c.has_value()) << service::to_string(c.error());
    client_ = std::move(*c);
    matcher::catalog_options co;
    co.rule_paths = {std::string(CHAINWATCH_SOURCE_DIR) + "/config/rules"};
    co.compile = false;
    auto cat = matcher::load_catalog(co);
    ASSERT_TRUE(cat.has_value()) << cat.error();
    catalog_ = std::make_shared<const matcher::rule_catalog>(std::move(*cat));
  }
  void TearDown() override {
    svc_.reset();
    client_.reset();
    server_.reset();
  }

  void start(std::int64_t window_ns) {
    alerter::alerter_config cfg;
    cfg.suppress_window_ns = window_ns;
    cfg.fetch_timeout_ns = 100'000'000;
    svc_ = std::make_unique<alerter::alerter_service>(*client_, metrics_, cfg, catalog_);
    auto r = svc_->start();
    ASSERT_TRUE(r.has_value()) << service::to_string(r.error());
  }

  void publish(const wire::match& m, const std::string& msg_id) {
    wire::match_batch b{"acme", {m}};
    auto r = client_->js_publish(wire::match_subject("acme"), wire::encode(b), msg_id);
    ASSERT_TRUE(r.has_value()) << service::to_string(r.error());
  }

  std::uint64_t alerts_stored() {
    auto n = client_->stream_messages("CW_ALERTS");
    return n ? *n : 0;
  }

  std::unique_ptr<nats_server> server_;
  std::unique_ptr<service::nats_client> client_;
  service::metrics metrics_{"alerter"};
  std::shared_ptr<const matcher::rule_catalog> catalog_;
  std::unique_ptr<alerter::alerter_service> svc_;
};

TEST_F(alerter_test, match_becomes_alert_with_all_fields) {
  ASSERT_NO_FATAL_FAILURE(start(3600 * time::ns_per_s));
  auto in = client_->pull({.stream = "CW_ALERTS", .durable = "test", .filter_subject = ""});
  ASSERT_TRUE(in.has_value());
  // The watermark passed (its marker was emitted) a second before the match is published.
  auto match = make_match(1000, 1100);
  match.watermark_wall_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count() -
                            time::ns_per_s;
  ASSERT_NO_FATAL_FAILURE(publish(match, "m.0.1"));

  std::vector<service::message> got;
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (got.empty() && std::chrono::steady_clock::now() < end) {
    auto b = (*in)->fetch(1, 500);
    ASSERT_TRUE(b.has_value());
    for (auto& m : *b)
      got.push_back(std::move(m));
  }
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].subject(), std::string("cw.alerts.acme.high.") + brute_force);
  auto msg_id = got[0].header("Nats-Msg-Id");
  ASSERT_TRUE(msg_id.has_value());
  EXPECT_EQ(*msg_id, alerter::alert_id("acme", make_match(1000, 1100)));

  event::json_decoder dec;
  auto doc = dec.decode(got[0].data());
  ASSERT_TRUE(doc.has_value()) << got[0].data();
  auto str = [&](const char* path) {
    return std::string(doc->get(event::field_path{path}).as_string());
  };
  auto num = [&](const char* path) { return doc->get(event::field_path{path}).as_int(); };
  EXPECT_EQ(str("rule.id"), brute_force);
  EXPECT_EQ(str("rule.name"), "Windows Brute Force Followed by Successful Logon");
  EXPECT_EQ(str("rule.severity"), "high");
  EXPECT_EQ(num("rule.risk_score"), 73);
  EXPECT_EQ(str("customer"), "acme");
  EXPECT_EQ(str("first_event_time"), time::format_iso8601(1000 * time::ns_per_s));
  EXPECT_EQ(str("last_event_time"), time::format_iso8601(1100 * time::ns_per_s));
  EXPECT_FALSE(str("detection_time").empty());
  EXPECT_EQ(num("first_ns"), 1000 * time::ns_per_s);
  EXPECT_EQ(num("last_ns"), 1100 * time::ns_per_s);
  EXPECT_EQ(num("watermark_wall_ns"), match.watermark_wall_ns);
  EXPECT_EQ(str("decided_by"), "events");
  std::string json(got[0].data());
  EXPECT_NE(json.find(R"("key":["svc-backup"])"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("tactic":{"id":"TA0006","name":"Credential Access")"), std::string::npos)
      << json;
  EXPECT_NE(json.find(R"("id":"T1110.001")"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("evidence":[{"event":{"outcome":"failure"})"), std::string::npos) << json;
  EXPECT_NE(json.find(R"({"event":{"outcome":"success"},"user":{"name":"svc-backup"}}])"),
            std::string::npos)
      << json;
  EXPECT_EQ(svc_->probe().alert(brute_force, "high").Value(), 1);
  EXPECT_EQ(svc_->probe().detection.Collect().histogram.sample_count, 1u);
  // Watermark to alert: at least the second between the marker and the publish, and bounded.
  auto wm_latency = svc_->probe().watermark_latency.Collect().histogram;
  EXPECT_EQ(wm_latency.sample_count, 1u);
  EXPECT_GE(wm_latency.sample_sum, 1.0);
  EXPECT_LT(wm_latency.sample_sum, 120.0);
}

// A match released by a watermark the wall clock moved (every source idle) says so, so an
// analyst can tell a gap in the data from evidence; its identity is the same match's.
TEST(alert, decided_by_idle_sources_is_in_the_json) {
  wire::match m;
  m.rule_id = "r";
  m.first_ns = m.last_ns = m.watermark_ns = 5;
  m.decided_by_idle = true;
  std::size_t bad = 0;
  auto a = alerter::build_alert("acme", m, nullptr, 9, bad);
  EXPECT_NE(a.json.find(R"("decided_by":"idle")"), std::string::npos) << a.json;
  auto by_events = m;
  by_events.decided_by_idle = false;
  EXPECT_EQ(alerter::alert_id("acme", m), alerter::alert_id("acme", by_events));
  auto back = wire::decode_match_batch(wire::encode(wire::match_batch{"acme", {m}}));
  ASSERT_TRUE(back);
  EXPECT_TRUE(back->matches[0].decided_by_idle) << "the flag travels from matcher to alerter";
}

TEST_F(alerter_test, repeat_is_suppressed_and_identical_match_is_deduplicated) {
  ASSERT_NO_FATAL_FAILURE(start(3600 * time::ns_per_s));
  auto& probe = svc_->probe();
  ASSERT_NO_FATAL_FAILURE(publish(make_match(1000, 1100), "m.0.1"));
  ASSERT_TRUE(eventually([&] { return alerts_stored() == 1; }));
  // Same rule and key ten minutes later: inside the one-hour window.
  ASSERT_NO_FATAL_FAILURE(publish(make_match(1600, 1700), "m.0.2"));
  ASSERT_TRUE(eventually([&] { return probe.messages_in.Value() == 2; }));
  EXPECT_EQ(probe.suppressed.Value(), 1);
  // The first match again (e.g. a matcher replay with another batch id): same alert msg id.
  ASSERT_NO_FATAL_FAILURE(publish(make_match(1000, 1100), "m.0.3"));
  ASSERT_TRUE(eventually([&] { return probe.messages_in.Value() == 3; }));
  EXPECT_EQ(probe.repeats.Value(), 1);
  // The republished alert's ack (a duplicate) arrives after the alerter counted the message.
  ASSERT_TRUE(eventually([&] { return client_->js_publish_duplicates() >= 1; }));
  EXPECT_EQ(alerts_stored(), 1u);
  // Outside the window: a new alert.
  ASSERT_NO_FATAL_FAILURE(publish(make_match(9000, 9100), "m.0.4"));
  ASSERT_TRUE(eventually([&] { return alerts_stored() == 2; }));
  EXPECT_EQ(probe.alerts_out.Value(), 2);
}

TEST_F(alerter_test, suppression_survives_a_restart) {
  ASSERT_NO_FATAL_FAILURE(start(3600 * time::ns_per_s));
  ASSERT_NO_FATAL_FAILURE(publish(make_match(1000, 1100), "m.0.1"));
  ASSERT_TRUE(eventually([&] { return alerts_stored() == 1; }));
  ASSERT_TRUE(eventually([&] { return svc_->probe().messages_in.Value() == 1; }));
  svc_.reset(); // as after a crash past the ack: only the checkpoint remembers the alert
  ASSERT_NO_FATAL_FAILURE(start(3600 * time::ns_per_s));
  ASSERT_NO_FATAL_FAILURE(publish(make_match(1600, 1700), "m.0.2"));
  ASSERT_TRUE(eventually([&] { return svc_->probe().suppressed.Value() == 1; }));
  EXPECT_EQ(alerts_stored(), 1u);
}

TEST_F(alerter_test, suppression_is_checkpointed_once_per_interval_and_on_stop) {
  alerter::alerter_config cfg;
  cfg.suppress_window_ns = 3600 * time::ns_per_s;
  cfg.fetch_timeout_ns = 100'000'000;
  cfg.checkpoint_interval_ns = 3600 * time::ns_per_s; // none due during the test after the first
  svc_ = std::make_unique<alerter::alerter_service>(*client_, metrics_, cfg, catalog_);
  ASSERT_TRUE(svc_->start().has_value());
  auto& probe = svc_->probe();
  for (int i = 0; i < 3; ++i) {
    auto m = make_match(1000, 1100);
    m.key = "[\"user" + std::to_string(i) + "\"]"; // three keys: three alerts
    ASSERT_NO_FATAL_FAILURE(publish(m, "m.0." + std::to_string(i)));
    ASSERT_TRUE(eventually([&] { return probe.messages_in.Value() == i + 1; }));
  }
  ASSERT_TRUE(eventually([&] { return alerts_stored() == 3; }));
  EXPECT_EQ(probe.checkpoints.Value(), 1); // the first; the others wait for the interval
  auto& checkpoints = probe.checkpoints;   // the registry outlives the service
  svc_.reset();                            // stopping writes the last one, then acks
  EXPECT_EQ(checkpoints.Value(), 2);
  // The restarted service knows all three (the checkpoint) and has nothing redelivered (acked).
  ASSERT_NO_FATAL_FAILURE(start(3600 * time::ns_per_s));
  auto m = make_match(1600, 1700);
  m.key = "[\"user2\"]";
  ASSERT_NO_FATAL_FAILURE(publish(m, "m.0.9"));
  // (The counters live in the fixture's registry: they go on from the first service's.)
  ASSERT_TRUE(eventually([&] { return svc_->probe().messages_in.Value() == 4; }));
  EXPECT_EQ(svc_->probe().suppressed.Value(), 1);
  EXPECT_EQ(svc_->probe().repeats.Value(), 0);
  EXPECT_EQ(alerts_stored(), 3u);
}

TEST(alerter_suppressor, snapshot_round_trips_and_bad_input_changes_nothing) {
  alerter::suppressor s(3600 * time::ns_per_s);
  EXPECT_EQ(s.admit("acme", make_match(1000, 1100)), alerter::suppressor::decision::publish);
  auto m = make_match(2000, 2100);
  m.key = "[\"a b\n\"]"; // spaces and a newline in the key text
  EXPECT_EQ(s.admit("beta", m), alerter::suppressor::decision::publish);
  auto snap = s.snapshot();
  alerter::suppressor t(3600 * time::ns_per_s);
  ASSERT_TRUE(t.restore(snap));
  EXPECT_EQ(t.snapshot(), snap);
  EXPECT_EQ(t.admit("acme", make_match(1500, 1600)), alerter::suppressor::decision::suppress);
  for (std::size_t n = 0; n + 1 < snap.size(); ++n)
    EXPECT_FALSE(t.restore(snap.substr(0, n))) << n;
  EXPECT_FALSE(t.restore("v1 x 1\n"));
  EXPECT_EQ(t.size(), 2u);
}

TEST_F(alerter_test, without_suppression_identical_match_is_deduplicated_by_msg_id) {
  ASSERT_NO_FATAL_FAILURE(start(0));
  ASSERT_NO_FATAL_FAILURE(publish(make_match(1000, 1100), "m.0.1"));
  ASSERT_TRUE(eventually([&] { return svc_->probe().messages_in.Value() == 1; }));
  ASSERT_NO_FATAL_FAILURE(publish(make_match(1000, 1100), "m.0.2"));
  ASSERT_TRUE(eventually([&] { return svc_->probe().messages_in.Value() == 2; }));
  EXPECT_EQ(svc_->probe().alerts_out.Value(), 2) << "both published, the server kept one";
  ASSERT_TRUE(eventually([&] { return client_->js_publish_duplicates() >= 1; }));
  EXPECT_EQ(alerts_stored(), 1u);
}

#ifdef CHAINWATCH_CLI
// `chainwatch alerts tail` (services/cli/alerts.cpp) against the running alerter.
TEST_F(alerter_test, alerts_tail_prints_alerts_and_exits_by_count_or_timeout) {
  ASSERT_NO_FATAL_FAILURE(start(0));
  auto cmd = std::string(CHAINWATCH_CLI) + " alerts tail --nats " + server_->url() +
             " --customer acme --count 1 --timeout 120s --json";
  FILE* tail = ::popen(cmd.c_str(), "r");
  ASSERT_NE(tail, nullptr);
  // The subscription starts asynchronously: publish distinct matches until one is printed
  // (fgets returns once a line arrived; the publisher thread stops then).
  std::atomic<bool> printed{false};
  std::thread publisher([&] {
    for (int i = 0; !printed && i < 600; ++i) {
      publish(make_match(1000 + i, 1100 + i), "m.tail." + std::to_string(i));
      std::this_thread::sleep_for(std::chrono::milliseconds(200)); // resend period, not a sync
    }
  });
  char line[65536];
  bool got = std::fgets(line, sizeof line, tail) != nullptr;
  printed = true;
  publisher.join();
  int status = ::pclose(tail);
  ASSERT_TRUE(got);
  EXPECT_NE(std::string(line).find(R"("rule":{"id":"5d2c8a4e)"), std::string::npos) << line;
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);

  auto quiet = std::string(CHAINWATCH_CLI) + " alerts tail --nats " + server_->url() +
               " --customer nobody --count 1 --timeout 1s >/dev/null";
  status = std::system(quiet.c_str());
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 1) << "timeout before --count alerts";
}
#endif

} // namespace
