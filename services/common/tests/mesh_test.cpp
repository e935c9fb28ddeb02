#include "chainwatch/service/mesh.hpp"
#include "nats_server.hpp"

#include <gtest/gtest.h>

using namespace chainwatch;
using namespace chainwatch::service;
using chainwatch::test_support::nats_server;

TEST(service_mesh, streams_and_dead_letters) {
  CW_REQUIRE_NATS_SERVER();
  auto server = nats_server::start();
  ASSERT_TRUE(server.has_value()) << server.error();
  nats_options opts;
  opts.url = (*server)->url();
  auto client = nats_client::connect(opts);
  ASSERT_TRUE(client.has_value()) << to_string(client.error());
  auto& nats = **client;
  auto first = ensure_mesh_streams(nats);
  ASSERT_TRUE(first.has_value()) << to_string(first.error());
  ASSERT_TRUE(ensure_mesh_streams(nats)); // idempotent
  EXPECT_EQ(mesh_streams().size(), 7u);

  metrics m("normalizer");
  dead_letter_sink sink(nats, m, "normalizer");
  wire::dead_letter letter;
  letter.customer = "acme";
  letter.source = "zeek-conn";
  letter.reason = "json_syntax";
  letter.detail = "unexpected end";
  letter.offset = 3;
  letter.raw = "{\"a";
  ASSERT_TRUE(sink.send(letter));
  letter.customer = "bad customer"; // not a subject token
  ASSERT_TRUE(sink.send(letter));
  ASSERT_TRUE(nats.js_publish_complete(5000));
  EXPECT_EQ(nats.js_publish_failures(), 0u);
  EXPECT_EQ(m.counter("dead_letters", "", {{"reason", "json_syntax"}}).Value(), 2);

  consumer_spec cs;
  cs.stream = "CW_DLQ";
  cs.durable = "dlq-reader";
  auto reader = nats.pull(cs);
  ASSERT_TRUE(reader.has_value()) << to_string(reader.error());
  auto batch = (*reader)->fetch(10, 2000);
  ASSERT_TRUE(batch.has_value());
  ASSERT_EQ(batch->size(), 2u);
  EXPECT_EQ((*batch)[0].subject(), "cw.dlq.acme");
  EXPECT_EQ((*batch)[1].subject(), "cw.dlq._invalid");
  auto got = wire::decode_dead_letter((*batch)[0].data());
  ASSERT_TRUE(got.has_value()) << wire::to_string(got.error());
  EXPECT_EQ(got->stage, "normalizer");
  EXPECT_EQ(got->reason, "json_syntax");
  EXPECT_EQ(got->raw, "{\"a");
  EXPECT_GT(got->time_ns, 0);
}
