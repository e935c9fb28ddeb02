#include "chainwatch/wire/subjects.hpp"

#include <gtest/gtest.h>

using namespace chainwatch::wire;

TEST(wire_subjects, names) {
  EXPECT_EQ(ingest_subject("acme", "zeek-conn"), "cw.ingest.acme.zeek-conn");
  EXPECT_EQ(events_subject("acme", "o365"), "cw.events.acme.o365");
  EXPECT_EQ(partition_subject(12), "cw.part.12");
  EXPECT_EQ(match_subject("acme"), "cw.match.acme");
  EXPECT_EQ(alert_subject("acme", "high", "r-1"), "cw.alerts.acme.high.r-1");
  EXPECT_EQ(dlq_subject("acme"), "cw.dlq.acme");
  EXPECT_EQ(late_subject("acme"), "cw.late.acme");
}

TEST(wire_subjects, tokens) {
  EXPECT_TRUE(valid_token("Acme_01-x"));
  EXPECT_FALSE(valid_token(""));
  EXPECT_FALSE(valid_token("zeek.conn"));
  EXPECT_FALSE(valid_token("a*"));
  EXPECT_FALSE(valid_token("a>"));
  EXPECT_FALSE(valid_token("a b"));
  EXPECT_EQ(subject_token("cw.ingest.acme.zeek", 2), "acme");
  EXPECT_EQ(subject_token("cw.ingest.acme.zeek", 3), "zeek");
  EXPECT_EQ(subject_token("cw.ingest.acme.zeek", 4), "");
}
