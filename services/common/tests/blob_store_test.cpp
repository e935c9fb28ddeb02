// Checkpoint blobs in a real JetStream KV bucket: a stale writer (a matcher cut off from the
// server, whose buffered writes arrive after another node took its partition) must not break the
// blob the new owner wrote (found by tests/docker/compose_test.sh's network partition).

#include "chainwatch/service/blob_store.hpp"
#include "chainwatch/service/nats_client.hpp"
#include "nats_server.hpp"

#include <gtest/gtest.h>
#include <string>

using namespace chainwatch::service;
using chainwatch::test_support::nats_server;

namespace {

class blob_store_test : public ::testing::Test {
protected:
  void SetUp() override {
    CW_REQUIRE_NATS_SERVER();
    auto s = nats_server::start();
    ASSERT_TRUE(s.has_value()) << s.error();
    server_ = std::move(*s);
    nats_options opts;
    opts.url = server_->url();
    auto c = nats_client::connect(opts);
    ASSERT_TRUE(c.has_value()) << to_string(c.error());
    client_ = std::move(*c);
    auto kv = client_->key_value("cw_checkpoints");
    ASSERT_TRUE(kv.has_value()) << to_string(kv.error());
    kv_ = std::move(*kv);
  }
  /// Blob keys of `name`: the header and its chunks.
  std::size_t keys_of(const std::string& name) {
    auto keys = kv_->keys();
    std::size_t n = 0;
    for (const auto& k : keys ? *keys : std::vector<std::string>{})
      n += k == name || k.starts_with(name + ".g");
    return n;
  }
  std::unique_ptr<nats_server> server_;
  std::unique_ptr<nats_client> client_;
  std::unique_ptr<kv_bucket> kv_;
};

TEST_F(blob_store_test, round_trips_small_and_chunked_blobs) {
  blob_store a(*kv_);
  const std::string big(blob_store::chunk_bytes * 2 + 10, 'x');
  ASSERT_TRUE(a.save("p.0", "small").has_value());
  ASSERT_TRUE(a.save("p.0", big).has_value());
  ASSERT_TRUE(a.save("p.10", "other").has_value());
  blob_store reader(*kv_);
  auto got = reader.load("p.0");
  ASSERT_TRUE(got.has_value()) << to_string(got.error());
  EXPECT_EQ(**got, big);
  EXPECT_EQ(**reader.load("p.10"), "other");
  auto names = reader.names();
  ASSERT_TRUE(names.has_value());
  EXPECT_EQ(names->size(), 2u);
}

TEST_F(blob_store_test, a_stale_writer_cannot_break_the_new_owners_blob) {
  blob_store old_owner(*kv_), new_owner(*kv_);
  ASSERT_TRUE(old_owner.save("p.0", "state 1 by the old owner").has_value());
  // The new owner restores the old owner's checkpoint and writes its own.
  auto restored = new_owner.load("p.0");
  ASSERT_TRUE(restored.has_value());
  EXPECT_EQ(**restored, "state 1 by the old owner");
  ASSERT_TRUE(new_owner.save("p.0", "state 2 by the new owner").has_value());
  // The old owner, unaware, writes again (its writes buffered while it was cut off): its chunk
  // must not overwrite the new owner's, and its header must not commit.
  auto stale = old_owner.save("p.0", "a stale state from the old owner, longer than the rest");
  EXPECT_FALSE(stale.has_value()) << "a stale writer's header replaced the new owner's";
  blob_store reader(*kv_);
  auto got = reader.load("p.0");
  ASSERT_TRUE(got.has_value()) << to_string(got.error());
  EXPECT_EQ(**got, "state 2 by the new owner");
  // The new owner keeps writing; the old owner's leftover chunks go with its next takeover save
  // (here: the reader's).
  ASSERT_TRUE(new_owner.save("p.0", "state 3 by the new owner").has_value());
  EXPECT_EQ(**reader.load("p.0"), "state 3 by the new owner");
  ASSERT_TRUE(reader.save("p.0", "state 4 by a third owner").has_value());
  EXPECT_EQ(keys_of("p.0"), 2u) << "the header and the third owner's one chunk";
  EXPECT_EQ(**new_owner.load("p.0"), "state 4 by a third owner");
}

} // namespace
