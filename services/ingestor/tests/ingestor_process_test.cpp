// The chainwatch-ingestor binary: on SIGTERM it closes its listeners, stores everything it
// accepted (even with a one-hour linger) and exits 0.

#include "chainwatch/service/nats_client.hpp"
#include "chainwatch/wire/messages.hpp"
#include "nats_server.hpp"
#include "process_util.hpp"

#include <chrono>
#include <gtest/gtest.h>

using namespace chainwatch;
using namespace std::chrono_literals;

TEST(ingestor_process, sigterm_stores_what_was_accepted_and_exits_0) {
  CW_REQUIRE_NATS_SERVER();
  auto server = test_support::nats_server::start();
  ASSERT_TRUE(server) << server.error();
  auto tcp_port = test_support::free_port();
  auto metrics_port = test_support::free_port();
  pid_t pid = test_process::spawn(
      CHAINWATCH_INGESTOR_BINARY,
      {"--common.nats_url", (*server)->url(), "--common.metrics_address",
       "127.0.0.1:" + std::to_string(metrics_port), "--ingestor.listeners",
       "tcp:127.0.0.1:" + std::to_string(tcp_port) + ":acme:syslog", "--ingestor.linger", "1h"});
  ASSERT_GT(pid, 0);

  // Connect once the listener is up.
  int fd = -1;
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(tcp_port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) break;
    ::close(fd);
    fd = -1;
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_GE(fd, 0) << "listener never came up";
  std::string lines;
  for (int i = 0; i < 10; ++i)
    lines += "<13>line " + std::to_string(i) + "\n";
  ASSERT_EQ(::send(fd, lines.data(), lines.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(lines.size()));
  // Wait until the ingestor accepted all 10 (they sit in a batcher with a 1 h linger).
  std::optional<double> accepted;
  while (std::chrono::steady_clock::now() < deadline) {
    accepted = test_process::metric_value(test_process::get_metrics(metrics_port),
                                          "chainwatch_ingestor_events_in_total{proto=\"tcp\"}");
    if (accepted && *accepted >= 10) break;
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(accepted && *accepted == 10);
  ::close(fd);

  ::kill(pid, SIGTERM);
  auto code = test_process::wait_exit(pid, 60s);
  ASSERT_TRUE(code) << "did not exit after SIGTERM";
  EXPECT_EQ(*code, 0);

  service::nats_options opts;
  opts.url = (*server)->url();
  auto client = service::nats_client::connect(opts);
  ASSERT_TRUE(client);
  auto consumer = (*client)->pull({.stream = "CW_INGEST", .durable = "t", .filter_subject = ""});
  ASSERT_TRUE(consumer);
  std::size_t records = 0;
  deadline = std::chrono::steady_clock::now() + 30s;
  while (records < 10 && std::chrono::steady_clock::now() < deadline) {
    auto got = (*consumer)->fetch(16, 200);
    if (!got) continue;
    for (auto& m : *got) {
      auto b = wire::decode_raw_batch(m.data());
      ASSERT_TRUE(b);
      records += b->records.size();
    }
  }
  EXPECT_EQ(records, 10u);
}

TEST(ingestor_process, version_help_and_bad_config) {
  pid_t pid = test_process::spawn(CHAINWATCH_INGESTOR_BINARY, {"--version"});
  EXPECT_EQ(test_process::wait_exit(pid, 30s), 0);
  pid = test_process::spawn(CHAINWATCH_INGESTOR_BINARY, {"--help"});
  EXPECT_EQ(test_process::wait_exit(pid, 30s), 0);
  CW_REQUIRE_NATS_SERVER();
  auto server = test_support::nats_server::start();
  ASSERT_TRUE(server) << server.error();
  pid = test_process::spawn(CHAINWATCH_INGESTOR_BINARY,
                            {"--common.nats_url", (*server)->url(), "--common.metrics_address", "",
                             "--ingestor.listeners", "bogus"});
  EXPECT_EQ(test_process::wait_exit(pid, 30s), 2);
}
