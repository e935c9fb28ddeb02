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

TEST(time, iso8601_extended) {
  // Hour 24, a zone after spaces, `+hhmm` and `+hh`, a zone on a bare date, comma fractions.
  EXPECT_EQ(parse_iso8601("2020-10-22T24:00:00Z"), 1603411200LL * ns_per_s);
  EXPECT_EQ(parse_iso8601("2020-10-22 10:29:55 +0200"), 1603355395LL * ns_per_s);
  EXPECT_EQ(parse_iso8601("2020-10-22T10:29:55+02"), 1603355395LL * ns_per_s);
  EXPECT_EQ(parse_iso8601("2020-10-22T08:29:55,5Z"), 1603355395500000000LL);
  EXPECT_EQ(parse_iso8601("2020-10-22T08:29:55.1234567891Z"), 1603355395123456789LL);
  // An explicit zone wins over the default offset.
  EXPECT_EQ(parse_iso8601("2020-10-22T08:29:55Z", 3600), 1603355395LL * ns_per_s);
  // Outside the int64 nanosecond range (1678..2261) is rejected, not wrapped.
  EXPECT_FALSE(parse_iso8601("9999-12-31T23:59:59Z"));
  EXPECT_FALSE(parse_iso8601("1600-01-01T00:00:00Z"));
  EXPECT_FALSE(parse_iso8601("2020-10-22T08:29:55+2"));
}

TEST(time, utc_offsets) {
  EXPECT_EQ(parse_utc_offset("UTC"), 0);
  EXPECT_EQ(parse_utc_offset(""), 0);
  EXPECT_EQ(parse_utc_offset("Z"), 0);
  EXPECT_EQ(parse_utc_offset("+02:00"), 7200);
  EXPECT_EQ(parse_utc_offset("-0530"), -(5 * 3600 + 30 * 60));
  EXPECT_EQ(parse_utc_offset("+01"), 3600);
  EXPECT_FALSE(parse_utc_offset("CET"));
  EXPECT_FALSE(parse_utc_offset("+2"));
  EXPECT_FALSE(parse_utc_offset("+02:00junk"));
}

TEST(time, epoch_text) {
  EXPECT_EQ(parse_epoch("1547188415.857497", ns_per_s), 1547188415857497000LL);
  EXPECT_EQ(parse_epoch("-1.5", ns_per_s), -1'500'000'000LL);
  EXPECT_EQ(parse_epoch("1547188415857", ns_per_ms), 1547188415857000000LL);
  EXPECT_EQ(parse_epoch("1547188415857497000", 1), 1547188415857497000LL);
  EXPECT_FALSE(parse_epoch("12x", ns_per_s));
  EXPECT_FALSE(parse_epoch("99999999999999999999", ns_per_s));
  EXPECT_EQ(parse_epoch_auto("1547188415"), 1547188415LL * ns_per_s);
  EXPECT_EQ(parse_epoch_auto("1547188415857"), 1547188415857LL * ns_per_ms);
  EXPECT_EQ(parse_epoch_auto("1547188415857497"), 1547188415857497LL * ns_per_us);
  EXPECT_EQ(parse_epoch_auto("1547188415857497123"), 1547188415857497123LL);
}

TEST(time, filetime_text) {
  EXPECT_EQ(parse_filetime("132477460470000000"), 1603272447000000000LL);
  EXPECT_FALSE(parse_filetime("1")); // before 1970
  EXPECT_FALSE(parse_filetime("-5"));
  EXPECT_FALSE(parse_filetime(""));
  EXPECT_EQ(from_filetime(132477460470000000LL), parse_filetime("132477460470000000"));
}

TEST(time, syslog_without_year) {
  const std::int64_t june_2019 = *parse_iso8601("2019-06-01T00:00:00Z");
  EXPECT_EQ(parse_syslog("Mar 29 21:45:35", 0, june_2019), 1553895935LL * ns_per_s);
  EXPECT_EQ(parse_syslog("Mar  9 21:45:35", 0, june_2019), parse_iso8601("2019-03-09T21:45:35Z"));
  EXPECT_EQ(parse_syslog("Mar 29 23:45:35", 7200, june_2019), 1553895935LL * ns_per_s);
  // A December line read in January is from the previous year.
  const std::int64_t jan_2020 = *parse_iso8601("2020-01-02T00:00:00Z");
  EXPECT_EQ(parse_syslog("Dec 31 23:59:59.5", 0, jan_2020),
            parse_iso8601("2019-12-31T23:59:59.5Z"));
  EXPECT_FALSE(parse_syslog("Foo 31 23:59:59", 0, jan_2020));
}

TEST(time, syslog_one_digit_day_after_one_space) {
  const std::int64_t june_2019 = *parse_iso8601("2019-06-01T00:00:00Z");
  EXPECT_EQ(parse_syslog("Mar 9 21:45:35", 0, june_2019), parse_iso8601("2019-03-09T21:45:35Z"));
  EXPECT_EQ(parse_syslog("Mar 9 21:45:35.25", 0, june_2019),
            parse_iso8601("2019-03-09T21:45:35.25Z"));
  EXPECT_EQ(parse("Dec 7 12:14:15", "syslog", 0, june_2019), parse_iso8601("2018-12-07T12:14:15Z"));
  EXPECT_FALSE(parse_syslog("Mar9 21:45:35", 0, june_2019));
  EXPECT_FALSE(parse_syslog("Mar 9 21:45", 0, june_2019));
  EXPECT_FALSE(parse_syslog("Feb 30 21:45:35", 0, june_2019));
}

TEST(time, syslog_year_at_the_year_boundary) {
  const std::int64_t new_year = *parse_iso8601("2027-01-01T00:00:05Z");
  const std::int64_t new_years_eve = *parse_iso8601("2026-12-31T23:59:55Z");
  // A Dec 31 line read on Jan 1 stays in the old year.
  EXPECT_EQ(parse_syslog("Dec 31 23:59:58", 0, new_year), parse_iso8601("2026-12-31T23:59:58Z"));
  // A Jan 1 line received seconds before midnight on Dec 31 comes from a clock a little ahead:
  // next year's (6 seconds after the reference), not this year's (364 days before).
  EXPECT_EQ(parse_syslog("Jan  1 00:00:01", 0, new_years_eve),
            parse_iso8601("2027-01-01T00:00:01Z"));
  // A Dec 30 line read then is this year's.
  EXPECT_EQ(parse_syslog("Dec 30 10:00:00", 0, new_years_eve),
            parse_iso8601("2026-12-30T10:00:00Z"));
  // Up to 31 days after the reference (to the day, not by month number) is clock skew: same year.
  const std::int64_t mar_15 = *parse_iso8601("2026-03-15T12:00:00Z");
  EXPECT_EQ(parse_syslog("Apr 15 11:59:59", 0, mar_15), parse_iso8601("2026-04-15T11:59:59Z"));
  EXPECT_EQ(parse_syslog("Apr 15 12:00:01", 0, mar_15), parse_iso8601("2025-04-15T12:00:01Z"));
  EXPECT_EQ(parse_syslog("Mar 31 00:00:00", 0, mar_15), parse_iso8601("2026-03-31T00:00:00Z"));
  // The line's zone counts: 01:00 at +02:00 on Apr 15 is still within 31 days.
  EXPECT_EQ(parse_syslog("Apr 15 13:00:00", 7200, mar_15), parse_iso8601("2026-04-15T11:00:00Z"));
  // Feb 29 takes the latest leap year.
  const std::int64_t mar_2025 = *parse_iso8601("2025-03-10T00:00:00Z");
  EXPECT_EQ(parse_syslog("Feb 29 10:00:00", 0, mar_2025), parse_iso8601("2024-02-29T10:00:00Z"));
}

TEST(time, syslog_reference_unknown_or_implausible) {
  // 0 means unknown: the behaviour callers have always had (1970, 1969 after February).
  EXPECT_EQ(parse_syslog("Jan  2 00:00:00", 0, 0), parse_iso8601("1970-01-02T00:00:00Z"));
  EXPECT_EQ(parse_syslog("Mar  2 00:00:00", 0, 0), parse_iso8601("1969-03-02T00:00:00Z"));
  // A non-zero reference before 1971 is a unit mistake (seconds as ns), never a 1969/1970 date.
  EXPECT_FALSE(parse_syslog("Mar  2 00:00:00", 0, 1'700'000'000));
  EXPECT_FALSE(parse_syslog("Mar  2 00:00:00", 0, -5));
}

TEST(time, patterns_and_dispatch) {
  EXPECT_EQ(parse_pattern("29/Mar/2019:21:45:35 +0000", "%d/%b/%Y:%H:%M:%S %z", 3600),
            1553895935LL * ns_per_s);
  EXPECT_EQ(parse_pattern("2019/03/29 22:45:35", "%Y/%m/%d %H:%M:%S", 3600),
            1553895935LL * ns_per_s);
  EXPECT_EQ(parse("1547188415.857497 ", "epoch"), 1547188415857497000LL);
  EXPECT_EQ(parse("2019-03-29 17:45:35", "iso8601", -4 * 3600), 1553895935LL * ns_per_s);
  EXPECT_EQ(parse("132477460470000000", "filetime"), 1603272447000000000LL);
  EXPECT_FALSE(parse("", "iso8601"));
  EXPECT_FALSE(parse(std::string(65, '1'), "epoch"));
}

TEST(time, format_into) {
  char buf[iso8601_buffer_size];
  const std::size_t n = format_iso8601_into(buf, 1603355395123000000LL);
  EXPECT_EQ(std::string_view(buf, n), "2020-10-22T08:29:55.123Z");
  EXPECT_EQ(format_iso8601(-1), "1969-12-31T23:59:59.999Z");
}
