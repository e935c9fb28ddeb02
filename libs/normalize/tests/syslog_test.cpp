// The syslog envelope parser (src/syslog.cpp), seen through a table without mappings: every
// input it produces passes through under its own key.

#include "test_util.hpp"

#include <gtest/gtest.h>

namespace chainwatch::normalize::testing {
namespace {

bool has(const event::event& ev, std::string_view path) {
  return ev.get(event::field_path(path)).exists();
}

class syslog_envelope : public ::testing::Test {
protected:
  void SetUp() override {
    const table_text tables[] = {{"syslog", "[source]\nname = 'syslog'\nformat = 'syslog'\n"}};
    auto n = normalizer::create(tables);
    ASSERT_TRUE(n) << n.error().reason;
    n_.emplace(std::move(*n));
  }
  event::event parse(std::string_view line) {
    auto ev = n_->normalize(source_type::syslog, line);
    EXPECT_TRUE(ev) << ev.error().reason;
    return ev ? std::move(*ev) : event::event{};
  }
  std::optional<normalizer> n_;
};

TEST_F(syslog_envelope, rfc5424_nilvalue_is_absent) {
  auto ev = parse("<38>1 2026-12-07T10:00:00Z - - - - - Failed password for root");
  EXPECT_EQ(field_text(ev, "syslog.priority"), "38");
  EXPECT_EQ(field_text(ev, "syslog.version"), "1");
  EXPECT_EQ(field_text(ev, "syslog.timestamp"), "2026-12-07T10:00:00Z");
  for (const char* absent : {"syslog.hostname", "syslog.program", "syslog.pid", "syslog.msgid"}) {
    EXPECT_FALSE(has(ev, absent)) << absent;
  }
  EXPECT_EQ(field_text(ev, "syslog.message"), "Failed password for root");
  auto app = parse("<38>1 2026-12-07T10:00:00Z myhost sshd 123 - - hello");
  EXPECT_EQ(field_text(app, "syslog.hostname"), "myhost");
  EXPECT_EQ(field_text(app, "syslog.program"), "sshd");
  EXPECT_EQ(field_text(app, "syslog.pid"), "123");
  EXPECT_FALSE(has(app, "syslog.msgid"));
  EXPECT_EQ(field_text(app, "syslog.message"), "hello");
}

TEST_F(syslog_envelope, rfc5424_structured_data_params) {
  auto ev = parse(R"(<165>1 2003-10-11T22:14:15.003Z host.example.com evntslog - ID47 )"
                  R"([exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"])"
                  R"([examplePriority@32473 class="high" note="a \"q\" \] x"]   An event)");
  EXPECT_EQ(field_text(ev, "syslog.msgid"), "ID47");
  EXPECT_EQ(field_text(ev, "log.syslog.structured_data.exampleSDID@32473.iut"), "3");
  EXPECT_EQ(field_text(ev, "log.syslog.structured_data.exampleSDID@32473.eventSource"),
            "Application");
  EXPECT_EQ(field_text(ev, "log.syslog.structured_data.examplePriority@32473.class"), "high");
  EXPECT_EQ(field_text(ev, "log.syslog.structured_data.examplePriority@32473.note"), "a \"q\" ] x");
  EXPECT_EQ(field_text(ev, "syslog.message"), "An event");
  // An SD element that never closes is a format error, not a guess.
  auto bad = n_->normalize(source_type::syslog, "<165>1 2003-10-11T22:14:15Z h a - - [id k=\"v");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, errc::bad_format);
}

TEST_F(syslog_envelope, rfc3164_hosts_and_tags) {
  // A tag with spaces, and one with a bracketed part that is not a pid (macOS).
  auto chrome = parse("Dec 13 11:35:28 a-mac Google Chrome Helper[21412]: text: more");
  EXPECT_EQ(field_text(chrome, "syslog.hostname"), "a-mac");
  EXPECT_EQ(field_text(chrome, "syslog.program"), "Google Chrome Helper");
  EXPECT_EQ(field_text(chrome, "syslog.pid"), "21412");
  EXPECT_EQ(field_text(chrome, "syslog.message"), "text: more");
  auto launchd = parse("Dec 13 11:35:28 a-mac com.apple.xpc.launchd[1] (com.apple.ql[21498]): x");
  EXPECT_EQ(field_text(launchd, "syslog.program"),
            "com.apple.xpc.launchd[1] (com.apple.ql[21498])");
  EXPECT_FALSE(has(launchd, "syslog.pid"));
  // Two spaces: an empty host.
  auto no_host = parse("Feb 22 10:21:43  sshd[1332]: last message repeated 2 times");
  EXPECT_FALSE(has(no_host, "syslog.hostname"));
  EXPECT_EQ(field_text(no_host, "syslog.program"), "sshd");
  EXPECT_EQ(field_text(no_host, "syslog.pid"), "1332");
  // No host and no tag: the rest is the message.
  auto bare = parse("Apr  4 03:39:57 --- last message repeated 1 time ---");
  EXPECT_FALSE(has(bare, "syslog.hostname"));
  EXPECT_FALSE(has(bare, "syslog.program"));
  EXPECT_EQ(field_text(bare, "syslog.message"), "--- last message repeated 1 time ---");
  // ISO 8601 time (rsyslog), with a zone or without.
  auto iso = parse("2019-06-14T13:01:15.412+01:30 localhost pam: user nobody logged out.");
  EXPECT_EQ(field_text(iso, "syslog.timestamp"), "2019-06-14T13:01:15.412+01:30");
  EXPECT_EQ(field_text(iso, "syslog.program"), "pam");
  EXPECT_EQ(field_text(iso, "syslog.message"), "user nobody logged out.");
  // `Mmm d` after one space, and a priority.
  auto one = parse("<86>Dec 7 12:14:15 h sudo:  alice : TTY=pts/0");
  EXPECT_EQ(field_text(one, "syslog.timestamp"), "Dec 7 12:14:15");
  EXPECT_EQ(field_text(one, "syslog.message"), "alice : TTY=pts/0");
  // `host: text` (Cisco) has a host and no tag; `host : text` an empty tag.
  auto asa = parse("May  5 17:51:17 dev01: %ASA-6-302013: Built");
  EXPECT_EQ(field_text(asa, "syslog.hostname"), "dev01");
  EXPECT_FALSE(has(asa, "syslog.program"));
  EXPECT_EQ(field_text(asa, "syslog.message"), "%ASA-6-302013: Built");
  auto spaced = parse("<190>Mar 03 2023 09:01:16 fw : %ASA-6-113004: AAA");
  EXPECT_EQ(field_text(spaced, "syslog.timestamp"), "Mar 03 2023 09:01:16");
  EXPECT_EQ(field_text(spaced, "syslog.message"), "%ASA-6-113004: AAA");
}

TEST_F(syslog_envelope, a_multi_line_record_keeps_its_continuation_lines) {
  auto ev = parse("May 21 21:54:44 localhost foo[1234]: This message\n spans multiple lines.");
  EXPECT_EQ(field_text(ev, "syslog.program"), "foo");
  EXPECT_EQ(field_text(ev, "syslog.message"), "This message\n spans multiple lines.");
  // The tag is looked for on the first line only.
  auto later = parse("May 21 21:54:44 localhost no tag here\nkey: value");
  EXPECT_FALSE(has(later, "syslog.program"));
  EXPECT_EQ(field_text(later, "syslog.message"), "no tag here\nkey: value");
}

} // namespace
} // namespace chainwatch::normalize::testing
