// Unit tests for the LEEF 1.0/2.0 and PAN-OS CSV wire formats (hand-written lines).

#include "test_util.hpp"

#include <gtest/gtest.h>

namespace chainwatch::normalize::testing {
namespace {

TEST(leef, version_1_tab_separated_with_syslog_header) {
  auto n = make_normalizer();
  auto ev =
      n.normalize(source_type::leef,
                  "<13>Jan 18 11:07:53 fw01 LEEF:1.0|Microsoft|MSExchange|4.0 SP1|15345|"
                  "src=10.50.1.1\tdst=2.10.20.20\tsrcPort=51223\tdstPort=443\tproto=TCP\t"
                  "usrName=bob\tsev=5\tcat=Auth Failure\tdevTime=1547809673123\tvendorKey=x=y");
  ASSERT_TRUE(ev) << ev.error().reason;
  EXPECT_EQ(field_text(*ev, "observer.vendor"), "Microsoft");
  EXPECT_EQ(field_text(*ev, "observer.product"), "MSExchange");
  EXPECT_EQ(field_text(*ev, "observer.version"), "4.0 SP1");
  EXPECT_EQ(field_text(*ev, "event.code"), "15345");
  EXPECT_EQ(field_text(*ev, "observer.hostname"), "fw01");
  EXPECT_EQ(field_text(*ev, "source.ip"), "10.50.1.1");
  EXPECT_EQ(field_text(*ev, "destination.ip"), "2.10.20.20");
  EXPECT_EQ(field_text(*ev, "source.port"), "51223");
  EXPECT_EQ(field_text(*ev, "destination.port"), "443");
  EXPECT_EQ(field_text(*ev, "network.transport"), "tcp");
  EXPECT_EQ(field_text(*ev, "user.name"), "bob");
  EXPECT_EQ(field_text(*ev, "event.severity"), "5");
  EXPECT_EQ(field_text(*ev, "leef.category"), "Auth Failure");
  EXPECT_EQ(field_text(*ev, "@timestamp"), "2019-01-18T11:07:53.123Z");
  EXPECT_EQ(field_text(*ev, "leef.extensions.vendorKey"), "x=y");
}

TEST(leef, version_2_caret_and_hex_delimiters_and_dev_time_format) {
  auto n = make_normalizer();
  auto caret = n.normalize(
      source_type::leef, "LEEF:2.0|Lancope|StealthWatch|1.0|41|^|src=192.0.2.1^dst=172.16.0.5^"
                         "proto=6^devTimeFormat=MMM dd yyyy HH:mm:ss^devTime=Jan 18 2019 11:07:53");
  ASSERT_TRUE(caret) << caret.error().reason;
  EXPECT_EQ(field_text(*caret, "source.ip"), "192.0.2.1");
  EXPECT_EQ(field_text(*caret, "destination.ip"), "172.16.0.5");
  EXPECT_EQ(field_text(*caret, "network.transport"), "tcp");
  EXPECT_EQ(field_text(*caret, "@timestamp"), "2019-01-18T11:07:53.000Z");
  EXPECT_EQ(field_text(*caret, "leef.delimiter"), "^");

  auto hex =
      n.normalize(source_type::leef,
                  "LEEF:2.0|Vendor|Product|2.1|login|x7C|src=198.51.100.7|usrName=alice|"
                  "devTimeFormat=yyyy-MM-dd'T'HH:mm:ss.SSSZ|devTime=2019-01-18T11:07:53.250+0100");
  ASSERT_TRUE(hex) << hex.error().reason;
  EXPECT_EQ(field_text(*hex, "source.ip"), "198.51.100.7");
  EXPECT_EQ(field_text(*hex, "user.name"), "alice");
  EXPECT_EQ(field_text(*hex, "@timestamp"), "2019-01-18T10:07:53.250Z");

  auto tab = n.normalize(source_type::leef, "LEEF:2.0|V|P|1|E|x09|src=10.0.0.1\tdst=10.0.0.2");
  ASSERT_TRUE(tab) << tab.error().reason;
  EXPECT_EQ(field_text(*tab, "destination.ip"), "10.0.0.2");

  // No delimiter field at all: tab.
  auto none = n.normalize(source_type::leef, "LEEF:2.0|V|P|1|E|src=10.0.0.1\tsev=3");
  ASSERT_TRUE(none) << none.error().reason;
  EXPECT_EQ(field_text(*none, "source.ip"), "10.0.0.1");
  EXPECT_EQ(field_text(*none, "event.severity"), "3");
}

TEST(leef, malformed_lines_are_errors) {
  auto n = make_normalizer();
  for (std::string_view bad : {"not leef", "LEEF:1.0|V|P", "LEEF:"}) {
    auto ev = n.normalize(source_type::leef, bad);
    ASSERT_FALSE(ev) << bad;
    EXPECT_EQ(ev.error().code, errc::bad_format);
  }
}

TEST(panos, quoted_csv_fields_keep_commas_and_quotes) {
  auto n = make_normalizer();
  auto ev =
      n.normalize(source_type::panos,
                  "Oct 26 15:05:03 PA-VM 1,2021/10/26 15:05:03,0011,SYSTEM,general,2561,"
                  "2021/10/26 15:05:03,,general,,0,0,general,informational,"
                  "\"Connection closed: a, b \"\"quoted\"\"\",1234567890,0x0,0,0,0,0,,PA-VM,0,0,"
                  "2021-10-26T15:05:03.440-07:00");
  ASSERT_TRUE(ev) << ev.error().reason;
  EXPECT_EQ(field_text(*ev, "observer.serial_number"), "0011");
  EXPECT_EQ(field_text(*ev, "panw.panos.type"), "SYSTEM");
  EXPECT_EQ(field_text(*ev, "panw.panos.description"), "Connection closed: a, b \"quoted\"");
  // `message` is the raw text from the 4th cell after the type column on, quotes kept.
  EXPECT_TRUE(
      field_text(*ev, "message").starts_with(",general,,0,0,general,informational,\"Connection"))
      << field_text(*ev, "message");
  EXPECT_EQ(field_text(*ev, "observer.hostname"), "PA-VM");
}

} // namespace
} // namespace chainwatch::normalize::testing
