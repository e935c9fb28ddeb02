// The chainwatch-normalizer binary: normalizes a stored raw batch, then exits 0 on SIGTERM.

#include "chainwatch/service/nats_client.hpp"
#include "chainwatch/wire/messages.hpp"
#include "chainwatch/wire/subjects.hpp"
#include "nats_server.hpp"
#include "process_util.hpp"

#include <chrono>
#include <gtest/gtest.h>

using namespace chainwatch;
using namespace std::chrono_literals;

TEST(normalizer_process, normalizes_then_exits_0_on_sigterm) {
  CW_REQUIRE_NATS_SERVER();
  auto server = test_support::nats_server::start();
  ASSERT_TRUE(server) << server.error();
  service::nats_options opts;
  opts.url = (*server)->url();
  auto client = service::nats_client::connect(opts);
  ASSERT_TRUE(client);
  auto& c = **client;
  ASSERT_TRUE(c.ensure_stream("CW_INGEST", {"cw.ingest.>"}, service::storage_kind::file, 0, 0));
  wire::raw_batch b{.customer = "acme",
                    .source_type = "ecs",
                    .ingest_ns = 1,
                    .records = {},
                    .origin = {},
                    .header = {}};
  b.records.push_back({R"({"@timestamp":"2024-01-01T00:00:00Z"})", std::nullopt, std::nullopt});
  ASSERT_TRUE(c.js_publish(wire::ingest_subject("acme", "ecs"), wire::encode(b), "in.1"));

  pid_t pid =
      test_process::spawn(CHAINWATCH_NORMALIZER_BINARY,
                          {"--common.nats_url", (*server)->url(), "--common.metrics_address", "",
                           "--normalizer.sources_dir", CHAINWATCH_SOURCE_DIR "/config/sources",
                           "--normalizer.fetch_timeout", "100ms"});
  ASSERT_GT(pid, 0);
  std::uint64_t stored = 0;
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (stored == 0 && std::chrono::steady_clock::now() < deadline) {
    auto n = c.stream_messages("CW_EVENTS");
    if (n) stored = *n;
    if (stored == 0) std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(stored, 1u);
  ::kill(pid, SIGTERM);
  auto code = test_process::wait_exit(pid, 60s);
  ASSERT_TRUE(code) << "did not exit after SIGTERM";
  EXPECT_EQ(*code, 0);
}
