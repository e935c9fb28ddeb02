// The Windows event XML rendering goes through the windows table's `xml` variant and
// yields the same fields as the Winlogbeat JSON of the same event.

#include "test_util.hpp"

#include <gtest/gtest.h>

namespace chainwatch::normalize::testing {
namespace {

constexpr std::string_view xml_4625 =
    R"(<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>)"
    R"(<Provider Name='Microsoft-Windows-Security-Auditing' Guid='{54849625-5478-4994-A5BA-3E3B0328C30D}'/>)"
    R"(<EventID>4625</EventID><Version>0</Version><Level>0</Level><Task>12544</Task><Opcode>0</Opcode>)"
    R"(<Keywords>0x8010000000000000</Keywords><TimeCreated SystemTime='2024-03-02T10:15:30.1234567Z'/>)"
    R"(<EventRecordID>118345</EventRecordID><Correlation/><Execution ProcessID='636' ThreadID='4012'/>)"
    R"(<Channel>Security</Channel><Computer>dc01.corp.example</Computer><Security/></System>)"
    R"(<EventData><Data Name='SubjectUserSid'>S-1-0-0</Data><Data Name='SubjectUserName'>-</Data>)"
    R"(<Data Name='SubjectDomainName'>-</Data><Data Name='SubjectLogonId'>0x0</Data>)"
    R"(<Data Name='TargetUserSid'>S-1-0-0</Data><Data Name='TargetUserName'>bob</Data>)"
    R"(<Data Name='TargetDomainName'>CORP</Data><Data Name='Status'>0xC000006D</Data>)"
    R"(<Data Name='FailureReason'>%%2313</Data><Data Name='SubStatus'>0xC000006A</Data>)"
    R"(<Data Name='LogonType'>3</Data><Data Name='LogonProcessName'>NtLmSsp </Data>)"
    R"(<Data Name='AuthenticationPackageName'>NTLM</Data><Data Name='WorkstationName'>KALI</Data>)"
    R"(<Data Name='TransmittedServices'>-</Data><Data Name='LmPackageName'>-</Data>)"
    R"(<Data Name='KeyLength'>0</Data><Data Name='ProcessId'>0x0</Data><Data Name='ProcessName'>-</Data>)"
    R"(<Data Name='IpAddress'>192.0.2.44</Data><Data Name='IpPort'>50212</Data></EventData></Event>)";

TEST(windows_xml, logon_failure_4625_matches_the_winlogbeat_fields) {
  auto n = make_normalizer();
  auto ev = n.normalize(source_type::windows, xml_4625);
  ASSERT_TRUE(ev) << ev.error().reason << " at " << ev.error().offset;
  EXPECT_EQ(field_text(*ev, "event.code"), "4625");
  EXPECT_EQ(field_text(*ev, "@timestamp"), "2024-03-02T10:15:30.123Z");
  EXPECT_EQ(field_text(*ev, "event.provider"), "Microsoft-Windows-Security-Auditing");
  EXPECT_EQ(field_text(*ev, "host.name"), "dc01.corp.example");
  EXPECT_EQ(field_text(*ev, "winlog.record_id"), "118345");
  EXPECT_EQ(field_text(*ev, "event.outcome"), "failure");
  EXPECT_EQ(field_text(*ev, "user.name"), "bob");
  EXPECT_EQ(field_text(*ev, "source.ip"), "192.0.2.44");
  EXPECT_EQ(field_text(*ev, "source.port"), "50212");
  EXPECT_EQ(field_text(*ev, "winlog.logon.type"), "Network");
  EXPECT_EQ(field_text(*ev, "winlog.logon.failure.reason"), "Unknown user name or bad password.");
  EXPECT_EQ(field_text(*ev, "winlog.event_data.TargetDomainName"), "CORP");

  // The same event as Winlogbeat JSON gives the same values for these fields.
  auto json = n.normalize(
      source_type::windows,
      R"({"@timestamp":"2024-03-02T10:15:30.123Z","winlog":{"event_id":"4625","provider_name":"Microsoft-Windows-Security-Auditing",)"
      R"("computer_name":"dc01.corp.example","record_id":118345,"outcome":"failure","channel":"Security",)"
      R"("time_created":"2024-03-02T10:15:30.1234567Z","event_data":{"TargetUserName":"bob","TargetDomainName":"CORP",)"
      R"("Status":"0xC000006D","SubStatus":"0xC000006A","FailureReason":"%%2313","LogonType":"3",)"
      R"("IpAddress":"192.0.2.44","IpPort":"50212","SubjectUserName":"-","ProcessName":"-","ProcessId":"0x0"}}})");
  ASSERT_TRUE(json) << json.error().reason;
  for (const char* f :
       {"event.code", "event.provider", "host.name", "event.outcome", "user.name", "source.ip",
        "source.port", "winlog.logon.type", "winlog.logon.failure.reason",
        "winlog.logon.failure.status", "event.category", "event.type", "event.action"}) {
    EXPECT_EQ(field_text(*ev, f), field_text(*json, f)) << f;
  }
}

TEST(windows_xml, logon_4624_with_entities_and_rendering_info) {
  auto n = make_normalizer();
  const std::string_view xml =
      "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
      "<Event xmlns=\"http://schemas.microsoft.com/win/2004/08/events/event\">\n"
      "  <System>\n"
      "    <Provider Name=\"Microsoft-Windows-Security-Auditing\" />\n"
      "    <EventID>4624</EventID>\n"
      "    <Keywords>0x8020000000000000</Keywords>\n"
      "    <TimeCreated SystemTime=\"2024-03-02T10:16:00.000Z\" />\n"
      "    <EventRecordID>118346</EventRecordID>\n"
      "    <Channel>Security</Channel>\n"
      "    <Computer>ws07.corp.example</Computer>\n"
      "  </System>\n"
      "  <EventData>\n"
      "    <Data Name=\"TargetUserName\">alice</Data>\n"
      "    <Data Name=\"TargetDomainName\">CORP</Data>\n"
      "    <Data Name=\"LogonType\">10</Data>\n"
      "    <Data Name=\"IpAddress\">2001:db8::7</Data>\n"
      "    <Data Name=\"ProcessName\">C:\\Windows\\System32\\svchost.exe</Data>\n"
      "    <Data Name=\"LogonProcessName\">User32 &amp; &lt;x&gt; &#65;&#x42;</Data>\n"
      "    <Data Name=\"Empty\" />\n"
      "  </EventData>\n"
      "  <RenderingInfo Culture=\"en-US\"><Message>An account was successfully logged "
      "on.</Message></RenderingInfo>\n"
      "</Event>\n";
  auto ev = n.normalize(source_type::windows, xml);
  ASSERT_TRUE(ev) << ev.error().reason << " at " << ev.error().offset;
  EXPECT_EQ(field_text(*ev, "event.code"), "4624");
  EXPECT_EQ(field_text(*ev, "event.outcome"), "success");
  EXPECT_EQ(field_text(*ev, "user.name"), "alice");
  EXPECT_EQ(field_text(*ev, "source.ip"), "2001:db8::7");
  EXPECT_EQ(field_text(*ev, "winlog.logon.type"), "RemoteInteractive");
  EXPECT_EQ(field_text(*ev, "process.name"), "svchost.exe");
  EXPECT_EQ(field_text(*ev, "winlog.event_data.LogonProcessName"), "User32 & <x> AB");
  EXPECT_EQ(field_text(*ev, "message"), "An account was successfully logged on.");
}

TEST(windows_xml, hostile_or_broken_xml_is_an_error) {
  auto n = make_normalizer();
  for (std::string_view bad :
       {"<Event><System>", "<Event></System>", "<Event a=1></Event>", "<a></a><b></b>",
        "<!DOCTYPE x [<!ENTITY a \"aaaa\">]><Event>&a;</Event>", "<",
        "<Event><![CDATA[x</Event>"}) {
    auto ev = n.normalize(source_type::windows, bad);
    ASSERT_FALSE(ev) << bad;
    EXPECT_EQ(ev.error().code, errc::bad_format) << bad;
  }
  std::string deep;
  for (int i = 0; i < 100; ++i) {
    deep += "<a>";
  }
  auto ev = n.normalize(source_type::windows, deep);
  ASSERT_FALSE(ev);
  EXPECT_EQ(ev.error().code, errc::bad_format);
}

TEST(windows_xml, service_install_7045_is_a_service_installed_event_as_4697) {
  auto n = make_normalizer();
  const std::string nxlog =
      R"({"EventTime":"2026-11-02 10:00:04","Hostname":"ws6.corp.example","EventID":7045,)"
      R"("SourceName":"Service Control Manager","Channel":"System","ServiceName":"PSEXESVC",)"
      R"("ImagePath":"%SystemRoot%\\PSEXESVC.exe","AccountName":"LocalSystem"})";
  auto ev = n.normalize(source_type::windows, nxlog);
  ASSERT_TRUE(ev);
  EXPECT_EQ(field_text(*ev, "event.code"), "7045");
  EXPECT_EQ(field_text(*ev, "event.action"), "service-installed");
  EXPECT_EQ(field_text(*ev, "service.name"), "PSEXESVC");
}

} // namespace
} // namespace chainwatch::normalize::testing
