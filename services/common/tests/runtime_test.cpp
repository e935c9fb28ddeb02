#include "chainwatch/service/runtime.hpp"
#include "nats_server.hpp"

#include <csignal>
#include <gtest/gtest.h>
#include <unistd.h>

using namespace chainwatch::service;
using chainwatch::test_support::nats_server;

TEST(service_runtime, starts_everything_from_flags_and_stops_on_sigterm) {
  CW_REQUIRE_NATS_SERVER();
  auto server = nats_server::start();
  ASSERT_TRUE(server.has_value()) << server.error();
  auto url = (*server)->url();
  std::int64_t partitions = 16;
  const char* argv[] = {
      "demo",        "--common.nats_url",  url.c_str(), "--common.metrics_address",
      "127.0.0.1:0", "--common.log_level", "warn",      "--demo.partitions",
      "4",           "input.ndjson"};
  auto rt = runtime::start("demo", 10, argv, [&](config_binder& b) {
    b.bind("demo.partitions", partitions, "number of partitions");
  });
  ASSERT_TRUE(rt.has_value()) << rt.error().message;
  auto& r = **rt;
  EXPECT_EQ(partitions, 4);
  EXPECT_EQ(r.args(), std::vector<std::string>{"input.ndjson"});
  EXPECT_TRUE(r.nats().connected());
  EXPECT_NE(r.metrics().port(), 0);
  r.update_probes();
  EXPECT_FALSE(r.stop().requested());
  ASSERT_EQ(::kill(::getpid(), SIGTERM), 0);
  EXPECT_TRUE(r.stop().wait_for(std::chrono::seconds(10)));
  EXPECT_EQ(r.stop().signal_number(), SIGTERM);
}

TEST(service_runtime, help_and_errors_have_exit_codes) {
  const char* help[] = {"demo", "--help"};
  auto h = runtime::start("demo", 2, help);
  ASSERT_FALSE(h.has_value());
  EXPECT_EQ(h.error().exit_code, 0);
  EXPECT_NE(h.error().message.find("CHAINWATCH_DEMO_COMMON_NATS_URL"), std::string::npos);

  const char* bad[] = {"demo", "--common.nats_max_pending", "lots"};
  auto b = runtime::start("demo", 3, bad);
  ASSERT_FALSE(b.has_value());
  EXPECT_EQ(b.error().exit_code, 2);

  auto port = std::to_string(chainwatch::test_support::free_port());
  std::string url = "nats://127.0.0.1:" + port;
  const char* down[] = {"demo", "--common.nats_url", url.c_str(), "--common.metrics_address", ""};
  auto d = runtime::start("demo", 5, down);
  ASSERT_FALSE(d.has_value());
  EXPECT_EQ(d.error().exit_code, 1);
  EXPECT_NE(d.error().message.find("connect to"), std::string::npos) << d.error().message;
}
