#include "chainwatch/service/metrics.hpp"
#include "chainwatch/service/nats_client.hpp"
#include "nats_server.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <gtest/gtest.h>
#include <mutex>
#include <set>
#include <thread>

using namespace chainwatch::service;
using chainwatch::test_support::nats_server;
using namespace std::chrono_literals;

namespace {

// One server per test suite: starting nats-server takes ~100 ms; streams are per test.
class nats_client_test : public ::testing::Test {
protected:
  void SetUp() override {
    CW_REQUIRE_NATS_SERVER();
    auto s = nats_server::start();
    ASSERT_TRUE(s.has_value()) << s.error();
    server_ = std::move(*s);
    nats_options opts;
    opts.url = server_->url();
    opts.name = "test";
    opts.reconnect_wait_min_ms = 20;
    opts.reconnect_wait_max_ms = 200;
    auto c = nats_client::connect(opts);
    ASSERT_TRUE(c.has_value()) << to_string(c.error());
    client_ = std::move(*c);
  }

  void TearDown() override {
    client_.reset();
    server_.reset();
  }

  std::unique_ptr<nats_server> server_;
  std::unique_ptr<nats_client> client_;
};

template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = 10s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(10ms); // polling a counter with a deadline
  }
  return true;
}

// The payloads of a fetch, each followed by a space.
std::string payloads(const std::vector<message>& batch) {
  std::string out;
  for (const auto& m : batch)
    out += std::string(m.data()) + " ";
  return out;
}

} // namespace

TEST_F(nats_client_test, publish_subscribe_round_trip) {
  std::mutex m;
  std::condition_variable cv;
  std::vector<std::string> got;
  auto sub = client_->subscribe("cw.test.>", [&](message msg) {
    std::lock_guard lock(m);
    got.emplace_back(std::string(msg.subject()) + "=" + std::string(msg.data()));
    cv.notify_all();
  });
  ASSERT_TRUE(sub.has_value()) << to_string(sub.error());
  // The subscription is registered on the other connection: a flush round trip on that
  // connection is not exposed, so publish until the first message arrives.
  ASSERT_TRUE(eventually([&] {
    (void)client_->publish("cw.test.ping", "x");
    (void)client_->flush(1000);
    std::lock_guard lock(m);
    return !got.empty();
  }));
  {
    std::lock_guard lock(m);
    got.clear();
  }
  for (int i = 0; i < 100; ++i)
    ASSERT_TRUE(client_->publish("cw.test." + std::to_string(i), "v" + std::to_string(i)));
  ASSERT_TRUE(client_->flush(2000));
  std::unique_lock lock(m);
  ASSERT_TRUE(cv.wait_for(lock, 10s, [&] {
    return std::count_if(got.begin(), got.end(), [](const std::string& s) {
             return s.find("ping") == std::string::npos;
           }) >= 100;
  }));
  EXPECT_NE(std::find(got.begin(), got.end(), "cw.test.42=v42"), got.end());
}

TEST_F(nats_client_test, ensure_stream_is_idempotent) {
  stream_spec spec;
  spec.name = "CW_IDEMP";
  spec.subjects = {"cw.idemp.>"};
  spec.storage = storage_kind::file;
  spec.max_age_ns = 3600LL * 1'000'000'000;
  spec.duplicate_window_ns = 60LL * 1'000'000'000;
  auto first = client_->ensure_stream(spec);
  ASSERT_TRUE(first.has_value()) << to_string(first.error());
  auto second = client_->ensure_stream(spec);
  ASSERT_TRUE(second.has_value()) << to_string(second.error());
  ASSERT_TRUE(client_->js_publish("cw.idemp.a", "1").has_value());
  // Changing a mutable setting updates in place and keeps the data.
  spec.max_age_ns = 7200LL * 1'000'000'000;
  auto third = client_->ensure_stream(spec);
  ASSERT_TRUE(third.has_value()) << to_string(third.error());
  EXPECT_EQ(*client_->stream_messages("CW_IDEMP"), 1u);
  // Changing the storage type is refused by the server, and reported.
  spec.storage = storage_kind::memory;
  EXPECT_FALSE(client_->ensure_stream(spec).has_value());
  // The shorthand form.
  auto other = client_->ensure_stream("CW_SHORT", {"cw.short.*"}, storage_kind::memory, 0, 0);
  ASSERT_TRUE(other.has_value()) << to_string(other.error());
  EXPECT_TRUE(client_->ensure_stream("CW_SHORT", {"cw.short.*"}, storage_kind::memory, 0, 0));
}

// Services start together and each ensures the mesh's streams (the alerter once failed with
// "subjects overlap" when another service created CW_MATCH between its lookup and its add).
TEST_F(nats_client_test, ensure_stream_from_clients_racing_to_create_it_succeeds_for_all) {
  constexpr int clients = 4, streams = 25;
  std::vector<std::unique_ptr<nats_client>> cs;
  for (int i = 0; i < clients; ++i) {
    nats_options opts;
    opts.url = server_->url();
    auto c = nats_client::connect(opts);
    ASSERT_TRUE(c.has_value()) << to_string(c.error());
    cs.push_back(std::move(*c));
  }
  std::atomic<int> failures{0};
  std::string first_error;
  std::mutex mu;
  std::vector<std::thread> threads;
  for (int i = 0; i < clients; ++i)
    threads.emplace_back([&, i] {
      for (int n = 0; n < streams; ++n) {
        auto name = "CW_RACE" + std::to_string(n);
        auto r = cs[i]->ensure_stream(name, {"cw.race" + std::to_string(n) + ".>"},
                                      storage_kind::memory, 0, 0);
        if (!r) {
          ++failures;
          std::lock_guard lock(mu);
          if (first_error.empty()) first_error = to_string(r.error());
        }
      }
    });
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(failures.load(), 0) << first_error;
}

TEST_F(nats_client_test, async_publish_10k_then_pull_exactly_once_and_dedup) {
  constexpr int n = 10'000;
  ASSERT_TRUE(client_->ensure_stream("CW_BULK", {"cw.bulk.>"}, storage_kind::file, 0,
                                     120LL * 1'000'000'000));
  std::string payload(200, 'p');
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) {
    auto r = client_->js_publish_async("cw.bulk." + std::to_string(i % 8),
                                       payload + std::to_string(i), "id-" + std::to_string(i));
    ASSERT_TRUE(r.has_value()) << to_string(r.error());
  }
  auto done = client_->js_publish_complete(30'000);
  ASSERT_TRUE(done.has_value()) << to_string(done.error());
  auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("js async publish: %d msgs in %.3f s = %.0f msg/s\n", n, secs, n / secs);
  EXPECT_EQ(client_->js_publish_failures(), 0u);
  // Publish the first 1000 again with the same ids: the server drops them.
  for (int i = 0; i < 1000; ++i)
    ASSERT_TRUE(client_->js_publish_async("cw.bulk." + std::to_string(i % 8),
                                          payload + std::to_string(i), "id-" + std::to_string(i)));
  ASSERT_TRUE(client_->js_publish_complete(30'000));
  EXPECT_EQ(client_->js_publish_duplicates(), 1000u);
  EXPECT_EQ(*client_->stream_messages("CW_BULK"), static_cast<std::uint64_t>(n));

  consumer_spec cs;
  cs.stream = "CW_BULK";
  cs.durable = "reader";
  cs.ack_wait_ns = 5'000'000'000;
  auto consumer = client_->pull(cs);
  ASSERT_TRUE(consumer.has_value()) << to_string(consumer.error());
  std::set<std::string> seen;
  int deliveries = 0;
  t0 = std::chrono::steady_clock::now();
  auto deadline = t0 + 30s;
  while (seen.size() < static_cast<std::size_t>(n) && std::chrono::steady_clock::now() < deadline) {
    auto batch = (*consumer)->fetch(500, 1000);
    ASSERT_TRUE(batch.has_value()) << to_string(batch.error());
    for (auto& msg : *batch) {
      ++deliveries;
      auto id = msg.header("Nats-Msg-Id");
      ASSERT_TRUE(id.has_value());
      seen.emplace(*id);
      ASSERT_TRUE(msg.ack());
    }
  }
  secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("pull consume+ack: %d msgs in %.3f s = %.0f msg/s\n", deliveries, secs,
              deliveries / secs);
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(n));
  EXPECT_EQ(deliveries, n);
  // Nothing is left or redelivered (the acks were processed: a sync ack is ordered after them).
  auto tail = (*consumer)->fetch(100, 300);
  ASSERT_TRUE(tail.has_value());
  EXPECT_TRUE(tail->empty());
}

// libnats 3.4.1 (Debian 12): a fetch that starts with messages left over from an earlier fetch
// that timed out (they arrived after it gave up) asks the server for the rest with the batch
// reduced by what it already holds, then keeps collecting past the end of its array, a heap
// overflow that crashed the normalizer (5 ms fetches under load). pull_consumer::fetch must
// never return more than `batch`, never lose or duplicate a message, never corrupt the heap
// (the ASan preset sees the overflow as soon as a list holds more than its array).
TEST_F(nats_client_test, fetch_after_a_timed_out_fetch_never_exceeds_its_batch) {
  constexpr int n = 3000;
  ASSERT_TRUE(
      client_->ensure_stream("CW_LEFT", {"cw.left"}, storage_kind::file, 0, 120LL * 1'000'000'000));
  const std::string payload(20'000, 'x'); // big: a 16-message reply takes longer than 1 ms
  for (int i = 0; i < n; ++i)
    ASSERT_TRUE(client_->js_publish_async("cw.left", payload, "left-" + std::to_string(i)));
  ASSERT_TRUE(client_->js_publish_complete(30'000));
  auto consumer = client_->pull({.stream = "CW_LEFT",
                                 .durable = "left",
                                 .filter_subject = "",
                                 .ack_wait_ns = 60'000'000'000});
  ASSERT_TRUE(consumer.has_value()) << to_string(consumer.error());
  std::set<std::string> seen;
  int deliveries = 0;
  auto deadline = std::chrono::steady_clock::now() + 60s;
  for (int round = 0; seen.size() < static_cast<std::size_t>(n); ++round) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << seen.size() << " of " << n;
    // Every other fetch gives up after 1 ms, which leaves the rest of its reply behind.
    auto batch = (*consumer)->fetch(16, round % 2 ? 1 : 200);
    ASSERT_TRUE(batch.has_value()) << to_string(batch.error());
    ASSERT_LE(batch->size(), 16u) << "round " << round;
    for (auto& msg : *batch) {
      ++deliveries;
      seen.emplace(*msg.header("Nats-Msg-Id"));
      ASSERT_TRUE(msg.ack());
    }
  }
  EXPECT_EQ(deliveries, n);
}

TEST_F(nats_client_test, durable_consumer_survives_server_restart) {
  ASSERT_TRUE(client_->ensure_stream("CW_DUR", {"cw.dur.>"}, storage_kind::file, 0, 0));
  for (int i = 0; i < 100; ++i)
    ASSERT_TRUE(client_->js_publish("cw.dur.x", std::to_string(i)).has_value());
  consumer_spec cs;
  cs.stream = "CW_DUR";
  cs.durable = "survivor";
  cs.ack_wait_ns = 2'000'000'000;
  auto consumer = client_->pull(cs);
  ASSERT_TRUE(consumer.has_value()) << to_string(consumer.error());
  std::set<std::string> seen;
  while (seen.size() < 50) {
    auto batch = (*consumer)->fetch(static_cast<int>(50 - seen.size()), 2000);
    ASSERT_TRUE(batch.has_value()) << to_string(batch.error());
    for (auto& msg : *batch) {
      seen.emplace(msg.data());
      ASSERT_TRUE(msg.ack_sync());
    }
  }

  auto before = client_->reconnects();
  auto restarted = server_->restart();
  ASSERT_TRUE(restarted.has_value()) << restarted.error();
  ASSERT_TRUE(eventually([&] {
    return client_->reconnects() >= before + 2 && client_->connected();
  })) << "reconnects "
      << client_->reconnects();
  EXPECT_GE(client_->disconnects(), 2u);

  // JetStream may need a moment after the restart to recover the stream: retry until ready.
  ASSERT_TRUE(eventually([&] { return client_->js_publish("cw.dur.x", "100").has_value(); }));
  for (int i = 101; i < 150; ++i)
    ASSERT_TRUE(client_->js_publish("cw.dur.x", std::to_string(i)).has_value());

  // The same consumer object keeps working; the durable resumes after the last ack.
  std::set<std::string> after;
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (after.size() < 100 && std::chrono::steady_clock::now() < deadline) {
    auto batch = (*consumer)->fetch(100, 1000);
    if (!batch) continue; // transient while the server recovers
    for (auto& msg : *batch) {
      auto v = std::string(msg.data());
      EXPECT_EQ(seen.count(v), 0u) << "acked message " << v << " redelivered";
      after.emplace(v);
      (void)msg.ack();
    }
  }
  EXPECT_EQ(after.size(), 100u);
  EXPECT_EQ(after.count("50"), 1u);
  EXPECT_EQ(after.count("149"), 1u);
}

TEST_F(nats_client_test, drained_consumer_keeps_the_durable) {
  ASSERT_TRUE(client_->ensure_stream("CW_KEEP", {"cw.keep"}, storage_kind::memory, 0, 0));
  consumer_spec cs{"CW_KEEP", "keeper", "", 30'000'000'000, 1000, -1};
  {
    auto c = client_->pull(cs);
    ASSERT_TRUE(c.has_value()) << to_string(c.error());
    (void)(*c)->drain(1000);
  }
  ASSERT_TRUE(client_->js_publish("cw.keep", "after").has_value());
  auto c = client_->pull(cs);
  ASSERT_TRUE(c.has_value()) << to_string(c.error());
  auto batch = (*c)->fetch(10, 2000);
  ASSERT_TRUE(batch.has_value());
  ASSERT_EQ(batch->size(), 1u);
  EXPECT_EQ((*batch)[0].data(), "after");
  EXPECT_TRUE(client_->delete_consumer("CW_KEEP", "keeper"));
}

TEST_F(nats_client_test, key_value_put_get_create_update) {
  auto kv = client_->key_value("cw_checkpoints");
  ASSERT_TRUE(kv.has_value()) << to_string(kv.error());
  auto& b = **kv;
  auto missing = b.get("p0");
  ASSERT_TRUE(missing.has_value());
  EXPECT_FALSE(missing->has_value());
  auto r1 = b.create("p0", "100");
  ASSERT_TRUE(r1.has_value()) << to_string(r1.error());
  EXPECT_FALSE(b.create("p0", "again").has_value());
  auto r2 = b.update("p0", "200", *r1);
  ASSERT_TRUE(r2.has_value()) << to_string(r2.error());
  EXPECT_FALSE(b.update("p0", "300", *r1).has_value()); // stale revision
  auto got = b.get("p0");
  ASSERT_TRUE(got.has_value() && got->has_value());
  EXPECT_EQ((*got)->value, "200");
  EXPECT_EQ((*got)->revision, *r2);
  EXPECT_TRUE(b.put("p1", std::string("\0bin", 4)).has_value());
  EXPECT_EQ((*b.get("p1"))->value, std::string("\0bin", 4));
}

TEST(nats_client, connect_failure_is_an_error) {
  nats_options opts;
  opts.url = "nats://127.0.0.1:" + std::to_string(chainwatch::test_support::free_port());
  opts.connect_timeout_ms = 500;
  auto c = nats_client::connect(opts);
  ASSERT_FALSE(c.has_value());
  EXPECT_NE(c.error().text.find("connect to"), std::string::npos);
}

TEST_F(nats_client_test, backpressure_and_publish_errors) {
  std::mutex m;
  std::vector<std::string> errors;
  nats_options opts;
  opts.url = server_->url();
  opts.js_max_pending = 8; // tiny window: js_publish_async must block and resume
  opts.on_publish_error = [&](std::string_view subject, std::string_view id, std::string_view) {
    std::lock_guard lock(m);
    errors.emplace_back(std::string(subject) + "#" + std::string(id));
  };
  auto c = nats_client::connect(opts);
  ASSERT_TRUE(c.has_value()) << to_string(c.error());
  auto& client = **c;
  ASSERT_TRUE(client.ensure_stream("CW_BP", {"cw.bp"}, storage_kind::memory, 0, 0));
  for (int i = 0; i < 2000; ++i)
    ASSERT_TRUE(client.js_publish_async("cw.bp", "x", "bp-" + std::to_string(i)));
  ASSERT_TRUE(client.js_publish_complete(10'000));
  EXPECT_EQ(*client.stream_messages("CW_BP"), 2000u);
  EXPECT_EQ(client.js_publish_failures(), 0u);

  // No stream captures this subject: every publish fails and is reported with its id.
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(client.js_publish_async("cw.nostream", "x", "lost-" + std::to_string(i)));
  ASSERT_TRUE(client.js_publish_complete(10'000));
  EXPECT_EQ(client.js_publish_failures(), 5u);
  std::lock_guard lock(m);
  ASSERT_EQ(errors.size(), 5u);
  EXPECT_NE(std::find(errors.begin(), errors.end(), "cw.nostream#lost-3"), errors.end());
}

TEST_F(nats_client_test, consumer_from_start_sequence) {
  ASSERT_TRUE(client_->ensure_stream("CW_SEQ", {"cw.seq"}, storage_kind::memory, 0, 0));
  for (int i = 1; i <= 10; ++i)
    ASSERT_TRUE(client_->js_publish("cw.seq", std::to_string(i)).has_value());
  consumer_spec cs;
  cs.stream = "CW_SEQ";
  cs.durable = "replay";
  cs.start_sequence = 7;
  auto c = client_->pull(cs);
  ASSERT_TRUE(c.has_value()) << to_string(c.error());
  auto batch = (*c)->fetch(10, 2000);
  ASSERT_TRUE(batch.has_value());
  ASSERT_EQ(batch->size(), 4u);
  EXPECT_EQ((*batch)[0].data(), "7");
  auto meta = (*batch)[0].meta();
  ASSERT_TRUE(meta.has_value()) << to_string(meta.error());
  EXPECT_EQ(meta->stream_sequence, 7u);
  EXPECT_EQ(meta->delivered, 1u);
  EXPECT_EQ(meta->pending, 3u);
  for (auto& m : *batch)
    ASSERT_TRUE(m.ack_sync());
  // Binding again (e.g. after a restart) keeps the durable's position and its start.
  c->reset();
  auto again = client_->pull(cs);
  ASSERT_TRUE(again.has_value()) << to_string(again.error());
  auto none = (*again)->fetch(10, 300);
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->empty());
}

TEST_F(nats_client_test, resume_at_ack_floor_redelivers_a_crashed_readers_messages_at_once) {
  ASSERT_TRUE(client_->ensure_stream("CW_RESUME", {"cw.resume"}, storage_kind::memory, 0, 0));
  for (int i = 1; i <= 6; ++i)
    ASSERT_TRUE(client_->js_publish("cw.resume", std::to_string(i)).has_value());
  consumer_spec cs;
  cs.stream = "CW_RESUME";
  cs.durable = "single";
  cs.ack_wait_ns = 60'000'000'000; // longer than the test: a redelivery here is not ack_wait's
  {
    auto c = client_->pull(cs);
    ASSERT_TRUE(c.has_value()) << to_string(c.error());
    auto batch = (*c)->fetch(4, 2000);
    ASSERT_TRUE(batch.has_value());
    ASSERT_EQ(payloads(*batch), "1 2 3 4 ");
    ASSERT_TRUE((*batch)[0].ack_sync());
    ASSERT_TRUE((*batch)[1].ack_sync());
  } // the reader "crashes" holding 3 and 4
  {
    // Without the option, a new reader gets what follows; 3 and 4 wait for ack_wait.
    auto c = client_->pull(cs);
    ASSERT_TRUE(c.has_value()) << to_string(c.error());
    auto batch = (*c)->fetch(10, 500);
    ASSERT_TRUE(batch.has_value());
    EXPECT_EQ(payloads(*batch), "5 6 ");
  }
  cs.resume_at_ack_floor = true;
  auto c = client_->pull(cs);
  ASSERT_TRUE(c.has_value()) << to_string(c.error());
  auto batch = (*c)->fetch(10, 2000);
  ASSERT_TRUE(batch.has_value());
  EXPECT_EQ(payloads(*batch), "3 4 5 6 "); // at once and in stream order
}

TEST_F(nats_client_test, ack_all_acknowledges_a_fetch_with_its_last_message) {
  ASSERT_TRUE(client_->ensure_stream("CW_ACKALL", {"cw.ackall"}, storage_kind::memory, 0, 0));
  for (int i = 1; i <= 6; ++i)
    ASSERT_TRUE(client_->js_publish("cw.ackall", std::to_string(i)).has_value());
  consumer_spec cs;
  cs.stream = "CW_ACKALL";
  cs.durable = "single";
  cs.ack_wait_ns = 60'000'000'000; // longer than the test
  {
    // An explicit-ack durable that acked 1 and 2 and "crashed" holding 3.
    auto c = client_->pull(cs);
    ASSERT_TRUE(c.has_value()) << to_string(c.error());
    auto batch = (*c)->fetch(3, 2000);
    ASSERT_TRUE(batch.has_value());
    ASSERT_EQ(payloads(*batch), "1 2 3 ");
    ASSERT_TRUE((*batch)[0].ack_sync());
    ASSERT_TRUE((*batch)[1].ack_sync());
  }
  cs.ack_all = true; // the policy cannot change in place: recreated past the ack floor
  {
    auto c = client_->pull(cs);
    ASSERT_TRUE(c.has_value()) << to_string(c.error());
    auto batch = (*c)->fetch(2, 2000);
    ASSERT_TRUE(batch.has_value());
    ASSERT_EQ(payloads(*batch), "3 4 ");
    ASSERT_TRUE(batch->back().ack_sync()); // acknowledges 3 as well
  }
  cs.resume_at_ack_floor = true; // the ack floor is 4: with explicit acks it would be 2
  auto c = client_->pull(cs);
  ASSERT_TRUE(c.has_value()) << to_string(c.error());
  auto batch = (*c)->fetch(10, 2000);
  ASSERT_TRUE(batch.has_value());
  EXPECT_EQ(payloads(*batch), "5 6 ");
  cs.resume_at_ack_floor = false;
  cs.ack_all = false; // and back: 5 and 6 were not acked, so they come again at once
  auto back = client_->pull(cs);
  ASSERT_TRUE(back.has_value()) << to_string(back.error());
  auto again = (*back)->fetch(10, 2000);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(payloads(*again), "5 6 ");
}

TEST_F(nats_client_test, stream_survives_server_crash) {
  ASSERT_TRUE(client_->ensure_stream("CW_CRASH", {"cw.crash"}, storage_kind::file, 0, 0));
  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE(client_->js_publish("cw.crash", std::to_string(i)).has_value());
  server_->kill(); // SIGKILL: no graceful shutdown
  auto r = server_->restart();
  ASSERT_TRUE(r.has_value()) << r.error();
  std::uint64_t n = 0;
  ASSERT_TRUE(eventually([&] {
    auto m = client_->stream_messages("CW_CRASH");
    n = m ? *m : 0;
    return n == 10;
  })) << "messages after crash: "
      << n;
}

TEST_F(nats_client_test, queue_wait_is_the_time_a_message_sat_in_its_stream) {
  ASSERT_TRUE(client_->ensure_stream("CW_WAIT", {"cw.wait"}, storage_kind::memory, 0, 0));
  auto c = client_->pull({.stream = "CW_WAIT", .durable = "waiter", .filter_subject = ""});
  ASSERT_TRUE(c.has_value()) << to_string(c.error());
  const auto published = std::chrono::steady_clock::now();
  for (int i = 0; i < 2; ++i)
    ASSERT_TRUE(client_->js_publish("cw.wait", "x").has_value());
  std::this_thread::sleep_for(150ms); // the wait being measured, not a synchronization
  auto batch = (*c)->fetch(10, 2000);
  ASSERT_TRUE(batch.has_value());
  ASSERT_EQ(batch->size(), 2u);
  metrics m("t");
  queue_wait_probe probe(m);
  probe.observe(*batch);
  const double waited =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - published).count();
  const prometheus::ClientMetric* hist = nullptr;
  auto families = m.registry()->Collect();
  for (const auto& f : families)
    if (f.name == "chainwatch_t_queue_wait_seconds") hist = &f.metric.at(0);
  ASSERT_NE(hist, nullptr);
  EXPECT_EQ(hist->histogram.sample_count, 2u);
  // Each waited at least the sleep and at most the whole time since its publish.
  EXPECT_GE(hist->histogram.sample_sum, 2 * 0.15);
  EXPECT_LE(hist->histogram.sample_sum, 2 * waited);
  for (const auto& b : hist->histogram.bucket) {
    if (b.upper_bound < 0.15) {
      EXPECT_EQ(b.cumulative_count, 0u) << "le " << b.upper_bound;
    }
  }
}
