// chainwatch-bench-pipeline: end-to-end benchmark of the mesh (bench/pipeline/run.sh drives it).
//
//   chainwatch-bench-pipeline gen --events N --out FILE --rules-dir DIR [--seed S]
//       writes N raw ECS JSON lines (authentication + HTTP network events over many users and
//       hosts, with planted brute-force and download-then-POST chains) and 100 detection-rules
//       TOML files (variations of the two seed rules in config/rules/).
//   chainwatch-bench-pipeline run --nats URL --run-dir DIR --monitor PORT --events FILE
//       [--customer C] [--lateness-ms L] [--rate EV_PER_S] [--quiet-ms Q] [--timeout-s T]
//       [--results FILE]
//       [--command TEXT]
//       publishes the events as raw_batch messages into CW_INGEST exactly like `chainwatch replay`
//       (1000 records per batch, async JetStream publish, msg ids, then the .eof marker), with
//       each event's @timestamp rewritten to the wall clock at publish (so event time ~ wall time
//       and watermark-to-alert latency is meaningful), polls every service's Prometheus counters,
//       collects the alerts, checks nats-server /varz for slow consumers, reads per-service CPU
//       from /proc, and then measures raw core NATS pub->sub throughput for the same bytes on the
//       same server. Prints a table; appends it to --results.
//   chainwatch-bench-pipeline stages --events FILE --rules-dir DIR [--lists DIR]
//       [--partitions P] [--round R] [--repeat N] [--matches FILE]
//       runs the normalizer, watermark and matcher stages in this process, one after the other,
//       each N times (default 3), and prints each one's least CPU time per event (stages.cpp):
//       the A/B measure for one stage. The last round ends the input (end-of-input markers), so
//       the matches (--matches: one JSON line each) are all of them, as `chainwatch hunt` finds.

#include "stages.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <atomic>
#include <chainwatch/service/mesh.hpp>
#include <chainwatch/service/nats_client.hpp>
#include <chainwatch/wire/messages.hpp>
#include <chainwatch/wire/subjects.hpp>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <netinet/in.h>
#include <random>
#include <sstream>
#include <string>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace fs = std::filesystem;
namespace svc = chainwatch::service;
namespace wire = chainwatch::wire;
using steady = std::chrono::steady_clock;

namespace {

std::int64_t wall_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
double secs(steady::time_point a, steady::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// ---------------------------------------------------------------------------------------------
// Generation
// ---------------------------------------------------------------------------------------------

// Every line starts with this prefix followed by a fixed-width (27 char) ISO timestamp with
// microseconds, so `run` can rewrite it in place.
constexpr std::string_view ts_prefix = "{\"@timestamp\":\"";
constexpr std::size_t ts_width = 27; // 2026-11-28T06:40:00.123456Z

void format_ts(char* out, std::int64_t ns) {
  // The date and time change once a second: formatted then, the microseconds every time (this
  // runs for every event the publisher sends, on the same two cores as the mesh).
  thread_local std::time_t cached_s = -1;
  thread_local char cached[20]; // 2026-11-28T06:40:00
  std::time_t s = ns / 1'000'000'000;
  if (s != cached_s) {
    std::tm tm{};
    gmtime_r(&s, &tm);
    char buf[64]; // room for any int the compiler cannot rule out
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    std::memcpy(cached, buf, sizeof cached - 1);
    cached_s = s;
  }
  std::memcpy(out, cached, 19);
  out[19] = '.';
  long us = static_cast<long>((ns % 1'000'000'000) / 1000);
  for (int i = 25; i >= 20; --i, us /= 10)
    out[i] = static_cast<char>('0' + us % 10);
  out[26] = 'Z';
}

struct generator {
  std::mt19937_64 rng;
  std::int64_t t_ns;
  int users = 20000, hosts = 4000;
  explicit generator(std::uint64_t seed) : rng(seed), t_ns(wall_ns()) {}

  std::uint64_t r(std::uint64_t n) { return rng() % n; }
  std::string hex(int n) {
    static const char* d = "0123456789abcdef";
    std::string s;
    for (int i = 0; i < n; ++i)
      s += d[r(16)];
    return s;
  }
  std::string ts() {
    t_ns += 1000 + static_cast<std::int64_t>(r(9000)); // ~ 200k events per event-time second
    std::string s(ts_width, ' ');
    format_ts(s.data(), t_ns);
    return s;
  }
  static std::string host_name(int h) {
    char b[16];
    std::snprintf(b, sizeof b, "ws-%04d", h);
    return b;
  }
  static std::string host_ip(int h) {
    return "10." + std::to_string(20 + h / 65536) + "." + std::to_string((h / 256) % 256) + "." +
           std::to_string(h % 256);
  }

  std::string auth(const std::string& user, bool success, int host, const std::string& src) {
    const char* code = success ? "4624" : "4625";
    std::string e = std::string(ts_prefix) + ts() +
                    "\",\"event\":{\"category\":[\"authentication\"],\"type\":[\"start\"],"
                    "\"action\":\"" +
                    (success ? "logged-in" : "logon-failed") + "\",\"outcome\":\"" +
                    (success ? "success" : "failure") + "\",\"code\":\"" + code + "\",\"id\":\"" +
                    hex(16) + "\"},\"user\":{\"name\":\"" + user +
                    "\",\"domain\":\"CORP\",\"id\":\"S-1-5-21-3623811015-3361044348-" +
                    std::to_string(1000 + r(90000)) + "\"},\"source\":{\"ip\":\"" + src +
                    "\",\"port\":" + std::to_string(49152 + r(16000)) + "},\"host\":{\"name\":\"" +
                    host_name(host) +
                    "\",\"os\":{\"family\":\"windows\",\"version\":\"10.0\"}},\"winlog\":{"
                    "\"event_id\":" +
                    code + ",\"channel\":\"Security\",\"logon\":{\"type\":\"" +
                    (r(3) ? "Network" : "Interactive") +
                    "\"}},\"agent\":{\"type\":\"winlogbeat\",\"version\":\"8.11.0\"}}";
    return e;
  }

  std::string http(int host, const char* method, const std::string& domain, const std::string& path,
                   const std::string& ext) {
    std::string e =
        std::string(ts_prefix) + ts() +
        "\",\"event\":{\"category\":[\"network\"],\"type\":[\"connection\","
        "\"protocol\"],\"dataset\":\"zeek.http\",\"id\":\"C" +
        hex(17) + "\"},\"source\":{\"ip\":\"" + host_ip(host) +
        "\",\"port\":" + std::to_string(49152 + r(16000)) + "},\"host\":{\"name\":\"" +
        host_name(host) + "\"},\"destination\":{\"ip\":\"203.0.113." + std::to_string(1 + r(250)) +
        "\",\"port\":80},\"http\":{\"request\":{"
        "\"method\":\"" +
        method + "\",\"bytes\":" + std::to_string(200 + r(4000)) +
        "},\"response\":{\"status_code\":200,\"bytes\":" + std::to_string(500 + r(900000)) +
        "}},\"url\":{\"domain\":\"" + domain + "\",\"path\":\"" + path + "\",\"original\":\"" +
        path + "\"},\"user_agent\":{\"original\":\"Mozilla/5.0 (Windows NT 10.0; Win64; x64)\"}";
    if (!ext.empty()) e += ",\"file\":{\"extension\":\"" + ext + "\"}";
    e += "}";
    return e;
  }
};

int cmd_gen(int argc, char** argv) {
  long n = 300'000;
  std::string out, rules_dir;
  std::uint64_t seed = 42;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--events" && i + 1 < argc)
      n = std::atol(argv[++i]);
    else if (a == "--out" && i + 1 < argc)
      out = argv[++i];
    else if (a == "--rules-dir" && i + 1 < argc)
      rules_dir = argv[++i];
    else if (a == "--seed" && i + 1 < argc)
      seed = std::strtoull(argv[++i], nullptr, 10);
    else {
      std::cerr << "gen: unknown option " << a << "\n";
      return 64;
    }
  }
  if (out.empty() || rules_dir.empty()) {
    std::cerr << "gen: --out and --rules-dir are required\n";
    return 64;
  }
  generator g(seed);
  std::ofstream f(out);
  static const char* benign[] = {"www.example.com",  "cdn.example.net",       "updates.example.org",
                                 "mail.example.com", "intranet.corp.example", "api.example.io"};
  static const char* exts[] = {"js", "png", "css", "exe", "json", "dll", "html", "msi"};
  static const char* c2[] = {"c2.badcdn.example", "evil-updates.example", "payload-drop.example"};
  // Planted chains, spread evenly; each consumes a few lines of the budget.
  const long brute_chains = std::max(4L, n / 20000), dl_chains = std::max(4L, n / 20000);
  const long every = std::max(1L, n / (brute_chains + dl_chains + 1)); // n < 9: no zero
  long written = 0, bf = 0, dl = 0, total_bytes = 0;
  auto put = [&](const std::string& line) {
    f << line << '\n';
    total_bytes += static_cast<long>(line.size());
    ++written;
  };
  while (written < n) {
    if (written > 0 && written % every == 0 && written + 10 < n &&
        bf + dl < brute_chains + dl_chains) {
      if (bf <= dl) { // brute force: 7 failures then a success for one account, one source
        std::string user = "svc-victim" + std::to_string(bf);
        std::string src = "198.51.100." + std::to_string(10 + bf % 200);
        int host = static_cast<int>(g.r(g.hosts));
        for (int k = 0; k < 7; ++k)
          put(g.auth(user, false, host, src));
        put(g.auth(user, true, host, src));
        ++bf;
      } else { // executable download, then a POST to a threat-intel domain from the same host
        int host = static_cast<int>(g.r(g.hosts));
        put(g.http(host, "GET", "files.payload-drop.example",
                   "/dl/invoice" + std::to_string(dl) + ".exe", "exe"));
        for (int k = 0; k < 3; ++k)
          put(g.http(static_cast<int>(g.r(g.hosts)), "GET", benign[g.r(6)], "/index.html", "html"));
        put(g.http(host, "POST", c2[dl % 3], "/gate.php", ""));
        ++dl;
      }
      continue;
    }
    if (g.r(100) < 40) {
      int u = static_cast<int>(g.r(g.users));
      bool ok = g.r(1000) >= 5; // 0.5% failed logons (typos)
      int host = static_cast<int>(g.r(g.hosts));
      put(g.auth("user" + std::to_string(u), ok, host, generator::host_ip(host)));
    } else {
      int host = static_cast<int>(g.r(g.hosts));
      bool post = g.r(100) < 15;
      std::string ext = post ? "" : (g.r(3) ? exts[g.r(8)] : "");
      std::string path = "/assets/" + std::to_string(g.r(100000)) + (ext.empty() ? "" : "." + ext);
      put(g.http(host, post ? "POST" : "GET", benign[g.r(6)], path, ext));
    }
  }

  // 100 rules: 50 variations of each seed detection.
  fs::create_directories(rules_dir);
  static const char* sev[] = {"low", "medium", "high", "critical"};
  static const char* fail_cond[] = {"event.outcome == \"failure\"", "event.code == \"4625\"",
                                    "event.action == \"logon-failed\"", "winlog.event_id == 4625"};
  static const char* ok_cond[] = {"event.outcome == \"success\"", "event.code == \"4624\"",
                                  "event.action == \"logged-in\"", "winlog.event_id == 4624"};
  static const char* bf_keys[] = {"user.name", "user.name, source.ip", "user.name, host.name"};
  static const char* spans[] = {"1m", "2m", "5m", "10m", "15m"};
  static const char* ext_sets[] = {"\"exe\", \"dll\", \"scr\", \"msi\"", "\"exe\"",
                                   "\"exe\", \"dll\"", "\"exe\", \"msi\", \"bat\", \"ps1\""};
  static const char* path_sets[] = {"\"*.exe\", \"*.dll\", \"*.scr\", \"*.msi\"", "\"*.exe\"",
                                    "\"/dl/*\", \"*.exe\""};
  static const char* dom_cond[] = {"inList(url.domain, \"threat_domains\")",
                                   "url.domain in (\"c2.badcdn.example\", "
                                   "\"evil-updates.example\", \"payload-drop.example\")",
                                   "url.domain like~ (\"*.badcdn.example\", \"evil-*\", "
                                   "\"payload-*\")",
                                   "inList(url.domain, \"threat_domains\") and http.request.bytes "
                                   "> 100"};
  static const char* dl_keys[] = {"source.ip", "host.name"};
  for (int i = 0; i < 100; ++i) {
    char id[64];
    std::snprintf(id, sizeof id, "b0e1c2d3-0000-4000-8000-%012d", i);
    std::string query, name, desc;
    if (i < 50) {
      int runs = 3 + i % 5;
      name = "Bench Brute Force " + std::to_string(i) + " (runs=" + std::to_string(runs) + ")";
      desc = "Repeated failed authentications followed by a success (bench variation).";
      query = std::string("sequence by ") + bf_keys[i % 3] + " with maxspan=" + spans[i % 5] +
              "\n  [authentication where " + fail_cond[i % 4] +
              "] with runs=" + std::to_string(runs) + "\n  [authentication where " +
              ok_cond[(i / 4) % 4] + "]\n";
    } else {
      int j = i - 50;
      name = "Bench Download Then POST " + std::to_string(j);
      desc = "Executable download followed by a POST to a threat-intel domain (bench variation).";
      query = std::string("sequence by ") + dl_keys[j % 2] + " with maxspan=" + spans[j % 5] +
              "\n  [network where http.request.method == \"GET\" and\n     (file.extension in~ (" +
              ext_sets[j % 4] + ") or url.path like~ (" + path_sets[j % 3] +
              "))]\n  [network where http.request.method == \"POST\" and " + dom_cond[(j / 2) % 4] +
              "]\n";
    }
    std::ofstream r(rules_dir + "/bench_rule_" + std::to_string(i) + ".toml");
    r << "[metadata]\ncreation_date = \"2026/11/28\"\nmaturity = \"production\"\n"
         "updated_date = \"2026/11/28\"\n\n[rule]\nauthor = [\"chainwatch-bench\"]\n"
         "description = \""
      << desc << "\"\nlanguage = \"eql\"\nlicense = \"Apache-2.0\"\nname = \"" << name
      << "\"\nrisk_score = " << 21 + i % 79 << "\nrule_id = \"" << id << "\"\nseverity = \""
      << sev[i % 4] << "\"\ntags = [\"bench\"]\ntype = \"eql\"\nquery = '''\n"
      << query << "'''\n";
  }
  std::fprintf(stderr,
               "gen: %ld events (%.0f B avg), %ld brute-force and %ld download chains planted, "
               "100 rules in %s\n",
               written, written ? double(total_bytes) / double(written) : 0.0, bf, dl,
               rules_dir.c_str());
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Run
// ---------------------------------------------------------------------------------------------

std::string http_get(const std::string& hostport, const std::string& path) {
  auto colon = hostport.rfind(':');
  std::string host = hostport.substr(0, colon);
  int port = std::atoi(hostport.c_str() + colon + 1);
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return {};
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  inet_pton(AF_INET, host.c_str(), &a.sin_addr);
  timeval tv{2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return {};
  }
  std::string req = "GET " + path + " HTTP/1.0\r\nHost: " + host + "\r\nConnection: close\r\n\r\n";
  (void)!::write(fd, req.data(), req.size());
  std::string out;
  char buf[65536];
  for (;;) {
    auto k = ::read(fd, buf, sizeof buf);
    if (k <= 0) break;
    out.append(buf, static_cast<std::size_t>(k));
  }
  ::close(fd);
  auto body = out.find("\r\n\r\n");
  return body == std::string::npos ? out : out.substr(body + 4);
}

/// Sum of all samples of a Prometheus metric (any labels).
double metric(const std::string& text, const std::string& name) {
  double sum = 0;
  std::size_t pos = 0;
  while ((pos = text.find(name, pos)) != std::string::npos) {
    bool line_start = pos == 0 || text[pos - 1] == '\n';
    std::size_t end = pos + name.size();
    if (line_start && end < text.size() && (text[end] == ' ' || text[end] == '{')) {
      auto sp = text.find(' ', text[end] == '{' ? text.find('}', end) : end);
      sum += std::strtod(text.c_str() + sp + 1, nullptr);
    }
    pos = end;
  }
  return sum;
}

/// The q-quantile of a Prometheus histogram summed over its label sets, interpolated linearly
/// within the bucket it falls in (as PromQL's histogram_quantile); -1 without samples. q = 1:
/// the upper bound of the highest bucket holding a sample (the maximum, rounded up).
double histogram_quantile(const std::string& text, const std::string& name, double q) {
  std::map<double, double> cumulative; // le -> count, summed over label sets
  const std::string prefix = name + "_bucket{";
  for (std::size_t pos = 0; (pos = text.find(prefix, pos)) != std::string::npos;) {
    auto eol = text.find('\n', pos);
    std::string line = text.substr(pos, eol == std::string::npos ? eol : eol - pos);
    pos += prefix.size();
    auto le = line.find("le=\"");
    if (le == std::string::npos) continue;
    double bound = line.compare(le + 4, 4, "+Inf") == 0
                       ? INFINITY
                       : std::strtod(line.c_str() + le + 4, nullptr);
    cumulative[bound] += std::strtod(line.c_str() + line.rfind(' ') + 1, nullptr);
  }
  if (cumulative.empty() || cumulative.rbegin()->second <= 0) return -1;
  const double rank = q * cumulative.rbegin()->second;
  double lower = 0, below = 0;
  if (q >= 1) {
    for (auto [bound, count] : cumulative)
      if (count >= rank) return bound;
  }
  for (auto [bound, count] : cumulative) {
    if (count >= rank) {
      if (std::isinf(bound)) return lower; // beyond the last finite bucket
      return lower + (bound - lower) * (count > below ? (rank - below) / (count - below) : 1);
    }
    lower = bound, below = count;
  }
  return lower;
}

double json_number(const std::string& text, const std::string& key) {
  auto p = text.find("\"" + key + "\"");
  if (p == std::string::npos) return -1;
  p = text.find(':', p);
  return std::strtod(text.c_str() + p + 1, nullptr);
}

double cpu_seconds(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(f)), {});
  auto p = s.rfind(')');
  if (p == std::string::npos) return 0;
  std::istringstream in(s.substr(p + 2));
  std::string field;
  unsigned long long ut = 0, st = 0;
  for (int i = 3; i <= 15; ++i) {
    in >> field;
    if (i == 14) ut = std::stoull(field);
    if (i == 15) st = std::stoull(field);
  }
  return double(ut + st) / double(sysconf(_SC_CLK_TCK));
}

struct sample {
  double t;                        // s since first publish
  std::map<std::string, double> v; // "<instance>.<counter>" -> value
};

struct alert_rec {
  std::int64_t watermark_ns, watermark_wall_ns, detected_ns, last_ns, received_ns;
};

double pct(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  auto i = static_cast<std::size_t>(p / 100.0 * double(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

struct core_result {
  long sent = 0, got = 0;
  std::size_t size = 0;
  double pub_rate = 0, e2e_rate = 0, mbps = 0;
  long long dropped = 0;
};

core_result core_probe(svc::nats_client& c, long n, std::size_t size) {
  core_result r;
  r.sent = n;
  r.size = size;
  std::atomic<long> received{0};
  std::mutex m;
  std::condition_variable cv;
  std::string subj = "cw.bench.core." + std::to_string(size);
  auto sub = c.subscribe(subj, [&](svc::message) {
    if (received.fetch_add(1) + 1 == n) {
      std::lock_guard lock(m);
      cv.notify_all();
    }
  });
  if (!sub) return r;
  (void)c.flush(2000);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  std::string payload(size, 'x');
  auto t0 = steady::now();
  for (long i = 0; i < n; ++i)
    (void)c.publish(subj, payload);
  (void)c.flush(30'000);
  r.pub_rate = double(n) / secs(t0, steady::now());
  std::unique_lock lock(m);
  cv.wait_for(lock, std::chrono::seconds(60), [&] { return received.load() >= n; });
  double s = secs(t0, steady::now());
  lock.unlock();
  r.got = received.load();
  r.e2e_rate = double(r.got) / s;
  r.mbps = double(r.got) * double(size) / s / 1e6;
  r.dropped = (*sub)->dropped();
  return r;
}

int cmd_run(int argc, char** argv) {
  std::string url, run_dir, events_file, customer = "bench", results, command;
  int monitor = 0;
  long lateness_ms = 0, quiet_ms = 3000, timeout_s = 240;
  double rate = 0; // events/s; 0 = as fast as JetStream acks allow
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--nats")
      url = next();
    else if (a == "--run-dir")
      run_dir = next();
    else if (a == "--monitor")
      monitor = std::atoi(next().c_str());
    else if (a == "--events")
      events_file = next();
    else if (a == "--customer")
      customer = next();
    else if (a == "--lateness-ms")
      lateness_ms = std::atol(next().c_str());
    else if (a == "--quiet-ms")
      quiet_ms = std::atol(next().c_str());
    else if (a == "--timeout-s")
      timeout_s = std::atol(next().c_str());
    else if (a == "--results")
      results = next();
    else if (a == "--rate")
      rate = std::atof(next().c_str());
    else if (a == "--command")
      command = next();
    else {
      std::cerr << "run: unknown option " << a << "\n";
      return 64;
    }
  }
  // Events into memory.
  std::vector<std::string> events;
  std::size_t bytes = 0;
  {
    std::ifstream f(events_file);
    for (std::string line; std::getline(f, line);)
      if (!line.empty()) {
        bytes += line.size();
        events.push_back(std::move(line));
      }
  }
  if (events.empty()) {
    std::cerr << "run: no events in " << events_file << "\n";
    return 1;
  }
  const long n = static_cast<long>(events.size());
  const std::size_t avg = bytes / events.size();

  // The mesh's instances: metrics endpoints and pids from scripts/mesh's run directory.
  std::vector<std::pair<std::string, std::string>> endpoints; // instance -> host:port
  {
    std::ifstream f(run_dir + "/metrics");
    for (std::string line; std::getline(f, line);) {
      auto eq = line.find('=');
      if (eq != std::string::npos) endpoints.emplace_back(line.substr(0, eq), line.substr(eq + 1));
    }
  }
  std::map<std::string, int> pids;
  for (auto& e : fs::directory_iterator(run_dir))
    if (e.path().extension() == ".pid") {
      std::ifstream f(e.path());
      int pid = 0;
      f >> pid;
      pids[e.path().stem().string()] = pid;
    }
  pids["bench(publisher)"] = static_cast<int>(getpid());
  const std::string mon = "127.0.0.1:" + std::to_string(monitor);
  auto varz = [&] { return http_get(mon, "/varz"); };
  double slow0 = monitor ? json_number(varz(), "slow_consumers") : -1;

  svc::nats_options no;
  no.url = url;
  no.name = "chainwatch-bench-pipeline";
  auto client = svc::nats_client::connect(no);
  if (!client) {
    std::cerr << "run: " << svc::to_string(client.error()) << "\n";
    return 1;
  }
  auto& nats = **client;
  if (auto r = nats.ensure_stream(svc::ingest_stream()); !r) {
    std::cerr << "run: " << svc::to_string(r.error()) << "\n";
    return 1;
  }

  // Alerts: core subscription on cw.alerts.<customer>.> (as `chainwatch alerts tail` does).
  std::mutex am;
  std::vector<alert_rec> alerts;
  std::atomic<std::int64_t> last_alert_steady{0};
  auto sub = nats.subscribe("cw.alerts." + customer + ".>", [&](svc::message msg) {
    std::string d(msg.data());
    alert_rec a{};
    auto num = [&](const char* k) {
      auto p = d.find(std::string("\"") + k + "\":");
      return p == std::string::npos ? 0LL
                                    : std::strtoll(d.c_str() + p + std::strlen(k) + 3, nullptr, 10);
    };
    a.watermark_ns = num("watermark_ns");
    a.watermark_wall_ns = num("watermark_wall_ns");
    a.detected_ns = num("detected_ns");
    a.last_ns = num("last_ns");
    a.received_ns = wall_ns();
    std::lock_guard lock(am);
    alerts.push_back(a);
    last_alert_steady = steady::now().time_since_epoch().count();
  });
  if (!sub) {
    std::cerr << "run: subscribe: " << svc::to_string(sub.error()) << "\n";
    return 1;
  }
  (void)nats.flush(2000);

  // The raw NATS ceiling is also measured before the pipeline (the mesh idle both times), to
  // show the machine's phase; the ratio uses the one after: the first probe runs on a cold
  // server (its heap not yet grown) and reads 15-35% lower.
  auto core_before = core_probe(nats, n, avg);
  // The pipeline's drops and messages only (the probe's are before this).
  double in_msgs0 = 0, out_msgs0 = 0;
  if (monitor) {
    auto v = varz();
    slow0 = json_number(v, "slow_consumers");
    in_msgs0 = json_number(v, "in_msgs");
    out_msgs0 = json_number(v, "out_msgs");
  }

  std::map<std::string, double> cpu0;
  for (auto& [k, pid] : pids)
    cpu0[k] = cpu_seconds(pid);

  // Metrics poller.
  std::atomic<bool> stop{false};
  std::vector<sample> samples;
  std::mutex sm;
  auto t0 = steady::now();
  auto poll_once = [&] {
    sample s;
    for (auto& [inst, hp] : endpoints) {
      auto text = http_get(hp, "/metrics");
      std::string svcname = inst.substr(0, inst.find('-'));
      for (const char* c : {"events_in", "events_out", "matches", "alerts_out", "matches_in",
                            "late_events", "markers_out", "messages_in", "suppressed"})
        s.v[inst + "." + c] = metric(text, "chainwatch_" + svcname + "_" + c + "_total");
      s.v[inst + ".proc_sum"] = metric(text, "chainwatch_" + svcname + "_processing_seconds_sum");
      s.v[inst + ".proc_count"] =
          metric(text, "chainwatch_" + svcname + "_processing_seconds_count");
    }
    s.t = secs(t0, steady::now());
    std::lock_guard lock(sm);
    samples.push_back(std::move(s));
  };
  poll_once(); // baseline (counters are cumulative; a fresh mesh starts at 0)
  std::thread poller([&] {
    while (!stop) {
      poll_once();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });

  // Publish like `chainwatch replay` (1000 records or 512 KiB per batch, msg ids, then EOF).
  const std::string token = "ecs";
  const std::string subject = wire::ingest_subject(customer, token);
  char producer[32];
  std::snprintf(producer, sizeof producer, "bench-%llx",
                static_cast<unsigned long long>(wall_ns()));
  const std::string id_prefix = customer + "." + token + "." + producer + ".";
  wire::raw_batch batch{customer, "ecs", 0, {}, {}, {}};
  std::size_t batch_bytes = 0, batches = 0, max_batch_wire = 0, batch_wire_total = 0;
  std::uint64_t failed = 0;
  std::int64_t last_ts = 0;
  const auto tpub = steady::now();
  const std::int64_t tpub_wall = wall_ns();
  auto last_flush = tpub;
  auto flush = [&] {
    if (batch.records.empty()) return;
    batch.ingest_ns = wall_ns();
    auto id = id_prefix + std::to_string(batch.records.front().sequence.value_or(0));
    auto enc = wire::encode(batch);
    max_batch_wire = std::max(max_batch_wire, enc.size());
    batch_wire_total += enc.size();
    if (!nats.js_publish_async(subject, enc, id)) ++failed;
    ++batches;
    batch.records.clear();
    batch_bytes = 0;
  };
  for (long i = 0; i < n; ++i) {
    auto& line = events[static_cast<std::size_t>(i)];
    if (batch.records.size() >= 1000 || batch_bytes + line.size() > 512 * 1024) flush();
    if (rate > 0) { // paced like `chainwatch replay --rate`: don't hold records while waiting
      auto due = tpub + std::chrono::nanoseconds(static_cast<std::int64_t>(double(i) * 1e9 / rate));
      auto now = steady::now();
      // In bursts of up to 1 ms, as replay: a sleep per event costs the machine a context switch
      // every 25 us at 40k ev/s (the publisher's CPU per event tripled).
      if (due - now > std::chrono::milliseconds(1)) {
        if (due - now > std::chrono::milliseconds(5) ||
            now - last_flush > std::chrono::milliseconds(10)) {
          flush();
          last_flush = now;
        }
        std::this_thread::sleep_until(due);
      }
    }
    std::int64_t ts = std::max(wall_ns() / 1000 * 1000, last_ts + 1000); // unique, monotonic
    last_ts = ts;
    if (line.compare(0, ts_prefix.size(), ts_prefix) == 0)
      format_ts(line.data() + ts_prefix.size(), ts);
    batch.records.push_back({line, std::nullopt, static_cast<std::uint64_t>(i)});
    batch_bytes += line.size() + 16;
  }
  flush();
  const double t_last_batch = secs(t0, steady::now());
  wire::raw_batch eof{customer, "ecs", wall_ns(), {}, {}, {}};
  if (!nats.js_publish_async(subject + ".eof", wire::encode(eof), id_prefix + "eof")) ++failed;
  if (!nats.js_publish_complete(60'000)) ++failed;
  failed += nats.js_publish_failures();
  const auto teof = steady::now();
  const double t_eof = secs(t0, teof);
  const double pub_s = secs(tpub, teof);
  std::fprintf(stderr, "run: published %ld events in %zu batches in %.2fs (%.0f ev/s), acked%s\n",
               n, batches, pub_s, double(n) / pub_s, failed ? ", SOME FAILED" : "");

  // Wait until the mesh is quiet: the matchers' counters and the alerts stop moving.
  auto key_total = [&](const sample& s, const std::string& suffix) {
    double t = 0;
    for (auto& [k, v] : s.v)
      if (k.size() > suffix.size() &&
          k.compare(k.size() - suffix.size(), suffix.size(), suffix) == 0)
        t += v;
    return t;
  };
  {
    double last_val = -1;
    auto last_change = steady::now();
    for (;;) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      double val;
      std::size_t na;
      {
        std::lock_guard lock(sm);
        const auto& s = samples.back();
        val = 0;
        for (auto& [k, v] : s.v)
          if (k.rfind("matcher", 0) == 0 && k.find(".events_in") != std::string::npos) val += v;
        val += s.v.count("normalizer.events_out") ? s.v.at("normalizer.events_out") : 0;
        val += s.v.count("watermark.events_in") ? s.v.at("watermark.events_in") : 0;
      }
      {
        std::lock_guard lock(am);
        na = alerts.size();
      }
      val += double(na);
      if (val != last_val) {
        last_val = val;
        last_change = steady::now();
      }
      if (secs(last_change, steady::now()) * 1000 > double(quiet_ms)) break;
      if (secs(teof, steady::now()) > double(timeout_s)) {
        std::fprintf(stderr, "run: timeout waiting for the mesh to go quiet\n");
        break;
      }
    }
  }
  stop = true;
  poller.join();
  std::map<std::string, double> cpu1;
  for (auto& [k, pid] : pids)
    cpu1[k] = cpu_seconds(pid);
  const double t_end = secs(t0, steady::now());
  const std::string varz1 = monitor ? varz() : "";
  const double slow1 = monitor ? json_number(varz1, "slow_consumers") : -1;
  const double in_msgs = monitor ? json_number(varz1, "in_msgs") - in_msgs0 : 0;
  const double out_msgs = monitor ? json_number(varz1, "out_msgs") - out_msgs0 : 0;

  // Throughput per stage: the time its counter reached its final value.
  auto done_time = [&](const std::string& key, double& final_v) {
    final_v = samples.back().v.count(key) ? samples.back().v.at(key) : 0;
    for (auto& s : samples)
      if (s.v.count(key) && s.v.at(key) >= final_v) return s.t;
    return samples.back().t;
  };
  auto first_time = [&](const std::string& key) {
    for (auto& s : samples)
      if (s.v.count(key) && s.v.at(key) > 0) return s.t;
    return 0.0;
  };
  std::vector<std::string> stage_keys = {"normalizer.events_out", "watermark.events_in",
                                         "watermark.events_out"};
  for (auto& [inst, hp] : endpoints)
    if (inst.rfind("matcher", 0) == 0) stage_keys.push_back(inst + ".events_in");
  stage_keys.push_back("alerter.matches_in");

  // Alerts.
  // detected - watermark value, and detected - (watermark value + lateness): event time is the
  // wall clock at publish, so the watermark W (max event time - lateness) cannot pass before wall
  // time W + lateness; the second is an upper bound of the latency after the watermark passed
  // (it still includes the events' transit from publish to the watermark service). The exact
  // latency after the watermark: the alert's arrival here - the wall clock at which the watermark
  // service emitted the marker that released the match (carried by the marker, the match and the
  // alert), so it includes the alert's storing in CW_ALERTS and its delivery.
  std::vector<double> wm_lat_ms, after_wm_ms, e2e_lat_ms, exact_ms;
  // Alerts released by one marker share its delays: the slowest markers say when stalls were.
  std::map<std::int64_t, std::pair<double, int>> by_marker; // emitted -> (slowest ms, alerts)
  long eof_alerts = 0;
  std::int64_t last_recv = 0;
  for (auto& a : alerts) {
    last_recv = std::max(last_recv, a.received_ns);
    if (a.watermark_ns == INT64_MAX || a.watermark_ns <= 0) {
      ++eof_alerts;
      continue;
    }
    wm_lat_ms.push_back(double(a.detected_ns - a.watermark_ns) / 1e6);
    after_wm_ms.push_back(double(a.detected_ns - a.watermark_ns) / 1e6 - double(lateness_ms));
    if (a.watermark_wall_ns > 0) {
      exact_ms.push_back(double(a.received_ns - a.watermark_wall_ns) / 1e6);
      auto& [slowest, count] = by_marker[a.watermark_wall_ns];
      slowest = std::max(slowest, exact_ms.back());
      ++count;
    }
    e2e_lat_ms.push_back(double(a.received_ns - a.last_ns) / 1e6);
  }
  // EOF in wall-clock ns: reconstruct from steady offsets.
  const std::int64_t eof_wall =
      wall_ns() -
      std::chrono::duration_cast<std::chrono::nanoseconds>(steady::now() - teof).count();
  const double eof_to_last_alert_ms = alerts.empty() ? -1 : double(last_recv - eof_wall) / 1e6;

  // Same-run raw NATS ceiling: core pub->sub for the same bytes, event-sized and batch-sized.
  auto core_ev = core_probe(nats, n, avg);
  const std::size_t bsz = batches ? batch_wire_total / batches : 1;
  auto core_b = core_probe(nats, std::max<long>(1, static_cast<long>(bytes / bsz)), bsz);

  // Report.
  std::ostringstream o;
  char line[512];
  char date[64];
  std::time_t now = std::time(nullptr);
  std::strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S UTC", std::gmtime(&now));
  utsname u{};
  uname(&u);
  std::string cpu_model;
  {
    std::ifstream f("/proc/cpuinfo");
    for (std::string l; std::getline(f, l);)
      if (l.rfind("model name", 0) == 0) {
        cpu_model = l.substr(l.find(':') + 2);
        break;
      }
  }
  double load[3] = {0, 0, 0};
  getloadavg(load, 3);
  o << "### " << date << " — " << n << " events, " << endpoints.size() << " services\n\n";
  if (!command.empty()) o << "Command: `" << command << "`\n\n";
  std::snprintf(line, sizeof line,
                "Machine: %s, %ld vCPUs (%s %s), load avg at end %.2f %.2f %.2f\n\n",
                cpu_model.c_str(), sysconf(_SC_NPROCESSORS_ONLN), u.sysname, u.release, load[0],
                load[1], load[2]);
  o << line;
  std::snprintf(line, sizeof line,
                "Input: %ld raw ECS JSON events, avg %zu B (%.1f MB), %zu raw_batch messages "
                "(avg %zu B, max %zu B on the wire)\n\n",
                n, avg, double(bytes) / 1e6, batches, bsz, max_batch_wire);
  o << line;
  o << "| measure | value |\n|---|---|\n";
  auto row = [&](const char* k, const std::string& v) { o << "| " << k << " | " << v << " |\n"; };
  auto f = [&](const char* fmt, auto... a) {
    char b[256];
    std::snprintf(b, sizeof b, fmt, a...);
    return std::string(b);
  };
  row("JetStream publish (replay path), all acked",
      f("%.0f ev/s (%.2f s%s; %s)", double(n) / pub_s, pub_s, failed ? ", FAILURES" : "",
        rate > 0 ? f("paced at %.0f ev/s", rate).c_str() : "max rate"));
  double e2e_done = 0;
  for (auto& k : stage_keys) {
    double fin = 0;
    double td = done_time(k, fin);
    double tf = first_time(k);
    if (k.rfind("matcher", 0) == 0) e2e_done = std::max(e2e_done, td);
    std::string label = "stage " + k;
    row(label.c_str(),
        f("%.0f items; done at %.2f s; %.0f items/s from publish start; %.0f/s while active", fin,
          td, td > 0 ? fin / td : 0.0, td > tf ? fin / (td - tf) : 0.0));
  }
  double wm_in_fin = 0;
  done_time("watermark.events_in", wm_in_fin);
  // A run counts only if every event went all the way: the normalizer emitted N, the watermark
  // took N, and the matchers took every item it routed. (A run whose normalizer never started
  // once read "2.2M ev/s" from counters that did not move.)
  const auto& last = samples.back().v;
  auto final_of = [&](const std::string& k) { return last.count(k) ? last.at(k) : 0.0; };
  const double routed = final_of("watermark.events_out");
  double matched_in = 0;
  for (auto& [inst, hp] : endpoints)
    if (inst.rfind("matcher", 0) == 0) matched_in += final_of(inst + ".events_in");
  const bool complete = final_of("normalizer.events_out") == double(n) && wm_in_fin == double(n) &&
                        routed > 0 && matched_in == routed;
  if (!complete) ++failed;
  const double e2e_rate = e2e_done > 0 ? double(n) / e2e_done : 0;
  row("**end-to-end events/s** (N / time until the matchers consumed their last item)",
      complete ? f("**%.0f ev/s** (%.2f s; target >= 150000: %s)", e2e_rate, e2e_done,
                   e2e_rate >= 150000 ? "MET" : "NOT MET")
               : f("INCOMPLETE RUN, not a measurement: normalizer out %.0f, watermark in %.0f "
                   "of %ld events, matchers in %.0f of %.0f routed items",
                   final_of("normalizer.events_out"), wm_in_fin, n, matched_in, routed));
  row("raw core NATS pub->sub, event-sized msgs (same run, same server)",
      f("%.0f msg/s = %.1f MB/s (%ld/%ld msgs of %zu B, dropped %lld; publish %.0f msg/s); "
        "before the pipeline, cold server: %.0f msg/s (dropped %lld)",
        core_ev.e2e_rate, core_ev.mbps, core_ev.got, core_ev.sent, core_ev.size, core_ev.dropped,
        core_ev.pub_rate, core_before.e2e_rate, core_before.dropped));
  row("raw core NATS pub->sub, batch-sized msgs (same bytes)",
      f("%.0f msg/s = %.1f MB/s = %.0f ev/s equivalent (%ld/%ld msgs of %zu B, dropped %lld)",
        core_b.e2e_rate, core_b.mbps, core_b.mbps * 1e6 / double(avg), core_b.got, core_b.sent,
        core_b.size, core_b.dropped));
  row("pipeline / raw NATS (event-sized msgs)",
      f("%.3f (to the cold probe before it: %.3f)",
        core_ev.e2e_rate > 0 ? e2e_rate / core_ev.e2e_rate : 0.0,
        core_before.e2e_rate > 0 ? e2e_rate / core_before.e2e_rate : 0.0));
  row("pipeline MB/s of raw JSON / raw NATS MB/s (batch-sized)",
      f("%.1f / %.1f = %.3f", e2e_rate * double(avg) / 1e6, core_b.mbps,
        core_b.mbps > 0 ? e2e_rate * double(avg) / 1e6 / core_b.mbps : 0.0));
  row("alerts received",
      f("%zu (%ld emitted only at EOF, watermark +inf)", alerts.size(), eof_alerts));
  row("detected - watermark value (ms) p50 / p99 / max",
      f("%.1f / %.1f / %.1f over %zu alerts (includes the watermark's lateness %ld ms)",
        pct(wm_lat_ms, 50), pct(wm_lat_ms, 99), pct(wm_lat_ms, 100), wm_lat_ms.size(),
        lateness_ms));
  row("**watermark-to-alert** (ms: alert received - when the watermark service emitted the "
      "marker that released the match) p50 / p99 / max",
      f("%.1f / %.1f / %.1f over %zu alerts (target p99 < 50 ms: %s)", pct(exact_ms, 50),
        pct(exact_ms, 99), pct(exact_ms, 100), exact_ms.size(),
        !exact_ms.empty() && pct(exact_ms, 99) < 50 ? "MET" : "NOT MET"));
  {
    std::vector<std::pair<double, std::int64_t>> slow;
    for (const auto& [emitted, v] : by_marker)
      slow.emplace_back(v.first, emitted);
    std::sort(slow.rbegin(), slow.rend());
    std::string s;
    for (std::size_t i = 0; i < std::min<std::size_t>(5, slow.size()); ++i)
      s += f("%s+%.2f s: %.1f ms (%d alerts)", i ? "; " : "",
             double(slow[i].second - tpub_wall) / 1e9, slow[i].first,
             by_marker[slow[i].second].second);
    row("slowest releasing markers (emitted, s after the first publish: slowest alert)", s);
  }
  row("publish-to-alert bound (ms: detected - watermark - lateness; adds the events' transit "
      "through the normalizer and the watermark service) p50 / p99 / max",
      f("%.1f / %.1f / %.1f", pct(after_wm_ms, 50), pct(after_wm_ms, 99), pct(after_wm_ms, 100)));
  row("alert received - last event published (ms) p50 / p99",
      f("%.1f / %.1f", pct(e2e_lat_ms, 50), pct(e2e_lat_ms, 99)));
  row("EOF (last publish acked) -> last alert received", f("%.0f ms", eof_to_last_alert_ms));
  row("nats-server slow_consumers (before -> after)",
      f("%.0f -> %.0f (%s)", slow0, slow1, slow1 == slow0 ? "no drops" : "DROPS"));
  if (monitor)
    row("nats-server messages in / out over the run (per 1000 events)",
        f("%.0f / %.0f (%.1f / %.1f)", in_msgs, out_msgs, 1000 * in_msgs / double(n),
          1000 * out_msgs / double(n)));
  // Per-service CPU over the run.
  const double wall = t_end;
  std::string cpu;
  for (auto& [k, c1] : cpu1) {
    double d = c1 - cpu0[k];
    cpu += f("%s %.1fs (%.0f%%); ", k.c_str(), d, 100 * d / wall);
  }
  row("CPU over the run (wall s, % of one core)", f("%.1f s wall: ", wall) + cpu);
  // Per-service processing histograms (mean time per message).
  std::string proc;
  for (auto& [inst, hp] : endpoints) {
    auto& s = samples.back().v;
    double c = s[inst + ".proc_count"], sm_ = s[inst + ".proc_sum"];
    if (c > 0)
      proc += f("%s %.0f msgs, mean %.2f ms, busy %.1f s; ", inst.c_str(), c, sm_ / c * 1e3, sm_);
  }
  row("processing histograms (per input message)", proc);
  // Where the time goes, hop by hop: how long inputs waited in their stream before each service
  // fetched them, and each service's processing time (the buckets' estimate, 1-2-5 steps).
  std::string hops;
  for (auto& [inst, hp] : endpoints) {
    auto text = http_get(hp, "/metrics");
    std::string svcname = inst.substr(0, inst.find('-'));
    auto q = [&](const char* what, double p) {
      return 1e3 * histogram_quantile(text, "chainwatch_" + svcname + "_" + what + "_seconds", p);
    };
    if (q("queue_wait", 0.5) >= 0)
      hops += f("%s wait %.1f / %.1f / %.0f, processing %.1f / %.1f / %.0f; ", inst.c_str(),
                q("queue_wait", 0.5), q("queue_wait", 0.99), q("queue_wait", 1),
                q("processing", 0.5), q("processing", 0.99), q("processing", 1));
  }
  row("per hop (ms) p50 / p99 / max bucket: queue wait (stored to fetched), processing", hops);
  {
    auto& s = samples.back().v;
    row("counters",
        f("normalizer in %.0f out %.0f; watermark in %.0f routed-items %.0f markers %.0f; "
          "late %.0f; matches %.0f; alerter matches_in %.0f alerts_out %.0f suppressed %.0f",
          s["normalizer.events_in"], s["normalizer.events_out"], s["watermark.events_in"],
          s["watermark.events_out"], s["watermark.markers_out"],
          key_total(samples.back(), ".late_events"), key_total(samples.back(), ".matches"),
          s["alerter.matches_in"], s["alerter.alerts_out"], s["alerter.suppressed"]));
  }
  o << "\n";
  std::cout << o.str();
  if (!results.empty()) {
    std::ofstream r(results, std::ios::app);
    r << "\n" << o.str();
  }
  (void)t_last_batch;
  (void)t_eof;
  return failed ? 1 : 0;
}

} // namespace

int cmd_stages(int argc, char** argv) {
  chainwatch::bench::stages_options o;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--events" && i + 1 < argc)
      o.events_file = argv[++i];
    else if (a == "--rules-dir" && i + 1 < argc)
      o.rules_dir = argv[++i];
    else if (a == "--lists" && i + 1 < argc)
      o.lists_dir = argv[++i];
    else if (a == "--partitions" && i + 1 < argc)
      o.partitions = static_cast<std::uint32_t>(std::atol(argv[++i]));
    else if (a == "--round" && i + 1 < argc)
      o.round = static_cast<std::size_t>(std::max(1L, std::atol(argv[++i])));
    else if (a == "--matches" && i + 1 < argc)
      o.matches_file = argv[++i];
    else if (a == "--repeat" && i + 1 < argc)
      o.repeat = static_cast<int>(std::max(1L, std::atol(argv[++i])));
    else {
      std::cerr << "stages: unknown option " << a << "\n";
      return 64;
    }
  }
  if (o.events_file.empty() || o.rules_dir.empty()) {
    std::cerr << "stages: --events and --rules-dir are required\n";
    return 64;
  }
  return chainwatch::bench::run_stages(o);
}

int main(int argc, char** argv) {
  std::string cmd = argc > 1 ? argv[1] : "";
  if (cmd == "gen") return cmd_gen(argc, argv);
  if (cmd == "run") return cmd_run(argc, argv);
  if (cmd == "stages") return cmd_stages(argc, argv);
  std::fprintf(
      stderr,
      "usage: %s gen|run|stages ... (see the header of bench/pipeline/pipeline_bench.cpp)\n",
      argv[0]);
  return 64;
}
