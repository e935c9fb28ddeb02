#include <chainwatch/base/time.hpp>
#include <gtest/gtest.h>

using namespace chainwatch::time;

TEST(time, durations) {
  EXPECT_EQ(parse_duration("500ms"), 500 * ns_per_ms);
  EXPECT_EQ(parse_duration("10s"), 10 * ns_per_s);
  EXPECT_EQ(parse_duration("5m"), 300 * ns_per_s);
  EXPECT_EQ(parse_duration("1h"), 3600 * ns_per_s);
  EXPECT_EQ(parse_duration("1d"), 86400 * ns_per_s);
  EXPECT_EQ(parse_duration("2"), 2 * ns_per_s);
  EXPECT_FALSE(parse_duration("5x"));
  EXPECT_FALSE(parse_duration(""));
  EXPECT_FALSE(parse_duration("ms"));
}

TEST(time, iso8601) {
  EXPECT_EQ(parse_iso8601("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_iso8601("2020-10-22T08:29:55.123Z"), 1603355395123000000LL);
  EXPECT_EQ(parse_iso8601("2020-10-22T10:29:55.123+02:00"), 1603355395123000000LL);
  EXPECT_EQ(parse_iso8601("2020-10-22 08:29:55.123"), 1603355395123000000LL);
  EXPECT_EQ(parse_iso8601("2020-10-22T08:29:55.123456789Z"), 1603355395123456789LL);
  EXPECT_EQ(parse_iso8601("2020-10-22"), 1603324800LL * ns_per_s);
  EXPECT_EQ(parse_iso8601("2020-10-22T08:29:55", 3600), (1603355395LL - 3600) * ns_per_s);
  EXPECT_FALSE(parse_iso8601("2020-13-22T08:29:55Z"));
  EXPECT_FALSE(parse_iso8601("yesterday"));
  EXPECT_FALSE(parse_iso8601("2020-10-22T08:29:55Zjunk"));
}

TEST(time, epochs) {
  EXPECT_EQ(from_filetime(131485996510000000LL),
            (131485996510000000LL - filetime_unix_epoch) * 100);
  EXPECT_EQ(from_epoch_s(1.5), 1'500'000'000);
  EXPECT_EQ(from_epoch_ms(1500), 1'500'000'000);
  EXPECT_FALSE(from_epoch_s(1e300));
}

TEST(time, format) {
  EXPECT_EQ(format_iso8601(1603355395123000000LL), "2020-10-22T08:29:55.123Z");
  EXPECT_EQ(format_iso8601(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(*parse_iso8601(format_iso8601(-1500 * ns_per_ms)), -1500 * ns_per_ms);
}
