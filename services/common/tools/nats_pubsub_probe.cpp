// Throughput probe: core NATS publish -> subscribe of fixed-size messages through
// chainwatch::service::nats_client, against a local nats-server (started here unless --url).
// The pipeline benchmark compares its numbers with this ceiling.
//
//   nats_pubsub_probe [--url nats://host:port] [--messages N] [--size BYTES] [--js]

#include "chainwatch/service/nats_client.hpp"
#include "nats_server.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>

using namespace chainwatch::service;
using clock_type = std::chrono::steady_clock;

namespace {

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

int run_core(nats_client& client, long n, std::size_t size) {
  std::atomic<long> received{0};
  std::mutex m;
  std::condition_variable cv;
  auto sub = client.subscribe("cw.probe.core", [&](message) {
    if (received.fetch_add(1) + 1 == n) {
      std::lock_guard lock(m);
      cv.notify_all();
    }
  });
  if (!sub) {
    std::fprintf(stderr, "subscribe: %s\n", to_string(sub.error()).c_str());
    return 1;
  }
  // Make sure the subscription is live on the server before timing: ping until one arrives.
  auto warm = clock_type::now();
  auto ping = client.subscribe("cw.probe.ping", [&](message) {
    std::lock_guard lock(m);
    warm = clock_type::time_point{};
    cv.notify_all();
  });
  {
    std::unique_lock lock(m);
    while (warm != clock_type::time_point{}) {
      lock.unlock();
      (void)client.publish("cw.probe.ping", "x");
      (void)client.flush(1000);
      lock.lock();
      cv.wait_for(lock, std::chrono::milliseconds(50));
    }
  }
  std::string payload(size, 'x');
  auto t0 = clock_type::now();
  for (long i = 0; i < n; ++i) {
    if (auto r = client.publish("cw.probe.core", payload); !r) {
      std::fprintf(stderr, "publish: %s\n", to_string(r.error()).c_str());
      return 1;
    }
  }
  (void)client.flush(30'000);
  double pub_s = seconds_since(t0);
  std::unique_lock lock(m);
  bool all = cv.wait_for(lock, std::chrono::seconds(60), [&] { return received.load() >= n; });
  double total_s = seconds_since(t0);
  long got = received.load();
  std::printf("core pub->sub: %ld/%ld msgs of %zu B, publish %.0f msg/s, end-to-end %.0f msg/s "
              "(%.1f MB/s), dropped %lld%s\n",
              got, n, size, n / pub_s, got / total_s, got * double(size) / total_s / 1e6,
              static_cast<long long>((*sub)->dropped()), all ? "" : " (INCOMPLETE)");
  return all ? 0 : 2;
}

int run_js(nats_client& client, long n, std::size_t size) {
  if (auto r = client.ensure_stream("CW_PROBE", {"cw.probe.js"}, storage_kind::file, 0, 0); !r) {
    std::fprintf(stderr, "stream: %s\n", to_string(r.error()).c_str());
    return 1;
  }
  std::string payload(size, 'x');
  auto t0 = clock_type::now();
  for (long i = 0; i < n; ++i)
    if (auto r = client.js_publish_async("cw.probe.js", payload, "m" + std::to_string(i)); !r) {
      std::fprintf(stderr, "publish: %s\n", to_string(r.error()).c_str());
      return 1;
    }
  (void)client.js_publish_complete(60'000);
  double s = seconds_since(t0);
  std::printf("jetstream async publish (file, msg ids): %ld msgs of %zu B in %.2f s = %.0f msg/s, "
              "failures %llu\n",
              n, size, s, n / s, static_cast<unsigned long long>(client.js_publish_failures()));
  consumer_spec cs;
  cs.stream = "CW_PROBE";
  cs.durable = "probe";
  auto pc = client.pull(cs);
  if (!pc) {
    std::fprintf(stderr, "consumer: %s\n", to_string(pc.error()).c_str());
    return 1;
  }
  long got = 0;
  t0 = clock_type::now();
  while (got < n) {
    auto batch = (*pc)->fetch(1000, 2000);
    if (!batch || batch->empty()) break;
    for (auto& msg : *batch) {
      (void)msg.ack();
      ++got;
    }
  }
  s = seconds_since(t0);
  std::printf("jetstream pull fetch(1000)+ack: %ld msgs in %.2f s = %.0f msg/s\n", got, s, got / s);
  (void)client.delete_stream("CW_PROBE");
  return got == n ? 0 : 2;
}

} // namespace

int main(int argc, char** argv) {
  std::string url;
  long n = 1'000'000;
  std::size_t size = 200;
  bool js = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--url" && i + 1 < argc)
      url = argv[++i];
    else if (a == "--messages" && i + 1 < argc)
      n = std::atol(argv[++i]);
    else if (a == "--size" && i + 1 < argc)
      size = static_cast<std::size_t>(std::atol(argv[++i]));
    else if (a == "--js")
      js = true;
    else {
      std::fprintf(stderr, "usage: %s [--url URL] [--messages N] [--size BYTES] [--js]\n", argv[0]);
      return 64;
    }
  }
  std::unique_ptr<chainwatch::test_support::nats_server> server;
  if (url.empty()) {
    auto s = chainwatch::test_support::nats_server::start();
    if (!s) {
      std::fprintf(stderr, "nats-server: %s\n", s.error().c_str());
      return 1;
    }
    server = std::move(*s);
    url = server->url();
  }
  nats_options opts;
  opts.url = url;
  opts.name = "probe";
  auto client = nats_client::connect(opts);
  if (!client) {
    std::fprintf(stderr, "%s\n", to_string(client.error()).c_str());
    return 1;
  }
  int rc = run_core(**client, n, size);
  if (rc == 0 && js) rc = run_js(**client, std::min(n, 200'000L), size);
  return rc;
}
