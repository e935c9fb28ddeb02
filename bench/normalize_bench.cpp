// Raw line -> ECS event throughput for ~500-byte Zeek and Windows (JSON and XML)
// events, PAN-OS CSV and LEEF lines,
// with heap allocations per event (global operator new is counted).

#include <atomic>
#include <benchmark/benchmark.h>
#include <chainwatch/normalize/normalizer.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <new>
#include <sstream>
#include <string>
#include <vector>

namespace {

std::atomic<std::uint64_t> allocations{0};

} // namespace

void* operator new(std::size_t n) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) {
    return p;
  }
  throw std::bad_alloc();
}
// GCC cannot see that this operator delete pairs with the malloc-based operator new above.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}

namespace {

using namespace chainwatch::normalize;

normalizer make() {
  static std::vector<std::string> names;
  static std::vector<std::string> texts;
  std::vector<table_text> views;
  const auto dir = std::filesystem::path(__FILE__).parent_path() / "../config/sources";
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() == ".toml") {
      std::ifstream in(e.path(), std::ios::binary);
      std::ostringstream os;
      os << in.rdbuf();
      names.push_back(e.path().stem().string());
      texts.push_back(os.str());
    }
  }
  for (std::size_t i = 0; i < names.size(); ++i) {
    views.push_back({names[i], texts[i]});
  }
  auto n = normalizer::create(views);
  if (!n) {
    std::abort();
  }
  return std::move(*n);
}

// 470 bytes.
constexpr const char* zeek_conn =
    R"({"ts":1547188415.857497,"uid":"CAcJw21BbVedgFnYH3","id.orig_h":"192.168.86.167","id.orig_p":38339,"id.resp_h":"192.168.86.1","id.resp_p":53,"proto":"udp","service":"dns","duration":0.076967,"orig_bytes":75,"resp_bytes":178,"conn_state":"SF","local_orig":true,"local_resp":true,"missed_bytes":0,"history":"Dd","orig_pkts":1,"orig_ip_bytes":103,"resp_pkts":1,"resp_ip_bytes":206,"tunnel_parents":[]})";

// ~520 bytes.
constexpr const char* zeek_http =
    R"({"ts":1547687130.172944,"uid":"CCNp8v1SNzY7v9d1Ih","id.orig_h":"10.178.98.102","id.orig_p":62995,"id.resp_h":"17.253.5.203","id.resp_p":80,"trans_depth":1,"method":"GET","host":"ocsp.apple.com","uri":"/ocsp04-aaica02/ME4wTKADAgEAMEUwQzBBMAkGBSsOAwIaBQAEFNqvF","version":"1.1","user_agent":"com.apple.trustd/2.0","request_body_len":0,"response_body_len":3735,"status_code":200,"status_msg":"OK","tags":[],"resp_fuids":["F5zuip1tSwASjNAHy7"],"resp_mime_types":["application/ocsp-response"]})";

// ~560 bytes, Winlogbeat shape.
constexpr const char* winlogbeat_4625 =
    R"({"winlog":{"event_id":4625,"computer_name":"vagrant-2012-r2","time_created":"2019-03-29T21:45:35.177Z","provider_name":"Microsoft-Windows-Security-Auditing","record_id":1585,"channel":"Security","event_data":{"TargetUserName":"bosch","TargetDomainName":"VAGRANT-2012-R2","TargetUserSid":"S-1-0-0","SubjectUserName":"vagrant","SubjectLogonId":"0x1008e","IpAddress":"::1","IpPort":"0","LogonType":"2","Status":"0xc000006d","SubStatus":"0xc0000064","FailureReason":"%%2313","ProcessId":"0x344","ProcessName":"C:\\Windows\\System32\\svchost.exe"}}})";

// ~540 bytes, NXLog shape.
constexpr const char* nxlog_4776 =
    R"({"@timestamp":"2020-10-22T08:29:55.210Z","EventTime":"2020-10-22 04:29:53","Hostname":"MORDORDC.theshire.local","EventID":4776,"SourceName":"Microsoft-Windows-Security-Auditing","ProviderGuid":"{54849625-5478-4994-A5BA-3E3B0328C30D}","Channel":"Security","EventType":"AUDIT_FAILURE","RecordNumber":134058,"ThreadID":9596,"Task":14336,"PackageName":"MICROSOFT_AUTHENTICATION_PACKAGE_V1_0","TargetUserName":"lrodriguez","Workstation":"WORKSTATION5","Status":"0xc000006a","SeverityValue":4,"Severity":"ERROR"})";

// ~560 bytes, PAN-OS TRAFFIC CSV syslog.
constexpr const char* panos_traffic =
    "Nov 30 16:09:08 PA-220 1,2018/11/30 16:09:07,012801096514,TRAFFIC,end,2049,2018/11/30 "
    "16:09:07,192.168.15.207,175.16.199.1,192.168.1.63,175.16.199.1,new_outbound_from_trust,,,"
    "apple-maps,vsys1,trust,untrust,ethernet1/2,ethernet1/1,send_to_mac,2018/11/30 16:09:07,22751,"
    "1,55113,443,16418,443,0x400053,tcp,allow,7734,1758,5976,36,2018/11/30 15:59:04,586,computer-"
    "and-internet-info,0,32091112,0x0,192.168.0.0-192.168.255.255,United States,0,16,20,tcp-fin,0,"
    "0,0,0,,PA-220,from-policy,,,0,,0,,N/A,0,0,0,0";

// ~230 bytes, LEEF 1.0 with a syslog header.
constexpr const char* leef_v1 =
    "<13>Jan 18 11:07:53 fw01 LEEF:1.0|Microsoft|MSExchange|4.0 SP1|15345|src=10.50.1.1\tdst=2.10."
    "20.20\tsrcPort=51223\tdstPort=443\tproto=TCP\tusrName=bob\tsev=5\tcat=Auth Failure\t"
    "devTime=1547809673123";

// ~900 bytes, the Windows event XML rendering of a 4625.
constexpr const char* windows_xml_4625 =
    "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider "
    "Name='Microsoft-Windows-Security-Auditing'/><EventID>4625</EventID><Keywords>"
    "0x8010000000000000</Keywords><TimeCreated SystemTime='2019-03-29T21:45:35.177Z'/>"
    "<EventRecordID>1585</EventRecordID><Channel>Security</Channel><Computer>vagrant-2012-r2"
    "</Computer></System><EventData><Data Name='TargetUserName'>bosch</Data><Data "
    "Name='TargetDomainName'>VAGRANT-2012-R2</Data><Data Name='SubjectUserName'>vagrant</Data>"
    "<Data Name='IpAddress'>::1</Data><Data Name='IpPort'>0</Data><Data Name='LogonType'>2</Data>"
    "<Data Name='Status'>0xc000006d</Data><Data Name='SubStatus'>0xc0000064</Data><Data "
    "Name='FailureReason'>%%2313</Data><Data Name='ProcessId'>0x344</Data><Data "
    "Name='ProcessName'>C:\\Windows\\System32\\svchost.exe</Data></EventData></Event>";

void run(benchmark::State& state, const char* line, source_type src) {
  normalizer n = make();
  const std::string_view raw(line);
  std::uint64_t events = 0;
  (void)n.normalize(src, raw); // warm the scratch buffers
  const std::uint64_t before = allocations.load();
  for (auto _ : state) {
    auto ev = n.normalize(src, raw);
    benchmark::DoNotOptimize(ev);
    ++events;
  }
  const std::uint64_t allocs = allocations.load() - before;
  state.SetItemsProcessed(static_cast<std::int64_t>(events));
  state.SetBytesProcessed(static_cast<std::int64_t>(events * raw.size()));
  state.counters["allocs_per_event"] = static_cast<double>(allocs) / static_cast<double>(events);
  state.counters["bytes"] = static_cast<double>(raw.size());
}

void zeek_conn_json(benchmark::State& s) {
  run(s, zeek_conn, source_type::zeek_conn);
}
void zeek_http_json(benchmark::State& s) {
  run(s, zeek_http, source_type::zeek_http);
}
void windows_winlogbeat(benchmark::State& s) {
  run(s, winlogbeat_4625, source_type::windows);
}
void windows_nxlog(benchmark::State& s) {
  run(s, nxlog_4776, source_type::windows);
}

void panos_csv(benchmark::State& s) {
  run(s, panos_traffic, source_type::panos);
}
void leef_syslog(benchmark::State& s) {
  run(s, leef_v1, source_type::leef);
}
void windows_xml(benchmark::State& s) {
  run(s, windows_xml_4625, source_type::windows);
}

BENCHMARK(zeek_conn_json);
BENCHMARK(zeek_http_json);
BENCHMARK(windows_winlogbeat);
BENCHMARK(windows_nxlog);
BENCHMARK(panos_csv);
BENCHMARK(leef_syslog);
BENCHMARK(windows_xml);

} // namespace

BENCHMARK_MAIN();
