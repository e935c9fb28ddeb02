// Partition ownership: rendezvous assignment and leases in a real JetStream KV bucket.

#include "nats_server.hpp"
#include "ownership.hpp"

#include <algorithm>
#include <gtest/gtest.h>
#include <set>

using namespace chainwatch;
using namespace chainwatch::matcher;
using test_support::nats_server;

TEST(ownership, rendezvous_spreads_partitions_and_moves_few_on_change) {
  std::vector<std::string> three = {"a", "b", "c"};
  std::map<std::string_view, int> load;
  for (std::uint32_t p = 0; p < 300; ++p)
    ++load[owner_of(p, three)];
  for (const auto& m : three)
    EXPECT_GT(load[m], 60) << m; // ~100 each
  // Adding a member moves only the partitions it takes.
  std::vector<std::string> four = {"a", "b", "c", "d"};
  for (std::uint32_t p = 0; p < 300; ++p) {
    auto before = owner_of(p, three), after = owner_of(p, four);
    EXPECT_TRUE(before == after || after == "d") << p;
  }
  EXPECT_EQ(owner_of(0, {}), "");
  EXPECT_EQ(partitions_of("x", std::vector<std::string>{"x"}, 16).size(), 16u);
  EXPECT_EQ(sanitize_node_id("host.1:x"), "host_1_x");
}

class lease_test : public ::testing::Test {
protected:
  void SetUp() override {
    CW_REQUIRE_NATS_SERVER();
    auto s = nats_server::start();
    ASSERT_TRUE(s.has_value()) << s.error();
    server_ = std::move(*s);
    service::nats_options opts;
    opts.url = server_->url();
    auto c = service::nats_client::connect(opts);
    ASSERT_TRUE(c) << service::to_string(c.error());
    client_ = std::move(*c);
    auto kv = client_->key_value("cw_matchers", 1, 2'000'000'000);
    ASSERT_TRUE(kv) << service::to_string(kv.error());
    kv_ = std::move(*kv);
  }
  std::unique_ptr<nats_server> server_;
  std::unique_ptr<service::nats_client> client_;
  std::unique_ptr<service::kv_bucket> kv_;
};

TEST_F(lease_test, nodes_split_partitions_hand_over_and_a_lost_lease_fences) {
  lease_table a(*kv_, "a", 16), b(*kv_, "b", 16);
  auto ca = a.heartbeat("{}");
  EXPECT_EQ(ca.acquired.size(), 16u) << "alone, a takes everything";
  auto cb = b.heartbeat("{}");
  EXPECT_TRUE(cb.acquired.empty()) << "a still holds b's share";
  ca = a.heartbeat("{}");
  auto b_share = partitions_of("b", std::vector<std::string>{"a", "b"}, 16);
  EXPECT_EQ(ca.release, b_share) << "a hands b's share over";
  for (auto p : ca.release)
    a.release(p);
  cb = b.heartbeat("{}");
  EXPECT_EQ(cb.acquired, b_share);
  std::set<std::uint32_t> all;
  for (const auto& [p, rev] : a.held())
    all.insert(p);
  for (const auto& [p, rev] : b.held())
    EXPECT_TRUE(all.insert(p).second) << "partition " << p << " owned twice";
  EXPECT_EQ(all.size(), 16u);

  // Someone else overwrites one of b's leases: b's next refresh fails, the worker is fenced.
  auto victim = b_share.front();
  ASSERT_TRUE(kv_->put(lease_table::lease_key(victim), "intruder"));
  cb = b.heartbeat("{}");
  EXPECT_EQ(cb.lost, std::vector<std::uint32_t>{victim});
  EXPECT_FALSE(b.held().contains(victim));

  // A restarted node takes back leases in its own name without waiting for the TTL.
  lease_table a2(*kv_, "a", 16);
  auto c2 = a2.heartbeat("{}");
  EXPECT_EQ(c2.acquired.size(), a.held().size());

  // Leaving deletes the member entry and the leases.
  a2.leave();
  auto keys = kv_->keys();
  ASSERT_TRUE(keys);
  for (const auto& k : *keys)
    EXPECT_NE(k, "m.a");
}
