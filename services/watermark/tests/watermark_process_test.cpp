// The chainwatch-watermark binary: loads the shipped rules, routes a stored event batch to the
// partitions, then exits 0 on SIGTERM; a bad rules path is a config error (exit 2).

#include "chainwatch/event/event.hpp"
#include "chainwatch/service/nats_client.hpp"
#include "chainwatch/wire/messages.hpp"
#include "chainwatch/wire/subjects.hpp"
#include "nats_server.hpp"
#include "process_util.hpp"

#include <chrono>
#include <gtest/gtest.h>

using namespace chainwatch;
using namespace std::chrono_literals;

TEST(watermark_process, routes_then_exits_0_on_sigterm) {
  CW_REQUIRE_NATS_SERVER();
  auto server = test_support::nats_server::start();
  ASSERT_TRUE(server) << server.error();
  service::nats_options opts;
  opts.url = (*server)->url();
  auto client = service::nats_client::connect(opts);
  ASSERT_TRUE(client);
  auto& c = **client;
  ASSERT_TRUE(c.ensure_stream("CW_EVENTS", {"cw.events.>"}, service::storage_kind::file, 0, 0));
  event::json_decoder d;
  auto ev = d.decode(R"({"event":{"category":"authentication","outcome":"failure"},)"
                     R"("user":{"name":"bob"}})");
  ASSERT_TRUE(ev);
  wire::event_record rec{.event_ns = 1'000'000'000, .ingest_ns = 1, .event = {}, .raw = {}};
  event::append_msgpack(rec.event, *ev);
  wire::event_batch b{.customer = "acme", .source = "ecs", .events = {rec}};
  ASSERT_TRUE(c.js_publish(wire::events_subject("acme", "ecs"), wire::encode(b), "ev.1"));

  pid_t pid =
      test_process::spawn(CHAINWATCH_WATERMARK_BINARY,
                          {"--common.nats_url", (*server)->url(), "--common.metrics_address", "",
                           "--watermark.rules", CHAINWATCH_SOURCE_DIR "/config/rules",
                           "--watermark.lists", CHAINWATCH_SOURCE_DIR "/config/lists",
                           "--watermark.partitions", "4", "--watermark.fetch_timeout", "100ms"});
  ASSERT_GT(pid, 0);
  std::uint64_t stored = 0;
  auto deadline = std::chrono::steady_clock::now() + 30s;
  // One partition gets the event and the marker, the other three the marker.
  while (stored < 4 && std::chrono::steady_clock::now() < deadline) {
    auto n = c.stream_messages("CW_PART");
    if (n) stored = *n;
    if (stored < 4) std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(stored, 4u);
  ::kill(pid, SIGTERM);
  auto code = test_process::wait_exit(pid, 60s);
  ASSERT_TRUE(code) << "did not exit after SIGTERM";
  EXPECT_EQ(*code, 0);

  pid = test_process::spawn(CHAINWATCH_WATERMARK_BINARY,
                            {"--common.nats_url", (*server)->url(), "--common.metrics_address", "",
                             "--watermark.rules", "/nonexistent/rules"});
  EXPECT_EQ(test_process::wait_exit(pid, 60s), 2);
}
