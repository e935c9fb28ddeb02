// Unit tests: registry, timestamps, table compilation, Zeek (TSV + both JSON
// spellings), Windows (Winlogbeat + NXLog), and structured errors.

#include "test_util.hpp"

#include <gtest/gtest.h>

namespace chainwatch::normalize::testing {
namespace {

TEST(registry, names_round_trip_and_describe) {
  for (const auto& s : sources()) {
    auto t = parse_source_type(s.name);
    ASSERT_TRUE(t.has_value()) << s.name;
    EXPECT_EQ(*t, s.type);
    EXPECT_FALSE(s.description.empty());
    EXPECT_EQ(&info(s.type), &s);
  }
  EXPECT_FALSE(parse_source_type("nope").has_value());
  EXPECT_EQ(info(source_type::zeek_dns).name, "zeek.dns");
}

TEST(timestamps, formats) {
  EXPECT_EQ(parse_timestamp("1547188415.857497", "epoch"), 1547188415857497000);
  EXPECT_EQ(parse_timestamp("1547188415", "epoch"), 1547188415000000000);
  EXPECT_EQ(parse_timestamp("1547188415857", "epoch_ms"), 1547188415857000000);
  EXPECT_EQ(parse_timestamp("2019-03-29T21:45:35.177Z", "iso8601"), 1553895935177000000);
  EXPECT_EQ(parse_timestamp("2019-03-29T23:45:35.177+02:00", "iso8601"), 1553895935177000000);
  EXPECT_EQ(parse_timestamp("2019-03-29 21:45:35", "iso8601"), 1553895935000000000);
  // No zone: the source's default offset applies.
  EXPECT_EQ(parse_timestamp("2019-03-29 17:45:35", "iso8601", -4 * 3600), 1553895935000000000);
  EXPECT_EQ(parse_timestamp("132477460470000000", "filetime"), 1603272447000000000);
  const auto ref = parse_timestamp("2019-06-01T00:00:00Z", "iso8601");
  EXPECT_EQ(parse_timestamp("Mar 29 21:45:35", "syslog", 0, *ref), 1553895935000000000);
  EXPECT_EQ(parse_timestamp("Mar  9 21:45:35", "syslog", 0, *ref),
            parse_timestamp("2019-03-09T21:45:35Z", "iso8601"));
  EXPECT_EQ(parse_timestamp("29/Mar/2019:21:45:35 +0000", "%d/%b/%Y:%H:%M:%S %z"),
            1553895935000000000);
  EXPECT_FALSE(parse_timestamp("2019-13-01T00:00:00Z", "iso8601"));
  EXPECT_FALSE(parse_timestamp("garbage", "epoch"));
  EXPECT_FALSE(parse_timestamp("", "iso8601"));
  EXPECT_EQ(format_timestamp(1553895935177000000), "2019-03-29T21:45:35.177Z");
  EXPECT_EQ(format_timestamp(0), "1970-01-01T00:00:00.000Z");
}

TEST(tables, shipped_tables_compile) {
  auto n = make_normalizer();
  EXPECT_TRUE(n.has_table(source_type::zeek_http));
  EXPECT_TRUE(n.has_table(source_type::windows));
  EXPECT_TRUE(n.has_table(source_type::ecs));
}

TEST(tables, errors_name_the_table_and_line) {
  const table_text bad_toml[] = {{"broken", "[source\nname = 1"}};
  auto a = normalizer::create(bad_toml);
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().table, "broken");
  EXPECT_NE(a.error().reason.find("line"), std::string::npos);

  const table_text bad_type[] = {
      {"t",
       "[source]\nname='t'\n[[mapping]]\nmap = [ { from = 'a', to = 'b', type = 'nope' } ]\n"}};
  auto b = normalizer::create(bad_type);
  ASSERT_FALSE(b);
  EXPECT_NE(b.error().reason.find("nope"), std::string::npos);

  const table_text bad_map[] = {
      {"t",
       "[source]\nname='t'\n[[mapping]]\nmap = [ { from = 'a', to = 'b', map = 'missing' } ]\n"}};
  EXPECT_FALSE(normalizer::create(bad_map));
  const table_text no_source[] = {{"t", "[[mapping]]\n"}};
  EXPECT_FALSE(normalizer::create(no_source));
}

TEST(tables, a_table_maps_renames_types_and_value_maps) {
  const char* text = R"(
[source]
name = "windows"
kind_field = "id"
[maps.m]
"2" = "Interactive"
"*" = "Other"
[[mapping]]
constants = { "event.kind" = "event", "event.category" = ["authentication"] }
map = [
  { from = ["missing", "ts"], to = "@timestamp", type = "timestamp", format = "epoch" },
  { from = "pid", to = "process.pid", type = "hex" },
  { from = "lt", to = "winlog.logon.type", map = "m" },
  { from = "path", to = "process.name", type = "basename" },
]
[[mapping]]
kinds = ["7"]
constants = { "event.outcome" = "failure" }
derive = [ { to = "total", sum = ["process.pid", "process.pid"] } ]
)";
  const table_text tables[] = {{"windows", text}};
  auto n = normalizer::create(tables);
  ASSERT_TRUE(n) << n.error().reason;
  auto ev =
      n->normalize(source_type::windows,
                   R"({"id":7,"ts":1.5,"pid":"0x10","lt":"2","path":"C:\\a\\b.exe","x":{"y":1}})");
  ASSERT_TRUE(ev) << ev.error().reason;
  EXPECT_EQ(field_text(*ev, "@timestamp"), "1970-01-01T00:00:01.500Z");
  EXPECT_EQ(field_text(*ev, "process.pid"), "16");
  EXPECT_EQ(field_text(*ev, "winlog.logon.type"), "Interactive");
  EXPECT_EQ(field_text(*ev, "process.name"), "b.exe");
  EXPECT_EQ(field_text(*ev, "event.outcome"), "failure");
  EXPECT_EQ(field_text(*ev, "total"), "32");
  EXPECT_EQ(field_text(*ev, "x.y"), "1"); // unmapped input passes through under its key
  auto other = n->normalize(source_type::windows, R"({"id":8,"lt":"99"})");
  ASSERT_TRUE(other);
  EXPECT_EQ(field_text(*other, "winlog.logon.type"), "Other");
  EXPECT_EQ(field_text(*other, "event.outcome"), "");
}

constexpr const char* zeek_conn_dotted =
    R"({"ts":1547188415.857497,"uid":"CAcJw21BbVedgFnYH3","id.orig_h":"192.168.86.167","id.orig_p":38339,"id.resp_h":"192.168.86.1","id.resp_p":53,"proto":"udp","service":"dns","duration":0.076967,"conn_state":"SF","local_orig":true,"local_resp":false,"orig_pkts":1,"orig_ip_bytes":103,"resp_pkts":1,"resp_ip_bytes":206,"history":"Dd"})";
constexpr const char* zeek_conn_underscore =
    R"({"_path":"conn","ts":1547188415.857497,"uid":"CAcJw21BbVedgFnYH3","id_orig_h":"192.168.86.167","id_orig_p":38339,"id_resp_h":"192.168.86.1","id_resp_p":53,"proto":"udp","service":"dns","duration":0.076967,"conn_state":"SF","local_orig":true,"local_resp":false,"orig_pkts":1,"orig_ip_bytes":103,"resp_pkts":1,"resp_ip_bytes":206,"history":"Dd"})";

void expect_conn(const event::event& ev) {
  EXPECT_EQ(field_text(ev, "@timestamp"), "2019-01-11T06:33:35.857Z");
  EXPECT_EQ(field_text(ev, "source.ip"), "192.168.86.167");
  EXPECT_EQ(field_text(ev, "source.port"), "38339");
  EXPECT_EQ(field_text(ev, "destination.ip"), "192.168.86.1");
  EXPECT_EQ(field_text(ev, "destination.port"), "53");
  EXPECT_EQ(field_text(ev, "network.transport"), "udp");
  EXPECT_EQ(field_text(ev, "network.protocol"), "dns");
  EXPECT_EQ(field_text(ev, "network.bytes"), "309");
  EXPECT_EQ(field_text(ev, "network.direction"), "outbound");
  EXPECT_EQ(field_text(ev, "event.duration"), "76967000");
  EXPECT_EQ(field_text(ev, "event.id"), "CAcJw21BbVedgFnYH3");
  EXPECT_EQ(field_text(ev, "zeek.connection.history"), "Dd");
  EXPECT_EQ(field_text(ev, "zeek.connection.state_message"),
            "Normal establishment and termination.");
}

TEST(zeek, json_both_spellings_and_kind_sources) {
  auto n = make_normalizer();
  auto a = n.normalize(source_type::zeek_conn, zeek_conn_dotted);
  ASSERT_TRUE(a) << a.error().reason;
  expect_conn(*a);
  // `zeek` finds the kind in `_path`.
  auto b = n.normalize(source_type::zeek, zeek_conn_underscore);
  ASSERT_TRUE(b) << b.error().reason;
  expect_conn(*b);
  // ... or in the file name.
  auto c = n.normalize(source_type::zeek, zeek_conn_dotted, context{"/logs/conn.2019.log"});
  ASSERT_TRUE(c);
  expect_conn(*c);
  // Nested `id` objects read like the dotted spelling.
  auto d = n.normalize(
      source_type::zeek_conn,
      R"({"ts":1547188415.857497,"uid":"X","id":{"orig_h":"10.0.0.1","orig_p":1,"resp_h":"10.0.0.2","resp_p":2}})");
  ASSERT_TRUE(d);
  EXPECT_EQ(field_text(*d, "source.ip"), "10.0.0.1");
  EXPECT_EQ(field_text(*d, "destination.port"), "2");
}

TEST(zeek, tsv_stream_with_header) {
  auto n = make_normalizer();
  stream_reader r(n, source_type::zeek, context{"whatever.log"});
  const char* lines[] = {
      "#separator \\x09",
      "#set_separator\t,",
      "#empty_field\t(empty)",
      "#unset_field\t-",
      "#path\tdns",
      "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tquery\tqtype_"
      "name\trcode_name\tanswers\tTTLs\tRD\tRA",
      "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tstring\tstring\tvector[string]"
      "\tvector[interval]\tbool\tbool",
  };
  for (const char* l : lines) {
    auto res = r.next(l);
    ASSERT_TRUE(res) << res.error().reason;
    EXPECT_FALSE(res->has_value());
  }
  auto ev =
      r.next("1547188415.857497\tC1\t10.0.0.1\t5353\t10.0.0.2\t53\tudp\texample.com\tA\tNOERROR\t"
             "a.example.com,93.184.216.34\t60.000000,60.000000\tT\tF");
  ASSERT_TRUE(ev) << ev.error().reason;
  ASSERT_TRUE(ev->has_value());
  const auto& e = **ev;
  EXPECT_EQ(field_text(e, "@timestamp"), "2019-01-11T06:33:35.857Z");
  EXPECT_EQ(field_text(e, "dns.question.name"), "example.com");
  EXPECT_EQ(field_text(e, "dns.question.type"), "A");
  EXPECT_EQ(field_text(e, "dns.response_code"), "NOERROR");
  EXPECT_EQ(field_text(e, "event.outcome"), "success");
  EXPECT_EQ(field_text(e, "source.port"), "5353");
  EXPECT_EQ(field_text(e, "dns.header_flags"), "[RD\x1f]");
  EXPECT_EQ(field_text(e, "zeek.dns.answers"), "[93.184.216.34\x1f"
                                               "a.example.com\x1f]");
  // An unset field stays absent.
  auto unset =
      r.next("1547188415.857497\tC2\t10.0.0.1\t5353\t10.0.0.2\t53\tudp\t-\t-\t-\t-\t-\t-\t-");
  ASSERT_TRUE(unset && unset->has_value());
  EXPECT_EQ(field_text(**unset, "dns.question.name"), "");
}

TEST(zeek, tsv_data_before_header_is_an_error) {
  auto n = make_normalizer();
  stream_reader r(n, source_type::zeek_conn);
  auto ev = r.next("1547188415.857497\tC1\t10.0.0.1");
  ASSERT_FALSE(ev);
  EXPECT_EQ(ev.error().code, errc::missing_header);
  EXPECT_EQ(ev.error().source, "zeek.conn");
  EXPECT_EQ(ev.error().raw, "1547188415.857497\tC1\t10.0.0.1");
}

constexpr const char* winlogbeat_4625 =
    R"({"@timestamp":"2021-04-15T19:10:09.191Z","event":{"kind":"event","code":4625},
 "winlog":{"event_id":4625,"computer_name":"vagrant-2012-r2","time_created":"2019-03-29T21:45:35.177Z",
 "provider_name":"Microsoft-Windows-Security-Auditing","record_id":1585,"channel":"Security",
 "event_data":{"TargetUserName":"bosch","TargetDomainName":"VAGRANT-2012-R2","TargetUserSid":"S-1-0-0",
 "SubjectUserName":"vagrant","SubjectLogonId":"0x1008e","IpAddress":"::1","IpPort":"0","LogonType":"2",
 "Status":"0xc000006d","SubStatus":"0xC0000064","FailureReason":"%%2313","ProcessId":"0x344",
 "ProcessName":"C:\\Windows\\System32\\svchost.exe","WorkstationName":"VAGRANT-2012-R2"}}})";

void expect_4625(const event::event& ev) {
  EXPECT_EQ(field_text(ev, "event.code"), "4625");
  EXPECT_EQ(field_text(ev, "winlog.event_id"), "4625");
  EXPECT_EQ(field_text(ev, "event.category"), "[authentication\x1f]");
  EXPECT_EQ(field_text(ev, "event.type"), "[start\x1f]");
  EXPECT_EQ(field_text(ev, "event.action"), "logon-failed");
  EXPECT_EQ(field_text(ev, "event.outcome"), "failure");
  EXPECT_EQ(field_text(ev, "user.name"), "bosch");
  EXPECT_EQ(field_text(ev, "user.domain"), "VAGRANT-2012-R2");
  EXPECT_EQ(field_text(ev, "source.ip"), "::1");
  EXPECT_EQ(field_text(ev, "winlog.logon.type"), "Interactive");
  EXPECT_EQ(field_text(ev, "winlog.logon.failure.reason"), "Unknown user name or bad password.");
  EXPECT_EQ(field_text(ev, "winlog.logon.failure.sub_status"),
            "User logon with misspelled or bad user account");
  EXPECT_EQ(field_text(ev, "process.pid"), "836");
  EXPECT_EQ(field_text(ev, "process.name"), "svchost.exe");
}

TEST(windows, winlogbeat_logon_failure) {
  auto n = make_normalizer();
  auto ev = n.normalize(source_type::windows, winlogbeat_4625);
  ASSERT_TRUE(ev) << ev.error().reason;
  expect_4625(*ev);
  EXPECT_EQ(field_text(*ev, "@timestamp"), "2019-03-29T21:45:35.177Z");
  EXPECT_EQ(field_text(*ev, "host.name"), "vagrant-2012-r2");
  EXPECT_EQ(field_text(*ev, "winlog.event_data.TargetUserName"), "bosch"); // raw data kept
}

TEST(windows, nested_flat_and_mixed_keys_resolve_alike) {
  // Members of nested objects are looked up by name within their object prefix; dotted member
  // names and unknown objects must resolve exactly as the fully flattened keys would.
  auto n = make_normalizer();
  auto mixed = n.normalize(source_type::windows, R"({"winlog.event_id":4625,
    "winlog":{"computer_name":"vagrant-2012-r2","time_created":"2019-03-29T21:45:35.177Z",
    "provider_name":"Microsoft-Windows-Security-Auditing",
    "event_data.TargetUserName":"bosch","event_data":{"TargetDomainName":"VAGRANT-2012-R2",
    "IpAddress":"::1","IpPort":"0","LogonType":"2","Status":"0xc000006d",
    "SubStatus":"0xc0000064","FailureReason":"%%2313","ProcessId":"0x344",
    "ProcessName":"C:\\Windows\\System32\\svchost.exe"}},
    "custom":{"deep":{"x":1}}})");
  ASSERT_TRUE(mixed) << mixed.error().reason;
  expect_4625(*mixed);
  EXPECT_EQ(field_text(*mixed, "@timestamp"), "2019-03-29T21:45:35.177Z");
  EXPECT_EQ(field_text(*mixed, "host.name"), "vagrant-2012-r2");
  EXPECT_EQ(field_text(*mixed, "winlog.event_data.TargetUserName"), "bosch");
  EXPECT_EQ(field_text(*mixed, "custom.deep.x"), "1");
}

TEST(windows, nxlog_logon_failure) {
  auto n = make_normalizer();
  auto ev = n.normalize(source_type::windows, R"({"@timestamp":"2019-03-29T21:45:35.177Z",
    "EventID":4625,"Hostname":"vagrant-2012-r2","SourceName":"Microsoft-Windows-Security-Auditing",
    "EventType":"AUDIT_FAILURE","TargetUserName":"bosch","TargetDomainName":"VAGRANT-2012-R2",
    "IpAddress":"::1","IpPort":"0","LogonType":"2","Status":"0xc000006d","SubStatus":"0xc0000064",
    "FailureReason":"%%2313","ProcessId":"0x344","ProcessName":"C:\\Windows\\System32\\svchost.exe"})");
  ASSERT_TRUE(ev) << ev.error().reason;
  expect_4625(*ev);
  EXPECT_EQ(field_text(*ev, "host.name"), "vagrant-2012-r2");
  EXPECT_EQ(field_text(*ev, "winlog.event_data.LogonType"), "2");
}

TEST(cef, raw_line_with_syslog_prefix_escapes_and_aliases) {
  auto n = make_normalizer();
  auto ev =
      n.normalize(source_type::cef,
                  "Sep 19 08:26:10 host CEF:0|Security|threat\\|manager|1.0|100|worm stopped|low|"
                  "src=10.0.0.1 spt=1232 dst=2.1.2.2 msg=a\\=b c proto=TCP suser=alice "
                  "cs1Label=Email ID cs1=42");
  ASSERT_TRUE(ev) << ev.error().reason;
  EXPECT_EQ(field_text(*ev, "observer.vendor"), "Security");
  EXPECT_EQ(field_text(*ev, "observer.product"), "threat|manager");
  EXPECT_EQ(field_text(*ev, "event.code"), "100");
  EXPECT_EQ(field_text(*ev, "event.severity"), "0");
  EXPECT_EQ(field_text(*ev, "source.ip"), "10.0.0.1");
  EXPECT_EQ(field_text(*ev, "source.port"), "1232");
  EXPECT_EQ(field_text(*ev, "destination.ip"), "2.1.2.2");
  EXPECT_EQ(field_text(*ev, "message"), "a=b c");
  EXPECT_EQ(field_text(*ev, "network.transport"), "tcp");
  EXPECT_EQ(field_text(*ev, "source.user.name"), "alice");
  EXPECT_EQ(field_text(*ev, "cef.extensions.deviceCustomString1Label"), "Email ID");
  EXPECT_EQ(field_text(*ev, "cef.extensions.deviceCustomString1"), "42");
}

TEST(cef, json_envelope_and_malformed_lines) {
  auto n = make_normalizer();
  auto ev = n.normalize(
      source_type::cef,
      R"({"event":{"original":"CEF:0|Elastic|Vaporware|1.0|18|Web request|7|src=89.160.20.156"}})");
  ASSERT_TRUE(ev) << ev.error().reason;
  EXPECT_EQ(field_text(*ev, "source.ip"), "89.160.20.156");
  EXPECT_EQ(field_text(*ev, "event.severity"), "7");
  auto truncated = n.normalize(source_type::cef, "CEF:0|Elastic|Vaporware");
  ASSERT_FALSE(truncated);
  EXPECT_EQ(truncated.error().code, errc::bad_format);
  EXPECT_EQ(truncated.error().offset, 23u);
  auto no_line = n.normalize(source_type::cef, R"({"message":"hello"})");
  ASSERT_FALSE(no_line);
  EXPECT_EQ(no_line.error().code, errc::bad_format);
}

TEST(fortigate, key_value_syslog) {
  auto n = make_normalizer();
  auto ev =
      n.normalize(source_type::fortigate,
                  R"(<188>date=2020-04-23 time=12:17:48 devname="fw1" logid="0316013056" )"
                  R"(type="utm" srcip=192.168.2.1 srcport=61930 dstip=67.43.156.13 dstport=443 )"
                  R"(proto=6 action="blocked" msg="a \"quoted\" msg" sentbyte=1152 rcvdbyte=1130 )"
                  R"(vd="root" eventtime=1587230269052907555)");
  ASSERT_TRUE(ev) << ev.error().reason;
  EXPECT_EQ(field_text(*ev, "@timestamp"), "2020-04-23T12:17:48.000Z");
  EXPECT_EQ(field_text(*ev, "event.start"), "2020-04-18T17:17:49.052Z");
  EXPECT_EQ(field_text(*ev, "log.syslog.priority"), "188");
  EXPECT_EQ(field_text(*ev, "log.syslog.facility.code"), "23");
  EXPECT_EQ(field_text(*ev, "log.syslog.severity.code"), "4");
  EXPECT_EQ(field_text(*ev, "observer.name"), "fw1");
  EXPECT_EQ(field_text(*ev, "source.ip"), "192.168.2.1");
  EXPECT_EQ(field_text(*ev, "destination.port"), "443");
  EXPECT_EQ(field_text(*ev, "network.transport"), "tcp");
  EXPECT_EQ(field_text(*ev, "network.bytes"), "2282");
  EXPECT_EQ(field_text(*ev, "event.type"), "[denied\x1f]");
  EXPECT_EQ(field_text(*ev, "message"), "a \"quoted\" msg");
  EXPECT_EQ(field_text(*ev, "fortinet.firewall.vd"), "root");
  auto empty = n.normalize(source_type::fortigate, "no pairs here");
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, errc::bad_format);
}

TEST(cisco_asa, syslog_envelope_and_dissect_patterns) {
  auto n = make_normalizer();
  auto ev =
      n.normalize(source_type::cisco_asa,
                  "Oct 10 2018 12:34:56 localhost CiscoASA[999]: %ASA-6-302013: Built outbound "
                  "TCP connection 11757 for outside:192.168.205.104/80 (192.168.205.104/80) to "
                  "inside:172.31.98.44/1772 (172.31.98.44/1772)");
  ASSERT_TRUE(ev) << ev.error().reason;
  EXPECT_EQ(field_text(*ev, "@timestamp"), "2018-10-10T12:34:56.000Z");
  EXPECT_EQ(field_text(*ev, "host.hostname"), "localhost");
  EXPECT_EQ(field_text(*ev, "process.name"), "CiscoASA");
  EXPECT_EQ(field_text(*ev, "process.pid"), "999");
  EXPECT_EQ(field_text(*ev, "event.code"), "302013");
  EXPECT_EQ(field_text(*ev, "event.severity"), "6");
  EXPECT_EQ(field_text(*ev, "event.action"), "flow-creation");
  EXPECT_EQ(field_text(*ev, "source.ip"), "172.31.98.44"); // outbound: the inside host initiates
  EXPECT_EQ(field_text(*ev, "source.port"), "1772");
  EXPECT_EQ(field_text(*ev, "destination.ip"), "192.168.205.104");
  EXPECT_EQ(field_text(*ev, "network.transport"), "tcp");
  EXPECT_EQ(field_text(*ev, "network.iana_number"), "6");
  EXPECT_EQ(field_text(*ev, "cisco.asa.connection_id"), "11757");
  // No host, priority prefix: the message still parses.
  auto bare =
      n.normalize(source_type::cisco_asa,
                  "<188>May  5 17:51:17: %ASA-4-106023: Deny tcp src dmz:10.1.2.30/63016 dst "
                  "outside:192.168.0.8/53 by access-group \"acl_dmz\" [0xe3aab522, 0x0]");
  ASSERT_TRUE(bare) << bare.error().reason;
  EXPECT_EQ(field_text(*bare, "log.syslog.priority"), "188");
  EXPECT_EQ(field_text(*bare, "event.code"), "106023");
  EXPECT_EQ(field_text(*bare, "cisco.asa.rule_name"), "acl_dmz");
  EXPECT_EQ(field_text(*bare, "destination.port"), "53");
}

TEST(syslog, rfc3164_without_year_and_rfc5424) {
  auto n = make_normalizer();
  context ctx;
  ctx.now_ns = *parse_timestamp("2024-06-01T00:00:00Z", "iso8601");
  auto a = n.normalize(source_type::syslog,
                       "<34>Oct 11 22:14:15 mymachine su[42]: 'su root' failed", ctx);
  ASSERT_TRUE(a) << a.error().reason;
  EXPECT_EQ(field_text(*a, "@timestamp"),
            "2023-10-11T22:14:15.000Z"); // October is after June: last year
  EXPECT_EQ(field_text(*a, "host.hostname"), "mymachine");
  EXPECT_EQ(field_text(*a, "process.name"), "su");
  EXPECT_EQ(field_text(*a, "process.pid"), "42");
  EXPECT_EQ(field_text(*a, "log.syslog.facility.code"), "4");
  EXPECT_EQ(field_text(*a, "log.syslog.severity.code"), "2");
  EXPECT_EQ(field_text(*a, "message"), "'su root' failed");
  auto b = n.normalize(source_type::syslog,
                       "<165>1 2003-10-11T22:14:15.003Z host.example.com evntslog - ID47 "
                       "[exampleSDID@32473 iut=\"3\"] An application event");
  ASSERT_TRUE(b) << b.error().reason;
  EXPECT_EQ(field_text(*b, "@timestamp"), "2003-10-11T22:14:15.003Z");
  EXPECT_EQ(field_text(*b, "host.hostname"), "host.example.com");
  EXPECT_EQ(field_text(*b, "log.syslog.msgid"), "ID47");
  EXPECT_EQ(field_text(*b, "message"), "An application event");
}

TEST(syslog, year_less_times_at_the_year_boundary_and_one_digit_days) {
  auto n = make_normalizer();
  context new_year;
  new_year.now_ns = *parse_timestamp("2027-01-01T00:00:05Z", "iso8601");
  auto late = n.normalize(source_type::syslog, "<38>Dec 31 23:59:58 h sshd[1]: bye", new_year);
  ASSERT_TRUE(late) << late.error().reason;
  EXPECT_EQ(field_text(*late, "@timestamp"), "2026-12-31T23:59:58.000Z");
  context new_years_eve;
  new_years_eve.now_ns = *parse_timestamp("2026-12-31T23:59:55Z", "iso8601");
  auto early = n.normalize(source_type::syslog, "<38>Jan  1 00:00:01 h sshd[1]: hi", new_years_eve);
  ASSERT_TRUE(early) << early.error().reason;
  EXPECT_EQ(field_text(*early, "@timestamp"), "2027-01-01T00:00:01.000Z") << "a sender 6 s ahead";
  // `Mmm d` with a single space, as some devices send it.
  auto one_digit = n.normalize(source_type::syslog, "<38>Dec 7 12:14:15 h sshd[1]: x", new_year);
  ASSERT_TRUE(one_digit) << one_digit.error().reason;
  EXPECT_EQ(field_text(*one_digit, "@timestamp"), "2026-12-07T12:14:15.000Z");
  EXPECT_EQ(field_text(*one_digit, "host.hostname"), "h");
}

TEST(errors, bad_input_is_a_structured_error) {
  auto n = make_normalizer();
  auto bad = n.normalize(source_type::windows, R"({"EventID": 4625,)");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, errc::bad_json);
  EXPECT_EQ(bad.error().source, "windows");
  EXPECT_EQ(bad.error().raw, R"({"EventID": 4625,)");

  auto not_object = n.normalize(source_type::zeek_http, "[1,2]");
  ASSERT_FALSE(not_object);

  std::string deep(200, '[');
  deep = "{\"a\":" + deep + std::string(200, ']') + "}";
  auto too_deep = n.normalize(source_type::windows, deep);
  ASSERT_FALSE(too_deep);
  EXPECT_EQ(too_deep.error().code, errc::too_deep);

  const table_text tables[] = {{"zeek", "[source]\nname='zeek'\nformat='zeek'\n"}};
  auto small = normalizer::create(tables, limits{.max_bytes = 64});
  ASSERT_TRUE(small);
  auto big = small->normalize(source_type::zeek, std::string(100, ' '));
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code, errc::too_large);
  EXPECT_EQ(big.error().raw.size(), 100u);

  auto missing = small->normalize(source_type::windows, "{}");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, errc::no_table);

  auto unknown = n.normalize(source_type::panos, "1,2019/05/15 18:03:36,123,NOSUCHTYPE");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, errc::bad_format);
}

TEST(ecs, passthrough_keeps_the_document) {
  auto n = make_normalizer();
  auto ev = n.normalize(source_type::ecs,
                        R"({"source":{"ip":"1.2.3.4"},"event":{"category":["network"]}})");
  ASSERT_TRUE(ev);
  EXPECT_EQ(field_text(*ev, "source.ip"), "1.2.3.4");
}

TEST(normalizer, copies_share_tables_and_work_independently) {
  auto n = make_normalizer();
  normalizer copy = n;
  auto a = copy.normalize(source_type::zeek_conn, zeek_conn_dotted);
  ASSERT_TRUE(a);
  expect_conn(*a);
}

} // namespace
} // namespace chainwatch::normalize::testing

namespace chainwatch::normalize::testing {
namespace {

// Forwarders wrap structured logs in a syslog frame (rsyslog imfile, NXLog to_syslog_*): for JSON
// sources the frame is transport, the record inside is the event, in every framing.
TEST(framed, json_records_in_syslog_frames_are_the_records) {
  auto n = make_normalizer();
  const std::string zeek =
      R"({"ts":1521911958.864751,"uid":"C3","id.orig_h":"10.1.1.1","id.orig_p":1,)"
      R"("id.resp_h":"10.2.2.2","id.resp_p":22,"auth_success":false,"auth_attempts":1})";
  const std::string win =
      R"({"EventTime":"2020-10-22 04:29:55","Hostname":"WKST01","EventID":4625,)"
      R"("TargetUserName":"bob","IpAddress":"10.0.0.9","LogonType":3})";
  for (auto [source, record] :
       {std::pair{source_type::zeek, zeek}, std::pair{source_type::windows, win},
        std::pair{source_type::ecs, std::string(R"({"@timestamp":"2026-12-07T10:00:00Z"})")}}) {
    auto plain = n.normalize(source, record);
    ASSERT_TRUE(plain) << plain.error().reason;
    for (const std::string& frame : {"<134>1 2026-12-07T10:00:00Z sensor app 4242 - - " + record,
                                     "<134>Dec  7 10:00:00 sensor app[4242]: " + record,
                                     "<13>Dec 17 10:00:00 sensor " + record}) {
      auto framed = n.normalize(source, frame);
      ASSERT_TRUE(framed) << frame << ": " << framed.error().reason;
      EXPECT_EQ(flatten(*framed), flatten(*plain)) << frame;
    }
  }
  // In a stream too (a Zeek stream tells TSV lines from framed JSON).
  stream_reader r(n, source_type::zeek);
  auto ev = r.next("<134>1 2026-12-07T10:00:00Z sensor zeek - - - " + zeek);
  ASSERT_TRUE(ev && *ev);
  EXPECT_EQ(flatten(**ev).at("event.outcome"), "failure");
  // A frame around something else is not unwrapped: still a JSON error for a JSON source.
  EXPECT_FALSE(n.normalize(source_type::windows, "<134>Dec  7 10:00:00 host app: not json"));
  // A broken record in a frame: the dead letter is the whole line, the offset points into it.
  const std::string broken = "<134>Dec  7 10:00:00 host app: {\"EventID\": 4625,";
  auto bad = n.normalize(source_type::windows, broken);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().raw, broken);
  EXPECT_GE(bad.error().offset, broken.find('{'));
}

} // namespace
} // namespace chainwatch::normalize::testing
