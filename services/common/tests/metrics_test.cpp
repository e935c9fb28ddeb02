#include "chainwatch/service/metrics.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <unistd.h>

using namespace chainwatch::service;

namespace {

// A minimal HTTP/1.0 GET over a raw socket: returns the whole response (headers and body).
std::string http_get(std::uint16_t port, const std::string& path) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return {};
  }
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  std::string req = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  ::send(fd, req.data(), req.size(), 0);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof(buf), 0)) > 0)
    out.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return out;
}

} // namespace

TEST(service_metrics, exposer_serves_metrics_over_http) {
  auto m = metrics::serve("test", "127.0.0.1:0");
  ASSERT_TRUE(m.has_value()) << m.error();
  ASSERT_NE((*m)->port(), 0);
  auto& requests = (*m)->counter("requests", "requests handled");
  requests.Increment(3);
  (*m)->counter("dead_letters", "dead letters", {{"reason", "json_syntax"}}).Increment();
  (*m)->gauge("partitions", "owned partitions").Set(4);
  (*m)->histogram("batch", "batch time", latency_buckets()).Observe(0.002);
  auto resp = http_get((*m)->port(), "/metrics");
  EXPECT_NE(resp.find("200 OK"), std::string::npos) << resp;
  EXPECT_NE(resp.find("chainwatch_test_requests_total 3"), std::string::npos) << resp;
  EXPECT_NE(resp.find("chainwatch_test_dead_letters_total{reason=\"json_syntax\"} 1"),
            std::string::npos)
      << resp;
  EXPECT_NE(resp.find("chainwatch_test_partitions 4"), std::string::npos) << resp;
  EXPECT_NE(resp.find("chainwatch_test_batch_seconds_count 1"), std::string::npos) << resp;
}

TEST(service_metrics, same_metric_twice_is_the_same_series) {
  metrics m("svc");
  auto& a = m.counter("events", "events");
  auto& b = m.counter("events", "events");
  EXPECT_EQ(&a, &b);
  auto& labelled = m.counter("events", "events", {{"source", "zeek"}});
  EXPECT_NE(&a, &labelled);
}

TEST(service_metrics, unbindable_address_is_an_error) {
  auto first = metrics::serve("a", "127.0.0.1:0");
  ASSERT_TRUE(first.has_value());
  auto second = metrics::serve("b", "127.0.0.1:" + std::to_string((*first)->port()));
  EXPECT_FALSE(second.has_value());
}
