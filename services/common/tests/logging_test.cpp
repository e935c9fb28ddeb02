#include "chainwatch/service/logging.hpp"

#include <gtest/gtest.h>

using namespace chainwatch::service;

TEST(service_logging, rate_limit_per_reason_counts_suppressed) {
  rate_limited_logger log(std::chrono::seconds(10));
  constexpr std::int64_t s = 1'000'000'000;
  EXPECT_EQ(log.admit("json", 0), 0);      // first: logged
  EXPECT_EQ(log.admit("json", 1 * s), -1); // within 10 s: suppressed
  EXPECT_EQ(log.admit("json", 2 * s), -1);
  EXPECT_EQ(log.admit("csv", 2 * s), 0);   // another reason has its own budget
  EXPECT_EQ(log.admit("json", 10 * s), 2); // logged, reporting 2 suppressed
  EXPECT_EQ(log.admit("json", 11 * s), -1);
  EXPECT_EQ(log.suppressed(), 3u);
}

TEST(service_logging, setup_rejects_unknown_level) {
  EXPECT_FALSE(setup_logging("bad", "loud").has_value());
  EXPECT_TRUE(setup_logging("good", "warn").has_value());
  rate_limited_logger log;
  log.warn("json_syntax", "bad record from acme"); // smoke: goes to stderr
}
