#include "chainwatch/wire/batcher.hpp"

#include <gtest/gtest.h>
#include <string>

using namespace chainwatch::wire;

TEST(wire_batcher, flushes_by_count) {
  batcher<int> b({.max_items = 3, .max_bytes = 1000, .linger_ns = 100});
  EXPECT_EQ(b.add(1, 10, 0), flush_reason::none);
  EXPECT_EQ(b.add(2, 10, 1), flush_reason::none);
  EXPECT_EQ(b.add(3, 10, 2), flush_reason::count);
  auto items = b.take();
  EXPECT_EQ(items, (std::vector<int>{1, 2, 3}));
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.bytes(), 0u);
}

TEST(wire_batcher, flushes_by_bytes_and_refuses_overflow) {
  batcher<std::string> b({.max_items = 100, .max_bytes = 100, .linger_ns = 100});
  EXPECT_EQ(b.add("a", 60, 0), flush_reason::none);
  EXPECT_FALSE(b.fits(50)); // 110 > 100: the caller flushes first
  EXPECT_TRUE(b.fits(40));
  EXPECT_EQ(b.add("b", 40, 0), flush_reason::bytes);
  b.clear();
  EXPECT_TRUE(b.fits(1'000'000)); // an empty batch takes one oversized item
  EXPECT_EQ(b.add("huge", 1'000'000, 0), flush_reason::bytes);
}

TEST(wire_batcher, flushes_by_linger_from_first_item) {
  batcher<int> b({.max_items = 100, .max_bytes = 1000, .linger_ns = 50});
  EXPECT_EQ(b.poll(1'000), flush_reason::none); // empty never lingers
  EXPECT_EQ(b.deadline_ns(), std::numeric_limits<std::int64_t>::max());
  b.add(1, 1, 1'000);
  b.add(2, 1, 1'040);
  EXPECT_EQ(b.deadline_ns(), 1'050);
  EXPECT_EQ(b.poll(1'049), flush_reason::none);
  EXPECT_EQ(b.poll(1'050), flush_reason::linger);
  b.take();
  b.add(3, 1, 2'000);
  EXPECT_EQ(b.deadline_ns(), 2'050);
}

TEST(wire_batcher, reason_names) {
  EXPECT_STREQ(to_string(flush_reason::linger), "linger");
  EXPECT_STREQ(to_string(flush_reason::bytes), "bytes");
}
