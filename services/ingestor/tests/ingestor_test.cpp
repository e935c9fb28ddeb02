// The ingestor against a real nats-server: syslog over TCP (both framings) and UDP stored as
// raw batches in CW_INGEST; what was accepted is stored on shutdown.

#include "chainwatch/service/mesh.hpp"
#include "chainwatch/wire/subjects.hpp"
#include "ingestor_service.hpp"
#include "nats_server.hpp"

#include <arpa/inet.h>
#include <chrono>
#include <gtest/gtest.h>
#include <map>
#include <netinet/in.h>
#include <set>
#include <sys/socket.h>
#include <unistd.h>

using namespace chainwatch;
using namespace std::chrono_literals;

namespace {

int connect_to(std::uint16_t port, int type) {
  int fd = ::socket(AF_INET, type, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  return fd;
}

void send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    auto n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    ASSERT_GT(n, 0);
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

struct stored {
  std::string subject;
  wire::raw_batch batch;
};

// Pulls raw batches from CW_INGEST until `records` records arrived or 30 s passed.
std::vector<stored> collect(service::nats_client& c, std::size_t records,
                            const std::function<void()>& resend = {}) {
  auto consumer = c.pull({.stream = "CW_INGEST", .durable = "test", .filter_subject = ""});
  EXPECT_TRUE(consumer);
  std::vector<stored> out;
  std::size_t n = 0;
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (n < records && std::chrono::steady_clock::now() < deadline) {
    if (resend) resend();
    auto got = (*consumer)->fetch(16, 200);
    if (!got) continue;
    for (auto& m : *got) {
      m.ack();
      auto b = wire::decode_raw_batch(m.data());
      EXPECT_TRUE(b);
      if (!b) continue;
      n += b->records.size();
      out.push_back({std::string(m.subject()), std::move(*b)});
    }
  }
  return out;
}

std::unique_ptr<service::nats_client> connect(const std::string& url) {
  service::nats_options opts;
  opts.url = url;
  auto c = service::nats_client::connect(opts);
  EXPECT_TRUE(c);
  return c ? std::move(*c) : nullptr;
}

} // namespace

TEST(ingestor_config, parses_listeners_and_rejects_bad_ones) {
  auto l = ingestor::parse_listeners("tcp:0.0.0.0:6514:acme:syslog, udp:127.0.0.1:0:beta:zeek.dns");
  ASSERT_TRUE(l);
  ASSERT_EQ(l->size(), 2u);
  EXPECT_EQ((*l)[0].port, 6514);
  EXPECT_EQ((*l)[1].source, "zeek.dns");
  EXPECT_FALSE(ingestor::parse_listeners("sctp:0.0.0.0:1:a:b"));
  EXPECT_FALSE(ingestor::parse_listeners("tcp:0.0.0.0:99999:a:b"));
  EXPECT_FALSE(ingestor::parse_listeners("tcp:0.0.0.0:1:a c:b"));
  EXPECT_FALSE(ingestor::parse_listeners("tcp:0.0.0.0:1:a"));
  EXPECT_TRUE(ingestor::parse_listeners("")->empty());
}

TEST(ingestor_service, stores_tcp_both_framings_and_udp_in_cw_ingest) {
  CW_REQUIRE_NATS_SERVER();
  auto server = test_support::nats_server::start();
  ASSERT_TRUE(server) << server.error();
  auto client = connect((*server)->url());
  ASSERT_TRUE(client);
  service::metrics m("ingestor");
  ingestor::ingestor_config cfg;
  cfg.listeners =
      "tcp:127.0.0.1:0:acme:syslog,udp:127.0.0.1:0:acme:syslog,tcp:127.0.0.1:0:beta:cef";
  cfg.producer_id = "t";
  ingestor::ingestor_service svc(*client, m, cfg);
  auto started = svc.start();
  ASSERT_TRUE(started) << started.error();

  int tcp = connect_to(svc.port(0), SOCK_STREAM);
  send_all(tcp, "<13>Jan  1 00:00:00 h1 newline framed\n<13>Jan  1 00:00:01 h1 crlf\r\n");
  send_all(tcp, "23 <13>octet\ncounted frame");
  int tcp2 = connect_to(svc.port(2), SOCK_STREAM);
  send_all(tcp2, "CEF:0|x|y|1|sig|name|5|\n");
  ::close(tcp2);

  // UDP may be dropped by the kernel before the listener reads it: resend until seen (the
  // ingestor does not deduplicate, so count distinct payloads).
  int udp = connect_to(svc.port(1), SOCK_DGRAM);
  auto resend_udp = [&] { ::send(udp, "<13>udp datagram\n", 17, 0); };
  resend_udp();

  std::set<std::string> seen;
  std::map<std::string, std::string> subject_of;
  auto deadline = std::chrono::steady_clock::now() + 30s;
  auto consumer = client->pull({.stream = "CW_INGEST", .durable = "test", .filter_subject = ""});
  ASSERT_TRUE(consumer);
  while (seen.size() < 5 && std::chrono::steady_clock::now() < deadline) {
    if (!seen.count("<13>udp datagram")) resend_udp();
    auto got = (*consumer)->fetch(16, 200);
    if (!got) continue;
    for (auto& msg : *got) {
      msg.ack();
      auto b = wire::decode_raw_batch(msg.data());
      ASSERT_TRUE(b);
      EXPECT_GT(b->ingest_ns, 0);
      EXPECT_TRUE(msg.header("Nats-Msg-Id").value_or("").starts_with(b->customer + "."));
      for (auto& r : b->records) {
        seen.insert(r.bytes);
        subject_of[r.bytes] = std::string(msg.subject()) + " " + b->customer + "/" + b->source_type;
      }
    }
  }
  ::close(tcp);
  ::close(udp);
  EXPECT_EQ(seen, (std::set<std::string>{"<13>Jan  1 00:00:00 h1 newline framed",
                                         "<13>Jan  1 00:00:01 h1 crlf", "<13>octet\ncounted frame",
                                         "CEF:0|x|y|1|sig|name|5|", "<13>udp datagram"}));
  EXPECT_EQ(subject_of["<13>octet\ncounted frame"], "cw.ingest.acme.syslog acme/syslog");
  EXPECT_EQ(subject_of["<13>udp datagram"], "cw.ingest.acme.syslog acme/syslog");
  EXPECT_EQ(subject_of["CEF:0|x|y|1|sig|name|5|"], "cw.ingest.beta.cef beta/cef");
  svc.stop();
}

TEST(ingestor_service, stores_everything_accepted_on_shutdown) {
  CW_REQUIRE_NATS_SERVER();
  auto server = test_support::nats_server::start();
  ASSERT_TRUE(server) << server.error();
  auto client = connect((*server)->url());
  ASSERT_TRUE(client);
  service::metrics m("ingestor");
  ingestor::ingestor_config cfg;
  cfg.listeners = "tcp:127.0.0.1:0:acme:syslog";
  cfg.linger_ns = 3600'000'000'000; // only shutdown flushes
  cfg.max_records = 100;
  ingestor::ingestor_service svc(*client, m, cfg);
  ASSERT_TRUE(svc.start());
  int tcp = connect_to(svc.port(0), SOCK_STREAM);
  std::string lines;
  for (int i = 0; i < 250; ++i)
    lines += "line " + std::to_string(i) + "\n";
  send_all(tcp, lines + "unterminated tail");
  ::close(tcp);
  // Wait until the listener accepted the 200 lines that filled two batches (stored at once).
  auto first = collect(*client, 200);
  std::size_t n = 0;
  for (auto& s : first)
    n += s.batch.records.size();
  ASSERT_EQ(n, 200u);
  svc.stop(); // the remaining 50 lines and the tail are stored now
  auto consumer = client->pull({.stream = "CW_INGEST", .durable = "test", .filter_subject = ""});
  ASSERT_TRUE(consumer);
  std::vector<std::string> rest;
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (rest.size() < 51 && std::chrono::steady_clock::now() < deadline) {
    auto got = (*consumer)->fetch(16, 200);
    if (!got) continue;
    for (auto& msg : *got) {
      msg.ack();
      auto b = wire::decode_raw_batch(msg.data());
      ASSERT_TRUE(b);
      for (auto& r : b->records)
        rest.push_back(r.bytes);
    }
  }
  ASSERT_EQ(rest.size(), 51u);
  EXPECT_EQ(rest.front(), "line 200");
  EXPECT_EQ(rest.back(), "unterminated tail");
}
